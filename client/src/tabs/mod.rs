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

mod platform;

pub(crate) use node::TabEnd;

/// This tab's end of the sharing, as its `AppState` holds it: in the browser, the node on the
/// browser's platform, called directly, so that an app links only the methods it calls (of a
/// trait object, every method is linked); natively, any platform's (the simulated browser's).
#[cfg(target_arch = "wasm32")]
pub(crate) type TabHandle = TabNode<web::WebPlatform>;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type TabHandle = dyn TabEnd;
#[doc(hidden)]
pub use node::TabNode;
pub use platform::{Channel, Lock, Platform, Role, SharedHealth, Sharing, WrapIo};
#[doc(hidden)]
pub use wire::{TabId, TabMessage};
