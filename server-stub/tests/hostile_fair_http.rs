//! Hostile HTTP clients that tried to take the server from everyone else (issue 21, findings
//! 1, 4 and 5): answers that are never read, silent sockets that reconnect, one user's many
//! WebSockets, and unfinished request heads. Each attack also times a well-behaved user
//! connecting from another loopback address (`fair::served_within`).

mod common;

use common::fair::{
    dev_token, fill_thread, peek_status, served_within, tcp_from, unread_get, ws_from, ATTACKER_IP,
};
use common::hostile::ChildStub;
use common::Stub;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const SECOND: Duration = Duration::from_secs(1);

/// Finding 1: 48 GETs of a long thread history that are never read held the whole answer each
/// (and all 48 slots of `--max-connections 48`), kept another user out, and held SIGTERM to
/// the full grace. Now an answer is one page, the attacker's address has its own budget of
/// HTTP connections, and the process exits at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_answers_hold_a_page_each_and_keep_nobody_out() {
    let mut stub = ChildStub::start(&[
        "--max-connections",
        "48",
        "--max-http-connections",
        "32",
        "--max-http-connections-per-ip",
        "16",
    ])
    .await;
    let addr = stub.socket_addr();
    let attacker = dev_token(2);
    let (stored, _) = fill_thread(addr, &attacker, 11, (256, 16_000)).await;
    assert_eq!(stored, 256, "a history of 4 MB");
    let before = stub.rss_kib();
    let mut readers = Vec::new();
    for _ in 0..48 {
        let path = "/api/threads/11/messages";
        readers.push(unread_get(addr, ATTACKER_IP, path, &attacker).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown = stub.rss_kib().saturating_sub(before);
    println!(
        "finding 1: 48 unread GETs of a 4 MB history: RSS +{} MiB",
        grown / 1024
    );
    let took = served_within(addr, &dev_token(1), SECOND).await;
    let mut statuses = std::collections::BTreeMap::<Option<u16>, usize>::new();
    for reader in &readers {
        *statuses
            .entry(peek_status(reader, Duration::from_millis(200)).await)
            .or_default() += 1;
    }
    let (exit, clean) = stub.terminate().await;
    println!(
        "finding 1: answers {statuses:?}; another user served in {took:?}; SIGTERM exit in \
         {exit:?}"
    );
    assert!(grown < 16 * 1024, "RSS grew by {grown} KiB");
    assert!(clean && exit < 2 * SECOND, "SIGTERM took {exit:?}");
    drop(readers);
}

/// Reads an HTTP answer until the connection ends; returns its Content-Length and how many
/// body bytes came before the end (or the whole body, if the connection stays open).
async fn read_answer(socket: &mut tokio::net::TcpStream) -> (usize, usize) {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut length = None;
    loop {
        let n = tokio::time::timeout(3 * SECOND, socket.read(&mut buf))
            .await
            .expect("read in time")
            .unwrap_or(0);
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        let head_end = text.find("\r\n\r\n");
        if length.is_none() {
            length = head_end.and_then(|end| {
                text[..end]
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .map(|len| (end + 4, len))
            });
        }
        let body = length.map_or(0, |(start, _)| got.len().saturating_sub(start));
        if n == 0 || length.is_some_and(|(_, len)| body >= len) {
            return (length.map_or(0, |(_, len)| len), body);
        }
    }
}

/// Finding 1: an answer that was not read was kept for ever (still held after 60 s). Now a
/// write that makes no progress for the HTTP write timeout ends the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_is_not_read_is_dropped_after_the_write_timeout() {
    let stub = Stub::start_with_small_send_buffer(|c| {
        c.http_write_timeout_ms = 500;
        c.max_page_items = 1000;
        c.max_page_bytes = 8 << 20;
    })
    .await;
    let token = stub.token(2);
    let (stored, _) = fill_thread(stub.addr, &token, 11, (128, 16_000)).await;
    assert_eq!(stored, 128);
    let path = "/api/threads/11/messages";
    let mut socket = unread_get(stub.addr, ATTACKER_IP, path, &token).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (length, body) = read_answer(&mut socket).await;
    println!("finding 1: an answer of {length} bytes not read for 1.5 s: {body} bytes came");
    assert!(length > 1_000_000, "a long answer: {length}");
    assert!(body < length, "the whole answer was still held after 1.5 s");
    let mut reader = unread_get(stub.addr, ATTACKER_IP, path, &token).await;
    let (length, body) = read_answer(&mut reader).await;
    assert_eq!(body, length, "a client that reads gets the whole answer");
    served_within(stub.addr, &stub.token(1), SECOND).await;
}

