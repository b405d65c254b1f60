//! Each test-control endpoint's basic use: drop, close, half-open, malformed, duplicate,
//! publish, refuse, admit, restart, token, seed and the membership log (`faults.rs` has the
//! chaos faults).

mod common;

use common::{agents, End, Stub};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tether_wire::agents::AgentsMessage;
use tether_wire::control::Control;
use tether_wire::{Envelope, Topic};
use tokio_tungstenite::tungstenite::Error as WsError;

#[tokio::test]
async fn drop_aborts_every_socket_without_a_close_frame() {
    let stub = Stub::start().await;
    let mut a = stub.connect(1).await;
    let mut b = stub.connect(2).await;
    stub.wait_open(2).await;
    assert_eq!(stub.control("drop").await["dropped"], 2);
    assert_eq!(a.end(false).await, End::Dropped);
    assert_eq!(b.end(false).await, End::Dropped);
    stub.wait_open(0).await;
    stub.connect(1).await.assert_nothing_pending().await;
}

#[tokio::test]
async fn close_sends_the_given_code_and_reason() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    stub.wait_open(1).await;
    assert_eq!(
        stub.control("close?code=4000&reason=test%20close").await["closed"],
        1
    );
    assert_eq!(
        client.end(false).await,
        End::Closed(4000, "test close".into())
    );
    let (status, _) = stub
        .request(
            reqwest::Method::POST,
            "/api/test/close?code=1006",
            None,
            None,
        )
        .await;
    assert_eq!(
        status,
        reqwest::StatusCode::BAD_REQUEST,
        "1006 is never sent"
    );
    assert_eq!(stub.wait_open(0).await["closes"]["4000"], 1);
}

#[tokio::test]
async fn half_open_sockets_go_silent_but_new_ones_are_normal() {
    let stub = Stub::start_with(|c| {
        c.ping_interval_ms = 50;
        c.idle_timeout_ms = 200;
    })
    .await;
    let mut stale = stub.connect(1).await;
    stale.subscribe_ok(&["agent:1"]).await;
    stub.wait_open(1).await;
    assert_eq!(stub.control("half-open").await["half_open"], 1);
    // Whatever was in flight before the switch may still arrive; then nothing more. The
    // socket must not end meanwhile (a half-open socket is left open).
    let drained = std::time::Instant::now();
    while let Ok(frame) = tokio::time::timeout(Duration::from_millis(20), stale.next_raw()).await {
        assert!(frame.is_some(), "the half-open socket ended");
        assert!(
            drained.elapsed() < Duration::from_secs(2),
            "frames kept coming"
        );
    }
    stale.ping("unanswered", 1).await;
    stub.control("publish?topic=agent:1&count=3").await;
    stale.assert_silent_for(Duration::from_millis(400)).await;

    let mut fresh = stub.connect(1).await;
    fresh.subscribe_ok(&["agent:1"]).await;
    fresh.ping("answered", 2).await;
    let mut got_pong = false;
    let waiting = std::time::Instant::now();
    while !got_pong {
        assert!(waiting.elapsed() < Duration::from_secs(5), "no pong");
        got_pong = matches!(
            Control::parse(&fresh.recv().await),
            Some(Ok(Control::Pong(_)))
        );
    }
    assert_eq!(
        stub.stats().await["connections_open"],
        2,
        "half-open sockets are not idled out"
    );
}

/// A half-open socket (its network dead under it) asked to close sends no close frame, which
/// could not cross a dead network: the stub drops it without one.
#[tokio::test]
async fn a_half_open_socket_asked_to_close_is_dropped_without_a_close_frame() {
    let stub = Stub::start().await;
    let mut stale = stub.connect(1).await;
    stub.wait_open(1).await;
    assert_eq!(stub.control("half-open").await["half_open"], 1);
    assert_eq!(
        stub.control("close?code=4000&reason=bye").await["closed"],
        1
    );
    assert_eq!(stale.end(false).await, End::Dropped);
    stub.wait_open(0).await;
}

