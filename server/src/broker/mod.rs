//! The broker: where each topic's events are numbered, kept for replay and fanned out to every
//! node. In the model of centrifuge's `Broker`: [`Broker::publish`] numbers an event and
//! returns its [`Publication`] (with its [`StreamPosition`]); [`Broker::history`] gives a
//! topic's kept publications after a `seq`, with its current position; a node subscribes to
//! the topics its clients hold ([`Broker::subscribe`]), and the broker hands every publication
//! of those topics, from any node, to the node's [`BrokerHandler`] (its hub).
//!
//! [`MemoryBroker`] is the default: one process, nothing to set up. [`redis::RedisBroker`]
//! (feature `redis`) is the distributed one: every node connects to one Redis.
//!
//! # The contract
//!
//! - **Numbering.** Per topic, `seq` starts at 1 in each epoch and grows by one per publication,
//!   assigned atomically (two publishers never get the same `seq`, and none is skipped).
//! - **Atomic save and fan-out, in order.** Keeping a publication in the history and handing it
//!   to the handlers is atomic per topic: whoever reads the history after `publish` returned
//!   sees it, and each node's handler gets a topic's publications once each, in `seq` order.
//!   A node that misses some (say while reconnecting to the broker) repairs what it can from the
//!   history, and calls [`BrokerHandler::handle_lost`] for what it cannot: no silent gap.
//! - **History.** Bounded (in events and bytes per topic, and over all); `history(topic, Some(n))`
//!   returns the publications after `n` that are still kept, oldest first (they start after
//!   `n + 1` when some were evicted), and the current position; `history(topic, None)` only the
//!   position. A topic never published has offset 0, in the epoch its first publication will
//!   have (a subscriber that joined before it is otherwise told to resync at its first event).
//! - **Epochs.** When a topic's stream is lost (a restart without persistence, an eviction),
//!   its next stream has another [`Epoch`](crate::Epoch), never one used before for that topic.
//! - **Subscriptions** are counted by the server ([`NodeTopics`]): `subscribe` is called when a
//!   topic gains its first member on this node, before its history is read; `unsubscribe`
//!   when it loses its last. Calls for one node are serialized.
//! - **Failures** are errors, never a silent loss: `publish` fails to its caller (saying whether
//!   the event may have been published all the same: [`BrokerError::Uncertain`]), a subscribe
//!   that cannot reach the broker closes the connection with 1013 (try again later), and the
//!   client comes back with `since` and is replayed what it missed.

mod memory;
#[cfg(feature = "redis")]
pub mod redis;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tether_wire::Topic;

use crate::hub::{Event, Publication, StreamPosition};
pub use memory::{MemoryBroker, ReplayLimits};

use crate::hub::Hub;

/// A boxed future, as [`Broker`]'s methods return (the trait is used as `dyn Broker`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a broker could not do what it was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// The broker cannot be reached or did not answer in time; the caller may retry.
    #[error("the broker is unavailable: {0}")]
    Unavailable(String),
    /// The call was sent but its answer was lost (a timeout, a connection dropped): it may
    /// have taken effect. A publish that fails so may have been published, once.
    #[error("the broker's answer was lost: {0}")]
    Uncertain(String),
    /// This broker does not offer the operation.
    #[error("the broker does not support {0}")]
    Unsupported(&'static str),
}

/// A topic's kept publications after some `seq`, and its current position.
#[derive(Clone, Debug)]
pub struct History {
    /// Oldest first.
    pub publications: Vec<Arc<Publication>>,
    /// The topic's current position.
    pub position: StreamPosition,
}

impl History {
    /// Whether the publications are exactly every one after `since`: none is missing (evicted)
    /// and `since` is not ahead of the stream.
    pub fn is_complete_after(&self, since: u64) -> bool {
        if since > self.position.offset {
            return false;
        }
        match self.publications.first() {
            None => since == self.position.offset,
            Some(first) => first.seq() == since + 1,
        }
    }
}

/// What a broker calls for each publication of a topic this node subscribed to.
pub trait BrokerHandler: Send + Sync + 'static {
    /// Handles one publication. Called once per publication, in `seq` order per topic; it must
    /// not wait (the hub queues without waiting).
    fn handle_publication(&self, publication: &Arc<Publication>);

    /// The node missed publications of `topic` up to `position` that the history cannot give
    /// back (a distributed broker lost them on their way, and its history trimmed or lost
    /// them): subscribers behind `position` are to be told to resync at once.
    fn handle_lost(&self, topic: &Topic, position: &StreamPosition);
}

