//! Conformance with the origin backend's envelope v1, checked mechanically: the contract is
//! written as JSON Schema in `schema/envelope-v1.json` and validated with the `jsonschema`
//! crate. Every client fixture and every frame the client emits in a scripted session must
//! conform (`$defs/client`); every origin-shaped server fixture must too (`$defs/server`). The
//! schema is shown able to fail on the frames the old client sent.
//!
//! Every other test on the fake driver checks the frames it captures the same way
//! (`support::FakeIo`); the tests on the tokio driver do it through a proxy
//! (`tests/src/wire_audit/`).

mod support;

use std::collections::BTreeSet;

use support::*;
use tether_client::protocol::Envelope;

fn fixture_texts(direction: &str) -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(direction);
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// What the origin sends that its own contract does not define; read, never validated.
const ORIGIN_DEVIATIONS: &[&str] = &["unsubscribe_success"];

/// A session that makes the client emit every kind of frame it can.
fn scripted_session() -> Vec<String> {
    let mut h = Harness::new(config());
    let (_a, _) = h.record("agent:1");
    h.client().connect();
    h.open_raw();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.ack(&mid, &[("agent:1", 3)]);
    h.event(1, 4);
    h.server_sends(r#"{"v":1,"type":"ping","topic":"system","ts":0,"data":{}}"#);
    h.server_sends(r#"{"v":1,"type":"ping","topic":"system","ts":0,"data":{"timestamp":9}}"#);
    let (b, _) = h.record("thread:2");
    h.end_tick();
    drop(b);
    h.end_tick();
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    let _ = poll_once(&mut fut);
    h.client().send(chat(2)).unwrap();
    h.advance_alive(3_000); // periodic pings
    h.server_closes(1012);
    h.until_retry();
    h.open(); // a resubscribe with since
    h.all_sent_texts()
}

#[test]
fn every_frame_kind_in_both_directions_conforms_to_the_origin_contract() {
    let client = contract_validator("client");
    let server = contract_validator("server");
    let mut client_kinds = BTreeSet::new();
    let mut frames = 0;
    let captured = scripted_session();
    for text in captured
        .iter()
        .chain(fixture_texts("client").iter().map(|(_, t)| t))
    {
        assert_conforms(&client, text);
        client_kinds.insert(Envelope::decode(text).unwrap().kind);
        frames += 1;
    }
    let mut server_kinds = BTreeSet::new();
    for (name, text) in fixture_texts("origin") {
        if ORIGIN_DEVIATIONS.contains(&name.as_str()) {
            continue;
        }
        assert_conforms(&server, &text);
        server_kinds.insert(name);
        frames += 1;
    }
    assert_eq!(
        client_kinds.iter().map(String::as_str).collect::<Vec<_>>(),
        ["ping", "pong", "send_message", "subscribe", "unsubscribe"],
        "the session covers every kind the client emits"
    );
    assert_eq!(server_kinds.len(), 20);
    println!(
        "conformance: client→server {} kinds ({} frames captured from the client, {} fixtures), \
         server→client {} kinds (origin fixtures); {frames} frames validated, 0 failures",
        client_kinds.len(),
        captured.len(),
        fixture_texts("client").len(),
        server_kinds.len()
    );
}

#[test]
fn the_schema_refuses_what_the_old_client_sent() {
    let client = contract_validator("client");
    for bad in [
        // topic null on a connection-level frame, req_id null, ts 0 is fine but seq is not
        r#"{"v":1,"type":"subscribe","topic":null,"req_id":null,"ts":0,"data":{"topics":["agent:1"],"message_id":"s1"}}"#,
        r#"{"v":1,"type":"ping","topic":"system","req_id":null,"ts":1,"data":{"timestamp":1}}"#,
        r#"{"v":1,"type":"pong","topic":"system","ts":1,"seq":3,"data":{}}"#,
        r#"{"v":1,"type":"subscribe","topic":"system","ts":1,"data":{"topics":[]}}"#,
        r#"{"v":"1","type":"pong","topic":"system","ts":1,"data":{}}"#,
        r#"{"v":1,"type":"send_message","topic":"thread:1","ts":1,"data":{"thread_id":0,"content":"x"}}"#,
    ] {
        let value: serde_json::Value = serde_json::from_str(bad).unwrap();
        assert!(!client.is_valid(&value), "{bad} should break the contract");
    }
    let server = contract_validator("server");
    for (name, text) in fixture_texts("server") {
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        if [
            "subscribe_ack",
            "subscribe_error",
            "resync_required",
            "agent_updated",
            "thread_message",
        ]
        .contains(&name.as_str())
        {
            assert!(
                !server.is_valid(&value),
                "{name}: an extension or tether's own shape"
            );
        }
    }
}
