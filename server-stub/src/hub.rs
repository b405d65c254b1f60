//! Topics: each has its own `seq`, a bounded ring of its last events for replay, and its
//! subscribers. Publishing encodes an event once, numbers it, keeps it and fans it out with
//! non-blocking deliveries.
//!
//! Everything happens under one lock, exposed as [`HubGuard`], so that a subscriber can join
//! several topics, get its replay and queue its whole subscribe reply atomically with respect
//! to publishing: nothing is skipped or repeated between replay and live events.

use axum::extract::ws::Utf8Bytes;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use tether::protocol::{ServerFrame, Topic};

use crate::clock::now_ms;
use crate::outbox::{ConnId, Delivery, Outbox};

/// One topic's state.
#[derive(Debug, Default)]
struct TopicLog {
    seq: u64,
    recent: VecDeque<Utf8Bytes>,
    subscribers: HashMap<ConnId, Outbox>,
}

impl TopicLog {
    /// The events after `since`, if they are all still buffered.
    fn events_after(&self, since: u64) -> Option<Vec<Utf8Bytes>> {
        let missed = self.seq.checked_sub(since)?;
        let missed = usize::try_from(missed).ok()?;
        let skip = self.recent.len().checked_sub(missed)?;
        Some(self.recent.iter().skip(skip).cloned().collect())
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

/// Every topic of the server.
#[derive(Debug)]
pub struct Hub {
    topics: Mutex<HashMap<Topic, TopicLog>>,
    replay_capacity: usize,
}

impl Hub {
    /// A hub keeping the last `replay_capacity` events of each topic.
    pub fn new(replay_capacity: usize) -> Self {
        Hub {
            topics: Mutex::default(),
            replay_capacity,
        }
    }

    /// Takes the hub's lock.
    pub fn lock(&self) -> HubGuard<'_> {
        let topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        HubGuard {
            topics,
            replay_capacity: self.replay_capacity,
        }
    }

    /// Publishes one event; returns its `seq`.
    pub fn publish(&self, topic: &Topic, frame: ServerFrame) -> u64 {
        self.lock().publish(topic, frame, None)
    }

    /// The current `seq` of a topic (0 if nothing was published on it yet).
    pub fn seq(&self, topic: &Topic) -> u64 {
        self.lock().seq(topic)
    }

    /// How many connections hold each topic that has any.
    pub fn subscriber_counts(&self) -> BTreeMap<String, usize> {
        let guard = self.lock();
        guard
            .topics
            .iter()
            .filter(|(_, log)| !log.subscribers.is_empty())
            .map(|(topic, log)| (topic.to_string(), log.subscribers.len()))
            .collect()
    }
}

/// The hub, locked.
pub struct HubGuard<'h> {
    topics: MutexGuard<'h, HashMap<Topic, TopicLog>>,
    replay_capacity: usize,
}

