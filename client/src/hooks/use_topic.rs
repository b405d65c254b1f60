//! `use_topic::<T>`: the latest value published on a topic, decoded as `T`, while the
//! component is mounted; and `use_topic_callback`, which calls back with every event. Both
//! subscribe on mount, resubscribe when the topic changes, and drop the handler on unmount.

use std::cell::RefCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use yew::prelude::*;

use super::owned::use_owned;
use super::use_ws;
use crate::adapter::latest_value;
use crate::core::TopicEvent;
use crate::protocol::Topic;
use crate::{Subscription, UseTopicOptions};

/// The latest value on `topic` whose `data` decodes as `T`: `None` until one arrives. A
/// snapshot the server sends on subscribe counts as a value. Re-renders when a new one does.
///
/// ```
/// use serde::Deserialize;
/// use tether_client::hooks::use_topic;
/// use yew::prelude::*;
///
/// #[derive(Deserialize, PartialEq)]
/// struct Price {
///     symbol: String,
///     cents: u64,
/// }
///
/// #[component]
/// fn Ticker() -> Html {
///     match use_topic::<Price>("ticker:BTC") {
///         Some(price) => html! { <p>{ format!("{} {}", price.symbol, price.cents) }</p> },
///         None => html! { <p>{ "waiting for the first price" }</p> },
///     }
/// }
/// ```
#[hook]
pub fn use_topic<T>(topic: impl Into<Topic>) -> Option<Rc<T>>
where
    T: DeserializeOwned + 'static,
{
    use_topic_with_options::<T>(topic, UseTopicOptions::default())
}

/// [`use_topic`], keeping only the event types `options.kinds` names ([`UseTopicOptions`]).
#[hook]
pub fn use_topic_with_options<T>(topic: impl Into<Topic>, options: UseTopicOptions) -> Option<Rc<T>>
where
    T: DeserializeOwned + 'static,
{
    let latest = use_state(|| None::<Rc<T>>);
    let setter = latest.setter();
    let callback = Callback::from(move |event: TopicEvent| {
        if let Some(value) = latest_value::<T>(&event, &options) {
            setter.set(Some(Rc::new(value)));
        }
    });
    use_topic_callback(topic, callback);
    (*latest).clone()
}

/// Calls `callback` with every event on `topic` (`Subscribed` first, then each message,
/// `ResyncRequired`, `Refused`). The latest callback is always the one called.
///
/// ```
/// use tether_client::hooks::use_topic_callback;
/// use tether_client::TopicEvent;
/// use yew::prelude::*;
///
/// #[component]
/// fn Log() -> Html {
///     let count = use_state(|| 0);
///     let c = count.clone();
///     use_topic_callback("room:1", Callback::from(move |e: TopicEvent| {
///         if e.message().is_some() {
///             c.set(*c + 1);
///         }
///     }));
///     html! { <p>{ *count }{ " events" }</p> }
/// }
/// ```
#[hook]
pub fn use_topic_callback(topic: impl Into<Topic>, callback: Callback<TopicEvent>) {
    let topic = topic.into();
    let ws = use_ws();
    let latest: Rc<RefCell<Callback<TopicEvent>>> = use_mut_ref(|| callback.clone());
    *latest.borrow_mut() = callback;
    let owned = use_owned::<Subscription>();
    use_effect_with(topic, move |topic| {
        owned.set(|| {
            ws.app.topics.subscribe(topic.clone(), move |event| {
                let callback = latest.borrow().clone();
                callback.emit(event.clone())
            })
        });
        move || owned.clear()
    });
}
