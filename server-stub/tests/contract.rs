//! A strict client of the origin's contract (`schema/envelope-v1.json`): it never asks for
//! tether's extensions, subscribes (with a refused topic among the others), pings, posts a
//! chat message (over the socket; the origin refuses it, reading its fields elsewhere than the
//! contract puts them, so it is posted again over REST and the thread run, as the origin's own
//! UI does), answers the server's pings and drives every kind of event through REST and the
//! simulator. Every frame it sends must validate against `$defs/client`, and every frame it
//! receives:
//!
//! - from the origin profile, against `$defs/server` in full (data shapes included);
//! - from the tether profile, against `$defs/envelope` (its data shapes differ from the
//!   contract for some types: flat `thread_message`, millisecond times), and with no extension
//!   type or field.
//!
//! `unsubscribe_success` is not in the contract but the origin sends it: it is the one known
//! deviation, checked against `$defs/envelope` only.

mod common;

use common::contract::Contract;
use common::{data, Client, Stub};
use jsonschema::Validator;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use tether_stub::Profile;
use tether_wire::{Envelope, Topic};

/// Types tether adds to the contract; a client that did not ask never sees them.
const EXTENSION_TYPES: [&str; 3] = ["subscribe_ack", "subscribe_error", "resync_required"];

/// Server types outside the contract that the origin sends anyway.
const KNOWN_DEVIATIONS: [&str; 1] = ["unsubscribe_success"];

/// A client that checks everything it sends and receives against the contract.
struct Strict {
    client: Client,
    contract: Contract,
    profile: Profile,
    pings: usize,
    kinds: BTreeSet<String>,
}

impl Strict {
    async fn connect(stub: &Stub, profile: Profile, path: &str) -> Strict {
        let url = format!("ws://{}{path}?token={}", stub.addr, stub.token(1));
        Strict {
            client: stub.connect_url(&url).await.expect("connects"),
            contract: Contract::load(),
            profile,
            pings: 0,
            kinds: BTreeSet::new(),
        }
    }

    async fn send(&mut self, frame: Envelope) {
        let text = frame.encode();
        Contract::check(&self.contract.client, "a client frame", &text);
        self.client.send_text(text).await;
    }

    async fn send_raw(&mut self, kind: &str, topic: &str, req_id: Option<&str>, data: Value) {
        let mut frame = Envelope::new(kind, Topic::from(topic), &data)
            .expect("encodes")
            .with_ts(1_767_225_600_000);
        frame.req_id = req_id.map(str::to_owned);
        self.send(frame).await;
    }

    /// The next frame other than the server's `ping`s, which are checked and answered. Fails
    /// if none comes within 10 s (the pings alone would keep the wait going).
    async fn recv(&mut self) -> Envelope {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "only pings for 10 s; frames seen: {:?}",
                self.kinds
            );
            let text = self.client.recv_text().await;
            let frame = Envelope::decode(&text).expect("an envelope");
            self.check(&frame, &text);
            self.kinds.insert(frame.kind.clone());
            if frame.kind != "ping" {
                return frame;
            }
            self.pings += 1;
            self.send_raw("pong", "system", None, json!({})).await;
        }
    }

    fn check(&self, frame: &Envelope, text: &str) {
        let kind = frame.kind.as_str();
        assert!(
            !EXTENSION_TYPES.contains(&kind),
            "an extension type: {text}"
        );
        assert_eq!(frame.seq, None, "a seq: {text}");
        if self.profile == Profile::Origin && !KNOWN_DEVIATIONS.contains(&kind) {
            Contract::check(&self.contract.server, "a server frame", text);
        } else {
            Contract::check(&self.contract.envelope, "a server frame", text);
        }
    }

    /// The next frame, which must be of `kind`.
    async fn expect(&mut self, kind: &str) -> Envelope {
        let frame = self.recv().await;
        assert_eq!(frame.kind, kind, "{frame:?}");
        frame
    }

    async fn subscribe(&mut self, message_id: &str, topics: &[&str]) {
        let data = json!({ "topics": topics, "message_id": message_id });
        self.send_raw("subscribe", "system", None, data).await;
    }

    /// A ping whose pong proves everything before it was handled.
    async fn fence(&mut self, req_id: &str) {
        let data = json!({ "timestamp": 1_767_225_600_000_u64 });
        self.send_raw("ping", "system", Some(req_id), data).await;
        let pong = self.expect("pong").await;
        assert_eq!(pong.req_id.as_deref(), Some(req_id));
        assert_eq!(data_of(&pong)["timestamp"], 1_767_225_600_000_u64);
    }
}

fn data_of(frame: &Envelope) -> Value {
    data(frame)
}

