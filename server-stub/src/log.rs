//! The publish log: the bounded ground truth of what was published on which topic, recorded
//! from what the library's `Publisher` returned, which test control serves
//! (`GET /api/test/published`). Each entry carries the stub's own history epoch: 0 at start,
//! plus one per restart that lost the history, and its place among every entry of the log.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use tether_wire::Topic;

/// How many entries the publish log keeps, over all topics; older ones are evicted.
pub const PUBLISH_LOG_CAPACITY: usize = 100_000;

/// One entry of the publish log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its place in the whole log: 1 for the first event published on any topic, and so on.
    pub n: u64,
    /// Which history it belongs to: 0 at start, plus one per restart that lost history.
    pub epoch: u64,
    /// The topic.
    pub topic: Topic,
    /// Its `seq` on the topic, in its epoch.
    pub seq: u64,
    /// Its `type`.
    pub kind: Cow<'static, str>,
    /// The id of its payload (agent, run, thread or message), if it has one.
    pub id: Option<u64>,
    /// When it was published, ms since the Unix epoch.
    pub ts: u64,
}

/// The last [`PUBLISH_LOG_CAPACITY`] events published, of every topic.
#[derive(Debug, Default)]
pub struct PublishLog {
    entries: VecDeque<LogEntry>,
    evicted: u64,
    epoch: u64,
    /// Every entry recorded so far, evicted or not.
    recorded: u64,
    /// The stub's epoch of each broker epoch seen, per topic.
    epochs: HashMap<(Topic, String), u64>,
}

impl PublishLog {
    /// Records one event published in the broker's epoch `broker_epoch`, numbering it (its
    /// `n`), and evicting the oldest entry when full.
    pub fn record(&mut self, mut entry: LogEntry, broker_epoch: &str) {
        self.recorded += 1;
        entry.n = self.recorded;
        self.epochs
            .entry((entry.topic.clone(), broker_epoch.to_owned()))
            .or_insert(entry.epoch);
        self.entries.push_back(entry);
        if self.entries.len() > PUBLISH_LOG_CAPACITY {
            self.entries.pop_front();
            self.evicted += 1;
        }
    }

    /// The entries of `topic`, oldest first.
    pub fn of(&self, topic: &Topic) -> Vec<LogEntry> {
        self.entries
            .iter()
            .filter(|e| &e.topic == topic)
            .cloned()
            .collect()
    }

    /// The history epoch now.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The history was lost: later entries are in the next epoch.
    pub fn new_epoch(&mut self) {
        self.epoch += 1;
    }

    /// How many entries were ever recorded (the `n` of the last one).
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// The stub's epoch of `topic`'s broker epoch `broker_epoch`: the one its events were
    /// logged in, or, for an epoch none was published in yet, the current one.
    pub fn epoch_of(&self, topic: &Topic, broker_epoch: &str) -> u64 {
        let key = (topic.clone(), broker_epoch.to_owned());
        self.epochs.get(&key).copied().unwrap_or(self.epoch)
    }

    /// How many entries (of any topic) were evicted.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}
