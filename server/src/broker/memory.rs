//! The in-memory broker: one process, nothing to set up. Each topic's stream has its `seq`, a
//! ring of its last publications bounded in events and bytes, and an epoch; the rings are
//! bounded in bytes over all topics too (the oldest publication of any topic goes first), and
//! the streams in number (the least recently published topic is forgotten first, and comes
//! back in a new epoch).
//!
//! Everything happens under one lock, the handler's call included, so that numbering, keeping
//! and fan-out are atomic and in `seq` order per topic.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tether_wire::Topic;

use super::{BoxFuture, Broker, BrokerError, BrokerHandler, Event, History, Publication};
use crate::hub::{Epoch, StreamPosition};
use crate::limits::Limits;

/// How much the memory broker keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayLimits {
    /// Publications per topic (0: no replay).
    pub events: usize,
    /// Bytes per topic.
    pub topic_bytes: usize,
    /// Bytes over all topics.
    pub total_bytes: usize,
    /// Topics whose stream is kept.
    pub topics: usize,
}

impl From<&Limits> for ReplayLimits {
    fn from(limits: &Limits) -> Self {
        ReplayLimits {
            events: limits.replay_capacity,
            topic_bytes: limits.replay_topic_bytes,
            total_bytes: limits.replay_total_bytes,
            topics: limits.replay_topics,
        }
    }
}

/// One topic's stream.
#[derive(Debug)]
struct Stream {
    seq: u64,
    epoch: Epoch,
    /// The kept publications, each with its order among all publications.
    recent: VecDeque<(u64, Arc<Publication>)>,
    /// The bytes of `recent`.
    bytes: usize,
    /// The order of its last publication.
    touched: u64,
}

/// Every stream, and what bounds them.
#[derive(Debug, Default)]
struct Streams {
    streams: HashMap<Topic, Stream>,
    /// Bumped when every stream is lost.
    generation: u64,
    /// Streams forgotten to make room.
    evictions: u64,
    next_order: u64,
    /// The bytes of every ring.
    total: usize,
    /// The oldest kept publication of each topic, by order.
    fronts: BTreeSet<(u64, Topic)>,
    /// Each topic by the order of its last publication.
    recency: BTreeSet<(u64, Topic)>,
}

