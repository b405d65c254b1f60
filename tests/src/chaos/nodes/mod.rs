//! Chaos across nodes: one native client reaches two stub processes on one Redis through a
//! TCP balancer (and the wire audit), mounting and unmounting views on open topics while events
//! are published through either node and a seeded schedule kills nodes (SIGKILL, then a new
//! process), restarts Redis keeping or losing its data, and injects the single-node run's
//! socket faults through both nodes' test control. Every view lifetime is then checked against
//! the publish log read from Redis ([`truth`]) by `check::node_view`: every event from its
//! start to its end exactly once, in order; each `resync_required` justified by a loss of
//! Redis's data, and excusing only the events lost with it; its start no later than Redis's
//! log allows. Every frame is checked against the origin's contract, and every wait that times
//! out counts against the run.
//!
//! Call [`run`] inside a `tokio::task::LocalSet` on a multi-threaded runtime.

mod cluster;
mod faults;
mod report;
mod truth;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tether_client::core::Rng;
use tether_client::protocol::Topic;
use tether_client::AppState;
use tether_client::{Config, ConnectionState};

pub use report::NodesReport;

use super::views::{EventView, Mark, Stamp};
use super::{check, fast, pick, DRAIN};
use crate::stub::Point;
use crate::wait::{self, Timeouts};
use cluster::Cluster;
use faults::NodeFault;
use truth::Truth;

/// The dev token's user, whose sockets the socket faults hit.
pub(super) const USER: u64 = 1;

/// The cross-node run's size.
#[derive(Clone, Debug)]
pub struct NodesConfig {
    /// Seeds every random choice.
    pub seed: u64,
    /// Open topics (`ticker:N`), each with views.
    pub topics: usize,
    /// How many faults to inject.
    pub faults: usize,
    /// Steps between two faults (each publishes and maybe mounts or unmounts a view).
    pub steps_per_fault: usize,
    /// Pause between steps.
    pub step: Duration,
}

impl NodesConfig {
    /// The reduced run of the test command.
    pub fn reduced(seed: u64) -> NodesConfig {
        NodesConfig {
            seed,
            topics: 12,
            faults: 40,
            steps_per_fault: 4,
            step: Duration::from_millis(40),
        }
    }

    /// The full run of the `chaos` command.
    pub fn full(seed: u64) -> NodesConfig {
        NodesConfig {
            topics: 30,
            faults: 240,
            ..NodesConfig::reduced(seed)
        }
    }
}

/// What every step of the run works with.
struct Scene {
    cluster: Cluster,
    truth: Truth,
    topics: Vec<String>,
    app: Rc<AppState>,
    /// Where the run stands: Redis's data incarnation, events asked to be published.
    clock: Rc<Cell<Stamp>>,
}

impl Scene {
    /// Publishes the next event on topic `t`; 1 if published, else 0.
    async fn publish(&mut self, t: usize) -> u64 {
        let mut now = self.clock.get();
        now.published += 1;
        self.clock.set(now);
        self.cluster.publish(&self.topics[t], now.published).await
    }

    /// Where the run stands, as a point in the logs.
    fn point(&self) -> Point {
        Point {
            published: self.clock.get().published,
            membership: 0,
        }
    }
}

/// Runs the scenario.
pub async fn run(cfg: &NodesConfig) -> NodesReport {
    let started = Instant::now();
    let topics: Vec<String> = (0..cfg.topics).map(|t| format!("ticker:{t}")).collect();
    let cluster = Cluster::start().await;
    let truth = Truth::new(cluster.redis.url(), topics.clone());
    let mut config = fast(Config::new(cluster.ws_url()).with_token(|| Some("dev-token".into())));
    config.queue_timeout = tether_client::Millis(8_000);
    let (app, driver, probe) = tether_client::native::app(config, cfg.seed);
    tokio::task::spawn_local(driver.run());
    let mut scene = Scene {
        cluster,
        truth,
        topics,
        app,
        clock: Rc::default(),
    };
    let mut report = NodesReport::default();
    report.chaos.label = "two nodes on one Redis";
    // Every topic has a stream before any view: its epoch never comes from a history read.
    for t in 0..scene.topics.len() {
        report.chaos.published += scene.publish(t).await;
    }
    scene.app.client.connect();

    let mut rng = Rng::new(cfg.seed);
    let mut views = Views::default();
    for t in 0..scene.topics.len() {
        views.mount(&scene, t);
    }
    for _ in 0..cfg.faults {
        for _ in 0..cfg.steps_per_fault {
            let t = pick(&mut rng, scene.topics.len());
            for _ in 0..=rng.up_to(2) {
                report.chaos.published += scene.publish(t).await;
            }
            views.churn(&mut rng, &scene);
            views.drain(&scene.truth, false).await;
            tokio::time::sleep(cfg.step).await;
        }
        fault(&mut rng, &mut scene, &mut report).await;
        if rng.up_to(1) == 0 {
            views.mount(&scene, pick(&mut rng, scene.topics.len()));
        }
    }
    quiet_down(&mut scene, &mut views, &mut report).await;
    for t in 0..scene.topics.len() {
        let log = scene.truth.log(t);
        for v in views.done.iter().filter(|v| v.view.topic == t) {
            let tally = check::node_view(&v.view, &log, v.joined);
            debug(&scene.topics[t], v, &tally, &log);
            report.chaos.add(tally, v.view.offline, false);
            report.count_resyncs(&v.view.marks.borrow());
        }
    }
    record_end(&mut report, &scene.app, &probe, &scene.cluster).await;
    report.data_losses = scene.clock.get().epoch;
    report.chaos.frames = scene.cluster.frames();
    report.chaos.seconds = started.elapsed().as_secs_f64();
    scene.app.client.close();
    report
}

