//! **The reconnect decision.** Every path that ends a socket, or that might start a new one,
//! asks [`decide`] what happens next, and only `Connection::apply` acts on the answer (it is the
//! one place that arms the retry timer). The function is pure: the same trigger in the same
//! context always gives the same [`Next`], and `client/tests/reconnect_table.rs` states it as a
//! table.
//!
//! | trigger | context | next |
//! |---|---|---|
//! | closed with **4401**, or the handshake refused with HTTP **401/403** | any | [`Next::AuthFailed`]: final until `reconnect()` |
//! | closed with **1000** | the socket had proved itself, nothing held | [`Next::Idle`] |
//! | closed with any other code (1001, 1006, 1008, 1009, 1011, 1012, 4403, 4408, unknown …) | online | [`Next::Backoff`], reset if it stayed up `stable_after` |
//! | closed, any code but 4401 | offline | [`Next::WaitForOnline`] |
//! | connect timeout (no open, or no first frame) | online / offline | [`Next::Backoff`] / [`Next::WaitForOnline`] |
//! | dead link (silent for ping interval + pong timeout) | online / offline | [`Next::Now`] / [`Next::WaitForOnline`] |
//! | browser went offline | connecting or waiting to retry | [`Next::WaitForOnline`] |
//! | browser came online | waiting for online | [`Next::Now`], backoff reset |
//! | page became visible, or woke from sleep | waiting to retry | [`Next::Now`], backoff kept |
//! | `reconnect()` | waiting to retry, or an attempt under way ("Retry now") | [`Next::Now`] (or wait for online), backoff kept: the try count goes on |
//! | `reconnect()` | any other | [`Next::Now`] (or wait for online), backoff reset |
//! | `connect()` | idle, closed by the app, or auth failed | [`Next::Now`] (or wait for online) |
//! | a topic, frame or request arrives | idle, and wanted | [`Next::Now`] (or wait for online) |
//! | anything else, or any trigger after `close()` | | [`Next::Stay`] |
//!
//! 4401 is the only final close code: every other code, and any code not listed, is retried
//! with exponential backoff and full jitter. A socket closed before it proved itself never
//! resets the backoff, so a proxy that accepts and drops sockets cannot cause a retry storm.

use super::state::ConnectionState;
use super::time::Millis;
use crate::protocol::CloseCode;

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The socket closed with `code`. `proven_for` is how long it had been proved (by a frame
    /// from the server) when it closed, `None` if it never was.
    Closed {
        /// The close code (1006 when it dropped without a close frame).
        code: CloseCode,
        /// Time since the socket's first frame.
        proven_for: Option<Millis>,
    },
    /// The server refused the WebSocket handshake with this HTTP status (native driver; a
    /// browser reports a refusal as a close with 1006).
    Refused {
        /// The HTTP status.
        status: u16,
    },
    /// The socket neither opened nor proved itself within the connect timeout.
    ConnectTimeout,
    /// No frame arrived for the ping interval plus the pong timeout.
    Dead,
    /// The browser went offline.
    WentOffline,
    /// The browser came back online.
    CameOnline,
    /// The page became visible.
    BecameVisible,
    /// A timer fired far later than armed: the machine slept or the tab was frozen.
    Woke,
    /// The app called `reconnect()`.
    AppReconnect,
    /// The app called `connect()`.
    AppConnect,
    /// Something to send or subscribe arrived while idle.
    WorkArrived,
}

/// Why a socket opens at once rather than after a backoff delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The app called `reconnect()`.
    AppReconnect,
    /// The app called `connect()`.
    AppConnect,
    /// There is something to subscribe or send.
    WorkArrived,
    /// The old link went silent; a fresh socket is the fastest way back.
    Dead,
    /// The network came back.
    Online,
    /// The user is looking at the page again.
    Visible,
    /// The machine woke up; the scheduled retry is long overdue.
    Woke,
}

/// The context of a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    /// The connection state when the trigger arrived.
    pub state: ConnectionState,
    /// The app wants a connection (`connect()` was called and `close()` was not).
    pub wanted: bool,
    /// Some topic is held, or a frame or request is waiting.
    pub has_work: bool,
    /// The browser reports a network.
    pub online: bool,
    /// How long a socket must have been proved for a close to reset the backoff.
    pub stable_after: Millis,
}

/// What happens next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Open a new socket after a jittered backoff delay; `reset` first returns the backoff to
    /// its base (the socket had been stable).
    Backoff {
        /// Reset the backoff before drawing the delay.
        reset: bool,
    },
    /// Open a new socket now.
    Now {
        /// Why not after a delay.
        why: Why,
        /// Reset the backoff first.
        reset: bool,
    },
    /// Wait for the browser's `online` event.
    WaitForOnline,
    /// The server refused the credentials: stop until the app calls `reconnect()`.
    AuthFailed,
    /// Nothing is held: stay idle until something is.
    Idle,
    /// The trigger changes nothing in this state.
    Stay,
}

/// Decides what happens after `trigger` in `ctx`. See the module docs for the table.
pub fn decide(trigger: &Trigger, ctx: &Context) -> Next {
    use ConnectionState as S;
    let now_or_wait = |why, reset| {
        if ctx.online {
            Next::Now { why, reset }
        } else {
            Next::WaitForOnline
        }
    };
    match trigger {
        // "Retry now" while retrying is one more try: the count shown to the user goes on
        // (and the backoff with it). After a stable socket, a refused token or a close, a
        // reconnect starts afresh.
        Trigger::AppReconnect => {
            let retrying = matches!(ctx.state, S::Reconnecting { .. } | S::Connecting);
            return now_or_wait(Why::AppReconnect, !retrying);
        }
        Trigger::AppConnect if matches!(ctx.state, S::Idle | S::Closed | S::AuthFailed) => {
            return now_or_wait(Why::AppConnect, true)
        }
        _ if ctx.state == S::Closed || !ctx.wanted => return Next::Stay,
        _ => {}
    }
    let retry_later = |reset| {
        if ctx.online {
            Next::Backoff { reset }
        } else {
            Next::WaitForOnline
        }
    };
    let waiting_to_retry = matches!(ctx.state, S::Reconnecting { .. });
    match *trigger {
        Trigger::Closed {
            code: CloseCode::UNAUTHORIZED,
            ..
        }
        | Trigger::Refused { status: 401 | 403 } => Next::AuthFailed,
        Trigger::Closed {
            code: CloseCode::NORMAL,
            proven_for: Some(_),
        } if !ctx.has_work => Next::Idle,
        Trigger::Closed { proven_for, .. } => {
            retry_later(proven_for.is_some_and(|t| t >= ctx.stable_after))
        }
        Trigger::Refused { .. } | Trigger::ConnectTimeout => retry_later(false),
        Trigger::Dead if ctx.online => Next::Now {
            why: Why::Dead,
            reset: false,
        },
        Trigger::Dead => Next::WaitForOnline,
        Trigger::WentOffline if matches!(ctx.state, S::Connecting) || waiting_to_retry => {
            Next::WaitForOnline
        }
        Trigger::CameOnline if ctx.state == S::Offline => Next::Now {
            why: Why::Online,
            reset: true,
        },
        Trigger::BecameVisible if waiting_to_retry && ctx.online => Next::Now {
            why: Why::Visible,
            reset: false,
        },
        Trigger::Woke if waiting_to_retry && ctx.online => Next::Now {
            why: Why::Woke,
            reset: false,
        },
        Trigger::WorkArrived if ctx.state == S::Idle => now_or_wait(Why::WorkArrived, true),
        _ => Next::Stay,
    }
}
