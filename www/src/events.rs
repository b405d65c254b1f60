//! The events page (`?page=events&topics=agent:1,agent:2`): a live log of the events each
//! listed topic delivers to this tab, through `use_topic_callback`: each topic's state (waiting
//! for the server, live, refused, resynced), its count, and its latest events. It is what a
//! developer opens to see the stream, and what the end-to-end tests count: each event is also
//! appended to `window.tetherEvents` as `[kind, topic, seq]`, where kind is `subscribed`,
//! `message`, `resync` or `refused`. "Stop listening" drops every topic's view, and "Listen
//! again" brings them back.

use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Array, Reflect};
use tether_client::hooks::use_topic_callback;
use tether_client::TopicEvent;
use wasm_bindgen::{JsCast, JsValue};
use yew::prelude::*;

/// The latest events kept per topic.
const RECENT: usize = 20;

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
        <section class="view events" data-testid="events" data-mounted={mounted.to_string()}>
            <div class="events-head">
                <p class="muted">
                    { "The events this tab receives on each topic, newest first. Choose the topics in the address: " }
                    <code>{ "?page=events&topics=agent:1,user:1" }</code>
                </p>
                <button data-testid="events-toggle" onclick={toggle}>
                    { if *mounted { "Stop listening" } else { "Listen again" } }
                </button>
            </div>
            if *mounted {
                <ul class="topic-logs">{ for props.topics.iter().map(|t| html! { <TopicLog key={t.to_string()} topic={t.clone()} /> }) }</ul>
            } else {
                <p class="empty" data-testid="events-stopped">{ "Not listening: no topic is subscribed by this page." }</p>
            }
        </section>
    }
}

/// Where one topic stands for this page.
#[derive(Clone, Debug, Default, PartialEq)]
enum Standing {
    /// Waiting for the server to take the subscription.
    #[default]
    Waiting,
    /// Subscribed; events after `seq` follow.
    Live,
    /// Refused by the server (it is asked again on the next connection).
    Refused { code: String, error: String },
}

/// One event as the log shows it.
#[derive(Clone, Debug, PartialEq)]
struct Line {
    seq: Option<u64>,
    kind: String,
    data: String,
}

/// What one topic delivered here.
#[derive(Clone, Debug, Default, PartialEq)]
struct Log {
    standing: Standing,
    /// Events with a `seq`.
    events: u64,
    /// Events without one: snapshots sent on subscribe.
    snapshots: u64,
    resyncs: u64,
    last: Option<u64>,
    recent: VecDeque<Line>,
}

enum Action {
    Subscribed,
    Message(Line),
    Resync,
    Refused { code: String, error: String },
}

impl Reducible for Log {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut log = (*self).clone();
        match action {
            Action::Subscribed => log.standing = Standing::Live,
            Action::Message(line) => {
                match line.seq {
                    Some(_) => log.events += 1,
                    None => log.snapshots += 1,
                }
                log.last = line.seq.or(log.last);
                log.recent.push_front(line);
                log.recent.truncate(RECENT);
            }
            Action::Resync => log.resyncs += 1,
            Action::Refused { code, error } => log.standing = Standing::Refused { code, error },
        }
        Rc::new(log)
    }
}

/// Props of [`TopicLog`].
#[derive(Properties, PartialEq)]
struct TopicLogProps {
    topic: AttrValue,
}

/// "Live: its snapshot, then 3 events, last seq 40."
fn live_summary(log: &Log) -> String {
    let events = match (log.events, log.last) {
        (0, _) | (_, None) => "no events yet".to_owned(),
        (1, Some(last)) => format!("1 event, seq {last}"),
        (n, Some(last)) => format!("{n} events, last seq {last}"),
    };
    match log.snapshots {
        0 => format!("Live: {events}."),
        _ => format!("Live: its snapshot, then {events}."),
    }
}

/// `data` cut to a line.
fn one_line(data: &str) -> String {
    const MAX: usize = 160;
    match data.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &data[..at]),
        None => data.to_owned(),
    }
}

#[component]
fn TopicLog(props: &TopicLogProps) -> Html {
    let log = use_reducer_eq(Log::default);
    let callback = {
        let log = log.dispatcher();
        Callback::from(move |event: TopicEvent| {
            let topic = event.topic().to_string();
            match &event {
                TopicEvent::Subscribed { seq, .. } => {
                    record("subscribed", &topic, *seq);
                    log.dispatch(Action::Subscribed);
                }
                TopicEvent::Message(m) => {
                    record("message", &topic, m.seq);
                    log.dispatch(Action::Message(Line {
                        seq: m.seq,
                        kind: m.kind().to_owned(),
                        data: one_line(m.raw_data()),
                    }));
                }
                TopicEvent::ResyncRequired { seq, .. } => {
                    record("resync", &topic, *seq);
                    log.dispatch(Action::Resync);
                }
                TopicEvent::Refused { code, error, .. } => {
                    record("refused", &topic, None);
                    log.dispatch(Action::Refused {
                        code: code.clone(),
                        error: error.clone(),
                    });
                }
            }
        })
    };
    use_topic_callback(props.topic.to_string(), callback);
    let (standing, summary) = match &log.standing {
        Standing::Waiting => ("waiting", "Waiting for the server…".to_owned()),
        Standing::Live => ("live", live_summary(&log)),
        Standing::Refused { code, error } => (
            "refused",
            format!("Refused by the server ({code}): {error}. Nothing will arrive on this topic."),
        ),
    };
    html! {
        <li class={classes!("topic-log", standing)} data-testid="topic-log" data-topic={props.topic.clone()}
            data-standing={standing} data-events={log.events.to_string()} data-snapshots={log.snapshots.to_string()}>
            <h3><code>{ props.topic.clone() }</code></h3>
            <p class="topic-summary" data-testid="topic-summary">{ summary }
                if log.resyncs > 0 { { format!(" Resynced {} time(s): events were missed.", log.resyncs) } }
            </p>
            if !log.recent.is_empty() {
                <ol class="event-lines">
                    { for log.recent.iter().map(|line| html! {
                        <li data-testid="event" data-seq={line.seq.map(|s| s.to_string())}>
                            <span class="seq" title={line.seq.is_none().then_some("a snapshot: no seq")}>
                                { line.seq.map_or("—".to_owned(), |s| format!("#{s}")) }
                            </span>
                            <b>{ line.kind.clone() }</b>
                            <code>{ line.data.clone() }</code>
                        </li>
                    }) }
                </ol>
            }
        </li>
    }
}
