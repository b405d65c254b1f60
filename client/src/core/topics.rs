//! The table of topics the app holds: a reference count per topic, its status, the last `seq`
//! delivered, and whether the current socket's server knows about it.
//!
//! Changes are not sent one by one. [`TopicTable::take_changes`] diffs what the app holds against
//! what the server has been told and returns one coalesced set of topics to subscribe (with
//! `since`) and one to unsubscribe. A subscribe and an unsubscribe of the same topic in one tick
//! cancel out and send nothing.

use std::collections::BTreeMap;

use crate::protocol::Topic;

/// The status of one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicStatus {
    /// Not yet acknowledged on the current socket (or no socket is open).
    Pending,
    /// Acknowledged by `subscribe_ack`.
    Active,
    /// Refused by `subscribe_error`; retried on the next connection.
    Failed {
        /// `NOT_FOUND`, `FORBIDDEN`, `INVALID_TOPIC`, `LIMIT`, …
        code: String,
        /// The server's explanation.
        error: String,
    },
}

#[derive(Clone, Debug)]
struct Entry {
    refs: u32,
    status: TopicStatus,
    last_seq: Option<u64>,
    on_server: bool,
}

/// What a flush must send.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Topics to subscribe, each with the last `seq` delivered, if any.
    pub subscribe: Vec<(Topic, Option<u64>)>,
    /// Topics to unsubscribe.
    pub unsubscribe: Vec<Topic>,
}

/// What to do with an event that carries a `seq`.
#[derive(Debug, PartialEq, Eq)]
pub enum SeqVerdict {
    /// Deliver it.
    Deliver,
    /// At or below the last delivered `seq`: drop as a duplicate.
    Duplicate,
    /// Nobody holds the topic (it was just dropped): discard.
    NotHeld,
}

/// Counts of held topics by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Waiting for an acknowledgement.
    pub pending: usize,
    /// Acknowledged.
    pub active: usize,
    /// Refused.
    pub failed: usize,
}

/// All topics the app holds.
#[derive(Debug, Default)]
pub struct TopicTable {
    entries: BTreeMap<Topic, Entry>,
    dirty: bool,
}

impl TopicTable {
    /// One more holder of `topic`. Returns true if the table now has changes to flush.
    pub fn acquire(&mut self, topic: &Topic) -> bool {
        let entry = self.entries.entry(topic.clone()).or_insert(Entry {
            refs: 0,
            status: TopicStatus::Pending,
            last_seq: None,
            on_server: false,
        });
        entry.refs += 1;
        let first = entry.refs == 1;
        self.mark_if(first)
    }

    /// One holder fewer. Returns true if the table now has changes to flush.
    pub fn release(&mut self, topic: &Topic) -> bool {
        let Some(entry) = self.entries.get_mut(topic) else {
            return false;
        };
        entry.refs = entry.refs.saturating_sub(1);
        let now_unheld = entry.refs == 0;
        self.mark_if(now_unheld)
    }

    fn mark_if(&mut self, changed: bool) -> bool {
        self.dirty |= changed;
        changed
    }

    /// True if a flush would send something.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The number of holders of `topic`.
    pub fn refs(&self, topic: &Topic) -> u32 {
        self.entries.get(topic).map_or(0, |e| e.refs)
    }

    /// True if anyone holds any topic.
    pub fn any_held(&self) -> bool {
        self.entries.values().any(|e| e.refs > 0)
    }

    /// The status of a held topic.
    pub fn status(&self, topic: &Topic) -> Option<&TopicStatus> {
        self.entries
            .get(topic)
            .filter(|e| e.refs > 0)
            .map(|e| &e.status)
    }

    /// The last `seq` delivered on `topic`.
    pub fn last_seq(&self, topic: &Topic) -> Option<u64> {
        self.entries.get(topic).and_then(|e| e.last_seq)
    }

    /// Every held topic with its status.
    pub fn statuses(&self) -> impl Iterator<Item = (&Topic, &TopicStatus)> {
        self.entries
            .iter()
            .filter(|(_, e)| e.refs > 0)
            .map(|(t, e)| (t, &e.status))
    }

    /// Held topics counted by status.
    pub fn counts(&self) -> StatusCounts {
        let mut c = StatusCounts::default();
        for (_, status) in self.statuses() {
            match status {
                TopicStatus::Pending => c.pending += 1,
                TopicStatus::Active => c.active += 1,
                TopicStatus::Failed { .. } => c.failed += 1,
            }
        }
        c
    }

    /// The coalesced changes since the last flush; marks them as told to the server.
    pub fn take_changes(&mut self) -> Changes {
        let mut changes = Changes::default();
        self.entries
            .retain(|topic, e| match (e.refs > 0, e.on_server) {
                (true, false) => {
                    e.on_server = true;
                    e.status = TopicStatus::Pending;
                    changes.subscribe.push((topic.clone(), e.last_seq));
                    true
                }
                (false, true) => {
                    changes.unsubscribe.push(topic.clone());
                    false
                }
                (false, false) => false,
                (true, true) => true,
            });
        self.dirty = false;
        changes
    }

