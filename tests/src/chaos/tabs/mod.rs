//! The chaos scenario with tabs: one user's tabs share one socket
//! (`Config::share_across_tabs`) in a simulated browser profile (`tabs::sim::SimBrowser`: an
//! in-process channel and lock, the browser code otherwise), against a real stub. While a
//! seeded schedule publishes events and injects the same faults as the single-client run, tabs
//! open, close, crash, and the leader is closed or killed; views mount and unmount in every tab.
//!
//! Every event view is checked against the stub's publish log as in the single-client run. A
//! view whose tab closed or crashed ends at the last event it had: everything published between
//! its start and that event must have reached it once and in order.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use tether_client::core::{Config, ConnectionState, Rng};
use tether_client::tabs::sim::SimBrowser;
use tether_client::tabs::Role;
use tether_client::{AppState, ListenerGuard};

use crate::chaos::check;
use crate::chaos::faults::Fault;

mod report;
use crate::chaos::views::{End, EventView};
use crate::stub::{Published, Stub};
pub use report::TabChaosReport;

/// The run's size.
#[derive(Clone, Debug)]
pub struct TabChaosConfig {
    /// Seeds every random choice.
    pub seed: u64,
    /// Agent topics.
    pub agent_topics: usize,
    /// Faults to inject.
    pub faults: usize,
    /// Steps between two faults.
    pub steps_per_fault: usize,
    /// Pause between steps.
    pub step: Duration,
    /// Tabs open at any time: at least this many…
    pub min_tabs: usize,
    /// …and at most this many.
    pub max_tabs: usize,
    /// A misbehaviour every event view plays (to show the checks catch it), if any.
    pub sabotage: Option<crate::chaos::Sabotage>,
}

impl TabChaosConfig {
    /// The reduced run of the test command.
    pub fn reduced(seed: u64) -> TabChaosConfig {
        TabChaosConfig {
            seed,
            agent_topics: 12,
            faults: 30,
            steps_per_fault: 5,
            step: Duration::from_millis(50),
            min_tabs: 2,
            max_tabs: 5,
            sabotage: None,
        }
    }

    /// The full run of the `chaos` command.
    pub fn full(seed: u64) -> TabChaosConfig {
        TabChaosConfig {
            faults: 200,
            ..TabChaosConfig::reduced(seed)
        }
    }
}

const USER: u64 = 901;
const DRAIN: Duration = Duration::from_secs(5);

/// One open tab and its views.
struct Tab {
    app: Rc<AppState>,
    views: Vec<EventView>,
    _reauth: ListenerGuard,
}

/// The run's state: the browser, its tabs, and the views being checked.
struct Run {
    stub: Stub,
    browser: SimBrowser,
    topics: Vec<String>,
    token: Rc<RefCell<String>>,
    epoch: Rc<Cell<u64>>,
    tabs: Vec<Tab>,
    /// Views told to unmount, catching up, with their tab (gone if it closed meanwhile).
    draining: Vec<(EventView, Instant, Weak<AppState>)>,
    done: Vec<(EventView, bool)>,
    report: TabChaosReport,
    sabotage: Option<crate::chaos::Sabotage>,
}

/// Runs the scenario. Call it inside a `tokio::task::LocalSet`.
pub async fn run(cfg: &TabChaosConfig) -> TabChaosReport {
    let started = Instant::now();
    let stub = crate::chaos::start_stub(|_| {}).await;
    let (agents, _) = stub.seed(USER, cfg.agent_topics, 0).await;
    let token = Rc::new(RefCell::new(stub.token(USER).await));
    let mut run = Run {
        topics: agents.iter().map(|a| format!("agent:{a}")).collect(),
        stub,
        browser: SimBrowser::new(),
        token,
        epoch: Rc::new(Cell::new(0)),
        tabs: Vec::new(),
        draining: Vec::new(),
        done: Vec::new(),
        report: TabChaosReport::default(),
        sabotage: cfg.sabotage,
    };
    let mut rng = Rng::new(cfg.seed);
    for _ in 0..3 {
        run.open_tab(&mut rng).await;
    }
    for _ in 0..cfg.faults {
        for _ in 0..cfg.steps_per_fault {
            let t = pick(&mut rng, run.topics.len());
            let n = 1 + pick(&mut rng, 3);
            run.stub.publish(&run.topics[t], "run_update", n).await;
            run.report.published += n as u64;
            run.churn(&mut rng, cfg).await;
            run.drain(false).await;
            let open = run.stub.user_stat(USER, "connections_open").await;
            run.report.max_sockets = run.report.max_sockets.max(open);
            tokio::time::sleep(cfg.step).await;
        }
        run.wait_all_open(Duration::from_secs(5)).await;
        let fault = Fault::draw(&mut rng);
        let hit = fault.inject(&run.stub, USER).await;
        if std::env::var("CHAOS_DEBUG").is_ok() {
            eprintln!("{:?} FAULT {} hit {hit}", started.elapsed(), fault.name());
        }
        if matches!(
            fault,
            Fault::Restart {
                lose_history: true,
                ..
            }
        ) {
            run.epoch.set(run.epoch.get() + 1);
        }
        run.report.faults.0 += 1;
        run.report.faults.1 += usize::from(hit > 0);
    }
    run.finish().await;
    run.report.steals = run.browser.steals();
    run.report.seconds = started.elapsed().as_secs_f64();
    run.report
}

