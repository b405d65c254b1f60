//! B1, end to end: the stub publishes as fast as it can to the client over a real socket, and
//! the same to the raw JavaScript client on topics of its own (so neither receives the other's
//! events); events/s from each one's first handler call to its last. Both sit behind the same
//! stub and Chromium's WebSocket, which is what this line measures (B1 dispatch is the client's
//! own cost).

use std::cell::Cell;
use std::rc::Rc;

use tether_client::{Subscription, TopicEvent};
use tether_tests::web::{app_for, wait_for};
use wasm_bindgen::JsValue;

use crate::page::{agent_topics, call, get, now, publish_all, raw, raw_client, settle, Agent};
use crate::report::{median, num, report};

const RUNS: usize = 5;
const PER_TOPIC: u32 = 4_000;

/// Counts the client's events from `first` to `last`.
#[derive(Default)]
struct Counter {
    count: Cell<u32>,
    first: Cell<f64>,
    last: Cell<f64>,
}

/// Runs B1 end to end; `alone` is B1 dispatch's events/s, measured just before.
pub async fn run(alone: f64) {
    let user = 211;
    let all = agent_topics(user, 20).await;
    let (ours_topics, raw_topics) = all.split_at(10);

    let app = app_for(user, |_| {}).await;
    let counter = Rc::new(Counter::default());
    let _subs: Vec<Subscription> = ours_topics
        .iter()
        .map(|t| {
            let c = counter.clone();
            app.topics.subscribe(t.as_str(), move |e: &TopicEvent| {
                if e.message().is_some_and(|m| m.seq.is_some()) {
                    if let Some(Ok(a)) = e.data::<Agent>() {
                        let n = c.count.get() + 1;
                        c.count.set(n);
                        if n == 1 {
                            c.first.set(now());
                        }
                        c.last.set(now());
                        assert!(!a.name.is_empty() && !a.status.is_empty());
                    }
                }
            })
        })
        .collect();
    wait_for("acks", 10_000, || {
        app.client.metrics().subscriptions.active == 10
    })
    .await;
    let js = raw_client(user).await;
    let list: js_sys::Array = raw_topics.iter().map(|t| JsValue::from_str(t)).collect();
    call(
        &js,
        "subscribe",
        &[list.into(), false.into(), JsValue::UNDEFINED],
    );
    settle(
        call(&js, "acks", &[10.into()]),
        10_000,
        "the raw client's acks",
    )
    .await;

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for run in 0..=RUNS {
        // Run 0 is a warm-up of each, a tenth of the size.
        let per_topic = if run == 0 { PER_TOPIC / 10 } else { PER_TOPIC };
        let n = per_topic * 10;

        counter.count.set(0);
        publish_all(ours_topics, per_topic, 0, 16).await;
        wait_for("the client's events", 120_000, || counter.count.get() == n).await;
        let ms = counter.last.get() - counter.first.get();

        let handler = call(&raw(), "agentCounter", &[n.into()]);
        js_sys::Reflect::set(&js, &"on".into(), &get(&handler, "handler")).unwrap();
        publish_all(raw_topics, per_topic, 0, 16).await;
        let raw_ms = settle(get(&handler, "done"), 120_000, "the raw client's events").await;
        if run > 0 {
            ours.push(f64::from(n) / (ms / 1000.0));
            theirs.push(f64::from(n) / (raw_ms.as_f64().unwrap() / 1000.0));
        }
    }
    assert_eq!(app.client.metrics().counters.duplicates_dropped, 0);
    call(&js, "close", &[]);
    app.client.close();
    report(
        &format!("B1 end to end: stub → Chromium WebSocket → handler ({} events, 10 topics)", PER_TOPIC * 10),
        &ours,
        &theirs,
        "events/s",
        &limit(median(&ours), alone),
        "the stub publishes as fast as it can (stub queue raised to 400,000 frames); baseline: raw JS WebSocket + JSON.parse + Map + the same field reads, on its own 10 topics",
    );
}

/// What limits the end-to-end rate, from what this run measured.
fn limit(rate: f64, alone: f64) -> String {
    format!(
        "the stub and Chromium's WebSocket, on 2 cores shared by the stub and the browser: the client alone dispatches {} events/s in this page (B1 dispatch), {}x this rate",
        num(alone),
        num(alone / rate)
    )
}
