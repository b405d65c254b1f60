//! The golden frames of `fixtures/`: every client fixture decodes with the stub's inbound
//! decoder and re-encodes to the same JSON; every `fixtures/server/` frame is what the stub's
//! tether-profile encoders produce for the record it shows, and every `fixtures/origin/` frame
//! what its origin-profile encoders produce (times compared as instants, since the fixtures
//! write some with milliseconds and some without); the origin fixtures of types the stub never
//! sends still decode with tether's client. Finally the stub answers each client fixture.

mod common;

use common::{control, Stub};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tether::agents::time::Timestamp;
use tether::agents::AgentsMessage;
use tether::protocol::control::{
    ErrorData, Heartbeat, ResyncRequired, SubscribeAck, UnsubscribeSuccess,
};
use tether::protocol::{Control, Envelope, Topic};
use tether_stub::access::{self, Denial};
use tether_stub::inbound;
use tether_stub::records::{
    AgentChange, AgentRecord, ChunkRecord, MessageRecord, RunRecord, RunStatus, ThreadRecord,
    Trigger,
};
use tether_stub::store::Store;
use tether_stub::wire::{self, DomainEvent};
use tether_stub::Profile;

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

fn fixture(side: &str, kind: &str) -> String {
    std::fs::read_to_string(fixture_dir(side).join(format!("{kind}.json"))).expect("fixture")
}

/// Every ISO-8601 date-time string replaced by the instant it names.
fn instants(value: Value) -> Value {
    match value {
        Value::String(s) if s.contains('T') => match Timestamp::parse_iso(&s) {
            Some(t) => serde_json::json!({ "instant_ms": t.0 }),
            None => Value::String(s),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(instants).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, instants(v))).collect())
        }
        other => other,
    }
}

fn ms(iso: &str) -> u64 {
    Timestamp::parse_iso(iso).expect("a date-time").0
}

/// What one fixture shows, as the stub would build it.
enum Built {
    /// An app event for a domain event, in the fixture's topic, ts, seq and req_id.
    Event(Option<wire::Event>),
    /// A control message with the fixture's req_id.
    Control(Control),
}

/// Builds the frame the stub sends for `built`, taking topic, ts, seq and req_id from the
/// fixture (they are the moment's, not the record's).
fn frame_for(built: Built, fixture: &Envelope) -> Envelope {
    match built {
        Built::Event(event) => {
            let event = event
                .expect("the profile sends this type")
                .with_req_id(fixture.req_id.clone());
            wire::event_envelope(&fixture.topic, event, fixture.ts, fixture.seq)
        }
        Built::Control(control) => {
            wire::control_envelope(&control, fixture.req_id.clone(), fixture.ts)
        }
    }
}

fn agent(id: u64, name: &str, status: &str, created_at: u64, updated_at: u64) -> AgentRecord {
    AgentRecord {
        id,
        owner_id: 1,
        name: name.into(),
        status: status.into(),
        description: None,
        last_error: None,
        created_at,
        updated_at,
        last_run_at: None,
    }
}

fn thread(id: u64, title: &str, created_at: u64, updated_at: u64) -> ThreadRecord {
    ThreadRecord {
        id,
        agent_id: 1,
        title: title.into(),
        created_at,
        updated_at,
    }
}

fn message() -> MessageRecord {
    MessageRecord {
        id: 101,
        thread_id: 10,
        role: "user".into(),
        content: "Hello, agent".into(),
        created_at: 1_767_225_600_006,
    }
}

fn chunk(message_id: Option<u64>) -> ChunkRecord {
    ChunkRecord {
        thread_id: 10,
        message_id,
        chunk_type: "assistant_token".into(),
        content: "Hel".into(),
    }
}

fn pong() -> Control {
    Control::Pong(Heartbeat {
        timestamp: Some(1_767_225_600_000),
    })
}

fn unsubscribed(message_id: &str) -> Control {
    Control::UnsubscribeSuccess(UnsubscribeSuccess {
        message_id: Some(message_id.into()),
        topics: vec![Topic::thread(10)],
    })
}

