//! One socket per browser, natively: tabs of a simulated browser profile (an in-process channel
//! and lock, the same code as the browser's otherwise) against a real stub. Counted against the
//! stub's own stats, its records and its publish log; every frame on the wire is checked
//! against the origin's contract.

#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tether_client::protocol::Topic;
use tether_client::tabs::sim::SimBrowser;
use tether_client::tabs::Role;
use tether_client::{AppState, Subscription, TopicEvent};
use tether_client::{Config, ConnectionState, Millis};
use tether_tests::stub::Stub;

fn config(stub: &Stub, token: String, share: &str) -> Config {
    let mut c = Config::new(stub.ws_url())
        .with_token(move || Some(token.clone()))
        .share_across_tabs(share);
    c.backoff.base = Millis(50);
    c.backoff.cap = Millis(500);
    c.ping_interval = Millis(1_000);
    c.pong_timeout = Millis(1_000);
    c
}

type Seen = Rc<RefCell<Vec<u64>>>;

/// A view recording the seqs of the events it gets.
fn view(app: &AppState, topic: &str) -> (Subscription, Seen) {
    let seen: Seen = Rc::default();
    let sink = seen.clone();
    let sub = app.topics.subscribe(topic, move |e: &TopicEvent| {
        if let Some(seq) = e.message().and_then(|m| m.seq) {
            sink.borrow_mut().push(seq);
        }
    });
    (sub, seen)
}

async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn all_open(tabs: &[Rc<AppState>]) -> bool {
    tabs.iter()
        .all(|t| t.client.state() == ConnectionState::Open)
}

