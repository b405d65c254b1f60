//! Topics: each has its own `seq`, a bounded ring of its last events for replay, and its
//! subscribers. Publishing encodes an event once, with its `seq`, keeps it and fans it out
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
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tether::protocol::Topic;

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
    subscribers: HashMap<ConnId, SendQueue>,
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
}

/// Every topic of the server.
#[derive(Debug)]
pub struct Hub {
    inner: Mutex<Topics>,
    replay_capacity: usize,
    profile: Profile,
    /// Drawn at start: with the epoch, it names the history's incarnation across processes.
    boot: u64,
}

impl Hub {
    /// A hub keeping the last `replay_capacity` events of each topic, announcing domain events
    /// in the shapes of `profile`.
    pub fn new(replay_capacity: usize, profile: Profile) -> Self {
        Hub {
            inner: Mutex::default(),
            replay_capacity,
            profile,
            boot: rand::random(),
        }
    }

    /// Takes the hub's lock.
    pub fn lock(&self) -> HubGuard<'_> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        HubGuard {
            inner,
            replay_capacity: self.replay_capacity,
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
    replay_capacity: usize,
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
        let Topics { topics, log, epoch } = &mut *self.inner;
        let state = topics.entry(topic.clone()).or_default();
        state.seq += 1;
        let seq = state.seq;
        let ts = now_ms();
        let echo = echo.filter(|o| !state.subscribers.contains_key(&o.id()));
        log.record(LogEntry {
            epoch: *epoch,
            topic: topic.clone(),
            seq,
            kind: event.kind,
            id: event.id,
            ts,
        });
        let plain_now = state
            .subscribers
            .values()
            .chain(echo)
            .any(|o| !o.extended());
        let envelope = wire::event_envelope(topic, event, ts, Some(seq));
        let published = Arc::new(Published::encode(envelope, seq, plain_now));
        if self.replay_capacity > 0 {
            state.recent.push_back(published.clone());
            while state.recent.len() > self.replay_capacity {
                state.recent.pop_front();
            }
        }
        state
            .subscribers
            .retain(|_, queue| queue.deliver_event(&published) != Delivery::Gone);
        if let Some(echo) = echo {
            echo.deliver_event(&published);
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

    /// The logged events of `topic`, oldest first, with the current epoch and how many entries
    /// (of any topic) the log has evicted.
    pub fn published(&self, topic: &Topic) -> (Vec<LogEntry>, u64, u64) {
        let inner = &self.inner;
        (inner.log.of(topic), inner.epoch, inner.log.evicted())
    }
}

#[cfg(test)]
mod tests;
