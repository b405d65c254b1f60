//! Yew integration (feature `yew`, wasm32): [`WsProvider`] puts the app's [`crate::AppState`]
//! in context, and one hook per file reads it. Every hook releases what it registered when its
//! component unmounts.

mod owned;
mod provider;
mod use_chat;
mod use_connection;
mod use_dashboard;
mod use_topic;

pub use provider::{use_ws, WsContext, WsProvider, WsProviderProps};
pub use use_chat::{use_chat, UseChat};
pub use use_connection::{use_connection, UseConnection};
pub use use_dashboard::{use_dashboard, UseDashboard};
pub use use_topic::use_topic;
