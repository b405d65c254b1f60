//! The tabs' virtual sockets: opened while the real one is, watched, closed with it, gone
//! when their tab goes, and the status the tabs are told.

use super::*;

#[test]
fn a_tab_opening_while_the_real_socket_is_up_is_watched_opened_and_counted() {
    let up = Fake::default();
    let mut hub = HubCore::new(LEADER);
    open(&mut hub, A, &up);
    let out = drain(&mut hub);
    assert_eq!(out[..2], [HubOutput::Watch(A), opened(A)]);
    assert_eq!(statuses(&out), [(ConnectionState::Open, 2)]);
    // The leader's own client is not watched, nor counted twice.
    open(&mut hub, LEADER, &up);
    let out = drain(&mut hub);
    assert_eq!(out[0], opened(LEADER));
    assert_eq!(statuses(&out), [(ConnectionState::Open, 2)]);
}

#[test]
fn a_tab_opening_while_the_real_socket_is_down_waits_for_it() {
    let mut up = Fake {
        state: ConnectionState::Connecting,
        ..Fake::default()
    };
    let mut hub = HubCore::new(LEADER);
    open(&mut hub, A, &up);
    let out = drain(&mut hub);
    assert_eq!(out[0], HubOutput::Watch(A));
    assert!(!out.contains(&opened(A)));
    assert_eq!(
        statuses(&out),
        [(ConnectionState::Connecting, 2)],
        "counted while it waits"
    );
    // A frame meanwhile is answered with a close: the tab is not connected here yet.
    let out = subscribe(&mut hub, A, &[("t", None)], &up);
    assert_eq!(out, [closed(A, CloseCode::RESTART)]);
    up.state = ConnectionState::Open;
    hub.handle_upstream_state(ConnectionState::Open, &up);
    let out = drain(&mut hub);
    assert_eq!(out[0], opened(A));
}

#[test]
fn an_open_asked_again_is_answered_again_and_loses_nothing() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    open(&mut hub, A, &up);
    assert_eq!(drain(&mut hub), [opened(A)]);
    // Asked again while the real socket is down: nothing yet.
    let down = Fake {
        state: ConnectionState::Connecting,
        ..Fake::default()
    };
    let mut hub = HubCore::new(LEADER);
    open(&mut hub, A, &down);
    drain(&mut hub);
    open(&mut hub, A, &down);
    assert!(drain(&mut hub).is_empty());
}

#[test]
fn a_new_socket_of_the_same_tab_replaces_the_old_and_releases_its_topics() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    hub.handle_message(
        TabMessage::Open {
            from: A,
            socket: 99,
        },
        &up,
    );
    let out = drain(&mut hub);
    assert_eq!(out[0], release(A, "t"), "not watched twice");
    let reopened = TabMessage::Opened {
        to: A,
        socket: 99,
        leader: LEADER,
    };
    assert_eq!(out[1], HubOutput::Post(reopened));
}

/// The real socket's state → the code each open tab's socket closes with (none: stays).
#[test]
fn the_virtual_sockets_close_with_the_real_one() {
    let table = [
        (ConnectionState::Offline, Some(CloseCode::RESTART)),
        (ConnectionState::Closed, Some(CloseCode::RESTART)),
        (ConnectionState::Idle, Some(CloseCode::RESTART)),
        (ConnectionState::AuthFailed, Some(CloseCode::UNAUTHORIZED)),
        (ConnectionState::Connecting, None),
        (ConnectionState::Open, None),
    ];
    for (state, code) in table {
        let mut up = Fake::default();
        let mut hub = hub_with(&[A], &up);
        subscribe(&mut hub, A, &[("t", None)], &up);
        up.state = state;
        hub.handle_upstream_state(state, &up);
        let out = drain(&mut hub);
        match code {
            Some(code) => {
                assert_eq!(out[..2], [release(A, "t"), closed(A, code)], "{state:?}");
                assert_eq!(statuses(&out), [(state, 2)], "still counted: it waits");
            }
            None => assert_eq!(statuses(&out), [(state, 2)], "{state:?}"),
        }
    }
    let mut hub = hub_with(&[A], &Fake::default());
    let reconnecting = ConnectionState::Reconnecting {
        attempt: 1,
        retry_at: crate::core::Instant(5),
    };
    hub.handle_upstream_state(reconnecting, &Fake::default());
    assert!(drain(&mut hub).contains(&closed(A, CloseCode::RESTART)));
}

