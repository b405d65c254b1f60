//! Topics: each has its own `seq`, a bounded ring of its last events for replay, and its
//! subscribers. The rings are bounded in events and in bytes per topic, and in bytes over all
//! topics, the oldest events of any topic going first. Publishing encodes an event once, with its `seq`, keeps it and fans it out
//! with non-blocking deliveries; a subscriber without tether's extensions gets the same frame
//! without `seq`, encoded at most once per event and only if such a subscriber exists.
//!
//! Everything happens under one lock, exposed as [`HubGuard`], so that a subscriber can join
//! several topics, get its replay and queue its whole subscribe reply atomically with respect
//! to publishing: nothing is skipped or repeated between replay and live events. The hub also
//! keeps a bounded log of what it published, the ground truth test control serves.

mod faults;
mod log;

use axum::extract::ws::Utf8Bytes;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tether_wire::Topic;

pub use faults::Redelivered;
pub use log::{LogEntry, PublishLog, Published, PUBLISH_LOG_CAPACITY};

use crate::auth::UserId;
use crate::clock::now_ms;
use crate::config::Profile;
use crate::domain::wire::{self, DomainEvent, Event};
use crate::ws::send_queue::{ConnId, Delivery, SendQueue};

/// One topic's state.
#[derive(Debug, Default)]
struct TopicLog {
    seq: u64,
    recent: VecDeque<Arc<Published>>,
    /// The bytes of `recent`.
    bytes: usize,
    subscribers: HashMap<ConnId, SendQueue>,
}

/// How much the replay buffers keep.
#[derive(Clone, Copy, Debug)]
pub struct ReplayLimits {
    /// Events per topic (0: no replay).
    pub events: usize,
    /// Bytes per topic.
    pub topic_bytes: usize,
    /// Bytes over all topics.
    pub total_bytes: usize,
}

/// The replay buffers' byte count over all topics, and the oldest kept event of each topic.
#[derive(Debug, Default)]
struct ReplayBytes {
    total: usize,
    fronts: BTreeSet<(u64, Topic)>,
    next_order: u64,
}

impl TopicLog {
    /// The events after `since`, if they are all still buffered.
    fn events_after(&self, since: u64) -> Option<Vec<Utf8Bytes>> {
        let missed = self.seq.checked_sub(since)?;
        let missed = usize::try_from(missed).ok()?;
        let skip = self.recent.len().checked_sub(missed)?;
        Some(
            self.recent
                .iter()
                .skip(skip)
                .map(|p| p.text_for(true))
                .collect(),
        )
    }

    /// The subscribers of `user`, or all of them.
    fn subscribers_of(&self, user: Option<UserId>) -> impl Iterator<Item = &SendQueue> {
        self.subscribers
            .values()
            .filter(move |o| user.is_none_or(|u| o.user() == u))
    }
}

/// What a joining subscriber must be sent for one topic, after the `subscribe_ack`.
#[derive(Debug, PartialEq)]
pub enum Catchup {
    /// No `since` was given: send the topic's snapshot, if it has one.
    Snapshot,
    /// Exactly the events after `since`, in order.
    Replay(Vec<Utf8Bytes>),
    /// Some of them were evicted, or `since` is ahead: send `resync_required`.
    Resync,
}

#[derive(Debug, Default)]
struct Topics {
    topics: HashMap<Topic, TopicLog>,
    log: PublishLog,
    epoch: u64,
    replay: ReplayBytes,
}

impl Topics {
    /// Keeps `event` for replay on `topic`, then evicts the oldest events past the limits.
    fn keep(&mut self, topic: &Topic, event: Arc<Published>, limits: ReplayLimits) {
        let Topics { topics, replay, .. } = self;
        let Some(log) = topics.get_mut(topic) else {
            return;
        };
        let old_front = log.recent.front().map(|p| p.order);
        replay.total += event.bytes();
        log.bytes += event.bytes();
        log.recent.push_back(event);
        while log.recent.len() > limits.events || log.bytes > limits.topic_bytes {
            let Some(gone) = log.recent.pop_front() else {
                break;
            };
            log.bytes -= gone.bytes();
            replay.total -= gone.bytes();
        }
        if let Some(order) = old_front {
            replay.fronts.remove(&(order, topic.clone()));
        }
        if let Some(front) = log.recent.front() {
            replay.fronts.insert((front.order, topic.clone()));
        }
        while replay.total > limits.total_bytes {
            let Some((_, oldest)) = replay.fronts.pop_first() else {
                break;
            };
            let Some(log) = topics.get_mut(&oldest) else {
                continue;
            };
            if let Some(gone) = log.recent.pop_front() {
                log.bytes -= gone.bytes();
                replay.total -= gone.bytes();
            }
            if let Some(front) = log.recent.front() {
                replay.fronts.insert((front.order, oldest));
            }
        }
    }

    /// Empties every replay buffer.
    fn forget_replay(&mut self) {
        for log in self.topics.values_mut() {
            log.recent.clear();
            log.bytes = 0;
        }
        self.replay.total = 0;
        self.replay.fronts.clear();
    }
}

/// Every topic of the server.
#[derive(Debug)]
pub struct Hub {
    inner: Mutex<Topics>,
    limits: ReplayLimits,
    profile: Profile,
    /// Drawn at start: with the epoch, it names the history's incarnation across processes.
    boot: u64,
}

impl Hub {
    /// A hub keeping the last `replay_capacity` events of each topic (with no byte limit),
    /// announcing domain events in the shapes of `profile`.
    pub fn new(replay_capacity: usize, profile: Profile) -> Self {
        let limits = ReplayLimits {
            events: replay_capacity,
            topic_bytes: usize::MAX,
            total_bytes: usize::MAX,
        };
        Hub::with_limits(limits, profile)
    }

