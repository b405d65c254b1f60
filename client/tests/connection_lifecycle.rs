//! Connecting, the close-code table, backoff and its reset rule, `close()`, tokens and the
//! browser's online/offline/visibility/pageshow events, all on a fake clock.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use support::*;
use tether::core::{ClientError, ConnectionState, Millis};

fn reconnecting(h: &Harness) -> (u32, u64) {
    match h.state() {
        ConnectionState::Reconnecting { attempt, retry_at } => (attempt, retry_at.0 - h.now()),
        other => panic!("expected Reconnecting, got {other:?}"),
    }
}

#[test]
fn connect_opens_one_socket_and_reports_states() {
    let mut h = Harness::new(config());
    assert_eq!(h.state(), ConnectionState::Idle);
    h.connect_and_open();
    assert_eq!(h.state(), ConnectionState::Open);
    assert_eq!(h.opened_sockets().len(), 1);
    assert_eq!(
        *h.states.borrow(),
        [ConnectionState::Connecting, ConnectionState::Open]
    );
    h.client().connect();
    assert_eq!(
        h.opened_sockets().len(),
        1,
        "connect() while open does nothing"
    );
}

#[test]
fn close_code_table() {
    // (code, held topics?, expected state after the close)
    let retry = |s: ConnectionState| matches!(s, ConnectionState::Reconnecting { .. });
    type Expect = fn(ConnectionState) -> bool;
    let cases: [(u16, bool, Expect); 12] = [
        (4401, true, |s| s == ConnectionState::AuthFailed),
        (4403, true, retry),
        (1000, true, retry),
        (1000, false, |s| s == ConnectionState::Idle),
        (1001, true, retry),
        (1006, true, retry),
        (1011, true, retry),
        (1012, true, retry),
        (4408, true, retry),
        (1008, true, retry),
        (1009, true, retry),
        (4999, true, retry),
    ];
    for (code, held, expect) in cases {
        let mut h = Harness::new(config());
        let _sub = held.then(|| h.record("agent:1"));
        h.connect_and_open();
        let errors = Rc::new(Cell::new(0));
        let count = errors.clone();
        let _g = h.client().on_error(move |e| {
            if matches!(e, ClientError::ServerClosed { .. }) {
                count.set(count.get() + 1)
            }
        });
        h.server_closes(code);
        assert!(
            expect(h.state()),
            "close {code} (held {held}) gave {:?}",
            h.state()
        );
        let reported = if matches!(code, 1008 | 1009) { 1 } else { 0 };
        assert_eq!(errors.get(), reported, "close {code} reports");
        h.advance(60_000);
        let sockets = h.opened_sockets().len();
        match h.state() {
            ConnectionState::AuthFailed | ConnectionState::Idle => {
                assert_eq!(sockets, 1, "close {code}: no retry")
            }
            _ => assert!(sockets >= 2, "close {code}: retried"),
        }
    }
}

#[test]
fn backoff_grows_with_full_jitter_and_no_attempt_cap() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.server_closes(1006);
    let mut ceilings = Vec::new();
    for expected_attempt in 1..=40u32 {
        let (attempt, delay) = reconnecting(&h);
        assert_eq!(attempt, expected_attempt);
        let ceiling = (500u64 << (attempt - 1).min(20)).min(30_000);
        assert!(delay <= ceiling, "attempt {attempt}: {delay} > {ceiling}");
        ceilings.push(ceiling);
        h.advance(delay);
        assert_eq!(h.state(), ConnectionState::Connecting);
        h.server_closes(1006); // The attempt fails.
    }
    assert_eq!(h.opened_sockets().len(), 41, "it never gives up");
}

#[test]
fn attempt_counter_resets_only_after_a_stable_period() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    for _ in 0..4 {
        h.server_closes(1006);
        let (_, delay) = reconnecting(&h);
        h.advance(delay);
        h.open();
        h.advance_alive(1_000); // open for less than stable_after (2 s): a flapping server
    }
    h.server_closes(1006);
    assert_eq!(reconnecting(&h).0, 5, "flapping keeps counting");
    let (_, delay) = reconnecting(&h);
    h.advance(delay);
    h.open();
    h.advance_alive(2_500); // stable
    h.server_closes(1006);
    assert_eq!(
        reconnecting(&h).0,
        1,
        "a stable connection resets the counter"
    );
}

