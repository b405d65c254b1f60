//! The golden frames of `fixtures/` and the records they show: helpers shared by the fixture
//! tests of both profiles.

use serde_json::Value;
use std::path::{Path, PathBuf};
use tether_stub::domain::records::{AgentRecord, ChunkRecord, MessageRecord, ThreadRecord};
use tether_stub::domain::wire;
use tether_wire::agents::Timestamp;
use tether_wire::control::Control;
use tether_wire::control::{Heartbeat, UnsubscribeSuccess};
use tether_wire::{Envelope, Topic};

pub fn fixture_dir(side: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(side)
}

/// `(type, text)` of every fixture of one side.
pub fn fixtures(side: &str) -> Vec<(String, String)> {
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

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

pub fn fixture(side: &str, kind: &str) -> String {
    std::fs::read_to_string(fixture_dir(side).join(format!("{kind}.json"))).expect("fixture")
}

/// Every ISO-8601 date-time string replaced by the instant it names.
pub fn instants(value: Value) -> Value {
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

pub fn ms(iso: &str) -> u64 {
    Timestamp::parse_iso(iso).expect("a date-time").0
}

/// What one fixture shows, as the stub would build it.
pub enum Built {
    /// An app event for a domain event, in the fixture's topic, ts, seq and req_id.
    Event(Option<wire::Event>),
    /// A control message with the fixture's req_id.
    Control(Control),
}

/// Builds the frame the stub sends for `built`, taking topic, ts, seq and req_id from the
/// fixture (they are the moment's, not the record's).
pub fn frame_for(built: Built, fixture: &Envelope) -> Envelope {
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

pub fn agent(id: u64, name: &str, status: &str, created_at: u64, updated_at: u64) -> AgentRecord {
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
        last_run: None,
    }
}

pub fn thread(id: u64, title: &str, created_at: u64, updated_at: u64) -> ThreadRecord {
    ThreadRecord {
        id,
        agent_id: 1,
        title: title.into(),
        created_at,
        updated_at,
    }
}

pub fn message() -> MessageRecord {
    MessageRecord {
        id: 101,
        thread_id: 10,
        role: "user".into(),
        content: "Hello, agent".into(),
        created_at: 1_767_225_600_006,
    }
}

pub fn chunk(message_id: Option<u64>) -> ChunkRecord {
    ChunkRecord {
        thread_id: 10,
        message_id,
        chunk_type: "assistant_token".into(),
        content: "Hel".into(),
    }
}

pub fn pong() -> Control {
    Control::Pong(Heartbeat {
        timestamp: Some(1_767_225_600_000),
    })
}

pub fn unsubscribed(message_id: &str) -> Control {
    Control::UnsubscribeSuccess(UnsubscribeSuccess {
        message_id: Some(message_id.into()),
        topics: vec![Topic::thread(10)],
    })
}
