//! One socket per browser, end to end: tabs of the demo app (`www/`, built by the test command)
//! in headless Chromium share the socket of one user, against an in-process stub. Events are
//! counted in each tab (the events page logs every event its topics deliver) against the stub's
//! publish log, from the moment each tab's view subscribed.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::wd::WindowHandle;
use fantoccini::Client;
use serde_json::Value;
use tether_tests::e2e::*;

/// The bound the handover must meet: from closing the leader's tab to the stub holding the new
/// leader's socket with every topic subscribed once.
const HANDOVER_BOUND: Duration = Duration::from_secs(2);

/// Three tabs as one user: one socket, each topic once; closing the leader hands over within
/// [`HANDOVER_BOUND`] while events are published throughout, and every tab gets every event
/// of its topics once and in order; when the tabs unmount their views nothing stays
/// subscribed. The leader is a background tab with a 1 s heartbeat against a 4 s idle timeout,
/// so hidden-tab timer throttling would show as a 4408 or an extra socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_tabs_share_one_socket_and_hand_over_without_losing_an_event() {
    let stub = start_stub_with(|c| {
        c.test_control = true;
        c.idle_timeout_ms = 4_000;
    })
    .await;
    let agents = seed(&stub, 1, 3).await;
    let topics: Vec<String> = agents.iter().map(|a| format!("agent:{a}")).collect();
    let page = format!(
        "{stub}/?page=events&ping_ms=1000&topics={}",
        topics.join(",")
    );
    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;

    let mut tabs = vec![c.window().await.unwrap()];
    c.goto(&page).await.unwrap();
    for _ in 0..2 {
        let tab = c.new_window(true).await.unwrap().handle;
        c.switch_to_window(tab.clone()).await.unwrap();
        c.goto(&page).await.unwrap();
        tabs.push(tab);
    }
    for tab in &tabs {
        c.switch_to_window(tab.clone()).await.unwrap();
        wait_for(&c, "[data-testid=sharing][data-tabs='3']").await;
        wait_for(&c, "[data-testid=conn-badge][data-state=open]").await;
    }
    let expected: BTreeMap<String, u64> = topics.iter().map(|t| (t.clone(), 1)).collect();
    wait_subscribers(&stub, &expected, "three tabs").await;
    let user = user_stats(&stub, 1).await;
    assert_eq!(user["connections_open"], 1, "one socket for three tabs");
    assert_eq!(user["connections_opened"], 1);

    // Publish throughout, on every topic.
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = tokio::spawn(publish_until(stub.clone(), topics.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    // Close the leader (a background tab by now) and time the handover at the stub.
    let leader = leader_tab(&c, &tabs).await;
    c.switch_to_window(leader.clone()).await.unwrap();
    let hidden = c
        .execute("return document.visibilityState;", vec![])
        .await
        .unwrap();
    let before_close = trace(&c).await;
    let closed_at = Instant::now();
    c.close_window().await.unwrap();
    let handover = loop {
        let user = user_stats(&stub, 1).await;
        if user["connections_opened"] == 2
            && user["connections_open"] == 1
            && subscribers(&stub).await == expected
        {
            break closed_at.elapsed();
        }
        assert!(
            closed_at.elapsed() < HANDOVER_BOUND,
            "no handover within {HANDOVER_BOUND:?}: {user}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    tabs.retain(|t| *t != leader);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, Ordering::SeqCst);
    let published_events = publisher.await.unwrap();

    // Ground truth, then every tab against it.
    let mut truth = BTreeMap::new();
    for topic in &topics {
        truth.insert(topic.clone(), published(&stub, topic).await);
    }
    let closed = check_prefix(&before_close, &truth);
    let mut delivered = Vec::new();
    for tab in &tabs {
        c.switch_to_window(tab.clone()).await.unwrap();
        delivered.push(wait_complete(&c, &truth).await);
    }
    let user = user_stats(&stub, 1).await;
    let stats = stats(&stub).await;
    assert_eq!(
        user["connections_opened"], 2,
        "one handover, no other socket"
    );
    assert_eq!(
        stats["closes"]["4408"],
        Value::Null,
        "no idle timeout: the hidden leader's heartbeat kept up"
    );
    println!(
        "tabs: 3 tabs on 1 socket; the leader ({hidden}) closed, handover in {} ms (bound {} ms); \
         {published_events} events published; the closed leader had {closed} in order; \
         the other tabs {delivered:?} each, once and in order; 0 lost, 0 duplicated, 0 reordered",
        handover.as_millis(),
        HANDOVER_BOUND.as_millis(),
    );

    // Every tab unmounts its views: nothing stays subscribed, and the socket stays.
    for tab in &tabs {
        c.switch_to_window(tab.clone()).await.unwrap();
        click(&c, "[data-testid=events-toggle]").await;
        wait_for(&c, "[data-testid=events][data-mounted=false]").await;
    }
    wait_subscribers(&stub, &BTreeMap::new(), "all views unmounted").await;
    assert_eq!(user_stats(&stub, 1).await["connections_open"], 1);
    c.close().await.unwrap();
}

/// Two users in two tabs of one browser profile: two sockets, each tab its own leader, and no
/// event crosses between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_in_two_tabs_never_share() {
    let stub = start_stub_with(|c| c.test_control = true).await;
    let (one, two) = (seed(&stub, 1, 1).await[0], seed(&stub, 2, 1).await[0]);
    let token_two = control(&stub, "token?sub=2").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;
    let first = c.window().await.unwrap();
    c.goto(&format!("{stub}/?page=events&topics=agent:{one}"))
        .await
        .unwrap();
    let second = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(second.clone()).await.unwrap();
    c.goto(&format!(
        "{stub}/?page=events&user=2&token={token_two}&topics=agent:{two}"
    ))
    .await
    .unwrap();
    for tab in [&first, &second] {
        c.switch_to_window(tab.clone()).await.unwrap();
        wait_for(&c, "[data-testid=sharing][data-role=leader][data-tabs='1']").await;
    }
    let expected: BTreeMap<String, u64> =
        [(format!("agent:{one}"), 1), (format!("agent:{two}"), 1)].into();
    wait_subscribers(&stub, &expected, "two users").await;
    for user in [1, 2] {
        assert_eq!(user_stats(&stub, user).await["connections_open"], 1);
    }
    for topic in [format!("agent:{one}"), format!("agent:{two}")] {
        control(&stub, &format!("publish?topic={topic}&count=20")).await;
    }
    for (tab, mine) in [(&first, one), (&second, two)] {
        c.switch_to_window(tab.clone()).await.unwrap();
        let topic = format!("agent:{mine}");
        let truth: BTreeMap<String, Vec<u64>> =
            [(topic.clone(), published(&stub, &topic).await)].into();
        wait_complete(&c, &truth).await;
        let seen = trace(&c).await;
        let topics: Vec<&String> = seen.messages.keys().collect();
        assert_eq!(topics, vec![&topic], "only its own user's events");
        assert_eq!(seen.refused, 0);
    }
    c.close().await.unwrap();
}

/// What one tab's events page logged.
#[derive(Debug, Default)]
struct Trace {
    /// The `seq` each topic's view started after.
    subscribed: BTreeMap<String, u64>,
    /// Each topic's events, by `seq`, in delivery order.
    messages: BTreeMap<String, Vec<u64>>,
    /// Snapshots (events without `seq`, sent on subscribe).
    snapshots: usize,
    resyncs: usize,
    refused: usize,
}

async fn trace(c: &Client) -> Trace {
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
fn due(truth: &[u64], start: u64) -> Vec<u64> {
    truth.iter().copied().filter(|s| *s > start).collect()
}

/// The closed leader's log must be an in-order, gap-free, duplicate-free prefix of what was
/// due. Returns how many events it had.
fn check_prefix(t: &Trace, truth: &BTreeMap<String, Vec<u64>>) -> usize {
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
async fn wait_complete(c: &Client, truth: &BTreeMap<String, Vec<u64>>) -> usize {
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
async fn leader_tab(c: &Client, tabs: &[WindowHandle]) -> WindowHandle {
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
async fn publish_until(stub: String, topics: Vec<String>, stop: Arc<AtomicBool>) -> usize {
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        for topic in &topics {
            control(&stub, &format!("publish?topic={topic}")).await;
            n += 1;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    n
}

/// The seqs the stub published on `topic`, oldest first.
async fn published(stub: &str, topic: &str) -> Vec<u64> {
    let v: Value = reqwest::get(format!("{stub}/api/test/published?topic={topic}"))
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
async fn user_stats(stub: &str, user: u64) -> Value {
    stats(stub).await["per_user"][user.to_string()].clone()
}

/// Creates `agents` agents for `owner`; returns their ids.
async fn seed(stub: &str, owner: u64, agents: usize) -> Vec<u64> {
    control(stub, &format!("seed?owner={owner}&agents={agents}")).await["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_u64().unwrap())
        .collect()
}