impl BrokerHandler for Hub {
    fn handle_publication(&self, publication: &Arc<Publication>) {
        self.fan_out(publication);
    }

    fn handle_lost(&self, topic: &Topic, position: &StreamPosition) {
        self.skip_to(topic, position);
    }
}

/// Numbers, keeps and distributes each topic's events. See the module's documentation for the
/// contract every implementation keeps.
pub trait Broker: Send + Sync + 'static {
    /// Installs the handler of this node's publications. Called once, by the server, before
    /// anything else.
    fn start(&self, handler: Arc<dyn BrokerHandler>);

    /// Numbers `event` on `topic` (stamped `ts`), keeps it and hands it to the handlers of the
    /// nodes subscribed to `topic`; returns it with its position.
    fn publish(
        &self,
        topic: Topic,
        event: Event,
        ts: u64,
    ) -> BoxFuture<'_, Result<Arc<Publication>, BrokerError>>;

    /// The kept publications of `topic` after `since` (none without `since`), and its current
    /// position.
    fn history(
        &self,
        topic: Topic,
        since: Option<u64>,
    ) -> BoxFuture<'_, Result<History, BrokerError>>;

    /// This node starts receiving the publications of `topics`. Resolves once that holds: a
    /// publication made after it resolves reaches the handler.
    fn subscribe(&self, topics: Vec<Topic>) -> BoxFuture<'_, Result<(), BrokerError>>;

    /// This node stops receiving the publications of `topics`.
    fn unsubscribe(&self, topics: Vec<Topic>) -> BoxFuture<'_, Result<(), BrokerError>>;

    /// Forgets every topic's stream, as a store restarted without its data would: every `seq`
    /// starts again from 1, in a new epoch. Returns how many topics had a stream. For test
    /// servers (feature `faults`).
    #[cfg(feature = "faults")]
    fn lose_history(&self) -> BoxFuture<'_, Result<usize, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("lose_history")) })
    }
}

/// This node's subscriptions to the broker, counted per topic: the broker is asked to subscribe
/// a topic when its first holder on this node comes, and to unsubscribe it when the last one
/// goes. One lock serializes the calls, so a subscribe and an unsubscribe of one topic never
/// race.
pub struct NodeTopics {
    broker: Arc<dyn Broker>,
    counts: tokio::sync::Mutex<HashMap<Topic, usize>>,
}

impl std::fmt::Debug for NodeTopics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeTopics").finish_non_exhaustive()
    }
}

impl NodeTopics {
    /// No subscriptions yet, to `broker`.
    pub fn new(broker: Arc<dyn Broker>) -> Self {
        NodeTopics {
            broker,
            counts: tokio::sync::Mutex::default(),
        }
    }

    /// Counts one more holder of each topic (distinct topics); subscribes the node to those it
    /// had none of. On an error nothing is counted.
    pub async fn acquire(&self, topics: &[Topic]) -> Result<(), BrokerError> {
        let mut counts = self.counts.lock().await;
        let fresh: Vec<Topic> = topics
            .iter()
            .filter(|t| !counts.contains_key(*t))
            .cloned()
            .collect();
        if !fresh.is_empty() {
            self.broker.subscribe(fresh).await?;
        }
        for topic in topics {
            *counts.entry(topic.clone()).or_default() += 1;
        }
        Ok(())
    }

    /// Counts one holder less of each topic; unsubscribes the node from those it has none of
    /// left. A failed unsubscribe is logged: the node then receives events nobody here holds,
    /// which the hub drops.
    pub async fn release(&self, topics: &[Topic]) {
        let mut counts = self.counts.lock().await;
        let mut gone = Vec::new();
        for topic in topics {
            if let Some(count) = counts.get_mut(topic) {
                *count -= 1;
                if *count == 0 {
                    counts.remove(topic);
                    gone.push(topic.clone());
                }
            }
        }
        if gone.is_empty() {
            return;
        }
        if let Err(error) = self.broker.unsubscribe(gone).await {
            tracing::warn!(%error, "could not unsubscribe this node from topics");
        }
    }
}
