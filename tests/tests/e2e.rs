//! End to end: the production build of `www/` (run `trunk build --release` first; the test
//! command does), served by an in-process stub on 127.0.0.1, driven in headless Chromium through
//! ChromeDriver. It switches views 20 times, creates an agent, chats with a streamed reply, and
//! checks through `/api/stats` that the app held exactly one WebSocket and leaked no
//! subscription, against both of the stub's profiles (tether's, and the origin's contract with
//! no acknowledgements, `seq` or replay). Screenshots go to `target/e2e/`.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use fantoccini::Locator;
use tether_stub::config::Profile;
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
    let stub = start_stub_with(|c| c.profile = profile).await;
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

    // 3. Create an agent in the UI; it appears live (agent_created on user:1) and is followed.
    let name = "E2E agent";
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
    c.find(Locator::Css("[data-testid=chat-input]"))
        .await
        .unwrap()
        .send_keys("hello from the e2e test")
        .await
        .unwrap();
    click(&c, "[data-testid=chat-send]").await;
    wait_for(
        &c,
        "[data-testid=message][data-role=user][data-delivery=confirmed]",
    )
    .await;
    let last = "(//li[@data-testid='message'])[last()][@data-role='assistant']";
    wait_xpath(&c, &format!("{last}[@data-delivery='streaming']")).await;
    let reply = wait_xpath(&c, &format!("{last}[@data-delivery='confirmed']")).await;
    assert!(!reply.text().await.unwrap().trim().is_empty());
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
