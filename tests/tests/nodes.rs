//! Two nodes, one Redis, real processes: native clients spread over two stub processes by a
//! TCP balancer, each subscribed to some of the topics, while events are published through
//! either node in turn. Node A is killed with SIGKILL midway; its clients reconnect through the
//! balancer to node B and resume with `since`. Every view is then counted from its start (the
//! `seq` its subscription took effect after) against the publish log read from Redis: 0 lost,
//! 0 duplicated, 0 reordered, and no resync.
//!
//! Then the reduced chaos run across nodes (`tether_tests::chaos::nodes`; the full one is in
//! `scripts/chaos.sh`): node kills and restarts, Redis restarts keeping and losing its data,
//! socket faults; every view once and in order from its start (where it mounted, or where the
//! server answered a new subscription from, no later than Redis's log then held), every resync
//! justified by a loss of Redis's data and excusing only what it lost.

#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use serde_json::json;
use tether_client::{AppState, Subscription, TopicEvent};
use tether_client::{Config, Millis};
use tether_tests::nodes::balancer::Balancer;
use tether_tests::nodes::truth::{read_log, Logged};
use tether_tests::nodes::Node;
use tether_tests::redis::RedisServer;

const CLIENTS: usize = 16;
const TOPICS: usize = 6;
const PER_CLIENT: usize = 3;
const ROUNDS: usize = 30;

/// What a view was told, in order.
#[derive(Clone, Debug, PartialEq)]
enum Mark {
    Subscribed(Option<u64>),
    Event { seq: u64, n: u64 },
    Resync,
}

struct View {
    topic: usize,
    marks: Rc<RefCell<Vec<Mark>>>,
    _sub: Subscription,
}

fn topic(t: usize) -> String {
    format!("ticker:{t}")
}

fn client(url: &str, seed: u64) -> Rc<AppState> {
    let mut config = Config::new(url).with_token(|| Some("dev-token".to_owned()));
    config.backoff.base = Millis(50);
    config.backoff.cap = Millis(500);
    config.ping_interval = Millis(500);
    config.pong_timeout = Millis(1_000);
    let (app, driver, _) = tether_client::native::app(config, seed);
    tokio::task::spawn_local(driver.run());
    app.client.connect();
    app
}

fn view(app: &AppState, t: usize) -> View {
    let marks = Rc::new(RefCell::new(Vec::new()));
    let sink = marks.clone();
    let sub = app
        .topics
        .subscribe(topic(t).as_str(), move |e: &TopicEvent| {
            let mark = match e {
                TopicEvent::Subscribed { seq, .. } => Mark::Subscribed(*seq),
                TopicEvent::ResyncRequired { .. } => Mark::Resync,
                TopicEvent::Message(m) => Mark::Event {
                    seq: m.seq.unwrap_or(0),
                    n: m.data::<serde_json::Value>()
                        .ok()
                        .and_then(|d| d["n"].as_u64())
                        .unwrap_or(0),
                },
                TopicEvent::Refused { .. } => return,
            };
            sink.borrow_mut().push(mark);
        });
    View {
        topic: t,
        marks,
        _sub: sub,
    }
}

