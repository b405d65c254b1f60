//! The golden frames of `fixtures/`: every client fixture decodes with the stub's inbound
//! decoder and re-encodes to the same JSON, every `fixtures/server/` frame is what the stub's
//! tether-profile encoders produce for the record it shows, and the stub answers each client
//! fixture (`fixtures_origin.rs` does the origin profile).

mod common;

use common::golden::*;
use common::{control, Stub};
use std::collections::BTreeMap;
use tether_server::session as inbound;
use tether_stub::domain::access;
use tether_stub::domain::records::{AgentChange, RunRecord, RunStatus, Trigger};
use tether_stub::domain::store::Store;
use tether_stub::domain::wire::{self, DomainEvent};
use tether_stub::Profile;
use tether_wire::agents::AgentsMessage;
use tether_wire::control::Control;
use tether_wire::control::{ErrorData, Heartbeat, ResyncRequired, SubscribeAck};
use tether_wire::{Envelope, Topic};

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
            epoch: None,
        })),
        "subscribe_ack" => Built::Control(Control::SubscribeAck(SubscribeAck {
            message_id: Some("s1".into()),
            topics: vec![Topic::agent(1), Topic::thread(10)],
            seqs: BTreeMap::from([(Topic::agent(1), 42), (Topic::thread(10), 0)]),
            epoch: None,
        })),
        "subscribe_error" => {
            let store = Store::seeded(0, tether_stub::domain::quota::Quota::UNLIMITED);
            let topic = Topic::agent(2);
            let denial = access::topic(&store, 1, &topic, &[]).expect_err("agent 2 is user 2's");
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
            seq: Some(0),
            epoch: ack.epoch.clone(),
        }),
        "since 41 is ahead, in the epoch the acknowledgement named"
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
