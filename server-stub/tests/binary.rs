//! The `server-stub` binary: prints `listening on http://ADDR` as its one stdout line with
//! `--port 0`, serves, and exits cleanly on SIGTERM after closing sockets with 1001.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn prints_its_address_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server-stub"))
        .args([
            "--port",
            "0",
            "--dev",
            "--simulate",
            "--static-dir",
            "/nonexistent",
        ])
        .env_remove("STUB_JWT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read line");
        line
    })
    .await
    .expect("reader");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let stats: serde_json::Value = reqwest::get(format!("{url}/api/stats"))
        .await
        .expect("http")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["connections_open"], 0);
    let ws_url = format!(
        "{}/api/ws/v2?token=dev-token",
        url.replacen("http", "ws", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("connect");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let close = tokio::time::timeout(
        Duration::from_secs(5),
        futures_util::StreamExt::next(&mut ws),
    )
    .await
    .expect("in time");
    let code = match close {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
            u16::from(frame.code)
        }
        other => panic!("expected a close frame, got {other:?}"),
    };
    assert_eq!(code, 1001);
    drop(ws);
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("waiter")
        .expect("exit status");
    assert!(exit.success(), "{exit:?}");
}
