//! Each tab's cursor: where an acknowledgement starts it, what a rewind replays to whom, what
//! is held back until the answer, and the pongs that wait for it.

use super::*;

#[test]
fn a_subscribe_holds_each_topic_once_upstream_from_the_tabs_since() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    let out = subscribe(
        &mut hub,
        A,
        &[("t", Some(4)), ("u", None), ("t", Some(4))],
        &up,
    );
    let held: Vec<(String, Option<u64>)> = out
        .iter()
        .filter_map(|o| match o {
            HubOutput::Subscribe {
                tab: A,
                socket: 12,
                topic,
                since,
            } => Some((topic.as_str().to_owned(), *since)),
            _ => None,
        })
        .collect();
    assert_eq!(held, [("t".into(), Some(4)), ("u".into(), None)]);
    assert!(
        to(A, &out).is_empty(),
        "nothing is answered before the real client is"
    );
}

/// One row: (since, server's seq, last seq, the answer's seq, the seq acked).
type Row = (
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
);

/// Where the acknowledgement starts a tab: (its `since`, the server's acknowledged `seq`, the
/// real client's last `seq`, the `seq` the real client's answer carries) → the `seq` acked.
#[test]
fn the_acknowledgement_starts_each_tab_at_its_own_since_unless_the_server_is_behind() {
    let table: [Row; 6] = [
        (None, None, None, Some(9), Some(9)), // a new tab starts where the upstream is
        (None, Some(3), Some(9), None, None), // … also when it is nowhere
        (Some(5), Some(9), None, Some(9), Some(5)), // behind: continues from its own since
        (Some(5), None, None, Some(9), Some(5)), // the server's seq unknown: its own since
        (Some(10), Some(3), None, Some(3), Some(3)), // ahead (history lost): the server's
        (Some(10), Some(3), Some(12), Some(3), Some(10)), // the last event since counts too
    ];
    for (since, server, last, answer, acked) in table {
        let mut up = Fake::default();
        up.server_seq.extend(server.map(|s| ("t".to_owned(), s)));
        up.last_seq.extend(last.map(|s| ("t".to_owned(), s)));
        let mut hub = hub_with(&[A], &up);
        subscribe(&mut hub, A, &[("t", since)], &up);
        let out = on(&mut hub, A, "t", subscribed("t", answer), &up);
        assert_eq!(
            to(A, &out),
            [ack("t", acked)],
            "since {since:?} server {server:?}"
        );
    }
}

#[test]
fn the_acknowledgement_passes_the_topics_epoch() {
    let up = Fake {
        epoch: Some("e7".into()),
        ..Fake::default()
    };
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    let out = on(&mut hub, A, "t", subscribed("t", Some(2)), &up);
    let want = write::subscribe_ack(0, Some("m1"), &["t"], &[("t", 2)], Some("e7"));
    assert_eq!(to(A, &out), [want]);
}

#[test]
fn events_before_a_tabs_acknowledgement_are_held_back_then_only_those_after_its_cursor_pass() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", Some(5))], &up);
    // A live event that overtook the replay the tab asked for: not passed before the answer.
    assert!(to(A, &on(&mut hub, A, "t", event("t", Some(9)), &up)).is_empty());
    on(&mut hub, A, "t", subscribed("t", Some(9)), &up);
    let mut seqs = Vec::new();
    for seq in [4, 5, 6, 7, 7, 8, 9, 10] {
        let out = on(&mut hub, A, "t", event("t", Some(seq)), &up);
        seqs.extend(kinds(A, &out).into_iter().map(|(_, s)| s.unwrap()));
    }
    assert_eq!(
        seqs,
        [6, 7, 8, 9, 10],
        "from its cursor, each once, in order"
    );
}

/// The real client subscribes again after each reconnect: the tab, which asked once, is
/// acknowledged once, and its cursor keeps the events it has from coming twice.
#[test]
fn the_real_clients_resubscribe_is_not_acknowledged_to_the_tab_again() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    let first = on(&mut hub, A, "t", subscribed("t", Some(3)), &up);
    assert_eq!(to(A, &first), [ack("t", Some(3))]);
    on(&mut hub, A, "t", event("t", Some(4)), &up);
    let again = on(&mut hub, A, "t", subscribed("t", Some(4)), &up);
    assert!(to(A, &again).is_empty(), "acknowledged once: {again:?}");
    let mut seqs = Vec::new();
    for seq in [4, 5] {
        let out = on(&mut hub, A, "t", event("t", Some(seq)), &up);
        seqs.extend(kinds(A, &out).into_iter().map(|(_, s)| s));
    }
    assert_eq!(seqs, [Some(5)], "4 came before the resubscribe");
}