/// Finding 4: 320 silent sockets that reconnect as soon as they are closed kept another user
/// out (2 minutes at a cap of 320). Now connections that are not a signed-in WebSocket have a
/// budget per address and in total, and those past it get 503 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_that_reconnect_keep_nobody_out() {
    let stub = ChildStub::start(&[
        "--max-connections",
        "64",
        "--max-http-connections",
        "32",
        "--max-http-connections-per-ip",
        "16",
    ])
    .await;
    let addr = stub.socket_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let attackers: Vec<_> = (0..320)
        .map(|_| tokio::spawn(silent_reconnecting(addr, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut took = Vec::new();
    for _ in 0..3 {
        took.push(served_within(addr, &dev_token(1), SECOND).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let connects: usize = futures_util::future::join_all(attackers)
        .await
        .into_iter()
        .map(|r| r.expect("attacker"))
        .sum();
    println!(
        "finding 4: 320 silent reconnecting sockets ({connects} connects): served in {took:?}"
    );
}

/// A silent socket that reconnects as soon as the server ends it; returns how many times it
/// connected.
async fn silent_reconnecting(addr: SocketAddr, stop: Arc<AtomicBool>) -> usize {
    let mut connects = 0;
    while !stop.load(Ordering::Relaxed) {
        if let Ok(mut socket) = tcp_from(addr, ATTACKER_IP, None).await {
            connects += 1;
            let mut buf = [0u8; 256];
            while !stop.load(Ordering::Relaxed) {
                let read = tokio::time::timeout(Duration::from_millis(100), socket.read(&mut buf));
                if let Ok(Ok(0) | Err(_)) = read.await {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    connects
}

/// Finding 4: with a cap of 64, one user's 64 WebSockets kept another user out. Now a user has
/// at most `--max-connections-per-user` WebSockets: the ones past it are closed with 1008.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_websockets_keep_nobody_out() {
    let stub =
        ChildStub::start(&["--max-connections", "64", "--max-connections-per-user", "8"]).await;
    let addr = stub.socket_addr();
    let token = dev_token(2);
    let mut open = Vec::new();
    let mut closed = 0;
    for _ in 0..64 {
        let Ok(mut ws) = ws_from(addr, &token, ATTACKER_IP, None).await else {
            break;
        };
        match tokio::time::timeout(Duration::from_millis(100), ws.next_frame()).await {
            Ok(Some(Message::Close(Some(frame)))) if u16::from(frame.code) == 1008 => closed += 1,
            Ok(other) => panic!("an attacker's socket got {other:?}"),
            Err(_) => open.push(ws),
        }
    }
    let took = served_within(addr, &dev_token(1), SECOND).await;
    println!(
        "finding 4: one user's 64 WebSockets: {} open, {closed} closed with 1008; another user \
         served in {took:?}",
        open.len()
    );
    assert_eq!((open.len(), closed), (8, 56));
}

/// Finding 5: an unfinished request head grew hyper's read buffer to about 395 kB (2,000 of
/// them: +771 MiB). Now the buffer stops at the header limit: a longer head gets 431, and a
/// shorter unfinished one costs at most the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_heads_cost_at_most_the_header_limit() {
    let stub = ChildStub::start(&[
        "--max-connections",
        "4096",
        "--max-http-connections",
        "4096",
        "--max-http-connections-per-ip",
        "4096",
        "--max-header-bytes",
        "16384",
    ])
    .await;
    let addr = stub.socket_addr();
    served_within(addr, &dev_token(1), 5 * SECOND).await;
    let before = stub.rss_kib();
    let long = unfinished_heads(addr, 500, 64 << 10).await;
    let short = unfinished_heads(addr, 500, 12 << 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown = stub.rss_kib().saturating_sub(before);
    let took = served_within(addr, &dev_token(1), SECOND).await;
    let mut answers = std::collections::BTreeMap::<Option<u16>, usize>::new();
    for socket in &long {
        *answers
            .entry(peek_status(socket, Duration::from_millis(50)).await)
            .or_default() += 1;
    }
    drop((long, short));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_close = stub.rss_kib();
    let again = unfinished_heads(addr, 500, 64 << 10).await;
    let again_short = unfinished_heads(addr, 500, 12 << 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let regrown = stub.rss_kib().saturating_sub(after_close);
    println!(
        "finding 5: 500 unfinished 64 KiB heads (answers {answers:?}) and 500 of 12 KiB: RSS \
         +{} KiB ({} bytes each); again after closing them: +{} KiB; another user served in \
         {took:?}",
        grown,
        grown * 1024 / 1000,
        regrown
    );
    assert_eq!(answers.get(&Some(431)), Some(&500), "heads over the limit");
    assert!(grown < 1000 * 32, "RSS grew by {grown} KiB");
    assert!(
        regrown < 1000 * 8,
        "the memory was not reused: +{regrown} KiB"
    );
    drop((again, again_short));
}

/// `n` connections, each sending `bytes` of an unfinished request head.
async fn unfinished_heads(addr: SocketAddr, n: usize, bytes: usize) -> Vec<tokio::net::TcpStream> {
    let mut head = b"GET /api/health HTTP/1.1\r\nHost: x\r\n".to_vec();
    while head.len() < bytes {
        // Long lines: fewer than hyper's 100 headers, so that only the size limit applies.
        head.extend_from_slice(b"X-Pad: ");
        head.extend_from_slice(&[b'a'; 4000]);
        head.extend_from_slice(b"\r\n");
    }
    let mut sockets = Vec::new();
    for _ in 0..n {
        let mut socket = tcp_from(addr, ATTACKER_IP, None).await.expect("connect");
        let _ = socket.write_all(&head).await;
        sockets.push(socket);
    }
    sockets
}
