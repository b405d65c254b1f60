//! The demo app: a dashboard of agents and a chat with them, over the one socket that
//! `tether_client::AppState` holds for the whole app. Views only register handlers.

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod chat;
#[cfg(target_arch = "wasm32")]
mod dashboard;
#[cfg(target_arch = "wasm32")]
mod events;
#[cfg(target_arch = "wasm32")]
mod header;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod sparkline;
#[cfg(target_arch = "wasm32")]
mod status;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod status_text;

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<app::App>::new().render();
}

/// The app only runs in the browser; natively there is nothing to do.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
