//! The stub logs what it does and never a token. The real binary runs with `RUST_LOG=trace`,
//! in each profile, and is used with valid and invalid tokens over WebSocket (the token in the
//! URL) and REST (in the query and in `Authorization`); it subscribes, pings and suffers a
//! fault. Then everything it printed must show the connections, frames and the fault, and
//! contain no token, not even a JWT's signature alone.

use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

/// Lines the trace output must contain, whatever the profile.
const EXPECTED: [&str; 7] = [
    "listening",
    "connection opened",
    "frame in",
    "frame out",
    "connection closed",
    "token=[redacted]",
    "fault: drop",
];

/// Runs the binary in `profile`, exercises it with a fresh JWT, the dev token and a wrong
/// token, and returns everything it printed (stdout and stderr) with those tokens.
async fn output_of_a_session(profile: &str) -> (String, Vec<String>) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_server-stub"))
        .args([
            "--port",
            "0",
            "--dev",
            "--test-control",
            "--profile",
            profile,
            "--static-dir",
            "/nonexistent",
        ])
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    // Trace logs go to stderr: read it all along, so the stub never blocks writing them.
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut first))
        .await
        .expect("the stub says where it listens within 10 s")
        .expect("read");
    let stdout = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text).await;
        text
    });
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect("address line")
        .to_owned();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let minted: serde_json::Value = http
        .post(format!("{url}/api/test/token?sub=7&exp_secs=60"))
        .send()
        .await
        .expect("http")
        .json()
        .await
        .expect("json");
    let jwt = minted["token"].as_str().expect("token").to_owned();
    let tokens = vec![
        jwt,
        "dev-token".to_owned(),
        "wrong-token-0123456789".to_owned(),
    ];
    let ws = url.replacen("http", "ws", 1);
    for (i, token) in tokens.iter().enumerate() {
        let connected =
            tokio_tungstenite::connect_async(format!("{ws}/api/ws/v2?token={token}&tether=1"))
                .await;
        if let Ok((mut socket, _)) = connected {
            if i < 2 {
                let subscribe = r#"{"v":1,"type":"subscribe","topic":"system","ts":1,"data":{"topics":["user:7","user:1"],"message_id":"s1"}}"#;
                let ping = r#"{"v":1,"type":"ping","topic":"system","req_id":"p1","ts":1,"data":{"timestamp":1}}"#;
                for frame in [subscribe, ping] {
                    socket.send(Message::text(frame)).await.expect("send");
                }
            }
            // Read until the pong, or the 4401 close of a bad token.
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                while let Some(Ok(message)) = socket.next().await {
                    let done = match &message {
                        Message::Text(text) => text.contains(r#""type":"pong""#),
                        Message::Close(_) => true,
                        _ => false,
                    };
                    if done {
                        break;
                    }
                }
            })
            .await;
            if i == 0 {
                let _ = http.post(format!("{url}/api/test/drop")).send().await;
                let _ = tokio::time::timeout(Duration::from_millis(500), socket.next()).await;
            } else {
                let _ = socket.close(None).await;
            }
        }
        let _ = http
            .get(format!("{url}/api/agents?token={token}"))
            .send()
            .await;
        let _ = http
            .get(format!("{url}/api/agents"))
            .bearer_auth(token)
            .send()
            .await;
    }
    let pid = child.id().expect("pid").to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
        panic!("the stub did not exit within 5 s of SIGTERM");
    }
    let rest = stdout.await.expect("stdout");
    let stderr = stderr.await.expect("stderr");
    (format!("{first}{rest}{stderr}"), tokens)
}

fn assert_logs_without_tokens(output: &str, tokens: &[String]) {
    for line in EXPECTED {
        assert!(
            output.contains(line),
            "no {line:?} in the output:\n{output}"
        );
    }
    for token in tokens {
        assert!(
            !output.contains(token.as_str()),
            "a token leaked into the output:\n{output}"
        );
    }
    // The JWT's signature part alone must not leak either.
    let signature = tokens[0].rsplit('.').next().expect("signature");
    assert!(!output.contains(signature), "{output}");
}

#[tokio::test]
async fn the_tether_profile_logs_its_work_and_no_token() {
    let (output, tokens) = output_of_a_session("tether").await;
    assert_logs_without_tokens(&output, &tokens);
    assert!(output.contains("connection refused: missing, invalid or expired token"));
}

#[tokio::test]
async fn the_origin_profile_logs_its_work_and_no_token() {
    let (output, tokens) = output_of_a_session("origin").await;
    assert_logs_without_tokens(&output, &tokens);
    // The origin answers a bad token with 403 (uvicorn's answer to a close before accept).
    assert!(output.contains("upgrade refused with 403"));
}
