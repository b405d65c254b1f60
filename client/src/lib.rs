//! # tether
//!
//! One persistent, self-healing WebSocket per app.

#![deny(missing_docs)]

#[cfg(feature = "agents")]
pub mod agents;
mod app_state;
mod client;
pub mod core;
pub mod driver;
#[cfg(not(target_arch = "wasm32"))]
mod inert;
mod listeners;
pub mod live;
#[cfg(all(not(target_arch = "wasm32"), feature = "native"))]
pub mod native;
pub mod protocol;
mod topic_manager;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use app_state::AppState;
pub use client::WsClientV2;
pub use core::{Config, ConnectionState, Metrics, TopicEvent, TopicStatus};
pub use listeners::ListenerGuard;
pub use protocol::{Envelope, Topic};
pub use topic_manager::{Subscription, TopicManager};