impl HubGuard<'_> {
    /// The current `seq` of a topic.
    pub fn seq(&self, topic: &Topic) -> u64 {
        self.topics.get(topic).map_or(0, |log| log.seq)
    }

    /// Numbers, keeps and fans out one event; returns its `seq`. `echo` also gets it when it
    /// does not hold the topic (the sender of a `send_message`).
    pub fn publish(&mut self, topic: &Topic, frame: ServerFrame, echo: Option<&Outbox>) -> u64 {
        let log = self.topics.entry(topic.clone()).or_default();
        log.seq += 1;
        let seq = log.seq;
        let ts = if frame.ts == 0 { now_ms() } else { frame.ts };
        let text = Utf8Bytes::from(
            frame
                .with_topic(topic.to_string())
                .with_seq(seq)
                .with_ts(ts)
                .encode(),
        );
        if self.replay_capacity > 0 {
            log.recent.push_back(text.clone());
            while log.recent.len() > self.replay_capacity {
                log.recent.pop_front();
            }
        }
        log.subscribers
            .retain(|_, outbox| outbox.deliver_frame(text.clone()) != Delivery::Gone);
        if let Some(echo) = echo.filter(|o| !log.subscribers.contains_key(&o.id())) {
            echo.deliver_frame(text);
        }
        seq
    }

    /// Adds a subscriber (again, harmlessly, if it holds the topic); returns the topic's `seq`
    /// and what the subscriber must be sent to catch up from `since`.
    pub fn join(&mut self, topic: &Topic, outbox: &Outbox, since: Option<u64>) -> (u64, Catchup) {
        let log = self.topics.entry(topic.clone()).or_default();
        log.subscribers.insert(outbox.id(), outbox.clone());
        let catchup = match since {
            None => Catchup::Snapshot,
            Some(since) => log
                .events_after(since)
                .map_or(Catchup::Resync, Catchup::Replay),
        };
        (log.seq, catchup)
    }

    /// Sends the last `count` buffered events of every topic again to its current subscribers,
    /// as an at-least-once server would after a failover; returns how many frames were queued.
    pub fn redeliver(&mut self, count: usize) -> usize {
        let mut queued = 0;
        for log in self.topics.values() {
            let skip = log.recent.len().saturating_sub(count);
            for text in log.recent.iter().skip(skip) {
                for outbox in log.subscribers.values() {
                    if outbox.deliver_frame(text.clone()) != Delivery::Gone {
                        queued += 1;
                    }
                }
            }
        }
        queued
    }

    /// Removes a subscriber from a topic.
    pub fn leave(&mut self, topic: &Topic, conn: ConnId) {
        if let Some(log) = self.topics.get_mut(topic) {
            log.subscribers.remove(&conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::Outbound;
    use crate::stats::Stats;
    use std::sync::Arc;
    use tether::protocol::model::Empty;
    use tether::protocol::{Frame, ServerMessage};

    fn event() -> ServerFrame {
        Frame::new(ServerMessage::Ping(Empty {}))
    }

    fn seqs(frames: &[Utf8Bytes]) -> Vec<u64> {
        frames
            .iter()
            .map(|t| ServerFrame::decode(t).expect("valid").seq.expect("has seq"))
            .collect()
    }

    #[test]
    fn replays_exactly_what_is_buffered() {
        let hub = Hub::new(3);
        let topic = Topic::Agent(1);
        for _ in 0..5 {
            hub.publish(&topic, event());
        }
        let (outbox, _rx) = Outbox::new(1, 1, 8, Arc::new(Stats::default()));
        let mut guard = hub.lock();
        let replay = |g: &mut HubGuard<'_>, since| g.join(&topic, &outbox, Some(since)).1;
        assert!(matches!(replay(&mut guard, 3), Catchup::Replay(f) if seqs(&f) == [4, 5]));
        assert!(matches!(replay(&mut guard, 2), Catchup::Replay(f) if seqs(&f) == [3, 4, 5]));
        assert_eq!(replay(&mut guard, 5), Catchup::Replay(vec![]));
        assert_eq!(replay(&mut guard, 1), Catchup::Resync);
        assert_eq!(replay(&mut guard, 6), Catchup::Resync);
        assert_eq!(guard.join(&topic, &outbox, None), (5, Catchup::Snapshot));
    }

    #[test]
    fn fans_out_and_echoes_only_to_non_subscribers() {
        let hub = Hub::new(10);
        let stats = Arc::new(Stats::default());
        let (member, mut member_rx) = Outbox::new(1, 1, 8, stats.clone());
        let (sender, mut sender_rx) = Outbox::new(2, 1, 8, stats);
        let topic = Topic::Thread(10);
        hub.lock().join(&topic, &member, None);
        hub.lock().publish(&topic, event(), Some(&sender));
        hub.lock().publish(&topic, event(), Some(&member));
        let got = |rx: &mut tokio::sync::mpsc::Receiver<Outbound>| {
            std::iter::from_fn(|| rx.try_recv().ok()).count()
        };
        assert_eq!(got(&mut member_rx), 2);
        assert_eq!(got(&mut sender_rx), 1);
        assert_eq!(hub.subscriber_counts()["thread:10"], 1);
    }
}
