//! The chaos scenario: a native client (the sans-IO core on the tokio driver) against an
//! in-process stub, while a seeded schedule publishes events on many topics, injects faults and
//! mounts and unmounts views. At the end every view must have seen every event of its mounted
//! lifetime exactly once and in order, the client must be Open on exactly one socket, and
//! nothing may have leaked.
//!
//! Call [`run`] inside a `tokio::task::LocalSet` on a multi-threaded runtime.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tether::core::{Config, ConnectionState, Millis, Rng, TopicEvent};
use tether::protocol::{ServerMessage, Topic};
use tether::{AppState, Subscription};

use crate::stub::Stub;

/// The scenario's size.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    /// Seeds every random choice.
    pub seed: u64,
    /// How many topics events are published on.
    pub topics: usize,
    /// How many faults to inject.
    pub faults: usize,
    /// Steps between two faults (each step publishes and maybe mounts or unmounts a view).
    pub steps_per_fault: usize,
    /// Pause between steps.
    pub step: Duration,
}

impl ChaosConfig {
    /// The reduced run of the test command.
    pub fn reduced(seed: u64) -> ChaosConfig {
        ChaosConfig {
            seed,
            topics: 50,
            faults: 40,
            steps_per_fault: 5,
            step: Duration::from_millis(50),
        }
    }

    /// The full run of the `chaos` command.
    pub fn full(seed: u64) -> ChaosConfig {
        ChaosConfig {
            seed,
            topics: 50,
            faults: 240,
            steps_per_fault: 5,
            step: Duration::from_millis(50),
        }
    }
}

/// What happened, and what was checked.
#[derive(Clone, Debug, Default)]
pub struct ChaosReport {
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, usize>,
    /// Events published.
    pub published: u64,
    /// Events delivered to view handlers (one event seen by two views counts twice).
    pub delivered: u64,
    /// Events a view should have seen and did not.
    pub lost: u64,
    /// Events a view saw twice.
    pub duplicated: u64,
    /// Events a view saw out of order.
    pub reordered: u64,
    /// View lifetimes checked.
    pub lifetimes: usize,
    /// Repeated frames the client dropped by `seq` before any handler saw them.
    pub duplicates_dropped: u64,
    /// Resyncs delivered (the replay window was exceeded).
    pub resyncs: u64,
    /// Sockets the client opened.
    pub sockets_opened: u64,
    /// The client's state at the end.
    pub final_state: String,
    /// Sockets the stub sees open for the client's user at the end.
    pub stub_sockets_open: u64,
    /// Socket tasks of the driver at the end.
    pub driver_sockets: usize,
    /// Handlers left after every view unmounted.
    pub leaked_handlers: usize,
    /// Subscriptions the stub still holds for the user after every view unmounted.
    pub leaked_subscriptions: u64,
    /// State and error listeners left.
    pub leaked_listeners: usize,
    /// Armed timers of the driver at the end (one is the heartbeat's).
    pub driver_timers: usize,
    /// Wall time.
    pub seconds: f64,
}

impl ChaosReport {
    /// Total faults.
    pub fn total_faults(&self) -> usize {
        self.faults.values().sum()
    }

    /// True if every promise held.
    pub fn is_clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.reordered == 0
            && self.resyncs == 0
            && self.final_state == "open"
            && self.stub_sockets_open == 1
            && self.driver_sockets == 1
            && self.leaked_handlers == 0
            && self.leaked_subscriptions == 0
            && self.leaked_listeners == 0
            && self.driver_timers <= 1
    }
}

impl fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<String> = self
            .faults
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(
            f,
            "faults injected: {} ({})",
            self.total_faults(),
            kinds.join(", ")
        )?;
        writeln!(f, "events published: {}", self.published)?;
        writeln!(
            f,
            "events delivered: {} over {} view lifetimes",
            self.delivered, self.lifetimes
        )?;
        writeln!(
            f,
            "lost: {}  duplicated: {}  reordered: {}  resyncs: {}",
            self.lost, self.duplicated, self.reordered, self.resyncs
        )?;
        writeln!(
            f,
            "repeated frames the client dropped by seq: {}",
            self.duplicates_dropped
        )?;
        writeln!(
            f,
            "end: client {} on {} socket(s) (stub sees {}); {} sockets opened in all",
            self.final_state, self.driver_sockets, self.stub_sockets_open, self.sockets_opened
        )?;
        write!(
            f,
            "leaks: handlers {}, stub subscriptions {}, listeners {}, timers armed {} (heartbeat); {:.1} s",
            self.leaked_handlers, self.leaked_subscriptions, self.leaked_listeners, self.driver_timers, self.seconds
        )
    }
}

/// One mounted view: a handler on a topic and what it saw.
struct View {
    topic: usize,
    seen: Rc<RefCell<Vec<u64>>>,
    resyncs: Rc<RefCell<u64>>,
    sub: Option<Subscription>,
}

const USER: u64 = 900;

