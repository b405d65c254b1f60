//! The table of topics the app holds: a reference count per topic, its status, the last `seq`
//! delivered, whether the current socket's server was told about it, and whether it was ever
//! active (a later activation without replay must then resync).
//!
//! Changes are not sent one by one. [`TopicTable::take_changes`] diffs what the app holds against
//! what the server has been told and returns one coalesced set of topics to subscribe (with
//! `since`) and one to unsubscribe. A subscribe and an unsubscribe of the same topic in one tick
//! cancel out and send nothing.

use super::topic_map::TopicMap;
use crate::protocol::Topic;

/// The status of one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicStatus {
    /// Not yet active on the current socket (or no socket is open).
    Pending,
    /// The server confirmed it: by `subscribe_ack`, or, from a server without acks, by
    /// answering a ping sent after the `subscribe`.
    Active,
    /// Refused by the server; retried on the next connection.
    Failed {
        /// `NOT_FOUND`, `FORBIDDEN`, `INVALID_TOPIC`, `LIMIT`, … (the origin sends a sentence).
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
    /// The server's history incarnation `last_seq` belongs to, when it says.
    epoch: Option<String>,
    on_server: bool,
    ever_active: bool,
    /// Subscribed again on a live socket to replay from an earlier `seq`: until the answer to
    /// that `subscribe`, events are held back (the replay brings them again, in order).
    rewinding: bool,
    /// The `message_id` of the latest `subscribe` of the topic: an acknowledgement of an
    /// earlier one does not activate it.
    awaiting: Option<String>,
    /// The server's `seq` in its latest acknowledgement.
    server_seq: Option<u64>,
    /// Mounted after a reload with a position too old to resume from: its activation tells
    /// the handlers to resync.
    #[cfg(feature = "resume")]
    stale: bool,
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
    /// Deliver it; `gap` when its `seq` skipped ahead of the last one delivered.
    Deliver {
        /// It skipped at least one `seq`.
        gap: bool,
    },
    /// At or below the last delivered `seq`, or held back while a replay is on its way (it
    /// will bring the event again): drop as a duplicate.
    Duplicate,
    /// Nobody holds the topic (it was just dropped): discard.
    NotHeld,
}

/// What an activation means for the topic's handlers.
#[derive(Debug, PartialEq, Eq)]
pub enum Activation {
    /// Not held, or not subscribed on this socket: ignore.
    Ignored,
    /// Active; events after `seq` follow.
    Active {
        /// The last `seq` delivered (or the server's, for a new topic).
        seq: Option<u64>,
        /// Events may have been missed that will not be replayed: the handlers must resync,
        /// from `seq` when known.
        resync: bool,
        /// The resync is because the server lost its history (a new epoch, or its `seq` below
        /// the last one delivered): what it had before may be gone.
        history_lost: bool,
    },
}

/// Counts of held topics by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Waiting for the server.
    pub pending: usize,
    /// Confirmed.
    pub active: usize,
    /// Refused.
    pub failed: usize,
}

/// All topics the app holds.
#[derive(Debug, Default)]
pub struct TopicTable {
    entries: TopicMap<Entry>,
    dirty: bool,
}

impl TopicTable {
    /// One more holder of `topic`. Returns true if the table now has changes to flush.
    pub fn acquire(&mut self, topic: &Topic) -> bool {
        let entry = self.entries.get_or_insert_with(topic, || Entry {
            refs: 0,
            status: TopicStatus::Pending,
            last_seq: None,
            epoch: None,
            on_server: false,
            ever_active: false,
            rewinding: false,
            awaiting: None,
            server_seq: None,
            #[cfg(feature = "resume")]
            stale: false,
        });
        entry.refs += 1;
        let first = entry.refs == 1;
        self.dirty |= first;
        first
    }

    /// Asks for the events of a held topic after `since`: if the table's last `seq` is later
    /// (or unknown), it moves back to `since` and the topic is subscribed again with it, so the
    /// server replays them. Returns true if the table now has changes to flush.
    pub fn rewind(&mut self, topic: &Topic, since: u64) -> bool {
        let Some(e) = self.entries.get_mut(topic.as_str()).filter(|e| e.refs > 0) else {
            return false;
        };
        if e.last_seq.is_some_and(|last| last <= since) {
            return false;
        }
        e.last_seq = Some(since);
        e.on_server = false;
        e.status = TopicStatus::Pending;
        e.rewinding = true;
        self.dirty = true;
        true
    }

    /// A topic just acquired starts from a position stored before a reload: it is subscribed
    /// with `since = seq`, and its acknowledgement checks `epoch` like a reconnect's. A topic
    /// that already has a position (it was held in this page) keeps its own.
    #[cfg(feature = "resume")]
    pub fn start_from(&mut self, topic: &Topic, seq: u64, epoch: Option<String>) {
        if let Some(e) = self.fresh(topic) {
            e.last_seq = Some(seq);
            e.epoch = epoch;
            e.ever_active = true;
        }
    }

