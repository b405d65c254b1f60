//! Heartbeats on a fake clock: pings and RTT, answering server pings, dead-connection detection,
//! and sleep/wake detection from a late timer.

mod support;

use support::*;
use tether_client::protocol::control::Heartbeat;
use tether_client::{ClientError, ConnectionState, Millis};

fn ping_of(frames: &[tether_client::protocol::Envelope]) -> (String, u64) {
    match frames {
        [f] if f.kind == "ping" => {
            let data: Heartbeat = f.data().unwrap();
            (f.req_id.clone().unwrap(), data.timestamp.unwrap())
        }
        other => panic!("expected one ping, got {other:?}"),
    }
}

#[test]
fn pings_every_interval_and_measures_rtt() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    h.advance(999);
    assert!(h.take_sent().is_empty());
    h.advance(1);
    let (req_id, ts) = ping_of(&h.take_sent());
    assert_eq!(ts, h.now());
    h.advance(40);
    h.server_sends(&pong_for(&req_id, 12345)); // the echoed timestamp is not trusted
    let rtt = h.client().metrics().rtt;
    assert_eq!(rtt.last, Some(Millis(40)));
    assert_eq!(
        rtt.ewma,
        Some(8.0),
        "0 ms on open, then 40 ms at weight 0.2"
    );
}

#[test]
fn pings_on_open_so_the_rtt_is_known_at_once() {
    let mut h = Harness::new(config());
    h.client().connect();
    h.open_raw();
    let (req_id, _) = ping_of(&h.take_sent());
    h.advance(15);
    h.server_sends(&pong_for(&req_id, 0));
    assert_eq!(h.client().metrics().rtt.last, Some(Millis(15)));
}

