//! The tabs' end-to-end helpers: what a tab's events page logged (`window.tetherEvents`),
//! checked against the stub's publish log, and the stub calls the tabs tests make.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::wd::WindowHandle;
use fantoccini::Client;
use serde_json::Value;

use super::{control, stats, WAIT};

/// What one tab's events page logged.
#[derive(Debug, Default)]
pub struct Trace {
    /// The `seq` each topic's view started after.
    pub subscribed: BTreeMap<String, u64>,
    /// Each topic's events, by `seq`, in delivery order.
    pub messages: BTreeMap<String, Vec<u64>>,
    /// Snapshots (events without `seq`, sent on subscribe).
    pub snapshots: usize,
    pub resyncs: usize,
    pub refused: usize,
}

pub async fn trace(c: &Client) -> Trace {
    let log = c
        .execute("return window.tetherEvents || [];", vec![])
        .await
        .unwrap();
    let mut t = Trace::default();
    for entry in log.as_array().unwrap() {
        let kind = entry[0].as_str().unwrap();
        let topic = entry[1].as_str().unwrap().to_owned();
        let seq = entry[2].as_u64();
        match kind {
            "subscribed" => {
                t.subscribed
                    .entry(topic)
                    .or_insert(seq.expect("a numbered topic"));
            }
            "message" => match seq {
                Some(seq) => t.messages.entry(topic).or_default().push(seq),
                None => t.snapshots += 1,
            },
            "resync" => t.resyncs += 1,
            _ => t.refused += 1,
        }
    }
    t
}

/// The events a view of `topic` should have had after `start`, by the publish log.
pub fn due(truth: &[u64], start: u64) -> Vec<u64> {
    truth.iter().copied().filter(|s| *s > start).collect()
}

/// The closed leader's log must be an in-order, gap-free, duplicate-free prefix of what was
/// due. Returns how many events it had.
pub fn check_prefix(t: &Trace, truth: &BTreeMap<String, Vec<u64>>) -> usize {
    assert_eq!((t.resyncs, t.refused), (0, 0));
    let mut n = 0;
    for (topic, log) in truth {
        let start = t.subscribed[topic];
        let got = t.messages.get(topic).cloned().unwrap_or_default();
        let due = due(log, start);
        assert_eq!(got[..], due[..got.len()], "{topic} in the closed leader");
        n += got.len();
    }
    n
}

/// Waits until this tab has every event of the publish log after its start, then checks that
/// it has exactly those, in order. Returns how many.
pub async fn wait_complete(c: &Client, truth: &BTreeMap<String, Vec<u64>>) -> usize {
    let started = Instant::now();
    loop {
        let t = trace(c).await;
        let done = truth.iter().all(|(topic, log)| {
            t.messages.get(topic).and_then(|m| m.last()) == log.last()
                || log.last() <= t.subscribed.get(topic)
        });
        if done || started.elapsed() > WAIT {
            assert_eq!((t.resyncs, t.refused), (0, 0), "{t:?}");
            let mut n = 0;
            for (topic, log) in truth {
                let due = due(log, t.subscribed[topic]);
                let got = t.messages.get(topic).cloned().unwrap_or_default();
                assert_eq!(got, due, "{topic}: delivered vs the publish log");
                n += got.len();
            }
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The tab whose badge says it holds the socket.
pub async fn leader_tab(c: &Client, tabs: &[WindowHandle]) -> WindowHandle {
    for tab in tabs {
        c.switch_to_window(tab.clone()).await.unwrap();
        if c.find(fantoccini::Locator::Css(
            "[data-testid=sharing][data-role=leader]",
        ))
        .await
        .is_ok()
        {
            return tab.clone();
        }
    }
    panic!("no tab leads");
}

/// Publishes one `agent_updated` on each topic every 25 ms until `stop`; returns how many.
pub async fn publish_until(stub: String, topics: Vec<String>, stop: Arc<AtomicBool>) -> usize {
    publish_until_every(stub, topics, stop, Duration::from_millis(25)).await
}

/// Publishes one `agent_updated` on each topic every `every` until `stop`; returns how many.
pub async fn publish_until_every(
    stub: String,
    topics: Vec<String>,
    stop: Arc<AtomicBool>,
    every: Duration,
) -> usize {
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        for topic in &topics {
            control(&stub, &format!("publish?topic={topic}")).await;
            n += 1;
        }
        tokio::time::sleep(every).await;
    }
    n
}

/// The seqs the stub published on `topic`, oldest first.
pub async fn published(stub: &str, topic: &str) -> Vec<u64> {
    let v: Value = crate::stub::http_client()
        .get(format!("{stub}/api/test/published?topic={topic}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["evicted"], 0, "the publish log is complete");
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

/// `per_user[user]` of the stub's stats.
pub async fn user_stats(stub: &str, user: u64) -> Value {
    stats(stub).await["per_user"][user.to_string()].clone()
}

/// Creates `agents` agents for `owner`; returns their ids.
pub async fn seed(stub: &str, owner: u64, agents: usize) -> Vec<u64> {
    control(stub, &format!("seed?owner={owner}&agents={agents}")).await["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_u64().unwrap())
        .collect()
}

/// Freezes (`"frozen"`) or resumes (`"active"`) the page of `c`'s current window, as the
/// browser does to a background tab: Chrome DevTools' `Page.setWebLifecycleState`, through
/// ChromeDriver at `webdriver`.
pub async fn set_lifecycle(c: &Client, webdriver: &str, state: &str) {
    let params = serde_json::json!({ "state": state });
    super::cdp(c, webdriver, "Page.setWebLifecycleState", params).await;
}

/// Opens `page` in `n` tabs of `c` (the current window first) and waits until every tab says
/// `n` tabs share one open connection; returns the tabs.
pub async fn open_shared_tabs(c: &Client, page: &str, n: usize) -> Vec<WindowHandle> {
    let mut tabs = vec![c.window().await.unwrap()];
    c.goto(page).await.unwrap();
    for _ in 1..n {
        let tab = c.new_window(true).await.unwrap().handle;
        c.switch_to_window(tab.clone()).await.unwrap();
        c.goto(page).await.unwrap();
        tabs.push(tab);
    }
    for tab in &tabs {
        c.switch_to_window(tab.clone()).await.unwrap();
        super::wait_for(c, &format!("[data-testid=sharing][data-tabs='{n}']")).await;
        super::wait_for(c, "[data-testid=conn-badge][data-state=open]").await;
    }
    tabs
}