    /// A topic just acquired had a stored position too old to trust: its activation tells the
    /// handlers to resync.
    #[cfg(feature = "resume")]
    pub fn start_stale(&mut self, topic: &Topic) {
        if let Some(e) = self.fresh(topic) {
            e.stale = true;
        }
    }

    #[cfg(feature = "resume")]
    fn fresh(&mut self, topic: &Topic) -> Option<&mut Entry> {
        self.entries
            .get_mut(topic.as_str())
            .filter(|e| !e.on_server && !e.ever_active && e.last_seq.is_none())
    }

    /// Every held topic with a position: its name, last `seq` and epoch.
    #[cfg(feature = "resume")]
    pub fn positions(&self) -> impl Iterator<Item = (&str, u64, Option<&str>)> {
        self.entries
            .iter()
            .filter(|(_, e)| e.refs > 0)
            .filter_map(|(t, e)| Some((t.as_str(), e.last_seq?, e.epoch.as_deref())))
    }

    /// A pending topic the server was told about is to be subscribed again at the next flush
    /// (its `subscribe` was refused for a topic that cannot be told apart). Returns true if it
    /// was.
    pub fn subscribe_again(&mut self, topic: &Topic) -> bool {
        let Some(e) = self.subscribed(topic) else {
            return false;
        };
        if e.status != TopicStatus::Pending {
            return false;
        }
        e.on_server = false;
        self.dirty = true;
        true
    }

    /// A `subscribe` of `topic` went out with `message_id`: only its answer activates it.
    pub fn sent(&mut self, topic: &Topic, message_id: &str) {
        if let Some(e) = self.entries.get_mut(topic.as_str()) {
            e.awaiting = Some(message_id.to_owned());
        }
    }

    /// The server's `seq` for `topic` in its latest acknowledgement.
    pub fn server_seq(&self, topic: &Topic) -> Option<u64> {
        self.held(topic).and_then(|e| e.server_seq)
    }

    /// One holder fewer. Returns true if the table now has changes to flush.
    pub fn release(&mut self, topic: &Topic) -> bool {
        let Some(entry) = self.entries.get_mut(topic.as_str()).filter(|e| e.refs > 0) else {
            return false;
        };
        entry.refs -= 1;
        let now_unheld = entry.refs == 0;
        self.dirty |= now_unheld;
        now_unheld
    }

    /// True if a flush would send something.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The number of holders of `topic`.
    #[cfg(test)]
    pub fn refs(&self, topic: &Topic) -> u32 {
        self.entries.get(topic.as_str()).map_or(0, |e| e.refs)
    }

    /// True if anyone holds any topic.
    pub fn any_held(&self) -> bool {
        self.entries.values().any(|e| e.refs > 0)
    }

    /// The held topic of this name (the table's, so that its name is shared, not copied).
    pub fn held_topic(&self, name: &str) -> Option<Topic> {
        let (topic, _) = self.entries.get_key_value(name)?;
        self.held(topic).map(|_| topic.clone())
    }

    /// The status of a held topic.
    pub fn status(&self, topic: &Topic) -> Option<&TopicStatus> {
        self.held(topic).map(|e| &e.status)
    }

    /// The last `seq` delivered on `topic`.
    pub fn last_seq(&self, topic: &Topic) -> Option<u64> {
        self.entries.get(topic.as_str()).and_then(|e| e.last_seq)
    }

