//! The components B4 mounts and unmounts: `use_dashboard`, `use_chat`, `use_topic`,
//! `use_connection` and `use_metrics` (which holds an interval), below the app's providers,
//! which stay mounted; and the plain Yew tree of the heap baseline.

use std::cell::RefCell;
use std::rc::Rc;

use tether_client::agents::hooks::{use_chat, use_dashboard, AgentsContext};
use tether_client::hooks::{use_connection, use_metrics, use_topic, WsContext};
use tether_client::protocol::Topic;
use yew::prelude::*;

use crate::page::Agent;

/// What the soak mounts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Part {
    /// Every hook at once.
    All,
    /// One hook alone.
    Dashboard,
    Chat,
    Topic,
    Connection,
    Metrics,
    /// The baseline: plain Yew components (a context provider, state, an effect), no tether.
    Plain,
}

impl Part {
    /// The hook a part exercises.
    pub fn hook(self) -> &'static str {
        match self {
            Part::All => "all hooks",
            Part::Dashboard => "use_dashboard",
            Part::Chat => "use_chat",
            Part::Topic => "use_topic",
            Part::Connection => "use_connection",
            Part::Metrics => "use_metrics",
            Part::Plain => "plain Yew",
        }
    }

    fn shows(self, part: Part) -> bool {
        self == Part::All || self == part
    }
}

/// The root's props: the providers' contexts, what to mount, and the switch B4 flips.
#[derive(Properties)]
pub struct RootProps {
    pub ws: WsContext,
    pub agents: AgentsContext,
    pub thread: u64,
    pub agent: u64,
    pub part: Part,
    pub control: Rc<RefCell<Option<Callback<bool>>>>,
}

impl PartialEq for RootProps {
    fn eq(&self, other: &Self) -> bool {
        self.ws == other.ws
            && self.agents == other.agents
            && (self.thread, self.agent, self.part) == (other.thread, other.agent, other.part)
            && Rc::ptr_eq(&self.control, &other.control)
    }
}

#[derive(Properties, PartialEq)]
struct SoakProps {
    thread: u64,
    agent: u64,
    part: Part,
}

/// The providers, always mounted, and below them the soaked part while `on`.
#[component]
pub fn Root(props: &RootProps) -> Html {
    let on = use_state(|| false);
    let setter = on.clone();
    *props.control.borrow_mut() = Some(Callback::from(move |v: bool| setter.set(v)));
    html! {
        <ContextProvider<WsContext> context={props.ws.clone()}>
            <ContextProvider<AgentsContext> context={props.agents.clone()}>
                if !*on {}
                else if props.part == Part::Plain { <Plain /> }
                else { <Soak thread={props.thread} agent={props.agent} part={props.part} /> }
            </ContextProvider<AgentsContext>>
        </ContextProvider<WsContext>>
    }
}

#[component]
fn Soak(props: &SoakProps) -> Html {
    let p = props.part;
    html! {
        <>
            if p.shows(Part::Dashboard) { <Dashboard /> }
            if p.shows(Part::Chat) { <Chat thread={props.thread} agent={props.agent} part={p} /> }
            if p.shows(Part::Topic) { <TopicView thread={props.thread} agent={props.agent} part={p} /> }
            if p.shows(Part::Connection) { <Badge /> }
            if p.shows(Part::Metrics) { <Health /> }
        </>
    }
}

#[component]
fn Dashboard() -> Html {
    let d = use_dashboard();
    html! { <p>{ d.model.agents().count() }</p> }
}

#[component]
fn Chat(props: &SoakProps) -> Html {
    let c = use_chat(props.thread);
    html! { <p>{ c.model.entries().len() }</p> }
}

#[component]
fn TopicView(props: &SoakProps) -> Html {
    let agent = use_topic::<Agent>(Topic::agent(props.agent));
    html! { <p>{ agent.map(|a| a.name.clone()).unwrap_or_default() }</p> }
}

#[component]
fn Badge() -> Html {
    let state = use_connection();
    html! { <p>{ state.name() }</p> }
}

#[component]
fn Health() -> Html {
    let m = use_metrics(1_000);
    html! { <p>{ m.counters.frames_in }</p> }
}

/// The heap baseline: a tree of the same shape made of plain Yew components (a context
/// provider, state, an effect with a cleanup) and no tether.
#[component]
fn Plain() -> Html {
    html! {
        <ContextProvider<u64> context={7}>
            <PlainLeaf /><PlainLeaf /><PlainLeaf /><PlainLeaf /><PlainLeaf />
        </ContextProvider<u64>>
    }
}

#[component]
fn PlainLeaf() -> Html {
    let value = use_context::<u64>().unwrap_or_default();
    let state = use_state(|| 0u64);
    let set = state.clone();
    use_effect_with(value, move |v| {
        set.set(*v);
        move || drop(set)
    });
    html! { <p>{ *state }</p> }
}
