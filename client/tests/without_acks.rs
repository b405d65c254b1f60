//! Against a server that speaks only the origin's contract: no `subscribe_ack`, no `seq`, no
//! replay. Topics become active at a documented point, refusals arrive as `error` frames,
//! reconnects resubscribe and tell handlers to resync, and the metrics say replay is not
//! offered. All on a fake clock, with the test playing an origin-style server.

mod support;

use support::*;
use tether_client::{ConnectionState, Replay, TopicStatus};

/// Answers the latest ping the client sent, as an origin server does (echoing its `req_id`).
fn answer_ping(h: &mut Harness, sent: &[tether_client::protocol::Envelope]) {
    let ping = sent
        .iter()
        .rev()
        .find(|f| f.kind == "ping")
        .expect("a ping was sent");
    h.server_sends(&pong_for(ping.req_id.as_deref().unwrap(), 0));
}

fn origin_event(topic: &str) -> String {
    serde_json::json!({"v":1,"type":"agent_updated","topic":topic,"ts":0,"data":{"id":1,"status":"running"}})
        .to_string()
}

#[test]
fn topics_become_active_when_the_ping_after_their_subscribe_is_answered() {
    let mut h = Harness::new(config());
    let (_s, seen) = h.record_all("agent:1");
    h.client().connect();
    h.open_raw();
    let sent = h.take_sent();
    assert_eq!(
        h.app.topics.status(&topic("agent:1")),
        Some(TopicStatus::Pending)
    );
    answer_ping(&mut h, &sent);
    assert_eq!(h.state(), ConnectionState::Open);
    assert_eq!(
        h.app.topics.status(&topic("agent:1")),
        Some(TopicStatus::Active)
    );
    assert_eq!(h.client().metrics().replay, Replay::NotOffered);
    h.server_sends(&origin_event("agent:1"));
    h.server_sends(&origin_event("agent:1"));
    assert_eq!(
        *seen.borrow(),
        ["subscribed@-", "agent_updated@-", "agent_updated@-"]
    );
}

#[test]
fn an_event_before_the_pong_activates_its_topic_first() {
    let h = Harness::new(config());
    let (_s, seen) = h.record_all("agent:1");
    h.client().connect();
    h.open_raw();
    // The origin sends an agent's snapshot right after the subscribe, before the pong.
    h.server_sends(
        r#"{"v":1,"type":"agent_state","topic":"agent:1","req_id":"s1","ts":0,"data":{"id":1,"name":"R"}}"#,
    );
    assert_eq!(*seen.borrow(), ["subscribed@-", "agent_state@-"]);
    assert_eq!(h.client().metrics().replay, Replay::NotOffered);
}

#[test]
fn once_known_each_topic_gets_its_own_subscribe_so_an_error_names_it() {
    let mut h = Harness::new(config());
    h.client().connect();
    h.open_raw();
    let sent = h.take_sent();
    answer_ping(&mut h, &sent); // no subscribe yet: nothing learned
    let (_a, a) = h.record_all("agent:1");
    h.end_tick();
    let sent = h.take_sent();
    assert_eq!(
        sent.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(),
        ["subscribe", "ping"]
    );
    answer_ping(&mut h, &sent); // passes: the server does not acknowledge
    assert_eq!(*a.borrow(), ["subscribed@-"]);
    let (_b, b) = h.record_all("agent:5");
    let (_c, c) = h.record_all("agent:6");
    h.end_tick();
    let sent = h.take_sent();
    let subscribes: Vec<_> = sent.iter().filter(|f| f.kind == "subscribe").collect();
    assert_eq!(subscribes.len(), 2, "one topic per subscribe: {sent:?}");
    let (topics, _, mid) = subscribe_parts(subscribes[0]);
    assert_eq!(topics, ["agent:5"]);
    h.server_sends(
        &serde_json::json!({"v":1,"type":"error","topic":"system","req_id":mid,"ts":0,
            "data":{"error":"Agent 5 not found","details":{"message_id":mid}}})
        .to_string(),
    );
    answer_ping(&mut h, &sent);
    assert_eq!(*b.borrow(), ["refused:Agent 5 not found"]);
    assert_eq!(*c.borrow(), ["subscribed@-"]);
    assert!(matches!(
        h.app.topics.status(&topic("agent:5")),
        Some(TopicStatus::Failed { .. })
    ));
}