/// Injects the next fault of the schedule, aimed at an open socket.
async fn fault(rng: &mut Rng, scene: &mut Scene, report: &mut NodesReport) {
    let client = scene.app.client.clone();
    let open = wait::until(
        "the socket open before a fault",
        Duration::from_secs(3),
        || client.state().is_open(),
    );
    report.chaos.timeouts.note(open.await);
    let fault = NodeFault::draw(rng);
    let dead = client.metrics().counters.dead_connections;
    let effective = inject(&fault, scene, &mut report.chaos.timeouts).await;
    report.chaos.fault(&fault.name(), effective);
    if matches!(fault, NodeFault::Socket("half-open", _)) && effective {
        // Hold the half-open socket until the heartbeat notices: no later fault rescues it.
        let noticed = wait::until(
            "the heartbeat to notice a half-open socket",
            Duration::from_secs(3),
            || client.metrics().counters.dead_connections > dead,
        );
        report.chaos.timeouts.note(noticed.await);
    }
}

/// The client reconnects and settles; one more event on every topic must reach every view;
/// every view ends.
async fn quiet_down(scene: &mut Scene, views: &mut Views, report: &mut NodesReport) {
    let client = scene.app.client.clone();
    let settled = wait::until(
        "the client open and every subscription settled at the end",
        Duration::from_secs(20),
        || client.state() == ConnectionState::Open && client.metrics().subscriptions.pending == 0,
    );
    report.chaos.timeouts.note(settled.await);
    for t in 0..scene.topics.len() {
        report.chaos.published += scene.publish(t).await;
    }
    views.end_all(scene.point());
    views.drain(&scene.truth, true).await;
}

/// The client's and the nodes' state at the end: counters, sockets, leaks.
async fn record_end(
    report: &mut NodesReport,
    app: &AppState,
    probe: &tether_client::native::DriverProbe,
    cluster: &Cluster,
) {
    let m = app.client.metrics();
    let c = &mut report.chaos;
    c.duplicates_dropped = m.counters.duplicates_dropped;
    c.dead_detected = m.counters.dead_connections;
    c.final_state = app.client.state().name().to_owned();
    c.sockets_opened = app.client.sockets_opened();
    c.driver_sockets = probe.stats().sockets;
    c.stub_sockets_open = cluster.user_stat("connections_open").await;
    c.leaked_handlers = app.topics.total_handlers();
    let unsubscribed = wait::until_async(
        "the nodes to let go of every subscription",
        Duration::from_secs(5),
        || async { cluster.user_stat("subscriptions").await == 0 },
    );
    c.timeouts.note(unsubscribed.await);
    c.leaked_subscriptions = cluster.user_stat("subscriptions").await;
    c.leaked_listeners = app.client.listener_count();
    c.driver_timers = probe.stats().timers;
    report.repairs = cluster.broker_stat("repairs").await;
    report.lost_by_broker = cluster.broker_stat("lost").await;
}

/// Injects `fault`; whether it took effect. Waits that time out are kept in `timeouts`.
async fn inject(fault: &NodeFault, scene: &mut Scene, timeouts: &mut Timeouts) -> bool {
    match fault {
        NodeFault::KillNode(i) => scene.cluster.kill_and_restart(*i).await,
        NodeFault::RestartRedis { keep: true } => scene.cluster.redis.restart(true),
        NodeFault::RestartRedis { keep: false } => lose_data(scene, timeouts).await,
        NodeFault::Socket(_, path) => scene.cluster.socket_fault(path).await > 0,
    }
}

