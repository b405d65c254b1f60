//! Topics: each has its own `seq`, a bounded ring of its last events for replay, and its
//! subscribers. Publishing encodes an event once, with its `seq`, keeps it and fans it out
//! with non-blocking deliveries; a subscriber without tether's extensions gets the same frame
//! without `seq`, encoded at most once per event and only if such a subscriber exists.
//!
//! Everything happens under one lock, exposed as [`HubGuard`], so that a subscriber can join
//! several topics, get its replay and queue its whole subscribe reply atomically with respect
//! to publishing: nothing is skipped or repeated between replay and live events. The hub also
//! keeps a bounded log of what it published, the ground truth test control serves.

use axum::extract::ws::Utf8Bytes;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tether::protocol::{Envelope, Topic};

use crate::auth::UserId;
use crate::clock::now_ms;
use crate::config::Profile;
use crate::outbox::{ConnId, Delivery, Outbox};
use crate::wire::{self, DomainEvent, Event};

/// How many entries the publish log keeps, over all topics; older ones are evicted.
pub const PUBLISH_LOG_CAPACITY: usize = 100_000;

/// One published event, encoded.
#[derive(Debug)]
pub struct Published {
    /// Its number on its topic.
    pub seq: u64,
    /// With `seq`, for connections that asked for tether's extensions.
    text: Utf8Bytes,
    /// Without `seq`, for the others; made when first needed.
    plain: OnceLock<Utf8Bytes>,
}

impl Published {
    /// The frame for a connection with (`true`) or without tether's extensions.
    pub fn text_for(&self, extended: bool) -> Utf8Bytes {
        if extended {
            return self.text.clone();
        }
        self.plain.get_or_init(|| without_seq(&self.text)).clone()
    }
}

/// The same frame without its `seq` (the frame itself if it somehow does not decode).
fn without_seq(text: &str) -> Utf8Bytes {
    match Envelope::decode(text) {
        Ok(mut envelope) => {
            envelope.seq = None;
            envelope.encode().into()
        }
        Err(_) => text.into(),
    }
}

/// One topic's state.
#[derive(Debug, Default)]
struct TopicLog {
    seq: u64,
    recent: VecDeque<Arc<Published>>,
    subscribers: HashMap<ConnId, Outbox>,
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
                .map(|p| p.text.clone())
                .collect(),
        )
    }

    /// The subscribers of `user`, or all of them.
    fn subscribers_of(&self, user: Option<UserId>) -> impl Iterator<Item = &Outbox> {
        self.subscribers
            .values()
            .filter(move |o| user.is_none_or(|u| o.user() == u))
    }
}

/// One entry of the publish log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Which history it belongs to: 0 at start, plus one per restart that lost history.
    pub epoch: u64,
    /// The topic.
    pub topic: Topic,
    /// Its `seq` on the topic, in its epoch.
    pub seq: u64,
    /// Its `type`.
    pub kind: &'static str,
    /// The id of its payload (agent, run, thread or message), if it has one.
    pub id: Option<u64>,
    /// When it was published, ms since the Unix epoch.
    pub ts: u64,
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

/// How many frames a fault queued, and on how many sockets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Redelivered {
    /// Frames queued.
    pub frames: usize,
    /// Distinct sockets that got at least one.
    pub sockets: usize,
    /// Topics that had something to send.
    pub topics: usize,
}

