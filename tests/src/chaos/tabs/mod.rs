//! The chaos scenario with tabs: one user's tabs share one socket
//! (`Config::share_across_tabs`) in a simulated browser profile (`tabs::sim::SimBrowser`: an
//! in-process channel and lock, the browser code otherwise), against a real stub. While a
//! seeded schedule publishes events and injects the same faults as the single-client run, tabs
//! open, close, crash, and the leader is closed or killed; views mount and unmount in every tab.
//!
//! Every event view is checked against the stub's records as in the single-client run. A view
//! whose tab closes or crashes ends at the close: the tab goes only once its views caught up
//! with what was published before (or waited as long as a view told to unmount may), and
//! everything published between their start and the close must have reached them once and in
//! order.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use tether_client::core::Rng;
use tether_client::tabs::sim::SimBrowser;
use tether_client::tabs::Role;
use tether_client::{AppState, ListenerGuard};
use tether_client::{Config, ConnectionState};

use crate::chaos::check::{self, Truth};
use crate::chaos::faults::Fault;
use crate::chaos::views::{EventView, Mark};
use crate::stub::{Point, Published, Stub};
use crate::wait;

mod report;
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
    /// Ask for frames as binary WebSocket messages (`Config::binary_frames`).
    pub binary_frames: bool,
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
            binary_frames: true,
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
    tabs: Vec<Tab>,
    /// Views told to unmount, catching up, with their tab (gone if it closed meanwhile).
    draining: Vec<(EventView, Instant, Weak<AppState>)>,
    done: Vec<(EventView, bool)>,
    report: TabChaosReport,
    sabotage: Option<crate::chaos::Sabotage>,
    /// Where the stub's logs were at each fault that hit.
    faults: Vec<Point>,
    binary_frames: bool,
    /// When the run started (for `CHAOS_DEBUG`'s lines).
    started: Instant,
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
        tabs: Vec::new(),
        draining: Vec::new(),
        done: Vec::new(),
        report: TabChaosReport::default(),
        sabotage: cfg.sabotage,
        faults: Vec::new(),
        binary_frames: cfg.binary_frames,
        started,
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
        run.wait_all_open("every tab open before a fault", Duration::from_secs(5))
            .await;
        let fault = Fault::draw(&mut rng);
        let at = run.stub.now().await;
        let hit = fault.inject(&run.stub, USER).await;
        if std::env::var("CHAOS_DEBUG").is_ok() {
            eprintln!("{:?} FAULT {} hit {hit}", started.elapsed(), fault.name());
        }
        run.faults.extend((hit > 0).then_some(at));
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
        let mut config = crate::chaos::fast(
            Config::new(self.stub.ws_url())
                .with_token(move || Some(token.borrow().clone()))
                .share_across_tabs(format!("chaos:{USER}")),
        );
        config.binary_frames = self.binary_frames;
        config
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
        let at = self.stub.now().await;
        let view = EventView::mount(&tab.app, t, &self.topics[t], at, self.sabotage);
        tab.views.push(view);
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
                    v.end = Some(self.stub.now().await);
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

    /// Closes or kills tab `i`. Its views (and those of its views still catching up) end now:
    /// the tab goes once each has what was published before, or waited [`DRAIN`] (what it
    /// then misses is counted). Until it goes it lives on as before, re-authenticating on 4401
    /// too: a fault just injected may close its socket while its views catch up.
    async fn remove_tab(&mut self, i: usize, kill: bool) {
        let Tab {
            app,
            views,
            _reauth: reauth,
        } = self.tabs.swap_remove(i);
        let now = self.stub.now().await;
        let mut ending: Vec<EventView> = views;
        let (theirs, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.draining)
            .into_iter()
            .partition(|(_, _, tab)| tab.as_ptr() == Rc::as_ptr(&app));
        self.draining = others;
        ending.extend(theirs.into_iter().map(|(v, _, _)| v));
        for v in &mut ending {
            let end = v.end.filter(|e| e.published < now.published).unwrap_or(now);
            v.end = Some(end);
        }
        let since = Instant::now();
        while since.elapsed() < DRAIN {
            let mut behind = 0;
            for v in &ending {
                let log = self.stub.published(&self.topics[v.topic]).await;
                behind += usize::from(!v.caught_up(&log));
            }
            if behind == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if std::env::var("CHAOS_DEBUG").is_ok() {
            let mut behind = Vec::new();
            for v in &ending {
                let log = self.stub.published(&self.topics[v.topic]).await;
                if !v.caught_up(&log) {
                    behind.push(self.topics[v.topic].as_str());
                }
            }
            eprintln!(
                "{:?} REMOVE tab {:?} (kill {kill}): {} views, waited {:?}, behind on {behind:?}",
                self.started.elapsed(),
                self.browser.tab_id(&app),
                ending.len(),
                since.elapsed(),
            );
        }
        drop(reauth);
        if kill {
            self.browser.crash_tab(app);
        } else {
            self.browser.close_tab(app);
        }
        for mut v in ending {
            v.sub.take();
            self.done.push((v, true));
        }
    }

    async fn wait_all_open(&mut self, what: &str, limit: Duration) {
        let tabs = &self.tabs;
        let open = wait::until(what, limit, || {
            tabs.iter()
                .all(|t| t.app.client.state() == ConnectionState::Open)
        });
        self.report.timeouts.note(open.await);
    }

    /// Unmounts the draining views that caught up with their end (or waited [`DRAIN`]); with
    /// `all`, until none is left.
    async fn drain(&mut self, all: bool) {
        loop {
            let mut waiting = 0;
            for (mut v, since, tab) in std::mem::take(&mut self.draining) {
                let log = self.stub.published(&self.topics[v.topic]).await;
                if tab.upgrade().is_none() {
                    // Its tab went without waiting for it: it is counted to its end all the same.
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
        self.wait_all_open("every tab open at the end", Duration::from_secs(20))
            .await;
        for topic in &self.topics {
            self.stub.publish(topic, "run_update", 1).await;
            self.report.published += 1;
        }
        let now = self.stub.now().await;
        for tab in &mut self.tabs {
            for mut v in std::mem::take(&mut tab.views) {
                v.end = Some(now);
                self.draining
                    .push((v, Instant::now(), Rc::downgrade(&tab.app)));
            }
        }
        self.drain(true).await;
        self.check().await;
        let handlers = self
            .tabs
            .iter()
            .map(|t| t.app.topics.total_handlers())
            .sum();
        let stub = &self.stub;
        let released = wait::until_async(
            "the stub to drop the user's subscriptions",
            Duration::from_secs(5),
            || async { stub.user_stat(USER, "subscriptions").await == 0 },
        );
        self.report.timeouts.note(released.await);
        self.report.end = (
            self.stub.user_stat(USER, "connections_open").await,
            self.stub.user_stat(USER, "subscriptions").await,
            handlers,
        );
        self.report.sockets_opened = self.stub.user_stat(USER, "connections_opened").await;
        self.report.frames = self.stub.frames();
        for tab in std::mem::take(&mut self.tabs) {
            self.browser.close_tab(tab.app);
        }
    }

    /// Checks every view against the stub's records.
    async fn check(&mut self) {
        let membership = self.stub.membership(USER).await.entries;
        self.report.answers = membership.len();
        let mut logs: BTreeMap<usize, Vec<Published>> = BTreeMap::new();
        for (t, topic) in self.topics.iter().enumerate() {
            logs.insert(t, self.stub.published(topic).await);
        }
        for (v, tab_gone) in &self.done {
            let topic = &self.topics[v.topic];
            let truth = Truth::of(topic, &logs[&v.topic], &membership, &self.faults);
            let tally = check::event_view(v, &truth);
            crate::chaos::verdicts::debug_lost(topic, v, &tally, &truth);
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
                .filter(|m| matches!(m, Mark::Resync { .. }))
                .count() as u64;
        }
    }
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