impl Run {
    fn config(&self) -> Config {
        let token = self.token.clone();
        crate::chaos::fast(
            Config::new(self.stub.ws_url())
                .with_token(move || Some(token.borrow().clone()))
                .share_across_tabs(format!("chaos:{USER}")),
        )
    }

    async fn open_tab(&mut self, rng: &mut Rng) {
        let app = self.browser.open_tab(self.config());
        let reauth = reauthenticate_on_4401(&app, &self.stub, &self.token);
        let mut tab = Tab {
            app,
            views: Vec::new(),
            _reauth: reauth,
        };
        for _ in 0..2 {
            self.mount(&mut tab, rng).await;
        }
        self.tabs.push(tab);
        self.report.opened += 1;
    }

    async fn mount(&self, tab: &mut Tab, rng: &mut Rng) {
        let t = pick(rng, self.topics.len());
        let at = self.stub.published(&self.topics[t]).await.len();
        tab.views.push(EventView::mount(
            &tab.app,
            t,
            &self.topics[t],
            &self.epoch,
            at,
            self.sabotage,
        ));
    }

    fn leader(&self) -> Option<usize> {
        self.tabs
            .iter()
            .position(|t| t.app.sharing().is_some_and(|s| s.role == Role::Leader))
    }

    async fn churn(&mut self, rng: &mut Rng, cfg: &TabChaosConfig) {
        let n = self.tabs.len();
        match rng.up_to(15) {
            0..=3 => {
                let i = pick(rng, n);
                let mut tab = self.tabs.swap_remove(i);
                self.mount(&mut tab, rng).await;
                self.tabs.push(tab);
            }
            4..=6 => {
                let i = pick(rng, n);
                if !self.tabs[i].views.is_empty() {
                    let k = pick(rng, self.tabs[i].views.len());
                    let mut v = self.tabs[i].views.swap_remove(k);
                    v.end = Some(End {
                        at: self.stub.published(&self.topics[v.topic]).await.len(),
                    });
                    let tab = Rc::downgrade(&self.tabs[i].app);
                    self.draining.push((v, Instant::now(), tab));
                }
            }
            7..=8 if n < cfg.max_tabs => self.open_tab(rng).await,
            9..=11 if n > cfg.min_tabs => {
                let leader = self.leader();
                let i = pick(rng, n);
                let kill = rng.up_to(1) == 0;
                match (Some(i) == leader, kill) {
                    (true, false) => self.report.leaders_closed += 1,
                    (true, true) => self.report.leaders_killed += 1,
                    (false, false) => self.report.closed += 1,
                    (false, true) => self.report.crashed += 1,
                }
                self.remove_tab(i, kill).await;
            }
            _ => {}
        }
    }

    /// Closes or kills tab `i`: its views end at the last event each had.
    async fn remove_tab(&mut self, i: usize, kill: bool) {
        let tab = self.tabs.swap_remove(i);
        let Tab { app, views, .. } = tab;
        if kill {
            self.browser.crash_tab(app);
        } else {
            self.browser.close_tab(app);
        }
        for mut v in views {
            let log = self.stub.published(&self.topics[v.topic]).await;
            v.end = Some(End { at: cut(&v, &log) });
            v.sub.take();
            self.done.push((v, true));
        }
    }