#[test]
fn answers_server_pings_with_pong() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    h.server_sends(r#"{"v":1,"type":"ping","topic":"system","ts":0,"data":{"timestamp":77}}"#);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, "pong");
    assert_eq!(
        sent[0].data.get(),
        r#"{"timestamp":77}"#,
        "the server's timestamp is echoed"
    );
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
    for seq in 1..=5 {
        h.advance(1_400);
        h.event(1, seq);
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
    h.driver.handle_socket_message(first, &agent_event(1, 6));
    h.driver
        .handle_socket_closed(first, tether_client::protocol::CloseCode::ABNORMAL, "");
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

/// Events between pings are heard without reading the clock (the first after each ping is
/// timed); they keep the link alive all the same, and when they stop, the link is declared dead
/// after the ping interval plus the pong timeout at the soonest, one ping interval more at the
/// latest.
#[test]
fn events_between_pings_are_untimed_and_keep_the_link_alive() {
    let mut h = Harness::new(config());
    let (_sub, seen) = h.record("agent:1");
    h.connect_and_open();
    let first = h.socket();
    let reads = h.clock_reads();
    for seq in 1..=10 {
        h.event(1, seq);
    }
    assert_eq!(
        h.clock_reads(),
        reads,
        "ten events between pings read no clock"
    );
    h.advance(1_000); // the ping timer: a ping goes out
    let reads = h.clock_reads();
    h.event(1, 11);
    assert_eq!(
        h.clock_reads(),
        reads + 1,
        "the first event after a ping is timed"
    );
    h.event(1, 12);
    assert_eq!(h.clock_reads(), reads + 1, "and only the first");
    assert_eq!(seen.borrow().len(), 12);
    // Events every 300 ms for 10 s, no pong ever: alive throughout.
    let mut seq = 12;
    for _ in 0..33 {
        h.advance(300);
        seq += 1;
        h.event(1, seq);
    }
    assert_eq!(h.socket(), first, "events keep the link alive");
    assert_eq!(h.client().metrics().counters.dead_connections, 0);
    // Silence: declared dead after 1,500 ms (ping interval + pong timeout) at the soonest,
    // 2,500 ms (one ping interval more) at the latest.
    let silent_from = h.now();
    while h.socket() == first {
        h.advance(10);
        assert!(
            h.now() - silent_from <= 2_500,
            "declared dead within 2,500 ms"
        );
    }
    assert!(
        h.now() - silent_from >= 1_500,
        "not before 1,500 ms of silence"
    );
    assert_eq!(h.client().metrics().counters.dead_connections, 1);
}

#[test]
fn events_and_opens_from_a_replaced_socket_change_nothing() {
    let mut h = Harness::new(config());
    let (_s, seen) = h.record("agent:1");
    h.connect_and_open();
    let first = h.socket();
    h.client().reconnect();
    let second = h.socket();
    assert_ne!(first, second);
    h.open();
    let before = h.client().metrics();
    h.driver.handle_socket_opened(first);
    h.driver.handle_socket_message(first, &agent_event(1, 50));
    h.driver
        .handle_socket_binary(first, agent_event(1, 51).as_bytes());
    h.driver.handle_socket_refused(first, 401);
    h.driver
        .handle_socket_closed(first, tether_client::protocol::CloseCode::UNAUTHORIZED, "");
    assert_eq!(h.state(), ConnectionState::Open);
    assert!(seen.borrow().is_empty(), "{:?}", seen.borrow());
    let after = h.client().metrics();
    assert_eq!(after.counters, before.counters);
    assert_eq!(h.socket(), second);
}

#[test]
fn nothing_is_ever_sent_on_a_replaced_socket() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let first = h.socket();
    h.advance(1_500); // dead
    h.open();
    h.take_new_calls();
    h.client().send(chat(1)).unwrap();
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
    ping_of(&h.take_sent());
    // It answers: alive.
    h.advance(100);
    h.server_sends(r#"{"v":1,"type":"ping","topic":"system","ts":0,"data":{}}"#);
    h.advance(400);
    assert_eq!(h.socket(), first);
    assert_eq!(h.state(), ConnectionState::Open);
}

#[test]
fn after_sleep_a_dead_socket_is_replaced_within_the_pong_timeout() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let first = h.socket();
    h.sleep(60_000);
    h.advance(499);
    assert_eq!(h.socket(), first);
    h.advance(1);
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

/// Sends pings without answers, keeping the link alive with server pings; returns each ping's
/// id and the time it went out.
fn unanswered_pings(h: &mut Harness, n: usize) -> Vec<(String, u64)> {
    let mut pings = Vec::new();
    for _ in 0..1_000 {
        if pings.len() >= n {
            break;
        }
        h.advance(500);
        h.server_sends(r#"{"v":1,"type":"ping","topic":"system","ts":0,"data":{}}"#);
        for f in h.take_sent().iter().filter(|f| f.kind == "ping") {
            pings.push((f.req_id.clone().unwrap(), h.now()));
        }
    }
    assert!(
        pings.len() >= n,
        "the client sent {} pings in 500 s",
        pings.len()
    );
    pings
}

#[test]
fn a_pong_answers_its_own_ping_once_and_forgets_the_older_ones() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let pings = unanswered_pings(&mut h, 3);
    let rtt = |h: &Harness| h.client().metrics().rtt.last;
    // The second ping's pong: its own round trip.
    h.advance(7);
    h.server_sends(&pong_for(&pings[1].0, 0));
    assert_eq!(rtt(&h), Some(Millis(h.now() - pings[1].1)));
    let after_second = rtt(&h);
    // Its repeat, and the first ping's late pong: nothing more is measured.
    h.advance(50);
    h.server_sends(&pong_for(&pings[1].0, 0));
    h.server_sends(&pong_for(&pings[0].0, 0));
    assert_eq!(rtt(&h), after_second);
    // The third one is still remembered.
    h.server_sends(&pong_for(&pings[2].0, 0));
    assert_eq!(rtt(&h), Some(Millis(h.now() - pings[2].1)));
}

#[test]
fn the_last_eight_pings_are_remembered() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let pings = unanswered_pings(&mut h, 9);
    h.advance(3);
    // The ninth pushed the first out; the second is still there.
    h.server_sends(&pong_for(&pings[0].0, 0));
    assert_eq!(
        h.client().metrics().rtt.last,
        Some(Millis(0)),
        "the open's ping only"
    );
    h.server_sends(&pong_for(&pings[1].0, 0));
    assert_eq!(
        h.client().metrics().rtt.last,
        Some(Millis(h.now() - pings[1].1))
    );
}

#[test]
fn a_pong_without_req_id_answers_the_oldest_ping_and_a_foreign_one_nothing() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let pings = unanswered_pings(&mut h, 2);
    h.advance(4);
    h.server_sends(r#"{"v":1,"type":"pong","topic":"system","ts":0,"data":{}}"#);
    assert_eq!(
        h.client().metrics().rtt.last,
        Some(Millis(h.now() - pings[0].1)),
        "the oldest"
    );
    h.advance(4);
    h.server_sends(
        r#"{"v":1,"type":"pong","topic":"system","ts":0,"req_id":"someone-else","data":{}}"#,
    );
    assert_eq!(
        h.client().metrics().rtt.last,
        Some(Millis(h.now() - 4 - pings[0].1)),
        "a pong to another ping id is not ours"
    );
}

#[test]
fn the_driver_timer_is_armed_for_the_next_ping() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    assert_eq!(
        h.timer(),
        Some(tether_client::Instant(h.now() + 1_000)),
        "ping interval 1 s; the liveness check comes later"
    );
}
