//! Hidden tabs, measured (`scripts/hidden_tabs.sh`, not part of the test command: it runs for
//! minutes). The demo app's events page in three tabs of one user in headful Chromium: the
//! leader's tab opened first and then put in the background by a follower's tab opened over
//! it, and a second follower in a window of its own, both in the foreground. The stub publishes
//! on two topics throughout. The leader's heartbeat is counted at a wire tap in front of the
//! stub ([`WireTap`]); the followers' (and the leader's) events against the stub's publish log
//! from the stub's position before the first publish; the sockets and closes at the stub; and,
//! in every tab, when it was hidden and how often a chained 250 ms timer really woke (which shows
//! whether the intensive wake-up throttling took effect).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use super::tabs::{publish_until_every, published, seed, trace, user_stats, Trace};
use super::tap::{Tapped, Way, WireTap};
use super::{cdp, eventually, start_chromedriver, start_stub_with, stats, wait_for};

/// What a run does.
#[derive(Clone, Debug)]
pub struct HiddenConfig {
    /// How long events are published with the leader hidden.
    pub duration: Duration,
    /// One event per topic this often.
    pub publish_every: Duration,
    /// Chromium's intensive wake-up throttling grace period, when the switch is given
    /// (`--enable-features=IntensiveWakeUpThrottling:grace_period_seconds/N`); Chromium's own
    /// (5 min) otherwise.
    pub grace_secs: Option<u64>,
}

/// Runs in every tab before the page's own scripts: notes each visibility change and each
/// wake-up of a chained 250 ms timer (a hidden page's timers are aligned to whole seconds;
/// intensive wake-up throttling aligns chained timers to minutes).
const PROBE: &str = r#"
window.__probe = { vis: [[Date.now(), document.visibilityState]], wakes: [] };
document.addEventListener('visibilitychange',
  () => window.__probe.vis.push([Date.now(), document.visibilityState]));
(function tick() {
  const w = window.__probe.wakes;
  if (w.length < 100000) { w.push(Date.now()); setTimeout(tick, 250); }
})();
"#;

/// One tab's view of the run.
#[derive(Debug)]
pub struct TabReport {
    /// `leader` or `follower`, at the end.
    pub role: String,
    /// Its visibility changes (ms since the run began, state).
    pub visibility: Vec<(i64, String)>,
    /// The chained timer's wake-up intervals (ms): count, median, max, and how many were ≥ 50 s.
    pub wakes: (usize, u64, u64, usize),
    /// Events due by the publish log after the stub's position before the first publish.
    pub due: usize,
    /// Events it had.
    pub got: usize,
    /// Due events it did not have.
    pub lost: usize,
    /// Events it had more than once.
    pub duplicated: usize,
    /// Resyncs and refusals it saw.
    pub resyncs: usize,
}

/// The whole run's figures.
#[derive(Debug)]
pub struct HiddenReport {
    pub chromium: String,
    pub minutes: f64,
    pub published: usize,
    /// WebSocket connections through the tap, and the stub's count of the user's.
    pub sockets: u64,
    pub connections_opened: Value,
    pub closes: Value,
    /// Per socket: client pings to the stub, the stub's pongs, the stub's pings, client pongs,
    /// and the client pings' intervals (s): median and max.
    pub heartbeat: Vec<String>,
    pub tabs: Vec<TabReport>,
}

impl HiddenReport {
    /// No view lost or repeated an event, and none was resynced or refused.
    pub fn is_sound(&self) -> bool {
        self.tabs
            .iter()
            .all(|t| t.lost == 0 && t.duplicated == 0 && t.resyncs == 0 && t.got == t.due)
    }
}

