//! Topic subscriptions on a fake clock: queueing before the socket opens, coalescing, reference
//! counting, resubscribing in one frame with `since`, duplicate drops, `Subscribed` once per
//! handler, statuses and resyncs.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use support::*;
use tether_client::TopicStatus;

use tether_client::protocol::control::Control;
use tether_client::protocol::Envelope;
use tether_client::TopicEvent;

#[test]
fn subscribing_before_connect_is_queued_and_sent_on_open() {
    let mut h = Harness::new(config());
    let (_a, _) = h.record("agent:1");
    let (_b, _) = h.record("thread:2");
    h.end_tick();
    assert!(h.take_sent().is_empty());
    h.client().connect();
    h.open_raw();
    let sent = h.take_sent();
    assert_eq!(
        sent.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(),
        ["subscribe", "ping"],
        "one subscribe, then the ping that proves the socket"
    );
    let (topics, since, _) = subscribe_parts(&sent[0]);
    assert_eq!(topics, ["agent:1", "thread:2"]);
    assert_eq!(since, None);
}

#[test]
fn changes_in_one_tick_coalesce_into_one_frame() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let subs: Vec<_> = (1..=50).map(|i| h.record(&format!("agent:{i}"))).collect();
    let (gone, _) = h.record("thread:9");
    drop(gone); // subscribed and dropped in the same tick: never on the wire
    assert!(
        h.take_sent().is_empty(),
        "nothing goes out before the end of the tick"
    );
    h.end_tick();
    let sent = h.take_sent_app();
    assert_eq!(sent.len(), 1);
    let (topics, _, _) = subscribe_parts(&sent[0]);
    assert_eq!(topics.len(), 50);
    assert!(!topics.contains(&"thread:9".to_string()));
    drop(subs);
    h.end_tick();
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert!(
        matches!(Control::parse(&sent[0]), Some(Ok(Control::Unsubscribe(u))) if u.topics.len() == 50)
    );
}

#[test]
fn unsubscribe_goes_out_only_with_the_last_handler() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let (first, _) = h.record("agent:1");
    let (second, seen) = h.record("agent:1");
    h.end_tick();
    assert_eq!(h.take_sent_app().len(), 1, "one subscribe for two handlers");
    drop(first);
    h.end_tick();
    assert!(h.take_sent().is_empty());
    h.event(1, 1);
    assert_eq!(
        *seen.borrow(),
        [Some(1)],
        "the remaining handler still receives"
    );
    drop(second);
    h.end_tick();
    let sent = h.take_sent();
    assert!(
        matches!(&sent[..], [f] if matches!(Control::parse(f), Some(Ok(Control::Unsubscribe(u))) if u.topics == [topic("agent:1")]))
    );
    assert_eq!(h.app.topics.total_handlers(), 0);
}

#[test]
fn every_reopen_resubscribes_all_topics_in_one_frame_with_since() {
    let mut h = Harness::new(config());
    let subs: Vec<_> = ["agent:1", "agent:2", "thread:3"]
        .iter()
        .map(|t| h.record(t))
        .collect();
    h.client().connect();
    h.open_raw();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.ack(&mid, &[("agent:1", 10), ("agent:2", 0), ("thread:3", 5)]);
    h.event(1, 11);
    h.event(1, 12);
    for round in 0..3 {
        h.server_closes(1012);
        h.until_retry();
        h.open();
        let sent = h.take_sent_app();
        assert_eq!(sent.len(), 1, "round {round}: {sent:?}");
        let (topics, since, _) = subscribe_parts(&sent[0]);
        assert_eq!(topics, ["agent:1", "agent:2", "thread:3"]);
        let since = since.unwrap();
        assert_eq!(since["agent:1"], 12);
        assert_eq!(since["agent:2"], 0);
        assert_eq!(since["thread:3"], 5);
    }
    drop(subs);
}

#[test]
fn a_huge_resubscribe_is_split_only_to_stay_under_the_frame_limit() {
    let mut cfg = config();
    cfg.max_frame_bytes = 4096;
    let mut h = Harness::new(cfg);
    let subs: Vec<_> = (1..=1000u64)
        .map(|i| h.record(&format!("agent:{i}")))
        .collect();
    h.connect_and_open();
    let sent = h.take_sent_app();
    assert!(sent.len() > 1);
    let mut all = Vec::new();
    for f in &sent {
        assert!(f.encode().len() <= 4096);
        all.extend(subscribe_parts(f).0);
    }
    assert_eq!(all.len(), 1000);
    drop(subs);
}

#[test]
fn thousand_topics_fit_one_frame_at_the_default_limit() {
    let mut h = Harness::new(config());
    let subs: Vec<_> = (1..=1000u64)
        .map(|i| h.record(&format!("agent:{i}")))
        .collect();
    h.connect_and_open();
    assert_eq!(h.take_sent_app().len(), 1);
    drop(subs);
}

