//! What sharing is made of, below every other module of `tabs`: the platform it runs on (the
//! tabs' channel, the locks, deferral and timer tasks, the clients), and what a tab knows of
//! the shared connection.

use std::any::Any;
use std::rc::Rc;

use crate::core::{Config, ConnectionState, Replay, Rtt};
use crate::driver::Io;
use crate::AppState;

/// This tab's part in the shared connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// This tab owns the socket.
    Leader,
    /// Another tab owns it; this one relays through it.
    Follower,
}

/// What a tab knows of the shared connection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sharing {
    /// This tab's part.
    pub role: Role,
    /// The shared socket's state, as the leader last said (this tab's own while it leads).
    pub state: ConnectionState,
    /// Tabs sharing it, this one included, whether or not the socket is open now (as the
    /// leader last said; 0 while a follower has not heard from a leader yet).
    pub tabs: usize,
    /// Whether the server behind the shared socket replays missed events.
    pub replay: Replay,
    /// The shared socket's health, as its leader counts it.
    pub health: SharedHealth,
}

/// The shared socket's health, as its current leader counts it (a new leader starts again
/// from zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SharedHealth {
    /// Round-trip time to the server.
    pub rtt: Rtt,
    /// Reconnects of the shared socket.
    pub reconnects: u64,
    /// Its sockets that closed before proving themselves.
    pub failed_attempts: u64,
}

impl SharedHealth {
    /// The health in a client's metrics.
    pub fn of(metrics: &crate::core::Metrics) -> SharedHealth {
        SharedHealth {
            rtt: metrics.rtt,
            reconnects: metrics.counters.reconnects,
            failed_attempts: metrics.counters.unproven_sockets,
        }
    }
}

/// Wraps a driver's `Io` so that its sockets become a tab's virtual socket.
pub type WrapIo = Box<dyn FnOnce(Box<dyn Io>) -> Box<dyn Io>>;

/// The tabs' channel: a message posted reaches every other tab of the same name, never the
/// poster, in the order posted.
pub trait Channel {
    /// Posts a message.
    fn post(&self, text: &str);
}

/// Leadership: at most one tab holds the lock at a time.
pub trait Lock {
    /// Asks for the lock; `granted` runs once this tab holds it, which it does until this is
    /// dropped (or its tab goes away), or until another tab steals it: then `stolen` runs.
    fn request(&self, granted: Box<dyn FnOnce()>, stolen: Box<dyn FnOnce()>);
    /// Takes the lock at once from whichever tab holds it (whose `stolen` runs), ahead of any
    /// tab waiting for it; then as [`Lock::request`].
    fn steal(&self, granted: Box<dyn FnOnce()>, stolen: Box<dyn FnOnce()>);
}

/// What sharing needs from the platform: the browser's, or a simulated one natively.
pub trait Platform {
    /// Opens the channel `name`; `on_message` gets every message the other tabs post.
    fn channel(&self, name: &str, on_message: Box<dyn Fn(String)>) -> Box<dyn Channel>;
    /// The lock `name`.
    fn lock(&self, name: &str) -> Box<dyn Lock>;
    /// Runs `f` soon, not inside the current call.
    fn defer(&self, f: Box<dyn FnOnce()>);
    /// Runs `f` soon from a timer task (`setTimeout(0)`); dropping the guard cancels it. A
    /// page whose timers are frozen never runs it, though it may still run the channel's
    /// messages (Chromium does): the leader answers pings and probes this way, so that its
    /// answers prove its timers, and so its heartbeat, still run.
    fn later(&self, f: Box<dyn FnOnce()>) -> Box<dyn Any>;
    /// A client on a driver whose sockets `wrap` replaces (the tab's virtual socket): the
    /// driver keeps the clock, the timer and the end-of-tick flush.
    fn tab_client(&self, config: Config, wrap: WrapIo) -> Rc<AppState>;
    /// A client on a real socket, for the leader.
    fn real_client(&self, config: Config) -> Rc<AppState>;
}
