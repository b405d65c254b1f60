//! The bounded outbox and requests: queueing while disconnected (up to the queue timeout),
//! overflow errors, flushing in order once a socket is proved, and request replies, timeouts,
//! expiry and disconnects, each error saying whether the frame was sent.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use support::*;
use tether_client::protocol::Envelope;
use tether_client::protocol::Topic;
use tether_client::{ClientError, Millis, RequestError, SendError};

fn reply(req_id: &str, kind: &str, data: serde_json::Value) -> String {
    serde_json::json!({"v":1,"type":kind,"topic":"thread:1","req_id":req_id,"ts":0,"data":data})
        .to_string()
}

fn error_reply(req_id: &str, error: &str, details: &str) -> String {
    serde_json::json!({"v":1,"type":"error","topic":"system","req_id":req_id,"ts":0,
        "data":{"error":error,"details":{"message":details}}})
    .to_string()
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
    let sent = h.take_sent_app();
    let order: Vec<String> = sent
        .iter()
        .map(|f| match f.kind.as_str() {
            "send_message" => f.data::<serde_json::Value>().unwrap()["content"]
                .as_str()
                .unwrap()
                .to_owned(),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(
        order,
        ["subscribe", "m0", "m1", "m2"],
        "resubscribe first, then in order"
    );
    assert_eq!(h.client().metrics().outbox_len, 0);
}

#[test]
fn sends_are_stamped_with_the_clock() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    h.advance(123);
    h.client().send(chat(1)).unwrap();
    let sent = h.take_sent();
    assert_eq!(sent[0].ts, h.now());
}

#[test]
fn a_frame_over_the_limit_is_refused_not_sent() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let big = Envelope::new(
        "send_message",
        Topic::thread(1),
        &serde_json::json!({"thread_id": 1, "content": "x".repeat(70_000)}),
    )
    .unwrap();
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
fn a_queued_send_expires_unsent_after_the_queue_timeout() {
    let mut h = Harness::new(config());
    let errors = Rc::new(RefCell::new(Vec::new()));
    let sink = errors.clone();
    let _g = h
        .client()
        .on_error(move |e| sink.borrow_mut().push(e.clone()));
    h.client().connect();
    h.client().send(chat(1)).unwrap();
    h.advance(1_000);
    h.client().send(chat(2)).unwrap();
    h.advance(2_999);
    assert!(errors.borrow().is_empty());
    h.advance(1);
    assert_eq!(*errors.borrow(), [ClientError::OutboxExpired(1)]);
    h.open();
    let contents: Vec<String> = h
        .take_sent_app()
        .iter()
        .filter(|f| f.kind == "send_message")
        .map(|f| f.data::<serde_json::Value>().unwrap()["content"].to_string())
        .collect();
    assert_eq!(contents, ["\"m2\""], "only the one that had not expired");
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
    for other in ["r999", "p1", "s1", "r01", &format!("{req_id}0")] {
        h.server_sends(&reply(other, "thread_message", serde_json::json!({})));
        assert!(poll_once(&mut fut).is_none(), "{other} does not resolve it");
    }
    h.server_sends(&reply(
        &req_id,
        "thread_message",
        serde_json::json!({"id": 2}),
    ));
    let got = poll_once(&mut fut).expect("resolved").unwrap();
    assert_eq!(got.raw_data(), r#"{"id":2}"#);
}

#[test]
fn a_request_answered_by_an_error_frame_fails_with_it_once() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let errors = Rc::new(RefCell::new(Vec::new()));
    let sink = errors.clone();
    let _g = h
        .client()
        .on_error(move |e| sink.borrow_mut().push(e.clone()));
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    let req_id = h.take_sent()[0].req_id.clone().unwrap();
    h.server_sends(&error_reply(&req_id, "FORBIDDEN", "not your thread"));
    assert_eq!(
        poll_once(&mut fut).unwrap(),
        Err(RequestError::Server {
            error: "FORBIDDEN".into(),
            details: "not your thread".into()
        })
    );
    assert!(
        errors.borrow().is_empty(),
        "an error that answers a request is not also reported"
    );
    // A second, late answer for the same request settles nothing and is reported once.
    h.server_sends(&error_reply(&req_id, "FORBIDDEN", "again"));
    assert_eq!(errors.borrow().len(), 1);
}

#[test]
fn a_late_reply_after_a_timeout_is_not_swallowed() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let errors = Rc::new(RefCell::new(Vec::new()));
    let sink = errors.clone();
    let _g = h
        .client()
        .on_error(move |e| sink.borrow_mut().push(e.clone()));
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    let req_id = h.take_sent()[0].req_id.clone().unwrap();
    h.advance_alive(1_500);
    assert_eq!(
        poll_once(&mut fut).unwrap(),
        Err(RequestError::Timeout {
            after: Millis(1_500)
        })
    );
    h.server_sends(&error_reply(&req_id, "NOT_FOUND", "late"));
    assert_eq!(
        *errors.borrow(),
        [ClientError::Server {
            error: "NOT_FOUND".into(),
            details: "late".into()
        }]
    );
}

