//! The getting-started example, `examples/minimal.rs`, run as a real process against the
//! native tether client, through a TCP proxy that can cut and refuse connections. It shows:
//! the subscription acknowledged with a `seq`, events numbered one after another, a dropped
//! socket (counted only when the proxy really cut a connection and the client saw it go), a
//! resume with `since`, and the replay: every event the example published while the client
//! was away arrives once, in order, with no `resync_required`, counted against the lines in
//! which the example printed what its `Publisher` returned.
//!
//! The example binary is built by `cargo test` (it builds every example of the package) and
//! `cargo build -p tether-server --example minimal_server`.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tether_client::protocol::Topic;
use tether_client::Config;
use tether_client::TopicEvent;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod support;

use support::Proxy;

const SECRET: &str = "minimal-example-test-secret-0123456789";
/// The example's publishing period in this test.
const TICK_MS: u64 = 40;
/// The longest any wait may take.
const WAIT: Duration = Duration::from_secs(20);

/// What the client's view saw.
#[derive(Debug, Default)]
struct Seen {
    /// The `seq` of each `Subscribed` (the acknowledgement's).
    subscribed: Vec<Option<u64>>,
    /// Each event's `seq` and its `data.n`.
    events: Vec<(u64, u64)>,
    /// `ResyncRequired`s.
    resyncs: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minimal_example_replays_what_a_dropped_client_missed() {
    let (mut example, addr, published) = start_example().await;
    let proxy = Proxy::start(&addr).await;
    tokio::task::LocalSet::new()
        .run_until(async move {
            let seen = Rc::new(RefCell::new(Seen::default()));
            let (app, _view) = connect(&proxy, &seen);
            wait("the subscription and 5 events", || seen.borrow().events.len() >= 5).await;
            assert!(app.client.state().is_open());
            let acked = seen.borrow().subscribed.clone();
            assert!(
                matches!(acked.as_slice(), [Some(_)]),
                "acknowledged once, with a seq: {acked:?}"
            );

            proxy.set_down(true);
            let cut = proxy.cut();
            assert!(cut >= 1, "the proxy cut the client's connection ({cut})");
            wait("the client to see its socket go", || !app.client.state().is_open()).await;
            let last_before = seen.borrow().events.last().map_or(0, |e| e.0);
            let published_before = last_published(&published);
            wait("10 events published while the client is away", || {
                last_published(&published) >= published_before + 10
            })
            .await;
            let published_while_away = last_published(&published);
            assert_eq!(
                seen.borrow().events.last().map(|e| e.0),
                Some(last_before),
                "nothing arrived while away"
            );

            proxy.set_down(false);
            wait("the client back with every event published while away", || {
                seen.borrow().events.last().is_some_and(|e| e.0 > published_while_away + 2)
            })
            .await;
            assert!(app.client.metrics().counters.reconnects >= 1);

            let seen = seen.borrow();
            let first = seen.events[0].0;
            let last = seen.events.last().map_or(0, |e| e.0);
            let truth: Vec<u64> = published
                .lock()
                .expect("not poisoned")
                .iter()
                .copied()
                .filter(|seq| (first..=last).contains(seq))
                .collect();
            let got: Vec<u64> = seen.events.iter().map(|e| e.0).collect();
            assert_eq!(got, truth, "every published event from the first seen, once, in order");
            assert!(seen.events.iter().all(|(seq, n)| seq == n), "each event is the one published");
            assert_eq!(seen.resyncs, 0, "the gap was replayed, not resynced");
            assert_eq!(seen.subscribed.len(), 1, "the view was told it started once");
            let replayed = got.iter().filter(|s| (last_before + 1..=published_while_away).contains(*s));
            println!(
                "minimal example: {} events seen (seq {first}..={last}), {} cut, {} published while away and replayed, 0 lost, 0 repeated",
                got.len(),
                cut,
                replayed.count()
            );
        })
        .await;
    let _ = example.kill().await;
}

/// Starts the example on a free port; returns it, its address and the `seq`s it printed as
/// published (filled as it prints them).
async fn start_example() -> (Child, String, Arc<Mutex<Vec<u64>>>) {
    let mut child = Command::new(example_binary())
        .env("PORT", "0")
        .env("TETHER_SECRET", SECRET)
        .env("TICK_MS", TICK_MS.to_string())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the example starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let first = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("the example prints its address in time")
        .expect("reads")
        .expect("a line");
    let addr = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let published = Arc::new(Mutex::new(Vec::new()));
    let sink = published.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let seq = line.strip_prefix("published ticker:demo seq ");
            if let Some(seq) = seq.and_then(|s| s.parse().ok()) {
                sink.lock().expect("not poisoned").push(seq);
            }
        }
    });
    (child, addr, published)
}

/// `target/<profile>/examples/minimal_server`, beside this test's `deps/`.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let binary = dir
        .join("examples")
        .join(format!("minimal_server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build -p tether-server --example minimal_server`",
        binary.display()
    );
    binary
}

/// A native client through the proxy, with one view on `ticker:demo` recording into `seen`.
fn connect(
    proxy: &Proxy,
    seen: &Rc<RefCell<Seen>>,
) -> (Rc<tether_client::AppState>, tether_client::Subscription) {
    let token = tether_server::JwtHs256::new(SECRET)
        .mint("alice", 3600)
        .expect("mints");
    let url = format!("ws://{}/live", proxy.addr);
    let config = Config::new(url).with_token(move || Some(token.clone()));
    let (app, driver, _) = tether_client::native::app(config, 7);
    tokio::task::spawn_local(driver.run());
    app.client.connect();
    let sink = seen.clone();
    let view = app
        .topics
        .subscribe(Topic::new("ticker:demo"), move |event: &TopicEvent| {
            let mut seen = sink.borrow_mut();
            match event {
                TopicEvent::Subscribed { seq, .. } => seen.subscribed.push(*seq),
                TopicEvent::Message(envelope) => {
                    let n = envelope
                        .data::<serde_json::Value>()
                        .ok()
                        .and_then(|d| d["n"].as_u64());
                    seen.events
                        .push((envelope.seq.unwrap_or(0), n.unwrap_or(0)));
                }
                TopicEvent::ResyncRequired { .. } => seen.resyncs += 1,
                TopicEvent::Refused { .. } => panic!("refused: {event:?}"),
            }
        });
    (app, view)
}

fn last_published(published: &Mutex<Vec<u64>>) -> u64 {
    published
        .lock()
        .expect("not poisoned")
        .last()
        .copied()
        .unwrap_or(0)
}

/// Waits until `done`, failing the test after [`WAIT`].
async fn wait(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
