//! The observable connection state, and which transitions between states are valid.
//!
//! ```text
//!            connect()                 first frame
//!   Idle ───────────────▶ Connecting ──────────────▶ Open
//!    ▲                      │   ▲                    │ │
//!    │ 1000, nothing held   │   │ retry_at           │ │ closed / dead
//!    └──────────────────────┼───┼────────────────────┘ ▼
//!                           └──▶ Reconnecting{attempt, retry_at}
//!   A socket is Open only once it has proved itself by delivering a frame (the answer to the
//!   ping sent on open, at the latest): a proxy that accepts and then drops the socket never
//!   shows Open.
//!   Offline: the browser is offline; no retry loop until `online`.
//!   AuthFailed: closed with 4401; waits for `reconnect()` with a fresh token.
//!   Closed: the app called `close()`; nothing reconnects until `connect()`.
//! ```

use super::time::Instant;

/// Where the connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ConnectionState {
    /// Not started, or nothing to do (the server closed normally while nothing was held).
    Idle,
    /// A socket is opening, or open but not yet proved by a frame from the server.
    Connecting,
    /// The socket has delivered a frame: subscriptions are live and queued sends go out.
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
                | (Connecting | Open, Reconnecting { .. } | AuthFailed | Idle)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionState::*;
    use super::*;

    const RECONNECTING: ConnectionState = Reconnecting {
        attempt: 1,
        retry_at: Instant(0),
    };

    #[test]
    fn only_the_drawn_transitions_are_valid() {
        let all = [
            Idle,
            Connecting,
            Open,
            RECONNECTING,
            Offline,
            AuthFailed,
            Closed,
        ];
        let valid: Vec<(ConnectionState, ConnectionState)> = all
            .iter()
            .flat_map(|&a| all.iter().map(move |&b| (a, b)))
            .filter(|&(a, b)| a != b && a.can_become(b))
            .collect();
        for (from, to) in [
            (Idle, Open),
            (RECONNECTING, Open),
            (Offline, Open),
            (Idle, RECONNECTING),
            (Offline, AuthFailed),
            (AuthFailed, Open),
            (Closed, Idle),
            (RECONNECTING, Idle),
        ] {
            assert!(!from.can_become(to), "{from:?} -> {to:?} must be refused");
        }
        assert!(Connecting.can_become(Open));
        assert!(Open.can_become(RECONNECTING));
        assert!(Connecting.can_become(AuthFailed));
        let names: std::collections::BTreeSet<&str> = all.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), all.len(), "every state has its own name");
        assert_eq!(Open.name(), "open");
        assert_eq!(RECONNECTING.name(), "reconnecting");
        // Every state may close, go offline or start connecting; a handful more are drawn.
        assert_eq!(valid.len(), 7 * 3 - 3 + 1 + 6);
    }
}
