//! The origin backend's agents platform on tether: its messages, the dashboard and chat
//! managers, and (with `yew`) their REST client and hooks. It is built only on tether's public
//! API, as any app's module would be: the first user of that API, not part of its foundations.
//!
//! The messages and payloads themselves are the wire crate's: `protocol::agents`.

mod chat;
mod dashboard;
#[cfg(feature = "yew")]
pub mod hooks;
pub mod posting;
#[cfg(feature = "yew")]
pub mod rest;

pub use chat::{ChatEntry, ChatModel, ChatViewWsManager, Delivery};
pub use dashboard::{AgentRow, DashboardModel, DashboardWsManager, Membership};