    /// A hub whose replay buffers keep what `limits` allow.
    pub fn with_limits(limits: ReplayLimits, profile: Profile) -> Self {
        Hub {
            inner: Mutex::default(),
            limits,
            profile,
            boot: rand::random(),
        }
    }

    /// Takes the hub's lock.
    pub fn lock(&self) -> HubGuard<'_> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        HubGuard {
            inner,
            limits: self.limits,
            profile: self.profile,
            boot: self.boot,
        }
    }

    /// Publishes one event; returns its `seq`.
    pub fn publish(&self, topic: &Topic, event: Event) -> u64 {
        self.lock().publish(topic, event, None)
    }

    /// The current `seq` of a topic (0 if nothing was published on it yet).
    pub fn seq(&self, topic: &Topic) -> u64 {
        self.lock().seq(topic)
    }

    /// How many connections hold each topic that has any.
    pub fn subscriber_counts(&self) -> BTreeMap<String, usize> {
        let guard = self.lock();
        guard
            .inner
            .topics
            .iter()
            .filter(|(_, log)| !log.subscribers.is_empty())
            .map(|(topic, log)| (topic.to_string(), log.subscribers.len()))
            .collect()
    }
}

/// The hub, locked.
pub struct HubGuard<'h> {
    inner: MutexGuard<'h, Topics>,
    limits: ReplayLimits,
    profile: Profile,
    boot: u64,
}

impl HubGuard<'_> {
    /// Publishes `event` on `topic` in the server's profile; returns its `seq`, or `None` when
    /// the profile has no such message.
    pub fn announce(&mut self, topic: &Topic, event: &DomainEvent<'_>) -> Option<u64> {
        self.announce_to(topic, event, None, None)
    }

    /// Like [`HubGuard::announce`], answering `req_id`, and echoed to `echo` when it does not
    /// hold the topic.
    pub fn announce_to(
        &mut self,
        topic: &Topic,
        event: &DomainEvent<'_>,
        req_id: Option<String>,
        echo: Option<&SendQueue>,
    ) -> Option<u64> {
        let event = wire::encode(self.profile, event)?.with_req_id(req_id);
        Some(self.publish(topic, event, echo))
    }

    /// The current `seq` of a topic.
    pub fn seq(&self, topic: &Topic) -> u64 {
        self.inner.topics.get(topic).map_or(0, |log| log.seq)
    }

    /// The history's incarnation, as `subscribe_ack` reports it: it changes when the history
    /// is lost (a restart of the process, or one that loses history), so that a client whose
    /// `seq` the new history has already passed still notices.
    pub fn epoch_id(&self) -> String {
        format!("{:x}.{}", self.boot, self.inner.epoch)
    }

    /// Numbers, stamps, keeps, logs and fans out one event; returns its `seq`. `echo` also gets
    /// it when it does not hold the topic (the sender of a `send_message`).
    pub fn publish(&mut self, topic: &Topic, event: Event, echo: Option<&SendQueue>) -> u64 {
        let Topics {
            topics,
            log,
            epoch,
            replay,
        } = &mut *self.inner;
        let order = replay.next_order;
        replay.next_order += 1;
        let state = topics.entry(topic.clone()).or_default();
        state.seq += 1;
        let seq = state.seq;
        let ts = now_ms();
        let echo = echo.filter(|o| !state.subscribers.contains_key(&o.id()));
        log.record(LogEntry {
            epoch: *epoch,
            topic: topic.clone(),
            seq,
            kind: event.kind.clone(),
            id: event.id,
            ts,
        });
        let plain_now = state
            .subscribers
            .values()
            .chain(echo)
            .any(|o| !o.extended());
        let envelope = wire::event_envelope(topic, event, ts, Some(seq));
        let published = Arc::new(Published::encode(envelope, seq, order, plain_now));
        state
            .subscribers
            .retain(|_, queue| queue.deliver_event(&published) != Delivery::Gone);
        if let Some(echo) = echo {
            echo.deliver_event(&published);
        }
        if self.limits.events > 0 {
            self.inner.keep(topic, published, self.limits);
        }
        seq
    }

    /// Adds a subscriber (again, harmlessly, if it holds the topic); returns the topic's `seq`
    /// and what the subscriber must be sent to catch up from `since`.
    pub fn join(&mut self, topic: &Topic, queue: &SendQueue, since: Option<u64>) -> (u64, Catchup) {
        let log = self.inner.topics.entry(topic.clone()).or_default();
        log.subscribers.insert(queue.id(), queue.clone());
        let catchup = match since {
            None => Catchup::Snapshot,
            Some(since) => log
                .events_after(since)
                .map_or(Catchup::Resync, Catchup::Replay),
        };
        (log.seq, catchup)
    }

    /// Removes a subscriber from a topic.
    pub fn leave(&mut self, topic: &Topic, conn: ConnId) {
        if let Some(log) = self.inner.topics.get_mut(topic) {
            log.subscribers.remove(&conn);
        }
    }

    /// The bytes the replay buffers keep, over all topics.
    pub fn replay_bytes(&self) -> usize {
        self.inner.replay.total
    }

    /// The logged events of `topic`, oldest first, with the current epoch and how many entries
    /// (of any topic) the log has evicted.
    pub fn published(&self, topic: &Topic) -> (Vec<LogEntry>, u64, u64) {
        let inner = &self.inner;
        (inner.log.of(topic), inner.epoch, inner.log.evicted())
    }
}

#[cfg(test)]
mod tests;