#[tokio::test]
async fn malformed_sends_a_broken_frame_and_the_socket_stays_usable() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    stub.wait_open(1).await;
    assert_eq!(stub.control("malformed").await["sent"], 1);
    let text = client.recv_text().await;
    assert_eq!(text, r#"{"v":1,"type":"#);
    assert!(Envelope::decode(&text).is_err());
    client.assert_nothing_pending().await;
}

#[tokio::test]
async fn duplicate_repeats_the_last_events_of_each_topic_to_its_subscribers() {
    let stub = Stub::start().await;
    let mut member = stub.connect(1).await;
    let mut other = stub.connect(2).await;
    member.subscribe_ok(&["agent:1"]).await;
    other.subscribe_ok(&["agent:2"]).await;
    stub.control("publish?topic=agent:1&count=3").await;
    let mut seen = Vec::new();
    for i in 0..5 {
        if i == 3 {
            assert_eq!(stub.control("duplicate?last=2").await["redelivered"], 2);
        }
        let frame = member.recv_event().await;
        assert_eq!(frame.topic, Topic::agent(1));
        seen.push(frame.seq);
    }
    assert_eq!(seen, [Some(1), Some(2), Some(3), Some(2), Some(3)]);
    member.assert_nothing_pending().await;
    other.assert_nothing_pending().await;
}

#[tokio::test]
async fn publish_sends_padded_events_and_reports_their_seqs() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["agent:1", "thread:10"]).await;
    let answer = stub
        .control("publish?topic=agent:1&count=3&size=1000")
        .await;
    assert_eq!(
        (answer["first_seq"].as_u64(), answer["last_seq"].as_u64()),
        (Some(1), Some(3))
    );
    for seq in 1..=3 {
        let frame = client.recv().await;
        assert_eq!(frame.seq, Some(seq));
        assert!(
            matches!(agents(&frame), AgentsMessage::AgentUpdated(ref a) if a.name.as_ref().map(String::len) == Some(1000) && a.id == 1)
        );
    }
    stub.control("publish?topic=thread:10&count=2&rate=100")
        .await;
    for seq in 1..=2 {
        let frame = client.recv().await;
        assert_eq!((frame.topic.as_str(), frame.seq), ("thread:10", Some(seq)));
        assert_eq!(frame.kind, "stream_chunk");
    }
    stub.control("publish?topic=thread:10&kind=agent_updated")
        .await;
    assert_eq!(client.recv().await.kind, "agent_updated");
    for bad in [
        "publish?topic=room:1",
        "publish?topic=agent:1&kind=nonsense",
        "publish",
    ] {
        let (status, _) = stub
            .request(
                reqwest::Method::POST,
                &format!("/api/test/{bad}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{bad}");
    }
}

async fn expect_refused(stub: &Stub) {
    match stub.connect_token(&stub.token(1)).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected HTTP 503, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn refuse_answers_503_for_a_while() {
    let stub = Stub::start().await;
    let mut open = stub.connect(1).await;
    stub.control("refuse?ms=300").await;
    expect_refused(&stub).await;
    open.assert_nothing_pending().await;
    stub.connect_when_back()
        .await
        .assert_nothing_pending()
        .await;
    let stats = stub.stats().await;
    assert!(stats["rejected_refused"].as_u64() >= Some(1));
    assert_eq!(
        stats["connection_attempts_total"].as_u64(),
        stats["rejected_refused"].as_u64().map(|r| r + 2)
    );
}

#[tokio::test]
async fn admit_ends_a_refusal_early() {
    let stub = Stub::start().await;
    stub.control("restart?down_ms=60000").await;
    expect_refused(&stub).await;
    stub.control("admit").await;
    stub.connect(1).await.assert_nothing_pending().await;
}

#[tokio::test]
async fn restart_closes_with_1012_and_refuses_for_a_while() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    stub.wait_open(1).await;
    stub.control("restart?down_ms=300").await;
    assert_eq!(
        client.end(false).await,
        End::Closed(1012, "server restarting".into())
    );
    expect_refused(&stub).await;
    stub.connect_when_back()
        .await
        .assert_nothing_pending()
        .await;
}

