//! One B7 measurement: stub processes (on the broker in memory, or on one Redis), native
//! clients spread over them, a fixed offered load published through them, and what arrived,
//! with the CPU each process used.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tether_client::{AppState, Config, Subscription, TopicEvent};
use tether_tests::nodes::Node;
use tether_tests::redis::RedisServer;

/// Clients, each on [`PER_CLIENT`] of [`TOPICS`] topics.
pub const CLIENTS: usize = 200;
/// Topics, each published at [`RATE`].
pub const TOPICS: usize = 20;
/// Topics per client.
pub const PER_CLIENT: usize = 5;
/// Events per second on each topic.
pub const RATE: u32 = 50;
/// Seconds of publishing.
pub const SECONDS: u32 = 3;

/// Where the stubs' broker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// One stub, its broker in memory.
    Memory,
    /// One stub on Redis.
    RedisOne,
    /// Two stubs on one Redis, the clients and the publishing split between them.
    RedisTwo,
}

impl Setup {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Setup::Memory => "in-memory broker, one node",
            Setup::RedisOne => "Redis broker, one node",
            Setup::RedisTwo => "Redis broker, two nodes",
        }
    }
}

/// What one measurement found.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// Deliveries per second offered: events published × their topic's subscribers, over the
    /// publishing time.
    pub offered: f64,
    /// Deliveries per second that arrived, over the time to the last one.
    pub delivered: f64,
    /// Publish-to-handler latency percentiles, in ms (`ts` is stamped in whole ms).
    pub p50: f64,
    /// See `p50`.
    pub p99: f64,
    /// Offered deliveries that never arrived.
    pub missing: u64,
    /// CPU while publishing, in % of one core: the clients (this process), the node(s),
    /// redis-server, and every other process.
    pub cpu: [f64; 4],
}

