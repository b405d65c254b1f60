//! The origin backend's agents platform, as it appears on the wire: the messages on its
//! `agent:*`, `thread:*` and `user:*` topics ([`AgentsMessage`]), their payloads in both the
//! origin's shapes and tether's stub's ([`model`]), and the timestamps they carry ([`Timestamp`]).
//! The client's dashboard and chat managers and the reference server's demo domain both use it.

mod messages;
pub mod model;
mod time;

pub use messages::{kind, AgentsMessage};
pub use time::Timestamp;