#[tokio::test]
async fn token_mints_valid_and_expired_tokens() {
    let stub = Stub::start().await;
    let valid = stub.control("token?sub=9&exp_secs=60").await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let mut client = stub.connect_token(&valid).await.expect("connects");
    client.subscribe_ok(&["user:9"]).await;
    let expired = stub.control("token?sub=9&exp_secs=-1").await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let mut rejected = stub.connect_token(&expired).await.expect("upgrade");
    assert_eq!(rejected.close_code().await, 4401);
}

#[tokio::test]
async fn seed_creates_agents_and_threads_for_a_user() {
    let stub = Stub::start().await;
    let mut watcher = stub.connect(7).await;
    watcher.subscribe_ok(&["user:7"]).await;
    let seeded = stub.control("seed?owner=7&agents=2&threads=1").await;
    let ids: Vec<u64> = seeded["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_u64())
        .collect();
    let thread_ids: Vec<u64> = seeded["thread_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_u64())
        .collect();
    assert_eq!((ids.len(), thread_ids.len()), (2, 2));
    for id in &ids {
        assert!(
            matches!(agents(&watcher.recv().await), AgentsMessage::AgentCreated(ref a) if a.id == *id && a.owner_id == Some(7))
        );
    }
    let topics: Vec<String> = ids
        .iter()
        .map(|id| format!("agent:{id}"))
        .chain(thread_ids.iter().map(|id| format!("thread:{id}")))
        .collect();
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    watcher.subscribe_ok(&topics).await;
    assert_eq!(
        stub.get("/api/agents", 7).await["agents"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

/// The membership log records how each topic of each subscribe was answered (snapshot, replay,
/// or resync, with the oldest `seq` still kept) and when a connection let go of it, each placed
/// in the publish log (`published`), as the chaos checks read it.
#[tokio::test]
async fn the_membership_log_records_each_answer_and_release_in_publish_order() {
    let stub = Stub::start_with(|c| c.replay_capacity = 3).await;
    stub.control("publish?topic=agent:1&count=5").await;
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["agent:1"]).await; // a snapshot: no since
    client.subscribe("r", &["agent:1"], &[("agent:1", 4)]).await; // replay of 5
    client.recv().await;
    client.recv().await;
    client.subscribe("e", &["agent:1"], &[("agent:1", 1)]).await; // 2 was evicted
    client.recv().await;
    client.recv().await;
    client.unsubscribe("u", &["agent:1"]).await;
    client.recv().await;
    let (status, log) = stub
        .request(Method::GET, "/api/test/subscriptions?user=1", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries = log["entries"].as_array().expect("entries");
    let shown: Vec<(String, Value, Value, Value, Value)> = entries
        .iter()
        .map(|e| {
            let change = e["change"].as_str().unwrap_or_default();
            let what = e["catch_up"]
                .as_str()
                .map_or(change.to_owned(), str::to_owned);
            (
                what,
                e["since"].clone(),
                e["seq"].clone(),
                e["first_kept"].clone(),
                e["published"].clone(),
            )
        })
        .collect();
    let row = |what: &str, since: Value, seq: Value, kept: Value| {
        (what.to_owned(), since, seq, kept, json!(5))
    };
    assert_eq!(
        shown,
        [
            row("snapshot", Value::Null, json!(5), Value::Null),
            row("replay", json!(4), json!(5), json!(5)),
            row("resync", json!(1), json!(5), json!(3)),
            (
                "released".to_owned(),
                Value::Null,
                Value::Null,
                Value::Null,
                json!(5)
            ),
        ],
        "{log}"
    );
    assert!(
        entries
            .iter()
            .all(|e| e["user"] == 1 && e["topic"] == "agent:1"),
        "{log}"
    );
    assert_eq!(
        (log["published"].clone(), log["evicted"].clone()),
        (json!(5), json!(0))
    );
    let (_, none) = stub
        .request(Method::GET, "/api/test/subscriptions?user=2", None, None)
        .await;
    assert_eq!(none["entries"], json!([]), "another user's: {none}");
}
