//! The observable connection state, and which transitions between states are valid.
//!
//! ```text
//!            connect()                 opened
//!   Idle ───────────────▶ Connecting ─────────▶ Open
//!    ▲                      │   ▲               │ │
//!    │ 1000, nothing held   │   │ retry_at      │ │ closed / dead
//!    └──────────────────────┼───┼───────────────┘ ▼
//!                           └──▶ Reconnecting{attempt, retry_at}
//!   Offline: the browser is offline; no retry loop until `online`.
//!   AuthFailed: closed with 4401; waits for `reconnect()` with a fresh token.
//!   Closed: the app called `close()`; nothing reconnects until `connect()`.
//! ```

use super::time::Instant;

/// Where the connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not started, or nothing to do (the server closed normally while nothing was held).
    Idle,
    /// A socket is opening.
    Connecting,
    /// The socket is open and subscriptions are live.
    Open,
    /// Waiting for `retry_at` before retry number `attempt`.
    Reconnecting {
        /// The retry number since the last stable connection, from 1.
        attempt: u32,
        /// When the next socket opens.
        retry_at: Instant,
    },
    /// The browser reports no network; retries resume when it comes back.
    Offline,
    /// The server refused the token (4401); call `reconnect()` after refreshing it.
    AuthFailed,
    /// The app closed the client.
    Closed,
}

impl ConnectionState {
    /// True when frames can be sent right now.
    pub fn is_open(self) -> bool {
        self == ConnectionState::Open
    }

    /// A short name for display.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionState::Idle => "idle",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Open => "open",
            ConnectionState::Reconnecting { .. } => "reconnecting",
            ConnectionState::Offline => "offline",
            ConnectionState::AuthFailed => "auth_failed",
            ConnectionState::Closed => "closed",
        }
    }

    /// Whether the core may move from `self` to `to`. Used by property tests as an invariant.
    pub fn can_become(self, to: ConnectionState) -> bool {
        use ConnectionState::*;
        matches!(
            (self, to),
            (_, Closed | Offline | Connecting)
                | (Connecting, Open)
                | (Connecting | Open, Reconnecting { .. } | AuthFailed)
                | (Open, Idle)
        )
    }
}
