//! Hostile `subscribe` frames (issue 16, finding 1, and the `v` of finding 8): one 64 KiB frame
//! used to make the stub hold about 123 MB per socket, since every refusal copied a 32 KB
//! `message_id` and the whole reply was one queue item. Now the strings are capped, the
//! refusals are counted past a limit, and the reply is small.

mod common;

use common::hostile::{assert_served, ChildStub};
use common::Stub;
use futures_util::SinkExt;
use serde_json::json;
use std::time::Duration;
use tether_wire::control::Control;
use tokio_tungstenite::tungstenite::Message;

/// The attack frame: `topics` invalid topics and a `message_id` of `id_bytes` bytes.
fn attack(id_bytes: usize, topics: usize) -> String {
    let topics: Vec<String> = (0..topics).map(|i| i.to_string()).collect();
    let data = json!({ "topics": topics, "message_id": "m".repeat(id_bytes) });
    json!({ "v": 1, "type": "subscribe", "ts": 1, "data": data }).to_string()
}

/// Reads frames until one of `kind` with `error` `LIMIT` or `INVALID_DATA` came; returns the
/// number of frames and bytes read.
async fn reply_size(client: &mut common::Client) -> (usize, usize) {
    let (mut frames, mut bytes) = (0, 0);
    loop {
        let text = client.recv_text().await;
        frames += 1;
        bytes += text.len();
        if text.contains(r#""error":"LIMIT""#) || text.contains("INVALID_DATA") {
            return (frames, bytes);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_message_id_is_refused_without_an_echo() {
    let stub = Stub::start().await;
    let mut client = stub.connect(2).await;
    client.send_text(attack(32 * 1024, 3800)).await;
    let text = client.recv_text().await;
    assert!(text.contains("INVALID_DATA"), "{text}");
    assert!(text.len() < 512, "{} bytes: {text}", text.len());
    for long in [
        json!({"v":1,"type":"ping","req_id":"r".repeat(200),"data":{}}),
        json!({"v":1,"type":"subscribe","data":{"topics":["x".repeat(200)]}}),
        json!({"v":1,"type":"unsubscribe","data":{"topics":(0..2049).map(|i| i.to_string()).collect::<Vec<_>>()}}),
        json!({"v":1,"type":"nope","req_id":"r".repeat(200),"data":{}}),
    ] {
        client.send_text(long.to_string()).await;
        let text = client.recv_text().await;
        assert!(
            text.len() < 512 && !text.contains("rrrr") && !text.contains("xxxx"),
            "{text}"
        );
    }
    client.assert_nothing_pending().await;
    assert_served(&stub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_bounded_in_count_and_size() {
    let stub = Stub::start().await;
    for plain in [false, true] {
        let mut client = if plain {
            stub.connect_plain(2).await
        } else {
            stub.connect(2).await
        };
        client.send_text(attack(100, 3800)).await;
        let (frames, bytes) = reply_size(&mut client).await;
        println!(
            "finding 1: 3,800 invalid topics got {frames} frames, {bytes} bytes (plain: {plain})"
        );
        assert!(frames <= 32 + 2, "{frames} frames");
        assert!(bytes < 32 * 1024, "{bytes} bytes");
        client.assert_nothing_pending().await;
    }
    assert_served(&stub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sockets_that_never_read_cost_little() {
    const SOCKETS: usize = 20;
    let stub = ChildStub::start(&[]).await;
    let before = stub.rss_kib();
    let mut sockets = Vec::new();
    for i in 0..SOCKETS {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("buffer");
        let stream = socket
            .connect(stub.addr.parse().expect("addr"))
            .await
            .expect("connect");
        let url = format!(
            "ws://{}/api/ws/v2?token=dev-token&tether={}",
            stub.addr,
            i % 2
        );
        let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .expect("upgrade");
        let id_bytes = if i < SOCKETS / 2 { 32 * 1024 } else { 100 };
        ws.send(Message::text(attack(id_bytes, 3800)))
            .await
            .expect("send");
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let grown_mib = stub.rss_kib().saturating_sub(before) / 1024;
    println!("finding 1: {SOCKETS} sockets that never read grew the stub by {grown_mib} MiB");
    assert!(grown_mib < 32, "{grown_mib} MiB");
    let stats: serde_json::Value = reqwest::get(format!("http://{}/api/stats", stub.addr))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert!(stats["queued_bytes"].as_u64().expect("counter") < (SOCKETS * 32 * 1024) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_v_but_the_integer_1_is_unsupported_version() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    for frame in [
        r#"{"v":"1","type":"ping","ts":1,"data":{}}"#,
        r#"{"v":"1"}"#,
        r#"{"v":1.0,"type":"ping"}"#,
        r#"{"v":2,"type":5}"#,
    ] {
        client.send_text(frame).await;
        let Control::Error(error) = client.recv_control().await else {
            panic!("an error for {frame}")
        };
        assert_eq!(error.error, "UNSUPPORTED_VERSION", "{frame}");
    }
    client.send_text(r#"{"type":"ping"}"#).await;
    let Control::Error(error) = client.recv_control().await else {
        panic!("an error")
    };
    assert_eq!(error.error, "MALFORMED", "no v at all");
    assert_served(&stub).await;
}