async fn start(profile: Profile) -> Stub {
    Stub::start_with(|c| {
        c.profile = profile;
        c.simulate = true;
        c.simulate_interval_ms = 3_600_000;
        c.ping_interval_ms = 100;
    })
    .await
}

/// Drives the whole conversation; returns the client for the profile-specific checks.
async fn converse(stub: &Stub, profile: Profile, path: &str) -> Strict {
    let mut strict = Strict::connect(stub, profile, path).await;

    strict
        .subscribe(
            "s1",
            &["agent:1", "agent:2", "thread:10", "room:1", "user:1"],
        )
        .await;
    let snapshot = strict.expect("agent_state").await;
    assert_eq!(snapshot.topic, Topic::agent(1));
    for (refused, what) in [("agent:2", "Agent 2"), ("room:1", "'room'")] {
        let error = strict.expect("error").await;
        assert_eq!(error.req_id.as_deref(), Some("s1"), "{error:?}");
        let body = data_of(&error);
        assert_eq!(body["details"]["message_id"], "s1");
        let error_text = body["error"].as_str().expect("error text");
        match profile {
            Profile::Origin => assert!(error_text.contains(what), "{body}"),
            Profile::Tether => assert_eq!(body["details"]["topic"], refused),
        }
    }
    strict.fence("p1").await;

    strict
        .send_raw(
            "send_message",
            "thread:10",
            Some("r1"),
            json!({ "thread_id": 10, "content": "hello" }),
        )
        .await;
    match profile {
        Profile::Tether => {
            let posted = strict.expect("thread_message").await;
            assert_eq!(
                (posted.topic.as_str(), posted.req_id.as_deref()),
                ("thread:10", Some("r1"))
            );
        }
        Profile::Origin => {
            // The origin reads the fields from the frame's top level, where a client of the
            // contract never puts them: refused. Its own UI posts over REST, then runs the
            // thread; so does this client.
            let refused = strict.expect("error").await;
            assert_eq!(refused.req_id.as_deref(), Some(""));
            // Another client, not bound by the contract, puts them there: its message reaches
            // the thread's subscribers, this one among them.
            let mut loose = stub.connect_plain(1).await;
            let frame = json!({"v": 1, "type": "send_message", "topic": "thread:10", "ts": 1,
                "message_id": "m1", "thread_id": 10, "content": "loose",
                "data": {"thread_id": 10, "content": "loose"}});
            loose.send_text(frame.to_string()).await;
            let posted = strict.expect("thread_message").await;
            assert_eq!(posted.req_id.as_deref(), Some("m1"));
            rest(
                stub,
                Method::POST,
                "/api/threads/10/messages",
                json!({"content": "hello"}),
            )
            .await;
            rest(stub, Method::POST, "/api/threads/10/run", json!({})).await;
        }
    }
    // The simulator answers: a streamed reply.
    strict.expect("stream_start").await;
    if profile == Profile::Origin {
        strict.expect("assistant_id").await;
    }
    let mut chunks = 0;
    loop {
        let frame = strict.recv().await;
        match frame.kind.as_str() {
            "stream_chunk" => chunks += 1,
            "stream_end" => break,
            other => panic!("unexpected {other} in a stream"),
        }
    }
    assert!(chunks > 0);

    let agent = rest(stub, Method::POST, "/api/agents", json!({"name": "Scout"})).await;
    strict.expect("agent_created").await;
    let id = agent["id"].as_u64().expect("id");
    let topic = format!("agent:{id}");
    strict.subscribe("s2", &[&topic]).await;
    strict.expect("agent_state").await;
    rest(
        stub,
        Method::PATCH,
        &format!("/api/agents/{id}"),
        json!({"name": "Scout 2"}),
    )
    .await;
    strict.expect("agent_updated").await;
    rest(
        stub,
        Method::POST,
        &format!("/api/agents/{id}/run"),
        json!({}),
    )
    .await;
    let run: Vec<String> = {
        let mut kinds = Vec::new();
        for _ in 0..7 {
            kinds.push(strict.recv().await.kind);
        }
        kinds
    };
    assert_eq!(
        run,
        [
            "agent_updated",
            "run_update",
            "run_update",
            "run_update",
            "run_update",
            "run_update",
            "agent_updated"
        ]
    );
    let thread = rest(
        stub,
        Method::POST,
        "/api/threads",
        json!({"agent_id": id, "title": "T"}),
    )
    .await;
    strict.expect("thread_created").await;
    let thread_id = thread["id"].as_u64().expect("id");
    strict
        .subscribe("s3", &[&format!("thread:{thread_id}")])
        .await;
    // A thread topic has no snapshot: the pong proves the subscribe was handled before the
    // PATCH publishes (without it the update could go out first, and never arrive).
    strict.fence("p3").await;
    let path = format!("/api/threads/{thread_id}");
    rest(stub, Method::PATCH, &path, json!({"title": "T2"})).await;
    strict.expect("thread_updated").await;
    rest(stub, Method::DELETE, &path, json!({})).await;
    strict.expect("thread_deleted").await;
    rest(
        stub,
        Method::DELETE,
        &format!("/api/agents/{id}"),
        json!({}),
    )
    .await;
    strict.expect("agent_deleted").await;
    strict.expect("agent_deleted").await;

    strict
        .send_raw(
            "unsubscribe",
            "system",
            None,
            json!({"topics": ["thread:10"], "message_id": "u1"}),
        )
        .await;
    let done = strict.expect("unsubscribe_success").await;
    assert_eq!(data_of(&done)["message_id"], "u1");

    // The stub pings every 100 ms; wait for one, but not for ever.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while strict.pings == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no server ping within 5 s; frames seen: {:?}",
            strict.kinds
        );
        strict.fence("waiting for a server ping").await;
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    strict.fence("last").await;
    strict
}