    /// The history epoch the server last gave for `topic`, if it gives them.
    pub fn epoch(&self, topic: &Topic) -> Option<&str> {
        self.entries
            .get(topic.as_str())
            .and_then(|e| e.epoch.as_deref())
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
            e.rewinding = false;
            e.awaiting = None;
        }
        self.dirty = !self.entries.is_empty();
    }

    /// Applies a `subscribe_ack` entry with the server's current `seq` and history `epoch`. A
    /// server `seq` below the last one delivered, or another epoch, means the server lost its
    /// history: the handlers resync from the server's `seq`. An acknowledgement without a `seq`
    /// (a topic the server does not number) cannot replay a gap: a topic that was active before
    /// resyncs, as on a server without acknowledgements.
    pub fn acknowledge(
        &mut self,
        topic: &Topic,
        message_id: Option<&str>,
        server_seq: Option<u64>,
        epoch: Option<&str>,
    ) -> Activation {
        let Some(e) = self.subscribed(topic) else {
            return Activation::Ignored;
        };
        let superseded =
            matches!((message_id, e.awaiting.as_deref()), (Some(got), Some(want)) if got != want);
        if superseded {
            return Activation::Ignored;
        }
        e.rewinding = false;
        e.server_seq = server_seq;
        #[cfg(feature = "resume")]
        let stale = std::mem::take(&mut e.stale);
        #[cfg(not(feature = "resume"))]
        let stale = false;
        let was_active = e.ever_active;
        e.status = TopicStatus::Active;
        e.ever_active = true;
        let new_epoch = matches!((&e.epoch, epoch), (Some(old), Some(new)) if old != new);
        if epoch.is_some() {
            e.epoch = epoch.map(str::to_owned);
        }
        let history_lost = matches!(
            (e.last_seq, server_seq),
            (Some(last), Some(server)) if server < last || new_epoch
        );
        let resync = match (e.last_seq, server_seq) {
            (Some(_), Some(server)) if history_lost => {
                e.last_seq = Some(server);
                true
            }
            (None, Some(server)) => {
                e.last_seq = Some(server);
                false
            }
            (_, None) => was_active,
            _ => false,
        } || stale;
        Activation::Active {
            seq: e.last_seq,
            resync,
            history_lost,
        }
    }

    /// Activates a topic on a server that neither acknowledges nor replays: if it was active
    /// on an earlier socket, the events of the gap are gone and the handlers must resync.
    pub fn activate_without_replay(&mut self, topic: &Topic) -> Activation {
        let Some(e) = self.subscribed(topic) else {
            return Activation::Ignored;
        };
        if e.status != TopicStatus::Pending {
            return Activation::Ignored;
        }
        #[cfg(feature = "resume")]
        let resync = e.ever_active || std::mem::take(&mut e.stale);
        #[cfg(not(feature = "resume"))]
        let resync = e.ever_active;
        e.status = TopicStatus::Active;
        e.ever_active = true;
        e.rewinding = false;
        Activation::Active {
            seq: e.last_seq,
            resync,
            history_lost: false,
        }
    }

    /// Applies a refusal. Returns false if the topic is not held or not subscribed.
    pub fn fail(&mut self, topic: &Topic, code: &str, error: &str) -> bool {
        let Some(e) = self.subscribed(topic) else {
            return false;
        };
        e.status = TopicStatus::Failed {
            code: code.to_owned(),
            error: error.to_owned(),
        };
        true
    }

    /// Where the held topic `name` is (an index for [`TopicTable::admit_at`], valid until a
    /// topic is added or removed), the topic (the table's, so that its name is shared), and
    /// whether it is still pending: what an event on `name` needs, in one lookup.
    pub fn find_held(&self, name: &str) -> Option<(usize, Topic, bool)> {
        let index = self.entries.index(name)?;
        let (topic, e) = self.entries.at(index).filter(|(_, e)| e.refs > 0)?;
        Some((index, topic.clone(), e.status == TopicStatus::Pending))
    }

    /// Decides whether an event with `seq` on `topic` is delivered, and records it if so.
    #[cfg(test)]
    pub fn admit(&mut self, topic: &Topic, seq: Option<u64>) -> SeqVerdict {
        match self.entries.index(topic.as_str()) {
            Some(index) => self.admit_at(index, seq),
            None => SeqVerdict::NotHeld,
        }
    }

    /// [`TopicTable::admit`] for the topic at `index` (from [`TopicTable::find_held`]).
    pub fn admit_at(&mut self, index: usize, seq: Option<u64>) -> SeqVerdict {
        let Some(e) = self.entries.at_mut(index).filter(|e| e.refs > 0) else {
            return SeqVerdict::NotHeld;
        };
        match (seq, e.last_seq) {
            (Some(_), _) if e.rewinding => SeqVerdict::Duplicate,
            (Some(s), Some(last)) if s <= last => SeqVerdict::Duplicate,
            (Some(s), last) => {
                e.last_seq = Some(s);
                SeqVerdict::Deliver {
                    gap: last.is_some_and(|l| s > l + 1),
                }
            }
            (None, _) => SeqVerdict::Deliver { gap: false },
        }
    }

    /// After `resync_required`: live events continue after `seq`. Returns false if not held.
    pub fn resync(&mut self, topic: &Topic, seq: Option<u64>, epoch: Option<&str>) -> bool {
        let Some(e) = self.entries.get_mut(topic.as_str()).filter(|e| e.refs > 0) else {
            return false;
        };
        if seq.is_some() {
            e.last_seq = seq;
        }
        if let Some(epoch) = epoch {
            e.epoch = Some(epoch.to_owned());
        }
        true
    }

    fn held(&self, topic: &Topic) -> Option<&Entry> {
        self.entries.get(topic.as_str()).filter(|e| e.refs > 0)
    }

    fn subscribed(&mut self, topic: &Topic) -> Option<&mut Entry> {
        self.entries
            .get_mut(topic.as_str())
            .filter(|e| e.on_server && e.refs > 0)
    }
}

#[cfg(test)]
mod tests;
