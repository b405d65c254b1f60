//! The per-view managers on a fake driver: the dashboard follows agents as they are created and
//! deleted; the chat merges history with live events, streams, and optimistic sends, and a
//! thread switch loses and repeats nothing.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use serde_json::json;
use support::*;
use tether::protocol::model::{Agent, ChatMessage};
use tether::protocol::{ClientMessage, Message};
use tether::views::{ChatViewWsManager, DashboardWsManager, Delivery};

fn agent(id: u64, status: &str, updated_at: u64) -> Agent {
    Agent {
        id,
        owner_id: 1,
        name: format!("a{id}"),
        status: status.into(),
        created_at: 0,
        updated_at,
    }
}

fn send_json(h: &Harness, v: serde_json::Value) {
    h.server_sends(&v.to_string());
}

fn topics_of(frames: &[tether::protocol::ClientFrame]) -> Vec<(String, Vec<String>)> {
    frames
        .iter()
        .filter_map(|f| match &f.msg {
            ClientMessage::Subscribe(s) => Some(("subscribe".into(), s.topics.clone())),
            ClientMessage::Unsubscribe(u) => Some(("unsubscribe".into(), u.topics.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_dashboard_follows_agents_as_they_come_and_go() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let changes = Rc::new(Cell::new(0));
    let c = changes.clone();
    let dash = DashboardWsManager::mount(&h.app.topics, 1, move || c.set(c.get() + 1));
    dash.load(vec![agent(1, "idle", 1), agent(2, "idle", 1)]);
    h.end_tick();
    assert_eq!(
        topics_of(&h.take_sent()),
        [(
            "subscribe".into(),
            vec!["agent:1".into(), "agent:2".into(), "user:1".into()]
        )]
    );

    send_json(
        &h,
        json!({"v":1,"type":"agent_created","topic":"user:1","req_id":null,"ts":0,"seq":1,
        "data":{"id":3,"owner_id":1,"name":"new","status":"idle","created_at":0,"updated_at":0}}),
    );
    h.end_tick();
    assert_eq!(
        topics_of(&h.take_sent()),
        [("subscribe".into(), vec!["agent:3".into()])]
    );

    send_json(
        &h,
        json!({"v":1,"type":"run_update","topic":"agent:1","req_id":null,"ts":0,"seq":1,
        "data":{"agent_id":1,"run_id":7,"status":"running","progress":50}}),
    );
    send_json(
        &h,
        json!({"v":1,"type":"agent_updated","topic":"agent:1","req_id":null,"ts":0,"seq":2,
        "data":{"id":1,"owner_id":1,"name":"a1","status":"running","created_at":0,"updated_at":9}}),
    );
    send_json(
        &h,
        json!({"v":1,"type":"agent_deleted","topic":"agent:2","req_id":null,"ts":0,"seq":1,"data":{"id":2}}),
    );
    h.end_tick();
    assert_eq!(
        topics_of(&h.take_sent()),
        [("unsubscribe".into(), vec!["agent:2".into()])]
    );

    let model = dash.model();
    let ids: Vec<u64> = model.agents().map(|r| r.agent.id).collect();
    assert_eq!(ids, [1, 3]);
    assert_eq!(model.agent(1).unwrap().agent.status, "running");
    assert_eq!(model.agent(1).unwrap().run.as_ref().unwrap().progress, 50);
    assert_eq!(dash.subscribed_agents(), [1, 3]);
    assert!(changes.get() >= 5);

    drop(dash);
    h.end_tick();
    assert_eq!(
        h.app.topics.total_handlers(),
        0,
        "unmount drops every handler"
    );
    let sent = topics_of(&h.take_sent());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "unsubscribe");
}

#[test]
fn a_stale_rest_list_does_not_undo_a_newer_live_update() {
    let h = Harness::new(config());
    let dash = DashboardWsManager::mount(&h.app.topics, 1, || {});
    dash.load(vec![agent(1, "running", 10)]);
    dash.load(vec![agent(1, "idle", 5)]);
    assert_eq!(dash.model().agent(1).unwrap().agent.status, "running");
}

fn msg(id: u64, role: &str, content: &str) -> ChatMessage {
    ChatMessage {
        id,
        thread_id: 10,
        role: role.into(),
        content: content.into(),
        created_at: 0,
    }
}

fn thread_message(seq: u64, id: u64, content: &str, req_id: Option<&str>) -> serde_json::Value {
    json!({"v":1,"type":"thread_message","topic":"thread:10","req_id":req_id,"ts":0,"seq":seq,
        "data":{"id":id,"thread_id":10,"role":"user","content":content,"created_at":0}})
}

fn ack_thread(h: &mut Harness, seq: u64) {
    h.end_tick();
    let sent = h.take_sent();
    let (_, _, mid) = subscribe_parts(sent.iter().find(|f| f.msg.kind() == "subscribe").unwrap());
    h.ack(&mid, &[("thread:10", seq)]);
}

fn contents(chat: &ChatViewWsManager) -> Vec<String> {
    chat.model()
        .entries()
        .iter()
        .map(|e| e.content.clone())
        .collect()
}

#[test]
fn events_during_the_history_load_are_neither_lost_nor_doubled() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let chat = ChatViewWsManager::mount(&h.app.topics, 10, || {});
    ack_thread(&mut h, 5);
    // While the REST history is in flight, two messages arrive: one the history will include.
    send_json(&h, thread_message(6, 106, "in history too", None));
    send_json(&h, thread_message(7, 107, "after history", None));
    assert_eq!(chat.model().buffered(), 2);
    chat.load_history(
        vec![msg(105, "user", "old"), msg(106, "user", "in history too")],
        6,
    );
    assert_eq!(contents(&chat), ["old", "in history too", "after history"]);
    send_json(&h, thread_message(7, 107, "after history", None)); // a duplicate by seq
    send_json(&h, thread_message(8, 108, "live", None));
    assert_eq!(
        contents(&chat),
        ["old", "in history too", "after history", "live"]
    );
}

#[test]
fn a_streamed_reply_grows_one_assistant_message() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let chat = ChatViewWsManager::mount(&h.app.topics, 10, || {});
    ack_thread(&mut h, 0);
    chat.load_history(vec![], 0);
    let stream = |seq: u64, kind: &str, data: serde_json::Value| json!({"v":1,"type":kind,"topic":"thread:10","req_id":null,"ts":0,"seq":seq,"data":data});
    send_json(
        &h,
        stream(1, "stream_start", json!({"thread_id":10,"message_id":200})),
    );
    for (i, token) in ["Hel", "lo", "!"].iter().enumerate() {
        send_json(
            &h,
            stream(
                2 + i as u64,
                "stream_chunk",
                json!({"thread_id":10,"message_id":200,"content":token,"chunk_type":"assistant_token"}),
            ),
        );
        assert_eq!(chat.model().entries()[0].delivery, Delivery::Streaming);
    }
    send_json(
        &h,
        stream(5, "stream_end", json!({"thread_id":10,"message_id":200})),
    );
    let model = chat.model();
    assert_eq!(model.entries().len(), 1);
    assert_eq!(model.entries()[0].content, "Hello!");
    assert_eq!(model.entries()[0].role, "assistant");
    assert_eq!(model.entries()[0].delivery, Delivery::Confirmed);
}

/// Polls a future once with a no-op waker.
fn poll_once<F: std::future::Future>(fut: &mut std::pin::Pin<Box<F>>) -> bool {
    let waker = std::task::Waker::noop();
    fut.as_mut()
        .poll(&mut std::task::Context::from_waker(waker))
        .is_ready()
}

#[test]
fn an_optimistic_send_is_pending_then_confirmed_once() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let chat = Rc::new(ChatViewWsManager::mount(&h.app.topics, 10, || {}));
    ack_thread(&mut h, 0);
    chat.load_history(vec![], 0);
    let c = chat.clone();
    let mut fut = Box::pin(async move { c.send("hi there".into()).await });
    assert!(!poll_once(&mut fut));
    assert_eq!(chat.model().entries()[0].delivery, Delivery::Pending);
    let req_id = h
        .take_sent()
        .iter()
        .find(|f| f.msg.kind() == "send_message")
        .unwrap()
        .req_id
        .clone()
        .unwrap();
    send_json(&h, thread_message(1, 300, "hi there", Some(&req_id)));
    assert!(poll_once(&mut fut));
    let model = chat.model();
    assert_eq!(model.entries().len(), 1, "{:?}", model.entries());
    assert_eq!(model.entries()[0].id, Some(300));
    assert_eq!(model.entries()[0].delivery, Delivery::Confirmed);
}

