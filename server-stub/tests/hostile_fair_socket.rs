//! One user against the others through WebSockets (issue 21, findings 6, 7, 8 and 9): many
//! connections each holding many topics, open topics that were never forgotten, a subscribe
//! reply larger than the send queue, and empty continuation frames. Each attack also times a
//! well-behaved user connecting from another loopback address (`fair::served_within`).

mod common;

use common::fair::{dev_token, served_within, ws_from, ATTACKER_IP, VICTIM_IP};
use common::hostile::{frame, raw_end, raw_ws, ChildStub};
use common::{Client, Stub};
use futures_util::SinkExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

use tether_wire::control::Control;
use tether_wire::control::Subscribe;
use tether_wire::Topic;

const SECOND: Duration = Duration::from_secs(1);

/// A `subscribe` frame of `topics`, with `since` for each if given.
fn subscribe_frame(topics: &[String], since: Option<u64>) -> String {
    let subscribe = Subscribe {
        topics: topics.iter().map(|t| Topic::from(t.as_str())).collect(),
        message_id: Some("s".into()),
        since: since.map(|s| {
            topics
                .iter()
                .map(|t| (Topic::from(t.as_str()), s))
                .collect()
        }),
    };
    Control::Subscribe(subscribe)
        .to_envelope()
        .with_ts(1)
        .encode()
}

/// The first control message a client gets, skipping the server's pings; `None` when the
/// socket ends first (its close code, if any, in the error).
async fn first_control(client: &mut Client) -> Result<Control, Option<u16>> {
    loop {
        match client.next_frame().await {
            Some(Message::Text(text)) => {
                let envelope = tether_wire::Envelope::decode(&text).expect("a frame");
                if envelope.kind != "ping" {
                    return Ok(common::control(&envelope));
                }
            }
            Some(Message::Close(frame)) => return Err(frame.map(|f| u16::from(f.code))),
            Some(_) => {}
            None => return Err(None),
        }
    }
}

/// `GET /api/stats` of a child stub (open with `--dev`).
async fn stats(addr: SocketAddr) -> Value {
    reqwest::get(format!("http://{addr}/api/stats"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json")
}

/// Finding 6: there was no limit on connections per user, each holding up to 2,048 topics at
/// about 505 kB: one user could reach about 8 GiB. Now a user has at most
/// `--max-connections-per-user` WebSockets; the ones past it are closed with 1008.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_holds_at_most_its_connections_and_their_topics() {
    let stub = ChildStub::start(&["--open-topic", "t:", "--max-connections-per-user", "8"]).await;
    let addr = stub.socket_addr();
    let token = dev_token(2);
    served_within(addr, &dev_token(1), 5 * SECOND).await;
    let before = stub.rss_kib();
    let (mut held, mut closed) = (Vec::new(), Vec::new());
    for i in 0..40 {
        let mut client = ws_from(addr, &token, ATTACKER_IP, None)
            .await
            .expect("upgrade");
        let topics: Vec<String> = (0..2048).map(|k| format!("t:{i}-{k}")).collect();
        let _ = client
            .ws
            .send(Message::text(subscribe_frame(&topics, None)))
            .await;
        match first_control(&mut client).await {
            Ok(Control::SubscribeAck(ack)) if ack.topics.len() == 2048 => held.push(client),
            Ok(other) => panic!("got {other:?}"),
            Err(code) => closed.push(code),
        }
    }
    let grown = stub.rss_kib().saturating_sub(before);
    let took = served_within(addr, &dev_token(1), SECOND).await;
    println!(
        "finding 6: one user's 40 WebSockets of 2,048 topics each: {} hold them, {} closed \
         ({:?}); RSS +{} MiB; another user served in {took:?}",
        held.len(),
        closed.len(),
        closed.first(),
        grown / 1024
    );
    assert_eq!(held.len(), 8);
    assert!(closed.iter().all(|c| *c == Some(1008)), "{closed:?}");
    // A connection holding 2,048 topics costs about 1.3 MiB (hostile_budget.rs measures it).
    assert!(grown < 8 * 2 * 1024, "RSS grew by {grown} KiB");
}

/// Finding 7: with `--open-topic`, a topic name was never forgotten: 464,486 fresh names added
/// 334 MiB, kept after the socket closed. Now a topic nobody holds leaves nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_topics_nobody_holds_are_forgotten() {
    let stub = ChildStub::start(&["--open-topic", "t:"]).await;
    let addr = stub.socket_addr();
    let mut client = ws_from(addr, &dev_token(2), ATTACKER_IP, None)
        .await
        .expect("ws");
    let round = async |r: usize, client: &mut Client| {
        let topics: Vec<String> = (0..2048).map(|k| format!("t:{r}-{k}")).collect();
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        client.send_text(subscribe_frame(&topics, None)).await;
        assert!(matches!(
            first_control(client).await,
            Ok(Control::SubscribeAck(_))
        ));
        client.unsubscribe("u", &names).await;
        assert!(matches!(
            first_control(client).await,
            Ok(Control::UnsubscribeSuccess(_))
        ));
    };
    for r in 0..10 {
        round(r, &mut client).await;
    }
    let warm = stub.rss_kib();
    let start = Instant::now();
    for r in 10..60 {
        round(r, &mut client).await;
    }
    let churned = start.elapsed();
    drop(client);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = stub.rss_kib();
    let took = served_within(addr, &dev_token(1), SECOND).await;
    let subscribers = stats(addr).await["subscribers"].clone();
    println!(
        "finding 7: 102,400 fresh open topics held and released in {churned:?}: RSS +{} KiB; \
         another user served in {took:?}",
        after.saturating_sub(warm)
    );
    let left = subscribers.as_object().map_or(0, serde_json::Map::len);
    assert_eq!(left, 0, "topics still known with no subscriber");
    assert!(
        after.saturating_sub(warm) < 4 * 1024,
        "+{} KiB",
        after - warm
    );
}

