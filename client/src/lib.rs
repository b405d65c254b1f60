//! # tether
//!
//! One persistent, self-healing WebSocket per app, speaking the `/api/ws/v2` topic protocol.
//!
//! - [`protocol`]: the wire format, shared with the server stub.
//! - [`core`]: the sans-IO connection state machine (no clock, socket or browser API).
//! - [`WsClientV2`]: runs the core over an [`Io`] driver; `web` (wasm32) is the browser's.
//! - [`TopicManager`]: handler registry with `#[must_use]` guards and re-entrant dispatch.
//! - [`AppState`]: the shared handle holding both.
//! - `views`: the per-view managers (`DashboardWsManager`, `ChatViewWsManager`).
//! - `hooks` and `rest` (feature `yew`, wasm32): `WsProvider` and the Yew hooks.
//! - `native` (feature `native`): a tokio driver for native programs and load tests.

mod app_state;
mod client;
pub mod core;
#[cfg(all(target_arch = "wasm32", feature = "yew"))]
pub mod hooks;
mod listeners;
#[cfg(all(not(target_arch = "wasm32"), feature = "native"))]
pub mod native;
pub mod protocol;
#[cfg(all(target_arch = "wasm32", feature = "yew"))]
pub mod rest;
mod topic_manager;
pub mod views;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use app_state::AppState;
pub use client::{Io, WeakClient, WsClientV2};
pub use listeners::ListenerGuard;
pub use topic_manager::{Subscription, TopicManager};
