//! The chaos scenario: a native client (the sans-IO core on the tokio driver) against an
//! in-process stub, while a seeded schedule publishes events, posts chat messages, mounts and
//! unmounts views (some while the socket is down), sends while disconnected, and injects faults.
//! Every view lifetime is then checked against the stub's publish log: every event published
//! between its start and its end reached it exactly once and in order (see `check`).
//!
//! [`nodes`] runs the same checks across two stub processes on one Redis.
//!
//! Call [`run`] inside a `tokio::task::LocalSet` on a multi-threaded runtime.

mod check;
mod faults;
mod live;
pub mod nodes;
mod report;
mod sends;
pub mod tabs;
mod views;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tether_client::core::{Config, ConnectionState, Millis, Rng};
use tether_client::{AppState, ListenerGuard};

pub use check::Tally;
pub use report::{ChaosReport, Sends};

use crate::stub::{Profile, Stub};
use faults::Fault;
use live::Live;
use sends::{send_offline, verify_sends, OfflineSend};
use views::{EventView, HistoryView};

/// The scenario's size and server.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    /// What the report calls this run.
    pub label: &'static str,
    /// Seeds every random choice.
    pub seed: u64,
    /// Which server the stub behaves like.
    pub profile: Profile,
    /// Agent topics, each with event views.
    pub agent_topics: usize,
    /// Threads, each with history views.
    pub threads: usize,
    /// How many faults to inject.
    pub faults: usize,
    /// Steps between two faults (each publishes and maybe mounts or unmounts a view).
    pub steps_per_fault: usize,
    /// Pause between steps.
    pub step: Duration,
    /// The stub's replay buffer per topic.
    pub replay_capacity: usize,
}

impl ChaosConfig {
    /// The reduced run of the test command.
    pub fn reduced(seed: u64, profile: Profile) -> ChaosConfig {
        ChaosConfig {
            label: match profile {
                Profile::Tether => "tether profile",
                Profile::Origin => "origin profile",
            },
            seed,
            profile,
            agent_topics: 30,
            threads: 8,
            faults: 40,
            steps_per_fault: 5,
            step: Duration::from_millis(50),
            replay_capacity: 1000,
        }
    }

    /// The full run of the `chaos` command.
    pub fn full(seed: u64, profile: Profile) -> ChaosConfig {
        ChaosConfig {
            faults: 240,
            ..ChaosConfig::reduced(seed, profile)
        }
    }

    /// The same run with a replay buffer so small that reconnects exceed it.
    pub fn with_small_buffer(self) -> ChaosConfig {
        ChaosConfig {
            label: "tether profile, replay buffer of 4",
            replay_capacity: 4,
            ..self
        }
    }
}

/// The test user.
const USER: u64 = 900;
/// How long a view told to unmount may take to catch up with what was published before.
const DRAIN: Duration = Duration::from_secs(5);

