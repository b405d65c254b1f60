//! The client in headless Chromium against a live stub (started by `scripts/test.sh`, which
//! passes its address in at compile time as `TETHER_STUB_URL`).
//!
//! Each test acts as its own user, so the stub's per-user stats isolate it. Tests run one at a
//! time; the ones that drop every socket on the stub only disturb their own client.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use tether_client::protocol::Topic;
use tether_client::{AppState, Subscription};
use tether_client::{ConnectionState, Millis, TopicStatus};
use tether_tests::web::{
    app_for, config, post, record, seed_agents, seed_threads, seqs_of, stats, token_for, user_stat,
    wait_for, Seen,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// These tests run on the small allocator the minimal app ships with (README, "Shipping
// small"): the whole client, and the test harness, in a real browser on it.
#[global_allocator]
static ALLOC: tether_client::small_alloc::SmallAlloc =
    tether_client::small_alloc::SmallAlloc::new();

#[wasm_bindgen_test]
async fn connects_subscribes_and_receives() {
    let user = 101;
    let agent = seed_agents(user, 1).await[0];
    let app = app_for(user, |_| {}).await;
    let topic = Topic::agent(agent);
    let (_sub, seen) = record(&app, topic.clone());
    wait_for("open", 5_000, || {
        app.client.state() == ConnectionState::Open
    })
    .await;
    wait_for("ack", 5_000, || {
        app.topics.status(&topic) == Some(TopicStatus::Active)
    })
    .await;
    wait_for("snapshot", 5_000, || {
        seen.borrow().iter().any(|(k, _)| k == "agent_state")
    })
    .await;
    let published = post(&format!(
        "/api/test/publish?topic=agent:{agent}&count=5&rate=0"
    ))
    .await;
    let first = published["first_seq"].as_u64().unwrap();
    wait_for("5 events", 5_000, || {
        seqs_of(&seen, "agent_updated").len() == 5
    })
    .await;
    assert_eq!(
        seqs_of(&seen, "agent_updated"),
        (first..first + 5).collect::<Vec<_>>()
    );
    assert_eq!(user_stat(user, "connections_opened").await, 1);
    app.client.close();
}

/// With `Config::binary_frames` (the default), the stub sends binary messages (its own tests
/// check that), which the browser driver copies into wasm as bytes; without it, text. Every
/// event arrives either way.
#[wasm_bindgen_test]
async fn binary_frames_deliver_every_event_in_order() {
    frames_deliver_every_event_in_order(141, true).await;
}

#[wasm_bindgen_test]
async fn text_frames_deliver_every_event_in_order() {
    frames_deliver_every_event_in_order(143, false).await;
}

async fn frames_deliver_every_event_in_order(user: u64, binary: bool) {
    let agent = seed_agents(user, 1).await[0];
    let app = app_for(user, |c| c.binary_frames = binary).await;
    let topic = Topic::agent(agent);
    let (_sub, seen) = record(&app, topic.clone());
    wait_for("ack", 5_000, || {
        app.topics.status(&topic) == Some(TopicStatus::Active)
    })
    .await;
    let published = post(&format!(
        "/api/test/publish?topic=agent:{agent}&count=20&rate=0"
    ))
    .await;
    let first = published["first_seq"].as_u64().unwrap();
    wait_for("20 events", 5_000, || {
        seqs_of(&seen, "agent_updated").len() == 20
    })
    .await;
    assert_eq!(
        seqs_of(&seen, "agent_updated"),
        (first..first + 20).collect::<Vec<_>>()
    );
    assert_eq!(app.client.metrics().counters.malformed_frames, 0);
    app.client.close();
}

#[wasm_bindgen_test]
async fn after_a_drop_every_missed_event_arrives_once_and_in_order() {
    let user = 102;
    let agent = seed_agents(user, 1).await[0];
    let app = app_for(user, |_| {}).await;
    let topic = Topic::agent(agent);
    let (_sub, seen) = record(&app, topic.clone());
    wait_for("ack", 5_000, || {
        app.topics.status(&topic) == Some(TopicStatus::Active)
    })
    .await;
    post(&format!(
        "/api/test/publish?topic=agent:{agent}&count=10&rate=0"
    ))
    .await;
    wait_for("10 events", 5_000, || {
        seqs_of(&seen, "agent_updated").len() == 10
    })
    .await;
    // The server goes down: every socket dropped, reconnects refused for a while.
    post("/api/test/refuse?ms=1500").await;
    post("/api/test/drop").await;
    wait_for("the drop to be seen", 5_000, || {
        app.client.state() != ConnectionState::Open
    })
    .await;
    post(&format!(
        "/api/test/publish?topic=agent:{agent}&count=20&rate=0"
    ))
    .await;
    wait_for("30 events", 15_000, || {
        seqs_of(&seen, "agent_updated").len() >= 30
    })
    .await;
    TimeoutFuture::new(300).await; // any straggler duplicate would arrive now
    let got = seqs_of(&seen, "agent_updated");
    let expected: Vec<u64> = (got[0]..got[0] + 30).collect();
    assert_eq!(got, expected, "every event exactly once, in order");
    assert!(app.client.metrics().counters.reconnects >= 1);
    assert_eq!(app.client.state(), ConnectionState::Open);
    app.client.close();
}

#[wasm_bindgen_test]
async fn a_half_open_server_is_detected_and_the_socket_replaced() {
    let user = 103;
    let agent = seed_agents(user, 1).await[0];
    let (ping, pong) = (1_000u64, 500u64);
    let app = app_for(user, |c| {
        c.ping_interval = Millis(ping);
        c.pong_timeout = Millis(pong);
    })
    .await;
    let topic = Topic::agent(agent);
    let (_sub, seen) = record(&app, topic.clone());
    wait_for("ack", 5_000, || {
        app.topics.status(&topic) == Some(TopicStatus::Active)
    })
    .await;
    let started = js_sys::Date::now();
    post("/api/test/half-open").await;
    let budget = (ping + pong) as u32 + 2_000;
    wait_for("a replacement socket", budget, || {
        app.client.sockets_opened() == 2 && app.client.state() == ConnectionState::Open
    })
    .await;
    let took = js_sys::Date::now() - started;
    assert!(took <= f64::from(budget), "replaced after {took} ms");
    assert_eq!(app.client.metrics().counters.dead_connections, 1);
    wait_for("resubscribed", 5_000, || {
        app.topics.status(&topic) == Some(TopicStatus::Active)
    })
    .await;
    let before = seqs_of(&seen, "agent_updated").len();
    post(&format!(
        "/api/test/publish?topic=agent:{agent}&count=3&rate=0"
    ))
    .await;
    wait_for("events on the new socket", 5_000, || {
        seqs_of(&seen, "agent_updated").len() == before + 3
    })
    .await;
    app.client.close();
}

#[wasm_bindgen_test]
async fn a_bad_token_gives_auth_failed_without_a_retry_storm() {
    let user = 104;
    let attempts_before = stats().await["rejected_unauthorized"].as_u64().unwrap();
    let token = Rc::new(RefCell::new("not-a-jwt".to_owned()));
    let app = AppState::connect(config(token.clone()));
    wait_for("AuthFailed", 5_000, || {
        app.client.state() == ConnectionState::AuthFailed
    })
    .await;
    TimeoutFuture::new(2_000).await; // backoff base is 100 ms: a retry loop would show by now
    let rejected = stats().await["rejected_unauthorized"].as_u64().unwrap() - attempts_before;
    assert_eq!(rejected, 1, "exactly one attempt with the bad token");
    assert_eq!(app.client.sockets_opened(), 1);
    // The app refreshes its token and reconnects.
    *token.borrow_mut() = token_for(user).await;
    app.client.reconnect();
    wait_for("open with the fresh token", 5_000, || {
        app.client.state() == ConnectionState::Open
    })
    .await;
    assert_eq!(user_stat(user, "connections_opened").await, 1);
    app.client.close();
}

#[wasm_bindgen_test]
async fn a_thousand_topics_resubscribe_in_one_frame() {
    let user = 105;
    let ids = seed_agents(user, 1000).await;
    let app = app_for(user, |_| {}).await;
    let subs: Vec<(Subscription, Seen)> = ids
        .iter()
        .map(|id| record(&app, Topic::agent(*id)))
        .collect();
    let all_active = || app.client.metrics().subscriptions.active == 1000;
    wait_for("1000 acks", 10_000, all_active).await;
    assert_eq!(
        user_stat(user, "subscribe_frames_in").await,
        1,
        "one frame on first connect"
    );
    // The reconnect can be over before a poll of the state sees it (the first retry waits
    // 0–500 ms), so wait for the new socket instead: opening it reset every topic to pending.
    let sockets = app.client.sockets_opened();
    post("/api/test/drop").await;
    wait_for("the reconnect", 5_000, || {
        app.client.sockets_opened() > sockets
    })
    .await;
    wait_for("1000 acks again", 10_000, all_active).await;
    assert_eq!(
        user_stat(user, "subscribe_frames_in").await,
        2,
        "one more frame for all 1000 on reconnect"
    );
    assert_eq!(user_stat(user, "subscriptions").await, 1000);
    drop(subs);
    app.client.close();
}

#[wasm_bindgen_test]
async fn after_close_the_stub_sees_no_further_connection_attempts() {
    let user = 106;
    let agent = seed_agents(user, 1).await[0];
    let app = app_for(user, |_| {}).await;
    let (_sub, _) = record(&app, Topic::agent(agent));
    wait_for("open", 5_000, || {
        app.client.state() == ConnectionState::Open
    })
    .await;
    app.client.close();
    assert_eq!(app.client.state(), ConnectionState::Closed);
    TimeoutFuture::new(2_500).await; // longer than the whole backoff cap
    assert_eq!(user_stat(user, "connections_opened").await, 1);
    assert_eq!(user_stat(user, "connections_open").await, 0);
    assert_eq!(app.client.sockets_opened(), 1);
}

#[wasm_bindgen_test]
async fn a_malformed_frame_is_counted_and_the_client_keeps_working() {
    let user = 107;
    let agent = seed_agents(user, 1).await[0];
    let app = app_for(user, |_| {}).await;
    let topic = Topic::agent(agent);
    let (_sub, seen) = record(&app, topic.clone());
    wait_for("ack", 5_000, || {
        app.topics.status(&topic) == Some(TopicStatus::Active)
    })
    .await;
    post("/api/test/malformed").await;
    wait_for("the malformed frame", 5_000, || {
        app.client.metrics().counters.malformed_frames == 1
    })
    .await;
    post(&format!(
        "/api/test/publish?topic=agent:{agent}&count=2&rate=0"
    ))
    .await;
    wait_for("events after it", 5_000, || {
        seqs_of(&seen, "agent_updated").len() == 2
    })
    .await;
    assert_eq!(app.client.state(), ConnectionState::Open);
    assert_eq!(app.client.sockets_opened(), 1);
    app.client.close();
}

#[wasm_bindgen_test]
async fn a_relative_url_resolves_against_the_page_origin() {
    let origin = web_sys_origin();
    let expected = format!("{}/api/ws/v2", origin.replacen("http", "ws", 1));
    assert_eq!(tether_client::web::resolve_url("/api/ws/v2"), expected);
    assert_eq!(
        tether_client::web::resolve_url("wss://example.test/x"),
        "wss://example.test/x"
    );
    assert_eq!(
        tether_client::web::resolve_url("https://example.test/x"),
        "wss://example.test/x"
    );
}

fn web_sys_origin() -> String {
    js_sys::eval("location.origin")
        .unwrap()
        .as_string()
        .unwrap()
}

#[wasm_bindgen_test]
async fn dropping_the_app_state_closes_its_socket() {
    let user = 108;
    let agent = seed_agents(user, 1).await[0];
    let app = app_for(user, |_| {}).await;
    let (sub, _) = record(&app, Topic::agent(agent));
    wait_for("open", 5_000, || {
        app.client.state() == ConnectionState::Open
    })
    .await;
    assert_eq!(user_stat(user, "connections_open").await, 1);
    drop(sub);
    drop(app);
    let mut open = 1;
    for _ in 0..100 {
        open = user_stat(user, "connections_open").await;
        if open == 0 {
            break;
        }
        TimeoutFuture::new(20).await;
    }
    assert_eq!(open, 0, "the stub still sees the socket open");
    assert_eq!(user_stat(user, "connections_opened").await, 1);
}

#[wasm_bindgen_test]
async fn dropping_the_abort_guard_aborts_running_rest_calls() {
    use tether_client::agents::rest::{Api, ApiError};
    let user = 110;
    seed_agents(user, 2).await;
    let api = Api::new(tether_tests::web::stub(), Some(token_for(user).await));
    let (abortable, guard) = api.abortable();
    let result = Rc::new(RefCell::new(None));
    let sink = result.clone();
    wasm_bindgen_futures::spawn_local(async move {
        *sink.borrow_mut() = Some(abortable.agents().await.map(|a| a.agents.len()));
    });
    TimeoutFuture::new(0).await; // the request is on its way
    drop(guard);
    wait_for("the aborted call to end", 5_000, || {
        result.borrow().is_some()
    })
    .await;
    assert_eq!(result.borrow_mut().take(), Some(Err(ApiError::Aborted)));
    // The plain API is not affected, and an abortable one whose guard lives completes.
    assert_eq!(api.agents().await.map(|a| a.agents.len()), Ok(2));
    let (kept, _guard) = api.abortable();
    assert_eq!(kept.agents().await.map(|a| a.agents.len()), Ok(2));
}

#[wasm_bindgen_test]
async fn a_chat_mounted_while_down_loses_nothing_posted_before_the_reconnect() {
    use tether_client::agents::rest::Api;
    use tether_client::agents::ChatViewWsManager;
    let user = 111;
    let thread = seed_threads(user, 1).await[0];
    let token = token_for(user).await;
    let app = app_for(user, |_| {}).await;
    wait_for("open", 5_000, || {
        app.client.state() == ConnectionState::Open
    })
    .await;
    // The server goes down for this client.
    post("/api/test/refuse?ms=20000").await;
    post(&format!("/api/test/drop?user={user}")).await;
    wait_for("down", 5_000, || {
        app.client.state() != ConnectionState::Open
    })
    .await;
    // The chat mounts while the socket is down; its history loads when its gate asks.
    let api = Api::new(tether_tests::web::stub(), Some(token.clone()));
    let me: Rc<RefCell<std::rc::Weak<ChatViewWsManager>>> = Rc::default();
    let (target, loader) = (me.clone(), api.clone());
    let chat = Rc::new(ChatViewWsManager::mount(
        &app.topics,
        thread,
        || {},
        move |ticket| {
            let (target, api) = (target.clone(), loader.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let history = api.history(thread).await.expect("history");
                if let Some(chat) = target.borrow().upgrade() {
                    chat.load_history(ticket, history.messages, history.seq);
                }
            });
        },
    ));
    *me.borrow_mut() = Rc::downgrade(&chat);
    // Messages are posted while it is away.
    let mut posted = Vec::new();
    for n in 0..3 {
        posted.push(
            api.post_message(thread, &format!("while down {n}"))
                .await
                .unwrap()
                .id,
        );
    }
    post("/api/test/admit").await;
    wait_for("the three", 15_000, || chat.model().entries().len() == 3).await;
    posted.push(api.post_message(thread, "live").await.unwrap().id);
    wait_for("the live one", 5_000, || chat.model().entries().len() == 4).await;
    TimeoutFuture::new(300).await; // a straggler duplicate would arrive now
    let ids: Vec<u64> = chat.model().entries().iter().filter_map(|e| e.id).collect();
    assert_eq!(ids, posted, "every message exactly once, in order");
    drop(chat);
    app.client.close();
}