/// Runs the scenario.
pub async fn run(cfg: &ChaosConfig) -> ChaosReport {
    let started = Instant::now();
    let stub = Stub::start(|c| {
        c.ping_interval_ms = 1_000;
        c.idle_timeout_ms = 5_000;
    })
    .await;
    let agents = stub.seed(USER, cfg.topics).await;
    let topics: Vec<String> = agents
        .iter()
        .map(|id| Topic::Agent(*id).to_string())
        .collect();
    let token = stub.token(USER).await;

    let mut config = Config::new(stub.ws_url()).with_token(move || Some(token.clone()));
    config.ping_interval = Millis(400);
    config.pong_timeout = Millis(400);
    config.backoff.base = Millis(50);
    config.backoff.cap = Millis(800);
    config.stable_after = Millis(1_000);
    config.connect_timeout = Millis(2_000);
    let (client, driver, probe) = tether::native::client(config, cfg.seed);
    tokio::task::spawn_local(driver.run());
    let app = AppState::new(client);
    app.client.connect();

    let mut rng = Rng::new(cfg.seed);
    let mut report = ChaosReport::default();
    let mut last_seq: BTreeMap<usize, u64> = BTreeMap::new();
    // One view per topic to begin with; more mount and unmount as it goes.
    let mut views: Vec<View> = (0..cfg.topics).map(|t| mount(&app, t, &topics)).collect();
    let mut retired: Vec<View> = Vec::new();

    for _ in 0..cfg.faults {
        for _ in 0..cfg.steps_per_fault {
            let t = pick(&mut rng, cfg.topics);
            let count = 1 + pick(&mut rng, 3);
            last_seq.insert(t, stub.publish(&topics[t], count).await);
            report.published += count as u64;
            match rng.up_to(9) {
                0..=2 => views.push(mount(&app, t, &topics)),
                3..=4 if !views.is_empty() => {
                    let mut v = views.swap_remove(pick(&mut rng, views.len()));
                    v.sub.take();
                    retired.push(v);
                }
                _ => {}
            }
            tokio::time::sleep(cfg.step).await;
        }
        let kind = inject(&stub, &mut rng).await;
        *report.faults.entry(kind).or_default() += 1;
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
    for (t, name) in topics.iter().enumerate() {
        last_seq.insert(t, stub.publish(name, 1).await);
        report.published += 1;
    }
    let done = || {
        views
            .iter()
            .all(|v| v.seen.borrow().last() == last_seq.get(&v.topic))
    };
    wait_until(Duration::from_secs(20), done).await;

    for v in views.iter().chain(retired.iter()) {
        let end = v
            .sub
            .is_some()
            .then(|| last_seq.get(&v.topic).copied())
            .flatten();
        check(&v.seen.borrow(), end, &mut report);
        report.resyncs += *v.resyncs.borrow();
        report.lifetimes += 1;
    }

    report.duplicates_dropped = app.client.metrics().counters.duplicates_dropped;
    report.final_state = app.client.state().name().to_owned();
    report.sockets_opened = app.client.sockets_opened();
    report.driver_sockets = probe.stats().sockets;
    report.stub_sockets_open = user_stat(&stub, "connections_open").await;

    for v in &mut views {
        v.sub.take();
    }
    report.leaked_handlers = app.topics.total_handlers();
    let unsubscribed = Instant::now();
    while user_stat(&stub, "subscriptions").await > 0
        && unsubscribed.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report.leaked_subscriptions = user_stat(&stub, "subscriptions").await;
    report.leaked_listeners = app.client.listener_count();
    report.driver_timers = probe.stats().timers;
    report.seconds = started.elapsed().as_secs_f64();
    app.client.close();
    report
}

fn pick(rng: &mut Rng, n: usize) -> usize {
    rng.up_to(n as u64 - 1) as usize
}

fn mount(app: &AppState, t: usize, topics: &[String]) -> View {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let resyncs = Rc::new(RefCell::new(0));
    let (s, r) = (seen.clone(), resyncs.clone());
    let topic: Topic = topics[t].parse().expect("a topic");
    let sub = app.topics.subscribe(topic, move |e: &TopicEvent| {
        match (&e.frame.msg, e.frame.seq) {
            (ServerMessage::ResyncRequired(_), _) => *r.borrow_mut() += 1,
            (_, Some(seq)) => s.borrow_mut().push(seq),
            _ => {}
        }
    });
    View {
        topic: t,
        seen,
        resyncs,
        sub: Some(sub),
    }
}

/// Injects one fault, chosen by `rng`; returns its name.
async fn inject(stub: &Stub, rng: &mut Rng) -> String {
    match rng.up_to(8) {
        0 => {
            stub.control("drop").await;
            "drop".into()
        }
        1 => {
            stub.control("half-open").await;
            "half-open".into()
        }
        2 => {
            let down = 50 + rng.up_to(550);
            stub.control(&format!("restart?down_ms={down}")).await;
            "restart".into()
        }
        3 => {
            stub.control("malformed").await;
            "malformed".into()
        }
        4 => {
            let last = 1 + rng.up_to(3);
            stub.control(&format!("duplicate?last={last}")).await;
            "duplicate".into()
        }
        n => {
            let code = [1001, 1011, 1012, 4408][(n - 5) as usize];
            stub.control(&format!("close?code={code}&reason=chaos"))
                .await;
            format!("close {code}")
        }
    }
}

/// Counts gaps, repeats and reversals in what a view saw; for a view still mounted, also the
/// events after its last one up to the topic's final seq.
fn check(seen: &[u64], end: Option<u64>, report: &mut ChaosReport) {
    report.delivered += seen.len() as u64;
    for pair in seen.windows(2) {
        match pair[1].cmp(&pair[0]) {
            std::cmp::Ordering::Equal => report.duplicated += 1,
            std::cmp::Ordering::Less => report.reordered += 1,
            std::cmp::Ordering::Greater => report.lost += pair[1] - pair[0] - 1,
        }
    }
    if let (Some(end), Some(last)) = (end, seen.last()) {
        report.lost += end.saturating_sub(*last);
    } else if end.is_some() {
        report.lost += 1; // a mounted view that saw nothing, not even the final event
    }
}

async fn user_stat(stub: &Stub, key: &str) -> u64 {
    stub.stats().await["per_user"][USER.to_string()][key]
        .as_u64()
        .unwrap_or(0)
}

async fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
