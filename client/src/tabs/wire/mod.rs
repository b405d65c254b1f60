//! The messages tabs exchange over their channel (a `BroadcastChannel` in the browser), as
//! short text (`text`: a letter, numbers, and a frame's text as it is). Every tab reads every
//! message; `to` and `from` say whom it concerns. A message that does not decode is dropped and
//! counted, like a malformed frame from the network.

use super::platform::SharedHealth;
use crate::core::{ConnectionState, Replay};

/// Identifies one tab (one browsing context running the app) for its life.
pub type TabId = u64;

/// One message on the tabs' channel.
#[derive(Clone, Debug, PartialEq)]
pub enum TabMessage {
    /// A tab asks the leader for a virtual socket.
    Open {
        /// The tab.
        from: TabId,
        /// Its socket number.
        socket: u64,
    },
    /// The leader gives a tab its virtual socket: the shared connection is up.
    Opened {
        /// The tab.
        to: TabId,
        /// Its socket number.
        socket: u64,
        /// The leader.
        leader: TabId,
    },
    /// A tab's virtual socket closed (the leader's connection went down, or the tab asked).
    Closed {
        /// The tab.
        to: TabId,
        /// Its socket number.
        socket: u64,
        /// The close code the tab's client sees.
        code: u16,
    },
    /// A frame from a tab's client, for the server.
    Frame {
        /// The tab.
        from: TabId,
        /// Its socket number.
        socket: u64,
        /// The frame.
        text: String,
    },
    /// A frame for a tab's client.
    Deliver {
        /// The tab.
        to: TabId,
        /// Its socket number.
        socket: u64,
        /// The frame.
        text: String,
    },
    /// A tab closes its virtual socket.
    Close {
        /// The tab.
        from: TabId,
        /// Its socket number.
        socket: u64,
    },
    /// A tab is leaving (its page is closing).
    Bye {
        /// The tab.
        from: TabId,
    },
    /// A tab took the leadership: virtual sockets to any other leader are stale.
    Leader {
        /// The new leader.
        tab: TabId,
    },
    /// The leader's view of the shared connection, sent on every change.
    Status {
        /// The leader.
        leader: TabId,
        /// The shared connection's state.
        state: ConnectionState,
        /// Tabs with a virtual socket, the leader's own included.
        tabs: usize,
        /// Whether the server behind the shared socket replays.
        replay: Replay,
        /// The shared socket's health.
        health: SharedHealth,
    },
    /// A tab heard nothing from the leader: a live leader answers with [`TabMessage::Alive`].
    Probe {
        /// The tab.
        from: TabId,
    },
    /// The leader answers a probe, from a timer task: its timers run.
    Alive {
        /// The tab that probed.
        to: TabId,
        /// The leader.
        leader: TabId,
    },
    /// A tab asks the leader to replace the shared socket now ("Retry now").
    Reconnect {
        /// The tab.
        from: TabId,
    },
}

mod text;

#[cfg(test)]
mod tests;
