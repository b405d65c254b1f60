//! The join tests' helpers: a user for everyone, a server on a free port, a steady publisher,
//! and a raw subscriber that reads until it has the publisher's last event. Nothing here
//! depends on how fast the machine is: every wait is for a condition, and one that does not
//! come within [`PATIENCE`] fails the test.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::request::Parts;
use futures_util::{SinkExt, StreamExt};
use tether_server::broker::Broker;
use tether_server::{Authenticate, Refusal, TetherServer, Topic};
use tether_wire::control::Control;
use tether_wire::control::Subscribe;
use tether_wire::Envelope;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// Everyone is user `u`.
pub struct Anyone;

impl Authenticate for Anyone {
    type User = String;

    async fn authenticate(&self, _: &Parts) -> Result<String, Refusal> {
        Ok("u".into())
    }
}

/// A server on `broker` on a free port; its address.
pub async fn serve(broker: Arc<dyn Broker>) -> (TetherServer, String) {
    let server = TetherServer::builder(Anyone).broker(broker).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("bound").to_string();
    let app = server.router("/ws");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, addr)
}

/// How long a wait may last before the test fails: far beyond any machine's pace.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A publisher on one topic, every 2 ms until stopped, recording the `seq` of each publish.
pub struct Steady {
    seqs: Arc<Mutex<Vec<u64>>>,
    stop: Stop,
    task: JoinHandle<()>,
}

impl Steady {
    /// Starts publishing on `topic`.
    pub fn start(server: &TetherServer, topic: &Topic) -> Steady {
        let publisher = server.publisher();
        let (topic, seqs, stop) = (topic.clone(), Arc::default(), Stop::default());
        let (sink, stopped) = (Arc::clone(&seqs), stop.clone());
        let task = tokio::spawn(async move {
            for n in 0u64.. {
                if stopped.0.load(Ordering::SeqCst) {
                    return;
                }
                let published = publisher
                    .publish(&topic, "tick", &n)
                    .await
                    .expect("published");
                lock(&sink).push(published.seq());
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        Steady { seqs, stop, task }
    }

    /// What it has published so far.
    pub fn so_far(&self) -> Arc<Mutex<Vec<u64>>> {
        Arc::clone(&self.seqs)
    }

    /// A handle that stops it (after the publish under way).
    pub fn stopper(&self) -> Stop {
        self.stop.clone()
    }

    /// The `seq` of its `n`-th publish (from 0), once made.
    pub async fn nth(&self, n: usize) -> u64 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(&seq) = lock(&self.seqs).get(n) {
                return seq;
            }
            assert!(
                Instant::now() < deadline,
                "{n} publishes within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Every `seq` it published, once it has stopped; `None` while it runs.
    fn all(&self) -> Option<Vec<u64>> {
        self.task.is_finished().then(|| lock(&self.seqs).clone())
    }
}

fn lock(seqs: &Mutex<Vec<u64>>) -> std::sync::MutexGuard<'_, Vec<u64>> {
    seqs.lock().expect("not poisoned")
}

/// Stops a steady publisher.
#[derive(Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Stops it after the publish under way.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What a subscriber read: the acknowledged `seq`, the `seq`s of the events it received in
/// order, and every `seq` the publisher returned.
pub struct Read {
    pub acked: u64,
    pub got: Vec<u64>,
    pub published: Vec<u64>,
}

impl Read {
    /// The published `seq`s after `since`: what the subscriber must have received.
    pub fn after(&self, since: u64) -> Vec<u64> {
        self.published
            .iter()
            .copied()
            .filter(|&s| s > since)
            .collect()
    }
}

/// Subscribes (with `since` if given) while `steady` publishes, stops it once `stop_after`
/// events came (if given; else something else stops it), and reads until it has the last
/// event the publisher made, then 300 ms more (a repeat after the last would show). Fails on
/// a `resync_required`, and when [`PATIENCE`] goes by with no event while one is due.
pub async fn subscribe_and_read(
    addr: &str,
    topic: &Topic,
    since: Option<u64>,
    steady: &Steady,
    stop_after: Option<usize>,
) -> Read {
    let url = format!("ws://{addr}/ws?tether=1");
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connects");
    let request = Subscribe {
        topics: vec![topic.clone()],
        message_id: Some("s1".into()),
        since: since.map(|s| [(topic.clone(), s)].into_iter().collect()),
    };
    let frame = Control::Subscribe(request).to_envelope().encode();
    ws.send(Message::text(frame)).await.expect("sends");
    let (mut acked, mut got) = (None, Vec::new());
    let mut heard = Instant::now();
    let mut last_due: Option<(Vec<u64>, Instant)> = None;
    loop {
        if last_due.is_none() {
            let all = steady.all();
            let done = all.filter(|all| all.last().is_none_or(|l| got.last() >= Some(l)));
            last_due = done.map(|all| (all, Instant::now() + Duration::from_millis(300)));
        }
        if let Some((all, until)) = &last_due {
            if Instant::now() >= *until {
                let acked = acked.expect("acknowledged");
                return Read {
                    acked,
                    got,
                    published: all.clone(),
                };
            }
        }
        assert!(
            heard.elapsed() < PATIENCE,
            "no event for {PATIENCE:?}, with {} read",
            got.len()
        );
        let next = tokio::time::timeout(Duration::from_millis(50), ws.next()).await;
        let Ok(next) = next else { continue };
        let Some(Ok(Message::Text(text))) = next else {
            panic!("the socket ended: {next:?}");
        };
        let envelope = Envelope::decode(&text).expect("an envelope");
        match Control::parse(&envelope) {
            Some(Ok(Control::SubscribeAck(ack))) => {
                acked = ack.seqs.get(topic).copied();
                heard = Instant::now();
            }
            // The server's heartbeat is not an event: it must not keep a stalled read alive.
            Some(Ok(Control::Ping(_))) => {}
            Some(Ok(Control::ResyncRequired(r))) => panic!("a gap, announced: {r:?}"),
            Some(other) => panic!("unexpected {other:?}"),
            None => {
                got.push(envelope.seq.expect("numbered"));
                heard = Instant::now();
            }
        }
        if Some(got.len()) == stop_after {
            steady.stop.stop();
        }
    }
}
