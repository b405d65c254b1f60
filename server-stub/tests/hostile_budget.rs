//! The README's memory line (issue 21): what one WebSocket, one user and one address's HTTP
//! connections can cost the stub at most, computed from the limits, and checked at a
//! scaled-down setting by one user doing everything at once, measured on the stub binary's
//! resident memory.
//!
//! The bound adds up what the limits allow: per WebSocket its read and write buffers, the
//! message being read and the `subscribe` it decodes (the frame limit, twice), its send queue,
//! one topic's replay being sent, and its topics held; per user its WebSockets, the text and
//! records it may store and its runs in flight. What a topic held, a record, a connection's own
//! state and a run cost is measured, not configured: the constants below, rounded up from
//! what this test sees (a connection holding 2,048 topics grew the debug build by 1.3 MiB).

mod common;

use clap::Parser;
use common::fair::{
    create_agents, dev_token, fill_thread, http_from, rest, served_within, tcp_from, ATTACKER_IP,
};
use common::hostile::ChildStub;
use reqwest::Method;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

use tether_stub::Config;
use tether_wire::control::Control;
use tether_wire::control::Subscribe;
use tether_wire::Topic;

/// One topic a connection holds: its membership in the hub, the session's set, the node's count.
const TOPIC: u64 = 1 << 10;
/// One stored record's own state besides its text (the record, the owner index).
const RECORD: u64 = 512;
/// One connection's own state: its task, its registry entry, the WebSocket's state.
const CONNECTION: u64 = 64 << 10;
/// One run or streamed reply in flight: its task and timer.
const RUN: u64 = 16 << 10;

const MIB: f64 = 1024.0 * 1024.0;

/// The most one WebSocket can cost.
fn per_websocket(c: &Config) -> u64 {
    let buffers = c.read_buffer_bytes + c.write_buffer_bytes + 2 * c.max_frame_bytes;
    let queued = c.queue_bytes + c.replay_topic_bytes;
    (buffers + queued) as u64 + c.max_subscriptions as u64 * TOPIC + CONNECTION
}

/// The most one user can cost: its WebSockets, what it stores, its runs in flight.
fn per_user(c: &Config) -> u64 {
    let sockets = c.max_connections_per_user as u64 * per_websocket(c);
    let stored = c.max_stored_bytes_per_user as u64 + c.max_records_per_user as u64 * RECORD;
    sockets + stored + c.max_runs_per_user as u64 * RUN
}

/// The most one address's HTTP connections can cost: each a head, a body and an answer (a page
/// and the item that would not fit).
fn per_address(c: &Config) -> u64 {
    let one = c.max_header_bytes + c.max_body_bytes + 2 * c.max_page_bytes;
    c.max_http_connections_per_ip as u64 * (one as u64 + CONNECTION)
}

/// The README states the bounds at the defaults, as this computes them.
#[test]
fn the_readme_states_the_bounds_at_the_defaults() {
    let c = Config::default();
    let line = format!(
        "one WebSocket can cost the server at most {:.1} MiB, one user {:.0} MiB, and one \
         address's HTTP connections {:.0} MiB",
        per_websocket(&c) as f64 / MIB,
        per_user(&c) as f64 / MIB,
        per_address(&c) as f64 / MIB
    );
    println!("at the defaults, {line}");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(readme.contains(&line), "README.md should say: {line}");
}

/// The scaled-down setting: every bound a user can reach, small.
const SCALED: &[&str] = &[
    "--test-control",
    "--open-topic",
    "t:",
    "--max-connections-per-user",
    "4",
    "--max-subscriptions",
    "512",
    "--max-topics-per-subscribe",
    "512",
    "--queue-bytes",
    "262144",
    "--replay-topic-bytes",
    "131072",
    "--replay-total-bytes",
    "2097152",
    "--max-records-per-user",
    "2000",
    "--max-stored-bytes-per-user",
    "4194304",
    "--max-runs-per-user",
    "4",
    "--run-step-ms",
    "5000",
    "--write-timeout-ms",
    "30000",
];

