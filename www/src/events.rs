//! The events page (`?page=events&topics=agent:1,agent:2`): a live log of every event each
//! listed topic delivers to this tab, through `use_topic_callback`. It is what a developer opens
//! to see the stream, and what the end-to-end tests count: each event is also appended to
//! `window.tetherEvents` as `[kind, topic, seq]`, where kind is `subscribed`, `message`,
//! `resync` or `refused`. "Unmount" drops every topic's view, and "Mount" brings them back.

use js_sys::{Array, Reflect};
use tether_client::hooks::use_topic_callback;
use tether_client::TopicEvent;
use wasm_bindgen::{JsCast, JsValue};
use yew::prelude::*;

/// Appends `[kind, topic, seq]` to `window.tetherEvents`, creating it on first use.
fn record(kind: &str, topic: &str, seq: Option<u64>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let key = JsValue::from_str("tetherEvents");
    let log = match Reflect::get(&window, &key) {
        Ok(v) if Array::is_array(&v) => v.unchecked_into::<Array>(),
        _ => {
            let log = Array::new();
            let _ = Reflect::set(&window, &key, &log);
            log
        }
    };
    let seq = seq.map_or(JsValue::NULL, |s| JsValue::from_f64(s as f64));
    log.push(&Array::of3(&kind.into(), &topic.into(), &seq));
}

/// Props of [`Events`].
#[derive(Properties, PartialEq)]
pub struct EventsProps {
    /// The topics to log.
    pub topics: Vec<AttrValue>,
}

/// The page: one log per topic, and a switch that unmounts them all.
#[component]
pub fn Events(props: &EventsProps) -> Html {
    let mounted = use_state(|| true);
    let toggle = {
        let mounted = mounted.clone();
        Callback::from(move |_| mounted.set(!*mounted))
    };
    html! {
        <section class="events" data-testid="events" data-mounted={mounted.to_string()}>
            <button data-testid="events-toggle" onclick={toggle}>
                { if *mounted { "Unmount" } else { "Mount" } }
            </button>
            if *mounted {
                <ul>{ for props.topics.iter().map(|t| html! { <TopicLog key={t.to_string()} topic={t.clone()} /> }) }</ul>
            }
        </section>
    }
}

/// Props of [`TopicLog`].
#[derive(Properties, PartialEq)]
struct TopicLogProps {
    topic: AttrValue,
}

/// How many events one topic delivered here, and the last `seq`.
#[derive(Clone, Copy, Default, PartialEq)]
struct Tally {
    events: u64,
    last: Option<u64>,
}

impl Reducible for Tally {
    /// One more event, with its `seq` if it has one.
    type Action = Option<u64>;

    fn reduce(self: std::rc::Rc<Self>, seq: Option<u64>) -> std::rc::Rc<Self> {
        std::rc::Rc::new(Tally {
            events: self.events + 1,
            last: seq.or(self.last),
        })
    }
}

#[component]
fn TopicLog(props: &TopicLogProps) -> Html {
    let tally = use_reducer_eq(Tally::default);
    let callback = {
        let tally = tally.dispatcher();
        Callback::from(move |event: TopicEvent| {
            let topic = event.topic().to_string();
            match &event {
                TopicEvent::Subscribed { seq, .. } => record("subscribed", &topic, *seq),
                TopicEvent::Message(m) => {
                    record("message", &topic, m.seq);
                    tally.dispatch(m.seq);
                }
                TopicEvent::ResyncRequired { seq, .. } => record("resync", &topic, *seq),
                TopicEvent::Refused { .. } => record("refused", &topic, None),
            }
        })
    };
    use_topic_callback(props.topic.to_string(), callback);
    let last = tally.last.map_or("–".to_owned(), |s| s.to_string());
    html! {
        <li data-testid="topic-log" data-topic={props.topic.clone()} data-events={tally.events.to_string()}>
            <b>{ props.topic.clone() }</b>{ format!(" {} events, last seq {last}", tally.events) }
        </li>
    }
}
