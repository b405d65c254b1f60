//! Heartbeats on a fake clock: pings and RTT, answering server pings, dead-connection detection,
//! and sleep/wake detection from a late timer.

mod support;

use support::*;
use tether::core::{ClientError, ConnectionState, Millis};
use tether::protocol::ClientMessage;

fn pong_for(req_id: &str, timestamp: u64) -> String {
    serde_json::json!({"v":1,"type":"pong","topic":null,"req_id":req_id,"ts":0,"data":{"timestamp":timestamp}}).to_string()
}

#[test]
fn pings_every_interval_and_measures_rtt() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    h.advance(999);
    assert!(h.take_sent().is_empty());
    h.advance(1);
    let sent = h.take_sent();
    let (req_id, ts) = match &sent[..] {
        [f] => match &f.msg {
            ClientMessage::Ping(p) => (f.req_id.clone().unwrap(), p.timestamp),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(ts, h.now());
    h.advance(40);
    h.server_sends(&pong_for(&req_id, ts));
    let rtt = h.client().metrics().rtt;
    assert_eq!(rtt.last, Some(Millis(40)));
    assert_eq!(rtt.ewma, Some(40.0));
}

#[test]
fn answers_server_pings_with_pong() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    h.server_sends(r#"{"v":1,"type":"ping","topic":null,"req_id":null,"ts":0,"data":{}}"#);
    assert!(matches!(h.take_sent()[..], [ref f] if matches!(f.msg, ClientMessage::Pong(_))));
}

#[test]
fn silence_for_ping_interval_plus_pong_timeout_replaces_the_socket() {
    let mut h = Harness::new(config());
    let (_sub, _seen) = h.record("agent:1");
    h.connect_and_open();
    let first = h.socket();
    let errors = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = errors.clone();
    let _g = h
        .client()
        .on_error(move |e| sink.borrow_mut().push(e.clone()));
    // Frames keep it alive.
    for _ in 0..5 {
        h.advance(1_400);
        h.event(1, 1);
    }
    assert_eq!(h.socket(), first);
    // Silence: dead after 1000 + 500 ms.
    h.advance(1_499);
    assert_eq!(h.state(), ConnectionState::Open);
    h.advance(1);
    assert!(h.calls().contains(&Call::Close(first, 4000)));
    assert_ne!(h.socket(), first, "a new socket replaces the dead one");
    assert_eq!(h.state(), ConnectionState::Connecting);
    assert_eq!(
        *errors.borrow(),
        [ClientError::DeadConnection { silent_ms: 1_500 }]
    );
    // The dead socket's late events are ignored: no duplicate state changes, no sends on it.
    h.client().handle_socket_message(first, &agent_event(1, 2));
    h.client().handle_socket_closed(first, 1006, "");
    assert_eq!(h.state(), ConnectionState::Connecting);
    h.open();
    let calls = h.calls();
    let closed_at = calls
        .iter()
        .position(|c| *c == Call::Close(first, 4000))
        .unwrap();
    assert!(calls[closed_at..]
        .iter()
        .all(|c| !matches!(c, Call::Send(s, _) if *s == first)));
    assert_eq!(h.client().metrics().counters.dead_connections, 1);
}

#[test]
fn nothing_is_ever_sent_on_a_replaced_socket() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let first = h.socket();
    h.advance(1_500); // dead
    h.open();
    h.take_new_calls();
    h.client()
        .send(tether::protocol::ClientFrame::new(ClientMessage::Pong(
            Default::default(),
        )))
        .unwrap();
    h.advance(5_000);
    let after: Vec<_> = h.take_new_calls();
    assert!(after.iter().any(|c| matches!(c, Call::Send(_, _))));
    assert!(after
        .iter()
        .all(|c| !matches!(c, Call::Send(s, _) if *s == first)));
}

#[test]
fn a_late_timer_means_sleep_and_checks_liveness_at_once() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let first = h.socket();
    h.take_new_calls();
    // The machine sleeps for a minute: the ping timer fires 59 s late.
    h.sleep(60_000);
    assert_eq!(
        h.state(),
        ConnectionState::Open,
        "not declared dead without a chance to answer"
    );
    let sent = h.take_sent();
    assert!(
        matches!(sent[..], [ref f] if matches!(f.msg, ClientMessage::Ping(_))),
        "{sent:?}"
    );
    // It answers: alive.
    h.advance(100);
    h.server_sends(r#"{"v":1,"type":"ping","topic":null,"req_id":null,"ts":0,"data":{}}"#);
    h.advance(400);
    assert_eq!(h.socket(), first);
    assert_eq!(h.state(), ConnectionState::Open);
}

#[test]
fn after_sleep_a_dead_socket_is_replaced_within_the_pong_timeout() {
    let h = Harness::new(config());
    let mut h = h;
    h.connect_and_open();
    let first = h.socket();
    h.sleep(60_000);
    h.advance(500);
    assert_ne!(h.socket(), first);
}

#[test]
fn a_late_timer_while_reconnecting_retries_now() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    for _ in 0..8 {
        h.server_closes(1006);
        h.advance(30_000);
    }
    h.server_closes(1006);
    let before = h.opened_sockets().len();
    let retry_at = h.timer().unwrap().0;
    h.sleep(retry_at - h.now() + 10_000);
    assert_eq!(h.opened_sockets().len(), before + 1);
}

#[test]
fn pings_on_open_so_the_rtt_is_known_at_once() {
    let mut cfg = config();
    cfg.ping_on_open = true;
    let mut h = Harness::new(cfg);
    h.connect_and_open();
    let sent = h.take_sent();
    let ping = sent
        .iter()
        .find(|f| matches!(f.msg, ClientMessage::Ping(_)))
        .expect("a ping on open");
    h.advance(15);
    h.server_sends(&pong_for(ping.req_id.as_deref().unwrap(), h.now() - 15));
    assert_eq!(h.client().metrics().rtt.last, Some(Millis(15)));
}
