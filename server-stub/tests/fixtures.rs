//! The golden frames of `fixtures/`: every client fixture decodes with the stub's inbound
//! decoder and re-encodes to the same JSON, every server fixture round-trips, every message
//! type has one, and the stub answers each client fixture as PROTOCOL.md says.

mod common;

use common::Stub;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tether::protocol::{ClientMessage, Message, ServerFrame, ServerMessage};
use tether_stub::inbound;

fn fixture_dir(side: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(side)
}

/// `(type, text)` of every fixture of one side.
fn fixtures(side: &str) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = std::fs::read_dir(fixture_dir(side))
        .expect("fixtures directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let kind = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            (kind, std::fs::read_to_string(&path).expect("readable"))
        })
        .collect();
    all.sort();
    all
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

#[test]
fn client_fixtures_round_trip_through_the_inbound_decoder() {
    let all = fixtures("client");
    for (kind, text) in &all {
        let frame = inbound::decode(text).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        assert_eq!(frame.msg.kind(), kind);
        assert_eq!(json(&frame.encode()), json(text), "{kind}");
    }
    let kinds: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    let mut expected = ClientMessage::KINDS.to_vec();
    expected.sort_unstable();
    assert_eq!(kinds, expected, "one fixture per client message type");
}

#[test]
fn server_fixtures_round_trip() {
    let all = fixtures("server");
    for (kind, text) in &all {
        let frame = ServerFrame::decode(text).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(frame.msg.kind(), kind);
        assert!(
            !matches!(frame.msg, ServerMessage::Unknown { .. }),
            "{kind}"
        );
        assert_eq!(json(&frame.encode()), json(text), "{kind}");
    }
    let kinds: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    let mut expected = ServerMessage::KINDS.to_vec();
    expected.sort_unstable();
    assert_eq!(kinds, expected, "one fixture per server message type");
}

fn fixture(side: &str, kind: &str) -> String {
    std::fs::read_to_string(fixture_dir(side).join(format!("{kind}.json"))).expect("fixture")
}

#[tokio::test]
async fn the_stub_answers_each_client_fixture() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;

    client.send_text(fixture("client", "subscribe")).await;
    let ServerMessage::SubscribeAck(ack) = client.recv().await.msg else {
        panic!("expected subscribe_ack")
    };
    assert_eq!(
        (ack.message_id.as_str(), ack.topics.as_slice()),
        (
            "s1",
            ["agent:1".to_owned(), "thread:10".to_owned()].as_slice()
        )
    );
    let resync = client.recv().await;
    assert!(
        matches!(resync.msg, ServerMessage::ResyncRequired(ref r) if r.topic == "agent:1" && r.seq == 0),
        "since 41 is ahead"
    );

    client.send_text(fixture("client", "send_message")).await;
    let event = client.recv().await;
    assert_eq!(
        (event.topic.as_deref(), event.req_id.as_deref(), event.seq),
        (Some("thread:10"), Some("r3"), Some(1))
    );
    assert!(
        matches!(event.msg, ServerMessage::ThreadMessage(ref m) if m.content == "Hello, agent")
    );

    client.send_text(fixture("client", "unsubscribe")).await;
    let ServerMessage::UnsubscribeSuccess(done) = client.recv().await.msg else {
        panic!("expected unsubscribe_success")
    };
    assert_eq!(
        (done.message_id.as_str(), done.topics.as_slice()),
        ("s2", ["thread:10".to_owned()].as_slice())
    );

    client.send_text(fixture("client", "pong")).await;
    client.send_text(fixture("client", "ping")).await;
    let pong = client.recv().await;
    let expected = ServerFrame::decode(&fixture("server", "pong")).expect("fixture");
    assert_eq!(
        (pong.req_id, pong.msg),
        (expected.req_id, expected.msg),
        "the pong fixture's reply, bar ts"
    );
}
