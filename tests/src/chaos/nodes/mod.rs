//! Chaos across nodes: one native client reaches two stub processes on one Redis through a
//! TCP balancer, mounting and unmounting views on open topics while events are published
//! through either node and a seeded schedule kills nodes (SIGKILL, then a new process), restarts
//! Redis keeping or losing its data, and injects the single-node run's socket faults through
//! both nodes' test control. Every view lifetime is then checked against the publish log read
//! from Redis ([`truth`]): every event of its lifetime exactly once, in order; each
//! `resync_required` must be explained by a lost log (Redis restarted without its data since the
//! view's previous mark).
//!
//! Call [`run`] inside a `tokio::task::LocalSet` on a multi-threaded runtime.

mod cluster;
mod faults;
mod report;
mod truth;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tether_client::core::{Config, ConnectionState, Rng};
use tether_client::{AppState, Topic};

pub use report::NodesReport;

use super::views::{End, EventView, Mark};
use super::{check, fast, pick, wait_until, DRAIN};
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

/// Runs the scenario.
pub async fn run(cfg: &NodesConfig) -> NodesReport {
    let started = Instant::now();
    let topics: Vec<String> = (0..cfg.topics).map(|t| format!("ticker:{t}")).collect();
    let mut cluster = Cluster::start().await;
    let mut truth = Truth::new(cluster.redis.url(), topics.clone());
    let mut report = NodesReport::default();
    report.chaos.label = "two nodes on one Redis";
    let mut next_id = 0u64;
    // Every topic has a stream before any view: its epoch never comes from a history read.
    for topic in &topics {
        report.chaos.published += cluster.publish(topic, &mut next_id).await;
    }

    let mut config = fast(Config::new(cluster.ws_url()).with_token(|| Some("dev-token".into())));
    config.queue_timeout = tether_client::core::Millis(8_000);
    let (app, driver, probe) = tether_client::native::app(config, cfg.seed);
    tokio::task::spawn_local(driver.run());
    app.client.connect();

    let mut rng = Rng::new(cfg.seed);
    let epoch = Rc::new(Cell::new(0u64));
    let mut views = Views::default();
    for (t, topic) in topics.iter().enumerate() {
        views.live.push(EventView::mount(&app, t, topic, &epoch, 0));
    }
    for _ in 0..cfg.faults {
        for _ in 0..cfg.steps_per_fault {
            let t = pick(&mut rng, topics.len());
            for _ in 0..=rng.up_to(2) {
                report.chaos.published += cluster.publish(&topics[t], &mut next_id).await;
            }
            views.churn(&mut rng, &app, &topics, &truth, &epoch);
            views.drain(&truth, false).await;
            tokio::time::sleep(cfg.step).await;
        }
        wait_until(Duration::from_secs(3), || app.client.state().is_open()).await;
        let fault = NodeFault::draw(&mut rng);
        let effective = inject(&fault, &mut cluster, &mut truth, &app, &epoch, &topics).await;
        report.chaos.fault(&fault.name(), effective);
        if matches!(fault, NodeFault::Socket("half-open", _)) && effective {
            wait_until(Duration::from_secs(3), || !app.client.state().is_open()).await;
        }
        if rng.up_to(1) == 0 {
            let t = pick(&mut rng, topics.len());
            views
                .live
                .push(EventView::mount(&app, t, &topics[t], &epoch, 0));
        }
    }

    wait_until(Duration::from_secs(20), || {
        app.client.state() == ConnectionState::Open
            && app.client.metrics().subscriptions.pending == 0
    })
    .await;
    for topic in &topics {
        report.chaos.published += cluster.publish(topic, &mut next_id).await;
    }
    views.end_all(&truth);
    views.drain(&truth, true).await;

    for t in 0..topics.len() {
        let log = truth.log(t);
        for v in views.done.iter().filter(|v| v.topic == t) {
            report
                .chaos
                .add(check::event_view(v, &log, true), v.offline, false);
            report.count_resyncs(&v.marks.borrow());
        }
    }
    record_end(&mut report, &app, &probe, &cluster).await;
    report.data_losses = epoch.get();
    report.chaos.seconds = started.elapsed().as_secs_f64();
    app.client.close();
    report
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
    let unsubscribed = Instant::now();
    while cluster.user_stat("subscriptions").await > 0
        && unsubscribed.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.leaked_subscriptions = cluster.user_stat("subscriptions").await;
    c.leaked_listeners = app.client.listener_count();
    c.driver_timers = probe.stats().timers;
    report.repairs = cluster.broker_stat("repairs").await;
    report.lost_by_broker = cluster.broker_stat("lost").await;
}

