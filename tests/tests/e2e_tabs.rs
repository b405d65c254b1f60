//! One socket per browser, end to end: tabs of the demo app (`www/`, built by the test command)
//! in headless Chromium share the socket of one user, against an in-process stub. Events are
//! counted in each tab (the events page logs every event its topics deliver) against the stub's
//! publish log, from the moment each tab's view subscribed.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::Value;
use tether_tests::e2e::tabs::*;
use tether_tests::e2e::*;

/// Waits until the stub has published at least `more` events on every topic of `topics` since
/// `from` (counts by topic, from [`published_counts`]).
async fn published_more(stub: &str, topics: &[String], from: &[usize], more: usize) {
    eventually(
        &format!("{more} more events published on each topic"),
        async || {
            let now = published_counts(stub, topics).await;
            now.iter()
                .zip(from)
                .all(|(n, f)| *n >= f + more)
                .then_some(())
        },
    )
    .await;
}

/// How many events the stub has published on each topic.
async fn published_counts(stub: &str, topics: &[String]) -> Vec<usize> {
    let mut counts = Vec::new();
    for topic in topics {
        counts.push(published(stub, topic).await.len());
    }
    counts
}

/// Waits until the current tab has received at least `n` events on every topic.
async fn received(c: &Client, topics: &[String], n: usize) {
    eventually(&format!("{n} events received on each topic"), async || {
        let t = trace(c).await;
        topics
            .iter()
            .all(|topic| t.messages.get(topic).map_or(0, Vec::len) >= n)
            .then_some(())
    })
    .await;
}