/// The in-memory [`Broker`].
pub struct MemoryBroker {
    state: Mutex<Streams>,
    limits: ReplayLimits,
    /// Drawn at start: with the generation, it names a stream's epoch across processes.
    boot: u64,
    handler: OnceLock<Arc<dyn BrokerHandler>>,
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBroker")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl MemoryBroker {
    /// A broker keeping what `limits` allow.
    pub fn new(limits: impl Into<ReplayLimits>) -> Self {
        MemoryBroker {
            state: Mutex::default(),
            limits: limits.into(),
            boot: rand::random(),
            handler: OnceLock::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Streams> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bytes the rings keep, over all topics.
    pub fn replay_bytes(&self) -> usize {
        self.lock().total
    }

    /// Numbers, keeps and hands out one event; returns its publication.
    pub fn publish_now(&self, topic: &Topic, event: Event, ts: u64) -> Arc<Publication> {
        let mut state = self.lock();
        let order = state.next_order;
        state.next_order += 1;
        if !state.streams.contains_key(topic) {
            self.make_room(&mut state);
            let stream = Stream {
                seq: 0,
                epoch: self.new_epoch(&state),
                recent: VecDeque::new(),
                bytes: 0,
                touched: order,
            };
            state.streams.insert(topic.clone(), stream);
        }
        let Streams {
            streams, recency, ..
        } = &mut *state;
        let Some(stream) = streams.get_mut(topic) else {
            unreachable!("the stream was just made")
        };
        stream.seq += 1;
        recency.remove(&(stream.touched, topic.clone()));
        stream.touched = order;
        recency.insert((order, topic.clone()));
        let position = StreamPosition {
            offset: stream.seq,
            epoch: stream.epoch.clone(),
        };
        let publication = Arc::new(Publication::new(topic, event, position, ts));
        if self.limits.events > 0 {
            keep(&mut state, topic, order, publication.clone(), self.limits);
        }
        if let Some(handler) = self.handler.get() {
            handler.handle_publication(&publication);
        }
        publication
    }

    /// The history of `topic` after `since`, now.
    pub fn history_now(&self, topic: &Topic, since: Option<u64>) -> History {
        let state = self.lock();
        let Some(stream) = state.streams.get(topic) else {
            let position = StreamPosition {
                offset: 0,
                epoch: self.new_epoch(&state),
            };
            return History {
                publications: Vec::new(),
                position,
            };
        };
        let publications = since.map_or_else(Vec::new, |since| {
            stream
                .recent
                .iter()
                .map(|(_, p)| p)
                .skip_while(|p| p.seq() <= since)
                .cloned()
                .collect()
        });
        History {
            publications,
            position: StreamPosition {
                offset: stream.seq,
                epoch: stream.epoch.clone(),
            },
        }
    }

    /// Forgets every stream (a store restarted without its data); returns how many there were.
    pub fn lose_history_now(&self) -> usize {
        let mut state = self.lock();
        let lost = state.streams.len();
        let generation = state.generation + 1;
        *state = Streams {
            generation,
            ..Streams::default()
        };
        lost
    }

    /// The epoch a stream made now gets: the boot and generation, and, once streams have been
    /// forgotten to make room, how many, so that a forgotten topic never gets its old epoch.
    fn new_epoch(&self, state: &Streams) -> Epoch {
        match state.evictions {
            0 => Epoch::new(format!("{:x}.{}", self.boot, state.generation)),
            n => Epoch::new(format!("{:x}.{}.{n}", self.boot, state.generation)),
        }
    }

    /// Forgets the least recently published streams until one more fits.
    fn make_room(&self, state: &mut Streams) {
        while state.streams.len() >= self.limits.topics.max(1) {
            let Some((_, topic)) = state.recency.pop_first() else {
                return;
            };
            if let Some(stream) = state.streams.remove(&topic) {
                state.total -= stream.bytes;
                if let Some((order, _)) = stream.recent.front() {
                    state.fronts.remove(&(*order, topic));
                }
                state.evictions += 1;
            }
        }
    }
}

/// Keeps `publication` in `topic`'s ring, then evicts the oldest past the limits.
fn keep(
    state: &mut Streams,
    topic: &Topic,
    order: u64,
    publication: Arc<Publication>,
    limits: ReplayLimits,
) {
    let Streams {
        streams,
        total,
        fronts,
        ..
    } = state;
    let Some(stream) = streams.get_mut(topic) else {
        return;
    };
    let old_front = stream.recent.front().map(|(o, _)| *o);
    *total += publication.bytes();
    stream.bytes += publication.bytes();
    stream.recent.push_back((order, publication));
    while stream.recent.len() > limits.events || stream.bytes > limits.topic_bytes {
        let Some((_, gone)) = stream.recent.pop_front() else {
            break;
        };
        stream.bytes -= gone.bytes();
        *total -= gone.bytes();
    }
    if let Some(order) = old_front {
        fronts.remove(&(order, topic.clone()));
    }
    if let Some((front, _)) = stream.recent.front() {
        fronts.insert((*front, topic.clone()));
    }
    while *total > limits.total_bytes {
        let Some((_, oldest)) = fronts.pop_first() else {
            break;
        };
        let Some(stream) = streams.get_mut(&oldest) else {
            continue;
        };
        if let Some((_, gone)) = stream.recent.pop_front() {
            stream.bytes -= gone.bytes();
            *total -= gone.bytes();
        }
        if let Some((front, _)) = stream.recent.front() {
            fronts.insert((*front, oldest));
        }
    }
}

impl Broker for MemoryBroker {
    fn start(&self, handler: Arc<dyn BrokerHandler>) {
        if self.handler.set(handler).is_err() {
            tracing::warn!("a memory broker was started twice: the first handler stays");
        }
    }

    fn publish(
        &self,
        topic: Topic,
        event: Event,
        ts: u64,
    ) -> BoxFuture<'_, Result<Arc<Publication>, BrokerError>> {
        let publication = self.publish_now(&topic, event, ts);
        Box::pin(async move { Ok(publication) })
    }

    fn history(
        &self,
        topic: Topic,
        since: Option<u64>,
    ) -> BoxFuture<'_, Result<History, BrokerError>> {
        let history = self.history_now(&topic, since);
        Box::pin(async move { Ok(history) })
    }

    fn subscribe(&self, _: Vec<Topic>) -> BoxFuture<'_, Result<(), BrokerError>> {
        // Every publication of this process reaches the hub, which drops those of topics it
        // has no member of.
        Box::pin(async { Ok(()) })
    }

    fn unsubscribe(&self, _: Vec<Topic>) -> BoxFuture<'_, Result<(), BrokerError>> {
        Box::pin(async { Ok(()) })
    }

    #[cfg(feature = "faults")]
    fn lose_history(&self) -> BoxFuture<'_, Result<usize, BrokerError>> {
        let lost = self.lose_history_now();
        Box::pin(async move { Ok(lost) })
    }
}

#[cfg(test)]
mod tests;