/// Injects `fault`; whether it took effect.
async fn inject(
    fault: &NodeFault,
    cluster: &mut Cluster,
    truth: &mut Truth,
    app: &AppState,
    epoch: &Rc<Cell<u64>>,
    topics: &[String],
) -> bool {
    match fault {
        NodeFault::KillNode(i) => cluster.kill_and_restart(*i).await,
        NodeFault::RestartRedis { keep: true } => cluster.redis.restart(true),
        NodeFault::RestartRedis { keep: false } => {
            // No view may be told its start while the incarnation changes under it.
            wait_until(Duration::from_secs(3), || {
                app.client.metrics().subscriptions.pending == 0
            })
            .await;
            let epochs = |app: &AppState| -> Vec<Option<String>> {
                topics
                    .iter()
                    .map(|t| app.client.topic_epoch(&Topic::new(t.as_str())))
                    .collect()
            };
            let before = epochs(app);
            truth.before_data_loss();
            epoch.set(epoch.get() + 1);
            let restarted = cluster.redis.restart(false);
            // Views mounted from now on start in the new incarnation: wait until the client
            // knows every held topic's new epoch (from the nodes' repair, or a resubscribe).
            wait_until(Duration::from_secs(5), || {
                let now = epochs(app);
                before.iter().zip(&now).all(|(b, n)| b.is_none() || b != n)
            })
            .await;
            restarted
        }
        NodeFault::Socket(_, path) => cluster.socket_fault(path).await > 0,
    }
}

/// The run's views: mounted, draining (told to unmount, catching up), and done.
#[derive(Default)]
struct Views {
    live: Vec<EventView>,
    draining: Vec<(EventView, Instant)>,
    done: Vec<EventView>,
}

impl Views {
    /// Maybe mounts a view, maybe tells one to unmount.
    fn churn(
        &mut self,
        rng: &mut Rng,
        app: &AppState,
        topics: &[String],
        truth: &Truth,
        epoch: &Rc<Cell<u64>>,
    ) {
        match rng.up_to(9) {
            0..=2 => {
                let t = pick(rng, topics.len());
                self.live
                    .push(EventView::mount(app, t, &topics[t], epoch, 0));
            }
            3..=4 if !self.live.is_empty() => {
                let mut v = self.live.swap_remove(pick(rng, self.live.len()));
                v.end = Some(End {
                    at: truth.log(v.topic).len(),
                });
                self.draining.push((v, Instant::now()));
            }
            _ => {}
        }
    }

    /// Every view still mounted ends now.
    fn end_all(&mut self, truth: &Truth) {
        for mut v in std::mem::take(&mut self.live) {
            v.end = Some(End {
                at: truth.log(v.topic).len(),
            });
            self.draining.push((v, Instant::now()));
        }
    }

    /// Unmounts the draining views that caught up with their end, or waited [`DRAIN`]. With
    /// `all`, waits until every one did.
    async fn drain(&mut self, truth: &Truth, all: bool) {
        loop {
            let mut waiting = 0;
            for (mut v, since) in std::mem::take(&mut self.draining) {
                if v.caught_up(&truth.log(v.topic)) || since.elapsed() > DRAIN {
                    v.sub.take();
                    self.done.push(v);
                } else {
                    waiting += 1;
                    self.draining.push((v, since));
                }
            }
            if !all || waiting == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Whether a view's resyncs are each explained by a lost log: every `Resync` mark is in a
/// later incarnation of Redis's data than the mark with an epoch before it.
fn unexplained_resyncs(marks: &[Mark]) -> u64 {
    let mut last = None;
    let mut unexplained = 0;
    for mark in marks {
        match mark {
            Mark::Subscribed { epoch, .. } => last = Some(*epoch),
            Mark::Resync { epoch, .. } => {
                if last.is_some_and(|l| *epoch <= l) {
                    unexplained += 1;
                }
                last = Some(*epoch);
            }
            Mark::Event(_) => {}
        }
    }
    unexplained
}