    /// A new socket: the server knows nothing; everything held is pending and will be resent.
    pub fn reset_server_view(&mut self) {
        self.entries.retain(|_, e| e.refs > 0);
        for e in self.entries.values_mut() {
            e.on_server = false;
            e.status = TopicStatus::Pending;
        }
        self.dirty = !self.entries.is_empty();
    }

    /// Applies a `subscribe_ack` entry. Returns `Some(seq)` when the server's `seq` went backwards
    /// (its history was lost): the caller must tell the topic's handlers to resync.
    pub fn acknowledge(&mut self, topic: &Topic, server_seq: Option<u64>) -> Option<u64> {
        let e = self
            .entries
            .get_mut(topic)
            .filter(|e| e.on_server && e.refs > 0)?;
        e.status = TopicStatus::Active;
        let server_seq = server_seq?;
        match e.last_seq {
            None => {
                e.last_seq = Some(server_seq);
                None
            }
            Some(last) if server_seq < last => {
                e.last_seq = Some(server_seq);
                Some(server_seq)
            }
            Some(_) => None,
        }
    }

    /// Applies a `subscribe_error`.
    pub fn fail(&mut self, topic: &Topic, code: &str, error: &str) {
        if let Some(e) = self.entries.get_mut(topic).filter(|e| e.on_server) {
            e.status = TopicStatus::Failed {
                code: code.to_owned(),
                error: error.to_owned(),
            };
        }
    }

    /// Decides whether an event with `seq` on `topic` is delivered, and records it if so.
    pub fn admit(&mut self, topic: &Topic, seq: Option<u64>) -> SeqVerdict {
        let Some(e) = self.entries.get_mut(topic).filter(|e| e.refs > 0) else {
            return SeqVerdict::NotHeld;
        };
        match (seq, e.last_seq) {
            (Some(s), Some(last)) if s <= last => SeqVerdict::Duplicate,
            (Some(s), _) => {
                e.last_seq = Some(s);
                SeqVerdict::Deliver
            }
            (None, _) => SeqVerdict::Deliver,
        }
    }

    /// After `resync_required`: live events continue after `seq`.
    pub fn resync(&mut self, topic: &Topic, seq: u64) {
        if let Some(e) = self.entries.get_mut(topic) {
            e.last_seq = Some(seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Topic {
        s.parse().unwrap()
    }

    #[test]
    fn reference_counting_sends_one_subscribe_and_one_unsubscribe() {
        let mut table = TopicTable::default();
        assert!(table.acquire(&t("agent:1")));
        assert!(
            !table.acquire(&t("agent:1")),
            "a second holder changes nothing on the wire"
        );
        assert_eq!(table.take_changes().subscribe, vec![(t("agent:1"), None)]);
        assert!(!table.release(&t("agent:1")));
        assert_eq!(table.take_changes(), Changes::default());
        assert!(table.release(&t("agent:1")));
        assert_eq!(table.take_changes().unsubscribe, vec![t("agent:1")]);
        assert_eq!(table.refs(&t("agent:1")), 0);
    }

    #[test]
    fn subscribe_then_unsubscribe_in_one_tick_sends_nothing() {
        let mut table = TopicTable::default();
        table.acquire(&t("thread:3"));
        table.release(&t("thread:3"));
        assert_eq!(table.take_changes(), Changes::default());
    }

    #[test]
    fn duplicates_by_seq_are_dropped() {
        let mut table = TopicTable::default();
        table.acquire(&t("agent:1"));
        table.take_changes();
        assert_eq!(table.acknowledge(&t("agent:1"), Some(10)), None);
        assert_eq!(table.admit(&t("agent:1"), Some(10)), SeqVerdict::Duplicate);
        assert_eq!(table.admit(&t("agent:1"), Some(11)), SeqVerdict::Deliver);
        assert_eq!(table.admit(&t("agent:1"), Some(11)), SeqVerdict::Duplicate);
        assert_eq!(table.admit(&t("agent:1"), None), SeqVerdict::Deliver);
        assert_eq!(table.admit(&t("agent:2"), Some(1)), SeqVerdict::NotHeld);
    }

    #[test]
    fn a_server_whose_seq_went_backwards_asks_for_a_resync() {
        let mut table = TopicTable::default();
        table.acquire(&t("agent:1"));
        table.take_changes();
        table.acknowledge(&t("agent:1"), Some(50));
        table.reset_server_view();
        assert_eq!(
            table.take_changes().subscribe,
            vec![(t("agent:1"), Some(50))]
        );
        assert_eq!(table.acknowledge(&t("agent:1"), Some(3)), Some(3));
        assert_eq!(table.last_seq(&t("agent:1")), Some(3));
    }
}
