//! Connecting, proving a socket by its first frame, the close codes as the client sees them,
//! backoff and its reset rule, `close()`, tokens and the browser's online/offline/visibility/
//! pageshow events, all on a fake clock. The decision itself is specified by
//! `reconnect_table.rs`.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use support::*;
use tether_client::protocol::CloseCode;
use tether_client::{ClientError, ConnectionState, Instant, Millis};

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
fn a_socket_is_open_only_once_the_server_has_said_something() {
    let mut h = Harness::new(config());
    h.client().connect();
    h.open_raw();
    assert_eq!(h.state(), ConnectionState::Connecting, "open but unproved");
    assert_eq!(
        h.take_sent_kinds(),
        ["ping"],
        "the ping whose answer proves it"
    );
    h.server_sends(r#"{"v":1,"type":"ping","topic":"system","ts":0,"data":{}}"#);
    assert_eq!(h.state(), ConnectionState::Open, "any frame proves it");
}

#[test]
fn a_proxy_that_accepts_and_drops_shows_no_open_and_counts_no_reconnect() {
    let mut cfg = config();
    cfg.queue_timeout = Millis(600_000);
    let mut h = Harness::new(cfg);
    let (_s, _) = h.record("agent:1");
    h.connect_and_open();
    h.client().send(chat(1)).unwrap();
    h.server_closes(1006);
    h.states.borrow_mut().clear();
    for round in 0..5 {
        let (attempt, _) = reconnecting(&h);
        assert_eq!(attempt, round + 1, "the backoff keeps growing");
        h.until_retry();
        h.open_raw(); // the proxy accepts…
        h.server_closes(1006); // …and drops, before any frame
    }
    h.client().send(chat(2)).unwrap();
    assert!(
        h.states
            .borrow()
            .iter()
            .all(|s| *s != ConnectionState::Open),
        "{:?}",
        h.states.borrow()
    );
    let m = h.client().metrics();
    assert_eq!(m.counters.reconnects, 0);
    assert_eq!(m.counters.unproven_sockets, 5);
    assert_eq!(
        m.outbox_len, 1,
        "the queued send was never put on an unproved socket"
    );
    let sent_on_unproved: Vec<String> = h
        .all_sent_texts()
        .into_iter()
        .filter(|t| t.contains("send_message") && t.contains("m2"))
        .collect();
    assert!(sent_on_unproved.is_empty());
    h.until_retry();
    h.open();
    assert_eq!(h.client().metrics().counters.reconnects, 1);
    assert!(h.all_sent_texts().iter().any(|t| t.contains("\"m2\"")));
}

#[test]
fn close_codes_as_the_client_sees_them() {
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
fn a_handshake_refused_with_401_or_403_is_final_and_other_statuses_retry() {
    for (status, final_) in [(401, true), (403, true), (500, false), (404, false)] {
        let h = Harness::new(config());
        h.client().connect();
        h.driver.handle_socket_refused(h.socket(), status);
        if final_ {
            assert_eq!(h.state(), ConnectionState::AuthFailed, "{status}");
            h.advance(120_000);
            assert_eq!(h.opened_sockets().len(), 1, "{status}: no retry storm");
        } else {
            assert!(
                matches!(h.state(), ConnectionState::Reconnecting { .. }),
                "{status}"
            );
        }
    }
}

#[test]
fn backoff_grows_with_full_jitter_and_no_attempt_cap() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.server_closes(1006);
    for expected_attempt in 1..=40u32 {
        let (attempt, delay) = reconnecting(&h);
        assert_eq!(attempt, expected_attempt);
        let ceiling = (500u64 << (attempt - 1).min(20)).min(30_000);
        assert!(delay <= ceiling, "attempt {attempt}: {delay} > {ceiling}");
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
        h.advance_alive(1_000); // up for less than stable_after (2 s): a flapping server
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
    h.driver
        .handle_socket_closed(socket, CloseCode::ABNORMAL, "late");
    h.advance(600_000);
    h.driver.handle_online();
    h.driver.handle_visibility(true);
    assert_eq!(h.opened_sockets().len(), 1);
    assert_eq!(h.state(), ConnectionState::Closed);
    assert_eq!(h.timer(), None, "no timer outlives close()");
}

#[test]
fn token_provider_runs_on_every_attempt_and_4401_waits_for_reconnect() {
    let token = Rc::new(RefCell::new("old".to_owned()));
    let provider = token.clone();
    let mut h = Harness::new(config().with_token(move || Some(provider.borrow().clone())));
    h.connect_and_open();
    assert_eq!(
        h.last_url(),
        "ws://stub/api/ws/v2?tether=1&binary=1&token=old"
    );
    h.server_closes(4401);
    assert_eq!(h.state(), ConnectionState::AuthFailed);
    h.advance(120_000);
    assert_eq!(h.opened_sockets().len(), 1, "no retry storm after 4401");
    *token.borrow_mut() = "fresh".into();
    h.client().reconnect();
    assert!(h.last_url().ends_with("&token=fresh"));
    h.open();
    assert_eq!(h.state(), ConnectionState::Open);
}

#[test]
fn a_token_provider_may_read_and_drive_the_client() {
    let client_slot: Rc<RefCell<Option<tether_client::WsClientV2>>> = Rc::default();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (slot, sink) = (client_slot.clone(), seen.clone());
    let mut h = Harness::new(config().with_token(move || {
        let client = slot.borrow().clone()?;
        sink.borrow_mut().push(client.state());
        let _ = client.metrics();
        Some(format!("t{}", sink.borrow().len()))
    }));
    *client_slot.borrow_mut() = Some(h.client().clone());
    h.connect_and_open();
    h.server_closes(1006);
    h.until_retry();
    assert_eq!(
        *seen.borrow(),
        [ConnectionState::Connecting, ConnectionState::Connecting],
        "asked for each attempt, outside the core: reading the state did not panic"
    );
    assert!(h.last_url().ends_with("token=t2"));
}

#[test]
fn extensions_can_be_turned_off() {
    let mut cfg = config();
    cfg.extensions = false;
    let h = Harness::new(cfg);
    h.client().connect();
    assert_eq!(h.last_url(), "ws://stub/api/ws/v2");
}

#[test]
fn a_socket_that_never_opens_times_out_and_is_retried() {
    let h = Harness::new(config());
    h.client().connect();
    let first = h.socket();
    h.advance(3_000);
    assert!(h.calls().contains(&Call::Close(first, 4000)));
    assert!(matches!(h.state(), ConnectionState::Reconnecting { .. }));
    h.driver.handle_socket_opened(first); // Too late: ignored.
    assert_ne!(h.state(), ConnectionState::Open);
}

#[test]
fn a_socket_that_opens_but_never_speaks_times_out_too() {
    let h = Harness::new(config());
    h.client().connect();
    let first = h.socket();
    h.open_raw();
    h.advance(2_999);
    assert_eq!(h.state(), ConnectionState::Connecting);
    h.advance(1);
    assert!(h.calls().contains(&Call::Close(first, 4000)));
    assert!(matches!(h.state(), ConnectionState::Reconnecting { .. }));
}

#[test]
fn offline_stops_the_retry_loop_and_online_reconnects_now() {
    let mut h = Harness::new(config());
    let _sub = h.record("agent:1");
    h.connect_and_open();
    h.server_closes(1006);
    h.driver.handle_offline();
    assert_eq!(h.state(), ConnectionState::Offline);
    h.advance(300_000);
    assert_eq!(h.opened_sockets().len(), 1, "no retry loop while offline");
    h.driver.handle_online();
    assert_eq!(h.state(), ConnectionState::Connecting);
    assert_eq!(h.opened_sockets().len(), 2);
}

#[test]
fn offline_while_open_checks_liveness_instead_of_dropping_a_working_socket() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    h.driver.handle_offline();
    assert_eq!(h.state(), ConnectionState::Open);
    assert_eq!(h.take_sent_kinds(), ["ping"]);
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
    h.driver.handle_visibility(false);
    assert_eq!(h.opened_sockets().len(), before);
    h.driver.handle_visibility(true);
    assert_eq!(h.opened_sockets().len(), before + 1);
    assert_eq!(h.state(), ConnectionState::Connecting);
}

#[test]
fn becoming_visible_after_a_silent_interval_checks_liveness() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    h.driver.handle_visibility(true);
    assert!(
        h.take_sent().is_empty(),
        "just heard from: nothing to check"
    );
    h.sleep_without_timer(1_000);
    h.driver.handle_visibility(true);
    assert_eq!(h.take_sent_kinds(), ["ping"]);
    h.advance(499);
    assert_eq!(h.state(), ConnectionState::Open);
    h.advance(1);
    assert_eq!(
        h.state(),
        ConnectionState::Connecting,
        "no answer: replaced"
    );
}

