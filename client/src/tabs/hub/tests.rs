//! Table tests of the hub core, on a fake upstream (no clock, no socket, no channel): what
//! each input makes the hub say to the tabs and ask of the real client, in order.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::core::{HubCore, HubOutput, Upstream};
use crate::core::{ConnectionState, Replay, SendError, TopicEvent, TopicStatus};
use crate::protocol::control::{kind, write};
use crate::protocol::{CloseCode, Frame, Topic};
use crate::tabs::platform::SharedHealth;
use crate::tabs::wire::{TabId, TabMessage};

const LEADER: TabId = 1;
const A: TabId = 2;
const B: TabId = 3;

/// What the real client says, set by each test.
struct Fake {
    state: ConnectionState,
    replay: Replay,
    rtt_samples: u64,
    status: BTreeMap<String, TopicStatus>,
    server_seq: BTreeMap<String, u64>,
    last_seq: BTreeMap<String, u64>,
    epoch: Option<String>,
}

impl Default for Fake {
    fn default() -> Fake {
        Fake {
            state: ConnectionState::Open,
            replay: Replay::Offered,
            rtt_samples: 0,
            status: BTreeMap::new(),
            server_seq: BTreeMap::new(),
            last_seq: BTreeMap::new(),
            epoch: None,
        }
    }
}

impl Upstream for Fake {
    fn state(&self) -> ConnectionState {
        self.state
    }
    fn replay(&self) -> Replay {
        self.replay
    }
    fn health(&self) -> SharedHealth {
        SharedHealth {
            reconnects: self.rtt_samples,
            ..SharedHealth::default()
        }
    }
    fn topic_status(&self, topic: &Topic) -> Option<&TopicStatus> {
        self.status.get(topic.as_str())
    }
    fn server_seq(&self, topic: &Topic) -> Option<u64> {
        self.server_seq.get(topic.as_str()).copied()
    }
    fn last_seq(&self, topic: &Topic) -> Option<u64> {
        self.last_seq.get(topic.as_str()).copied()
    }
    fn epoch(&self, _: &Topic) -> Option<&str> {
        self.epoch.as_deref()
    }
}

fn drain(hub: &mut HubCore) -> Vec<HubOutput> {
    std::iter::from_fn(|| hub.poll()).collect()
}

/// The texts the outputs deliver to `tab` (now or from a timer), in order.
fn to(tab: TabId, out: &[HubOutput]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            HubOutput::Post(TabMessage::Deliver { to, text, .. })
            | HubOutput::PostFromTimer(TabMessage::Deliver { to, text, .. })
                if *to == tab =>
            {
                Some(text.clone())
            }
            _ => None,
        })
        .collect()
}

/// The kinds (`type`) of what `tab` is delivered, with each event's `seq`.
fn kinds(tab: TabId, out: &[HubOutput]) -> Vec<(String, Option<u64>)> {
    to(tab, out)
        .iter()
        .map(|t| {
            let f = Frame::decode(t).expect("the hub writes frames");
            (f.kind().to_owned(), f.seq)
        })
        .collect()
}

fn ack(topic: &str, seq: Option<u64>) -> String {
    let seqs: Vec<(&str, u64)> = seq.map(|s| (topic, s)).into_iter().collect();
    write::subscribe_ack(0, Some("m1"), &[topic], &seqs, None)
}

fn event(topic: &str, seq: Option<u64>) -> TopicEvent {
    let seq = seq.map_or(String::new(), |s| format!(",\"seq\":{s}"));
    let text =
        format!("{{\"v\":1,\"type\":\"ev\",\"topic\":\"{topic}\",\"ts\":0{seq},\"data\":{{}}}}");
    TopicEvent::Message(Rc::new(Frame::decode(&text).expect("a frame")))
}

fn subscribed(topic: &str, seq: Option<u64>) -> TopicEvent {
    TopicEvent::Subscribed {
        topic: Topic::new(topic),
        seq,
    }
}

/// A hub with `tabs` open (socket 10 + tab id), its outputs so far drained.
fn hub_with(tabs: &[TabId], up: &Fake) -> HubCore {
    let mut hub = HubCore::new(LEADER);
    for &tab in tabs {
        open(&mut hub, tab, up);
    }
    drain(&mut hub);
    hub
}

fn open(hub: &mut HubCore, tab: TabId, up: &Fake) {
    let socket = 10 + tab;
    hub.handle_message(TabMessage::Open { from: tab, socket }, up);
}

fn send(hub: &mut HubCore, tab: TabId, text: String, up: &Fake) -> Vec<HubOutput> {
    let (from, socket) = (tab, 10 + tab);
    hub.handle_message(TabMessage::Frame { from, socket, text }, up);
    drain(hub)
}

fn subscribe(
    hub: &mut HubCore,
    tab: TabId,
    topics: &[(&str, Option<u64>)],
    up: &Fake,
) -> Vec<HubOutput> {
    send(hub, tab, write::subscribe(0, "m1", topics), up)
}

fn on(hub: &mut HubCore, tab: TabId, topic: &str, e: TopicEvent, up: &Fake) -> Vec<HubOutput> {
    hub.handle_topic_event(tab, 10 + tab, &Topic::new(topic), &e, up);
    drain(hub)
}

fn ping(hub: &mut HubCore, tab: TabId, up: &Fake) -> Vec<HubOutput> {
    send(
        hub,
        tab,
        write::heartbeat(kind::PING, 0, Some("p1"), Some(7)),
        up,
    )
}

fn pong() -> String {
    write::heartbeat(kind::PONG, 0, Some("p1"), Some(7))
}

/// The status a hub posts, as `(state, tabs)`.
fn statuses(out: &[HubOutput]) -> Vec<(ConnectionState, usize)> {
    out.iter()
        .filter_map(|o| match o {
            HubOutput::Post(TabMessage::Status { state, tabs, .. }) => Some((*state, *tabs)),
            _ => None,
        })
        .collect()
}

fn opened(tab: TabId) -> HubOutput {
    HubOutput::Post(TabMessage::Opened {
        to: tab,
        socket: 10 + tab,
        leader: LEADER,
    })
}

fn release(tab: TabId, topic: &str) -> HubOutput {
    HubOutput::Release {
        tab,
        socket: 10 + tab,
        topic: Topic::new(topic),
    }
}

fn closed(tab: TabId, code: CloseCode) -> HubOutput {
    HubOutput::Post(TabMessage::Closed {
        to: tab,
        socket: 10 + tab,
        code: code.0,
    })
}

mod cursors;
mod sockets;
