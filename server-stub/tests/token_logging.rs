//! The token never appears in the stub's output: the real binary is started with its most
//! verbose settings, used with valid and invalid tokens over WebSocket and REST, stopped, and
//! everything it printed is searched for the tokens.

use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

#[tokio::test]
async fn no_token_appears_in_the_stub_output() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_server-stub"))
        .args([
            "--port",
            "0",
            "--dev",
            "--test-control",
            "--static-dir",
            "/nonexistent",
        ])
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).await.expect("read");
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect("address line")
        .to_owned();
    let http = reqwest::Client::new();
    let minted: serde_json::Value = http
        .post(format!("{url}/api/test/token?sub=7&exp_secs=60"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = minted["token"].as_str().unwrap().to_owned();
    let wrong = "wrong-token-0123456789";
    let ws = url.replacen("http", "ws", 1);
    for token in [jwt.as_str(), "dev-token", wrong] {
        if let Ok((mut socket, _)) =
            tokio_tungstenite::connect_async(format!("{ws}/api/ws/v2?token={token}")).await
        {
            let _ = tokio::time::timeout(
                Duration::from_millis(300),
                futures_util::StreamExt::next(&mut socket),
            )
            .await;
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
    Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let output = format!("{first}{rest}{stderr}");
    for token in [jwt.as_str(), wrong] {
        assert!(
            !output.contains(token),
            "a token leaked into the output:\n{output}"
        );
    }
    // The JWT's signature part alone must not leak either.
    let signature = jwt.rsplit('.').next().unwrap();
    assert!(!output.contains(signature));
}
