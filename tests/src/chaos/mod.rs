//! The chaos scenario: a native client (the sans-IO core on the tokio driver) against an
//! in-process stub, while a seeded schedule publishes events, posts chat messages, mounts and
//! unmounts views (some while the socket is down), sends while disconnected, and injects faults.
//! Every view lifetime is then checked against the stub's records (its publish log, how it
//! answered each subscribe, where each fault hit): every event published between its start and
//! its end reached it exactly once and in order, or was announced where the stub could not
//! replay it, or, without replay, fell in a gap the stub shows (see `check`). Every frame on
//! the wire is checked against the origin's contract, and every wait that times out counts
//! against the run.
//!
//! [`nodes`] runs the same checks across two stub processes on one Redis.
//!
//! Call [`run`] inside a `tokio::task::LocalSet` on a multi-threaded runtime.

mod check;
mod faults;
mod live;
pub mod nodes;
mod report;
mod sabotage;
mod sends;
pub mod tabs;
mod verdicts;
mod views;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tether_client::core::Rng;
use tether_client::{AppState, ListenerGuard};
use tether_client::{Config, ConnectionState, Millis};

pub use check::Tally;
pub use report::{ChaosReport, Sends};
pub use sabotage::Sabotage;

use crate::stub::{Point, Profile, Stub};
use crate::wait;
use faults::Fault;
use live::Live;
use sends::{send_offline, verify_sends, OfflineSend};

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
    /// A misbehaviour every event view plays (to show the checks catch it), if any.
    pub sabotage: Option<Sabotage>,
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
            sabotage: None,
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

/// What every step of a run works with: the app, the stub, the user's token and topics.
pub(crate) struct Scene {
    pub(crate) app: Rc<AppState>,
    pub(crate) stub: Stub,
    pub(crate) token: Rc<RefCell<String>>,
    pub(crate) agent_topics: Vec<String>,
    pub(crate) thread_topics: Vec<String>,
    pub(crate) threads: Vec<u64>,
    pub(crate) sabotage: Option<Sabotage>,
}

/// Runs the scenario.
pub async fn run(cfg: &ChaosConfig) -> ChaosReport {
    let started = Instant::now();
    let stub = start_stub(|c| {
        c.profile = cfg.profile;
        c.replay_capacity = cfg.replay_capacity;
    })
    .await;
    let (agents, threads) = stub.seed(USER, cfg.agent_topics, 1).await;
    let threads: Vec<u64> = threads.into_iter().take(cfg.threads).collect();
    let token = Rc::new(RefCell::new(stub.token(USER).await));
    let provider = token.clone();
    let mut config =
        fast(Config::new(stub.ws_url()).with_token(move || Some(provider.borrow().clone())));
    config.queue_timeout = Millis(8_000);
    config.request_timeout = Millis(3_000);
    let (app, driver, probe) = tether_client::native::app(config, cfg.seed);
    tokio::task::spawn_local(driver.run());
    let scene = Scene {
        app,
        stub,
        token,
        agent_topics: agents.iter().map(|id| format!("agent:{id}")).collect(),
        thread_topics: threads.iter().map(|id| format!("thread:{id}")).collect(),
        threads,
        sabotage: cfg.sabotage,
    };
    let reauth = Rc::new(Cell::new(0u64));
    let reauth_listener = reauthenticate_on_4401(&scene, &reauth);
    scene.app.client.connect();

    let mut rng = Rng::new(cfg.seed);
    let mut report = ChaosReport::new(cfg.label);
    let mut live = Live::default();
    for t in 0..scene.agent_topics.len() {
        live.mount_event(&scene, t).await;
    }
    for h in 0..scene.threads.len() {
        live.mount_history(&scene, h);
    }
    let sends = Rc::new(RefCell::new(Vec::new()));
    let mut faults = Vec::new();
    for _ in 0..cfg.faults {
        for _ in 0..cfg.steps_per_fault {
            step(&mut rng, &scene, &mut live, &mut report).await;
            if !scene.app.client.state().is_open() && rng.up_to(3) == 0 {
                send_offline(&mut rng, &live, &sends);
            }
            live.drain(&scene, false).await;
            tokio::time::sleep(cfg.step).await;
        }
        faults.extend(fault(cfg, &mut rng, &scene, &mut report).await);
        // Right after a fault the socket is usually down: mount a view then, too.
        if rng.up_to(1) == 0 {
            let t = pick(&mut rng, scene.agent_topics.len());
            live.mount_event(&scene, t).await;
            let h = pick(&mut rng, scene.threads.len());
            live.mount_history(&scene, h);
        }
    }
    quiet_down(&scene, &mut live, &mut report).await;
    verdicts::views(&scene, &live, &faults, &mut report).await;
    let settled = wait::until(
        "every offline send settled",
        Duration::from_secs(15),
        || sends.borrow().iter().all(|s: &OfflineSend| s.done.get()),
    );
    report.timeouts.note(settled.await);
    let t = scene.token.borrow().clone();
    let sends = std::mem::take(&mut *sends.borrow_mut());
    report.sends = verify_sends(&scene.stub, &t, &scene.threads, &sends).await;
    report.reauthenticated = reauth.get();
    verdicts::leaks(&scene, &probe, reauth_listener, &mut report).await;
    report.frames = scene.stub.frames();
    report.seconds = started.elapsed().as_secs_f64();
    scene.app.client.close();
    report
}