#[test]
fn a_failed_send_is_marked_failed_and_kept() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let chat = Rc::new(ChatViewWsManager::mount(&h.app.topics, 10, || {}));
    ack_thread(&mut h, 0);
    chat.load_history(vec![], 0);
    let c = chat.clone();
    let mut fut = Box::pin(async move { c.send("nope".into()).await });
    assert!(!poll_once(&mut fut));
    let req_id = h
        .take_sent()
        .iter()
        .find(|f| f.msg.kind() == "send_message")
        .unwrap()
        .req_id
        .clone()
        .unwrap();
    send_json(
        &h,
        json!({"v":1,"type":"error","topic":null,"req_id":req_id,"ts":0,"data":{"error":"FORBIDDEN","details":"not your thread"}}),
    );
    assert!(poll_once(&mut fut));
    assert_eq!(
        chat.model().entries()[0].delivery,
        Delivery::Failed("not your thread".into())
    );
    assert_eq!(chat.model().entries()[0].content, "nope");
}

#[test]
fn switching_threads_swaps_the_subscription_in_one_tick() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let a = ChatViewWsManager::mount(&h.app.topics, 10, || {});
    h.end_tick();
    h.take_sent();
    // The view switches: the new thread mounts before the old one unmounts, in one tick.
    let b = ChatViewWsManager::mount(&h.app.topics, 11, || {});
    drop(a);
    h.end_tick();
    let sent = topics_of(&h.take_sent());
    assert_eq!(
        sent,
        [
            ("unsubscribe".into(), vec!["thread:10".into()]),
            ("subscribe".into(), vec!["thread:11".into()])
        ]
    );
    assert_eq!(h.app.topics.handler_count(&topic("thread:10")), 0);
    assert_eq!(b.thread_id(), 11);
}

#[test]
fn resync_required_marks_the_chat_stale_and_buffers_until_reloaded() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let chat = ChatViewWsManager::mount(&h.app.topics, 10, || {});
    ack_thread(&mut h, 0);
    chat.load_history(vec![], 0);
    send_json(
        &h,
        json!({"v":1,"type":"resync_required","topic":"thread:10","req_id":null,"ts":0,"data":{"topic":"thread:10","seq":50}}),
    );
    assert!(chat.is_stale());
    send_json(&h, thread_message(51, 151, "new", None));
    assert_eq!(chat.model().buffered(), 1);
    chat.load_history(vec![msg(150, "user", "refetched")], 50);
    assert!(!chat.is_stale());
    assert_eq!(contents(&chat), ["refetched", "new"]);
}
