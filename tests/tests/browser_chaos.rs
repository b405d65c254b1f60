//! A short chaos run in headless Chromium against the live stub (started by `scripts/test.sh`,
//! which passes its address in at compile time as `TETHER_STUB_URL`): views mount and unmount
//! while the stub drops, half-opens and repeats; every view must see each event once, in order.

#![cfg(target_arch = "wasm32")]

use gloo_timers::future::TimeoutFuture;
use tether_client::protocol::Topic;
use tether_client::Subscription;
use tether_client::{ConnectionState, Millis};
use tether_tests::web::{app_for, post, record, seed_agents, seqs_of, user_stat, wait_for, Seen};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A small deterministic generator for the browser chaos schedule.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[wasm_bindgen_test]
async fn a_short_chaos_run_in_the_browser_loses_and_repeats_nothing() {
    let user = 109;
    let ids = seed_agents(user, 10).await;
    let app = app_for(user, |c| {
        c.ping_interval = Millis(500);
        c.pong_timeout = Millis(500);
    })
    .await;
    let mut rng = Lcg(2026);
    let mut views: Vec<(usize, Option<Subscription>, Seen)> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (sub, seen) = record(&app, Topic::agent(*id));
        views.push((i, Some(sub), seen));
    }
    wait_for("open", 5_000, || {
        app.client.state() == ConnectionState::Open
    })
    .await;
    let mut faults = 0;
    for step in 0..60 {
        let t = rng.below(10) as usize;
        post(&format!(
            "/api/test/publish?topic=agent:{}&count={}&rate=0",
            ids[t],
            1 + rng.below(3)
        ))
        .await;
        match rng.below(8) {
            0 => views.push({
                let (sub, seen) = record(&app, Topic::agent(ids[t]));
                (t, Some(sub), seen)
            }),
            1 => {
                let i = rng.below(views.len() as u64) as usize;
                views[i].1.take();
            }
            _ => {}
        }
        if step % 3 == 2 {
            // Every kind in turn, with random parameters.
            match faults % 7 {
                0 => post(&format!("/api/test/duplicate?last={}", 1 + rng.below(3))).await,
                1 => post("/api/test/drop").await,
                2 => post("/api/test/half-open").await,
                3 => {
                    post(&format!(
                        "/api/test/restart?down_ms={}",
                        50 + rng.below(400)
                    ))
                    .await
                }
                4 => post("/api/test/malformed").await,
                5 => post("/api/test/close?code=1011&reason=chaos").await,
                _ => post("/api/test/close?code=4408&reason=chaos").await,
            };
            faults += 1;
        }
        TimeoutFuture::new(40).await;
    }
    // Settle, then one last event per topic must reach every mounted view.
    wait_for("open again", 15_000, || {
        app.client.state() == ConnectionState::Open
    })
    .await;
    wait_for("acks", 15_000, || {
        app.client.metrics().subscriptions.pending == 0
    })
    .await;
    let mut last = Vec::new();
    for id in &ids {
        last.push(
            post(&format!(
                "/api/test/publish?topic=agent:{id}&count=1&rate=0"
            ))
            .await["last_seq"]
                .as_u64()
                .unwrap(),
        );
    }
    let caught_up = || {
        views
            .iter()
            .filter(|v| v.1.is_some())
            .all(|(t, _, seen)| seqs_of(seen, "agent_updated").last() == Some(&last[*t]))
    };
    wait_for("every mounted view to catch up", 15_000, caught_up).await;
    let (mut lost, mut duplicated, mut reordered, mut delivered) = (0, 0, 0, 0);
    for (_, _, seen) in &views {
        let seqs = seqs_of(seen, "agent_updated");
        delivered += seqs.len();
        for w in seqs.windows(2) {
            match w[1].cmp(&w[0]) {
                std::cmp::Ordering::Equal => duplicated += 1,
                std::cmp::Ordering::Less => reordered += 1,
                std::cmp::Ordering::Greater => lost += w[1] - w[0] - 1,
            }
        }
    }
    let dropped = app.client.metrics().counters.duplicates_dropped;
    web_sys_log(&format!(
        "browser chaos: {faults} faults, {delivered} deliveries over {} views; lost {lost}, duplicated {duplicated}, reordered {reordered}; repeated frames dropped by seq {dropped}",
        views.len()
    ));
    assert_eq!((lost, duplicated, reordered), (0, 0, 0));
    assert!(faults >= 20 && delivered > 50);
    assert!(dropped > 0, "the repeated events reached the client");
    assert_eq!(app.client.state(), ConnectionState::Open);
    assert_eq!(user_stat(user, "connections_open").await, 1);
    drop(views);
    app.client.close();
}

fn web_sys_log(msg: &str) {
    wasm_bindgen_test::console_log!("{}", msg);
}
