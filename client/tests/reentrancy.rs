//! Handlers that change things while an event is being dispatched: each case has defined
//! semantics (see `topic_manager.rs`) and none panics on a `RefCell` borrow.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use support::*;
use tether::core::ConnectionState;
use tether::protocol::{ClientFrame, ClientMessage, Message};
use tether::Subscription;

fn open_with_ack(h: &mut Harness, topics: &[&str]) {
    h.connect_and_open();
    h.end_tick();
    let (_, _, mid) = subscribe_parts(&h.take_sent()[0]);
    let acks: Vec<(&str, u64)> = topics.iter().map(|t| (*t, 0)).collect();
    h.ack(&mid, &acks);
}

#[test]
fn a_handler_may_subscribe_during_dispatch() {
    let mut h = Harness::new(config());
    let topics = h.app.topics.clone();
    let added: Rc<RefCell<Vec<Subscription>>> = Rc::default();
    let late_calls = Rc::new(RefCell::new(0));
    let (added2, late2) = (added.clone(), late_calls.clone());
    let _s = h.app.topics.subscribe(topic("agent:1"), move |_| {
        let late = late2.clone();
        added2
            .borrow_mut()
            .push(topics.subscribe(topic("agent:1"), move |_| *late.borrow_mut() += 1));
        let _ = topics.subscribe(topic("agent:2"), |_| {}); // dropped at once
    });
    open_with_ack(&mut h, &["agent:1"]);
    h.event(1, 1);
    assert_eq!(
        *late_calls.borrow(),
        0,
        "a handler added during dispatch waits for the next event"
    );
    h.event(1, 2);
    assert_eq!(*late_calls.borrow(), 1);
    assert_eq!(h.app.topics.handler_count(&topic("agent:1")), 3);
    assert_eq!(h.app.topics.handler_count(&topic("agent:2")), 0);
}

#[test]
fn a_handler_may_drop_its_own_guard() {
    let mut h = Harness::new(config());
    let slot: Rc<RefCell<Option<Subscription>>> = Rc::default();
    let calls = Rc::new(RefCell::new(0));
    let (slot2, calls2) = (slot.clone(), calls.clone());
    *slot.borrow_mut() = Some(h.app.topics.subscribe(topic("agent:1"), move |_| {
        *calls2.borrow_mut() += 1;
        slot2.borrow_mut().take(); // drops itself
    }));
    open_with_ack(&mut h, &["agent:1"]);
    h.event(1, 1);
    h.event(1, 2);
    assert_eq!(*calls.borrow(), 1);
    h.end_tick();
    assert!(matches!(&h.take_sent()[..], [f] if matches!(f.msg, ClientMessage::Unsubscribe(_))));
}

#[test]
fn a_handler_dropped_by_another_during_dispatch_is_not_called() {
    let mut h = Harness::new(config());
    let victim_calls = Rc::new(RefCell::new(0));
    let victim_slot: Rc<RefCell<Option<Subscription>>> = Rc::default();
    let slot2 = victim_slot.clone();
    let _killer = h.app.topics.subscribe(topic("agent:1"), move |_| {
        slot2.borrow_mut().take();
    });
    let vc = victim_calls.clone();
    *victim_slot.borrow_mut() = Some(
        h.app
            .topics
            .subscribe(topic("agent:1"), move |_| *vc.borrow_mut() += 1),
    );
    open_with_ack(&mut h, &["agent:1"]);
    h.event(1, 1);
    assert_eq!(
        *victim_calls.borrow(),
        0,
        "dropped before its turn: never called"
    );
}

#[test]
fn a_handler_may_send_and_the_frame_goes_out_after_it_returns() {
    let mut h = Harness::new(config());
    let client = h.client().clone();
    let _s = h.app.topics.subscribe(topic("agent:1"), move |_| {
        client
            .send(ClientFrame::new(ClientMessage::Pong(Default::default())))
            .unwrap();
    });
    open_with_ack(&mut h, &["agent:1"]);
    h.take_new_calls();
    h.event(1, 1);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].msg.kind(), "pong");
}

#[test]
fn a_handler_may_close_the_client() {
    let mut h = Harness::new(config());
    let client = h.client().clone();
    let after_close = Rc::new(RefCell::new(0));
    let _closer = h
        .app
        .topics
        .subscribe(topic("agent:1"), move |_| client.close());
    let ac = after_close.clone();
    let _other = h
        .app
        .topics
        .subscribe(topic("agent:1"), move |_| *ac.borrow_mut() += 1);
    open_with_ack(&mut h, &["agent:1"]);
    h.event(1, 1);
    assert_eq!(h.state(), ConnectionState::Closed);
    h.client()
        .handle_socket_message(h.socket(), &agent_event(1, 2));
    h.advance(100_000);
    assert_eq!(h.opened_sockets().len(), 1);
    assert_eq!(
        *after_close.borrow(),
        1,
        "the current event finishes its dispatch; nothing after"
    );
}

#[test]
fn a_state_listener_may_call_back_into_the_client() {
    let mut h = Harness::new(config());
    let client = h.client().clone();
    let topics = h.app.topics.clone();
    let keep: Rc<RefCell<Vec<Subscription>>> = Rc::default();
    let keep2 = keep.clone();
    let _g = h.client().on_state_change(move |s| {
        if *s == ConnectionState::Open {
            keep2
                .borrow_mut()
                .push(topics.subscribe(topic("agent:5"), |_| {}));
            let _ = client.send(ClientFrame::new(ClientMessage::Pong(Default::default())));
            let _ = client.metrics();
        }
    });
    h.connect_and_open();
    let sent = h.take_sent();
    assert_eq!(
        sent.iter().map(|f| f.msg.kind()).collect::<Vec<_>>(),
        ["subscribe", "pong"]
    );
}
