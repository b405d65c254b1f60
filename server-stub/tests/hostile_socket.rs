//! Hostile clients against one WebSocket (issue 16, findings 2, 5, 7 and 8): a socket that is
//! never read, an unfinished oversized frame, a ping flood, protocol violations, and the
//! memory of idle sockets. Every attack also checks that a well-behaved client is served.

mod common;

use common::hostile::{assert_served, frame, raw_end, raw_ws, still_open, within, ChildStub};
use common::Stub;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Finding 2: the writer waited for a flush with no deadline, so a client that never reads
/// was never closed (nor its memory freed). Now it is closed with 1008 after the write timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_cannot_be_written_is_closed_after_the_write_timeout() {
    let stub = Stub::start_with_small_send_buffer(|c| {
        c.write_timeout_ms = 500;
        c.queue_bytes = 64 << 20;
        c.queue_capacity = 100_000;
        c.close_timeout_ms = 200;
    })
    .await;
    let mut stuck = stub.connect_small_buffer(2).await;
    stuck.subscribe_ok(&["agent:2"]).await;
    stub.control("publish?topic=agent:2&count=200&size=16384")
        .await;
    assert_served(&stub).await;
    let took = within(
        "the stuck socket to be closed",
        Duration::from_secs(5),
        async || {
            let s = stub.stats().await;
            s["drops"]["write_timeout"] == 1 && s["per_user"]["2"]["connections_open"] == 0
        },
    )
    .await;
    println!("finding 2: a socket that never reads was closed {took:?} after its backlog");
    assert_eq!(stub.stats().await["queued_bytes"], 0, "its queue was freed");
    assert_served(&stub).await;
    drop(stuck);
}

/// Finding 2: the heartbeat and the idle timeout ran only between writes; now they run while a
/// write is pending, so a stuck socket is timed out for idleness even with a long write timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_runs_while_a_write_is_pending() {
    let stub = Stub::start_with_small_send_buffer(|c| {
        c.write_timeout_ms = 60_000;
        c.idle_timeout_ms = 500;
        c.ping_interval_ms = 100;
        c.queue_bytes = 64 << 20;
        c.queue_capacity = 100_000;
        c.close_timeout_ms = 200;
    })
    .await;
    let mut stuck = stub.connect_small_buffer(2).await;
    stuck.subscribe_ok(&["agent:2"]).await;
    stub.control("publish?topic=agent:2&count=200&size=16384")
        .await;
    let took = within("the idle timeout", Duration::from_secs(5), async || {
        let s = stub.stats().await;
        s["closes"]["4408"] == 1 && s["per_user"]["2"]["connections_open"] == 0
    })
    .await;
    println!("finding 2: idle timeout while a write was pending after {took:?}");
    drop(stuck);
}

/// Finding 5: frames up to 16 MiB were read whole before the 64 KiB limit applied (+11 MiB per
/// socket for an unfinished one). Now the header alone gets 1009.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_is_refused_from_its_header() {
    let stub = Stub::start().await;
    let mut socket = raw_ws(&stub, &stub.token(1)).await;
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&(16u64 << 20).to_be_bytes());
    header.extend_from_slice(&[0; 4]);
    socket.write_all(&header).await.expect("write");
    socket.write_all(&[b'a'; 1024]).await.expect("write");
    assert_eq!(
        raw_end(&mut socket, Duration::from_secs(2)).await,
        Some(1009)
    );
    assert_eq!(stub.wait_open(0).await["drops"]["too_big"], 1);
    assert_served(&stub).await;
}

/// Finding 7: ping control frames bypassed the token bucket (25.9 million in 10 s, never
/// closed). Now they cost a token, and a flood is closed with 1008.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_is_closed_with_1008() {
    let stub = Stub::start().await;
    let mut socket = raw_ws(&stub, &stub.token(2)).await;
    let pings: Vec<u8> = frame(0x89, b"", true).repeat(1000);
    let mut sent = 0;
    while sent < 100 && socket.write_all(&pings).await.is_ok() {
        sent += 1;
    }
    assert_eq!(
        raw_end(&mut socket, Duration::from_secs(3)).await,
        Some(1008)
    );
    println!("finding 7: a ping flood was closed with 1008 after at most {sent}000 pings");
    let stats = stub.wait_open(0).await;
    assert_eq!(stats["drops"]["flood"], 1);
    assert_served(&stub).await;
}

/// Finding 8: protocol errors dropped TCP with no close code. Now invalid UTF-8 gets 1007, and
/// an unmasked frame or a reserved opcode 1002 (RFC 6455, 7.4.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_get_the_close_codes_of_rfc_6455() {
    let stub = Stub::start().await;
    for (what, bytes, code) in [
        (
            "invalid UTF-8",
            frame(0x81, &[0xff, 0xfe, 0xfd], true),
            1007,
        ),
        ("an unmasked frame", frame(0x81, b"{}", false), 1002),
        ("a reserved opcode", frame(0x83, b"{}", true), 1002),
        ("a reserved bit", frame(0xc1, b"{}", true), 1002),
    ] {
        let mut socket = raw_ws(&stub, &stub.token(2)).await;
        socket.write_all(&bytes).await.expect("write");
        let end = raw_end(&mut socket, Duration::from_secs(3)).await;
        assert_eq!(end, Some(code), "{what}");
    }
    assert_eq!(stub.wait_open(0).await["drops"]["protocol"], 4);
    assert_served(&stub).await;
}

/// A client that goes away without a close frame (a closed laptop, a killed tab) is a lost
/// connection, not a protocol violation: nothing is counted against it as a drop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_without_a_close_frame_is_lost_not_a_violation() {
    let stub = Stub::start().await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(raw_ws(&stub, &stub.token(2)).await);
    }
    stub.wait_open(3).await;
    drop(sockets); // each TCP connection ends with no close frame
    let stats = stub.wait_open(0).await;
    assert_eq!(
        stats["drops"],
        serde_json::json!({"slow_consumer": 0, "flood": 0, "too_big": 0, "write_timeout": 0, "protocol": 0})
    );
    assert_served(&stub).await;
}

/// Finding 8: each idle connection cost 136 kB (a 128 KiB read buffer). Measured on the stub
/// binary alone: the RSS grown by 2,000 idle sockets, per socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_costs_under_40_kib() {
    const SOCKETS: u64 = 2000;
    // One user, many sockets: past the default per-user cap.
    let stub = ChildStub::start(&["--max-connections-per-user", "4096"]).await;
    let url = format!("ws://{}/api/ws/v2?token=dev-token&tether=1", stub.addr);
    let (warm, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    drop(warm);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = stub.rss_kib();
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        sockets.push(
            tokio_tungstenite::connect_async(&url)
                .await
                .expect("connect")
                .0,
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_socket = (stub.rss_kib().saturating_sub(before)) * 1024 / SOCKETS;
    println!("finding 8: an idle connection costs {per_socket} bytes of the stub's RSS");
    assert!(per_socket < 40 * 1024, "{per_socket} bytes per idle socket");
    let mut raw = tokio::net::TcpStream::connect(&stub.addr)
        .await
        .expect("connect");
    raw.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    assert!(still_open(&mut raw, Duration::from_millis(200)).await);
}
