//! Handlers that change things while an event is being dispatched: each case has defined
//! semantics (see `topic_manager.rs`) and none panics on a `RefCell` borrow.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use support::*;
use tether_client::ConnectionState;
use tether_client::Subscription;

fn open_with_ack(h: &mut Harness, _topics: &[&str]) {
    h.connect_and_open();
    h.end_tick();
    h.take_new_calls();
}

#[test]
fn a_handler_may_subscribe_during_dispatch() {
    let mut h = Harness::new(config());
    let topics = h.app.topics.clone();
    let added: Rc<RefCell<Vec<Subscription>>> = Rc::default();
    let late_calls = Rc::new(RefCell::new(0));
    let (added2, late2) = (added.clone(), late_calls.clone());
    let _s = h.app.topics.subscribe(topic("agent:1"), move |e| {
        if e.message().is_none() {
            return;
        }
        let late = late2.clone();
        added2
            .borrow_mut()
            .push(topics.subscribe(topic("agent:1"), move |e| {
                if e.message().is_some() {
                    *late.borrow_mut() += 1
                }
            }));
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
    *slot.borrow_mut() = Some(h.app.topics.subscribe(topic("agent:1"), move |e| {
        if e.message().is_none() {
            return;
        }
        *calls2.borrow_mut() += 1;
        slot2.borrow_mut().take(); // drops itself
    }));
    open_with_ack(&mut h, &["agent:1"]);
    h.event(1, 1);
    h.event(1, 2);
    assert_eq!(*calls.borrow(), 1);
    h.end_tick();
    assert_eq!(h.take_sent_kinds(), ["unsubscribe"]);
}

#[test]
fn a_handler_dropped_by_another_during_dispatch_is_not_called() {
    let mut h = Harness::new(config());
    let victim_calls = Rc::new(RefCell::new(0));
    let victim_slot: Rc<RefCell<Option<Subscription>>> = Rc::default();
    let slot2 = victim_slot.clone();
    let _killer = h.app.topics.subscribe(topic("agent:1"), move |e| {
        if e.message().is_some() {
            slot2.borrow_mut().take();
        }
    });
    let vc = victim_calls.clone();
    *victim_slot.borrow_mut() = Some(h.app.topics.subscribe(topic("agent:1"), move |e| {
        if e.message().is_some() {
            *vc.borrow_mut() += 1
        }
    }));
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
    let _s = h.app.topics.subscribe(topic("agent:1"), move |e| {
        if e.message().is_some() {
            client.send(chat(1)).unwrap();
        }
    });
    open_with_ack(&mut h, &["agent:1"]);
    h.event(1, 1);
    assert_eq!(h.take_sent_kinds(), ["send_message"]);
}

#[test]
fn a_handler_may_close_the_client() {
    let mut h = Harness::new(config());
    let client = h.client().clone();
    let after_close = Rc::new(RefCell::new(0));
    let _closer = h.app.topics.subscribe(topic("agent:1"), move |e| {
        if e.message().is_some() {
            client.close()
        }
    });
    let ac = after_close.clone();
    let _other = h.app.topics.subscribe(topic("agent:1"), move |e| {
        if e.message().is_some() {
            *ac.borrow_mut() += 1
        }
    });
    open_with_ack(&mut h, &["agent:1"]);
    h.event(1, 1);
    assert_eq!(h.state(), ConnectionState::Closed);
    h.driver
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
            let _ = client.send(chat(1));
            let _ = client.metrics();
        }
    });
    h.connect_and_open();
    h.end_tick();
    let sent = h.take_sent_app();
    assert_eq!(
        sent.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(),
        ["subscribe", "send_message"],
        "both made in the listener go out after it returns, the subscription first"
    );
}

/// The client hands the topic manager where an event's topic sits in its own table, and the
/// two tables differ for the rest of a tick in which a topic's last handler went: the client
/// keeps the topic until its `unsubscribe` goes out. An event then still reaches its own
/// topic's handlers, and no other's.
#[test]
fn an_event_reaches_its_own_topic_while_a_dropped_topic_keeps_its_place() {
    let mut h = Harness::new(config());
    let (first, _) = h.record("agent:1");
    let (_second, second_seen) = h.record("agent:2");
    let (_third, third_seen) = h.record("agent:3");
    open_with_ack(&mut h, &["agent:1", "agent:2", "agent:3"]);
    drop(first); // agent:2 is second in the client's table, first in the manager's
    assert!(
        h.take_sent_kinds().is_empty(),
        "agent:1 is still in the client's table"
    );
    h.event(2, 1);
    assert_eq!(*second_seen.borrow(), vec![Some(1)]);
    assert_eq!(
        *third_seen.borrow(),
        vec![],
        "agent:3's handler got agent:2's event"
    );
    h.event(3, 1);
    assert_eq!(*third_seen.borrow(), vec![Some(1)]);
}