#[test]
fn duplicates_by_seq_are_dropped_and_gaps_counted() {
    let mut h = Harness::new(config());
    let (_s, seen) = h.record("agent:1");
    h.client().connect();
    h.open_raw();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.ack(&mid, &[("agent:1", 4)]);
    for seq in [3, 4, 5, 5, 6, 2, 9, 8, 10] {
        h.event(1, seq);
    }
    assert_eq!(*seen.borrow(), [Some(5), Some(6), Some(9), Some(10)]);
    let c = h.client().metrics().counters;
    assert_eq!(c.duplicates_dropped, 5);
    assert_eq!(c.seq_gaps, 1, "6 -> 9 skipped two");
    assert_eq!(c.events_delivered, 4);
}

#[test]
fn each_handler_is_told_subscribed_once_first_with_its_start_point() {
    let mut h = Harness::new(config());
    let (_a, a) = h.record_all("agent:1");
    h.client().connect();
    h.open_raw();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.ack(&mid, &[("agent:1", 7)]);
    h.event(1, 8);
    let (_b, b) = h.record_all("agent:1"); // joins an active topic
    h.event(1, 9);
    h.server_closes(1006);
    h.until_retry();
    h.open(); // resubscribed from 9: acknowledged again
    h.event(1, 10);
    assert_eq!(
        *a.borrow(),
        [
            "subscribed@7",
            "agent_updated@8",
            "agent_updated@9",
            "agent_updated@10"
        ]
    );
    assert_eq!(
        *b.borrow(),
        ["subscribed@8", "agent_updated@9", "agent_updated@10"]
    );
}

#[test]
fn a_handler_added_back_in_the_tick_its_topic_was_dropped_is_told_subscribed() {
    let mut h = Harness::new(config());
    let (a, _) = h.record("agent:1");
    h.connect_and_open();
    drop(a);
    let (_b, b) = h.record_all("agent:1"); // same tick: nothing goes on the wire
    h.end_tick();
    assert!(h.take_sent_app().iter().all(|f| f.kind != "unsubscribe"));
    assert_eq!(*b.borrow(), ["subscribed@0"]);
}

#[test]
fn statuses_follow_ack_and_error_and_reset_on_reconnect() {
    let mut h = Harness::new(config());
    let (_a, _) = h.record("agent:1");
    let (_b, b_seen) = h.record_all("agent:2");
    assert_eq!(
        h.app.topics.status(&topic("agent:1")),
        Some(TopicStatus::Pending)
    );
    h.client().connect();
    h.open_raw();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.server_sends(
        &serde_json::json!({"v":1,"type":"subscribe_error","topic":"system","ts":0,
        "data":{"message_id":mid,"topic":"agent:2","error":"not yours","error_code":"FORBIDDEN"}})
        .to_string(),
    );
    h.ack(&mid, &[("agent:1", 0)]);
    assert_eq!(
        h.app.topics.status(&topic("agent:1")),
        Some(TopicStatus::Active)
    );
    assert_eq!(
        h.app.topics.status(&topic("agent:2")),
        Some(TopicStatus::Failed {
            code: "FORBIDDEN".into(),
            error: "not yours".into()
        })
    );
    assert_eq!(*b_seen.borrow(), ["refused:FORBIDDEN"]);
    let counts = h.client().metrics().subscriptions;
    assert_eq!((counts.pending, counts.active, counts.failed), (0, 1, 1));
    h.server_closes(1006);
    assert_eq!(
        h.app.topics.status(&topic("agent:1")),
        Some(TopicStatus::Pending)
    );
}