#[test]
fn a_reconnect_resubscribes_and_tells_handlers_what_was_not_replayed() {
    let mut h = Harness::new(config());
    let (_s, seen) = h.record_all("agent:1");
    h.client().connect();
    h.open_raw();
    let sent = h.take_sent();
    answer_ping(&mut h, &sent);
    h.server_closes(1006);
    h.until_retry();
    h.open_raw();
    let sent = h.take_sent();
    let (topics, since, _) = first_subscribe(&sent);
    assert_eq!(topics, ["agent:1"], "reconnects resubscribe");
    assert_eq!(since, None, "no seq was ever seen: no since");
    answer_ping(&mut h, &sent);
    assert_eq!(*seen.borrow(), ["subscribed@-", "resync@-"]);
    assert_eq!(h.client().metrics().counters.resyncs, 1);
}

#[test]
fn heartbeats_keep_the_socket_open_and_server_pings_are_answered_in_its_format() {
    let mut h = Harness::new(config());
    h.client().connect();
    h.open_raw();
    let sent = h.take_sent();
    answer_ping(&mut h, &sent);
    for _ in 0..20 {
        h.advance(1_000);
        let sent = h.take_sent();
        answer_ping(&mut h, &sent);
        h.server_sends(r#"{"v":1,"type":"ping","topic":"system","ts":0,"data":{}}"#);
        let pong = h.take_sent();
        assert_eq!(pong.len(), 1);
        assert_eq!(
            (pong[0].kind.as_str(), pong[0].topic.as_str()),
            ("pong", "system")
        );
        assert_eq!(pong[0].data.get(), "{}");
    }
    assert_eq!(h.opened_sockets().len(), 1);
    assert_eq!(h.state(), ConnectionState::Open);
}

#[test]
fn a_pong_to_a_ping_sent_before_a_subscribe_does_not_activate_it() {
    let mut h = Harness::new(config());
    h.client().connect();
    h.open_raw();
    let before = h.take_sent(); // the ping sent on open, before any subscribe
    let (_s, _) = h.record_all("agent:1");
    h.end_tick();
    let after = h.take_sent();
    assert_eq!(
        after.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(),
        ["subscribe", "ping"]
    );
    answer_ping(&mut h, &before);
    assert_eq!(
        h.app.topics.status(&topic("agent:1")),
        Some(TopicStatus::Pending),
        "the first pong predates the subscribe"
    );
    answer_ping(&mut h, &after);
    assert_eq!(
        h.app.topics.status(&topic("agent:1")),
        Some(TopicStatus::Active)
    );
}

#[test]
fn an_event_on_one_topic_of_a_batch_leaves_the_others_to_the_barrier() {
    let mut h = Harness::new(config());
    let (_a, _) = h.record_all("agent:1");
    let (_b, _) = h.record_all("agent:2");
    h.client().connect();
    h.open_raw();
    let sent = h.take_sent();
    assert_eq!(
        sent.iter().filter(|f| f.kind == "subscribe").count(),
        1,
        "one subscribe for both"
    );
    h.server_sends(&origin_event("agent:1"));
    assert_eq!(
        h.app.topics.status(&topic("agent:2")),
        Some(TopicStatus::Pending)
    );
    answer_ping(&mut h, &sent);
    assert_eq!(
        h.app.topics.status(&topic("agent:2")),
        Some(TopicStatus::Active),
        "the pong passes the rest of the batch"
    );
}

#[test]
fn an_error_naming_a_batched_subscribe_refuses_no_topic_of_it() {
    let mut h = Harness::new(config());
    let (_a, _) = h.record_all("agent:1");
    let (_b, _) = h.record_all("agent:2");
    h.client().connect();
    h.open_raw();
    let sent = h.take_sent();
    let id = sent
        .iter()
        .find(|f| f.kind == "subscribe")
        .and_then(|f| f.data::<serde_json::Value>().ok())
        .and_then(|d| d["message_id"].as_str().map(str::to_owned))
        .unwrap();
    h.server_sends(
        &serde_json::json!({"v":1,"type":"error","topic":"system","ts":0,
            "data":{"error":"Agent not found","details":{"message_id":id}}})
        .to_string(),
    );
    for t in ["agent:1", "agent:2"] {
        assert_eq!(
            h.app.topics.status(&topic(t)),
            Some(TopicStatus::Pending),
            "{t}: which one was meant is unknown"
        );
    }
}

/// Plays an origin server until the client is quiet: each `subscribe` gets, per topic in
/// order, an `error` naming its `message_id` if the topic is in `refused` (every refusal of a
/// batch names the same one, as the origin's do), or an agent topic's `agent_state`; each
/// `ping` its `pong`.
fn play_origin(h: &mut Harness, refused: &[&str]) {
    for _ in 0..10 {
        let sent = h.take_sent();
        if sent.is_empty() {
            return;
        }
        for frame in &sent {
            match frame.kind.as_str() {
                "subscribe" => {
                    let (topics, _, mid) = subscribe_parts(frame);
                    for t in topics {
                        if refused.contains(&t.as_str()) {
                            let error = format!("{t} not found");
                            h.server_sends(&serde_json::json!({"v":1,"type":"error","topic":"system",
                                "req_id":mid,"ts":0,"data":{"error":error,"details":{"message_id":mid}}})
                            .to_string());
                        } else if let Some(id) = t.strip_prefix("agent:") {
                            h.server_sends(
                                &serde_json::json!({"v":1,"type":"agent_state","topic":t,
                                "req_id":mid,"ts":0,"data":{"id":id.parse::<u64>().unwrap()}})
                                .to_string(),
                            );
                        }
                    }
                }
                "ping" => h.server_sends(&pong_for(frame.req_id.as_deref().unwrap(), 0)),
                _ => {}
            }
        }
    }
    panic!("the client never went quiet");
}

#[test]
fn a_topic_refused_in_a_batched_subscribe_is_refused_and_the_others_active() {
    let mut h = Harness::new(config());
    let (_a, a) = h.record_all("agent:1");
    let (_b, b) = h.record_all("agent:5");
    let (_c, c) = h.record_all("thread:10");
    let (_d, d) = h.record_all("agent:6");
    // Held before the socket opens: the first subscribe lists them all.
    h.client().connect();
    h.open_raw();
    for round in ["first connection", "reconnect"] {
        play_origin(&mut h, &["agent:5", "agent:6"]);
        for refused in ["agent:5", "agent:6"] {
            assert!(
                matches!(
                    h.app.topics.status(&topic(refused)),
                    Some(TopicStatus::Failed { .. })
                ),
                "{round}: {refused} is {:?}",
                h.app.topics.status(&topic(refused))
            );
        }
        for accepted in ["agent:1", "thread:10"] {
            assert_eq!(
                h.app.topics.status(&topic(accepted)),
                Some(TopicStatus::Active),
                "{round}: {accepted}"
            );
        }
        let counts = h.client().metrics().subscriptions;
        assert_eq!((counts.active, counts.failed), (2, 2), "{round}");
        // A reconnect resubscribes everything held, in one subscribe again.
        h.server_closes(1006);
        h.until_retry();
        h.open_raw();
    }
    assert_eq!(*b.borrow(), ["refused:agent:5 not found"; 2]);
    assert_eq!(*d.borrow(), ["refused:agent:6 not found"; 2]);
    assert_eq!(a.borrow()[..2], ["subscribed@-", "agent_state@-"]);
    assert_eq!(c.borrow()[0], "subscribed@-");
}