/// Publishes `count` events of `size` bytes on each of `topics` (test control: the app's).
async fn publish(addr: SocketAddr, topics: impl Iterator<Item = String>, count: u32, size: u32) {
    let http = reqwest::Client::new();
    for topic in topics {
        let url = format!("http://{addr}/api/test/publish?topic={topic}&count={count}&size={size}");
        let status = http.post(url).send().await.expect("publish").status();
        assert!(status.is_success(), "{status}");
    }
}

/// One of the user's WebSockets at its worst: it subscribes to `topics` since 0 (their replay),
/// never reads, and leaves a frame of almost the frame limit unfinished.
async fn worst_websocket(
    addr: SocketAddr,
    token: &str,
    topics: &[String],
) -> tokio::net::TcpStream {
    let mut socket = tcp_from(addr, ATTACKER_IP, Some(4096))
        .await
        .expect("connect");
    let head = format!(
        "GET /api/ws/v2?token={token}&tether=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.expect("write");
    let subscribe = Subscribe {
        topics: topics.iter().map(|t| Topic::from(t.as_str())).collect(),
        message_id: Some("s".into()),
        since: Some(
            topics
                .iter()
                .map(|t| (Topic::from(t.as_str()), 0))
                .collect(),
        ),
    };
    let text = Control::Subscribe(subscribe)
        .to_envelope()
        .with_ts(1)
        .encode();
    let _ = socket
        .write_all(&common::hostile::frame(0x81, text.as_bytes(), true))
        .await;
    let mut unfinished = common::hostile::frame(0x81, &[b' '; 60_000], true);
    unfinished.truncate(40_000);
    let _ = socket.write_all(&unfinished).await;
    socket
}

/// One user (2) takes all it may: records and text to its quota, runs to its cap, and more
/// WebSockets than it may, each holding 512 topics with their replay unread and a frame half
/// sent; then the replay it was sent is evicted, so that only those sockets hold it. The stub
/// grows by no more than the bound for one user, plus the replay the stub keeps for everyone;
/// and another user is served within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_costs_at_most_the_bound_the_limits_give() {
    let config =
        Config::try_parse_from(std::iter::once("server-stub").chain(SCALED.iter().copied()))
            .expect("valid flags");
    let stub = ChildStub::start(SCALED).await;
    let addr = stub.socket_addr();
    let replayed: Vec<String> = (0..32).map(|i| format!("t:{i}")).collect();
    publish(addr, replayed.iter().cloned(), 8, 8000).await;
    served_within(addr, &dev_token(1), 5 * Duration::from_secs(1)).await;
    let before = stub.rss_kib();
    let attacker = dev_token(2);
    let (stored, _) = fill_thread(addr, &attacker, 11, (1000, 16_000)).await;
    let (agents, _) = create_agents(addr, &attacker, 2000).await;
    let http = http_from(ATTACKER_IP);
    let mut runs = 0;
    for _ in 0..10 {
        let run = (Method::POST, "/api/agents/2/run");
        runs += usize::from(rest(&http, addr, run, &attacker, None).await.0 == 202);
    }
    let mut sockets = Vec::new();
    for i in 0..10 {
        let mut topics = replayed.clone();
        topics.extend((32..512).map(|k| format!("t:{i}-{k}")));
        sockets.push(worst_websocket(addr, &attacker, &topics).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    publish(addr, (100..132).map(|i| format!("t:{i}")), 8, 8000).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown = (stub.rss_kib().saturating_sub(before)) * 1024;
    let took = served_within(addr, &dev_token(1), Duration::from_secs(1)).await;
    let bound = per_user(&config) + config.replay_total_bytes as u64;
    println!(
        "one user at a scaled setting ({stored} messages, {} agents, {runs} runs, 10 sockets \
         tried): the stub grew {:.1} MiB, bound {:.1} MiB; another user served in {took:?}",
        agents.len(),
        grown as f64 / MIB,
        bound as f64 / MIB
    );
    assert!(grown <= bound, "grew {grown} bytes, over the bound {bound}");
    drop(sockets);
}
