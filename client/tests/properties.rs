//! Property tests: random sequences of inputs to the core never panic, and the invariants hold:
//! at most one socket is open at a time, every state transition is valid, and no handler is
//! called after its guard was dropped.

mod support;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use proptest::prelude::*;
use support::*;
use tether_client::core::SocketId;
use tether_client::protocol::CloseCode;
use tether_client::ConnectionState;
use tether_client::Subscription;

#[derive(Clone, Debug)]
enum Input {
    Connect,
    Close,
    Reconnect,
    Opened,
    Closed(u16),
    Refused(u16),
    Message(u8),
    Advance(u16),
    Sleep(u32),
    Online(bool),
    Visible(bool),
    PageShow(bool),
    Subscribe(u8),
    DropGuard(u8),
    Send,
    EndTick,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => Just(Input::Connect),
        1 => Just(Input::Close),
        1 => Just(Input::Reconnect),
        4 => Just(Input::Opened),
        3 => prop::sample::select(vec![1000u16, 1001, 1006, 1008, 1009, 1011, 1012, 4401, 4403, 4408]).prop_map(Input::Closed),
        1 => prop::sample::select(vec![401u16, 403, 500]).prop_map(Input::Refused),
        12 => any::<u8>().prop_map(Input::Message),
        4 => (0u16..800).prop_map(Input::Advance),
        1 => (0u16..5_000).prop_map(Input::Advance),
        1 => (0u32..120_000).prop_map(Input::Sleep),
        1 => any::<bool>().prop_map(Input::Online),
        1 => any::<bool>().prop_map(Input::Visible),
        1 => any::<bool>().prop_map(Input::PageShow),
        6 => (0u8..4).prop_map(Input::Subscribe),
        2 => any::<u8>().prop_map(Input::DropGuard),
        1 => Just(Input::Send),
        3 => Just(Input::EndTick),
    ]
}