/// How many times the stub answered each topic of `user`'s subscribes (its membership log).
async fn answers_per_topic(stub: &str, user: u64) -> BTreeMap<String, usize> {
    let log: Value = tether_tests::stub::http_client()
        .get(format!("{stub}/api/test/subscriptions?user={user}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut counts = BTreeMap::new();
    for e in log["entries"].as_array().unwrap() {
        if e["change"] == "answered" {
            *counts
                .entry(e["topic"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    counts
}

/// The sharing line of `c`'s current tab, once it says it `role`s (`leader` or `follower`).
async fn sharing_line(c: &Client, role: &str) -> String {
    text(c, &format!("[data-testid=sharing][data-role={role}]")).await
}

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

    let mut tabs = open_shared_tabs(&c, &page, 3).await;
    // What each tab says of its part, in words.
    let leader = leader_tab(&c, &tabs).await;
    assert_eq!(
        sharing_line(&c, "leader").await,
        "this tab leads; 3 tabs share the socket"
    );
    screenshots(&c, "tabs-leader").await;
    for tab in tabs.iter().filter(|t| **t != leader) {
        c.switch_to_window(tab.clone()).await.unwrap();
        assert_eq!(
            sharing_line(&c, "follower").await,
            "another tab leads; 3 tabs share the socket"
        );
    }
    screenshots(&c, "tabs-follower").await;
    let expected: BTreeMap<String, u64> = topics.iter().map(|t| (t.clone(), 1)).collect();
    wait_subscribers(&stub, &expected, "three tabs").await;
    let user = user_stats(&stub, 1).await;
    assert_eq!(user["connections_open"], 1, "one socket for three tabs");
    assert_eq!(user["connections_opened"], 1);
    // Each topic subscribed once: one socket holds a topic once whatever it is sent, so count
    // what it was sent, at the stub (a subscribe repeated by a tab shows in both counts).
    let once: BTreeMap<String, usize> = topics.iter().map(|t| (t.clone(), 1)).collect();
    assert_eq!(answers_per_topic(&stub, 1).await, once, "{user}");
    let frames = user["subscribe_frames_in"].as_u64().unwrap_or(0);
    assert!(
        (1..=topics.len() as u64).contains(&frames),
        "{frames} subscribe frames for {} topics: {user}",
        topics.len()
    );

    // Publish throughout, on every topic.
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = tokio::spawn(publish_until(stub.clone(), topics.clone(), stop.clone()));

    // Close the leader (a background tab by now), once it has had events, and time the
    // handover at the stub.
    let leader = leader_tab(&c, &tabs).await;
    c.switch_to_window(leader.clone()).await.unwrap();
    received(&c, &topics, 5).await;
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
    // Events published after the handover, for the new leader to deliver.
    let at_handover = published_counts(&stub, &topics).await;
    published_more(&stub, &topics, &at_handover, 10).await;
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

/// The bound a frozen leader's replacement must meet: from freezing its page to another tab
/// leading with the socket open. With the link's timeouts (ping 1 s here, pong 2 s, connect
/// 3 s, backoff under 1 s): a missed pong, a probe nobody answers, a second failed attempt.
const TAKEOVER_BOUND: Duration = Duration::from_secs(12);

/// Two tabs; the leader's page is frozen (as Chromium freezes background pages), keeping its
/// lock. The other tab notices the silence, takes the lock and opens the socket; events
/// published throughout reach it once and in order. Resumed, the old leader follows, and
/// catches up on what it missed, once and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_is_replaced_and_follows_once_resumed() {
    let stub = start_stub_with(|c| {
        c.test_control = true;
        c.idle_timeout_ms = 4_000;
    })
    .await;
    let agents = seed(&stub, 1, 2).await;
    let topics: Vec<String> = agents.iter().map(|a| format!("agent:{a}")).collect();
    let page = format!(
        "{stub}/?page=events&ping_ms=1000&topics={}",
        topics.join(",")
    );
    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;
    let tabs = open_shared_tabs(&c, &page, 2).await;
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = tokio::spawn(publish_until(stub.clone(), topics.clone(), stop.clone()));

    let old = leader_tab(&c, &tabs).await;
    received(&c, &topics, 3).await;
    let other = tabs.iter().find(|t| **t != old).unwrap().clone();
    c.switch_to_window(old.clone()).await.unwrap();
    set_lifecycle(&c, &webdriver, "frozen").await;
    let frozen = Instant::now();
    c.switch_to_window(other.clone()).await.unwrap();
    let took = loop {
        let leads = c
            .find(fantoccini::Locator::Css(
                "[data-testid=sharing][data-role=leader]",
            ))
            .await
            .is_ok();
        let open = c
            .find(fantoccini::Locator::Css(
                "[data-testid=conn-badge][data-state=open]",
            ))
            .await
            .is_ok();
        if leads && open {
            break frozen.elapsed();
        }
        assert!(
            frozen.elapsed() < TAKEOVER_BOUND,
            "no takeover within {TAKEOVER_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Events published while the new leader leads (the old one frozen).
    let at_takeover = published_counts(&stub, &topics).await;
    published_more(&stub, &topics, &at_takeover, 10).await;

    c.switch_to_window(old.clone()).await.unwrap();
    set_lifecycle(&c, &webdriver, "active").await;
    wait_for(&c, "[data-testid=sharing][data-role=follower]").await;
    wait_for(&c, "[data-testid=conn-badge][data-state=open]").await;
    let started = Instant::now();
    while user_stats(&stub, 1).await["connections_open"] != 1 {
        assert!(
            started.elapsed() < WAIT,
            "the old leader's socket stays open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Events published once the old leader follows.
    let resumed = published_counts(&stub, &topics).await;
    published_more(&stub, &topics, &resumed, 10).await;
    stop.store(true, Ordering::SeqCst);
    let published_events = publisher.await.unwrap();

    let mut truth = BTreeMap::new();
    for topic in &topics {
        truth.insert(topic.clone(), published(&stub, topic).await);
    }
    let mut delivered = Vec::new();
    for tab in [&other, &old] {
        c.switch_to_window(tab.clone()).await.unwrap();
        delivered.push(wait_complete(&c, &truth).await);
    }
    let closes = stats(&stub).await["closes"].clone();
    assert_eq!(
        closes["4408"], 1,
        "the freeze took effect: the frozen page's heartbeat stopped, and the stub closed its \
         socket as idle"
    );
    println!(
        "tabs: the leader's page froze; the other tab led with the socket open after {} ms \
         (bound {} ms); resumed, the old leader followed; {published_events} events published; \
         new leader {} and old leader {} delivered, once and in order; closes at the stub {closes}",
        took.as_millis(),
        TAKEOVER_BOUND.as_millis(),
        delivered[0],
        delivered[1],
    );
    c.close().await.unwrap();
}

/// Two tabs of the app share one socket; while the server is down each still says how many
/// tabs share it, and the follower shows the leader's try, the same in its badge and banner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tab_counts_read_right_while_the_socket_is_down() {
    let stub = start_stub_with(|c| c.test_control = true).await;
    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;
    let tabs = open_shared_tabs(&c, &format!("{stub}/"), 2).await;
    let leader = leader_tab(&c, &tabs).await;
    let follower = tabs.iter().find(|t| **t != leader).unwrap().clone();

    control(&stub, "restart?down_ms=60000").await;
    for (tab, role, line) in [
        (&leader, "leader", "this tab leads; 2 tabs share the socket"),
        (
            &follower,
            "follower",
            "another tab leads; 2 tabs share the socket",
        ),
    ] {
        c.switch_to_window(tab.clone()).await.unwrap();
        let s = eventually("a scheduled try", async || {
            let s = status_texts(&c).await;
            s.retry_in.is_some().then_some(s)
        })
        .await;
        let n = s.badge_try.clone().expect("a try number");
        assert_eq!(
            s.label.as_deref(),
            Some(&*format!("Reconnecting (try {n})"))
        );
        assert_eq!(s.banner_try, s.badge_try, "{role}: {s:?}");
        assert_eq!(sharing_line(&c, role).await, line, "{role} while down");
    }
    screenshots(&c, "tabs-reconnecting").await;
    control(&stub, "admit").await;
    reconnect_clicking_retry_now(&c).await;
    c.close().await.unwrap();
}