/// An event the real client raised for a tab's earlier virtual socket reaches no one: the
/// tab's new socket has its own subscriptions.
#[test]
fn an_event_for_a_tabs_earlier_socket_is_not_delivered() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    on(&mut hub, A, "t", subscribed("t", Some(3)), &up);
    hub.handle_topic_event(A, 99, &Topic::new("t"), &event("t", Some(4)), &up);
    assert!(to(A, &drain(&mut hub)).is_empty(), "socket 99 is not A's");
    let out = on(&mut hub, A, "t", event("t", Some(4)), &up);
    assert_eq!(kinds(A, &out), [("ev".to_owned(), Some(4))]);
}

#[test]
fn a_rewind_for_one_tab_replays_to_it_alone() {
    let up = Fake::default();
    let mut hub = hub_with(&[A, B], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    on(&mut hub, A, "t", subscribed("t", Some(8)), &up);
    // B was behind when it came to this leader: the server replays 6.. to every holder.
    subscribe(&mut hub, B, &[("t", Some(5))], &up);
    on(&mut hub, B, "t", subscribed("t", Some(8)), &up);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for seq in [6, 7, 8, 9] {
        a.extend(kinds(A, &on(&mut hub, A, "t", event("t", Some(seq)), &up)));
        b.extend(kinds(B, &on(&mut hub, B, "t", event("t", Some(seq)), &up)));
    }
    let seqs = |v: Vec<(String, Option<u64>)>| v.into_iter().map(|(_, s)| s).collect::<Vec<_>>();
    assert_eq!(seqs(a), [Some(9)], "A had up to 8");
    assert_eq!(seqs(b), [Some(6), Some(7), Some(8), Some(9)]);
}

#[test]
fn events_without_seq_always_pass() {
    let up = Fake {
        replay: Replay::Unknown,
        ..Fake::default()
    };
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    on(&mut hub, A, "t", subscribed("t", None), &up);
    let out = on(&mut hub, A, "t", event("t", None), &up);
    assert_eq!(kinds(A, &out), [("ev".to_owned(), None)]);
    let out = on(&mut hub, A, "t", event("t", None), &up);
    assert_eq!(kinds(A, &out).len(), 1);
    assert!(
        hub.snapshot("t").is_none(),
        "no snapshot from a server that does not number"
    );
}

#[test]
fn a_resync_moves_the_cursor_to_the_servers_seq() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", Some(10))], &up);
    on(&mut hub, A, "t", subscribed("t", Some(10)), &up);
    let resync = TopicEvent::ResyncRequired {
        topic: Topic::new("t"),
        seq: Some(3),
        history_lost: true,
    };
    let out = on(&mut hub, A, "t", resync, &up);
    assert_eq!(to(A, &out), [write::resync_required(0, "t", Some(3), None)]);
    let out = on(&mut hub, A, "t", event("t", Some(4)), &up);
    assert_eq!(
        kinds(A, &out),
        [("ev".to_owned(), Some(4))],
        "4 is after the new cursor"
    );
}

#[test]
fn pongs_wait_for_the_acknowledgements_asked_before_them() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None), ("u", None)], &up);
    assert!(to(A, &ping(&mut hub, A, &up)).is_empty(), "held");
    assert_eq!(
        to(A, &on(&mut hub, A, "t", subscribed("t", Some(1)), &up)),
        [ack("t", Some(1))]
    );
    let out = on(&mut hub, A, "u", subscribed("u", Some(2)), &up);
    assert_eq!(
        to(A, &out),
        [ack("u", Some(2)), pong()],
        "after the last answer"
    );
    let out = ping(&mut hub, A, &up);
    assert_eq!(
        out,
        [HubOutput::PostFromTimer(TabMessage::Deliver {
            to: A,
            socket: 12,
            text: pong()
        })]
    );
}

