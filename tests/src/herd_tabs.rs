//! The herd when every client is a browser with several tabs: each browser is one user with
//! `tabs` tabs of the app (a simulated profile, `tabs::sim::SimBrowser`). The stub restarts, and
//! its own counter of connection attempts is read every 100 ms until every tab is open again.
//! Measured in one run with the tabs sharing one socket per browser, and with each tab on its
//! own socket (the mode off), from the same starting point.

use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tether_client::tabs::sim::SimBrowser;
use tether_client::AppState;
use tether_client::{Config, ConnectionState};

use crate::stub::Stub;
use crate::wait::{self, TimedOut, Timeouts};
use crate::wire_audit::FrameTally;

/// One herd.
#[derive(Clone, Debug, Default)]
pub struct TabHerd {
    /// Connections the stub held per user before the restart: fewest and most.
    pub per_user: (u64, u64),
    /// Connections the stub held in all before the restart.
    pub connections: u64,
    /// Connection attempts the stub saw per 100 ms after the restart.
    pub buckets: Vec<u64>,
    /// Tabs open again at the end, of all tabs.
    pub reopened: (usize, usize),
    /// Waits that reached their deadline.
    pub timeouts: Timeouts,
    /// The frames on the wire, checked against the origin's contract.
    pub frames: FrameTally,
}

impl TabHerd {
    /// The largest bucket.
    pub fn peak(&self) -> u64 {
        self.buckets.iter().copied().max().unwrap_or(0)
    }

    /// Attempts in all.
    pub fn attempts(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// Both herds.
#[derive(Clone, Debug)]
pub struct TabHerdReport {
    /// Browsers (users).
    pub browsers: usize,
    /// Tabs per browser.
    pub tabs: usize,
    /// Tabs sharing one socket per browser.
    pub shared: TabHerd,
    /// Every tab on its own socket.
    pub separate: TabHerd,
}

impl TabHerdReport {
    /// One connection per user when the tabs share (as many as tabs when not), every tab open
    /// again, fewer attempts when sharing, no wait timed out, every frame conformed.
    pub fn is_sound(&self) -> bool {
        let herd_ok = |h: &TabHerd| {
            h.reopened.0 == h.reopened.1 && h.timeouts.is_empty() && h.frames.is_clean()
        };
        let tabs = self.tabs as u64;
        self.shared.per_user == (1, 1)
            && self.separate.per_user == (tabs, tabs)
            && herd_ok(&self.shared)
            && herd_ok(&self.separate)
            && self.shared.attempts() < self.separate.attempts()
    }
}

fn herd_lines(f: &mut fmt::Formatter<'_>, name: &str, h: &TabHerd) -> fmt::Result {
    writeln!(
        f,
        "  {name}: {} connections before the restart ({}..={} per user); {} attempts after it, largest 100 ms bucket {}; {} of {} tabs open again",
        h.connections,
        h.per_user.0,
        h.per_user.1,
        h.attempts(),
        h.peak(),
        h.reopened.0,
        h.reopened.1
    )?;
    let shown: Vec<String> = h.buckets.iter().map(u64::to_string).collect();
    writeln!(f, "    attempts per 100 ms: {}", shown.join(" "))?;
    writeln!(f, "    {}; waits timed out: {}", h.frames, h.timeouts)
}

impl fmt::Display for TabHerdReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "herd of browsers: {} users with {} tabs each through a stub restart, counted at the stub, in one run:",
            self.browsers, self.tabs
        )?;
        herd_lines(f, "tabs sharing one socket", &self.shared)?;
        herd_lines(f, "each tab its own socket", &self.separate)
    }
}

/// Runs both herds. Call inside a `LocalSet`.
pub async fn run(browsers: usize, tabs: usize, down_ms: u64) -> TabHerdReport {
    TabHerdReport {
        browsers,
        tabs,
        shared: herd(browsers, tabs, down_ms, true).await,
        separate: herd(browsers, tabs, down_ms, false).await,
    }
}

const FIRST_USER: u64 = 5_000;

async fn herd(browsers: usize, tabs: usize, down_ms: u64, share: bool) -> TabHerd {
    let stub = Stub::start(|c| {
        c.rate_burst = 1_000;
        c.max_connections = 20_000;
    })
    .await;
    let mut profiles = Vec::new();
    let mut apps: Vec<Rc<AppState>> = Vec::new();
    for b in 0..browsers {
        let user = FIRST_USER + b as u64;
        let token = stub.token(user).await;
        let browser = SimBrowser::new();
        for _ in 0..tabs {
            let token = token.clone();
            let config = Config::new(stub.ws_url()).with_token(move || Some(token.clone()));
            let app = if share {
                browser.open_tab(config.share_across_tabs(format!("herd:{user}")))
            } else {
                let (app, driver, _) =
                    tether_client::native::app(config, user * 10 + apps.len() as u64);
                tokio::task::spawn_local(driver.run());
                app.client.connect();
                app
            };
            apps.push(app);
        }
        profiles.push(browser);
    }
    let open = |apps: &[Rc<AppState>]| {
        apps.iter()
            .filter(|a| a.state() == ConnectionState::Open)
            .count()
    };
    let total = apps.len();
    let ready = wait::until(
        "every tab open before the restart",
        Duration::from_secs(60),
        || open(&apps) == total,
    );
    if let Err(e) = ready.await {
        panic!("{e}: {} of {total}", open(&apps));
    }
    let stats = stub.stats().await;
    let per_user: Vec<u64> = (0..browsers)
        .map(|b| {
            stats["per_user"][(FIRST_USER + b as u64).to_string()]["connections_open"]
                .as_u64()
                .unwrap_or(0)
        })
        .collect();
    let connections = per_user.iter().sum();
    let per_user = (
        per_user.iter().copied().min().unwrap_or(0),
        per_user.iter().copied().max().unwrap_or(0),
    );

    let attempts = |s: &serde_json::Value| s["connection_attempts_total"].as_u64().unwrap_or(0);
    let mut last = attempts(&stub.stats().await);
    stub.control(&format!("restart?down_ms={down_ms}")).await;
    let mut buckets = Vec::new();
    let mut tick = Instant::now();
    let started = Instant::now();
    // Every tab must see the restart before any can count as back.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut timeouts = Timeouts::default();
    let limit = Duration::from_secs(60);
    loop {
        tick += Duration::from_millis(100);
        tokio::time::sleep_until(tick.into()).await;
        let now = attempts(&stub.stats().await);
        buckets.push(now - last);
        last = now;
        if open(&apps) == total && buckets.last() == Some(&0) {
            break;
        }
        if started.elapsed() > limit {
            let what = "every tab open again, with no attempt for 100 ms".to_owned();
            timeouts.note(Err(TimedOut { what, limit }));
            break;
        }
    }
    while buckets.last() == Some(&0) && buckets.len() > 1 {
        buckets.pop();
    }
    let reopened = (open(&apps), total);
    for app in apps {
        app.client.close();
    }
    drop(profiles);
    TabHerd {
        per_user,
        connections,
        buckets,
        reopened,
        timeouts,
        frames: stub.frames(),
    }
}
