//! The join protocol against a history that is slow to come, as a remote store's is: while a
//! subscriber's history is on its way, events keep being published; some of them are in the
//! history it gets, some are not. Whatever the timing, the subscriber receives every event after
//! its `since` (or after its acknowledged `seq`) exactly once and in order, counted against the
//! `seq`s the `Publisher` returned.

use std::sync::Arc;
use std::time::Duration;

use tether_server::broker::{BoxFuture, Broker, BrokerError, BrokerHandler, History, MemoryBroker};
use tether_server::{Event, Publication, TetherServer, Topic};

mod support;

use support::join::{serve, subscribe_and_read, Steady};

/// A broker whose history answers late: it waits, reads, and waits again, so that
/// events are published both before and after the moment the history is read.
struct SlowHistory {
    inner: Arc<dyn Broker>,
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

/// A server whose history takes `2 × delay`, on `inner`; its address.
async fn start_on(inner: Arc<dyn Broker>, delay: Duration) -> (TetherServer, String) {
    serve(Arc::new(SlowHistory { inner, delay })).await
}

/// The same on a memory broker.
async fn start(delay: Duration) -> (TetherServer, String) {
    let inner = Arc::new(MemoryBroker::new(&tether_server::Limits::default()));
    start_on(inner, delay).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_from_a_slow_history_meets_the_live_events_with_no_gap_and_no_repeat() {
    let (server, addr) = start(Duration::from_millis(80)).await;
    let topic = Topic::new("t:1");
    let steady = Steady::start(&server, &topic);
    let since = steady.nth(10).await;
    let read = subscribe_and_read(&addr, &topic, Some(since), &steady, Some(200)).await;
    let want = read.after(since);
    assert!(
        want.len() > 100,
        "{} events published after since",
        want.len()
    );
    assert_eq!(read.got, want, "every event after since, once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_without_since_continues_from_its_acknowledged_seq_with_no_gap_and_no_repeat() {
    let (server, addr) = start(Duration::from_millis(80)).await;
    let topic = Topic::new("t:1");
    let steady = Steady::start(&server, &topic);
    steady.nth(0).await;
    let read = subscribe_and_read(&addr, &topic, None, &steady, Some(200)).await;
    let want = read.after(read.acked);
    assert!(
        read.acked > 0 && want.len() > 100,
        "acked {}, {} after",
        read.acked,
        want.len()
    );
    assert_eq!(
        read.got, want,
        "every event after the acknowledged seq, once, in order"
    );
}

/// The same joins on Redis: a real remote history (slowed down as well) and real pub/sub.
#[cfg(feature = "redis")]
mod on_redis {
    use super::*;
    use support::redis_server::RedisServer;
    use tether_server::broker::redis::{RedisBroker, RedisConfig};

    fn broker(redis: &RedisServer) -> Arc<dyn Broker> {
        let config = RedisConfig::new(redis.url(), &tether_server::Limits::default());
        Arc::new(RedisBroker::new(config).expect("a redis URL"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replay_from_redis_meets_the_live_events_with_no_gap_and_no_repeat() {
        let redis = RedisServer::start();
        let (server, addr) = start_on(broker(&redis), Duration::from_millis(80)).await;
        let topic = Topic::new("t:1");
        let steady = Steady::start(&server, &topic);
        let since = steady.nth(10).await;
        let read = subscribe_and_read(&addr, &topic, Some(since), &steady, Some(200)).await;
        let want = read.after(since);
        assert!(want.len() > 100, "{} published after since", want.len());
        assert_eq!(read.got, want, "every event after since, once, in order");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_join_on_redis_without_since_continues_from_its_acknowledged_seq() {
        let redis = RedisServer::start();
        let (server, addr) = start_on(broker(&redis), Duration::from_millis(80)).await;
        let topic = Topic::new("t:1");
        let steady = Steady::start(&server, &topic);
        steady.nth(0).await;
        let read = subscribe_and_read(&addr, &topic, None, &steady, Some(200)).await;
        let want = read.after(read.acked);
        assert!(read.acked > 0 && want.len() > 100, "acked {}", read.acked);
        assert_eq!(
            read.got, want,
            "every event after the acknowledged seq, once, in order"
        );
    }
}