#[test]
fn pongs_stop_waiting_for_subscribes_cancelled_repeated_or_refused() {
    let up = Fake::default();
    // Cancelled: the unsubscribe's answer, then the pong.
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    ping(&mut hub, A, &up);
    let out = send(&mut hub, A, write::unsubscribe(0, "m2", &["t"]), &up);
    let done = write::unsubscribe_success(0, Some("m2"), &[Topic::new("t")]);
    assert_eq!(to(A, &out), [done, pong()]);
    assert!(out.contains(&release(A, "t")));
    // Repeated: only the latest subscribe's answer counts, once.
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    ping(&mut hub, A, &up);
    let out = on(&mut hub, A, "t", subscribed("t", Some(1)), &up);
    assert_eq!(to(A, &out), [ack("t", Some(1)), pong()]);
    // Listed twice in one subscribe: held once, answered once.
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None), ("t", None)], &up);
    ping(&mut hub, A, &up);
    let out = on(&mut hub, A, "t", subscribed("t", Some(1)), &up);
    assert_eq!(to(A, &out), [ack("t", Some(1)), pong()]);
    // Refused: the refusal is the answer.
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    ping(&mut hub, A, &up);
    let refused = TopicEvent::Refused {
        topic: Topic::new("t"),
        code: "FORBIDDEN".into(),
        error: "no".into(),
    };
    let out = on(&mut hub, A, "t", refused, &up);
    let refusal = write::subscribe_error(0, Some("m1"), "t", "no", "FORBIDDEN");
    assert_eq!(to(A, &out), [refusal, pong()]);
}

#[test]
fn a_topic_the_server_refused_is_refused_to_a_tab_joining_it_at_once() {
    let mut up = Fake::default();
    let failed = TopicStatus::Failed {
        code: "NOT_FOUND".into(),
        error: "gone".into(),
    };
    up.status.insert("t".into(), failed);
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None), ("u", None)], &up);
    hub.handle_upstream_subscribed(A, 12, &Topic::new("t"), &up);
    let out = drain(&mut hub);
    let refusal = write::subscribe_error(0, Some("m1"), "t", "gone", "NOT_FOUND");
    assert_eq!(to(A, &out), [refusal]);
    hub.handle_upstream_subscribed(A, 12, &Topic::new("u"), &up);
    assert!(drain(&mut hub).is_empty(), "u is not refused");
}