/// Measures `setup` once.
pub async fn run(setup: Setup) -> Run {
    let redis = (setup != Setup::Memory).then(RedisServer::start);
    let url = redis.as_ref().map(RedisServer::url);
    // Every client is the dev token's one user: the per-user cap on sockets (16) is raised
    // above CLIENTS, or a node closes the 17th with 1008.
    let mut args = vec![
        "--max-subscriptions",
        "64",
        "--max-connections-per-user",
        "100000",
    ];
    if let Some(url) = &url {
        args.extend(["--redis-url", url.as_str()]);
    }
    let count = if setup == Setup::RedisTwo { 2 } else { 1 };
    let mut nodes = Vec::new();
    for _ in 0..count {
        nodes.push(Node::start_with(&args).await);
    }
    let latencies = Rc::new(RefCell::new(Vec::new()));
    let last = Rc::new(Cell::new(None));
    let clients: Vec<(Rc<AppState>, Vec<Subscription>)> = (0..CLIENTS)
        .map(|i| client(&nodes[i % count], i, &latencies, &last))
        .collect();
    let ready = Instant::now();
    while clients
        .iter()
        .any(|(a, _)| a.client.metrics().subscriptions.active < PER_CLIENT)
    {
        assert!(
            ready.elapsed() < Duration::from_secs(60),
            "clients did not subscribe"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut subscribers = [0u64; TOPICS];
    for node in &nodes {
        let stats = node.stats().await.expect("stats");
        for (t, n) in subscribers.iter_mut().enumerate() {
            *n += stats["subscribers"][topic(t)].as_u64().unwrap_or(0);
        }
    }
    let pids: Vec<u32> = nodes.iter().filter_map(Node::pid).collect();
    let redis_pid = redis.as_ref().and_then(RedisServer::pid);
    let before = Cpu::sample(&pids, redis_pid);
    let start = Instant::now();
    let expected = publish(&nodes, &subscribers).await;
    let window = start.elapsed().as_secs_f64();
    let cpu = Cpu::sample(&pids, redis_pid).since(&before);
    let (mut seen, mut quiet) = (0, Instant::now());
    while (seen as u64) < expected && quiet.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = latencies.borrow().len();
        if now > seen {
            (seen, quiet) = (now, Instant::now());
        }
    }
    let mut l = latencies.borrow().clone();
    l.sort_unstable();
    let pct = |p: f64| {
        l.get(((l.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(0) as f64
    };
    let to_last = last
        .get()
        .map_or(window, |t: Instant| t.duration_since(start).as_secs_f64());
    for (app, subs) in clients {
        drop(subs);
        app.client.close();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    Run {
        offered: expected as f64 / window,
        delivered: l.len() as f64 / to_last.max(window),
        p50: pct(0.5),
        p99: pct(0.99),
        missing: expected.saturating_sub(l.len() as u64),
        cpu,
    }
}

/// Publishes [`RATE`] events/s on every topic for [`SECONDS`], topic `t` through node
/// `t % nodes`; the deliveries that makes (events published × their topic's subscribers).
async fn publish(nodes: &[Node], subscribers: &[u64]) -> u64 {
    let count = nodes.len();
    let pad = "x".repeat(100);
    let calls: Vec<_> = (0..TOPICS)
        .map(|t| {
            let node = &nodes[t % count];
            let url = format!(
                "{}/api/test/publish?topic={}&kind=tick&count={}&rate={RATE}",
                node.url,
                topic(t),
                RATE * SECONDS
            );
            let http = tether_tests::stub::http_client();
            let body = json!({ "pad": pad });
            tokio::spawn(async move {
                let resp = http.post(url).json(&body).send().await.ok()?;
                resp.json::<Value>().await.ok()?["count"].as_u64()
            })
        })
        .collect();
    let mut expected = 0;
    for (t, call) in calls.into_iter().enumerate() {
        expected += call.await.ok().flatten().unwrap_or(0) * subscribers[t];
    }
    expected
}

fn topic(t: usize) -> String {
    format!("ticker:{t}")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Client `i` on `node`, with a handler on [`PER_CLIENT`] topics that records latencies.
fn client(
    node: &Node,
    i: usize,
    latencies: &Rc<RefCell<Vec<u64>>>,
    last: &Rc<Cell<Option<Instant>>>,
) -> (Rc<AppState>, Vec<Subscription>) {
    let url = format!("{}/api/ws/v2", node.url.replacen("http", "ws", 1));
    let config = Config::new(url).with_token(|| Some("dev-token".to_owned()));
    let (app, driver, _) = tether_client::native::app(config, i as u64);
    tokio::task::spawn_local(driver.run());
    app.client.connect();
    let subs = (0..PER_CLIENT)
        .map(|k| {
            let (latencies, last) = (latencies.clone(), last.clone());
            let name = topic((i * PER_CLIENT + k * 4) % TOPICS);
            app.topics.subscribe(name.as_str(), move |e: &TopicEvent| {
                if let TopicEvent::Message(m) = e {
                    if m.seq.is_some() {
                        latencies.borrow_mut().push(now_ms().saturating_sub(m.ts));
                        last.set(Some(Instant::now()));
                    }
                }
            })
        })
        .collect();
    (app, subs)
}

/// CPU seconds so far: this process, the nodes, redis-server, the machine.
struct Cpu {
    at: Instant,
    seconds: [f64; 4],
}

impl Cpu {
    fn sample(nodes: &[u32], redis: Option<u32>) -> Cpu {
        let me = process_seconds(std::process::id());
        let nodes: f64 = nodes.iter().map(|p| process_seconds(*p)).sum();
        let redis = redis.map_or(0.0, process_seconds);
        Cpu {
            at: Instant::now(),
            seconds: [me, nodes, redis, machine_seconds()],
        }
    }

    /// % of one core over the interval: clients, nodes, redis-server, other processes.
    fn since(&self, earlier: &Cpu) -> [f64; 4] {
        let wall = self.at.duration_since(earlier.at).as_secs_f64().max(1e-3);
        let d: Vec<f64> = (0..4)
            .map(|k| 100.0 * (self.seconds[k] - earlier.seconds[k]) / wall)
            .collect();
        [d[0], d[1], d[2], (d[3] - d[0] - d[1] - d[2]).max(0.0)]
    }
}

/// `utime + stime` of a process, in seconds (Linux ticks of 1/100 s).
fn process_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return 0.0;
    };
    let f: Vec<f64> = rest
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // After the state field (not a number): utime and stime are the 12th and 13th numbers.
    (f.get(10).copied().unwrap_or(0.0) + f.get(11).copied().unwrap_or(0.0)) / 100.0
}

/// Busy seconds of the whole machine (every `cpu` field but idle and iowait).
fn machine_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum::<f64>()
        / 100.0
}
