//! The hub's server side: a tab's frames in (subscriptions, pings, requests), answered as a
//! server answers them, and a tab's requests relayed up with their ids rewritten.

use super::core::{HubCore, HubOutput, TabTopic, Upstream};
use crate::core::topic_map::TopicMap;
use crate::core::{SendError, TopicStatus};
use crate::protocol::control::{kind, write, ControlRef, TopicsRef};
use crate::protocol::json::{parse_u64, push_u64};
use crate::protocol::{CloseCode, EnvelopeRef, Topic};
use crate::tabs::wire::{TabId, TabMessage};

/// The prefix of a relayed request's id: `t{tab}.` then the tab's own id.
pub(super) fn relay_prefix(tab: TabId) -> String {
    let mut prefix = String::from("t");
    push_u64(&mut prefix, tab);
    prefix.push('.');
    prefix
}

/// The tab a relayed request's id names, and the tab's own id: the reverse of
/// [`relay_prefix`].
pub(super) fn relayed_for(req_id: &str) -> Option<(TabId, &str)> {
    let (tab, original) = req_id.strip_prefix('t')?.split_once('.')?;
    Some((parse_u64(tab)?, original))
}

/// Why a relayed frame was not sent, in a few words.
fn not_sent(e: &SendError) -> &'static str {
    match e {
        SendError::OutboxFull(_) => "outbox full",
        SendError::TooLarge(_) => "frame over the limit",
        SendError::Closed => "client closed",
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
                    self.subscribe(tab, &s, up);
                }
            }
            Some(Ok(ControlRef::Unsubscribe)) => {
                if let Some(Ok(u)) = TopicsRef::parse(&envelope) {
                    self.unsubscribe(tab, socket, &u);
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
    /// A topic listed twice is held once.
    fn subscribe(&mut self, tab: TabId, request: &TopicsRef<'_>, up: &impl Upstream) {
        let mut asked = TopicMap::default();
        for (topic, seq) in request.since() {
            asked.insert(&Topic::new(topic.value()), seq);
        }
        let message_id = request.message_id.map(|m| m.value().into_owned());
        let Some(t) = self.tabs.get_mut(tab) else {
            return;
        };
        t.requests += 1;
        let number = t.requests;
        for name in request.topics() {
            let topic = Topic::new(name.value());
            let active = up.topic_status(&topic) == Some(&TopicStatus::Active);
            let (since, snapshot) = match asked.get(topic.as_str()) {
                Some(at) => (Some(*at), None),
                None => match self.snapshot(topic.as_str()).filter(|_| active) {
                    Some(snapshot) => (Some(snapshot.1), Some(snapshot)),
                    None => (None, None),
                },
            };
            let Some(t) = self.tabs.get_mut(tab) else {
                return;
            };
            let entry = TabTopic {
                since,
                snapshot,
                cursor: None,
                acked: false,
                message_id: message_id.clone(),
                request: number,
            };
            t.unacked += 1;
            match t.topics.insert(&topic, entry) {
                Some(old) if old.request == number => {
                    t.unacked -= 1; // listed twice: held once, answered once
                    continue;
                }
                // Its answer will not count any more.
                Some(old) => t.unacked -= usize::from(!old.acked),
                None => {}
            }
            let socket = t.socket;
            self.push(HubOutput::Subscribe {
                tab,
                socket,
                topic,
                since,
            });
        }
    }

    fn unsubscribe(&mut self, tab: TabId, socket: u64, request: &TopicsRef<'_>) {
        let HubCore { tabs, out, .. } = self;
        let Some(t) = tabs.get_mut(tab) else {
            return;
        };
        let mut echoed = Vec::new();
        for name in request.topics() {
            let topic = Topic::new(name.value());
            if let Some(dropped) = t.topics.remove(topic.as_str()) {
                // A subscribe dropped before its answer will get none: pongs need not wait.
                t.unacked -= usize::from(!dropped.acked);
                out.push(HubOutput::Release {
                    tab,
                    socket: t.socket,
                    topic: topic.clone(),
                });
            }
            echoed.push(topic);
        }
        let pongs = if t.unacked == 0 {
            std::mem::take(&mut t.held_pongs)
        } else {
            Vec::new()
        };
        let mid = request.message_id.map(|m| m.value());
        let done = write::unsubscribe_success(0, mid.as_deref(), &echoed);
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
