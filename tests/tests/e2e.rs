//! End to end: the production build of `www/` (run `trunk build --release` first; the test
//! command does), served by an in-process stub on 127.0.0.1, driven in headless Chromium through
//! ChromeDriver. It switches views 20 times, creates an agent, chats, and checks through
//! `/api/stats` that the app held exactly one WebSocket and leaked no subscription. A second test
//! walks the states besides the happy path: empty, reconnecting (with "Retry now") and signed
//! out. Screenshots of each view and state go to `target/e2e/`.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tether_stub::config::Config;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(15);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A free loopback port for ChromeDriver.
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_stub() -> String {
    start_stub_with(|_| {}).await
}

async fn start_stub_with(tweak: impl FnOnce(&mut Config)) -> String {
    let dist = workspace().join("www/dist");
    assert!(
        dist.join("index.html").exists(),
        "{} has no build: run `trunk build --release` (scripts/test.sh does)",
        dist.display()
    );
    let mut config = Config {
        port: 0,
        dev: true,
        simulate: true,
        static_dir: dist,
        stream_chunk_ms: 25,
        simulate_interval_ms: 60_000, // quiet: this test counts subscriptions, not statuses
        ..Config::default()
    };
    tweak(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(tether_stub::serve(config, listener, std::future::pending()));
    url
}

async fn start_chromedriver() -> (Child, String) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver on PATH (scripts/tools.sh installs it)");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{url}/status")).send().await.is_err() {
        assert!(started.elapsed() < WAIT, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, url)
}

async fn browser(webdriver: &str) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1280,900"]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(webdriver)
        .await
        .expect("a Chromium session")
}

async fn stats(stub: &str) -> Value {
    reqwest::get(format!("{stub}/api/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn api(stub: &str, path: &str) -> Value {
    let http = reqwest::Client::new();
    http.get(format!("{stub}{path}"))
        .bearer_auth("dev-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `POST /api/test/{path}` (test control).
async fn control(stub: &str, path: &str) -> Value {
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{stub}/api/test/{path}"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

async fn text(c: &Client, css: &str) -> String {
    wait_for(c, css).await;
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The stub's subscriber counts, by topic.
async fn subscribers(stub: &str) -> BTreeMap<String, u64> {
    let s = stats(stub).await;
    s["subscribers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

async fn wait_subscribers(stub: &str, expected: &BTreeMap<String, u64>, what: &str) {
    let started = Instant::now();
    loop {
        let now = subscribers(stub).await;
        if &now == expected {
            return;
        }
        assert!(
            started.elapsed() < WAIT,
            "{what}: the stub holds {now:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn dashboard_topics(stub: &str) -> BTreeMap<String, u64> {
    let agents = api(stub, "/api/agents").await;
    let mut topics: BTreeMap<String, u64> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (format!("agent:{}", a["id"]), 1))
        .collect();
    topics.insert("user:1".into(), 1);
    topics
}

async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn wait_for(c: &Client, css: &str) {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
}

async fn wait_xpath(c: &Client, xpath: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("waiting for {xpath}: {e}"))
}

/// The `points` of the health panel's sparkline, once it has any.
async fn sparkline_points(c: &Client) -> String {
    let start = Instant::now();
    loop {
        let line = c
            .find(Locator::Css(
                "[data-testid=health-panel] svg.spark polyline",
            ))
            .await
            .expect("the health panel has a sparkline");
        let points = line.attr("points").await.unwrap().unwrap_or_default();
        if !points.is_empty() || start.elapsed() > WAIT {
            return points;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn screenshot(c: &Client, name: &str) {
    let dir = workspace().join("target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_keeps_one_socket_across_views_and_works_end_to_end() {
    let stub = start_stub().await;
    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;
    c.goto(&format!("{stub}/")).await.unwrap();

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
    screenshot(&c, "dashboard-1280.png").await;

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
    screenshot(&c, "chat-1280.png").await;

    // 5. Exactly one WebSocket for the whole session.
    let s = stats(&stub).await;
    assert_eq!(s["connections_opened_total"], 1, "{s}");
    assert_eq!(s["per_user"]["1"]["connections_opened"], 1, "{s}");
    assert_eq!(s["connections_open"], 1, "{s}");

    // 6. The phone layout, with the health panel open on the dashboard.
    c.set_window_size(390, 844).await.unwrap();
    screenshot(&c, "chat-390.png").await;
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
    screenshot(&c, "dashboard-390.png").await;
    assert_eq!(stats(&stub).await["connections_opened_total"], 1);
    c.close().await.unwrap();
}

/// The states besides the happy path, as a user meets them: a new user with no agents (an empty
/// dashboard, and a Chat tab that says so), the stub restarting (the banner counts down to the
/// next automatic try, and "Retry now" reconnects at once), and a refused token (signed out,
/// with the REST error in words).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_designs_its_empty_reconnecting_and_signed_out_states() {
    let stub = start_stub_with(|c| c.test_control = true).await;
    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;

    // Empty: user 77 has no agents; the Chat tab does not open someone else's agent.
    let token = control(&stub, "token?sub=77&exp_secs=3600").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    c.goto(&format!("{stub}/?token={token}&user=77"))
        .await
        .unwrap();
    wait_for(&c, "[data-testid=conn-badge][data-state=open]").await;
    wait_for(&c, "[data-testid=empty]").await;
    click(&c, "[data-testid=nav-chat]").await;
    wait_for(&c, "[data-testid=no-agents]").await;
    screenshot(&c, "empty-chat-1280.png").await;
    click(&c, "[data-testid=nav-dashboard]").await;

    // Reconnecting: the stub restarts and refuses connections. Once the next automatic try is
    // at least 6 s away, it takes connections again and "Retry now" must reconnect well before
    // that try was due.
    control(&stub, "restart?down_ms=60000").await;
    let started = Instant::now();
    let retry_in = loop {
        if let Ok(button) = c.find(Locator::Css("[data-testid=retry-now]")).await {
            let secs = button.attr("data-retry-in").await.ok().flatten();
            if let Some(secs) = secs.and_then(|s| s.parse::<u64>().ok()) {
                if secs >= 6 {
                    break secs;
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(50),
            "the backoff never reached a 6 s wait"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let banner = text(&c, "[data-testid=disconnected]").await;
    assert!(
        banner.contains(&format!("next try in {retry_in} s")),
        "{banner}"
    );
    screenshot(&c, "reconnecting-1280.png").await;
    control(&stub, "admit").await;
    let clicked = Instant::now();
    click(&c, "[data-testid=retry-now]").await;
    wait_for(&c, "[data-testid=conn-badge][data-state=open]").await;
    assert!(
        clicked.elapsed() < Duration::from_secs(3),
        "Retry now took {:?}; the automatic try was {retry_in} s away",
        clicked.elapsed()
    );
    assert!(c
        .find(Locator::Css("[data-testid=disconnected]"))
        .await
        .is_err());

    // Signed out: a refused token is final, and the banner and the REST error say so in words.
    c.goto(&format!("{stub}/?token=wrong")).await.unwrap();
    wait_for(&c, "[data-testid=conn-badge][data-state=auth_failed]").await;
    let banner = text(&c, "[data-testid=disconnected]").await;
    assert!(
        banner.contains("Sign in again") && !banner.contains("connection is back"),
        "{banner}"
    );
    let error = text(&c, "[role=alert]").await;
    assert!(
        error.contains("missing, invalid or expired token") && !error.contains('{'),
        "{error}"
    );
    screenshot(&c, "signed-out-1280.png").await;
    c.close().await.unwrap();
}
