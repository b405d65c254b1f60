//! The membership log: how the server answered each topic of each `subscribe` (from which
//! `since`, with a snapshot, a replay or a resync, at which position, and the oldest `seq` it
//! still kept), and when each connection let go of topics, each stamped with the publish log's
//! count at that moment. Test control serves it (`GET /api/test/subscriptions`): the chaos
//! check takes a view's start from it (not from what the client reports) and allows a resync
//! only where it shows that the missed events were evicted or lost with the history.
//!
//! [`Recorder`] is the server's observer that fills it.

use std::collections::VecDeque;
use std::sync::Weak;

use serde::Serialize;
use tether_server::{Answered, CatchUp, Observe};
use tether_wire::Topic;

use crate::auth::UserId;
use crate::state::{ServerState, Shared};

/// How many entries the membership log keeps; older ones are evicted.
pub const MEMBERSHIP_LOG_CAPACITY: usize = 100_000;

/// What happened to one connection's topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A `subscribe` was answered.
    Answered {
        /// The `since` it asked with (and the server used).
        since: Option<u64>,
        /// `snapshot`, `replay` or `resync`.
        catch_up: &'static str,
        /// The stub's history epoch of the position.
        epoch: u64,
        /// The position's `seq`: live events follow it.
        seq: u64,
        /// With `since`: the oldest `seq` after it still kept for replay.
        first_kept: Option<u64>,
    },
    /// The connection let go of it (unsubscribed, or ended).
    Released,
}

/// One entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MembershipEntry {
    /// Its place in the log: 1, 2, …
    pub n: u64,
    /// The user.
    pub user: UserId,
    /// The connection.
    pub connection: u64,
    /// The topic.
    pub topic: Topic,
    /// How many events the publish log had recorded (over all topics) when it happened.
    pub published: u64,
    /// What happened.
    #[serde(flatten)]
    pub change: Change,
}

/// The last [`MEMBERSHIP_LOG_CAPACITY`] entries.
#[derive(Debug, Default)]
pub struct MembershipLog {
    entries: VecDeque<MembershipEntry>,
    recorded: u64,
}

impl MembershipLog {
    /// Records an entry, numbering it.
    fn record(&mut self, mut entry: MembershipEntry) {
        self.recorded += 1;
        entry.n = self.recorded;
        self.entries.push_back(entry);
        if self.entries.len() > MEMBERSHIP_LOG_CAPACITY {
            self.entries.pop_front();
        }
    }

    /// The entries of `user` (all users without), oldest first.
    pub fn of(&self, user: Option<UserId>) -> Vec<MembershipEntry> {
        self.entries
            .iter()
            .filter(|e| user.is_none_or(|u| e.user == u))
            .cloned()
            .collect()
    }

    /// How many entries were ever recorded.
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// How many were evicted.
    pub fn evicted(&self) -> u64 {
        self.recorded - self.entries.len() as u64
    }
}

/// The observer that fills the state's membership log.
pub struct Recorder {
    /// The state (weak: it holds the server that holds this).
    pub state: Weak<Shared>,
}

impl Recorder {
    fn record(
        &self,
        user: UserId,
        connection: u64,
        topic: &Topic,
        change: impl FnOnce(&ServerState) -> Change,
    ) {
        let Some(state) = ServerState::upgrade(&self.state) else {
            return;
        };
        let published = state
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .recorded();
        let change = change(&state);
        let entry = MembershipEntry {
            n: 0,
            user,
            connection,
            topic: topic.clone(),
            published,
            change,
        };
        let mut log = state.membership.lock().unwrap_or_else(|e| e.into_inner());
        log.record(entry);
    }
}

impl Observe<UserId> for Recorder {
    fn answered(&self, a: &Answered<'_, UserId>) {
        self.record(*a.user, a.connection, a.topic, |state| {
            let log = state.log.lock().unwrap_or_else(|e| e.into_inner());
            Change::Answered {
                since: a.since,
                catch_up: match a.catch_up {
                    CatchUp::Snapshot => "snapshot",
                    CatchUp::Replay => "replay",
                    CatchUp::Resync => "resync",
                },
                epoch: log.epoch_of(a.topic, a.position.epoch.as_str()),
                seq: a.position.offset,
                first_kept: a.first_kept,
            }
        });
    }

    fn released(&self, user: &UserId, connection: u64, topics: &[Topic]) {
        for topic in topics {
            self.record(*user, connection, topic, |_| Change::Released);
        }
    }
}
