//! Hostile writers (issue 16, finding 6): the replay buffers were bounded by event count only
//! and REST took 2 MiB names, so 500 PATCHes took the stub from 5 MiB to 1 GiB, and every new
//! agent added another buffer. Now REST fields and bodies have size limits, and the replay
//! buffers a byte budget per topic and one over all topics.

mod common;

use common::hostile::assert_served;
use common::Stub;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tether_wire::control::Control;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_fields_and_bodies_have_size_limits() {
    let stub = Stub::start().await;
    let patch = |name: String| {
        stub.request(
            Method::PATCH,
            "/api/agents/3",
            Some(1),
            Some(json!({ "name": name })),
        )
    };
    assert_eq!(oversized_patch(&stub, 2 << 20, 65_537).await, 413);
    let (status, body) = patch("n".repeat(201)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["details"]
            .as_str()
            .expect("details")
            .contains("at most 200"),
        "{body}"
    );
    assert_eq!(patch("n".repeat(200)).await.0, StatusCode::OK);
    for (path, field, max) in [
        ("/api/agents", "name", 200),
        ("/api/threads/10/messages", "content", 16_384),
    ] {
        let (status, _) = stub
            .request(
                Method::POST,
                path,
                Some(1),
                Some(json!({ field: "x".repeat(max + 1) })),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
    }
    let (status, _) = stub
        .request(
            Method::POST,
            "/api/threads",
            Some(1),
            Some(json!({ "agent_id": 1, "title": "t".repeat(201) })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut client = stub.connect(1).await;
    client.send_message("long", 10, &"x".repeat(16_385)).await;
    let Control::Error(error) = client.recv_control().await else {
        panic!("an error for a long send_message")
    };
    assert_eq!(error.error, "INVALID_DATA");
    assert_served(&stub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_buffers_are_bounded_in_bytes() {
    let stub = Stub::start_with(|c| {
        c.replay_topic_bytes = 64 << 10;
        c.replay_total_bytes = 256 << 10;
    })
    .await;
    let seeded = stub.control("seed?owner=5&agents=10").await;
    let ids: Vec<u64> = seeded["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_u64().expect("id"))
        .collect();
    for id in &ids {
        stub.control(&format!("publish?topic=agent:{id}&count=20&size=16384"))
            .await;
        let kept = stub.stats().await["replay_bytes"]
            .as_u64()
            .expect("replay_bytes");
        assert!(kept <= 256 << 10, "{kept} bytes kept");
    }
    let kept = stub.stats().await["replay_bytes"]
        .as_u64()
        .expect("replay_bytes");
    println!("finding 6: 200 events of 16 KiB on 10 topics; the replay buffers keep {kept} bytes");
    assert!(kept > 128 << 10, "the budget is used: {kept}");
    let mut client = stub.connect(5).await;
    let first = format!("agent:{}", ids[0]);
    let last = format!("agent:{}", ids[9]);
    client
        .subscribe("s", &[&first, &last], &[(&first, 1), (&last, 19)])
        .await;
    assert!(matches!(
        client.recv_control().await,
        Control::SubscribeAck(_)
    ));
    let Control::ResyncRequired(resync) = client.recv_control().await else {
        panic!("the oldest topic's events were evicted")
    };
    assert_eq!(resync.topic.as_str(), first);
    assert_eq!(
        client.recv_event().await.seq,
        Some(20),
        "the newest topic replays"
    );
    assert_served(&stub).await;
}

/// The status of a `PATCH /api/agents/3` announcing a body of `len` bytes, of which only the
/// first `sent` go out (one past the stub's limit of 65,536): the stub refuses it once it read
/// past its limit. (Sending the whole body raced the refusal: the stub closes the connection
/// with the rest unread, and writing it failed with a broken pipe, the answer unread.)
async fn oversized_patch(stub: &Stub, len: usize, sent: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(stub.addr)
        .await
        .expect("connects");
    let head = format!(
        "PATCH /api/agents/3 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n",
        stub.addr,
        stub.token(1)
    );
    socket.write_all(head.as_bytes()).await.expect("sent");
    socket.write_all(&vec![b'n'; sent]).await.expect("sent");
    let mut answer = vec![0u8; 64];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("an answer before the body")
        .expect("readable");
    let line = String::from_utf8_lossy(&answer[..read]).into_owned();
    line.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {line:?}"))
}
