//! The join protocol against a history that is slow to come, as a remote store's is: while a
//! subscriber's history is on its way, events keep being published; some of them are in the
//! history it gets, some are not. Whatever the timing, the subscriber receives every event after
//! its `since` (or after its acknowledged `seq`) exactly once and in order, counted against the
//! `seq`s the `Publisher` returned.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::request::Parts;
use futures_util::{SinkExt, StreamExt};
use tether_server::broker::{BoxFuture, Broker, BrokerError, BrokerHandler, History};
use tether_server::{Authenticate, Event, MemoryBroker, Publication, Refusal, TetherServer, Topic};
use tether_wire::control::Subscribe;
use tether_wire::{Control, Envelope};
use tokio_tungstenite::tungstenite::Message;

/// Everyone is user `u`.
struct Anyone;

impl Authenticate for Anyone {
    type User = String;

    async fn authenticate(&self, _: &Parts) -> Result<String, Refusal> {
        Ok("u".into())
    }
}

/// A memory broker whose history answers late: it waits, reads, and waits again, so that
/// events are published both before and after the moment the history is read.
struct SlowHistory {
    inner: Arc<MemoryBroker>,
    delay: Duration,
}

impl Broker for SlowHistory {
    fn start(&self, handler: Arc<dyn BrokerHandler>) {
        self.inner.start(handler);
    }

    fn publish(
        &self,
        topic: Topic,
        event: Event,
        ts: u64,
    ) -> BoxFuture<'_, Result<Arc<Publication>, BrokerError>> {
        self.inner.publish(topic, event, ts)
    }

    fn history(
        &self,
        topic: Topic,
        since: Option<u64>,
    ) -> BoxFuture<'_, Result<History, BrokerError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            let history = self.inner.history(topic, since).await;
            tokio::time::sleep(self.delay).await;
            history
        })
    }

    fn subscribe(&self, topics: Vec<Topic>) -> BoxFuture<'_, Result<(), BrokerError>> {
        self.inner.subscribe(topics)
    }

    fn unsubscribe(&self, topics: Vec<Topic>) -> BoxFuture<'_, Result<(), BrokerError>> {
        self.inner.unsubscribe(topics)
    }
}

/// A server on a free port whose history takes `2 × delay`; its address.
async fn start(delay: Duration) -> (TetherServer, String) {
    let inner = Arc::new(MemoryBroker::new(&tether_server::Limits::default()));
    let broker = Arc::new(SlowHistory { inner, delay });
    let server = TetherServer::builder(Anyone).broker(broker).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("bound").to_string();
    let app = server.router("/ws");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, addr)
}

/// Publishes on `topic` every 2 ms until stopped; the `seq`s the publisher returned.
fn publish_steadily(
    server: &TetherServer,
    topic: &Topic,
) -> (Arc<Mutex<Vec<u64>>>, tokio::task::JoinHandle<()>) {
    let publisher = server.publisher();
    let (topic, seqs) = (topic.clone(), Arc::new(Mutex::new(Vec::new())));
    let sink = seqs.clone();
    let task = tokio::spawn(async move {
        for n in 0u64.. {
            let published = publisher
                .publish(&topic, "tick", &n)
                .await
                .expect("published");
            sink.lock().expect("not poisoned").push(published.seq());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    (seqs, task)
}

/// Subscribes (with `since` if given) and reads until the server has been quiet for 300 ms;
/// returns the acknowledged `seq` and the `seq`s of the events received, in order.
async fn subscribe_and_read(
    addr: &str,
    topic: &Topic,
    since: Option<u64>,
    stop: impl FnOnce(),
) -> (u64, Vec<u64>) {
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
    let mut acked = None;
    let mut seqs = Vec::new();
    let mut stop = Some(stop);
    loop {
        let next = tokio::time::timeout(Duration::from_millis(300), ws.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = next else {
            break;
        };
        let envelope = Envelope::decode(&text).expect("an envelope");
        match Control::parse(&envelope) {
            Some(Ok(Control::SubscribeAck(ack))) => acked = ack.seqs.get(topic).copied(),
            Some(Ok(Control::Ping(_))) => {}
            Some(Ok(Control::ResyncRequired(r))) => panic!("a gap, announced: {r:?}"),
            Some(other) => panic!("unexpected {other:?}"),
            None => seqs.push(envelope.seq.expect("numbered")),
        }
        if seqs.len() == 200 {
            if let Some(stop) = stop.take() {
                stop();
            }
        }
    }
    (acked.expect("acknowledged"), seqs)
}

fn after(published: &Mutex<Vec<u64>>, since: u64) -> Vec<u64> {
    let published = published.lock().expect("not poisoned");
    published.iter().copied().filter(|&s| s > since).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_from_a_slow_history_meets_the_live_events_with_no_gap_and_no_repeat() {
    let (server, addr) = start(Duration::from_millis(80)).await;
    let topic = Topic::new("t:1");
    let (published, task) = publish_steadily(&server, &topic);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let since = published.lock().expect("not poisoned")[10];
    let (_, got) = subscribe_and_read(&addr, &topic, Some(since), || task.abort()).await;
    let want = after(&published, since);
    assert!(
        want.len() > 100,
        "{} events published after since",
        want.len()
    );
    assert_eq!(got, want, "every event after since, once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_without_since_continues_from_its_acknowledged_seq_with_no_gap_and_no_repeat() {
    let (server, addr) = start(Duration::from_millis(80)).await;
    let topic = Topic::new("t:1");
    let (published, task) = publish_steadily(&server, &topic);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (acked, got) = subscribe_and_read(&addr, &topic, None, || task.abort()).await;
    let want = after(&published, acked);
    assert!(
        acked > 0 && want.len() > 100,
        "acked {acked}, {} after",
        want.len()
    );
    assert_eq!(
        got, want,
        "every event after the acknowledged seq, once, in order"
    );
}
