//! # tether
//!
//! One persistent, self-healing WebSocket per app, speaking the `/api/ws/v2` topic protocol.
//!
//! - [`protocol`]: the wire format, shared with the server stub.
//! - [`core`]: the sans-IO connection state machine (no clock, socket or browser API).
//! - [`TopicManager`]: handler registry with `#[must_use]` guards and re-entrant dispatch.
//! - `WsClientV2` and [`AppState`] (wasm32 only): the web-sys driver that runs the core.

pub mod core;
pub mod protocol;
