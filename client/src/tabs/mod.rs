//! **One socket per browser**: tabs of the same app and user share one connection
//! (`Config::share_across_tabs`). The views' API does not change: every tab has its own
//! `AppState`, `TopicManager` and hooks.
//!
//! How it works:
//! - **Leadership.** Every tab asks for a lock named after the shared channel (the Web Locks
//!   API, `navigator.locks`). The tab that holds it is the *leader*: it owns the one real
//!   socket, in a hub. When it closes or crashes the browser releases the lock, the
//!   next tab in line gets it and opens the socket.
//! - **Each tab's client is a full tether client** whose "socket" is virtual: a tab link
//!   carries its frames over a `BroadcastChannel` to the leader's hub (the leader's own client
//!   talks to its hub in-process). So each tab keeps its own last `seq` per topic, drops
//!   duplicates, resubscribes with `since` after a handover, and times its requests out, exactly
//!   as against a server.
//! - **The hub multiplexes.** It subscribes each tab's topics on the real socket through the
//!   leader's `TopicManager`, so a topic goes on the wire once and off when no tab holds it. It
//!   answers each tab's `subscribe` with an acknowledgement carrying the `seq` the tab continues
//!   from, forwards each event with its `seq` to the tabs holding the topic (each tab at most
//!   once, by its own cursor), asks the server to replay from the lowest `since` a tab still
//!   needs, and routes replies to the tab whose request they answer (request ids are rewritten
//!   on the way up).
//! - **State per tab.** The hub opens a tab's virtual socket only while the real one is open, and
//!   closes them all when it drops, so every tab's state follows the shared connection; the hub
//!   also broadcasts a [`Sharing`] status (the leader, the shared state, how many tabs share).
//!
//! Messages on the channel are validated like frames from the network; the channel
//! and the lock are keyed by the name the app gives, which must include the user (two users in
//! one browser profile never share). Without Web Locks or `BroadcastChannel`, or with the mode
//! off, each tab keeps its own socket.
//!
//! - **A silent leader is replaced.** A leader whose page is frozen (or stuck) keeps its lock.
//!   The leader answers its tabs' pings from a timer task, so a follower's own heartbeat
//!   notices when the leader's timers stop (Chromium may still run a frozen page's channel
//!   messages, but not its timers or its socket's events). The follower then probes (a
//!   `Probe` message, which a live leader answers from a timer task with `Alive`, even while
//!   its server is down). When its next attempt ends the same way with no `Alive` in between, it steals the lock and opens the socket; the old
//!   leader, once it runs again, learns it lost the lock and steps down.

// The sharing machinery and its simulated browser: internals (not API, no semver promise),
// public only for the workspace's tests of sharing (tests/ runs tabs on `sim`'s browser).
#[doc(hidden)]
pub mod hub;
#[doc(hidden)]
pub mod link;
mod node;
#[cfg(all(not(target_arch = "wasm32"), feature = "native"))]
#[doc(hidden)]
pub mod sim;
#[cfg(target_arch = "wasm32")]
pub(crate) mod web;
#[doc(hidden)]
pub mod wire;

use std::any::Any;
use std::rc::Rc;

use crate::core::{Config, ConnectionState, Replay, Rtt};
use crate::driver::Io;
use crate::AppState;

#[doc(hidden)]
pub use node::TabNode;
#[doc(hidden)]
pub use wire::{TabId, TabMessage};

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