/// Restarts Redis without its data: the logs so far are kept as the truth's last incarnation,
/// and the clock enters the next one.
async fn lose_data(scene: &mut Scene, timeouts: &mut Timeouts) -> bool {
    let app = scene.app.clone();
    // No view may be told its start while the incarnation changes under it.
    let settled = wait::until(
        "every subscription settled before Redis loses its data",
        Duration::from_secs(3),
        || app.client.metrics().subscriptions.pending == 0,
    );
    timeouts.note(settled.await);
    let epochs = |app: &AppState, topics: &[String]| -> Vec<Option<String>> {
        topics
            .iter()
            .map(|t| app.client.topic_epoch(&Topic::new(t.as_str())))
            .collect()
    };
    let before = epochs(&app, &scene.topics);
    scene.truth.before_data_loss();
    let mut now = scene.clock.get();
    now.epoch += 1;
    scene.clock.set(now);
    let restarted = scene.cluster.redis.restart(false);
    // Views mounted from now on start in the new incarnation: wait until the client knows
    // every held topic's new epoch (from the nodes' repair, or a resubscribe).
    let topics = scene.topics.clone();
    let renewed = wait::until(
        "the client to learn every held topic's new epoch",
        Duration::from_secs(5),
        || {
            let now = epochs(&app, &topics);
            before.iter().zip(&now).all(|(b, n)| b.is_none() || b != n)
        },
    );
    timeouts.note(renewed.await);
    restarted
}

/// One view's life, and whether another view held its topic when it mounted.
struct Lifetime {
    view: EventView,
    joined: bool,
}

/// The run's views: mounted, draining (told to unmount, catching up), and done.
#[derive(Default)]
struct Views {
    live: Vec<Lifetime>,
    draining: Vec<(Lifetime, Instant)>,
    done: Vec<Lifetime>,
}

impl Views {
    /// Mounts a view on topic `t`.
    fn mount(&mut self, scene: &Scene, t: usize) {
        let holds = |v: &EventView| v.topic == t && v.sub.is_some();
        let joined = self.live.iter().any(|l| holds(&l.view))
            || self.draining.iter().any(|(l, _)| holds(&l.view));
        let view =
            EventView::mount_stamped(&scene.app, t, &scene.topics[t], scene.point(), &scene.clock);
        self.live.push(Lifetime { view, joined });
    }

    /// Maybe mounts a view, maybe tells one to unmount.
    fn churn(&mut self, rng: &mut Rng, scene: &Scene) {
        match rng.up_to(9) {
            0..=2 => self.mount(scene, pick(rng, scene.topics.len())),
            3..=4 if !self.live.is_empty() => {
                let mut l = self.live.swap_remove(pick(rng, self.live.len()));
                l.view.end = Some(scene.point());
                self.draining.push((l, Instant::now()));
            }
            _ => {}
        }
    }

    /// Every view still mounted ends at `end`.
    fn end_all(&mut self, end: Point) {
        for mut l in std::mem::take(&mut self.live) {
            l.view.end = Some(end);
            self.draining.push((l, Instant::now()));
        }
    }

    /// Unmounts the draining views that caught up with their end, or waited [`DRAIN`]. With
    /// `all`, waits until every one did.
    async fn drain(&mut self, truth: &Truth, all: bool) {
        loop {
            let mut waiting = 0;
            for (mut l, since) in std::mem::take(&mut self.draining) {
                if l.view.caught_up(&truth.log(l.view.topic)) || since.elapsed() > DRAIN {
                    l.view.sub.take();
                    self.done.push(l);
                } else {
                    waiting += 1;
                    self.draining.push((l, since));
                }
            }
            if !all || waiting == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// With `CHAOS_DEBUG` set, prints a lifetime that is not clean, with its records.
fn debug(topic: &str, l: &Lifetime, tally: &check::Tally, log: &[crate::stub::Published]) {
    if tally.is_clean() || std::env::var("CHAOS_DEBUG").is_err() {
        return;
    }
    let log: Vec<(u64, u64, u64)> = log.iter().map(|e| (e.n, e.epoch, e.seq)).collect();
    eprintln!(
        "NOT CLEAN {topic}: {tally:?}\n  joined {} mount {:?} end {:?}\n  marks {:?}\n  stamps {:?}\n  log (n, epoch, seq) {log:?}",
        l.joined,
        l.view.mount,
        l.view.end,
        l.view.marks.borrow(),
        l.view.stamps.borrow(),
    );
}

/// How many of a view's marks are `ResyncRequired`.
fn resyncs(marks: &[Mark]) -> u64 {
    marks
        .iter()
        .filter(|m| matches!(m, Mark::Resync { .. }))
        .count() as u64
}
