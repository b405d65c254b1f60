//! The agents platform's managers on a fake driver: the dashboard follows agents as they come
//! and go; the chat merges its history with live events, streams, and optimistic sends; and
//! both load their REST snapshot only once their topic is active, so that nothing published
//! between the snapshot and the subscription is lost, even when the view mounts offline.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde_json::json;
use support::*;
use tether_client::agents::{ChatViewWsManager, DashboardWsManager, Delivery};
use tether_client::live::{LoadState, LoadTicket};
use tether_client::protocol::agents::model::{Agent, ChatMessage};
use tether_client::protocol::control::Control;
use tether_client::protocol::Envelope;

fn agent(id: u64, status: &str, updated_at: u64) -> Agent {
    serde_json::from_value(json!({"id":id,"owner_id":1,"name":format!("a{id}"),"status":status,"updated_at":updated_at}))
        .unwrap()
}

fn send_json(h: &Harness, v: serde_json::Value) {
    h.server_sends(&v.to_string());
}

fn topics_of(frames: &[Envelope]) -> Vec<(String, Vec<String>)> {
    frames
        .iter()
        .filter_map(|f| match Control::parse(f) {
            Some(Ok(Control::Subscribe(s))) => Some((
                "subscribe".into(),
                s.topics.iter().map(|t| t.to_string()).collect(),
            )),
            Some(Ok(Control::Unsubscribe(u))) => Some((
                "unsubscribe".into(),
                u.topics.iter().map(|t| t.to_string()).collect(),
            )),
            _ => None,
        })
        .collect()
}

/// A load callback that records its tickets.
fn loads() -> (Rc<RefCell<Vec<LoadTicket>>>, impl Fn(LoadTicket) + 'static) {
    let tickets = Rc::new(RefCell::new(Vec::new()));
    let sink = tickets.clone();
    (tickets, move |t| sink.borrow_mut().push(t))
}

#[test]
fn the_dashboard_follows_agents_as_they_come_and_go() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let changes = Rc::new(Cell::new(0));
    let c = changes.clone();
    let (tickets, load) = loads();
    let dash = DashboardWsManager::mount(&h.app.topics, 1, move || c.set(c.get() + 1), load);
    h.end_tick();
    assert_eq!(
        topics_of(&h.take_sent()),
        [("subscribe".into(), vec!["user:1".into()])]
    );
    assert!(
        tickets.borrow().is_empty(),
        "no list before user:1 is active"
    );
    h.ack("s1", &[("user:1", 0)]);
    let ticket = tickets.borrow()[0];
    dash.load_agents(
        ticket,
        vec![agent(1, "idle", 1), agent(2, "idle", 1)],
        Some(0),
    );
    h.end_tick();
    assert_eq!(
        topics_of(&h.take_sent()),
        [("subscribe".into(), vec!["agent:1".into(), "agent:2".into()])]
    );
    send_json(
        &h,
        json!({"v":1,"type":"agent_created","topic":"user:1","ts":0,"seq":1,
        "data":{"id":3,"owner_id":1,"name":"new","status":"idle"}}),
    );
    h.end_tick();
    assert_eq!(
        topics_of(&h.take_sent()),
        [("subscribe".into(), vec!["agent:3".into()])]
    );
    send_json(
        &h,
        json!({"v":1,"type":"run_update","topic":"agent:1","ts":0,"seq":1,
        "data":{"id":7,"agent_id":1,"status":"running","progress":50}}),
    );
    send_json(
        &h,
        json!({"v":1,"type":"agent_updated","topic":"agent:1","ts":0,"seq":2,
        "data":{"id":1,"status":"running","updated_at":9}}),
    );
    send_json(
        &h,
        json!({"v":1,"type":"agent_deleted","topic":"agent:2","ts":0,"seq":1,"data":{"id":2}}),
    );
    h.end_tick();
    assert_eq!(
        topics_of(&h.take_sent()),
        [("unsubscribe".into(), vec!["agent:2".into()])]
    );
    let model = dash.model();
    let ids: Vec<u64> = model.agents().map(|r| r.agent.id).collect();
    assert_eq!(ids, [1, 3]);
    let one = &model.agent(1).unwrap();
    assert_eq!(one.agent.status.as_deref(), Some("running"));
    assert_eq!(
        one.agent.name.as_deref(),
        Some("a1"),
        "a partial update keeps the name"
    );
    assert_eq!(one.run.as_ref().unwrap().progress, Some(50));
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
    let mut model = tether_client::agents::DashboardModel::default();
    model.load(vec![agent(1, "running", 10)]);
    model.load(vec![agent(1, "idle", 5)]);
    assert_eq!(
        model.agent(1).unwrap().agent.status.as_deref(),
        Some("running")
    );
}