fn leaders(tabs: &[Rc<AppState>]) -> usize {
    tabs.iter()
        .filter(|t| t.sharing().is_some_and(|s| s.role == Role::Leader))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_tabs_share_one_socket_and_survive_the_leaders_close() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let stub = Stub::start(|_| {}).await;
            let user = 700;
            let (agents, _) = stub.seed(user, 2, 0).await;
            let topics: Vec<String> = agents.iter().map(|a| format!("agent:{a}")).collect();
            let token = stub.token(user).await;
            let browser = SimBrowser::new();
            // The tabs open one after another, each once the others share the open socket, as a
            // user opens them. Every tab holds the first topic; the first two hold the second.
            let mut tabs: Vec<Rc<AppState>> = Vec::new();
            let mut views: Vec<Vec<(Subscription, Seen)>> = Vec::new();
            for i in 0..3 {
                let tab = browser.open_tab(config(&stub, token.clone(), "demo:700"));
                let mut v = vec![view(&tab, &topics[0])];
                if i < 2 {
                    v.push(view(&tab, &topics[1]));
                }
                tabs.push(tab);
                views.push(v);
                wait_until("every tab open", Duration::from_secs(10), || all_open(&tabs)).await;
            }
            wait_until("one leader", Duration::from_secs(5), || leaders(&tabs) == 1).await;
            let stats = stub.stats().await;
            assert_eq!(stub.user_stat(user, "connections_open").await, 1, "one socket: {stats}");
            assert_eq!(stub.user_stat(user, "connections_opened").await, 1, "{stats}");
            for topic in &topics {
                assert_eq!(stats["subscribers"][topic], 1, "{topic} held once: {stats}");
            }
            // Subscribed once: one socket holds each topic once whatever it is sent, so count
            // what it was sent, at the stub: a subscribe repeated by any tab shows here.
            let answered = stub.answers_per_topic(user).await;
            let once: std::collections::BTreeMap<String, usize> =
                topics.iter().map(|t| (t.clone(), 1)).collect();
            assert_eq!(answered, once, "each topic answered once: {stats}");
            let frames = stub.user_stat(user, "subscribe_frames_in").await;
            assert!(frames >= 1 && frames <= topics.len() as u64, "{frames} subscribe frames: {stats}");
            for t in &tabs {
                let s = t.sharing().unwrap();
                assert_eq!((s.state, s.tabs), (ConnectionState::Open, 3), "{s:?}");
            }

            // Events throughout, and the leader's tab closes in the middle.
            stub.publish(&topics[0], "run_update", 5).await;
            stub.publish(&topics[1], "run_update", 5).await;
            let leader = tabs
                .iter()
                .position(|t| t.sharing().unwrap().role == Role::Leader)
                .unwrap();
            let closed = tabs.remove(leader);
            let leader_views = views.remove(leader);
            drop(leader_views);
            let handover = Instant::now();
            browser.close_tab(closed);
            stub.publish(&topics[0], "run_update", 5).await; // during the handover
            stub.publish(&topics[1], "run_update", 5).await;
            wait_until("a new leader, every tab open", Duration::from_secs(5), || {
                leaders(&tabs) == 1 && all_open(&tabs)
            })
            .await;
            let took = handover.elapsed();
            stub.publish(&topics[0], "run_update", 5).await;
            stub.publish(&topics[1], "run_update", 5).await;

            // Every remaining view, every event of the topic exactly once and in order.
            for (t, tab_views) in views.iter().enumerate() {
                for (k, (_, seen)) in tab_views.iter().enumerate() {
                    let log = stub.published(&topics[k]).await;
                    let expected: Vec<u64> = log
                        .iter()
                        .filter(|e| e.kind == "run_update")
                        .map(|e| e.seq)
                        .collect();
                    wait_until("every event", Duration::from_secs(5), || {
                        seen.borrow().len() >= expected.len()
                    })
                    .await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    assert_eq!(*seen.borrow(), expected, "tab {t}, {}", topics[k]);
                }
            }
            assert_eq!(stub.user_stat(user, "connections_open").await, 1);
            println!(
                "tabs: 3 tabs on 1 socket; the leader closed; new leader and every tab open after {} ms; \
                 {} events per topic arrived once and in order in every tab",
                took.as_millis(),
                15
            );
            assert!(took < Duration::from_secs(2), "handover took {took:?}");

            // Every view unmounts: nothing is left subscribed.
            drop(views);
            let started = Instant::now();
            while stub.user_stat(user, "subscriptions").await > 0 {
                assert!(started.elapsed() < Duration::from_secs(5), "subscriptions left behind");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for t in tabs {
                browser.close_tab(t);
            }
            println!("tabs: {}", stub.assert_frames_conform());
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_in_one_browser_never_share_a_socket_or_an_event() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let stub = Stub::start(|_| {}).await;
            let (a_agents, _) = stub.seed(701, 1, 0).await;
            let (b_agents, _) = stub.seed(702, 1, 0).await;
            let browser = SimBrowser::new();
            let a = browser.open_tab(config(&stub, stub.token(701).await, "demo:701"));
            let b = browser.open_tab(config(&stub, stub.token(702).await, "demo:702"));
            let (_va, seen_a) = view(&a, &format!("agent:{}", a_agents[0]));
            let (_vb, seen_b) = view(&b, &format!("agent:{}", b_agents[0]));
            wait_until("both open", Duration::from_secs(10), || {
                all_open(&[a.clone(), b.clone()])
            })
            .await;
            assert_eq!(a.sharing().unwrap().role, Role::Leader);
            assert_eq!(
                b.sharing().unwrap().role,
                Role::Leader,
                "each user leads its own"
            );
            assert_eq!(stub.user_stat(701, "connections_open").await, 1);
            assert_eq!(stub.user_stat(702, "connections_open").await, 1);
            stub.publish(&format!("agent:{}", a_agents[0]), "run_update", 3)
                .await;
            stub.publish(&format!("agent:{}", b_agents[0]), "run_update", 4)
                .await;
            wait_until("the events", Duration::from_secs(5), || {
                seen_a.borrow().len() == 3 && seen_b.borrow().len() == 4
            })
            .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!((seen_a.borrow().len(), seen_b.borrow().len()), (3, 4));
            // User b's tab cannot see a's topic: the server refuses it.
            let (_vx, seen_x) = view(&b, &format!("agent:{}", a_agents[0]));
            stub.publish(&format!("agent:{}", a_agents[0]), "run_update", 2)
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(seen_x.borrow().is_empty(), "an event crossed users");
            assert!(matches!(
                b.topics.status(&Topic::agent(a_agents[0])),
                Some(tether_client::TopicStatus::Failed { .. })
            ));
            stub.assert_frames_conform();
        })
        .await;
}

