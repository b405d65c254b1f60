//! One ramp of B6: more and more native clients (each on 5 of 20 topics) on one stub with its
//! default send queue, while the stub publishes 50 events/s on every topic, until the
//! deliveries stop growing or a step does not hold (it falls behind the offered load, or loses
//! an event or a socket as a slow consumer). A step whose p99 passes 100 ms is not sustained,
//! but the ramp goes on, so that both limits show: latency and throughput.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tether_client::{AppState, Config, Subscription, TopicEvent};
use tether_tests::stub::Stub;

use crate::cpu;

/// Clients at each step; the offered load doubles with them.
pub const CLIENTS: [usize; 7] = [50, 100, 200, 400, 800, 1600, 3200];
/// Events per second the stub publishes on each topic.
pub const RATE: u32 = 50;
/// Seconds each step publishes.
pub const SECONDS: u32 = 3;
/// A step is sustained only while its p99 stays at or under this.
pub const P99_LIMIT_MS: f64 = 100.0;

/// What one step measured.
#[derive(Clone, Debug)]
pub struct Step {
    /// Clients connected.
    pub clients: usize,
    /// Deliveries per second the stub was asked for: each published event times its topic's
    /// subscribers (the stub's count), over the time the publishing took.
    pub offered: f64,
    /// Deliveries per second that arrived: all of them, over the time to the last one.
    pub delivered: f64,
    /// Publish-to-handler p50 and p99, in ms (the stub stamps `ts` in whole ms).
    pub p50: f64,
    /// See `p50`.
    pub p99: f64,
    /// Offered deliveries that never arrived.
    pub missing: u64,
    /// Deliveries beyond the offered ones (repeats).
    pub extra: u64,
    /// Clients not open again within 5 s of the step (a socket lost for good).
    pub not_open: usize,
    /// Sockets the stub closed because their send queue was full.
    pub slow_consumers: u64,
    /// Where the CPU went while publishing.
    pub cpu: cpu::Use,
}

impl Step {
    /// Kept up, lost nothing, and p99 within the limit.
    pub fn sustained(&self) -> bool {
        self.holds() && self.p99 <= P99_LIMIT_MS
    }

    /// Kept up with the offered load (at least 95% of it per second) and lost nothing (every
    /// event delivered, no socket dropped), whatever the latency. A step that falls behind
    /// fills the stub's send queues, which a longer run would overflow.
    pub fn holds(&self) -> bool {
        self.keeps_up() && self.missing == 0 && self.slow_consumers == 0
    }