/// One step: events on a random agent topic, maybe a chat message, maybe a view mounted or
/// told to unmount.
async fn step(rng: &mut Rng, scene: &Scene, live: &mut Live, report: &mut ChaosReport) {
    let t = pick(rng, scene.agent_topics.len());
    let n = 1 + pick(rng, 3);
    scene
        .stub
        .publish(&scene.agent_topics[t], "run_update", n)
        .await;
    report.published += n as u64;
    if rng.up_to(2) == 0 {
        let h = pick(rng, scene.threads.len());
        let content = format!("chat {}", report.published);
        let token = scene.token.borrow().clone();
        if scene
            .stub
            .post_message(&token, scene.threads[h], &content)
            .await
            .is_some()
        {
            report.published += 1;
        }
    }
    live.churn(rng, scene).await;
}

/// Injects the next fault of the schedule; returns where the stub's logs were if it hit.
async fn fault(
    cfg: &ChaosConfig,
    rng: &mut Rng,
    scene: &Scene,
    report: &mut ChaosReport,
) -> Option<Point> {
    let client = &scene.app.client;
    // Faults are aimed at a live connection, so that they take effect.
    let open = wait::until(
        "the socket open before a fault",
        Duration::from_secs(3),
        || client.state().is_open(),
    );
    report.timeouts.note(open.await);
    let fault = Fault::draw_for(rng, cfg.profile);
    let at = scene.stub.now().await;
    let dead = client.metrics().counters.dead_connections;
    let hit = fault.inject(&scene.stub, USER).await;
    report.fault(&fault.name(), hit > 0);
    if matches!(fault, Fault::HalfOpen) && hit > 0 {
        // Hold the half-open socket until the heartbeat notices: no later fault rescues it.
        // (Its state may be open again before a poll sees it closed: count detections.)
        let noticed = wait::until(
            "the heartbeat to notice a half-open socket",
            Duration::from_secs(3),
            || client.metrics().counters.dead_connections > dead,
        );
        report.timeouts.note(noticed.await);
    }
    if cfg.replay_capacity < 10 && !client.state().is_open() {
        // With a tiny buffer, more events than it holds while the socket is down: the
        // reconnect must then exceed it, whatever the schedule's timing.
        let t = pick(rng, scene.agent_topics.len());
        let n = cfg.replay_capacity + 2;
        scene
            .stub
            .publish(&scene.agent_topics[t], "run_update", n)
            .await;
        report.published += n as u64;
        let h = pick(rng, scene.threads.len());
        for k in 0..n {
            let (token, content) = (scene.token.borrow().clone(), format!("burst {k}"));
            let posted = scene.stub.post_message(&token, scene.threads[h], &content);
            if posted.await.is_some() {
                report.published += 1;
            }
        }
    }
    (hit > 0).then_some(at)
}

/// The client reconnects and settles; one more event on every topic must reach every view;
/// every view ends.
async fn quiet_down(scene: &Scene, live: &mut Live, report: &mut ChaosReport) {
    let client = &scene.app.client;
    let open = wait::until(
        "the client open at the end",
        Duration::from_secs(20),
        || client.state() == ConnectionState::Open,
    );
    report.timeouts.note(open.await);
    let settled = wait::until(
        "every subscription settled at the end",
        Duration::from_secs(20),
        || client.metrics().subscriptions.pending == 0,
    );
    report.timeouts.note(settled.await);
    for topic in &scene.agent_topics {
        scene.stub.publish(topic, "run_update", 1).await;
        report.published += 1;
    }
    for &thread in &scene.threads {
        let token = scene.token.borrow().clone();
        if scene
            .stub
            .post_message(&token, thread, "last")
            .await
            .is_some()
        {
            report.published += 1;
        }
    }
    live.end_all(scene).await;
    live.drain(scene, true).await;
}

/// On 4401 the app refreshes its token and reconnects, as a real app would.
fn reauthenticate_on_4401(scene: &Scene, count: &Rc<Cell<u64>>) -> ListenerGuard {
    let (client, stub, token, count) = (
        scene.app.client.clone(),
        scene.stub.clone(),
        scene.token.clone(),
        count.clone(),
    );
    scene.app.client.on_state_change(move |state| {
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
