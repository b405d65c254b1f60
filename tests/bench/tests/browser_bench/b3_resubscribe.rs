//! B3, resubscribe: 2,048 topics held (a connection's limit at the stub), the socket drops,
//! one event is published in the gap.
//! Every clock starts when the new socket's `open` event fires (a listener the page adds to
//! every WebSocket) and stops when every topic is acknowledged and the missed event is in the
//! handler. Both sides resume with `since`, so both get the same acks and the one replayed
//! event, and neither gets snapshots. The baselines hold their token before the clock starts.

use std::cell::Cell;
use std::rc::Rc;

use tether_client::{Subscription, TopicEvent};
use tether_tests::web::{app_for, post, user_stat, wait_for};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::page::{
    acks, agent_topics, call, get, install_open_probe, num, opens, raw_client, settle,
};
use crate::report::{median, num as shown, report};

const TOPICS: usize = 2_048;
const RUNS: usize = 5;

/// One baseline session: opens, subscribes every topic after `since` (one frame per topic,
/// or one frame), and waits for every ack and the missed event. Returns the milliseconds from
/// open.
async fn raw_run(
    user: u64,
    list: &js_sys::Array,
    first: &str,
    since: &JsValue,
    per_topic: bool,
) -> f64 {
    let js = raw_client(user).await;
    let replayed = Rc::new(Cell::new(0.0));
    let (r, first) = (replayed.clone(), first.to_owned());
    let on = Closure::<dyn Fn(JsValue)>::new(move |m: JsValue| {
        if get(&m, "topic").as_string().as_deref() == Some(first.as_str()) && r.get() == 0.0 {
            r.set(crate::page::now());
        }
    });
    js_sys::Reflect::set(&js, &"on".into(), on.as_ref()).unwrap();
    call(
        &js,
        "subscribe",
        &[list.into(), per_topic.into(), since.clone()],
    );
    let acked = settle(
        call(&js, "acks", &[TOPICS.into()]),
        20_000,
        "the baseline's acks",
    )
    .await;
    wait_for("the baseline's replayed event", 10_000, || {
        replayed.get() > 0.0
    })
    .await;
    let ms = acked.as_f64().unwrap().max(replayed.get()) - num(&js, "openedAt");
    call(&js, "close", &[]);
    ms
}

#[wasm_bindgen_test]
async fn b3_resubscribe() {
    install_open_probe();
    let user = 203;
    let topics = agent_topics(user, TOPICS).await;
    let list: js_sys::Array = topics.iter().map(|t| JsValue::from_str(t)).collect();
    // Publishes the event the next session misses; returns `since` for a baseline to miss
    // exactly that one (every other topic stays where the first session left it).
    let publish_missed = |since: JsValue| {
        let first = topics[0].clone();
        async move {
            let seq = post(&format!("/api/test/publish?topic={first}&count=1&rate=0")).await
                ["last_seq"]
                .as_u64()
                .expect("a seq");
            if since.is_object() {
                js_sys::Reflect::set(
                    &since,
                    &first.as_str().into(),
                    &JsValue::from((seq - 1) as f64),
                )
                .unwrap();
            }
            since
        }
    };

    // The client: a handler on every topic; the first one notes when the missed event came
    // in. Done is the later of that and the last acknowledgement handled (the subscribes go in
    // as many frames as the 64 KiB limit needs, so the event can come before the last ack).
    let app = app_for(user, |_| {}).await;
    let replayed = Rc::new(Cell::new(0.0));
    let subs: Vec<Subscription> = topics
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at = replayed.clone();
            app.topics.subscribe(t.as_str(), move |e: &TopicEvent| {
                if i == 0 && e.message().is_some_and(|m| m.seq.is_some()) && at.get() == 0.0 {
                    at.set(crate::page::now());
                }
            })
        })
        .collect();
    let all_active = || app.client.metrics().subscriptions.active == TOPICS;
    wait_for("every topic's ack", 20_000, all_active).await;

    // The baselines' first session, untimed: where they resume from.
    let since = raw_run_fresh(user, &list).await;

    let (mut ours, mut each, mut one, mut frames) = (vec![], vec![], vec![], 0);
    for _ in 0..RUNS {
        replayed.set(0.0);
        let before = app.client.metrics().counters.frames_out;
        // A baseline's closed socket may still be open at the stub (its close is on the way):
        // wait until the stub itself counts only the client's, so the drop below hits it alone.
        one_socket_open(user).await;
        post("/api/test/refuse?ms=300").await;
        let hit = post(&format!("/api/test/drop?user={user}")).await["sockets"].as_u64();
        assert_eq!(hit, Some(1), "only the client's socket is open");
        publish_missed(JsValue::UNDEFINED).await;
        wait_for("the client's replayed event and every ack", 20_000, || {
            replayed.get() > 0.0 && all_active()
        })
        .await;
        let opened = opens()
            .into_iter()
            .filter(|t| *t <= replayed.get())
            .fold(f64::NAN, f64::max);
        let last_ack = acks()
            .into_iter()
            .filter(|t| *t >= opened)
            .fold(0.0, f64::max);
        ours.push(replayed.get().max(last_ack) - opened);
        frames = app.client.metrics().counters.frames_out - before;

        let since = publish_missed(since.clone()).await;
        each.push(raw_run(user, &list, &topics[0], &since, true).await);
        let since = publish_missed(since).await;
        one.push(raw_run(user, &list, &topics[0], &since, false).await);
    }
    drop(subs);
    app.client.close();
    let (m_ours, m_one) = (median(&ours), median(&one));
    let limit = if (m_ours - m_one).abs() <= 0.25 * m_one {
        format!("the stub and loopback: the least-work baseline (the fewest frames the 64 KiB limit allows, {} ms) takes as long; the stub answers {TOPICS} topics (acks, seq lookups, the replay)", shown(m_one))
    } else {
        format!(
            "the client: {} ms against {} ms for the least-work baseline (the fewest frames)",
            shown(m_ours),
            shown(m_one)
        )
    };
    let limit = limit.as_str();
    report(&format!("B3 resubscribe {TOPICS} topics: open → all acked + missed event in"), &ours, &each, "ms", limit, &format!("client sent {frames} frames per reconnect (subscribes with since, split at the 64 KiB frame limit, and a ping); baseline: raw JS, one subscribe frame per topic with since (what a hand-written client does), token fetched before the clock"));
    report(&format!("B3 resubscribe {TOPICS} topics, against the fewest frames"), &ours, &one, "ms", limit, &format!("baseline: raw JS sending the same subscribes with since for all {TOPICS} topics in as few frames as the 64 KiB limit allows (the least work possible)"));
}

/// The baseline's first session: subscribes every topic fresh; returns each topic's seq.
async fn raw_run_fresh(user: u64, list: &js_sys::Array) -> JsValue {
    let js = raw_client(user).await;
    call(
        &js,
        "subscribe",
        &[list.into(), false.into(), JsValue::UNDEFINED],
    );
    settle(
        call(&js, "acks", &[TOPICS.into()]),
        20_000,
        "the baseline's first acks",
    )
    .await;
    let seqs = call(&js, "seqs", &[]);
    call(&js, "close", &[]);
    seqs
}

/// Waits up to 10 s until the stub counts exactly one open socket of `user`; panics if not.
async fn one_socket_open(user: u64) {
    for _ in 0..500 {
        if user_stat(user, "connections_open").await == 1 {
            return;
        }
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
    panic!("the stub still counts more than the client's socket for user {user} after 10 s");
}
