//! The README's example: one socket for the whole app, and a view's subscription as a guard.
//! Build it for the browser with `cargo build --example browser --target wasm32-unknown-unknown`.

#[cfg(target_arch = "wasm32")]
fn main() {
    use tether::core::{Config, TopicEvent};
    use tether::protocol::{ServerMessage, Topic};
    use tether::AppState;

    // Once per app: connects now and reconnects forever, with jittered backoff and heartbeats.
    let app = AppState::connect(Config::new("/api/ws/v2").with_token(|| Some("dev-token".into())));

    // A view subscribes when it mounts. Before the socket opens, the subscribe is queued.
    let subscription = app.topics.subscribe(Topic::Agent(1), |event: &TopicEvent| {
        if let ServerMessage::AgentUpdated(agent) = &event.frame.msg {
            web_sys::console::log_1(&format!("{} is {}", agent.name, agent.status).into());
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

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
