//! `use_topic`: calls a callback with every event on a topic while the component is mounted.
//! It subscribes on mount, resubscribes when the topic changes, and drops the handler on unmount.

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use super::owned::use_owned;
use super::use_ws;
use crate::core::TopicEvent;
use crate::protocol::Topic;
use crate::Subscription;

/// Subscribes `callback` to `topic`. The latest callback is always the one called.
#[hook]
pub fn use_topic(topic: Topic, callback: Callback<TopicEvent>) {
    let ws = use_ws();
    let latest: Rc<RefCell<Callback<TopicEvent>>> = use_mut_ref(|| callback.clone());
    *latest.borrow_mut() = callback;
    let owned = use_owned::<Subscription>();
    use_effect_with(topic, move |topic| {
        owned.set(|| {
            ws.app.topics.subscribe(topic.clone(), move |event| {
                latest.borrow().emit(event.clone())
            })
        });
        move || owned.clear()
    });
}