#[test]
fn close_never_reconnects_and_ignores_late_socket_events() {
    let mut h = Harness::new(config());
    let _sub = h.record("agent:1");
    h.connect_and_open();
    let socket = h.socket();
    h.client().close();
    assert_eq!(h.state(), ConnectionState::Closed);
    assert!(h.calls().contains(&Call::Close(socket, 1000)));
    h.client().handle_socket_closed(socket, 1006, "late");
    h.advance(600_000);
    h.client().handle_online(true);
    h.client().handle_visibility(true);
    assert_eq!(h.opened_sockets().len(), 1);
    assert_eq!(h.state(), ConnectionState::Closed);
    assert_eq!(h.timer(), None, "no timer outlives close()");
}

#[test]
fn token_provider_runs_on_every_attempt_and_4401_waits_for_reconnect() {
    let token = Rc::new(std::cell::RefCell::new("old".to_owned()));
    let provider = token.clone();
    let mut h = Harness::new(config().with_token(move || Some(provider.borrow().clone())));
    h.connect_and_open();
    assert!(h.last_url().ends_with("?token=old"));
    h.server_closes(4401);
    assert_eq!(h.state(), ConnectionState::AuthFailed);
    h.advance(120_000);
    assert_eq!(h.opened_sockets().len(), 1, "no retry storm after 4401");
    *token.borrow_mut() = "fresh".into();
    h.client().reconnect();
    assert!(h.last_url().ends_with("?token=fresh"));
    h.open();
    assert_eq!(h.state(), ConnectionState::Open);
}

#[test]
fn a_socket_that_never_opens_times_out_and_is_retried() {
    let h = Harness::new(config());
    h.client().connect();
    let first = h.socket();
    h.advance(3_000);
    assert!(h.calls().contains(&Call::Close(first, 4000)));
    assert!(matches!(h.state(), ConnectionState::Reconnecting { .. }));
    h.client().handle_socket_opened(first); // Too late: ignored.
    assert_ne!(h.state(), ConnectionState::Open);
}

#[test]
fn offline_stops_the_retry_loop_and_online_reconnects_now() {
    let mut h = Harness::new(config());
    let _sub = h.record("agent:1");
    h.connect_and_open();
    h.server_closes(1006);
    h.client().handle_online(false);
    assert_eq!(h.state(), ConnectionState::Offline);
    h.advance(300_000);
    assert_eq!(h.opened_sockets().len(), 1, "no retry loop while offline");
    h.client().handle_online(true);
    assert_eq!(h.state(), ConnectionState::Connecting);
    assert_eq!(h.opened_sockets().len(), 2);
}

#[test]
fn offline_while_open_checks_liveness_instead_of_dropping_a_working_socket() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    h.client().handle_online(false);
    assert_eq!(h.state(), ConnectionState::Open);
    assert!(matches!(
        h.take_sent()[0].msg,
        tether::protocol::ClientMessage::Ping(_)
    ));
    h.advance(500);
    assert_eq!(
        h.state(),
        ConnectionState::Offline,
        "it died silently: no retry while offline"
    );
}

#[test]
fn becoming_visible_while_reconnecting_retries_now() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    for _ in 0..6 {
        h.server_closes(1006);
        let (_, delay) = reconnecting(&h);
        h.advance(delay);
    }
    h.server_closes(1006);
    let before = h.opened_sockets().len();
    h.client().handle_visibility(false);
    assert_eq!(h.opened_sockets().len(), before);
    h.client().handle_visibility(true);
    assert_eq!(h.opened_sockets().len(), before + 1);
    assert_eq!(h.state(), ConnectionState::Connecting);
}

#[test]
fn pageshow_from_bfcache_checks_liveness() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    h.client().handle_pageshow(false);
    assert!(h.take_sent().is_empty());
    h.client().handle_pageshow(true);
    assert!(matches!(
        h.take_sent()[0].msg,
        tether::protocol::ClientMessage::Ping(_)
    ));
    h.advance(499);
    assert_eq!(h.state(), ConnectionState::Open);
    h.advance(1);
    assert_eq!(
        h.state(),
        ConnectionState::Connecting,
        "no answer within the pong timeout: replaced"
    );
}

#[test]
fn metrics_count_reconnects_and_uptime() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.advance(700);
    assert_eq!(h.client().metrics().uptime, Some(Millis(700)));
    h.server_closes(1012);
    let (_, delay) = reconnecting(&h);
    h.advance(delay);
    h.open();
    let m = h.client().metrics();
    assert_eq!(m.counters.reconnects, 1);
    assert_eq!(m.state, ConnectionState::Open);
    assert_eq!(m.uptime, Some(Millis(0)));
}
