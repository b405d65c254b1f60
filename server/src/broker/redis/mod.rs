//! The Redis broker (feature `redis`): every node of an app connects to one Redis, which
//! numbers each topic's events, keeps its replay log and fans its events out to every node.
//! Nodes share nothing else.
//!
//! - **Numbering, keeping and fan-out** happen in one Lua script per publication (module `store`):
//!   the `seq` (per topic, from 1 in each epoch), the entry in the topic's log (a stream
//!   bounded in entries and bytes, trimmed oldest first), and the message on the topic's
//!   channel, atomically and in `seq` order.
//! - **Distribution** (module `node`): a node subscribes to the channels of the topics its clients
//!   hold, on one pub/sub connection, and hands each publication to its hub once, in order. A
//!   gap (a broken connection, a restart) is repaired from the log; what the log cannot give
//!   back is announced to the subscribers behind with `resync_required`.
//! - **Epochs**: a topic's epoch is drawn at random (128 bits) when its meta is made: at its
//!   first publication or history read, and again whenever the meta is gone (expired, evicted,
//!   or lost with Redis's data). A lost log never comes back in an epoch it had.
//!
//! # When Redis is unreachable
//!
//! - `publish` fails to its caller ([`BrokerError::Unavailable`]: not published), or, if the
//!   call was sent and its answer lost (a timeout, a connection dropped mid-call),
//!   [`BrokerError::Uncertain`]: it may have been. Either way nothing is published twice.
//! - A `subscribe` that needs a topic this node does not hold yet, or a history read, fails: the
//!   session closes the connection with 1013 (try again later), and the client comes back with
//!   backoff and `since`, and is replayed what it missed.
//! - Connections already subscribed stay open; when the pub/sub connection comes back, the node
//!   subscribes again and repairs every held topic from its log.
//!
//! # When Redis restarts
//!
//! With its data (persistence on): nothing is lost; the node repairs what it missed from the
//! logs. Without its data: each topic gets a new epoch at its next use; its subscribers are told
//! `resync_required` (at the repair, or at the next event), and a client resuming with `since`
//! from the old epoch is told the same. Never a silent loss, never a duplicate.
//!
//! # Bounds
//!
//! Each topic's log is bounded in entries and bytes ([`RedisConfig::events`],
//! [`RedisConfig::topic_bytes`]); a topic's meta and log expire [`RedisConfig::ttl`] after its
//! last publication. The total is Redis's to bound (`maxmemory`; an evicted key is a lost
//! stream, so a new epoch, never a silent loss).

mod node;
mod store;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tether_wire::Topic;
use tokio_util::sync::CancellationToken;

pub use node::NodeCounters;

use super::{BoxFuture, Broker, BrokerError, BrokerHandler, Event, History, Publication};
use crate::limits::Limits;
use node::Node;
use store::Store;

/// How the Redis broker connects, and what it keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// Redis's URL: `redis://[user:password@]host:port[/db]`.
    pub url: String,
    /// The prefix of every key and channel (default `tether`): apps sharing a Redis use
    /// different ones.
    pub prefix: String,
    /// Publications kept per topic (0: no replay).
    pub events: usize,
    /// Bytes of frames kept per topic.
    pub topic_bytes: usize,
    /// How long a topic's log and epoch live after its last publication (`None`: until
    /// Redis evicts them). Default: one day.
    pub ttl: Option<Duration>,
    /// How long one call to Redis may take, connecting included, before it fails.
    pub timeout: Duration,
    /// How often the pub/sub connection is pinged, so that a silent one is found dead.
    pub ping_interval: Duration,
}

impl RedisConfig {
    /// Redis at `url`, keeping what `limits` allow per topic (its `replay_capacity` and
    /// `replay_topic_bytes`).
    pub fn new(url: impl Into<String>, limits: &Limits) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: "tether".into(),
            events: limits.replay_capacity,
            topic_bytes: limits.replay_topic_bytes,
            ttl: Some(Duration::from_secs(24 * 3600)),
            timeout: Duration::from_secs(2),
            ping_interval: Duration::from_secs(5),
        }
    }
}

/// The Redis [`Broker`]. Make it within a tokio runtime; it connects when first used, and
/// keeps reconnecting while Redis is away.
pub struct RedisBroker {
    store: Store,
    node: Arc<Node>,
    stop: CancellationToken,
}

impl std::fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroker").finish_non_exhaustive()
    }
}

impl RedisBroker {
    /// A broker on the Redis `config` names. Fails only if the URL is not one; Redis itself
    /// may be down (calls fail until it is back).
    pub fn new(config: RedisConfig) -> Result<Self, BrokerError> {
        let invalid =
            |e: redis::RedisError| BrokerError::Unavailable(format!("{}: {e}", config.url));
        let client = redis::Client::open(config.url.as_str()).map_err(invalid)?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        let conn =
            ConnectionManager::new_lazy_with_config(client.clone(), manager).map_err(invalid)?;
        let (timeout, ping) = (config.timeout, config.ping_interval);
        let store = Store::new(conn, Arc::new(config));
        Ok(RedisBroker {
            node: Arc::new(Node::new(store.clone(), client, timeout, ping)),
            store,
            stop: CancellationToken::new(),
        })
    }

    /// What this node counted: pub/sub connections made and lost, topics repaired.
    pub fn counters(&self) -> NodeCounters {
        *self.node.counters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for RedisBroker {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Broker for RedisBroker {
    fn start(&self, handler: Arc<dyn BrokerHandler>) {
        self.node.start(handler, self.stop.clone());
    }

    fn publish(
        &self,
        topic: Topic,
        event: Event,
        ts: u64,
    ) -> BoxFuture<'_, Result<Arc<Publication>, BrokerError>> {
        Box::pin(async move { self.store.publish(&topic, event, ts).await })
    }

    fn history(
        &self,
        topic: Topic,
        since: Option<u64>,
    ) -> BoxFuture<'_, Result<History, BrokerError>> {
        Box::pin(async move { self.store.history(&topic, since).await })
    }

    fn subscribe(&self, topics: Vec<Topic>) -> BoxFuture<'_, Result<(), BrokerError>> {
        Box::pin(self.node.subscribe(topics))
    }

    fn unsubscribe(&self, topics: Vec<Topic>) -> BoxFuture<'_, Result<(), BrokerError>> {
        Box::pin(self.node.unsubscribe(topics))
    }

    #[cfg(feature = "faults")]
    fn lose_history(&self) -> BoxFuture<'_, Result<usize, BrokerError>> {
        Box::pin(self.store.forget_all())
    }
}