/// Finding 8: `--queue-bytes` did not bound a subscribe reply: a reply and its replay were one
/// item of up to 64 MiB. Now the reply goes out in pieces, each waiting for room in the queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_reply_stays_within_the_queue_byte_limit() {
    let stub = ChildStub::start(&[
        "--test-control",
        "--open-topic",
        "t:",
        "--queue-bytes",
        "65536",
        "--replay-topic-bytes",
        "262144",
        "--replay-total-bytes",
        "8388608",
        "--write-timeout-ms",
        "3000",
    ])
    .await;
    let addr = stub.socket_addr();
    let topics: Vec<String> = (0..32).map(|i| format!("t:{i}")).collect();
    let http = reqwest::Client::new();
    for topic in &topics {
        let url = format!("http://{addr}/api/test/publish?topic={topic}&count=16&size=16000");
        assert!(http
            .post(url)
            .send()
            .await
            .expect("publish")
            .status()
            .is_success());
    }
    let before = stub.rss_kib();
    let mut stalled = Vec::new();
    for _ in 0..6 {
        let mut client = ws_from(addr, &dev_token(2), ATTACKER_IP, Some(4096))
            .await
            .expect("ws");
        client.send_text(subscribe_frame(&topics, Some(0))).await;
        stalled.push(client);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queued = stats(addr).await["queued_bytes"]
        .as_u64()
        .expect("queued_bytes");
    let grown = stub.rss_kib().saturating_sub(before);
    let start = Instant::now();
    let seqs = replay_of(addr, &topics).await;
    let replayed_in = start.elapsed();
    let took = served_within(addr, &dev_token(1), SECOND).await;
    println!(
        "finding 8: 6 sockets that never read their replay of 8 MB: {queued} bytes queued, RSS \
         +{} MiB; a reader got its replay in {replayed_in:?}; another user served in {took:?}",
        grown / 1024
    );
    let expected: Vec<u64> = (1..=16).collect();
    assert!(
        seqs.values().all(|s| *s == expected),
        "every topic replayed whole, in order"
    );
    assert!(
        queued <= 6 * (64 << 10) + 6 * 16_500,
        "{queued} bytes queued"
    );
    drop(stalled);
}

/// Subscribes user 1 (from [`VICTIM_IP`]) to `topics` since 0 and reads the replay; the seqs
/// it got per topic.
async fn replay_of(addr: SocketAddr, topics: &[String]) -> BTreeMap<String, Vec<u64>> {
    let mut client = ws_from(addr, &dev_token(1), VICTIM_IP, None)
        .await
        .expect("ws");
    client.send_text(subscribe_frame(topics, Some(0))).await;
    let Ok(Control::SubscribeAck(_)) = first_control(&mut client).await else {
        panic!("no acknowledgement")
    };
    let mut seqs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    while seqs.values().map(Vec::len).sum::<usize>() < topics.len() * 16 {
        let event = client.recv_event().await;
        let seq = event.seq.expect("a replayed event has a seq");
        seqs.entry(event.topic.to_string()).or_default().push(seq);
    }
    seqs
}

/// Finding 9: empty continuation frames were not rate-limited: 15 M frames/s for 20 s, never
/// closed. Now every frame read from the socket costs a token, and the flood is closed with
/// 1008.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_continuation_frames_are_rate_limited() {
    let stub = Stub::start().await;
    let mut socket = raw_ws(&stub, &stub.token(2)).await;
    socket
        .write_all(&frame(0x01, b"{", true))
        .await
        .expect("write");
    let flood = frame(0x00, b"", true).repeat(1000);
    let start = Instant::now();
    let mut sent = 0;
    while start.elapsed() < 2 * SECOND && socket.write_all(&flood).await.is_ok() {
        sent += 1;
    }
    let end = tokio::time::timeout(3 * SECOND, raw_end(&mut socket, 2 * SECOND)).await;
    println!(
        "finding 9: {sent}000 empty continuation frames sent in {:?}: the server ended it with \
         {end:?}",
        start.elapsed()
    );
    assert_eq!(end.ok().flatten(), Some(1008));
    assert_eq!(stub.wait_open(0).await["drops"]["flood"], 1);
    served_within(stub.addr, &stub.token(1), SECOND).await;
}