/// An agent whose data carries its latest run, as tether's stub sends it.
fn agent_with_run(id: u64, updated_at: u64, run: u64, status: &str, progress: u8) -> Agent {
    serde_json::from_value(json!({"id":id,"owner_id":1,"name":format!("a{id}"),"status":"running",
        "updated_at":updated_at,"last_run":{"id":run,"agent_id":id,"status":status,"progress":progress}}))
    .unwrap()
}

fn run_of(model: &tether_client::agents::DashboardModel, id: u64) -> Option<(u64, String, u8)> {
    let run = model.agent(id)?.run.clone()?;
    Some((run.id, run.status, run.progress.unwrap_or(0)))
}

#[test]
fn a_dashboard_mounted_again_shows_the_runs_its_agents_carry() {
    // A new model (the dashboard mounted again) learns each run from the REST list.
    let mut model = tether_client::agents::DashboardModel::default();
    model.load(vec![agent_with_run(1, 10, 7, "running", 50)]);
    assert_eq!(run_of(&model, 1), Some((7, "running".into(), 50)));
    // The snapshot on subscribe carries it too, further along.
    let snapshot = json!({"v":1,"type":"agent_state","topic":"agent:1","ts":0,
        "data":{"id":1,"status":"running","updated_at":10,
                "last_run":{"id":7,"agent_id":1,"status":"running","progress":75}}});
    model.apply(&tether_client::protocol::Frame::decode(&snapshot.to_string()).unwrap());
    assert_eq!(run_of(&model, 1), Some((7, "running".into(), 75)));
    // A list fetched before that does not take the run back; a list with a later run does.
    model.load(vec![agent_with_run(1, 10, 7, "running", 25)]);
    assert_eq!(run_of(&model, 1), Some((7, "running".into(), 75)));
    model.load(vec![agent_with_run(1, 12, 8, "queued", 0)]);
    assert_eq!(run_of(&model, 1), Some((8, "queued".into(), 0)));
}

fn msg(id: u64, role: &str, content: &str) -> ChatMessage {
    ChatMessage {
        id,
        thread_id: 10,
        role: role.into(),
        content: content.into(),
        created_at: None,
    }
}

fn thread_message(seq: u64, id: u64, content: &str, req_id: Option<&str>) -> serde_json::Value {
    let mut v = json!({"v":1,"type":"thread_message","topic":"thread:10","ts":0,"seq":seq,
        "data":{"id":id,"thread_id":10,"role":"user","content":content,"created_at":0}});
    if let Some(r) = req_id {
        v["req_id"] = r.into();
    }
    v
}

fn contents(chat: &ChatViewWsManager) -> Vec<String> {
    chat.model()
        .entries()
        .iter()
        .map(|e| e.content.clone())
        .collect()
}

/// Mounts a chat on thread 10 and acknowledges its topic at `seq`; returns it with its ticket.
fn mounted_chat(h: &mut Harness, seq: u64) -> (ChatViewWsManager, LoadTicket) {
    let (tickets, load) = loads();
    let chat = ChatViewWsManager::mount(&h.app.topics, 10, || {}, load);
    h.end_tick();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.ack(&mid, &[("thread:10", seq)]);
    let ticket = tickets.borrow()[0];
    (chat, ticket)
}

