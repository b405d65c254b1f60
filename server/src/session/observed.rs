//! What an app may observe of its subscribers' topics: each topic a `subscribe` was answered
//! with (from where, with what catch-up, at which position) and each topic a connection let go
//! of. An app's [`Observe`](crate::app::Observe) hook learns them, for audits and tests: a
//! test server records them so that a check can take a subscriber's start from the server's
//! side, and tell a justified `resync_required` from a spurious one.

use tether_wire::Topic;

use crate::delivery::ConnId;
use crate::hub::StreamPosition;

/// How a subscriber of one topic was caught up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatchUp {
    /// No `since` (or no extensions): the snapshot, if the topic has one; live events follow
    /// the position.
    Snapshot,
    /// Every event after `since`, replayed.
    Replay,
    /// `resync_required`: some events after `since` were no longer kept, or `since` was ahead
    /// of the stream (its history was lost).
    Resync,
}

/// One accepted topic of a `subscribe`, as it was answered.
#[derive(Debug)]
pub struct Answered<'a, U> {
    /// The subscriber.
    pub user: &'a U,
    /// Its connection.
    pub connection: ConnId,
    /// The topic.
    pub topic: &'a Topic,
    /// The `seq` it asked to resume after, if any (and if the connection has the extensions).
    pub since: Option<u64>,
    /// How it was caught up.
    pub catch_up: CatchUp,
    /// The position its catch-up covers: live events follow it.
    pub position: &'a StreamPosition,
    /// With `since`: the oldest `seq` after it still kept for replay (`None` when none was).
    pub first_kept: Option<u64>,
}
