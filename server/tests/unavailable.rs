//! A broker that cannot be reached: a `subscribe` closes the connection with 1013 (try again
//! later), leaving nothing behind, so that the client comes back with `since`; a `publish`
//! fails to its caller.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::request::Parts;
use futures_util::{SinkExt, StreamExt};
use tether_server::broker::{BoxFuture, Broker, BrokerError, BrokerHandler, History, MemoryBroker};
use tether_server::{Authenticate, Event, Publication, PublishError, Refusal, TetherServer, Topic};
use tether_wire::control::Control;
use tether_wire::control::Subscribe;
use tokio_tungstenite::tungstenite::Message;

/// Everyone is user `u`.
struct Anyone;

impl Authenticate for Anyone {
    type User = String;

    async fn authenticate(&self, _: &Parts) -> Result<String, Refusal> {
        Ok("u".into())
    }
}

/// A memory broker that, once `down`, answers every call with `Unavailable`.
struct Flaky {
    inner: MemoryBroker,
    down: AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), BrokerError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BrokerError::Unavailable("connection refused".into()));
        }
        Ok(())
    }
}

impl Broker for Flaky {
    fn start(&self, handler: Arc<dyn BrokerHandler>) {
        self.inner.start(handler);
    }

    fn publish(
        &self,
        topic: Topic,
        event: Event,
        ts: u64,
    ) -> BoxFuture<'_, Result<Arc<Publication>, BrokerError>> {
        match self.check() {
            Ok(()) => self.inner.publish(topic, event, ts),
            Err(error) => Box::pin(async move { Err(error) }),
        }
    }

    fn history(
        &self,
        topic: Topic,
        since: Option<u64>,
    ) -> BoxFuture<'_, Result<History, BrokerError>> {
        match self.check() {
            Ok(()) => self.inner.history(topic, since),
            Err(error) => Box::pin(async move { Err(error) }),
        }
    }

    fn subscribe(&self, topics: Vec<Topic>) -> BoxFuture<'_, Result<(), BrokerError>> {
        match self.check() {
            Ok(()) => self.inner.subscribe(topics),
            Err(error) => Box::pin(async move { Err(error) }),
        }
    }

    fn unsubscribe(&self, topics: Vec<Topic>) -> BoxFuture<'_, Result<(), BrokerError>> {
        self.inner.unsubscribe(topics)
    }
}

#[tokio::test]
async fn a_subscribe_closes_with_1013_and_a_publish_fails_while_the_broker_is_down() {
    let broker = Arc::new(Flaky {
        inner: MemoryBroker::new(&tether_server::Limits::default()),
        down: AtomicBool::new(false),
    });
    let server = TetherServer::builder(Anyone).broker(broker.clone()).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("ws://{}/ws?tether=1", listener.local_addr().expect("bound"));
    let app = server.router("/ws");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let topic = Topic::new("t:1");
    let publisher = server.publisher();
    assert_eq!(
        publisher.publish(&topic, "e", &1).await.expect("up").seq(),
        1
    );

    broker.down.store(true, Ordering::SeqCst);
    let failed = publisher.publish(&topic, "e", &2).await;
    assert!(matches!(
        failed,
        Err(PublishError::Broker(BrokerError::Unavailable(_)))
    ));

    let (mut ws, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connects");
    let subscribe = Subscribe {
        topics: vec![topic.clone()],
        message_id: Some("s1".into()),
        since: None,
    };
    let frame = Control::Subscribe(subscribe).to_envelope().encode();
    ws.send(Message::text(frame)).await.expect("sends");
    let closed = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("answered in time");
    let Some(Ok(Message::Close(Some(close)))) = closed else {
        panic!("expected a close frame, got {closed:?}");
    };
    assert_eq!(u16::from(close.code), 1013);
    let gone = async {
        while server.connections() > 0 || !server.subscriber_counts().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), gone)
        .await
        .expect("the connection and its membership are gone");

    broker.down.store(false, Ordering::SeqCst);
    let back = publisher.publish(&topic, "e", &3).await.expect("up again");
    assert_eq!(back.seq(), 2, "the failed publish took no seq");
}
