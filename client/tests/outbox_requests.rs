//! The bounded outbox and requests: queueing while disconnected, overflow errors, flushing in
//! order after the resubscribe, and request replies, timeouts and disconnects.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use support::*;
use tether::core::{RequestError, SendError};
use tether::protocol::model::SendMessage;
use tether::protocol::{ClientFrame, ClientMessage, Message};

fn chat(n: u64) -> ClientFrame {
    ClientFrame::new(ClientMessage::SendMessage(SendMessage {
        thread_id: 1,
        content: format!("m{n}"),
    }))
    .with_topic("thread:1")
}

/// Polls a future once with a no-op waker (enough for futures completed by synchronous calls).
fn poll_once<F: std::future::Future>(fut: &mut std::pin::Pin<Box<F>>) -> Option<F::Output> {
    let waker = std::task::Waker::noop();
    match fut
        .as_mut()
        .poll(&mut std::task::Context::from_waker(waker))
    {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

#[test]
fn sends_while_disconnected_queue_up_to_the_bound_then_error() {
    let mut cfg = config();
    cfg.outbox_capacity = 3;
    let mut h = Harness::new(cfg);
    let (_s, _) = h.record("thread:1");
    for n in 0..3 {
        h.client().send(chat(n)).unwrap();
    }
    assert_eq!(h.client().send(chat(3)), Err(SendError::OutboxFull(3)));
    assert_eq!(h.client().metrics().outbox_len, 3);
    h.connect_and_open();
    let kinds: Vec<String> = h
        .take_sent()
        .iter()
        .map(|f| f.msg.kind().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["subscribe", "send_message", "send_message", "send_message"],
        "resubscribe first, then in order"
    );
    assert_eq!(h.client().metrics().outbox_len, 0);
}

#[test]
fn a_frame_over_the_limit_is_refused_not_sent() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let big = ClientFrame::new(ClientMessage::SendMessage(SendMessage {
        thread_id: 1,
        content: "x".repeat(70_000),
    }));
    assert!(matches!(h.client().send(big), Err(SendError::TooLarge(_))));
    assert!(h.take_sent().is_empty());
}

#[test]
fn close_discards_the_outbox_and_reports_it() {
    let h = Harness::new(config());
    h.client().send(chat(1)).unwrap();
    let errors = Rc::new(RefCell::new(Vec::new()));
    let sink = errors.clone();
    let _g = h
        .client()
        .on_error(move |e| sink.borrow_mut().push(e.to_string()));
    h.client().close();
    assert_eq!(*errors.borrow(), ["1 queued frames discarded by close()"]);
    assert_eq!(h.client().send(chat(2)), Err(SendError::Closed));
}

#[test]
fn a_request_resolves_with_the_reply_matching_its_req_id() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    let req_id = h.take_sent()[0].req_id.clone().unwrap();
    h.server_sends(&serde_json::json!({"v":1,"type":"thread_message","topic":"thread:1","req_id":"r999","ts":0,"seq":1,
        "data":{"id":1,"thread_id":1,"role":"user","content":"other","created_at":0}}).to_string());
    assert!(
        poll_once(&mut fut).is_none(),
        "another req_id does not resolve it"
    );
    h.server_sends(&serde_json::json!({"v":1,"type":"thread_message","topic":"thread:1","req_id":req_id,"ts":0,"seq":2,
        "data":{"id":2,"thread_id":1,"role":"user","content":"m1","created_at":0}}).to_string());
    let reply = poll_once(&mut fut).expect("resolved").unwrap();
    assert_eq!(reply.seq, Some(2));
}

#[test]
fn a_request_answered_by_an_error_frame_fails_with_it() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    let req_id = h.take_sent()[0].req_id.clone().unwrap();
    h.server_sends(
        &serde_json::json!({"v":1,"type":"error","topic":null,"req_id":req_id,"ts":0,
        "data":{"error":"FORBIDDEN","details":"not your thread"}})
        .to_string(),
    );
    assert_eq!(
        poll_once(&mut fut).unwrap(),
        Err(RequestError::Server {
            error: "FORBIDDEN".into(),
            details: "not your thread".into()
        })
    );
}

#[test]
fn a_request_times_out() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    h.advance_alive(1_499);
    assert!(poll_once(&mut fut).is_none());
    h.advance(1);
    assert_eq!(poll_once(&mut fut).unwrap(), Err(RequestError::Timeout));
    assert_eq!(h.client().metrics().pending_requests, 0);
}

#[test]
fn a_request_fails_with_disconnected_when_its_socket_closes() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    h.server_closes(1006);
    assert_eq!(
        poll_once(&mut fut).unwrap(),
        Err(RequestError::Disconnected)
    );
}

#[test]
fn a_queued_request_survives_until_sent_and_answered() {
    let mut h = Harness::new(config());
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    h.connect_and_open();
    let req_id = h.take_sent()[0].req_id.clone().unwrap();
    h.server_sends(
        &serde_json::json!({"v":1,"type":"error","topic":null,"req_id":req_id,"ts":0,
        "data":{"error":"NOT_FOUND","details":""}})
        .to_string(),
    );
    assert!(matches!(
        poll_once(&mut fut).unwrap(),
        Err(RequestError::Server { .. })
    ));
}

#[test]
fn close_fails_pending_requests_with_closed() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    h.client().close();
    assert_eq!(poll_once(&mut fut).unwrap(), Err(RequestError::Closed));
}