#[test]
fn request_ids_never_collide() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let futs: Vec<_> = (0..50)
        .map(|n| {
            let client = h.client().clone();
            let mut f = Box::pin(async move { client.request(chat(n)).await });
            assert!(poll_once(&mut f).is_none());
            f
        })
        .collect();
    let ids: std::collections::BTreeSet<String> =
        h.take_sent().into_iter().filter_map(|f| f.req_id).collect();
    assert_eq!(ids.len(), 50);
    drop(futs);
}

#[test]
fn a_sent_request_times_out_from_when_it_was_sent() {
    let h = Harness::new(config());
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    h.client().connect();
    h.advance(1_000); // waited in the outbox
    h.open();
    h.advance_alive(1_499);
    assert!(
        poll_once(&mut fut).is_none(),
        "1.5 s from the send, not from the call"
    );
    h.advance(1);
    assert_eq!(
        poll_once(&mut fut).unwrap(),
        Err(RequestError::Timeout {
            after: Millis(1_500)
        })
    );
    assert_eq!(h.client().metrics().pending_requests, 0);
}

#[test]
fn a_request_queued_while_disconnected_expires_unsent() {
    let h = Harness::new(config());
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    h.client().connect();
    h.advance(3_999);
    assert!(poll_once(&mut fut).is_none());
    h.advance(1);
    let err = poll_once(&mut fut).unwrap().unwrap_err();
    assert_eq!(
        err,
        RequestError::Expired {
            waited: Millis(4_000)
        }
    );
    assert_eq!(err.to_string(), "not sent: still disconnected after 4 s");
    assert_eq!(h.client().metrics().outbox_len, 0);
}

#[test]
fn a_request_fails_with_disconnected_when_its_socket_closes() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    h.server_closes(1006);
    let err = poll_once(&mut fut).unwrap().unwrap_err();
    assert_eq!(err, RequestError::Disconnected);
    assert!(err.to_string().starts_with("sent, but"));
}

#[test]
fn a_queued_request_survives_until_sent_and_answered() {
    let mut h = Harness::new(config());
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    h.connect_and_open();
    let req_id = h
        .take_sent()
        .into_iter()
        .find(|f| f.kind == "send_message")
        .and_then(|f| f.req_id)
        .unwrap();
    h.server_sends(&error_reply(&req_id, "NOT_FOUND", ""));
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

#[test]
fn a_frame_exactly_at_the_size_limit_is_sent() {
    let exact = chat(1).with_ts(T0).encode().len();
    let mut cfg = config();
    cfg.max_frame_bytes = exact;
    let mut h = Harness::new(cfg);
    h.connect_and_open();
    h.take_sent();
    assert_eq!(
        h.now(),
        T0,
        "the frame is stamped with the harness's start time"
    );
    assert_eq!(h.client().send(chat(1)), Ok(()));
    let mut cfg = config();
    cfg.max_frame_bytes = exact - 1;
    let h = Harness::new(cfg);
    assert_eq!(h.client().send(chat(1)), Err(SendError::TooLarge(exact)));
}

#[test]
fn expired_requests_are_reported_to_their_callers_only() {
    let h = Harness::new(config());
    let errors = Rc::new(RefCell::new(Vec::new()));
    let sink = errors.clone();
    let _g = h
        .client()
        .on_error(move |e| sink.borrow_mut().push(e.clone()));
    h.client().connect();
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    assert_eq!(h.client().metrics().outbox_len, 1);
    h.advance(4_000);
    assert!(matches!(poll_once(&mut fut), Some(Err(_))));
    assert!(errors.borrow().is_empty(), "{:?}", errors.borrow());
    assert_eq!(h.client().metrics().outbox_len, 0);
}

#[test]
fn a_request_awaiting_its_reply_counts_as_pending_until_its_socket_closes() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    assert_eq!(h.client().metrics().pending_requests, 1);
    h.server_closes(1000);
    assert_eq!(h.client().metrics().pending_requests, 0);
    assert!(matches!(poll_once(&mut fut), Some(Err(_))));
}

#[test]
fn a_garbled_error_answering_a_request_settles_it_and_is_not_counted_malformed() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.take_new_calls();
    let client = h.client().clone();
    let mut fut = Box::pin(async move { client.request(chat(1)).await });
    assert!(poll_once(&mut fut).is_none());
    let req_id = h.take_sent()[0].req_id.clone().unwrap();
    h.server_sends(
        &serde_json::json!({"v":1,"type":"error","topic":"system","ts":0,"req_id":req_id,"data":"garbled"})
            .to_string(),
    );
    assert!(poll_once(&mut fut).is_some(), "settled by its answer");
    assert_eq!(h.client().metrics().counters.malformed_frames, 0);
}