#[test]
fn events_during_the_history_load_are_neither_lost_nor_doubled() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let (chat, ticket) = mounted_chat(&mut h, 5);
    // While the REST history is in flight, two messages arrive: one the history will include.
    send_json(&h, thread_message(6, 106, "in history too", None));
    send_json(&h, thread_message(7, 107, "after history", None));
    assert_eq!(chat.load_state(), LoadState::Loading);
    chat.load_history(
        ticket,
        vec![msg(105, "user", "old"), msg(106, "user", "in history too")],
        Some(6),
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
fn a_chat_mounted_offline_loses_nothing_posted_before_the_reconnect() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    h.server_closes(1006); // the socket is down
    let (tickets, load) = loads();
    let chat = ChatViewWsManager::mount(&h.app.topics, 10, || {}, load);
    h.end_tick();
    assert!(
        tickets.borrow().is_empty(),
        "no history while the subscription cannot take effect"
    );
    // Messages 1..=3 are posted while the client is away; the server's thread is at seq 3.
    h.until_retry();
    h.open_raw();
    let (_, since, mid) = first_subscribe(&h.take_sent());
    assert_eq!(since, None, "a new topic: no since");
    h.ack(&mid, &[("thread:10", 3)]);
    send_json(&h, thread_message(4, 104, "while loading", None));
    let ticket = tickets.borrow()[0];
    // The history is read after the subscription took effect: it holds 1..=4.
    chat.load_history(
        ticket,
        vec![
            msg(101, "user", "a"),
            msg(102, "user", "b"),
            msg(103, "user", "c"),
            msg(104, "user", "while loading"),
        ],
        Some(4),
    );
    send_json(&h, thread_message(5, 105, "live", None));
    assert_eq!(contents(&chat), ["a", "b", "c", "while loading", "live"]);
}

#[test]
fn a_streamed_reply_grows_one_assistant_message_in_either_shape() {
    for origin in [false, true] {
        let mut h = Harness::new(config());
        h.connect_and_open();
        let (chat, ticket) = mounted_chat(&mut h, 0);
        chat.load_history(ticket, vec![], Some(0));
        let stream = |seq: u64, kind: &str, data: serde_json::Value| json!({"v":1,"type":kind,"topic":"thread:10","ts":0,"seq":seq,"data":data});
        let id = |v: serde_json::Value| {
            if origin {
                let mut v = v;
                v.as_object_mut().unwrap().remove("message_id");
                v
            } else {
                v
            }
        };
        send_json(
            &h,
            stream(
                1,
                "stream_start",
                id(json!({"thread_id":10,"message_id":200})),
            ),
        );
        if origin {
            send_json(
                &h,
                stream(2, "assistant_id", json!({"thread_id":10,"message_id":200})),
            );
        }
        for (i, token) in ["Hel", "lo", "!"].iter().enumerate() {
            send_json(
                &h,
                stream(
                    3 + i as u64,
                    "stream_chunk",
                    id(
                        json!({"thread_id":10,"message_id":200,"content":token,"chunk_type":"assistant_token"}),
                    ),
                ),
            );
            assert_eq!(chat.model().entries()[0].delivery, Delivery::Streaming);
        }
        send_json(
            &h,
            stream(
                6,
                "stream_end",
                id(json!({"thread_id":10,"message_id":200})),
            ),
        );
        let model = chat.model();
        assert_eq!(model.entries().len(), 1, "origin {origin}");
        assert_eq!(model.entries()[0].id, Some(200));
        assert_eq!(model.entries()[0].content, "Hello!");
        assert_eq!(model.entries()[0].role, "assistant");
        assert_eq!(model.entries()[0].delivery, Delivery::Confirmed);
    }
}

