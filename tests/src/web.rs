//! Browser-side helpers for tests and benches: the stub's HTTP API (its URL is compiled in as
//! `TETHER_STUB_URL`), waiting, and a client configured for a user.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use serde_json::Value;
use tether_client::protocol::Topic;
use tether_client::{AppState, Subscription, TopicEvent};
use tether_client::{Config, Millis};

/// The stub's URL, compiled in.
pub fn stub() -> &'static str {
    match option_env!("TETHER_STUB_URL") {
        Some(url) => url,
        None => panic!(
            "TETHER_STUB_URL must name the running stub at compile time (scripts/test.sh sets it)"
        ),
    }
}

/// `POST` to the stub; panics unless it answers 2xx.
pub async fn post(path: &str) -> Value {
    let url = format!("{}{path}", stub());
    let resp = gloo_net::http::Request::post(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    assert!(resp.ok(), "POST {path}: HTTP {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

/// `POST` a JSON body to the stub; panics unless it answers 2xx.
pub async fn post_json(path: &str, body: &Value) -> Value {
    let url = format!("{}{path}", stub());
    let resp = gloo_net::http::Request::post(&url)
        .json(body)
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    assert!(resp.ok(), "POST {path}: HTTP {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

/// `GET /api/stats`.
pub async fn stats() -> Value {
    let url = format!("{}/api/stats", stub());
    gloo_net::http::Request::get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The stub's publish log of `topic` (its `events`, oldest first): the ground truth of what
/// was published. Panics if the log overflowed.
pub async fn published(topic: &str) -> Vec<Value> {
    let url = format!("{}/api/test/published?topic={topic}", stub());
    let log: Value = gloo_net::http::Request::get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET the publish log of {topic}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("the publish log of {topic}: {e}"));
    assert_eq!(
        log["evicted"].as_u64(),
        Some(0),
        "the publish log of {topic} overflowed"
    );
    log["events"].as_array().cloned().unwrap_or_default()
}

/// One of `per_user[user]`'s counters.
pub async fn user_stat(user: u64, key: &str) -> u64 {
    stats().await["per_user"][user.to_string()][key]
        .as_u64()
        .unwrap_or(0)
}

/// A fresh token for `user`.
pub async fn token_for(user: u64) -> String {
    post(&format!("/api/test/token?sub={user}&exp_secs=3600")).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates `n` agents for `user`; returns their ids.
pub async fn seed_agents(user: u64, n: usize) -> Vec<u64> {
    let ids = post(&format!("/api/test/seed?owner={user}&agents={n}")).await["ids"].clone();
    ids.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// Creates `agents` agents for `user`, each with one thread; returns the thread ids.
pub async fn seed_threads(user: u64, agents: usize) -> Vec<u64> {
    let v = post(&format!(
        "/api/test/seed?owner={user}&agents={agents}&threads=1"
    ))
    .await;
    v["thread_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// Waits up to `ms` for `cond`, polling every 20 ms; panics naming `what` on time-out.
pub async fn wait_for(what: &str, ms: u32, cond: impl Fn() -> bool) {
    let mut waited = 0;
    while !cond() {
        assert!(waited < ms, "timed out after {ms} ms waiting for {what}");
        TimeoutFuture::new(20).await;
        waited += 20;
    }
}

/// The stub's WebSocket URL.
pub fn ws_url() -> String {
    format!("{}/api/ws/v2", stub().replacen("http", "ws", 1))
}

/// A client config whose token provider reads `token`, with fast backoff for tests.
pub fn config(token: Rc<RefCell<String>>) -> Config {
    let mut cfg = Config::new(ws_url()).with_token(move || Some(token.borrow().clone()));
    cfg.backoff.base = Millis(100);
    cfg.backoff.cap = Millis(1_000);
    cfg
}

/// A connected app for `user`, with `tune` applied to its config.
pub async fn app_for(user: u64, tune: impl FnOnce(&mut Config)) -> Rc<AppState> {
    let token = Rc::new(RefCell::new(token_for(user).await));
    let mut cfg = config(token);
    tune(&mut cfg);
    AppState::connect(cfg)
}

/// What a recording view saw: each message's type and `seq`.
pub type Seen = Rc<RefCell<Vec<(String, Option<u64>)>>>;

/// A view on `topic` that records every message it gets.
pub fn record(app: &AppState, topic: Topic) -> (Subscription, Seen) {
    let seen: Seen = Rc::default();
    let sink = seen.clone();
    let sub = app.topics.subscribe(topic, move |e: &TopicEvent| {
        if let Some(m) = e.message() {
            sink.borrow_mut().push((m.kind().to_owned(), m.seq));
        }
    });
    (sub, seen)
}

/// The seqs of the messages of type `kind` a view saw, in order.
pub fn seqs_of(seen: &Seen, kind: &str) -> Vec<u64> {
    seen.borrow()
        .iter()
        .filter(|(k, _)| k == kind)
        .filter_map(|(_, s)| *s)
        .collect()
}