/// The tether profile's frame for each `fixtures/server/` file.
fn tether_frame(kind: &str) -> Built {
    let encode = |event: DomainEvent<'_>| Built::Event(wire::encode(Profile::Tether, &event));
    let stream = |thread_id, message_id| (thread_id, message_id);
    let (thread_id, message_id) = stream(10, 102);
    match kind {
        "agent_created" => encode(DomainEvent::AgentCreated(&agent(
            4,
            "Summariser",
            "idle",
            1_767_225_600_002,
            1_767_225_600_002,
        ))),
        "agent_deleted" => encode(DomainEvent::AgentDeleted(4)),
        "agent_state" => encode(DomainEvent::AgentState(&agent(
            1,
            "Researcher",
            "idle",
            1_767_225_000_000,
            1_767_225_500_000,
        ))),
        "agent_updated" => encode(DomainEvent::AgentUpdated(
            &agent(
                1,
                "Researcher",
                "running",
                1_767_225_000_000,
                1_767_225_600_003,
            ),
            AgentChange::STATUS,
        )),
        "run_update" => encode(DomainEvent::RunUpdate(&RunRecord {
            id: 9,
            agent_id: 1,
            thread_id: None,
            status: RunStatus::Running,
            progress: 40,
            trigger: Trigger::Manual,
            started_at: Some(1_767_225_600_000),
            finished_at: None,
            error: None,
        })),
        "stream_start" => encode(DomainEvent::StreamStart {
            thread_id,
            message_id,
        }),
        "stream_chunk" => encode(DomainEvent::StreamChunk(&chunk(Some(102)))),
        "stream_end" => encode(DomainEvent::StreamEnd {
            thread_id,
            message_id,
        }),
        "thread_created" => encode(DomainEvent::ThreadCreated(&thread(
            11,
            "New chat",
            1_767_225_600_007,
            1_767_225_600_007,
        ))),
        "thread_updated" => encode(DomainEvent::ThreadUpdated(&thread(
            11,
            "Renamed chat",
            1_767_225_600_007,
            1_767_225_600_008,
        ))),
        "thread_deleted" => encode(DomainEvent::ThreadDeleted(11)),
        "thread_message" => encode(DomainEvent::ThreadMessage(&message())),
        "ping" => Built::Control(Control::Ping(Heartbeat::default())),
        "pong" => Built::Control(pong()),
        "error" => Built::Control(Control::Error(ErrorData::new(
            "MALFORMED",
            "expected value at line 1 column 1",
        ))),
        "resync_required" => Built::Control(Control::ResyncRequired(ResyncRequired {
            topic: Topic::agent(1),
            seq: Some(1500),
        })),
        "subscribe_ack" => Built::Control(Control::SubscribeAck(SubscribeAck {
            message_id: Some("s1".into()),
            topics: vec![Topic::agent(1), Topic::thread(10)],
            seqs: BTreeMap::from([(Topic::agent(1), 42), (Topic::thread(10), 0)]),
        })),
        "subscribe_error" => {
            let store = Store::seeded(0);
            let topic = Topic::agent(2);
            let denial = access::topic(&store, 1, &topic).expect_err("agent 2 is user 2's");
            Built::Control(Control::SubscribeError(wire::tether::subscribe_error(
                &topic,
                &denial,
                Some("s1"),
            )))
        }
        "unsubscribe_success" => Built::Control(unsubscribed("s2")),
        other => panic!("no tether-profile builder for the fixture {other}"),
    }
}

/// The origin fixtures of types the stub never sends.
const ORIGIN_ONLY: [&str; 4] = [
    "agent_event",
    "thread_event",
    "thread_message_created",
    "user_update",
];

/// The origin profile's frame for each `fixtures/origin/` file the stub can send.
fn origin_frame(kind: &str) -> Built {
    let encode = |event: DomainEvent<'_>| Built::Event(wire::encode(Profile::Origin, &event));
    let (thread_id, message_id) = (10, 102);
    match kind {
        "agent_created" => encode(DomainEvent::AgentCreated(&agent(
            4,
            "Summariser",
            "idle",
            0,
            0,
        ))),
        "agent_deleted" => encode(DomainEvent::AgentDeleted(4)),
        "agent_state" => encode(DomainEvent::AgentState(&AgentRecord {
            description: Some("Finds papers".into()),
            last_run_at: Some(ms("2025-12-31T23:50:00.000Z")),
            ..agent(1, "Researcher", "idle", 0, 0)
        })),
        "agent_updated" => {
            // The store's own account of a run starting: status and last_run_at change.
            let mut store = Store::seeded(0);
            let (agent, change) = store
                .agent_run_started(1, "running", ms("2026-01-01T00:00:00.003Z"))
                .expect("agent 1 is seeded");
            encode(DomainEvent::AgentUpdated(&agent, change))
        }
        "run_update" => encode(DomainEvent::RunUpdate(&RunRecord {
            id: 9,
            agent_id: 1,
            thread_id: Some(10),
            status: RunStatus::Success,
            progress: 100,
            trigger: Trigger::Manual,
            started_at: Some(ms("2026-01-01T00:00:00Z")),
            finished_at: Some(ms("2026-01-01T00:00:05Z")),
            error: None,
        })),
        "assistant_id" => encode(DomainEvent::AssistantId {
            thread_id,
            message_id,
        }),
        "stream_start" => encode(DomainEvent::StreamStart {
            thread_id,
            message_id,
        }),
        "stream_chunk" => encode(DomainEvent::StreamChunk(&chunk(None))),
        "stream_end" => encode(DomainEvent::StreamEnd {
            thread_id,
            message_id,
        }),
        "thread_created" => encode(DomainEvent::ThreadCreated(&thread(
            11,
            "New chat",
            ms("2026-01-01T00:00:00.007Z"),
            0,
        ))),
        "thread_updated" => encode(DomainEvent::ThreadUpdated(&thread(
            11,
            "Renamed chat",
            0,
            ms("2026-01-01T00:00:00.008Z"),
        ))),
        "thread_deleted" => encode(DomainEvent::ThreadDeleted(11)),
        "thread_message" => encode(DomainEvent::ThreadMessage(&message())),
        "ping" => Built::Control(Control::Ping(Heartbeat::default())),
        "pong" => Built::Control(pong()),
        "error" => Built::Control(Control::Error(wire::origin::refusal(
            &Topic::agent(5),
            &Denial::NotFound("no agent 5".into()),
            Some("s2"),
        ))),
        "unsubscribe_success" => Built::Control(unsubscribed("s3")),
        other => panic!("no origin-profile builder for the fixture {other}"),
    }
}

