use std::cell::RefCell;
use std::rc::Rc;

use serde::Deserialize;
use tether_client::protocol::Topic;
use tether_client::{AppState, Config, ConnectionState, TopicEvent};

/// The part of an agent this view shows. Decode into any type of your own.
#[derive(Deserialize)]
struct Agent {
    name: Option<String>,
    status: Option<String>,
}

fn main() {
    // Once per app: connects now, and reconnects forever with jittered backoff and heartbeats.
    let app = AppState::connect(Config::new("/api/ws/v2").with_token(|| Some("dev-token".into())));

    // A view subscribes when it mounts. Before the socket opens, the subscribe is queued.
    let shown = Rc::new(RefCell::new(String::from("loading…")));
    let view = shown.clone();
    let subscription = app
        .topics
        .subscribe(Topic::agent(1), move |event: &TopicEvent| {
            // The snapshot sent on subscribe (`agent_state`) and every update carry the agent.
            if let Some(Ok(agent)) = event.data::<Agent>() {
                let name = agent.name.unwrap_or_default();
                *view.borrow_mut() = format!("{name} is {}", agent.status.unwrap_or_default());
            }
        });

    // Connection state, for a status badge.
    let badge = Rc::new(RefCell::new(app.client.state()));
    let sink = badge.clone();
    let _listener = app
        .client
        .on_state_change(move |state| *sink.borrow_mut() = *state);
    assert!(matches!(
        *badge.borrow(),
        ConnectionState::Idle | ConnectionState::Connecting
    ));

    // The view unmounts: dropping the guard removes the handler; the wire `unsubscribe` goes
    // out with the topic's last handler.
    drop(subscription);
    assert_eq!(app.topics.total_handlers(), 0);
}