fn frame(n: u8) -> String {
    let topic = n % 4;
    match n % 8 {
        0 => r#"{"v":1,"type":"ping","topic":"system","ts":0,"data":{}}"#.to_owned(),
        1 => "{not json".to_owned(),
        2 => format!(r#"{{"v":1,"type":"subscribe_ack","topic":"system","ts":0,"data":{{"message_id":"s1","topics":["agent:{topic}"],"seqs":{{"agent:{topic}":{n}}}}}}}"#),
        3 => format!(r#"{{"v":1,"type":"resync_required","topic":"agent:{topic}","ts":0,"data":{{"topic":"agent:{topic}","seq":{n}}}}}"#),
        4 => format!(r#"{{"v":1,"type":"subscribe_error","topic":"system","ts":0,"data":{{"message_id":"s1","topic":"agent:{topic}","error":"no","error_code":"FORBIDDEN"}}}}"#),
        5 => r#"{"v":1,"type":"error","topic":"system","req_id":"r1","ts":0,"data":{"error":"X","details":{}}}"#.to_owned(),
        6 if n % 16 == 6 => format!(r#"{{"v":1,"type":"pong","topic":"system","req_id":"p{}","ts":0,"data":{{}}}}"#, n / 16),
        _ => agent_event(u64::from(topic), u64::from(n)),
    }
}

/// A handler that records a violation if it runs after its guard was dropped.
struct Tracked {
    guard: Option<Subscription>,
    dropped: Rc<Cell<bool>>,
}

/// Drops guard number `i` (modulo the count), marking it dropped first.
fn drop_some(guards: &std::rc::Weak<RefCell<Vec<Tracked>>>, i: usize) {
    let Some(guards) = guards.upgrade() else {
        return;
    };
    let guard = {
        let mut g = guards.borrow_mut();
        if g.is_empty() {
            return;
        }
        let n = g.len();
        let t = &mut g[i % n];
        t.dropped.set(true);
        t.guard.take()
    };
    drop(guard);
}

fn run(inputs: Vec<Input>) {
    let h = Harness::new(config());
    let violations = Rc::new(Cell::new(0));
    let guards: Rc<RefCell<Vec<Tracked>>> = Rc::default();
    let mut server_closed = BTreeSet::new();
    for input in inputs {
        match input {
            Input::Connect => h.client().connect(),
            Input::Close => h.client().close(),
            Input::Reconnect => h.client().reconnect(),
            Input::Opened => {
                if let Some(s) = h.opened_sockets().last() {
                    h.driver.handle_socket_opened(*s);
                }
            }
            Input::Closed(code) => {
                if let Some(s) = h.opened_sockets().last() {
                    server_closed.insert(*s);
                    h.driver.handle_socket_closed(*s, CloseCode(code), "");
                }
            }
            Input::Refused(status) => {
                if let Some(s) = h.opened_sockets().last() {
                    server_closed.insert(*s);
                    h.driver.handle_socket_refused(*s, status);
                }
            }
            Input::Message(n) => {
                if let Some(s) = h.opened_sockets().last() {
                    h.driver.handle_socket_message(*s, &frame(n));
                }
            }
            Input::Advance(ms) => h.advance(u64::from(ms)),
            Input::Sleep(ms) => h.sleep(u64::from(ms)),
            Input::Online(true) => h.driver.handle_online(),
            Input::Online(false) => h.driver.handle_offline(),
            Input::Visible(v) => h.driver.handle_visibility(v),
            Input::PageShow(p) => h.driver.handle_pageshow(p),
            Input::Subscribe(t) => {
                let dropped = Rc::new(Cell::new(false));
                let (d, v) = (dropped.clone(), violations.clone());
                let all = Rc::downgrade(&guards);
                let calls = Cell::new(0usize);
                let guard = h.app.topics.subscribe(format!("agent:{t}"), move |_| {
                    if d.get() {
                        v.set(v.get() + 1);
                    }
                    // Every other call, drop some guard (maybe this one) during dispatch.
                    calls.set(calls.get() + 1);
                    if (calls.get() + usize::from(t)).is_multiple_of(2) {
                        drop_some(&all, usize::from(t) + calls.get());
                    }
                });
                guards.borrow_mut().push(Tracked {
                    guard: Some(guard),
                    dropped,
                });
            }
            Input::DropGuard(i) => drop_some(&Rc::downgrade(&guards), usize::from(i)),
            Input::Send => {
                let _ = h.client().send(chat(0));
            }
            Input::EndTick => h.end_tick(),
        }
        // At most one socket is open (opened by the client and not yet closed by it or the server).
        assert!(
            open_sockets(&h, &server_closed) <= 1,
            "more than one socket"
        );
    }
    assert_eq!(
        violations.get(),
        0,
        "a handler ran after its guard was dropped"
    );
    let states = h.states.borrow();
    let mut from = ConnectionState::Idle;
    for to in states.iter() {
        assert!(
            from.can_become(*to),
            "invalid transition {from:?} -> {to:?}"
        );
        from = *to;
    }
    // Dropping every guard leaves no handler behind.
    guards.borrow_mut().clear();
    assert_eq!(h.app.topics.total_handlers(), 0);
}

/// Sockets the client opened that neither it nor the server has closed.
fn open_sockets(h: &Harness, server_closed: &BTreeSet<SocketId>) -> usize {
    let mut open = BTreeSet::new();
    for call in h.calls() {
        match call {
            Call::Open(s, _) => {
                open.insert(s);
            }
            Call::Close(s, _) => {
                open.remove(&s);
            }
            Call::Send(..) => {}
        }
    }
    open.difference(server_closed).count()
}

proptest! {
    // PROPTEST_CASES overrides the count (the `chaos` command runs a longer fuzz).
    #![proptest_config(proptest_config(512))]

    #[test]
    fn random_inputs_keep_the_invariants(inputs in prop::collection::vec(input(), 1..200)) {
        run(inputs);
    }
}