#[test]
fn client_fixtures_round_trip_through_the_inbound_decoder() {
    let all = fixtures("client");
    for (kind, text) in &all {
        let frame = inbound::decode(text).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        assert_eq!(&frame.envelope.kind, kind);
        assert_eq!(json(&frame.encode()), json(text), "{kind}");
    }
    let kinds: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["ping", "pong", "send_message", "subscribe", "unsubscribe"],
        "one fixture per client message type"
    );
}

#[test]
fn every_server_fixture_is_what_the_tether_profile_encodes() {
    for (kind, text) in fixtures("server") {
        let fixture = Envelope::decode(&text).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(fixture.kind, kind);
        let built = frame_for(tether_frame(&kind), &fixture);
        assert_eq!(json(&built.encode()), json(&text), "{kind}");
    }
}

#[test]
fn every_origin_fixture_is_what_the_origin_profile_encodes() {
    let mut matched = Vec::new();
    for (kind, text) in fixtures("origin") {
        let fixture = Envelope::decode(&text).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(fixture.kind, kind);
        if ORIGIN_ONLY.contains(&kind.as_str()) {
            assert!(
                !matches!(
                    fixture.decode_as::<AgentsMessage>(),
                    Ok(AgentsMessage::Unknown { .. }) | Err(_)
                ),
                "{kind} decodes with tether's client"
            );
            continue;
        }
        let built = frame_for(origin_frame(&kind), &fixture);
        assert_eq!(
            instants(json(&built.encode())),
            instants(json(&text)),
            "{kind}: {}",
            built.encode()
        );
        matched.push(kind);
    }
    assert_eq!(matched.len(), 17, "{matched:?}");
}

#[test]
fn the_tether_profile_sends_no_assistant_id() {
    let event = DomainEvent::AssistantId {
        thread_id: 1,
        message_id: 2,
    };
    assert!(wire::encode(Profile::Tether, &event).is_none());
}

#[tokio::test]
async fn the_stub_answers_each_client_fixture() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;

    client.send_text(fixture("client", "subscribe")).await;
    let Control::SubscribeAck(ack) = client.recv_control().await else {
        panic!("expected subscribe_ack")
    };
    assert_eq!(
        (ack.message_id.as_deref(), ack.topics.as_slice()),
        (Some("s1"), [Topic::agent(1), Topic::thread(10)].as_slice())
    );
    let resync = client.recv_control().await;
    assert_eq!(
        resync,
        Control::ResyncRequired(ResyncRequired {
            topic: Topic::agent(1),
            seq: Some(0)
        }),
        "since 41 is ahead"
    );

    client.send_text(fixture("client", "send_message")).await;
    let event = client.recv().await;
    assert_eq!(
        (event.topic.as_str(), event.req_id.as_deref(), event.seq),
        ("thread:10", Some("r3"), Some(1))
    );
    assert!(
        matches!(common::agents(&event), AgentsMessage::ThreadMessage(ref m) if m.content == "Hello, agent")
    );

    client.send_text(fixture("client", "unsubscribe")).await;
    assert_eq!(client.recv_control().await, unsubscribed("s2"));

    client.send_text(fixture("client", "pong")).await;
    client.send_text(fixture("client", "ping")).await;
    let pong = client.recv().await;
    let expected = Envelope::decode(&fixture("server", "pong")).expect("fixture");
    assert_eq!(
        (pong.req_id.clone(), control(&pong)),
        (expected.req_id.clone(), control(&expected)),
        "the pong fixture's reply, bar ts"
    );
}