#[test]
fn an_optimistic_send_is_pending_then_confirmed_once() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let (chat, ticket) = mounted_chat(&mut h, 0);
    let chat = Rc::new(chat);
    chat.load_history(ticket, vec![], Some(0));
    let c = chat.clone();
    let mut fut = Box::pin(async move { c.send("hi there".into()).await });
    assert!(poll_once(&mut fut).is_none());
    assert_eq!(chat.model().entries()[0].delivery, Delivery::Pending);
    let req_id = h
        .take_sent()
        .into_iter()
        .find(|f| f.kind == "send_message")
        .unwrap()
        .req_id
        .unwrap();
    send_json(&h, thread_message(1, 300, "hi there", Some(&req_id)));
    assert!(poll_once(&mut fut).is_some());
    let model = chat.model();
    assert_eq!(model.entries().len(), 1, "{:?}", model.entries());
    assert_eq!(model.entries()[0].id, Some(300));
    assert_eq!(model.entries()[0].delivery, Delivery::Confirmed);
}

#[test]
fn a_message_typed_offline_waits_and_is_sent_once_on_reconnect() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let (chat, ticket) = mounted_chat(&mut h, 0);
    let chat = Rc::new(chat);
    chat.load_history(ticket, vec![], Some(0));
    h.server_closes(1006);
    let c = chat.clone();
    let mut fut = Box::pin(async move { c.send("typed offline".into()).await });
    assert!(poll_once(&mut fut).is_none());
    assert_eq!(
        chat.model().entries()[0].delivery,
        Delivery::Pending,
        "not failed at once"
    );
    h.until_retry();
    h.open();
    let sends: Vec<Envelope> = h
        .take_sent()
        .into_iter()
        .filter(|f| f.kind == "send_message")
        .collect();
    assert_eq!(sends.len(), 1);
    send_json(
        &h,
        thread_message(1, 301, "typed offline", sends[0].req_id.as_deref()),
    );
    assert!(poll_once(&mut fut).is_some());
    assert_eq!(chat.model().entries()[0].delivery, Delivery::Confirmed);
}

#[test]
fn a_failed_send_says_why_and_can_be_retried() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let (chat, ticket) = mounted_chat(&mut h, 0);
    let chat = Rc::new(chat);
    chat.load_history(ticket, vec![], Some(0));
    let c = chat.clone();
    let mut fut = Box::pin(async move { c.send("nope".into()).await });
    assert!(poll_once(&mut fut).is_none());
    let req_id = h
        .take_sent()
        .into_iter()
        .find(|f| f.kind == "send_message")
        .unwrap()
        .req_id
        .unwrap();
    send_json(
        &h,
        json!({"v":1,"type":"error","topic":"system","req_id":req_id,"ts":0,
        "data":{"error":"FORBIDDEN","details":{"message":"not your thread"}}}),
    );
    assert!(poll_once(&mut fut).is_some());
    let entry = chat.model().entries()[0].clone();
    assert_eq!(entry.delivery, Delivery::Failed("not your thread".into()));
    assert_eq!(entry.content, "nope");
    let c = chat.clone();
    let local = entry.local_id.unwrap();
    let mut fut = Box::pin(async move { c.retry(local).await });
    assert!(poll_once(&mut fut).is_none());
    assert_eq!(chat.model().entries()[0].delivery, Delivery::Pending);
    let req_id = h
        .take_sent()
        .into_iter()
        .find(|f| f.kind == "send_message")
        .unwrap()
        .req_id
        .unwrap();
    send_json(&h, thread_message(1, 302, "nope", Some(&req_id)));
    assert!(poll_once(&mut fut).is_some());
    assert_eq!(chat.model().entries().len(), 1);
    assert_eq!(chat.model().entries()[0].delivery, Delivery::Confirmed);
}