#[test]
fn pageshow_from_bfcache_checks_liveness() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    h.driver.handle_pageshow(false);
    assert!(h.take_sent().is_empty());
    h.driver.handle_pageshow(true);
    assert_eq!(h.take_sent_kinds(), ["ping"]);
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
    let now = Instant(h.now());
    assert_eq!(h.client().metrics().uptime(now), Some(Millis(700)));
    h.server_closes(1012);
    let (_, delay) = reconnecting(&h);
    h.advance(delay);
    h.open();
    let m = h.client().metrics();
    assert_eq!(m.counters.reconnects, 1);
    assert_eq!(m.state, ConnectionState::Open);
    assert_eq!(m.uptime(Instant(h.now())), Some(Millis(0)));
}

#[test]
fn closing_with_an_empty_outbox_reports_nothing_discarded() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let errors = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = errors.clone();
    let _guard = h
        .client()
        .on_error(move |e| sink.borrow_mut().push(format!("{e:?}")));
    h.client().close();
    h.end_tick();
    assert!(errors.borrow().is_empty(), "{:?}", errors.borrow());
}

#[test]
fn a_socket_reported_open_twice_subscribes_once() {
    let mut h = Harness::new(config());
    let (_view, _) = h.record("agent:1");
    h.client().connect();
    h.open_raw();
    let first = h.take_sent_kinds();
    h.open_raw();
    assert_eq!(first, vec!["subscribe", "ping"]);
    assert!(
        h.take_sent_kinds().is_empty(),
        "the second open report is ignored"
    );
}

#[test]
fn a_normal_close_from_the_server_is_retried_while_a_topic_is_held() {
    let mut h = Harness::new(config());
    let (_view, _) = h.record("agent:1");
    h.connect_and_open();
    h.server_closes(1000);
    assert!(
        matches!(h.state(), ConnectionState::Reconnecting { .. }),
        "{:?}",
        h.state()
    );
}

#[test]
fn debug_output_names_the_url_and_hides_the_token() {
    let config = config().with_token(|| Some("secret-token-value".into()));
    let text = format!("{config:?}");
    assert!(text.contains("ws://stub/api/ws/v2"), "{text}");
    assert!(!text.contains("secret-token-value"), "{text}");
}