/// Headful Chromium (the display is Xvfb's) with `grace_secs`' switch, and without
/// ChromeDriver's switches that stop background throttling.
async fn headful(webdriver: &str, grace_secs: Option<u64>) -> Client {
    let mut args = vec![
        "--no-sandbox".to_owned(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--window-size=1280,900".into(),
    ];
    if let Some(s) = grace_secs {
        args.push(format!(
            "--enable-features=IntensiveWakeUpThrottling:grace_period_seconds/{s}"
        ));
    }
    let mut caps = serde_json::Map::new();
    // ChromeDriver turns a hidden page's timer throttling off by default: take its switches
    // out, so the background tab is throttled as in a user's browser.
    let exclude = [
        "disable-background-timer-throttling",
        "disable-backgrounding-occluded-windows",
    ];
    let options =
        json!({ "binary": "/usr/bin/chromium", "args": args, "excludeSwitches": exclude });
    caps.insert("goog:chromeOptions".into(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(webdriver)
        .await
        .expect("a Chromium session (is DISPLAY set? scripts/hidden_tabs.sh runs Xvfb)")
}

/// Loads `page` in `c`'s current window with the probe installed first.
async fn load(c: &Client, webdriver: &str, page: &str) {
    let source = json!({ "source": PROBE });
    cdp(
        c,
        webdriver,
        "Page.addScriptToEvaluateOnNewDocument",
        source,
    )
    .await;
    c.goto(page).await.unwrap();
}

/// Runs the measurement.
pub async fn run(cfg: &HiddenConfig) -> HiddenReport {
    let stub = start_stub_with(|c| c.test_control = true).await;
    let tap = WireTap::start(&stub).await;
    let topics: Vec<String> = seed(&stub, 1, 2)
        .await
        .iter()
        .map(|a| format!("agent:{a}"))
        .collect();
    let page = format!("{}/?page=events&topics={}", tap.url, topics.join(","));
    let (_driver, webdriver) = start_chromedriver().await;
    let c = headful(&webdriver, cfg.grace_secs).await;
    let chromium = c
        .execute("return navigator.userAgent;", vec![])
        .await
        .unwrap();

    // The leader first, then a follower's tab over it (hiding it), then a follower's window.
    let leader = c.window().await.unwrap();
    load(&c, &webdriver, &page).await;
    wait_for(&c, "[data-testid=sharing][data-role=leader]").await;
    wait_for(&c, "[data-testid=conn-badge][data-state=open]").await;
    let mut followers = Vec::new();
    let f1 = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(f1.clone()).await.unwrap();
    load(&c, &webdriver, &page).await;
    followers.push(f1);
    // A control: a hidden tab with no socket (no app), behind the second follower.
    let control = c.new_window(false).await.unwrap().handle;
    c.switch_to_window(control.clone()).await.unwrap();
    load(&c, &webdriver, "data:text/html,<title>control</title>").await;
    let f2 = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(f2.clone()).await.unwrap();
    load(&c, &webdriver, &page).await;
    followers.push(f2);
    for w in &followers {
        c.switch_to_window(w.clone()).await.unwrap();
        wait_for(
            &c,
            "[data-testid=sharing][data-role=follower][data-tabs='3']",
        )
        .await;
        wait_for(&c, "[data-testid=conn-badge][data-state=open]").await;
    }

    // The stub's position on each topic before the first publish: every view's start.
    let mut start = BTreeMap::new();
    for t in &topics {
        start.insert(t.clone(), position(&stub, t).await);
    }
    let began = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = tokio::spawn(publish_until_every(
        stub.clone(),
        topics.clone(),
        stop.clone(),
        cfg.publish_every,
    ));
    while let Some(left) = cfg.duration.checked_sub(began.elapsed()) {
        tokio::time::sleep(Duration::from_secs(60).min(left)).await;
        progress(&c, &followers, &stub, &tap, began).await;
    }
    stop.store(true, Ordering::SeqCst);
    let published_events = publisher.await.unwrap();
    let minutes = began.elapsed().as_secs_f64() / 60.0;

    let mut truth = BTreeMap::new();
    for t in &topics {
        truth.insert(t.clone(), published(&stub, t).await);
    }
    let mut tabs = Vec::new();
    for w in followers.iter().chain([&leader]) {
        tabs.push(tab_report(&c, w, &truth, &start, began).await);
    }
    tabs.push(control_report(&c, &control, began).await);
    let user = user_stats(&stub, 1).await;
    let report = HiddenReport {
        chromium: chromium.as_str().unwrap_or("?").to_owned(),
        minutes,
        published: published_events,
        sockets: tap.sockets(),
        connections_opened: user["connections_opened"].clone(),
        closes: stats(&stub).await["closes"].clone(),
        heartbeat: heartbeat(&tap.frames(), tap.sockets()),
        tabs,
    };
    c.close().await.unwrap();
    report
}

/// The stub's position (`seq`) on `topic`.
async fn position(stub: &str, topic: &str) -> u64 {
    let v: Value = crate::stub::http_client()
        .get(format!("{stub}/api/test/published?topic={topic}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["seq"].as_u64().expect("the stub's position")
}

/// Prints how the run goes: sockets, the last client ping's age, each follower's events.
async fn progress(c: &Client, followers: &[WindowHandle], stub: &str, tap: &WireTap, t0: Instant) {
    let frames = tap.frames();
    let pings: Vec<&Tapped> = frames
        .iter()
        .filter(|f| f.way == Way::ToStub && f.kind == "ping")
        .collect();
    let last = pings.last().map(|f| f.at.elapsed().as_secs());
    let mut counts = Vec::new();
    for w in followers {
        c.switch_to_window(w.clone()).await.unwrap();
        let t = trace(c).await;
        counts.push(t.messages.values().map(Vec::len).sum::<usize>());
    }
    let user = user_stats(stub, 1).await;
    println!(
        "[hidden] {:>4} s: {} socket(s) at the tap, {} opened at the stub; {} client pings, \
         the last {:?} s ago; followers have {counts:?} events",
        t0.elapsed().as_secs(),
        tap.sockets(),
        user["connections_opened"],
        pings.len(),
        last,
    );
}

/// One tab's report: its role, probe and events against the publish log.
async fn tab_report(
    c: &Client,
    w: &WindowHandle,
    truth: &BTreeMap<String, Vec<u64>>,
    start: &BTreeMap<String, u64>,
    began: Instant,
) -> TabReport {
    c.switch_to_window(w.clone()).await.unwrap();
    // Whatever was published reaches this tab within a minute (a throttled leader's timers
    // run at least once a minute).
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut t = trace(c).await;
    while !complete(&t, truth) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        t = trace(c).await;
    }
    let role = eventually("the tab's role", async || {
        let e = c
            .find(fantoccini::Locator::Css("[data-testid=sharing]"))
            .await
            .ok()?;
        e.attr("data-role").await.ok()?
    })
    .await;
    let probe = c.execute("return window.__probe;", vec![]).await.unwrap();
    let (due, got, lost, duplicated) = count(&t, truth, start);
    TabReport {
        role,
        visibility: visibility(&probe, began),
        wakes: wakes(&probe),
        due,
        got,
        lost,
        duplicated,
        resyncs: t.resyncs + t.refused,
    }
}

/// The control tab's report: its probe only.
async fn control_report(c: &Client, w: &WindowHandle, began: Instant) -> TabReport {
    c.switch_to_window(w.clone()).await.unwrap();
    let probe = c.execute("return window.__probe;", vec![]).await.unwrap();
    TabReport {
        role: "control (no app, no socket)".into(),
        visibility: visibility(&probe, began),
        wakes: wakes(&probe),
        due: 0,
        got: 0,
        lost: 0,
        duplicated: 0,
        resyncs: 0,
    }
}

/// Whether `t` has the last published event of every topic.
fn complete(t: &Trace, truth: &BTreeMap<String, Vec<u64>>) -> bool {
    truth.iter().all(|(topic, log)| {
        log.last().is_none() || t.messages.get(topic).and_then(|m| m.last()) == log.last()
    })
}

/// Due, had, lost and duplicated, over every topic, from the stub's positions in `start`.
fn count(
    t: &Trace,
    truth: &BTreeMap<String, Vec<u64>>,
    start: &BTreeMap<String, u64>,
) -> (usize, usize, usize, usize) {
    let (mut due, mut got, mut lost, mut duplicated) = (0, 0, 0, 0);
    for (topic, log) in truth {
        let from = start[topic];
        let had = t.messages.get(topic).cloned().unwrap_or_default();
        let mut seen = std::collections::BTreeSet::new();
        for s in &had {
            if !seen.insert(*s) {
                duplicated += 1;
            }
        }
        let wanted: Vec<u64> = log.iter().copied().filter(|s| *s > from).collect();
        lost += wanted.iter().filter(|s| !seen.contains(s)).count();
        due += wanted.len();
        got += had.len();
    }
    (due, got, lost, duplicated)
}

/// The probe's visibility changes, in ms from `began` (negative: before it).
fn visibility(probe: &Value, began: Instant) -> Vec<(i64, String)> {
    let now = now_ms();
    let began_ms = now - began.elapsed().as_millis() as i64;
    probe["vis"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let at = v[0].as_f64().unwrap_or(0.0) as i64 - began_ms;
            (at, v[1].as_str().unwrap_or("?").to_owned())
        })
        .collect()
}

/// The probe timer's wake-up intervals: count, median, max, and how many were ≥ 50 s.
fn wakes(probe: &Value) -> (usize, u64, u64, usize) {
    let at: Vec<u64> = probe["wakes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_f64().map(|f| f as u64))
        .collect();
    let gaps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    summary(&gaps, |g| g >= 50_000)
}

/// Count, median, max of `values`, and how many pass `long`.
fn summary(values: &[u64], long: impl Fn(u64) -> bool) -> (usize, u64, u64, usize) {
    let mut v = values.to_vec();
    v.sort_unstable();
    let median = v.get(v.len() / 2).copied().unwrap_or(0);
    let max = v.last().copied().unwrap_or(0);
    (v.len(), median, max, v.iter().filter(|g| long(**g)).count())
}

/// The heartbeat of each socket, as the tap saw it.
fn heartbeat(frames: &[Tapped], sockets: u64) -> Vec<String> {
    (1..=sockets)
        .map(|s| {
            let of = |way: Way, kind: &str| -> Vec<Instant> {
                frames
                    .iter()
                    .filter(|f| f.socket == s && f.way == way && f.kind == kind)
                    .map(|f| f.at)
                    .collect()
            };
            let pings = of(Way::ToStub, "ping");
            let gaps: Vec<u64> = pings
                .windows(2)
                .map(|w| (w[1] - w[0]).as_millis() as u64)
                .collect();
            let (_, median, max, _) = summary(&gaps, |_| false);
            format!(
                "socket {s}: {} client pings, {} pongs from the stub, {} stub pings, {} client \
                 pongs; client ping intervals median {:.1} s, max {:.1} s",
                pings.len(),
                of(Way::ToBrowser, "pong").len(),
                of(Way::ToBrowser, "ping").len(),
                of(Way::ToStub, "pong").len(),
                median as f64 / 1000.0,
                max as f64 / 1000.0,
            )
        })
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
