//! The origin profile's golden frames: every `fixtures/origin/` frame of a type the stub sends
//! is what its origin-profile encoders produce for the record it shows (times compared as
//! instants, since the fixtures write some with milliseconds and some without), and those of
//! types it never sends still decode with tether's client.

mod common;

use common::golden::*;
use tether_stub::domain::access::Denial;
use tether_stub::domain::records::{AgentRecord, RunRecord, RunStatus, Trigger};
use tether_stub::domain::store::Store;
use tether_stub::domain::wire::{self, DomainEvent};
use tether_stub::Profile;
use tether_wire::agents::AgentsMessage;
use tether_wire::control::Control;
use tether_wire::control::Heartbeat;
use tether_wire::{Envelope, Topic};

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
            let mut store = Store::seeded(0, tether_stub::domain::quota::Quota::UNLIMITED);
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
