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
//! ## With Leptos
//!
//! Feature `leptos` (Leptos 0.8): call `leptos::provide_tether(config)` at the root (or wrap
//! the app in `<leptos::TetherProvider>`), then `leptos::use_topic::<T>` gives a signal of the
//! latest value on a topic, `leptos::use_topic_events` every event, `leptos::use_send` a
//! handle to send, and `leptos::use_connection` the state. Rendered on the server (Leptos's
//! `ssr`), they show the disconnected state and open nothing; on hydration they connect.
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
//! Each public item has one path. The root holds what an app names: [`AppState`],
//! [`WsClientV2`], [`TopicManager`], [`Config`], [`TopicEvent`], [`ConnectionState`],
//! [`Metrics`] and the types they carry.
//!
//! - [`protocol`]: the envelope, topics, the control messages and close codes (the
//!   `tether-wire` crate, re-exported whole: [`protocol::Topic`], [`protocol::Envelope`]).
//! - [`live`]: the load lifecycle of views that mix a REST snapshot with live events.
//! - `hooks` (feature `yew`), `native` (feature `native`, tokio's driver), `web` (wasm32, the
//!   browser's driver), `tabs` (feature `tabs`), `agents` (feature `agents`: the origin's
//!   agents platform, built on the above).
//!
//! The sans-IO core (`core`, whose `reconnect::decide` decides every reconnect) and the
//! driver's interface (`driver`) are internals: public only for the workspace's own fake-clock
//! tests and benchmarks, hidden from the documentation, and outside the semver promise.

#![deny(missing_docs)]

#[cfg(any(feature = "yew", feature = "leptos"))]
mod adapter;
#[cfg(feature = "agents")]
pub mod agents;
mod app_state;
mod client;
// The sans-IO core and the driver's interface: internals (not API, no semver promise), public
// only because the workspace's tests drive the core on a fake clock (client/tests, tests/,
// tests/bench) and implement `driver::Io` for a fake socket.
#[doc(hidden)]
pub mod core;
#[doc(hidden)]
pub mod driver;
#[cfg(feature = "yew")]
pub mod hooks;
#[cfg(not(target_arch = "wasm32"))]
mod inert;
#[cfg(feature = "leptos")]
pub mod leptos;
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

#[cfg(any(feature = "yew", feature = "leptos"))]
pub use adapter::{UseSend, UseSendError, UseTopicOptions};
pub use app_state::AppState;
pub use client::WsClientV2;
pub use core::{
    BackoffConfig, ClientError, Config, ConnectionState, Counters, Instant, Metrics, Millis,
    Replay, RequestError, RequestId, Rtt, SendError, StatusCounts, TokenProvider, TopicEvent,
    TopicStatus,
};
#[cfg(feature = "resume")]
pub use core::{ResumeConfig, ResumeCounters};
pub use listeners::ListenerGuard;
pub use topic_manager::{Subscription, TopicManager};