    async fn wait_all_open(&self, limit: Duration) {
        let started = Instant::now();
        while started.elapsed() < limit
            && !self
                .tabs
                .iter()
                .all(|t| t.app.client.state() == ConnectionState::Open)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Unmounts the draining views that caught up with their end (or waited [`DRAIN`]); with
    /// `all`, until none is left.
    async fn drain(&mut self, all: bool) {
        loop {
            let mut waiting = 0;
            for (mut v, since, tab) in std::mem::take(&mut self.draining) {
                let log = self.stub.published(&self.topics[v.topic]).await;
                if tab.upgrade().is_none() {
                    // Its tab closed while it caught up: it ends at the last event it had.
                    let at = cut(&v, &log).min(v.end.map_or(log.len(), |e| e.at));
                    v.end = Some(End { at });
                    v.sub.take();
                    self.done.push((v, true));
                    continue;
                }
                if v.caught_up(&log) || since.elapsed() > DRAIN {
                    v.sub.take();
                    self.done.push((v, false));
                } else {
                    waiting += 1;
                    self.draining.push((v, since, tab));
                }
            }
            if !all || waiting == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Quiets down, publishes once more everywhere, ends every view and checks them all.
    async fn finish(&mut self) {
        self.wait_all_open(Duration::from_secs(20)).await;
        for topic in &self.topics {
            self.stub.publish(topic, "run_update", 1).await;
            self.report.published += 1;
        }
        for tab in &mut self.tabs {
            for mut v in std::mem::take(&mut tab.views) {
                v.end = Some(End {
                    at: self.stub.published(&self.topics[v.topic]).await.len(),
                });
                self.draining
                    .push((v, Instant::now(), Rc::downgrade(&tab.app)));
            }
        }
        self.drain(true).await;
        let mut logs: BTreeMap<usize, Vec<Published>> = BTreeMap::new();
        for (t, topic) in self.topics.iter().enumerate() {
            logs.insert(t, self.stub.published(topic).await);
        }
        for (v, tab_gone) in &self.done {
            let tally = check::event_view(v, &logs[&v.topic], true);
            if tally.lost > 0 && std::env::var("CHAOS_DEBUG").is_ok() {
                let log: Vec<(u64, u64, Option<u64>)> = logs[&v.topic]
                    .iter()
                    .map(|e| (e.epoch, e.seq, e.id))
                    .collect();
                eprintln!(
                    "LOST {} {} (tab gone {tab_gone}): mount {} end {:?}\n  marks {:?}\n  log {log:?}",
                    self.topics[v.topic],
                    tally.lost,
                    v.mount_pos,
                    v.end,
                    v.marks.borrow()
                );
            }
            self.report.tally += tally;
            if *tab_gone {
                self.report.gone_tally += tally;
            }
            self.report.lifetimes.0 += 1;
            self.report.lifetimes.1 += usize::from(*tab_gone);
            self.report.resyncs += v
                .marks
                .borrow()
                .iter()
                .filter(|m| matches!(m, crate::chaos::views::Mark::Resync { .. }))
                .count() as u64;
        }
        let handlers = self
            .tabs
            .iter()
            .map(|t| t.app.topics.total_handlers())
            .sum();
        let settled = Instant::now();
        while self.stub.user_stat(USER, "subscriptions").await > 0
            && settled.elapsed() < Duration::from_secs(5)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.report.end = (
            self.stub.user_stat(USER, "connections_open").await,
            self.stub.user_stat(USER, "subscriptions").await,
            handlers,
        );
        self.report.sockets_opened = self.stub.user_stat(USER, "connections_opened").await;
        for tab in std::mem::take(&mut self.tabs) {
            self.browser.close_tab(tab.app);
        }
    }
}

/// Where a view whose tab went away ends: just after the last event it had (or its start).
fn cut(v: &EventView, log: &[Published]) -> usize {
    let seen = v.seen();
    let Some(last) = seen.last() else {
        return v.mount_pos.min(log.len());
    };
    log.iter()
        .position(|e| e.kind == "run_update" && e.id == Some(*last))
        .map_or(log.len(), |p| p + 1)
}

/// Each tab is its own app: on 4401 it refreshes the token and retries, as a real app would.
fn reauthenticate_on_4401(
    app: &Rc<AppState>,
    stub: &Stub,
    token: &Rc<RefCell<String>>,
) -> ListenerGuard {
    let (weak, stub, token) = (Rc::downgrade(app), stub.clone(), token.clone());
    app.client.on_state_change(move |state| {
        if *state == ConnectionState::AuthFailed {
            let (weak, stub, token) = (weak.clone(), stub.clone(), token.clone());
            tokio::task::spawn_local(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                *token.borrow_mut() = stub.token(USER).await;
                if let Some(app) = weak.upgrade() {
                    app.retry_now();
                }
            });
        }
    })
}

fn pick(rng: &mut Rng, n: usize) -> usize {
    rng.up_to(n as u64 - 1) as usize
}