/// Runs the scenario.
pub async fn run(cfg: &ChaosConfig) -> ChaosReport {
    let started = Instant::now();
    let stub = start_stub(|c| {
        c.profile = cfg.profile;
        c.replay_capacity = cfg.replay_capacity;
    })
    .await;
    let (agents, threads) = stub.seed(USER, cfg.agent_topics, 1).await;
    let agent_topics: Vec<String> = agents.iter().map(|id| format!("agent:{id}")).collect();
    let threads: Vec<u64> = threads.into_iter().take(cfg.threads).collect();
    let thread_topics: Vec<String> = threads.iter().map(|id| format!("thread:{id}")).collect();
    let token = Rc::new(RefCell::new(stub.token(USER).await));

    let provider = token.clone();
    let mut config =
        fast(Config::new(stub.ws_url()).with_token(move || Some(provider.borrow().clone())));
    config.queue_timeout = Millis(8_000);
    config.request_timeout = Millis(3_000);
    let (app, driver, probe) = tether_client::native::app(config, cfg.seed);
    tokio::task::spawn_local(driver.run());
    let reauth = Rc::new(Cell::new(0u64));
    let reauth_listener = reauthenticate_on_4401(&app, &stub, &token, &reauth);
    app.client.connect();

    let mut rng = Rng::new(cfg.seed);
    let mut report = ChaosReport::new(cfg.label);
    let epoch = Rc::new(Cell::new(0u64));
    let mut live = Live::default();
    for (t, topic) in agent_topics.iter().enumerate() {
        live.event.push(EventView::mount(&app, t, topic, &epoch, 0));
    }
    for (i, &thread) in threads.iter().enumerate() {
        live.history
            .push(HistoryView::mount(&app, &stub, &token.borrow(), i, thread));
    }
    let sends = Rc::new(RefCell::new(Vec::new()));

    for _ in 0..cfg.faults {
        for _ in 0..cfg.steps_per_fault {
            let t = pick(&mut rng, agent_topics.len());
            let n = 1 + pick(&mut rng, 3);
            stub.publish(&agent_topics[t], "run_update", n).await;
            report.published += n as u64;
            if rng.up_to(2) == 0 {
                let h = pick(&mut rng, threads.len());
                let content = format!("chat {}", report.published);
                let t = token.borrow().clone();
                if stub.post_message(&t, threads[h], &content).await.is_some() {
                    report.published += 1;
                }
            }
            live.churn(
                &mut rng,
                &app,
                &stub,
                &token,
                &agent_topics,
                &thread_topics,
                &threads,
                &epoch,
            )
            .await;
            if !app.client.state().is_open() && rng.up_to(3) == 0 {
                send_offline(&mut rng, &live, &sends);
            }
            live.drain(&stub, &agent_topics, &thread_topics, false)
                .await;
            tokio::time::sleep(cfg.step).await;
        }
        // Faults are aimed at a live connection, so that they take effect.
        wait_until(Duration::from_secs(3), || app.client.state().is_open()).await;
        let fault = Fault::draw_for(&mut rng, cfg.profile);
        let hit = fault.inject(&stub, USER).await;
        if matches!(
            fault,
            Fault::Restart {
                lose_history: true,
                ..
            }
        ) {
            epoch.set(epoch.get() + 1);
        }
        report.fault(&fault.name(), hit > 0);
        if matches!(fault, Fault::HalfOpen) && hit > 0 {
            // Hold the half-open socket until the heartbeat notices (or 3 s pass, and the
            // report's check of detections fails): no later fault rescues it first.
            wait_until(Duration::from_secs(3), || !app.client.state().is_open()).await;
        }
        if cfg.replay_capacity < 10 && !app.client.state().is_open() {
            // With a tiny buffer, more events than it holds while the socket is down: the
            // reconnect must then exceed it, whatever the schedule's timing.
            let t = pick(&mut rng, agent_topics.len());
            let n = cfg.replay_capacity + 2;
            stub.publish(&agent_topics[t], "run_update", n).await;
            report.published += n as u64;
            let h = pick(&mut rng, threads.len());
            for k in 0..n {
                let t = token.borrow().clone();
                if stub
                    .post_message(&t, threads[h], &format!("burst {k}"))
                    .await
                    .is_some()
                {
                    report.published += 1;
                }
            }
        }
        // Right after a fault the socket is usually down: mount a view then, too.
        if rng.up_to(1) == 0 {
            let t = pick(&mut rng, agent_topics.len());
            let at = stub.published(&agent_topics[t]).await.len();
            live.event
                .push(EventView::mount(&app, t, &agent_topics[t], &epoch, at));
            let h = pick(&mut rng, threads.len());
            live.history.push(HistoryView::mount(
                &app,
                &stub,
                &token.borrow(),
                h,
                threads[h],
            ));
        }
    }

    // Quiet down: the client reconnects; one more event on every topic must reach every view.
    wait_until(Duration::from_secs(20), || {
        app.client.state() == ConnectionState::Open
    })
    .await;
    wait_until(Duration::from_secs(20), || {
        app.client.metrics().subscriptions.pending == 0
    })
    .await;
    for topic in &agent_topics {
        stub.publish(topic, "run_update", 1).await;
        report.published += 1;
    }
    for &thread in &threads {
        let t = token.borrow().clone();
        if stub.post_message(&t, thread, "last").await.is_some() {
            report.published += 1;
        }
    }
    live.end_all(&stub, &agent_topics, &thread_topics).await;
    live.drain(&stub, &agent_topics, &thread_topics, true).await;

    let numbered = cfg.profile == Profile::Tether;
    for (t, topic) in agent_topics.iter().enumerate() {
        let log = stub.published(topic).await;
        for v in live.done_event.iter().filter(|v| v.topic == t) {
            report.add(check::event_view(v, &log, numbered), v.offline, false);
            report.resyncs += v
                .marks
                .borrow()
                .iter()
                .filter(|m| matches!(m, views::Mark::Resync { .. }))
                .count() as u64;
        }
    }
    for (h, topic) in thread_topics.iter().enumerate() {
        let log = stub.published(topic).await;
        for v in live.done_history.iter().filter(|v| v.thread == h) {
            report.add(check::history_view(v, &log), v.offline, true);
            report.reloads += v.loads.get().saturating_sub(1);
        }
    }
    wait_until(Duration::from_secs(15), || {
        sends.borrow().iter().all(|s: &OfflineSend| s.done.get())
    })
    .await;
    let t = token.borrow().clone();
    let sends = std::mem::take(&mut *sends.borrow_mut());
    report.sends = verify_sends(&stub, &t, &threads, &sends).await;
    report.reauthenticated = reauth.get();

    let m = app.client.metrics();
    report.duplicates_dropped = m.counters.duplicates_dropped;
    report.dead_detected = m.counters.dead_connections;
    report.final_state = app.client.state().name().to_owned();
    report.sockets_opened = app.client.sockets_opened();
    report.driver_sockets = probe.stats().sockets;
    report.stub_sockets_open = stub.user_stat(USER, "connections_open").await;
    report.leaked_handlers = app.topics.total_handlers();
    let unsubscribed = Instant::now();
    while stub.user_stat(USER, "subscriptions").await > 0
        && unsubscribed.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report.leaked_subscriptions = stub.user_stat(USER, "subscriptions").await;
    drop(reauth_listener);
    report.leaked_listeners = app.client.listener_count();
    report.driver_timers = probe.stats().timers;
    report.seconds = started.elapsed().as_secs_f64();
    app.client.close();
    report
}