#[test]
fn switching_threads_swaps_the_subscription_in_one_tick() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let a = ChatViewWsManager::mount(&h.app.topics, 10, || {}, |_| {});
    h.end_tick();
    h.take_sent();
    // The view switches: the new thread mounts before the old one unmounts, in one tick.
    let b = ChatViewWsManager::mount(&h.app.topics, 11, || {}, |_| {});
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
fn resync_required_reloads_the_history_and_holds_events_until_then() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let (tickets, load) = loads();
    let chat = ChatViewWsManager::mount(&h.app.topics, 10, || {}, load);
    h.end_tick();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.ack(&mid, &[("thread:10", 0)]);
    chat.load_history(tickets.borrow()[0], vec![], Some(0));
    send_json(
        &h,
        json!({"v":1,"type":"resync_required","topic":"thread:10","ts":0,"data":{"topic":"thread:10","seq":50}}),
    );
    assert_eq!(chat.load_state(), LoadState::Loading);
    assert_eq!(tickets.borrow().len(), 2, "a second load");
    send_json(&h, thread_message(51, 151, "new", None));
    chat.load_history(
        tickets.borrow()[1],
        vec![msg(150, "user", "refetched")],
        Some(50),
    );
    assert_eq!(chat.load_state(), LoadState::Live);
    assert_eq!(contents(&chat), ["refetched", "new"]);
}

#[test]
fn a_message_sent_offline_takes_its_stored_place_once_confirmed() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let (chat, ticket) = mounted_chat(&mut h, 0);
    let chat = Rc::new(chat);
    chat.load_history(ticket, vec![], Some(0));
    h.server_closes(1006);
    let c = chat.clone();
    let mut fut = Box::pin(async move { c.send("mine".into()).await });
    assert!(poll_once(&mut fut).is_none());
    h.until_retry();
    h.open_raw();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.ack(&mid, &[("thread:10", 0)]);
    // Stored while this client was away, replayed first; then this client's message.
    send_json(&h, thread_message(1, 501, "someone else's", None));
    let req_id = h
        .take_sent()
        .into_iter()
        .find(|f| f.kind == "send_message")
        .unwrap()
        .req_id
        .unwrap();
    send_json(&h, thread_message(2, 502, "mine", Some(&req_id)));
    assert!(poll_once(&mut fut).is_some());
    assert_eq!(contents(&chat), ["someone else's", "mine"]);
    let ids: Vec<Option<u64>> = chat.model().entries().iter().map(|e| e.id).collect();
    assert_eq!(ids, [Some(501), Some(502)]);
}

/// The server acknowledges `thread:10` at `seq` in history epoch `epoch`.
fn ack_in_epoch(h: &Harness, message_id: &str, seq: u64, epoch: &str) {
    send_json(
        h,
        json!({"v":1,"type":"subscribe_ack","topic":"system","ts":0,"data":{
            "message_id":message_id,"topics":["thread:10"],"seqs":{"thread:10":seq},"epoch":epoch}}),
    );
}

#[test]
fn a_chat_says_when_the_server_lost_its_history_and_not_for_a_mere_gap() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let (tickets, load) = loads();
    let chat = ChatViewWsManager::mount(&h.app.topics, 10, || {}, load);
    h.end_tick();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    ack_in_epoch(&h, &mid, 5, "boot1.0");
    chat.load_history(tickets.borrow()[0], vec![msg(105, "user", "old")], Some(5));
    // A gap the server cannot replay is not a lost history.
    send_json(
        &h,
        json!({"v":1,"type":"resync_required","topic":"thread:10","ts":0,"data":{"topic":"thread:10","seq":9}}),
    );
    chat.load_history(tickets.borrow()[1], vec![msg(105, "user", "old")], Some(9));
    assert!(!chat.model().history_lost());
    // The server restarts without its history and, by the time the client is back, has
    // published more on the thread than the client had seen: only the epoch tells.
    h.server_closes(1012);
    h.until_retry();
    h.open_raw();
    let (_, since, mid) = first_subscribe(&h.take_sent());
    assert_eq!(since.unwrap()["thread:10"], 9);
    ack_in_epoch(&h, &mid, 12, "boot2.0");
    assert!(chat.model().history_lost(), "a new epoch");
    assert_eq!(tickets.borrow().len(), 3, "and the history reloads");
}