#[test]
fn resync_required_reaches_handlers_and_moves_the_baseline() {
    let mut h = Harness::new(config());
    let (_s, seen) = h.record_all("agent:1");
    h.client().connect();
    h.open_raw();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.ack(&mid, &[("agent:1", 10)]);
    h.server_sends(r#"{"v":1,"type":"resync_required","topic":"agent:1","ts":0,"data":{"topic":"agent:1","seq":2000}}"#);
    h.event(1, 1999);
    h.event(1, 2001);
    assert_eq!(
        *seen.borrow(),
        ["subscribed@10", "resync@2000", "agent_updated@2001"]
    );
    assert_eq!(h.client().metrics().counters.resyncs, 1);
}

/// A `resync_required` naming another epoch than the topic's says the server lost its history
/// (a broker restarted without its data); one in the same epoch (events evicted) does not.
#[test]
fn a_resync_naming_a_new_epoch_says_the_history_was_lost() {
    let mut h = Harness::new(config());
    let lost = Rc::new(RefCell::new(Vec::new()));
    let sink = lost.clone();
    let _s = h
        .app
        .topics
        .subscribe(topic("agent:1"), move |e: &TopicEvent| {
            if let TopicEvent::ResyncRequired { history_lost, .. } = e {
                sink.borrow_mut().push(*history_lost);
            }
        });
    h.client().connect();
    h.open_raw();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.server_sends(&format!(
        r#"{{"v":1,"type":"subscribe_ack","topic":"system","ts":0,"data":{{"message_id":"{mid}","topics":["agent:1"],"seqs":{{"agent:1":10}},"epoch":"e1"}}}}"#
    ));
    let resync = |seq: u64, epoch: &str| {
        format!(
            r#"{{"v":1,"type":"resync_required","topic":"agent:1","ts":0,"data":{{"topic":"agent:1","seq":{seq},"epoch":"{epoch}"}}}}"#
        )
    };
    h.server_sends(&resync(20, "e1"));
    h.server_sends(&resync(0, "e2"));
    h.server_sends(&resync(5, "e2"));
    assert_eq!(*lost.borrow(), [false, true, false]);
}

#[test]
fn only_a_server_whose_seq_went_backwards_triggers_a_resync() {
    for (server_seq, resync) in [(50, false), (60, false), (3, true)] {
        let mut h = Harness::new(config());
        let (_s, seen) = h.record_all("agent:1");
        h.client().connect();
        h.open_raw();
        let (_, _, mid) = first_subscribe(&h.take_sent());
        h.ack(&mid, &[("agent:1", 50)]);
        h.server_closes(1012);
        h.until_retry();
        h.open_raw();
        let (_, since, mid) = first_subscribe(&h.take_sent());
        assert_eq!(since.unwrap()["agent:1"], 50);
        h.ack(&mid, &[("agent:1", server_seq)]);
        let resyncs = seen
            .borrow()
            .iter()
            .filter(|e| e.starts_with("resync"))
            .count();
        assert_eq!(
            resyncs,
            usize::from(resync),
            "server at {server_seq}: {:?}",
            seen.borrow()
        );
    }
}

#[test]
fn malformed_frames_are_counted_reported_and_survived() {
    let mut h = Harness::new(config());
    let (_s, seen) = h.record("agent:1");
    h.connect_and_open();
    let errors = std::rc::Rc::new(std::cell::Cell::new(0));
    let count = errors.clone();
    let _g = h.client().on_error(move |_| count.set(count.get() + 1));
    for bad in [
        "{",
        "null",
        r#"{"v":9,"type":"x"}"#,
        r#"{"v":"1","type":"x"}"#,
        r#"{"v":1,"type":"subscribe_ack","topic":"system","data":{"topics":5}}"#,
    ] {
        h.server_sends(bad);
    }
    h.driver
        .handle_socket_binary(h.socket(), &[0xff, 0xfe, 0x00]);
    h.server_sends(r#"{"v":1,"type":"from_the_future","topic":"agent:1","ts":0,"data":{"x":1}}"#);
    h.driver
        .handle_socket_binary(h.socket(), agent_event(1, 1).as_bytes());
    assert_eq!(h.client().metrics().counters.malformed_frames, 6);
    assert_eq!(errors.get(), 6);
    assert_eq!(
        *seen.borrow(),
        [None, Some(1)],
        "an unknown type and a UTF-8 binary frame are delivered, not malformed"
    );
    assert_eq!(h.state(), tether_client::ConnectionState::Open);
}

#[test]
fn events_for_topics_nobody_holds_are_counted_not_delivered() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.event(7, 1);
    assert_eq!(h.client().metrics().counters.events_unrouted, 1);
    let _unused: Envelope = chat(0);
}

#[test]
fn a_server_that_acknowledged_gets_no_barrier_ping_and_keeps_offering_replay() {
    let mut h = Harness::new(config());
    let (_a, _) = h.record("agent:1");
    h.connect_and_open();
    assert_eq!(
        h.client().metrics().replay,
        tether_client::Replay::Offered,
        "acknowledged, then its pong: still a server that acknowledges"
    );
    h.take_sent();
    let (_b, _) = h.record("agent:2");
    h.end_tick();
    assert_eq!(h.take_sent_kinds(), ["subscribe"], "no ping after it");
}

#[test]
fn every_subscribe_has_its_own_message_id() {
    let mut h = Harness::new(config());
    let (_a, _) = h.record("agent:1");
    h.connect_and_open();
    let mut ids = Vec::new();
    for n in 2..5 {
        h.take_sent();
        let (_v, _) = h.record(&format!("agent:{n}"));
        h.end_tick();
        for f in h.take_sent().iter().filter(|f| f.kind == "subscribe") {
            let data: serde_json::Value = f.data().unwrap();
            ids.push(data["message_id"].as_str().unwrap().to_owned());
        }
    }
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 3, "{ids:?}");
    assert!(ids.iter().all(|i| !i.is_empty()));
}

#[test]
fn a_subscribe_wakes_an_idle_connection() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.server_closes(1000);
    assert_eq!(
        h.state(),
        tether_client::ConnectionState::Idle,
        "nothing held"
    );
    let (_v, _) = h.record("agent:1");
    h.end_tick();
    assert_eq!(h.opened_sockets().len(), 2, "a new attempt");
}

#[test]
fn a_server_that_acknowledged_on_an_earlier_socket_gets_no_barrier_ping_on_the_next() {
    let mut h = Harness::new(config());
    let (_a, _) = h.record("agent:1");
    h.connect_and_open();
    h.server_closes(1006);
    h.until_retry();
    h.open_raw(); // the new socket opens; the server has not acknowledged on it yet
    h.take_sent();
    let (_b, _) = h.record("agent:2");
    h.end_tick();
    assert_eq!(
        h.take_sent_kinds(),
        ["subscribe"],
        "trusted to acknowledge again: no barrier ping"
    );
}
