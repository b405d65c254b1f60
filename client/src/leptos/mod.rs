//! Leptos integration (feature `leptos`, Leptos 0.8): [`provide_tether`] or
//! [`TetherProvider`] creates the app's one [`AppState`](crate::AppState) and provides it; one
//! hook per file reads it. The hooks follow leptos-use's conventions: `use_x` and
//! `use_x_with_options`, signals out.
//!
//! | hook | returns |
//! |---|---|
//! | [`use_topic::<T>`](use_topic) | `Signal<Option<T>>`, the latest value on a topic (a snapshot counts) |
//! | [`use_topic_events`] | nothing: calls back with every event |
//! | [`use_send`] | a [`UseSend`](crate::UseSend) handle with `send` and `request` |
//! | [`use_connection`] | `Signal<ConnectionState>` |
//! | [`use_metrics`] | `Signal<Metrics>`, checked each period |
//! | `use_sharing` (feature `tabs`) | `Signal<Option<Sharing>>`, checked each period |
//!
//! Each hook registers when its view mounts, in an effect, and drops what it registered when
//! the view is cleaned up (the private `mount` module). Effects run only in the browser:
//! rendered on the server (Leptos's `ssr`), the hooks show the disconnected state and open
//! nothing (the provider's state is inert off wasm32); on hydration they connect.

mod mount;
mod provider;
mod use_connection;
#[cfg(feature = "tabs")]
mod use_sharing;
mod use_topic;

pub use provider::{provide_tether, use_tether, TetherProvider, TetherProviderProps};
pub use use_connection::{
    use_connection, use_metrics, use_metrics_with_options, UseMetricsOptions,
};
#[cfg(feature = "tabs")]
pub use use_sharing::{use_sharing, use_sharing_with_options, UseSharingOptions};
pub use use_topic::{use_send, use_topic, use_topic_events, use_topic_with_options};
