//! What the end-to-end tests share: the production build of `www/` served by an in-process
//! stub, Chromium driven through ChromeDriver (fantoccini), and the stub's HTTP API.
//!
//! No wait here passes on a time-out: each one fails naming what it waited for. Nothing is
//! clicked or read that the app may legitimately remove or change in between without the
//! helper allowing for it (a countdown re-rendering, the client's own retry winning).

pub mod hidden;
mod page;
mod proxy;
pub mod resume;
mod retry;
pub mod tabs;
pub mod tap;

pub use page::*;
pub use proxy::FlakyProxy;
pub use retry::*;

use std::collections::BTreeMap;
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tether_stub::config::Config;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// How long any wait of the end-to-end tests lasts before it fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// The repository root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A free loopback port for ChromeDriver.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The app's build the tests serve: `www/dist`, or `TETHER_E2E_DIST` (to run the tests
/// against another build, say the one before a change).
pub fn dist() -> PathBuf {
    std::env::var_os("TETHER_E2E_DIST").map_or_else(|| workspace().join("www/dist"), PathBuf::from)
}

/// Polls `probe` every 100 ms until it returns a value, which it returns; fails naming `what`
/// after [`WAIT`].
pub async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(started.elapsed() < WAIT, "waited {WAIT:?} for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts a stub serving the app's build (dev token, simulator on), changed by `tweak`.
pub async fn start_stub_with(tweak: impl FnOnce(&mut Config)) -> String {
    let dist = dist();
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

/// Starts ChromeDriver on a free port; returns it and its URL.
pub async fn start_chromedriver() -> (Child, String) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver on PATH (scripts/tools.sh installs it)");
    let url = format!("http://127.0.0.1:{port}");
    let http = crate::stub::http_client();
    let started = Instant::now();
    while http.get(format!("{url}/status")).send().await.is_err() {
        assert!(started.elapsed() < WAIT, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, url)
}

/// A headless Chromium session at 1280×900.
pub async fn browser(webdriver: &str) -> Client {
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

/// `GET /api/stats`.
pub async fn stats(stub: &str) -> Value {
    crate::stub::http_client()
        .get(format!("{stub}/api/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `GET` a REST path as the dev user.
pub async fn api(stub: &str, path: &str) -> Value {
    let http = crate::stub::http_client();
    http.get(format!("{stub}{path}"))
        .bearer_auth("dev-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every item of a REST list at `path` as the dev user, following its pages (`next`).
pub async fn api_all(stub: &str, path: &str, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut page = api(stub, path).await;
    loop {
        items.extend(page[key].as_array().cloned().unwrap_or_default());
        let Some(next) = page["next"].as_u64() else {
            return items;
        };
        let join = if path.contains('?') { '&' } else { '?' };
        page = api(stub, &format!("{path}{join}after={next}")).await;
    }
}

/// `POST /api/test/{path}` (test control).
pub async fn control(stub: &str, path: &str) -> Value {
    let http = crate::stub::http_client();
    let resp = http
        .post(format!("{stub}/api/test/{path}"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// The text of the first element matching `css`, once there is one. An element replaced
/// between finding and reading it is found again.
pub async fn text(c: &Client, css: &str) -> String {
    eventually(&format!("the text of {css}"), async || {
        let element = c.find(Locator::Css(css)).await.ok()?;
        element.text().await.ok()
    })
    .await
}

/// The stub's subscriber counts, by topic.
pub async fn subscribers(stub: &str) -> BTreeMap<String, u64> {
    let s = stats(stub).await;
    s["subscribers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Waits until the stub holds exactly `expected`.
pub async fn wait_subscribers(stub: &str, expected: &BTreeMap<String, u64>, what: &str) {
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

/// The topics the dashboard holds for the dev user: `user:1` and each agent's.
pub async fn dashboard_topics(stub: &str) -> BTreeMap<String, u64> {
    let agents = api_all(stub, "/api/agents", "agents").await;
    let mut topics: BTreeMap<String, u64> = agents
        .iter()
        .map(|a| (format!("agent:{}", a["id"]), 1))
        .collect();
    topics.insert("user:1".into(), 1);
    topics
}

/// Clicks the first element matching `css`, once there is one. An element re-rendered between
/// finding and clicking it (a countdown, say) is found again.
pub async fn click(c: &Client, css: &str) {
    let started = Instant::now();
    loop {
        let element = c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        match element.click().await {
            Ok(()) => return,
            Err(e) if started.elapsed() < WAIT => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("clicking {css}: {e}"),
        }
    }
}

/// Waits for an element matching `css`.
pub async fn wait_for(c: &Client, css: &str) {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
}

/// Waits for an element matching `xpath`.
pub async fn wait_xpath(c: &Client, xpath: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("waiting for {xpath}: {e}"))
}

/// The `points` of the health panel's sparkline, once it has any.
pub async fn sparkline_points(c: &Client) -> String {
    eventually("a sparkline with points", async || {
        let line = c
            .find(Locator::Css(
                "[data-testid=health-panel] svg.spark polyline",
            ))
            .await
            .ok()?;
        let points = line.attr("points").await.ok()??;
        (!points.is_empty()).then_some(points)
    })
    .await
}
