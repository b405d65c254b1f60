//! Every golden fixture in `fixtures/` decodes to its typed message and re-encodes to the same
//! JSON; every message type has a fixture.

use std::path::PathBuf;
use tether::protocol::{ClientFrame, ClientMessage, Frame, Message, ServerFrame, ServerMessage};

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

fn round_trip<M: Message + std::fmt::Debug>(
    direction: &str,
    kinds: &[&str],
    is_unknown: fn(&M) -> bool,
) {
    let files = fixtures(direction);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for kind in kinds {
        assert!(names.contains(kind), "{direction}: no fixture for {kind}");
    }
    for (name, text) in &files {
        let frame = Frame::<M>::decode(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!is_unknown(&frame.msg), "{name} decoded as Unknown");
        assert_eq!(frame.msg.kind(), name);
        let original: serde_json::Value = serde_json::from_str(text).unwrap();
        let encoded: serde_json::Value = serde_json::from_str(&frame.encode()).unwrap();
        assert_eq!(encoded, original, "{name} does not round-trip");
    }
    assert_eq!(
        files.len(),
        kinds.len(),
        "{direction}: a fixture for an unknown type"
    );
}

#[test]
fn server_fixtures_round_trip() {
    round_trip::<ServerMessage>("server", ServerMessage::KINDS, |m| {
        matches!(m, ServerMessage::Unknown { .. })
    });
}

#[test]
fn client_fixtures_round_trip() {
    round_trip::<ClientMessage>("client", ClientMessage::KINDS, |m| {
        matches!(m, ClientMessage::Unknown { .. })
    });
}

#[test]
fn resource_events_carry_seq_and_control_frames_do_not() {
    for (name, text) in fixtures("server") {
        let frame = ServerFrame::decode(&text).unwrap();
        let resource = frame.topic.as_deref().is_some_and(|t| {
            t.starts_with("agent:") || t.starts_with("thread:") || t.starts_with("user:")
        });
        let snapshot_or_control = matches!(
            frame.msg,
            ServerMessage::AgentState(_) | ServerMessage::ResyncRequired(_)
        ) || !resource;
        assert_eq!(frame.seq.is_some(), !snapshot_or_control, "{name}");
    }
    let _ = ClientFrame::decode(&fixtures("client")[0].1).unwrap();
}
