//! The hub's server side: a tab's frames in (subscriptions, pings, requests), answered as a
//! server answers them, and a tab's requests relayed up with their ids rewritten.

use super::core::{HubCore, HubOutput, TabTopic, Upstream};
use crate::core::topic_map::TopicMap;
use crate::core::{SendError, TopicStatus};
use crate::protocol::control::{kind, write, ControlRef, TopicsRef};
use crate::protocol::json::push_u64;
use crate::protocol::{CloseCode, EnvelopeRef, Topic};
use crate::tabs::wire::{TabId, TabMessage};

/// The prefix of a relayed request's id: `t{tab}.` then the tab's own id.
pub(super) fn relay_prefix(tab: TabId) -> String {
    let mut prefix = String::from("t");
    push_u64(&mut prefix, tab);
    prefix.push('.');
    prefix
}

/// What a tab asked to subscribe or unsubscribe, each topic once.
pub(super) struct Request {
    pub(super) topics: Vec<Topic>,
    pub(super) message_id: Option<String>,
    pub(super) since: TopicMap<u64>,
}

impl Request {
    fn of(r: &TopicsRef<'_>) -> Request {
        let mut seen = TopicMap::default();
        let topics = r
            .topics()
            .map(|t| Topic::new(t.value()))
            .filter(|t| seen.insert(t, ()).is_none())
            .collect();
        let mut since = TopicMap::default();
        for (topic, seq) in r.since() {
            since.insert(&Topic::new(topic.value()), seq);
        }
        Request {
            topics,
            message_id: r.message_id.map(|m| m.value().into_owned()),
            since,
        }
    }
}

/// Why a relayed frame was not sent, in a few words.
fn not_sent(e: &SendError) -> &'static str {
    match e {
        SendError::OutboxFull(_) => "the outbox is full",
        SendError::TooLarge(_) => "the frame is over the limit",
        SendError::Closed => "the client is closed",
    }
}

impl HubCore {
    /// A frame from a tab's client.
    pub(super) fn handle_frame(&mut self, tab: TabId, socket: u64, text: &str, up: &impl Upstream) {
        let open = self
            .tabs
            .get(tab)
            .is_some_and(|t| t.open && t.socket == socket);
        if !open {
            // A tab that believes it is connected here (it heard an `Opened` from a leader
            // that has since left, say) is told it is not, and reconnects.
            self.post(TabMessage::Closed {
                to: tab,
                socket,
                code: CloseCode::RESTART.0,
            });
            return;
        }
        let Ok(envelope) = EnvelopeRef::parse(text) else {
            return; // a tab's client never sends one; nothing to answer
        };
        match ControlRef::parse(&envelope) {
            Some(Ok(ControlRef::Subscribe)) => {
                if let Some(Ok(s)) = TopicsRef::parse(&envelope) {
                    self.subscribe(tab, socket, Request::of(&s), up);
                }
            }
            Some(Ok(ControlRef::Unsubscribe)) => {
                if let Some(Ok(u)) = TopicsRef::parse(&envelope) {
                    self.unsubscribe(tab, socket, Request::of(&u));
                }
            }
            Some(Ok(ControlRef::Ping(timestamp))) => {
                self.broadcast_if_changed(up);
                let req_id = envelope.req_id.map(|r| r.value());
                let pong = write::heartbeat(kind::PONG, 0, req_id.as_deref(), timestamp);
                match self.tabs.get_mut(tab) {
                    Some(t) if t.unacked > 0 => t.held_pongs.push(pong),
                    // From a timer task: a leader whose timers are frozen answers no pings.
                    _ => self.post_from_timer(TabMessage::Deliver {
                        to: tab,
                        socket,
                        text: pong,
                    }),
                }
            }
            Some(_) => {}
            None => self.relay_up(tab, socket, &envelope),
        }
    }

    /// A tab subscribes: each topic is held for it on the real client, from the `since` it
    /// asked for, or, when it joins a topic already active, from the cached snapshot's `seq`.
    fn subscribe(&mut self, tab: TabId, socket: u64, request: Request, up: &impl Upstream) {
        let Some(t) = self.tabs.get_mut(tab) else {
            return;
        };
        let mut held = Vec::new();
        for topic in &request.topics {
            let active = up.topic_status(topic) == Some(TopicStatus::Active);
            let joined = self
                .snapshots
                .get(topic.as_str())
                .filter(|_| active && !request.since.contains(topic.as_str()));
            let (since, snapshot) = match request.since.get(topic.as_str()) {
                Some(at) => (Some(*at), None),
                None => joined.map_or((None, None), |(snap, at)| (Some(*at), Some(snap.clone()))),
            };
            let entry = TabTopic {
                since,
                snapshot,
                cursor: None,
                acked: false,
                message_id: request.message_id.clone(),
            };
            t.unacked += 1;
            if let Some(old) = t.topics.insert(topic, entry) {
                // Its answer will not count any more.
                t.unacked -= usize::from(!old.acked);
            }
            held.push(HubOutput::Subscribe {
                tab,
                socket,
                topic: topic.clone(),
                since,
            });
        }
        for output in held {
            self.push(output);
        }
    }

    fn unsubscribe(&mut self, tab: TabId, socket: u64, request: Request) {
        let Some(t) = self.tabs.get_mut(tab) else {
            return;
        };
        let dropped = request
            .topics
            .iter()
            .filter_map(|topic| t.topics.remove(topic.as_str()).map(|d| (topic, d)));
        let mut released = Vec::new();
        for (topic, d) in dropped {
            // Subscribes dropped before their answer will get none: pongs need not wait.
            t.unacked -= usize::from(!d.acked);
            released.push(topic.clone());
        }
        let pongs: Vec<String> = if t.unacked == 0 {
            t.held_pongs.drain(..).collect()
        } else {
            Vec::new()
        };
        let tab_socket = t.socket;
        for topic in released {
            self.push(HubOutput::Release {
                tab,
                socket: tab_socket,
                topic,
            });
        }
        self.forget_unheld_snapshots();
        let mid = request.message_id.as_deref();
        let done = write::unsubscribe_success(0, mid, &request.topics);
        self.deliver(tab, socket, done);
        for pong in pongs {
            self.deliver(tab, socket, pong);
        }
    }

    /// A request (or any app frame) from a tab goes up with its id rewritten (and its `ts`,
    /// the tab's clock, kept).
    fn relay_up(&mut self, tab: TabId, socket: u64, envelope: &EnvelopeRef<'_>) {
        let original = envelope.req_id.map(|r| r.value().into_owned());
        let relayed = original.as_deref().map(|r| relay_prefix(tab) + r);
        let text = envelope.encode_with_req_id(relayed.as_deref());
        self.push(HubOutput::SendUp {
            tab,
            socket,
            text,
            req_id: original,
        });
    }

    /// A relayed frame could not be sent: a request is answered with an error.
    pub fn handle_not_sent(
        &mut self,
        tab: TabId,
        socket: u64,
        req_id: Option<&str>,
        e: &SendError,
    ) {
        if let Some(req_id) = req_id {
            let error = write::error(0, Some(req_id), "NOT_SENT", not_sent(e));
            self.deliver(tab, socket, error);
        }
    }
}