/// On 4401 the app refreshes its token and reconnects, as a real app would.
fn reauthenticate_on_4401(
    app: &AppState,
    stub: &Stub,
    token: &Rc<RefCell<String>>,
    count: &Rc<Cell<u64>>,
) -> ListenerGuard {
    let (client, stub, token, count) = (
        app.client.clone(),
        stub.clone(),
        token.clone(),
        count.clone(),
    );
    app.client.on_state_change(move |state| {
        if *state == ConnectionState::AuthFailed {
            let (client, stub, token, count) =
                (client.clone(), stub.clone(), token.clone(), count.clone());
            tokio::task::spawn_local(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                *token.borrow_mut() = stub.token(USER).await;
                count.set(count.get() + 1);
                client.reconnect();
            });
        }
    })
}

/// The chaos runs' client settings: a fast heartbeat, backoff and connect timeout.
pub(crate) fn fast(mut config: Config) -> Config {
    config.ping_interval = Millis(400);
    config.pong_timeout = Millis(400);
    config.backoff.base = Millis(50);
    config.backoff.cap = Millis(800);
    config.stable_after = Millis(1_000);
    config.connect_timeout = Millis(2_000);
    config
}

/// The chaos runs' stub: a 1 s heartbeat, a 5 s idle timeout, room for bursts; then `tweak`.
pub(crate) async fn start_stub(tweak: impl FnOnce(&mut tether_stub::config::Config)) -> Stub {
    Stub::start(|c| {
        c.ping_interval_ms = 1_000;
        c.idle_timeout_ms = 5_000;
        c.rate_burst = 1_000;
        c.rate_per_sec = 1_000;
        tweak(c);
    })
    .await
}

fn pick(rng: &mut Rng, n: usize) -> usize {
    rng.up_to(n as u64 - 1) as usize
}

async fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
