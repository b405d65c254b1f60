//! Yew integration (feature `yew`): [`WsProvider`] creates the app's one
//! [`AppState`](crate::AppState) from a config and provides it; one hook per file reads it.
//! Every hook releases what it registered when its component unmounts, and none has a side
//! effect in the render body.
//!
//! | hook | returns | re-renders |
//! |---|---|---|
//! | [`use_topic::<T>`](use_topic) | `Option<Rc<T>>`, the latest value on a topic (a snapshot counts) | when a new value arrives |
//! | [`use_topic_callback`] | nothing: calls back with every event | never |
//! | [`use_send`] | a [`UseSend`](crate::UseSend) handle with `send` and `request` | never |
//! | [`use_connection`] | the connection state | when the state changes |
//! | [`use_metrics`] | the health snapshot | when it changes, checked each period |
//! | `use_sharing` (feature `tabs`) | this tab's role and the shared connection, with tabs sharing one socket | when it changes, checked each period |
//!
//! Off wasm32 (host `cargo check`, docs, server-side rendering with the `ssr` feature) the
//! provider's state never connects and the hooks render their empty values.

mod owned;
mod provider;
mod use_connection;
mod use_send;
#[cfg(feature = "tabs")]
mod use_sharing;
mod use_topic;

#[cfg(feature = "agents")]
pub(crate) use owned::{use_owned, Owned};
pub use provider::{use_app, use_ws, WsContext, WsProvider, WsProviderProps};
pub use use_connection::{use_connection, use_metrics};
pub use use_send::use_send;
#[cfg(feature = "tabs")]
pub use use_sharing::use_sharing;
pub use use_topic::{use_topic, use_topic_callback, use_topic_with_options};
