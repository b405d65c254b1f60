//! # tether
//!
//! One persistent, self-healing WebSocket per app. Views never open sockets: they subscribe
//! handlers to topics and drop them when they unmount. The client reconnects with jittered
//! backoff, detects dead links with heartbeats, resubscribes everything in one frame after
//! every reconnect, and, from a server that offers it, replays missed events by per-topic
//! `seq`, so a mounted view sees every event exactly once, in order.
//!
//! ## Getting started
//!
//! Create one [`AppState`] for the app, subscribe where a view mounts, and decode each event's
//! `data` into a type of your own (this is `client/examples/getting_started.rs`, which the
//! README shows):
//!
//! ```
#![doc = include_str!("../examples/getting_started.rs")]
//! ```
//!
//! In the browser, [`AppState::connect`] opens the socket at once; elsewhere (host builds,
//! server-side rendering) it returns an inert state that never connects.
//!
//! ## With Yew
//!
//! Feature `yew`: put `hooks::WsProvider` at the root (it creates the `AppState` once), then
//! use `hooks::use_topic::<T>` for the latest value on a topic, `hooks::use_topic_callback` for
//! every event, `hooks::use_send` to send, and `hooks::use_connection` / `hooks::use_metrics`
//! for a status badge and a health panel. Each has an example in its documentation.
//!
//! ## Servers
//!
//! tether speaks "envelope v1", the published contract of the backend it was designed for (the
//! origin, which serves `/api/ws`), and asks the server for its extensions: acknowledgements,
//! per-topic `seq` and replay (tether's stub, `/api/ws/v2`). A server without them still works:
//! topics become active when a ping sent after their `subscribe` is answered, and after a
//! reconnect each handler gets [`TopicEvent::ResyncRequired`], since missed events were not
//! replayed. [`Metrics::replay`] says which kind of server this is.
//!
//! ## Map
//!
//! - [`protocol`]: the envelope, topics, the control messages and close codes.
//! - [`core`]: the sans-IO connection state machine; [`core::reconnect::decide`] decides every
//!   reconnect.
//! - [`WsClientV2`], [`TopicManager`], [`AppState`]: what an app holds.
//! - [`live`]: the load lifecycle of views that mix a REST snapshot with live events.
//! - [`driver`]: what a driver implements; `web` (wasm32) is the browser's, `native` (feature
//!   `native`) tokio's.
//! - `agents` (default feature `agents`): the origin's agents platform, built on the above.

#![deny(missing_docs)]

#[cfg(feature = "agents")]
pub mod agents;
mod app_state;
mod client;
pub mod core;
pub mod driver;
#[cfg(feature = "yew")]
pub mod hooks;
#[cfg(not(target_arch = "wasm32"))]
mod inert;
mod listeners;
pub mod live;
#[cfg(all(not(target_arch = "wasm32"), feature = "native"))]
pub mod native;
/// The wire protocol: the envelope, topics, the control messages and close codes (the
/// `tether-wire` crate).
pub use tether_wire as protocol;
pub mod small_alloc;
#[cfg(feature = "tabs")]
pub mod tabs;
mod topic_manager;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use app_state::AppState;
pub use client::WsClientV2;
pub use core::{Config, ConnectionState, Metrics, Replay, TopicEvent, TopicStatus};
pub use listeners::ListenerGuard;
pub use protocol::{Envelope, Topic};
pub use topic_manager::{Subscription, TopicManager};