async fn rest(stub: &Stub, method: Method, path: &str, body: Value) -> Value {
    let (status, answer) = stub.request(method, path, Some(1), Some(body)).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

#[tokio::test]
async fn the_origin_profile_keeps_the_whole_contract() {
    let stub = start(Profile::Origin).await;
    let strict = converse(&stub, Profile::Origin, "/api/ws").await;
    for kind in [
        "agent_created",
        "agent_deleted",
        "agent_state",
        "agent_updated",
        "assistant_id",
        "error",
        "ping",
        "pong",
        "run_update",
        "stream_chunk",
        "stream_end",
        "stream_start",
        "thread_created",
        "thread_deleted",
        "thread_message",
        "thread_updated",
        "unsubscribe_success",
    ] {
        assert!(
            strict.kinds.contains(kind),
            "saw no {kind}: {:?}",
            strict.kinds
        );
    }
}

#[tokio::test]
async fn the_tether_profile_sends_no_extension_to_a_client_that_did_not_ask() {
    let stub = start(Profile::Tether).await;
    let strict = converse(&stub, Profile::Tether, "/api/ws/v2").await;
    assert!(!strict.kinds.contains("assistant_id"));
    assert!(strict.kinds.contains("ping"));
}

#[test]
fn the_fixtures_themselves_keep_the_contract() {
    let contract = Contract::load();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    for (side, validator) in [("client", &contract.client), ("origin", &contract.server)] {
        for entry in std::fs::read_dir(dir.join(side)).expect("fixtures") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("readable");
            let name = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            if side == "origin" && KNOWN_DEVIATIONS.contains(&name.as_str()) {
                Contract::check(&contract.envelope, &name, &text);
            } else {
                Contract::check(validator, &name, &text);
            }
        }
    }
}

#[test]
fn the_contract_refuses_tethers_extensions_and_shapes() {
    let contract = Contract::load();
    let refused = |validator: &Validator, text: &str| {
        let value: Value = serde_json::from_str(text).expect("JSON");
        assert!(!validator.is_valid(&value), "should be refused: {text}");
    };
    let server = &contract.server;
    // A seq, a null req_id, an extension type.
    refused(
        server,
        r#"{"v":1,"type":"agent_deleted","topic":"agent:4","ts":1,"seq":2,"data":{"id":4}}"#,
    );
    refused(
        server,
        r#"{"v":1,"type":"pong","topic":"system","req_id":null,"ts":1,"data":{}}"#,
    );
    refused(
        server,
        r#"{"v":1,"type":"subscribe_ack","topic":"system","ts":1,"data":{"topics":[]}}"#,
    );
    // tether's data shapes: a flat message, millisecond times, an old run status.
    refused(
        server,
        r#"{"v":1,"type":"thread_message","topic":"thread:10","ts":1,"data":{"id":101,"thread_id":10,"role":"user","content":"x","created_at":1767225600006}}"#,
    );
    refused(
        server,
        r#"{"v":1,"type":"thread_created","topic":"agent:1","ts":1,"data":{"thread_id":11,"created_at":1767225600007}}"#,
    );
    refused(
        server,
        r#"{"v":1,"type":"thread_created","topic":"agent:1","ts":1,"data":{"thread_id":11,"created_at":"yesterday"}}"#,
    );
    refused(
        server,
        r#"{"v":1,"type":"run_update","topic":"agent:1","ts":1,"data":{"id":9,"agent_id":1,"status":"succeeded"}}"#,
    );
    // An error whose details are a string.
    refused(
        server,
        r#"{"v":1,"type":"error","topic":"system","ts":1,"data":{"error":"E","details":"why"}}"#,
    );
    refused(
        &contract.envelope,
        r#"{"v":1,"type":"ping","ts":1,"data":{}}"#,
    );
}