/// Lost, duplicated, reordered, delivered and resyncs of one view against its topic's log.
fn count(view: &View, log: &[Logged]) -> [u64; 5] {
    let marks = view.marks.borrow();
    let Some(Mark::Subscribed(Some(start))) = marks.first().cloned() else {
        panic!("view on topic {} never started: {marks:?}", view.topic);
    };
    let mut seen = BTreeSet::new();
    let (mut duplicated, mut reordered, mut resyncs, mut last) = (0, 0, 0, start);
    for mark in marks.iter() {
        match mark {
            Mark::Event { seq, n } => {
                let logged = log.iter().find(|l| l.seq == *seq).expect("a logged seq");
                assert_eq!(
                    logged.data["n"].as_u64(),
                    Some(*n),
                    "the event as published"
                );
                if !seen.insert(*seq) {
                    duplicated += 1;
                } else if *seq < last {
                    reordered += 1;
                }
                last = last.max(*seq);
            }
            Mark::Resync => resyncs += 1,
            Mark::Subscribed(_) => {}
        }
    }
    let lost = log
        .iter()
        .filter(|l| l.seq > start && !seen.contains(&l.seq))
        .count() as u64;
    [lost, duplicated, reordered, seen.len() as u64, resyncs]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_one_redis_every_event_reaches_every_view_once_in_order_across_a_node_kill() {
    let redis = RedisServer::start();
    let capacity = ["--replay-capacity", "10000"];
    let mut a = Node::start(&redis.url(), &capacity).await;
    let b = Node::start(&redis.url(), &capacity).await;
    let balancer = Balancer::start(vec![a.addr(), b.addr()]).await;
    let ws = format!("ws://{}/api/ws/v2", balancer.addr);

    tokio::task::LocalSet::new()
        .run_until(async {
            let apps: Vec<Rc<AppState>> = (0..CLIENTS).map(|i| client(&ws, i as u64)).collect();
            let views: Vec<View> = apps
                .iter()
                .enumerate()
                .flat_map(|(i, app)| (0..PER_CLIENT).map(move |k| view(app, (i + k) % TOPICS)))
                .collect();
            wait("every client's topics active", Duration::from_secs(20), || {
                apps.iter().all(|a| a.client.metrics().subscriptions.active == PER_CLIENT)
            })
            .await;
            let on_a = balancer.made_to(&a.addr());
            assert!(
                on_a > 0 && balancer.made_to(&b.addr()) > 0,
                "clients spread over both nodes: {on_a} on A"
            );

            let mut n = 0;
            for round in 0..2 * ROUNDS {
                if round == ROUNDS {
                    assert!(a.kill().await, "node A was running and is killed");
                }
                for t in 0..TOPICS {
                    n += 1;
                    let node = if round < ROUNDS && n % 2 == 0 { &a } else { &b };
                    let seq = node.publish(&topic(t), "tick", &json!({ "n": n })).await;
                    assert!(seq.is_some(), "published through a live node");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let logs: Vec<Vec<Logged>> = (0..TOPICS)
                .map(|t| read_log(&redis.url(), "tether", &topic(t)))
                .collect();
            wait("every view's last event", Duration::from_secs(20), || {
                views.iter().all(|v| {
                    let last = logs[v.topic].last().map(|l| l.seq);
                    v.marks.borrow().iter().any(|m| matches!(m, Mark::Event { seq, .. } if Some(*seq) == last))
                })
            })
            .await;

            let moved = balancer.made_to(&b.addr());
            let mut total = [0u64; 5];
            for v in &views {
                for (sum, k) in total.iter_mut().zip(count(v, &logs[v.topic])) {
                    *sum += k;
                }
            }
            let [lost, duplicated, reordered, delivered, resyncs] = total;
            let published: usize = logs.iter().map(Vec::len).sum();
            println!(
                "two nodes, one redis: {CLIENTS} clients ({on_a} connected to node A, killed midway), \
                 {published} events published through both, {delivered} delivered to {} views; \
                 lost {lost}, duplicated {duplicated}, reordered {reordered}, resyncs {resyncs}; \
                 connections made to node B in all {moved}",
                views.len()
            );
            assert_eq!(published, 2 * ROUNDS * TOPICS, "the log has every event");
            assert!(
                logs.iter().all(|l| l.iter().all(|e| e.epoch == l[0].epoch)),
                "one epoch per topic"
            );
            assert_eq!((lost, duplicated, reordered, resyncs), (0, 0, 0, 0));
            assert!(moved >= CLIENTS, "A's clients reconnected to B: {moved} connections to B");
            assert!(
                apps.iter().all(|a| a.client.state().is_open()),
                "every client open at the end"
            );
            for app in &apps {
                app.client.close();
            }
        })
        .await;
}

/// Waits until `cond` holds; a wait that reaches its deadline fails the test.
async fn wait(what: &str, limit: Duration, cond: impl FnMut() -> bool) {
    tether_tests::wait::until_or_panic(what, limit, cond).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_nodes_under_faults_every_view_sees_every_event_once_and_in_order() {
    use tether_tests::chaos::nodes::{run, NodesConfig};
    let cfg = NodesConfig::reduced(23);
    let report = tokio::task::LocalSet::new()
        .run_until(async move { run(&cfg).await })
        .await;
    println!("{report}");
    let c = &report.chaos;
    assert!(c.total_effective() >= 30, "{report}");
    for kind in [
        "node killed",
        "redis restart keeping data",
        "redis restart losing data",
    ] {
        assert!(c.hits(kind) > 0, "{kind} took effect: {report}");
    }
    assert!(c.published > 200 && c.tally.delivered > 200, "{report}");
    assert!(c.resyncs > 0, "a lost log made views resync: {report}");
    assert!(report.is_sound(), "{report}");
}