#[test]
fn a_tab_that_closes_its_socket_loses_its_topics_but_is_still_watched() {
    let up = Fake::default();
    let mut hub = hub_with(&[A, B], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    // A close of another socket of the tab changes nothing.
    hub.handle_message(
        TabMessage::Close {
            from: A,
            socket: 99,
        },
        &up,
    );
    assert_eq!(statuses(&drain(&mut hub)), [(ConnectionState::Open, 3)]);
    hub.handle_message(
        TabMessage::Close {
            from: A,
            socket: 12,
        },
        &up,
    );
    let out = drain(&mut hub);
    assert_eq!(out[0], release(A, "t"));
    assert_eq!(statuses(&out), [(ConnectionState::Open, 3)]);
    assert_eq!(hub.tabs(), 3);
}

#[test]
fn a_tab_gone_by_goodbye_or_crash_loses_its_topics_and_its_watch() {
    for crash in [false, true] {
        let up = Fake::default();
        let mut hub = hub_with(&[A, B], &up);
        subscribe(&mut hub, A, &[("t", None), ("u", None)], &up);
        match crash {
            true => hub.handle_tab_gone(A, &up),
            false => hub.handle_message(TabMessage::Bye { from: A }, &up),
        }
        let out = drain(&mut hub);
        assert_eq!(
            out[..3],
            [release(A, "t"), release(A, "u"), HubOutput::Unwatch(A)]
        );
        assert_eq!(statuses(&out), [(ConnectionState::Open, 2)]);
        // Its events go nowhere now.
        assert!(on(&mut hub, A, "t", subscribed("t", Some(1)), &up).is_empty());
        hub.handle_tab_gone(A, &up);
        assert!(!drain(&mut hub).contains(&HubOutput::Unwatch(A)), "once");
    }
}

#[test]
fn closing_all_closes_every_socket_with_the_code_and_stops_watching() {
    let up = Fake::default();
    let mut hub = hub_with(&[LEADER, A], &up);
    subscribe(&mut hub, A, &[("t", None)], &up);
    hub.close_all(CloseCode::GOING_AWAY);
    let out = drain(&mut hub);
    let want = [
        HubOutput::Unwatch(A),
        closed(LEADER, CloseCode::GOING_AWAY),
        release(A, "t"),
        closed(A, CloseCode::GOING_AWAY),
    ];
    assert_eq!(out, want);
    assert_eq!(hub.tabs(), 1);
}

#[test]
fn a_probe_and_a_ping_are_answered_from_a_timer_task() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    hub.handle_message(TabMessage::Probe { from: A }, &up);
    let alive = TabMessage::Alive {
        to: A,
        leader: LEADER,
    };
    assert_eq!(drain(&mut hub), [HubOutput::PostFromTimer(alive)]);
    let out = ping(&mut hub, A, &up);
    assert!(matches!(
        &out[..],
        [HubOutput::PostFromTimer(TabMessage::Deliver { .. })]
    ));
    hub.handle_message(TabMessage::Reconnect { from: A }, &up);
    assert_eq!(drain(&mut hub), [HubOutput::Reconnect]);
}

#[test]
fn the_tabs_are_told_again_when_replay_or_health_changes() {
    let mut up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    assert!(statuses(&ping(&mut hub, A, &up)).is_empty(), "nothing new");
    up.rtt_samples = 1;
    assert_eq!(statuses(&ping(&mut hub, A, &up)).len(), 1, "health");
    assert!(statuses(&ping(&mut hub, A, &up)).is_empty(), "told once");
    up.replay = Replay::NotOffered;
    subscribe(&mut hub, A, &[("t", None)], &up);
    let out = on(&mut hub, A, "t", subscribed("t", None), &up);
    assert_eq!(statuses(&out).len(), 1, "replay, on an acknowledgement");
}

#[test]
fn frames_a_tab_cannot_have_sent_are_dropped() {
    let up = Fake::default();
    let mut hub = hub_with(&[A], &up);
    assert!(send(&mut hub, A, "not json".into(), &up).is_empty());
    let pong = write::heartbeat(kind::PONG, 0, None, None);
    assert!(
        send(&mut hub, A, pong, &up).is_empty(),
        "a control frame only a server sends"
    );
}