/// A follower that crashes (no goodbye: its page is killed) leaves nothing on the shared socket:
/// the leader waits on each tab's own lock, which the browser frees when the tab dies, and then
/// drops the tab's topics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_follower_leaves_no_subscription_behind() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let stub = Stub::start(|_| {}).await;
            let user = 703;
            let (agents, _) = stub.seed(user, 2, 0).await;
            let token = stub.token(user).await;
            let browser = SimBrowser::new();
            let leader = browser.open_tab(config(&stub, token.clone(), "demo:703"));
            wait_until("a leader", Duration::from_secs(5), || {
                leaders(std::slice::from_ref(&leader)) == 1
            })
            .await;
            let follower = browser.open_tab(config(&stub, token, "demo:703"));
            let (_shared, _) = view(&leader, &format!("agent:{}", agents[0]));
            let (_only_follower, _) = view(&follower, &format!("agent:{}", agents[1]));
            wait_until("both open", Duration::from_secs(10), || {
                all_open(&[leader.clone(), follower.clone()])
            })
            .await;
            let started = Instant::now();
            while stub.user_stat(user, "subscriptions").await < 2 {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "both topics on the wire"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            browser.crash_tab(follower);
            let crashed = Instant::now();
            while stub.user_stat(user, "subscriptions").await > 1 {
                assert!(
                    crashed.elapsed() < Duration::from_secs(2),
                    "the crashed tab's topic is still subscribed"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let stats = stub.stats().await;
            assert_eq!(stats["subscribers"][format!("agent:{}", agents[0])], 1);
            assert_eq!(
                leader.sharing().unwrap().tabs,
                1,
                "the leader counts one tab"
            );
            assert_eq!(
                stub.user_stat(user, "connections_opened").await,
                1,
                "no reconnect"
            );
            browser.close_tab(leader);
            stub.assert_frames_conform();
        })
        .await;
}

/// A leader whose page freezes keeps its lock, and says nothing: the follower's heartbeat
/// notices, a probe goes unanswered, and the follower steals the lock and opens the socket.
/// When the old leader thaws it learns it lost the lock and follows. Both tabs' views get every
/// event once and in order, those published while the leader was frozen included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_is_replaced_and_follows_when_it_thaws() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let stub = Stub::start(|_| {}).await;
            let user = 704;
            let (agents, _) = stub.seed(user, 1, 0).await;
            let topic = format!("agent:{}", agents[0]);
            let token = stub.token(user).await;
            let browser = SimBrowser::new();
            let tab = |token: &str| {
                let mut c = config(&stub, token.to_owned(), "demo:704");
                c.connect_timeout = Millis(1_000);
                browser.open_tab(c)
            };
            let old = tab(&token);
            wait_until("a leader", Duration::from_secs(5), || {
                leaders(std::slice::from_ref(&old)) == 1
            })
            .await;
            let other = tab(&token);
            let views = [view(&old, &topic), view(&other, &topic)];
            let both = [old.clone(), other.clone()];
            wait_until("both open", Duration::from_secs(10), || all_open(&both)).await;
            stub.publish(&topic, "run_update", 3).await;

            browser.freeze_tab(&old);
            let frozen = Instant::now();
            stub.publish(&topic, "run_update", 3).await;
            wait_until("the other tab leads", Duration::from_secs(10), || {
                other.sharing().is_some_and(|s| s.role == Role::Leader)
                    && other.client.state() == ConnectionState::Open
            })
            .await;
            let took = frozen.elapsed();
            assert_eq!(browser.steals(), 1, "the lock was taken once");
            stub.publish(&topic, "run_update", 3).await;

            browser.thaw_tab(&old);
            wait_until(
                "the old leader follows, one socket",
                Duration::from_secs(5),
                || old.sharing().is_some_and(|s| s.role == Role::Follower) && all_open(&both),
            )
            .await;
            let started = Instant::now();
            while stub.user_stat(user, "connections_open").await != 1 {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "one socket again"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            stub.publish(&topic, "run_update", 3).await;
            let expected: Vec<u64> = stub
                .published(&topic)
                .await
                .iter()
                .filter(|e| e.kind == "run_update")
                .map(|e| e.seq)
                .collect();
            for (name, (_, seen)) in ["old leader", "new leader"].iter().zip(&views) {
                wait_until("every event", Duration::from_secs(5), || {
                    seen.borrow().len() >= expected.len()
                })
                .await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                assert_eq!(*seen.borrow(), expected, "{name}");
            }
            println!(
                "tabs: the leader froze; the other tab led with the socket open after {} ms \
                 (ping 1 s, pong timeout 1 s, connect timeout 1 s); the old leader followed \
                 once thawed; {} events arrived once and in order in both tabs",
                took.as_millis(),
                expected.len()
            );
            assert!(took < Duration::from_secs(6), "takeover took {took:?}");
            drop(views);
            browser.close_tab(old);
            browser.close_tab(other);
            stub.assert_frames_conform();
        })
        .await;
}