#[derive(Debug, Default)]
struct Topics {
    topics: HashMap<Topic, TopicLog>,
    log: VecDeque<LogEntry>,
    evicted: u64,
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
        echo: Option<&Outbox>,
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
    pub fn publish(&mut self, topic: &Topic, event: Event, echo: Option<&Outbox>) -> u64 {
        let Topics {
            topics,
            log,
            evicted,
            epoch,
        } = &mut *self.inner;
        let state = topics.entry(topic.clone()).or_default();
        state.seq += 1;
        let seq = state.seq;
        let ts = now_ms();
        let echo = echo.filter(|o| !state.subscribers.contains_key(&o.id()));
        log.push_back(LogEntry {
            epoch: *epoch,
            topic: topic.clone(),
            seq,
            kind: event.kind,
            id: event.id,
            ts,
        });
        if log.len() > PUBLISH_LOG_CAPACITY {
            log.pop_front();
            *evicted += 1;
        }
        let mut envelope = wire::event_envelope(topic, event, ts, Some(seq));
        let published = Published {
            seq,
            text: envelope.encode().into(),
            plain: OnceLock::new(),
        };
        let needs_plain = state
            .subscribers
            .values()
            .chain(echo)
            .any(|o| !o.extended());
        if needs_plain {
            envelope.seq = None;
            let _ = published.plain.set(envelope.encode().into());
        }
        let published = Arc::new(published);
        if self.replay_capacity > 0 {
            state.recent.push_back(published.clone());
            while state.recent.len() > self.replay_capacity {
                state.recent.pop_front();
            }
        }
        state
            .subscribers
            .retain(|_, outbox| outbox.deliver_event(&published) != Delivery::Gone);
        if let Some(echo) = echo {
            echo.deliver_event(&published);
        }
        seq
    }

