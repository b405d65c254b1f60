//! `minimal.rs` (the same allocator, no `format!`) with resume across reloads turned on (feature
//! `resume`): the size gate measures what resuming costs an app that uses it.
//!
//! `cargo build -p tether-client --example minimal_resume --features resume --target wasm32-unknown-unknown --profile wasm-release`

#[cfg(target_arch = "wasm32")]
fn main() {
    use serde::Deserialize;
    use tether_client::protocol::Topic;
    use tether_client::{AppState, Config, TopicEvent};

    /// The part of an agent this view shows.
    #[derive(Deserialize)]
    struct Agent {
        name: String,
        status: String,
    }

    // Once per app: connects now and reconnects forever, with jittered backoff and heartbeats.
    let config = Config::new("/api/ws/v2")
        .with_token(|| Some("dev-token".into()))
        .resume("my-app:1");
    let app = AppState::connect(config);

    // A view subscribes when it mounts, and decodes each event's `data` when it needs it.
    let subscription = app.topics.subscribe(Topic::agent(1), |event: &TopicEvent| {
        if let Some(Ok(agent)) = event.data::<Agent>() {
            let line = [agent.name.as_str(), " is ", &agent.status].concat();
            web_sys::console::log_1(&line.into());
        }
    });

    // Connection state for a status badge.
    let _badge = app
        .client
        .on_state_change(|state| web_sys::console::log_1(&state.name().into()));

    // The view unmounts: dropping the guard removes the handler; the wire `unsubscribe` goes
    // out with the topic's last handler.
    drop(subscription);
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: tether_client::small_alloc::SmallAlloc =
    tether_client::small_alloc::SmallAlloc::new();

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