/// While the server is down, a follower's attempts to open its virtual socket time out; the
/// leader, alive, answers its probes, so it keeps the lead and nobody steals it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_leader_keeps_the_lead_while_its_server_is_down() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let stub = Stub::start(|_| {}).await;
            let user = 705;
            let token = stub.token(user).await;
            let browser = SimBrowser::new();
            let tab = || {
                let mut c = config(&stub, token.clone(), "demo:705");
                c.connect_timeout = Millis(2_000);
                browser.open_tab(c)
            };
            let leader = tab();
            wait_until("a leader", Duration::from_secs(5), || {
                leaders(std::slice::from_ref(&leader)) == 1
            })
            .await;
            let follower = tab();
            let both = [leader.clone(), follower.clone()];
            wait_until("both open", Duration::from_secs(10), || all_open(&both)).await;
            let timeouts = || browser.probes(&follower);
            let before = timeouts();
            assert_eq!(
                stub.fault("restart?down_ms=6000").await,
                1,
                "the socket closed"
            );
            wait_until("the shared socket down", Duration::from_secs(2), || {
                !leader.client.state().is_open()
            })
            .await;
            wait_until("both open again", Duration::from_secs(15), || {
                all_open(&both)
            })
            .await;
            let attempts = timeouts() - before;
            assert_eq!(browser.steals(), 0, "nobody took the lock");
            assert_eq!(
                leaders(std::slice::from_ref(&leader)),
                1,
                "the leader kept the lead"
            );
            assert_eq!(leaders(&both), 1);
            assert!(
                attempts >= 2,
                "the follower's attempts timed out: {attempts} probes"
            );
            println!(
                "tabs: server down 6 s; the follower's virtual socket timed out and it probed \
                 {attempts} times; the leader answered and kept the lead"
            );
            browser.close_tab(follower);
            browser.close_tab(leader);
            stub.assert_frames_conform();
        })
        .await;
}

/// A follower whose link to the leader is replaced (its own heartbeat gave up, or "Retry now")
/// resubscribes from its last `seq`. The leader has seen events since its subscribe was
/// acknowledged, so the follower is not ahead of the server: it continues, with no resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_relinking_continues_without_a_resync() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let stub = Stub::start(|_| {}).await;
            let user = 706;
            let (agents, _) = stub.seed(user, 1, 0).await;
            let topic = format!("agent:{}", agents[0]);
            let token = stub.token(user).await;
            let browser = SimBrowser::new();
            let leader = browser.open_tab(config(&stub, token.clone(), "demo:706"));
            wait_until("a leader", Duration::from_secs(5), || {
                leaders(std::slice::from_ref(&leader)) == 1
            })
            .await;
            let follower = browser.open_tab(config(&stub, token, "demo:706"));
            let (_held, _) = view(&leader, &topic);
            let resyncs = Rc::new(std::cell::Cell::new(0));
            let counted = resyncs.clone();
            let _counter = follower
                .topics
                .subscribe(topic.as_str(), move |e: &TopicEvent| {
                    if matches!(e, TopicEvent::ResyncRequired { .. }) {
                        counted.set(counted.get() + 1);
                    }
                });
            let (_view, seen) = view(&follower, &topic);
            let both = [leader.clone(), follower.clone()];
            wait_until("both open", Duration::from_secs(10), || all_open(&both)).await;
            stub.publish(&topic, "run_update", 5).await;
            wait_until("5 events", Duration::from_secs(5), || {
                seen.borrow().len() == 5
            })
            .await;
            let relinked = follower.client.metrics().counters.frames_out;
            follower.client.reconnect();
            wait_until("the link replaced", Duration::from_secs(5), || {
                follower.client.metrics().counters.frames_out > relinked + 1 && all_open(&both)
            })
            .await;
            stub.publish(&topic, "run_update", 5).await;
            let expected: Vec<u64> = (1..=10).collect();
            wait_until("10 events", Duration::from_secs(5), || {
                seen.borrow().len() >= 10
            })
            .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(*seen.borrow(), expected);
            assert_eq!(resyncs.get(), 0, "no resync: nothing was lost");
            browser.close_tab(follower);
            browser.close_tab(leader);
            stub.assert_frames_conform();
        })
        .await;
}