    /// What the step broke of the fan-out's invariants, whatever the load: an event lost or
    /// repeated, or a client left without its socket. A socket closed as a slow consumer is a
    /// limit, not a break, as long as its client comes back and misses nothing.
    pub fn invariant_break(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.missing > 0 {
            why.push(format!("{} deliveries lost", self.missing));
        }
        if self.extra > 0 {
            why.push(format!("{} deliveries repeated", self.extra));
        }
        if self.not_open > 0 {
            why.push(format!("{} clients without a socket", self.not_open));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }

    fn keeps_up(&self) -> bool {
        self.delivered >= 0.95 * self.offered
    }

    /// Why the step is not sustained.
    pub fn failure(&self) -> String {
        let mut why = Vec::new();
        if self.p99 > P99_LIMIT_MS {
            why.push(format!("p99 {:.0} ms", self.p99));
        }
        if self.slow_consumers > 0 {
            why.push(format!(
                "{} sockets closed as slow consumers (1008)",
                self.slow_consumers
            ));
        }
        if self.missing > 0 {
            why.push(format!("{} deliveries missing", self.missing));
        }
        if !self.keeps_up() {
            why.push(format!(
                "delivered {:.0}% of the offered rate",
                100.0 * self.delivered / self.offered
            ));
        }
        why.join(", ")
    }
}

/// What every client's handlers record, shared on the clients' thread.
#[derive(Default)]
struct Deliveries {
    latencies: RefCell<Vec<u64>>,
    last: Cell<Option<Instant>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Client `i`: connected, with a handler on 5 of the topics.
fn client(
    stub: &Stub,
    topics: &[String],
    token: &str,
    i: usize,
    d: &Rc<Deliveries>,
) -> (Rc<AppState>, Vec<Subscription>) {
    let token = token.to_owned();
    let config = Config::new(stub.ws_url()).with_token(move || Some(token.clone()));
    let (app, driver, _) = tether_client::native::app(config, i as u64);
    tokio::task::spawn_local(driver.run());
    app.client.connect();
    let subs = (0..5)
        .map(|k| {
            let d = d.clone();
            let topic = topics[(i * 5 + k * 4) % topics.len()].as_str();
            app.topics.subscribe(topic, move |e: &TopicEvent| {
                if let TopicEvent::Message(m) = e {
                    if m.seq.is_some() {
                        d.latencies.borrow_mut().push(now_ms().saturating_sub(m.ts));
                        d.last.set(Some(Instant::now()));
                    }
                }
            })
        })
        .collect();
    (app, subs)
}

/// Runs the ramp; returns its steps, the last of which ended it (unless every step held and
/// grew).
pub async fn ramp(stub: &Stub, topics: &[String], token: &str) -> Vec<Step> {
    let d = Rc::new(Deliveries::default());
    let mut clients = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    for n in CLIENTS {
        while clients.len() < n {
            clients.push(client(stub, topics, token, clients.len(), &d));
        }
        let ready = Instant::now();
        while clients
            .iter()
            .any(|(a, _)| a.client.metrics().subscriptions.active < 5)
        {
            assert!(
                ready.elapsed() < Duration::from_secs(120),
                "{n} clients did not subscribe"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await; // snapshots and acks settle
        let mut step = measure(stub, topics, n, &d).await;
        let all_open = || {
            clients
                .iter()
                .all(|(a, _)| a.client.state() == tether_client::ConnectionState::Open)
        };
        let back = tether_tests::wait::until("every client open", Duration::from_secs(5), all_open);
        if back.await.is_err() {
            step.not_open = clients
                .iter()
                .filter(|(a, _)| a.client.state() != tether_client::ConnectionState::Open)
                .count();
        }
        println!(
            "fanout N={n:>4}: offered {:>8.0}/s, delivered {:>8.0}/s, p50 {:>3.0} ms, p99 {:>4.0} ms, missing {}, slow consumers {}, {}",
            step.offered, step.delivered, step.p50, step.p99, step.missing, step.slow_consumers, step.cpu
        );
        let stalled = steps
            .last()
            .is_some_and(|p| step.delivered < 1.1 * p.delivered);
        let stop = !step.holds() || stalled;
        steps.push(step);
        if stop {
            break;
        }
    }
    for (app, subs) in clients {
        drop(subs);
        app.client.close();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    steps
}

/// Publishes for [`SECONDS`] on every topic and counts what arrives.
async fn measure(stub: &Stub, topics: &[String], n: usize, d: &Deliveries) -> Step {
    let stats = stub.stats().await;
    let slow_before = stats["drops"]["slow_consumer"].as_u64().unwrap_or(0);
    let subscribers = |t: &str| stats["subscribers"][t].as_u64().unwrap_or(0);
    d.latencies.borrow_mut().clear();
    d.last.set(None);
    let cpu_before = cpu::sample();
    let start = Instant::now();
    let count = RATE * SECONDS;
    let calls: Vec<_> = topics
        .iter()
        .map(|t| {
            let (stub, path) = (
                stub.clone(),
                format!("publish?topic={t}&count={count}&rate={RATE}&size=120"),
            );
            tokio::spawn(async move { stub.control(&path).await["count"].as_u64().unwrap_or(0) })
        })
        .collect();
    let mut expected = 0;
    for (t, call) in topics.iter().zip(calls) {
        expected += call.await.expect("publish") * subscribers(t);
    }
    let window = start.elapsed().as_secs_f64();
    let cpu = cpu::sample().since(&cpu_before);
    // Drain: until everything arrived, or nothing more for 2 s.
    let (mut seen, mut quiet) = (0, Instant::now());
    while (seen as u64) < expected && quiet.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now_seen = d.latencies.borrow().len();
        if now_seen > seen {
            (seen, quiet) = (now_seen, Instant::now());
        }
    }
    let mut l = d.latencies.borrow().clone();
    l.sort_unstable();
    let pct = |p: f64| {
        l.get(((l.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(0) as f64
    };
    let (p50, p99) = (pct(0.5), pct(0.99));
    let last = d
        .last
        .get()
        .map_or(window, |t| t.duration_since(start).as_secs_f64());
    let slow = stub.stats().await["drops"]["slow_consumer"]
        .as_u64()
        .unwrap_or(0)
        - slow_before;
    Step {
        clients: n,
        offered: expected as f64 / window,
        delivered: l.len() as f64 / last.max(window),
        p50,
        p99,
        missing: expected.saturating_sub(l.len() as u64),
        extra: (l.len() as u64).saturating_sub(expected),
        not_open: 0,
        slow_consumers: slow,
        cpu,
    }
}