#[test]
fn a_tab_joining_an_active_topic_gets_the_snapshot_then_the_events_after_it() {
    let mut up = Fake::default();
    let mut hub = hub_with(&[A, B], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    on(&mut hub, A, "t", subscribed("t", Some(4)), &up);
    up.server_seq.insert("t".into(), 4);
    on(&mut hub, A, "t", event("t", None), &up); // the snapshot, taken at 4
    up.status.insert("t".into(), TopicStatus::Active);
    let out = subscribe(&mut hub, B, &[("t", None)], &up);
    assert!(out.contains(&HubOutput::Subscribe {
        tab: B,
        socket: 13,
        topic: Topic::new("t"),
        since: Some(4)
    }));
    let out = on(&mut hub, B, "t", subscribed("t", Some(6)), &up);
    assert_eq!(
        kinds(B, &out),
        [("subscribe_ack".to_owned(), None), ("ev".to_owned(), None)]
    );
    assert_eq!(to(B, &out)[0], ack("t", Some(4)));
    let out = on(&mut hub, B, "t", event("t", Some(5)), &up);
    assert_eq!(kinds(B, &out), [("ev".to_owned(), Some(5))]);
}

#[test]
fn a_tab_with_its_own_since_or_joining_a_topic_not_active_gets_no_snapshot() {
    let mut up = Fake::default();
    let mut hub = hub_with(&[A, B], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    on(&mut hub, A, "t", subscribed("t", Some(4)), &up);
    up.server_seq.insert("t".into(), 4);
    on(&mut hub, A, "t", event("t", None), &up);
    let since = |out: &[HubOutput]| {
        out.iter().find_map(|o| match o {
            HubOutput::Subscribe { since, .. } => Some(*since),
            _ => None,
        })
    };
    let out = subscribe(&mut hub, B, &[("t", None)], &up);
    assert_eq!(since(&out), Some(None), "pending upstream: no snapshot");
    up.status.insert("t".into(), TopicStatus::Active);
    let out = subscribe(&mut hub, B, &[("t", Some(2))], &up);
    assert_eq!(since(&out), Some(Some(2)));
    let out = on(&mut hub, B, "t", subscribed("t", Some(6)), &up);
    assert_eq!(to(B, &out), [ack("t", Some(2))]);
}

#[test]
fn snapshots_of_topics_no_tab_holds_are_forgotten() {
    let mut up = Fake::default();
    let mut hub = hub_with(&[A, B], &up);
    for tab in [A, B] {
        subscribe(&mut hub, tab, &[("t", None)], &up);
        on(&mut hub, tab, "t", subscribed("t", Some(4)), &up);
    }
    up.server_seq.insert("t".into(), 4);
    for tab in [A, B] {
        on(&mut hub, tab, "t", event("t", None), &up); // the real client calls each tab's
    }
    send(&mut hub, A, write::unsubscribe(0, "m2", &["t"]), &up);
    assert!(hub.snapshot("t").is_some(), "B holds it");
    hub.handle_tab_gone(B, &up);
    assert!(hub.snapshot("t").is_none());
}

#[test]
fn requests_go_up_under_the_tabs_prefix_and_replies_come_back_to_it_alone() {
    let up = Fake::default();
    let mut hub = hub_with(&[A, B], &up);
    let request = "{\"v\":1,\"type\":\"send_message\",\"topic\":\"system\",\"req_id\":\"r1\",\"ts\":5,\"data\":{}}";
    let out = send(&mut hub, A, request.into(), &up);
    let [HubOutput::SendUp {
        tab: A,
        socket: 12,
        text,
        req_id,
    }] = &out[..]
    else {
        panic!("{out:?}");
    };
    assert_eq!(req_id.as_deref(), Some("r1"));
    let up_frame = Frame::decode(text).unwrap();
    assert_eq!((up_frame.req_id(), up_frame.ts), (Some("t2.r1"), 5));
    let reply = Rc::new(Frame::decode(&text.replace("send_message", "ok")).unwrap());
    hub.handle_relay(&reply);
    let out = drain(&mut hub);
    assert_eq!(to(B, &out), Vec::<String>::new());
    let down = Frame::decode(&to(A, &out)[0]).unwrap();
    assert_eq!((down.kind(), down.req_id()), ("ok", Some("r1")));
    // A reply to a tab that is gone, or with another prefix, goes nowhere.
    for id in ["t9.r1", "x2.r1", "t2r1"] {
        let text = format!("{{\"v\":1,\"type\":\"ok\",\"topic\":\"system\",\"req_id\":\"{id}\",\"ts\":0,\"data\":{{}}}}");
        hub.handle_relay(&Rc::new(Frame::decode(&text).unwrap()));
        assert!(drain(&mut hub).is_empty(), "{id}");
    }
}

#[test]
fn a_request_not_sent_is_answered_with_an_error_and_a_tab_sees_no_echo_of_its_own_reply() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    hub.handle_not_sent(A, 12, Some("r1"), &SendError::Closed);
    let error = write::error(0, Some("r1"), "NOT_SENT", "client closed");
    assert_eq!(to(A, &drain(&mut hub)), [error]);
    hub.handle_not_sent(A, 12, None, &SendError::Closed);
    assert!(drain(&mut hub).is_empty(), "no id, no answer");
    subscribe(&mut hub, A, &[("t", None)], &up);
    on(&mut hub, A, "t", subscribed("t", Some(1)), &up);
    let echo = "{\"v\":1,\"type\":\"ev\",\"topic\":\"t\",\"req_id\":\"t2.r1\",\"ts\":0,\"seq\":2,\"data\":{}}";
    let e = TopicEvent::Message(Rc::new(Frame::decode(echo).unwrap()));
    assert!(to(A, &on(&mut hub, A, "t", e, &up)).is_empty());
    let out = on(&mut hub, A, "t", event("t", Some(2)), &up);
    assert!(
        to(A, &out).is_empty(),
        "its cursor moved past 2 with the echo"
    );
}

#[test]
fn only_an_event_without_seq_from_a_numbering_server_is_kept_as_the_snapshot() {
    let mut up = Fake::default();
    up.server_seq.insert("t".into(), 4);
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    on(&mut hub, A, "t", subscribed("t", Some(4)), &up);
    on(&mut hub, A, "t", event("t", Some(5)), &up);
    assert!(
        hub.snapshot("t").is_none(),
        "an event with a seq is no snapshot"
    );
    on(&mut hub, A, "t", event("t", None), &up);
    assert!(hub.snapshot("t").is_some());
}
