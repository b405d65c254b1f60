//! Per-view managers. A view creates its manager when it mounts and drops it when it unmounts;
//! the manager registers the view's handlers with the shared [`crate::TopicManager`] and keeps
//! the view's model up to date. Views never open sockets.
//!
//! Each manager is split in two: a pure model (a reducer over server messages, tested natively)
//! and the manager that wires subscriptions to it. Loading over REST is the caller's job (the
//! Yew hooks do it), so the managers stay free of I/O.

mod chat;
mod dashboard;

pub use chat::{ChatEntry, ChatModel, ChatViewWsManager, Delivery};
pub use dashboard::{AgentRow, DashboardModel, DashboardWsManager};
