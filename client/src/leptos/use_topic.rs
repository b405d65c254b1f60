//! [`use_topic::<T>`](use_topic): the latest value published on a topic, as a signal;
//! [`use_topic_events`]: a callback with every event; [`use_send`]: a handle to send. The
//! topic may be a signal: a new topic resubscribes.

use std::rc::Rc;

use ::leptos::prelude::*;
use serde::de::DeserializeOwned;

use super::mount::while_mounted;
use super::use_tether;
use crate::adapter::latest_value;
use crate::core::TopicEvent;
use crate::{UseSend, UseTopicOptions};

/// The latest value on `topic` whose `data` decodes as `T`: `None` until one arrives (and on
/// the server). A snapshot the server sends on subscribe counts as a value.
///
/// ```
/// use leptos::prelude::*;
/// use serde::Deserialize;
/// use tether_client::leptos::use_topic;
///
/// #[derive(Clone, Deserialize)]
/// struct Price {
///     symbol: String,
///     cents: u64,
/// }
///
/// #[component]
/// fn Ticker() -> impl IntoView {
///     let price = use_topic::<Price>("ticker:BTC");
///     move || match price.get() {
///         Some(p) => format!("{} {}", p.symbol, p.cents),
///         None => "waiting for the first price".to_owned(),
///     }
/// }
/// ```
pub fn use_topic<T>(topic: impl Into<Signal<String>>) -> Signal<Option<T>>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    use_topic_with_options::<T>(topic, UseTopicOptions::default())
}

/// [`use_topic`], keeping only the event types `options.kinds` names.
///
/// ```
/// use leptos::prelude::*;
/// use tether_client::leptos::use_topic_with_options;
/// use tether_client::UseTopicOptions;
///
/// #[component]
/// fn AgentName() -> impl IntoView {
///     let options = UseTopicOptions { kinds: &["agent_updated"] };
///     let agent = use_topic_with_options::<serde_json::Value>("agent:7", options);
///     move || agent.get().map(|a| a["name"].to_string())
/// }
/// ```
pub fn use_topic_with_options<T>(
    topic: impl Into<Signal<String>>,
    options: UseTopicOptions,
) -> Signal<Option<T>>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    let (value, set_value) = signal(None::<T>);
    use_topic_events(topic, move |event| {
        if let Some(new) = latest_value::<T>(event, &options) {
            // A view cleaned up in the same tick leaves a disposed signal: nothing to show.
            let _ = set_value.try_set(Some(new));
        }
    });
    value.into()
}

/// Calls `on_event` with every event on `topic` (`Subscribed` first, then each message,
/// `ResyncRequired`, `Refused`) while the view is mounted.
///
/// ```
/// use leptos::prelude::*;
/// use tether_client::leptos::use_topic_events;
///
/// #[component]
/// fn Log() -> impl IntoView {
///     let (count, set_count) = signal(0);
///     use_topic_events("room:1", move |e| {
///         if e.message().is_some() {
///             set_count.update(|n| *n += 1);
///         }
///     });
///     view! { <p>{count}" events"</p> }
/// }
/// ```
pub fn use_topic_events(
    topic: impl Into<Signal<String>>,
    on_event: impl Fn(&TopicEvent) + 'static,
) {
    let topic = topic.into();
    let app = use_tether();
    let on_event = Rc::new(on_event);
    while_mounted(
        move || topic.get(),
        move |topic| {
            let on_event = on_event.clone();
            app.topics.subscribe(topic, move |event| on_event(event))
        },
    );
}

/// A handle to send on the app's socket ([`UseSend`]).
///
/// ```
/// use leptos::prelude::*;
/// use tether_client::leptos::use_send;
///
/// #[component]
/// fn Like() -> impl IntoView {
///     let sender = use_send();
///     let like = move |_| {
///         let _ = sender.send("like", "post:7", &serde_json::json!({ "post": 7 }));
///     };
///     view! { <button on:click=like>"Like"</button> }
/// }
/// ```
pub fn use_send() -> UseSend {
    UseSend::new(use_tether().client.clone())
}
