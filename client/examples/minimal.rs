//! The smallest browser app on the generic API, without Yew: one socket, one topic, its payload
//! decoded into a type of the app's own, and the connection state, built the way README's
//! "Shipping small" says (the small allocator, no `format!`). The bench command measures its
//! size (B2) against the same app built from the code before the rewrite.
//!
//! `cargo build -p tether-client --example minimal --target wasm32-unknown-unknown --profile wasm-release`

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
    let config = Config::new("/api/ws/v2").with_token(|| Some("dev-token".into()));
    // Built with feature `tabs` (the size gate's and the bench's measure of what sharing costs),
    // the app's tabs share one socket: the name keys the channel and the locks, and includes
    // the user.
    #[cfg(feature = "tabs")]
    let config = config.share_across_tabs("minimal:dev-user");
    let app = AppState::connect(config);

    // A view subscribes when it mounts, and decodes each event's `data` when it needs it.
    let subscription = app.topics.subscribe(Topic::agent(1), |event: &TopicEvent| {
        if let Some(Ok(agent)) = event.data::<Agent>() {
            // Joined without `format!`, which would link Rust's formatting (1.9 KB gzip).
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

// The small allocator instead of Rust's default (dlmalloc): 3.0 KB gzip less (README,
// "Shipping small").
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: tether_client::small_alloc::SmallAlloc =
    tether_client::small_alloc::SmallAlloc::new();

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
