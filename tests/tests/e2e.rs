//! End to end: the production build of `www/` (run `trunk build --release` first; the test
//! command does), served by an in-process stub on 127.0.0.1, driven in headless Chromium through
//! ChromeDriver. It switches views 20 times, creates an agent, runs one (the run is still shown
//! after going to the chat and back), chats with a streamed reply (the message typed stored
//! once, by the stub's REST history, and shown once; against the origin profile it is posted
//! over REST, then the thread run, since the origin's socket refuses the contract's
//! `send_message`), and checks through
//! `/api/stats` that the app held exactly one WebSocket and leaked no subscription, against both
//! of the stub's profiles (tether's, and the origin's contract with no acknowledgements, `seq`
//! or replay). The events page lists the events and marks refused topics. Screenshots go to
//! `target/e2e/`.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use fantoccini::{Client, Locator};
use tether_stub::config::Profile;
use tether_tests::e2e::tabs::{published, trace};
use tether_tests::e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_keeps_one_socket_across_views_and_works_end_to_end() {
    walk(Profile::Tether, "/api/ws/v2", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_works_end_to_end_against_the_origin_profile() {
    walk(Profile::Origin, "/api/ws", "-origin").await;
}

/// The happy path against a stub of `profile`, the app's socket at `ws`; screenshots get
/// `suffix`.
async fn walk(profile: Profile, ws: &str, suffix: &str) {
    let stub = start_stub_with(|c| {
        c.profile = profile;
        c.test_control = true;
    })
    .await;
    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;
    c.goto(&format!("{stub}/?ws={ws}")).await.unwrap();

    // 1. Open.
    wait_for(&c, "[data-testid=conn-badge][data-state=open]").await;
    wait_for(&c, "[data-testid=agent-row]").await;
    let dashboard = dashboard_topics(&stub).await;
    wait_subscribers(&stub, &dashboard, "dashboard").await;
    let thread = api(&stub, "/api/threads?agent_id=1").await["threads"][0]["id"]
        .as_u64()
        .unwrap();
    let chat: BTreeMap<String, u64> = [(format!("thread:{thread}"), 1)].into();

    // 2. Twenty switches; after each, the stub holds exactly the view's topics.
    for i in 0..20 {
        click(&c, "[data-testid=nav-chat]").await;
        wait_for(
            &c,
            "[data-testid=chat] .conversation [data-testid=chat-input]",
        )
        .await;
        wait_subscribers(&stub, &chat, &format!("switch {i} to chat")).await;
        click(&c, "[data-testid=nav-dashboard]").await;
        wait_for(&c, "[data-testid=agent-row]").await;
        wait_subscribers(&stub, &dashboard, &format!("switch {i} to the dashboard")).await;
    }
    screenshot(&c, &format!("dashboard-1280{suffix}.png")).await;

    // 2b. A run, then the chat and back: the dashboard mounts again and still shows the run.
    runs_survive_navigation(&c, &stub, suffix).await;

    // 3. Create an agent in the UI; it appears live (agent_created on user:1) and is followed.
    // A long name, and the columns stay where they were: the table's layout does not jump.
    let name = "E2E agent with a long name that must not move the columns";
    let columns = "return [...document.querySelectorAll('table.agents th')]
                     .map((th) => Math.round(th.getBoundingClientRect().left));";
    let before = c.execute(columns, vec![]).await.unwrap();
    c.find(Locator::Css("[data-testid=new-agent-name]"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    click(&c, "[data-testid=create-agent]").await;
    let row = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&format!(
            "//tr[@data-testid='agent-row'][td[normalize-space()='{name}']]"
        )))
        .await
        .expect("the new agent appears live");
    let after = c.execute(columns, vec![]).await.unwrap();
    assert_eq!(before, after, "the columns moved when a row was added");
    let new_id = row.attr("data-agent").await.unwrap().unwrap();
    let mut with_new = dashboard.clone();
    with_new.insert(format!("agent:{new_id}"), 1);
    wait_subscribers(&stub, &with_new, "after creating an agent").await;

    // 4. Chat: the message is confirmed and the streamed reply arrives.
    click(&c, "[data-testid=nav-chat]").await;
    wait_for(&c, "[data-testid=chat-input]").await;
    // The thread list is headed by the agent's name, not its id.
    wait_xpath(
        &c,
        "//h2[@data-testid='chat-agent'][normalize-space()='Researcher']",
    )
    .await;
    let typed = "hello from the e2e test";
    c.find(Locator::Css("[data-testid=chat-input]"))
        .await
        .unwrap()
        .send_keys(typed)
        .await
        .unwrap();
    // Record the assistant messages' delivery states as they change: a fast reply may stream
    // and finish between two polls, so the streaming state is never waited for.
    c.execute(
        "window.__deliveries = [];
         new MutationObserver(() => {
           for (const m of document.querySelectorAll('[data-testid=message][data-role=assistant]')) {
             const d = m.getAttribute('data-delivery');
             if (!window.__deliveries.includes(d)) window.__deliveries.push(d);
           }
         }).observe(document.body, { subtree: true, childList: true, attributes: true });",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "[data-testid=chat-send]").await;
    wait_for(
        &c,
        "[data-testid=message][data-role=user][data-delivery=confirmed]",
    )
    .await;
    let last = "(//li[@data-testid='message'])[last()][@data-role='assistant']";
    let reply = wait_xpath(&c, &format!("{last}[@data-delivery='confirmed']")).await;
    assert!(!reply.text().await.unwrap().trim().is_empty());
    let deliveries = c
        .execute("return window.__deliveries;", vec![])
        .await
        .unwrap();
    assert!(
        deliveries
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "streaming"),
        "the reply streamed: {deliveries}"
    );
    // The message typed is stored once (the stub's history, over REST) and shown once.
    let stored = api_all(
        &stub,
        &format!("/api/threads/{thread}/messages"),
        "messages",
    )
    .await;
    let copies = stored.iter().filter(|m| m["content"] == typed).count();
    assert_eq!(copies, 1, "stored {copies} times: {stored:?}");
    let shown = c
        .find_all(Locator::XPath(&format!(
            "//li[@data-testid='message'][@data-role='user'][normalize-space()='{typed}']"
        )))
        .await
        .unwrap()
        .len();
    assert_eq!(shown, 1, "shown {shown} times");
    screenshot(&c, &format!("chat-1280{suffix}.png")).await;

    // 5. Exactly one WebSocket for the whole session.
    let s = stats(&stub).await;
    assert_eq!(s["connections_opened_total"], 1, "{s}");
    assert_eq!(s["per_user"]["1"]["connections_opened"], 1, "{s}");
    assert_eq!(s["connections_open"], 1, "{s}");

    // 6. The phone layout, with the health panel open on the dashboard.
    c.set_window_size(390, 844).await.unwrap();
    screenshot(&c, &format!("chat-390{suffix}.png")).await;
    click(&c, "[data-testid=nav-dashboard]").await;
    wait_for(&c, "[data-testid=agent-row]").await;
    click(&c, "[data-testid=conn-badge]").await;
    wait_for(&c, "[data-testid=health-panel]").await;
    // The latency sparkline spans the panel's width (the RTT is measured on open).
    let points = sparkline_points(&c).await;
    let xs: Vec<&str> = points
        .split_whitespace()
        .filter_map(|p| p.split(',').next())
        .collect();
    assert_eq!(
        (xs.first(), xs.last()),
        (Some(&"0.0"), Some(&"120.0")),
        "sparkline points: {points:?}"
    );
    let replay = c
        .find(Locator::Css("[data-testid=replay]"))
        .await
        .unwrap()
        .attr("data-replay")
        .await
        .unwrap();
    let expected = match profile {
        Profile::Tether => "offered",
        Profile::Origin => "not-offered",
    };
    assert_eq!(
        replay.as_deref(),
        Some(expected),
        "the health panel says whether the server replays"
    );
    screenshot(&c, &format!("dashboard-390{suffix}.png")).await;
    assert_eq!(stats(&stub).await["connections_opened_total"], 1);
    c.close().await.unwrap();
}

/// Runs agent 1 from the dashboard and waits for the run to finish by the stub's publish log
/// (five `run_update`s: queued, 25, 50, 75 %, success); then goes to the chat and back. The
/// dashboard mounted again shows the same run, finished, not "no run yet".
async fn runs_survive_navigation(c: &Client, stub: &str, suffix: &str) {
    let row = "[data-testid=agent-row][data-agent='1']";
    click(c, &format!("{row} [data-testid=run-agent]")).await;
    let run = eventually("the run's five updates published", async || {
        let v = stub_published(stub, "agent:1").await;
        let runs: Vec<u64> = v
            .iter()
            .filter(|e| e["type"] == "run_update")
            .filter_map(|e| e["id"].as_u64())
            .collect();
        let last = *runs.last()?;
        (runs.iter().filter(|r| **r == last).count() == 5).then_some(last)
    })
    .await;
    let cell = format!("{row} [data-testid=run][data-run='{run}'][data-run-status=success]");
    wait_for(c, &cell).await;
    click(c, "[data-testid=nav-chat]").await;
    wait_for(c, "[data-testid=chat-input]").await;
    click(c, "[data-testid=nav-dashboard]").await;
    wait_for(c, &cell).await;
    assert_eq!(text(c, &cell).await, "succeeded");
    screenshots(c, &format!("runs-kept{suffix}")).await;
}

/// The stub's publish log of `topic` (test control).
async fn stub_published(stub: &str, topic: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = tether_tests::stub::http_client()
        .get(format!("{stub}/api/test/published?topic={topic}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["events"].as_array().cloned().unwrap_or_default()
}

/// The events page (`?page=events&topics=…`): each topic's latest events by `seq`, against
/// the stub's publish log; refused topics marked as such, with the server's reason; and its
/// navigation leads to the other views and back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_page_lists_events_marks_refused_topics_and_navigates() {
    let stub = start_stub_with(|c| c.test_control = true).await;
    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;
    c.goto(&format!(
        "{stub}/?page=events&topics=agent:1,agent:999,nope:1"
    ))
    .await
    .unwrap();
    let live = "[data-testid=topic-log][data-topic='agent:1'][data-standing=live]";
    wait_for(&c, live).await;
    control(&stub, "publish?topic=agent:1&count=3").await;
    let truth = published(&stub, "agent:1").await;
    let start = trace(&c).await.subscribed["agent:1"];
    let due: Vec<u64> = truth.iter().copied().filter(|s| *s > start).collect();
    assert_eq!(due.len(), 3, "published after the page subscribed");
    let last = due[2];
    // The snapshot sent on subscribe is counted apart (it has no seq).
    let summary = format!("Live: its snapshot, then 3 events, last seq {last}.");
    let shown = eventually("the three events listed", async || {
        let text = text(&c, &format!("{live} [data-testid=topic-summary]")).await;
        (text == summary).then_some(())
    });
    shown.await;
    let lines = c
        .find_all(Locator::Css(&format!(
            "{live} [data-testid=event][data-seq]"
        )))
        .await
        .unwrap();
    let mut seqs = Vec::new();
    for line in lines {
        seqs.push(
            line.attr("data-seq")
                .await
                .unwrap()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        );
    }
    let newest_first: Vec<u64> = due.iter().rev().copied().collect();
    assert_eq!(
        seqs, newest_first,
        "the page lists what was published, newest first"
    );
    for (topic, code, reason) in [
        ("agent:999", "NOT_FOUND", "no agent 999"),
        ("nope:1", "INVALID_TOPIC", ""),
    ] {
        let log = format!("[data-testid=topic-log][data-topic='{topic}'][data-standing=refused]");
        let text = text(&c, &format!("{log} [data-testid=topic-summary]")).await;
        assert!(
            text.starts_with(&format!("Refused by the server ({code}): {reason}"))
                && text.ends_with("Nothing will arrive on this topic."),
            "{topic}: {text}"
        );
    }
    screenshots(&c, "events").await;

    // Its tabs lead to the other views, and back; the address follows.
    click(&c, "[data-testid=nav-dashboard]").await;
    wait_for(&c, "[data-testid=agent-row]").await;
    assert!(!c
        .current_url()
        .await
        .unwrap()
        .as_str()
        .contains("page=events"));
    click(&c, "[data-testid=nav-chat]").await;
    wait_for(&c, "[data-testid=chat-input]").await;
    click(&c, "[data-testid=nav-events]").await;
    wait_for(&c, live).await;
    assert!(c
        .current_url()
        .await
        .unwrap()
        .as_str()
        .contains("page=events"));
    c.close().await.unwrap();
}
