//! A minimal app on its own wasm-bindgen: connects and subscribes to one topic.

use tether_client::protocol::Topic;
use tether_client::{AppState, Config, TopicEvent};
use wasm_bindgen::prelude::wasm_bindgen;

/// Connects and logs nothing: what matters is that it resolves, compiles and links.
#[wasm_bindgen(start)]
pub fn start() {
    let app = AppState::connect(Config::new("/api/ws/v2"));
    let guard = app.topics.subscribe(Topic::agent(1), |_event: &TopicEvent| {});
    std::mem::drop(guard);
}