    /// Adds a subscriber (again, harmlessly, if it holds the topic); returns the topic's `seq`
    /// and what the subscriber must be sent to catch up from `since`.
    pub fn join(&mut self, topic: &Topic, outbox: &Outbox, since: Option<u64>) -> (u64, Catchup) {
        let log = self.inner.topics.entry(topic.clone()).or_default();
        log.subscribers.insert(outbox.id(), outbox.clone());
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

    /// Sends the last `count` buffered events of every topic again to its current subscribers
    /// (of `user`, or all), as an at-least-once server would after a failover.
    pub fn redeliver(&mut self, count: usize, user: Option<UserId>) -> Redelivered {
        self.resend(user, |recent| {
            let skip = recent.len().saturating_sub(count);
            recent.iter().skip(skip).cloned().collect()
        })
    }

    /// For every topic with at least two buffered events, sends the one before the last again
    /// to its current subscribers (of `user`, or all): an older event after a newer one.
    pub fn reorder(&mut self, user: Option<UserId>) -> Redelivered {
        self.resend(user, |recent| {
            let len = recent.len();
            if len < 2 {
                return Vec::new();
            }
            recent.get(len - 2).cloned().into_iter().collect()
        })
    }

    fn resend(
        &mut self,
        user: Option<UserId>,
        pick: impl Fn(&VecDeque<Arc<Published>>) -> Vec<Arc<Published>>,
    ) -> Redelivered {
        let mut done = Redelivered::default();
        let mut sockets = std::collections::HashSet::new();
        for log in self.inner.topics.values() {
            let events = pick(&log.recent);
            let mut any = false;
            for outbox in log.subscribers_of(user) {
                for event in &events {
                    if outbox.deliver_event(event) != Delivery::Gone {
                        done.frames += 1;
                        any = true;
                        sockets.insert(outbox.id());
                    }
                }
            }
            done.topics += usize::from(any);
        }
        done.sockets = sockets.len();
        done
    }

    /// Forgets every topic's history, as a server restarted without persistence would: every
    /// `seq` back to 0, the replay buffers emptied, a new publish-log epoch. Subscribers stay
    /// until their connections end. Returns how many topics had a history.
    pub fn lose_history(&mut self) -> usize {
        self.inner.epoch += 1;
        let mut reset = 0;
        for log in self.inner.topics.values_mut() {
            reset += usize::from(log.seq > 0);
            log.seq = 0;
            log.recent.clear();
        }
        reset
    }

    /// The logged events of `topic`, oldest first, with the current epoch and how many entries
    /// (of any topic) the log has evicted.
    pub fn published(&self, topic: &Topic) -> (Vec<LogEntry>, u64, u64) {
        let entries = self
            .inner
            .log
            .iter()
            .filter(|e| &e.topic == topic)
            .cloned()
            .collect();
        (entries, self.inner.epoch, self.inner.evicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::Outbound;
    use crate::stats::Stats;

    fn event() -> Event {
        Event::new("agent_updated", &serde_json::json!({"id": 1}), Some(1))
    }

    fn seqs(frames: &[Utf8Bytes]) -> Vec<u64> {
        frames
            .iter()
            .map(|t| Envelope::decode(t).expect("valid").seq.expect("has seq"))
            .collect()
    }

    fn queue(id: ConnId, extended: bool) -> (Outbox, tokio::sync::mpsc::Receiver<Outbound>) {
        Outbox::new(id, 1, 8, extended, Arc::new(Stats::default()))
    }

    fn drain(rx: &mut tokio::sync::mpsc::Receiver<Outbound>) -> Vec<Envelope> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .flat_map(|o| match o {
                Outbound::Frame(f) => vec![f],
                Outbound::Batch(b) => b,
            })
            .map(|t| Envelope::decode(&t).expect("valid"))
            .collect()
    }

    #[test]
    fn replays_exactly_what_is_buffered() {
        let hub = Hub::new(3, Profile::Tether);
        let topic = Topic::agent(1);
        for _ in 0..5 {
            hub.publish(&topic, event());
        }
        let (outbox, _rx) = queue(1, true);
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
    fn fans_out_each_in_its_dialect_and_echoes_only_to_non_subscribers() {
        let hub = Hub::new(10, Profile::Tether);
        let (member, mut member_rx) = queue(1, true);
        let (plain, mut plain_rx) = queue(2, false);
        let (sender, mut sender_rx) = queue(3, false);
        let topic = Topic::thread(10);
        hub.lock().join(&topic, &member, None);
        hub.lock().join(&topic, &plain, None);
        hub.lock().publish(&topic, event(), Some(&sender));
        hub.lock().publish(&topic, event(), Some(&member));
        let member_got = drain(&mut member_rx);
        assert_eq!(
            member_got.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [Some(1), Some(2)]
        );
        let plain_got = drain(&mut plain_rx);
        assert_eq!(
            plain_got.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [None, None]
        );
        assert_eq!(plain_got[0].ts, member_got[0].ts, "the same frame bar seq");
        assert_eq!(drain(&mut sender_rx).len(), 1);
        assert_eq!(hub.subscriber_counts()["thread:10"], 2);
    }

    #[test]
    fn the_plain_text_is_made_lazily() {
        let hub = Hub::new(10, Profile::Tether);
        let (member, _rx) = queue(1, true);
        hub.lock().join(&Topic::agent(1), &member, None);
        hub.publish(&Topic::agent(1), event());
        let guard = hub.lock();
        let published = &guard.inner.topics[&Topic::agent(1)].recent[0];
        assert!(
            published.plain.get().is_none(),
            "no plain subscriber, no plain text"
        );
        let plain = Envelope::decode(&published.text_for(false)).expect("valid");
        assert_eq!(plain.seq, None);
    }

    #[test]
    fn reorder_sends_the_one_before_last_and_history_can_be_lost() {
        let hub = Hub::new(10, Profile::Tether);
        let (member, mut rx) = queue(1, true);
        let topic = Topic::agent(1);
        hub.lock().join(&topic, &member, None);
        for _ in 0..3 {
            hub.publish(&topic, event());
        }
        hub.publish(&Topic::agent(3), event());
        drain(&mut rx);
        let done = hub.lock().reorder(None);
        assert_eq!((done.frames, done.sockets, done.topics), (1, 1, 1));
        assert_eq!(drain(&mut rx)[0].seq, Some(2));
        assert_eq!(hub.lock().reorder(Some(2)), Redelivered::default());
        assert_eq!(hub.lock().lose_history(), 2);
        assert_eq!(hub.seq(&topic), 0);
        assert_eq!(hub.publish(&topic, event()), 1);
        let (entries, epoch, evicted) = hub.lock().published(&topic);
        let logged: Vec<(u64, u64)> = entries.iter().map(|e| (e.epoch, e.seq)).collect();
        assert_eq!(logged, [(0, 1), (0, 2), (0, 3), (1, 1)]);
        assert_eq!((epoch, evicted), (1, 0));
    }
}
