//! Chat in the origin profile, as the origin's handlers do it (cipher982/zerg,
//! `backend/zerg/websocket/handlers.py` and `backend/zerg/routers/threads.py`):
//!
//! - its socket's `send_message` reads `thread_id`, `content` and `message_id` from the frame's
//!   top level: a frame shaped as the contract says (fields in `data`) is refused, with the
//!   top-level `message_id` (`""`) as `req_id`, and nothing is stored;
//! - a message it stores goes to the thread's subscribers only, and starts no reply;
//! - over REST a posted message is stored unprocessed and announced to nobody, and a run of the
//!   thread (`POST /api/threads/{id}/run`) streams the reply.
//!
//! What is stored is read back over REST, what was published from the stub's publish log.

mod common;

use common::{data, Stub};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tether_stub::Profile;

async fn stub(profile: Profile) -> Stub {
    Stub::start_with(|c| {
        c.profile = profile;
        c.simulate = true;
    })
    .await
}

/// How many messages of thread 10 have `content`, as stored.
async fn stored(stub: &Stub, content: &str) -> usize {
    let history = stub.get("/api/threads/10/messages", 1).await;
    let messages = history["messages"].as_array().expect("messages");
    messages.iter().filter(|m| m["content"] == content).count()
}

/// The types the stub published on `thread:10`, oldest first.
async fn published(stub: &Stub) -> Vec<String> {
    let (status, log) = stub
        .request(
            Method::GET,
            "/api/test/published?topic=thread:10",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect()
}

async fn run(stub: &Stub) -> Value {
    let (status, body) = stub
        .request(Method::POST, "/api/threads/10/run", Some(1), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body
}

/// Reads a streamed reply to its end; returns the types seen.
async fn reply(client: &mut common::Client) -> Vec<String> {
    let mut kinds = Vec::new();
    while kinds.last().map(String::as_str) != Some("stream_end") {
        kinds.push(client.recv().await.kind);
    }
    kinds
}

#[tokio::test]
async fn the_origin_reads_send_message_fields_from_the_top_level_only() {
    let stub = stub(Profile::Origin).await;
    let mut watcher = stub.connect_plain(1).await;
    watcher.subscribe_plain_ok(&["thread:10"]).await;
    let mut sender = stub.connect_plain(1).await;

    // Shaped as the contract says, the fields in `data`: refused.
    sender.send_message("r1", 10, "in data").await;
    let refused = sender.recv().await;
    assert_eq!(
        (refused.kind.as_str(), refused.req_id.as_deref()),
        ("error", Some("")),
        "the top-level message_id, absent, is echoed as \"\"; the req_id is not"
    );
    assert_eq!(
        data(&refused),
        json!({"error": "Missing thread_id or content in send_message"})
    );
    sender.assert_nothing_pending().await;
    watcher.assert_nothing_pending().await;
    assert_eq!(stored(&stub, "in data").await, 0);

    // The fields at the top level too: stored, and announced to the thread's subscribers with
    // the top-level message_id as req_id.
    let frame = json!({"v": 1, "type": "send_message", "topic": "thread:10", "ts": 1,
        "message_id": "m1", "thread_id": 10, "content": "at the top",
        "data": {"thread_id": 10, "content": "at the top"}});
    sender.send_text(frame.to_string()).await;
    let posted = watcher.recv().await;
    assert_eq!(
        (posted.kind.as_str(), posted.req_id.as_deref()),
        ("thread_message", Some("m1"))
    );
    assert_eq!(data(&posted)["message"]["content"], "at the top");
    sender.assert_nothing_pending().await; // it does not hold the topic: the origin sends nothing
    assert_eq!(stored(&stub, "at the top").await, 1);

    // The socket starts no reply; a run of the thread does, once.
    assert_eq!(run(&stub).await["status"], "ok");
    let kinds = reply(&mut watcher).await;
    assert_eq!(kinds[..2], ["stream_start", "assistant_id"], "{kinds:?}");
    assert_eq!(run(&stub).await["status"], "No unprocessed messages");
    let log = published(&stub).await;
    assert_eq!(log.iter().filter(|k| *k == "thread_message").count(), 1);
    assert_eq!(
        log.iter().filter(|k| *k == "stream_start").count(),
        1,
        "{log:?}"
    );
}

#[tokio::test]
async fn the_origin_checks_data_against_the_contract_first() {
    let stub = stub(Profile::Origin).await;
    let mut sender = stub.connect_plain(1).await;
    let frame = json!({"v": 1, "type": "send_message", "topic": "thread:10", "ts": 1,
        "req_id": "r2", "thread_id": 10, "content": "no data", "data": {}});
    sender.send_text(frame.to_string()).await;
    let refused = sender.recv().await;
    assert_eq!(refused.req_id.as_deref(), Some("r2"));
    assert_eq!(
        data(&refused),
        json!({"error": "INVALID_PAYLOAD", "details": {"message_id": "r2"}})
    );
    assert_eq!(stored(&stub, "no data").await, 0);
}

#[tokio::test]
async fn over_rest_the_origin_stores_quietly_and_a_run_answers() {
    let stub = stub(Profile::Origin).await;
    let mut watcher = stub.connect_plain(1).await;
    watcher.subscribe_plain_ok(&["thread:10"]).await;
    let body = json!({"role": "user", "content": "over rest"});
    let (status, message) = stub
        .request(
            Method::POST,
            "/api/threads/10/messages",
            Some(1),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!(message["content"], "over rest");
    watcher.assert_nothing_pending().await;
    assert!(published(&stub).await.is_empty(), "nothing announced");
    assert_eq!(stored(&stub, "over rest").await, 1);
    assert_eq!(run(&stub).await["status"], "ok");
    reply(&mut watcher).await;
    assert_eq!(
        published(&stub).await.first().map(String::as_str),
        Some("stream_start")
    );
}

#[tokio::test]
async fn in_the_tether_profile_a_post_is_announced_and_answered_and_a_run_finds_nothing() {
    let stub = stub(Profile::Tether).await;
    let mut watcher = stub.connect_plain(1).await;
    watcher.subscribe_plain_ok(&["thread:10"]).await;
    let body = json!({"content": "over rest"});
    let (status, _) = stub
        .request(
            Method::POST,
            "/api/threads/10/messages",
            Some(1),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(watcher.recv().await.kind, "thread_message");
    reply(&mut watcher).await;
    assert_eq!(run(&stub).await["status"], "No unprocessed messages");
}
