//! How the chat posts a message (`agents::posting`), on a fake clock: over the socket to a
//! server that acknowledged a subscription (tether's extensions), over the app's REST call to
//! one that did not (the origin, whose socket refuses the contract's `send_message`). A
//! message confirmed by its REST answer takes the place the server stored it at, before the
//! reply that streamed in while the REST call was still running.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures_channel::oneshot;
use serde_json::json;
use support::*;
use tether_client::agents::{ChatViewWsManager, Delivery};
use tether_client::live::LoadTicket;
use tether_client::protocol::agents::model::ChatMessage;

/// The REST posts waiting for the test's answer.
type Answers = Rc<RefCell<Vec<oneshot::Sender<ChatMessage>>>>;

/// The history loads the chat asked for.
type Tickets = Rc<RefCell<Vec<LoadTicket>>>;

/// Mounts a chat on thread 10 whose REST posts are handed to the test: each call is counted
/// and answered when the test sends on the channel it leaves in `answers`.
fn chat_with_rest(h: &Harness) -> (Rc<ChatViewWsManager>, Tickets, Rc<Cell<usize>>, Answers) {
    let tickets: Rc<RefCell<Vec<LoadTicket>>> = Rc::default();
    let sink = tickets.clone();
    let chat = Rc::new(ChatViewWsManager::mount(
        &h.app.topics,
        10,
        || {},
        move |t| sink.borrow_mut().push(t),
    ));
    let (calls, answers) = (Rc::new(Cell::new(0)), Rc::new(RefCell::new(Vec::new())));
    let (count, pending) = (calls.clone(), answers.clone());
    chat.post_without_extensions(&h.app, move |thread, _content| {
        assert_eq!(thread, 10);
        count.set(count.get() + 1);
        let (tx, rx) = oneshot::channel();
        pending.borrow_mut().push(tx);
        Box::pin(async move { rx.await.map_err(|_| "dropped".to_owned()) })
    });
    h.end_tick();
    (chat, tickets, calls, answers)
}

fn kinds(sent: &[tether_client::protocol::Envelope]) -> Vec<&str> {
    sent.iter().map(|f| f.kind.as_str()).collect()
}

#[test]
fn a_server_with_extensions_gets_the_message_over_the_socket() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let (chat, tickets, calls, _) = chat_with_rest(&h);
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.ack(&mid, &[("thread:10", 0)]);
    chat.load_history(tickets.borrow()[0], vec![], Some(0));
    let c = chat.clone();
    let mut fut = Box::pin(async move { c.send("over the socket".into()).await });
    assert!(poll_once(&mut fut).is_none());
    let sent = h.take_sent();
    assert_eq!(kinds(&sent), ["send_message"]);
    assert_eq!(calls.get(), 0, "no REST post");
    let req_id = sent[0].req_id.clone().unwrap();
    h.server_sends(&json!({"v":1,"type":"thread_message","topic":"thread:10","ts":0,"seq":1,
        "req_id":req_id,"data":{"id":300,"thread_id":10,"role":"user","content":"over the socket","created_at":0}})
    .to_string());
    assert!(poll_once(&mut fut).is_some());
    assert_eq!(chat.model().entries()[0].delivery, Delivery::Confirmed);
}

#[test]
fn a_server_without_them_gets_it_over_rest_and_the_reply_follows_it() {
    let mut h = Harness::new(config());
    h.app.client.connect();
    h.open_raw();
    let (chat, tickets, calls, answers) = chat_with_rest(&h);
    // The origin answers no subscribe: the pong to the ping after it activates the topic.
    let sent = h.take_sent();
    for ping in sent.iter().filter(|f| f.kind == "ping") {
        h.server_sends(&pong_for(ping.req_id.as_deref().unwrap(), 0));
    }
    assert_eq!(
        h.app.client.metrics().replay,
        tether_client::Replay::NotOffered
    );
    let history = vec![ChatMessage {
        id: 100,
        thread_id: 10,
        role: "assistant".into(),
        content: "Hello".into(),
        created_at: Default::default(),
    }];
    chat.load_history(tickets.borrow()[0], history, None);
    let c = chat.clone();
    let mut fut = Box::pin(async move { c.send("over rest".into()).await });
    assert!(poll_once(&mut fut).is_none());
    assert_eq!(calls.get(), 1, "posted over REST");
    assert!(
        !kinds(&h.take_sent()).contains(&"send_message"),
        "nothing over the socket"
    );
    // The run of the thread streams the reply (id 104) before the post's answer (id 103) is in.
    let frame = |kind: &str, data: serde_json::Value| {
        json!({"v":1,"type":kind,"topic":"thread:10","ts":0,"data":data}).to_string()
    };
    h.server_sends(&frame("stream_start", json!({"thread_id":10})));
    h.server_sends(&frame(
        "assistant_id",
        json!({"thread_id":10,"message_id":104}),
    ));
    h.server_sends(&frame(
        "stream_chunk",
        json!({"thread_id":10,"chunk_type":"assistant_token","content":"Hi"}),
    ));
    h.server_sends(&frame("stream_end", json!({"thread_id":10})));
    let stored = ChatMessage {
        id: 103,
        thread_id: 10,
        role: "user".into(),
        content: "over rest".into(),
        created_at: Default::default(),
    };
    let answer = answers.borrow_mut().remove(0);
    answer.send(stored).unwrap();
    assert!(poll_once(&mut fut).is_some());
    let model = chat.model();
    let shown: Vec<(Option<u64>, &str, &Delivery)> = model
        .entries()
        .iter()
        .map(|e| (e.id, e.content.as_str(), &e.delivery))
        .collect();
    assert_eq!(
        shown,
        [
            (Some(100), "Hello", &Delivery::Confirmed),
            (Some(103), "over rest", &Delivery::Confirmed),
            (Some(104), "Hi", &Delivery::Confirmed),
        ]
    );
}
