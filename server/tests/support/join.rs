//! The join tests' helpers: a user for everyone, a server on a free port, a steady publisher,
//! and a raw subscriber that reads until the server is quiet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::request::Parts;
use futures_util::{SinkExt, StreamExt};
use tether_server::broker::Broker;
use tether_server::{Authenticate, Refusal, TetherServer, Topic};
use tether_wire::control::Control;
use tether_wire::control::Subscribe;
use tether_wire::Envelope;
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

/// Publishes on `topic` every 2 ms until stopped; the `seq`s the publisher returned.
/// Stopping takes effect between two publishes, so that every publish made is recorded.
pub fn publish_steadily(server: &TetherServer, topic: &Topic) -> (Arc<Mutex<Vec<u64>>>, Stop) {
    let publisher = server.publisher();
    let (topic, seqs) = (topic.clone(), Arc::new(Mutex::new(Vec::new())));
    let (sink, stop) = (seqs.clone(), Stop::default());
    let stopped = stop.clone();
    tokio::spawn(async move {
        for n in 0u64.. {
            if stopped.0.load(Ordering::SeqCst) {
                return;
            }
            let published = publisher
                .publish(&topic, "tick", &n)
                .await
                .expect("published");
            sink.lock().expect("not poisoned").push(published.seq());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    (seqs, stop)
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

/// Subscribes (with `since` if given) and reads until the server has been quiet for 300 ms;
/// returns the acknowledged `seq` and the `seq`s of the events received, in order.
pub async fn subscribe_and_read(
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

pub fn after(published: &Mutex<Vec<u64>>, since: u64) -> Vec<u64> {
    let published = published.lock().expect("not poisoned");
    published.iter().copied().filter(|&s| s > since).collect()
}
