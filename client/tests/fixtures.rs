//! Golden frames: every fixture in `fixtures/` decodes into its typed value and, for tether's own
//! shapes, re-encodes to the same JSON. `fixtures/origin/` holds the origin contract's shapes,
//! aliases included; each decodes into a typed value, never `Unknown`.

use std::path::PathBuf;

use tether_client::protocol::agents::model::{AgentRef, ChatMessage};
use tether_client::protocol::agents::{AgentsMessage, Timestamp};
use tether_client::protocol::control::Control;
use tether_client::protocol::Envelope;

fn fixtures(direction: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(direction);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// Decodes a fixture's typed value and re-serializes its data.
fn typed_data(envelope: &Envelope) -> serde_json::Value {
    if let Some(control) = Control::parse(envelope) {
        let control = control.unwrap_or_else(|e| panic!("{}: {e}", envelope.kind));
        return serde_json::from_str(control.to_envelope().data.get()).unwrap();
    }
    if envelope.kind == "send_message" {
        let m: tether_client::protocol::agents::model::SendMessage = envelope.data().unwrap();
        return serde_json::to_value(m).unwrap();
    }
    match envelope.decode_as::<AgentsMessage>() {
        Ok(AgentsMessage::Unknown { kind, .. }) => panic!("{kind} decoded as Unknown"),
        Ok(m) => agents_data(&m),
        Err(e) => panic!("{}: {e}", envelope.kind),
    }
}

fn agents_data(m: &AgentsMessage) -> serde_json::Value {
    use AgentsMessage as M;
    let v = match m {
        M::AgentState(a) | M::AgentCreated(a) | M::AgentUpdated(a) => serde_json::to_value(a),
        M::AgentDeleted(a) => serde_json::to_value(a),
        M::RunUpdate(r) => serde_json::to_value(r),
        M::ThreadMessage(c) => serde_json::to_value(c),
        M::ThreadCreated(t) | M::ThreadUpdated(t) => serde_json::to_value(t),
        M::ThreadDeleted(t) => serde_json::to_value(t),
        M::StreamStart(s) => serde_json::to_value(s),
        M::StreamChunk(c) => serde_json::to_value(c),
        M::StreamEnd(e) => serde_json::to_value(e),
        M::AssistantId(a) => serde_json::to_value(a),
        M::UserUpdate(u) => serde_json::to_value(u),
        M::Unknown { .. } => unreachable!(),
    };
    v.unwrap()
}

#[test]
fn tethers_own_fixtures_round_trip_through_their_types() {
    for direction in ["client", "server"] {
        for (name, text) in fixtures(direction) {
            let envelope = Envelope::decode(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(envelope.kind, name);
            assert_eq!(
                json(&envelope.encode()),
                json(&text),
                "{name}: the envelope"
            );
            assert_eq!(
                typed_data(&envelope),
                json(envelope.data.get()),
                "{direction}/{name}: the typed data"
            );
        }
    }
}

#[test]
fn every_origin_message_decodes_into_a_typed_value() {
    let files = fixtures("origin");
    for (name, text) in &files {
        let envelope = Envelope::decode(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&envelope.kind, name);
        assert_eq!(envelope.seq, None, "the origin numbers nothing");
        typed_data(&envelope);
    }
    let kinds: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for kind in AgentsMessage::KINDS {
        assert!(kinds.contains(kind), "no origin fixture for {kind}");
    }
    for kind in ["ping", "pong", "error", "unsubscribe_success"] {
        assert!(kinds.contains(&kind), "no origin fixture for {kind}");
    }
}

#[test]
fn origin_shapes_decode_to_the_same_values_as_ours() {
    let decode = |dir: &str, name: &str| {
        let (_, text) = fixtures(dir).into_iter().find(|(n, _)| n == name).unwrap();
        Envelope::decode(&text)
            .unwrap()
            .decode_as::<AgentsMessage>()
            .unwrap()
    };
    let (AgentsMessage::ThreadMessage(ours), AgentsMessage::ThreadMessage(origin)) = (
        decode("server", "thread_message"),
        decode("origin", "thread_message"),
    ) else {
        panic!("thread_message")
    };
    assert_eq!(
        ours, origin,
        "flat and nested, ms and ISO-8601, read the same"
    );
    assert_eq!(
        origin,
        ChatMessage {
            id: 101,
            thread_id: 10,
            role: "user".into(),
            content: "Hello, agent".into(),
            created_at: Some(Timestamp(1_767_225_600_006)),
        }
    );
    let AgentsMessage::AgentDeleted(AgentRef { id }) = decode("origin", "agent_deleted") else {
        panic!("agent_deleted")
    };
    assert_eq!(id, 4);
    let AgentsMessage::RunUpdate(run) = decode("origin", "run_update") else {
        panic!("run_update")
    };
    assert_eq!(
        (run.id, run.status.as_str(), run.duration_ms),
        (9, "success", Some(5000))
    );
    assert!(run.is_finished());
    assert!(matches!(
        decode("origin", "agent_event"),
        AgentsMessage::AgentUpdated(_)
    ));
    assert!(
        matches!(decode("origin", "thread_event"), AgentsMessage::ThreadUpdated(t) if t.id == 11)
    );
}

#[test]
fn events_carry_seq_and_control_frames_and_snapshots_do_not() {
    for (name, text) in fixtures("server") {
        let envelope = Envelope::decode(&text).unwrap();
        let numbered = Control::parse(&envelope).is_none() && envelope.kind != "agent_state";
        assert_eq!(envelope.seq.is_some(), numbered, "{name}");
    }
}
