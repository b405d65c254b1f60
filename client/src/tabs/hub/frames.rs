//! The hub's server side: a tab's frames in (subscriptions, pings, requests), the real
//! client's events and replies out to the tabs, each tab's cursor deciding what it still needs.

use std::rc::Rc;

use super::{Hub, Outgoing, TabTopic};
use crate::core::{Replay, TopicEvent};
use crate::protocol::control::{
    ErrorData, Heartbeat, ResyncRequired, Subscribe, SubscribeAck, SubscribeError, Unsubscribe,
    UnsubscribeSuccess,
};
use crate::protocol::{Control, Envelope, Topic};
use crate::tabs::wire::TabId;

/// The prefix of a relayed request's id: `t{tab}.` then the tab's own id.
fn relay_prefix(tab: TabId) -> String {
    format!("t{tab}.")
}

fn control(frame: Control, req_id: Option<String>) -> String {
    let mut envelope = frame.to_envelope();
    envelope.req_id = req_id;
    envelope.encode()
}

impl Hub {
    /// A frame from a tab's client.
    pub(super) fn on_frame(self: &Rc<Self>, tab: TabId, socket: u64, text: &str) {
        let open = self
            .state
            .borrow()
            .tabs
            .get(&tab)
            .is_some_and(|t| t.open && t.socket == socket);
        if !open {
            return;
        }
        let Ok(envelope) = Envelope::decode(text) else {
            return; // a tab's client never sends one; nothing to answer
        };
        match Control::parse(&envelope) {
            Some(Ok(Control::Subscribe(s))) => self.subscribe(tab, socket, s),
            Some(Ok(Control::Unsubscribe(u))) => self.unsubscribe(tab, socket, u),
            Some(Ok(Control::Ping(Heartbeat { timestamp }))) => {
                self.broadcast_if_changed();
                let pong = control(Control::Pong(Heartbeat { timestamp }), envelope.req_id);
                let now = {
                    let mut s = self.state.borrow_mut();
                    match s.tabs.get_mut(&tab) {
                        Some(t) if t.unacked > 0 => {
                            t.held_pongs.push(pong);
                            None
                        }
                        _ => Some(pong),
                    }
                };
                if let Some(pong) = now {
                    self.deliver(vec![(tab, socket, pong)]);
                }
            }
            Some(_) => {}
            None => self.relay_up(tab, socket, envelope),
        }
    }

    fn subscribe(self: &Rc<Self>, tab: TabId, socket: u64, request: Subscribe) {
        let since = request.since.clone().unwrap_or_default();
        let mut replaced = Vec::new();
        {
            let mut s = self.state.borrow_mut();
            let Some(t) = s.tabs.get_mut(&tab) else {
                return;
            };
            for topic in &request.topics {
                let entry = TabTopic {
                    since: since.get(topic).copied(),
                    cursor: None,
                    acked: false,
                    message_id: request.message_id.clone(),
                    guard: None,
                };
                t.unacked += 1;
                if let Some(old) = t.topics.insert(topic.clone(), entry) {
                    replaced.push(old);
                }
            }
        }
        for topic in request.topics {
            let weak = Rc::downgrade(self);
            let (name, at) = (topic.clone(), since.get(&topic).copied());
            let guard = self
                .upstream
                .topics
                .subscribe_from(topic.clone(), at, move |event| {
                    if let Some(hub) = weak.upgrade() {
                        hub.on_topic_event(tab, socket, &name, event);
                    }
                });
            let mut s = self.state.borrow_mut();
            let slot = s
                .tabs
                .get_mut(&tab)
                .filter(|t| t.socket == socket)
                .and_then(|t| t.topics.get_mut(&topic));
            match slot {
                Some(t) => t.guard = Some(guard),
                None => replaced.push(TabTopic {
                    since: None,
                    cursor: None,
                    acked: true,
                    message_id: None,
                    guard: Some(guard),
                }),
            }
        }
        drop(replaced); // after the borrows: dropping a guard calls into the real client
    }

    fn unsubscribe(&self, tab: TabId, socket: u64, request: Unsubscribe) {
        let dropped: Vec<TabTopic> = {
            let mut s = self.state.borrow_mut();
            let Some(t) = s.tabs.get_mut(&tab) else {
                return;
            };
            request
                .topics
                .iter()
                .filter_map(|topic| t.topics.remove(topic))
                .collect()
        };
        drop(dropped);
        let done = UnsubscribeSuccess {
            message_id: request.message_id,
            topics: request.topics,
        };
        self.deliver(vec![(
            tab,
            socket,
            control(Control::UnsubscribeSuccess(done), None),
        )]);
    }

    /// A request (or any app frame) from a tab goes up with its id rewritten.
    fn relay_up(&self, tab: TabId, socket: u64, mut envelope: Envelope) {
        let original = envelope.req_id.take();
        envelope.req_id = original
            .as_ref()
            .map(|r| format!("{}{r}", relay_prefix(tab)));
        if let Err(e) = self.upstream.client.send(envelope) {
            if let Some(req_id) = original {
                let error = ErrorData::new("NOT_SENT", e.to_string());
                self.deliver(vec![(
                    tab,
                    socket,
                    control(Control::Error(error), Some(req_id)),
                )]);
            }
        }
    }

    /// A reply to a relayed request goes down to its tab, with the tab's own id back.
    pub(super) fn on_relay(&self, frame: &Rc<Envelope>) {
        let Some(req_id) = frame.req_id.as_deref() else {
            return;
        };
        let Some((tab, original)) = req_id
            .strip_prefix('t')
            .and_then(|r| r.split_once('.'))
            .and_then(|(tab, original)| Some((tab.parse::<TabId>().ok()?, original)))
        else {
            return;
        };
        let socket = self
            .state
            .borrow()
            .tabs
            .get(&tab)
            .filter(|t| t.open)
            .map(|t| t.socket);
        if let Some(socket) = socket {
            let mut reply = (**frame).clone();
            reply.req_id = Some(original.to_owned());
            self.deliver(vec![(tab, socket, reply.encode())]);
        }
    }

    /// An event of the real client, for one tab's topic.
    fn on_topic_event(&self, tab: TabId, socket: u64, topic: &Topic, event: &TopicEvent) {
        if matches!(event, TopicEvent::Subscribed { .. }) {
            self.broadcast_if_changed();
        }
        let numbered = self.replay() == Replay::Offered;
        let epoch = match event {
            TopicEvent::Subscribed { .. } => self.upstream.client.topic_epoch(topic),
            _ => None,
        };
        let mut out: Outgoing = Vec::new();
        {
            let mut guard = self.state.borrow_mut();
            let s = &mut *guard;
            let Some(t) = s
                .tabs
                .get_mut(&tab)
                .filter(|t| t.socket == socket && t.open)
            else {
                return;
            };
            let Some(sub) = t.topics.get_mut(topic) else {
                return;
            };
            match event {
                TopicEvent::Subscribed { seq, .. } if !sub.acked => {
                    sub.acked = true;
                    // A tab ahead of the server (its history was lost) is told the server's
                    // seq, below its own: it resyncs.
                    sub.cursor = match (sub.since, *seq) {
                        (Some(since), Some(server)) => Some(since.min(server)),
                        (since, server) => since.or(server),
                    };
                    let ack = SubscribeAck {
                        message_id: sub.message_id.clone(),
                        topics: vec![topic.clone()],
                        seqs: sub.cursor.map(|c| (topic.clone(), c)).into_iter().collect(),
                        epoch: epoch.clone(),
                    };
                    out.push((tab, socket, control(Control::SubscribeAck(ack), None)));
                    if sub.since.is_none() {
                        if let Some(snapshot) = s.snapshots.get(topic) {
                            out.push((tab, socket, snapshot.encode()));
                        }
                    }
                    t.unacked = t.unacked.saturating_sub(1);
                    if t.unacked == 0 {
                        out.extend(t.held_pongs.drain(..).map(|p| (tab, socket, p)));
                    }
                }
                TopicEvent::Message(m) if sub.acked => {
                    let own_reply = m
                        .req_id
                        .as_deref()
                        .is_some_and(|r| r.starts_with(&relay_prefix(tab)));
                    let fresh = match (m.seq, sub.cursor) {
                        (Some(q), Some(c)) => q > c,
                        _ => true,
                    };
                    if let Some(q) = m.seq.filter(|_| fresh) {
                        sub.cursor = Some(q);
                    }
                    if m.seq.is_none() && numbered {
                        s.snapshots.insert(topic.clone(), m.clone());
                    }
                    if fresh && !own_reply {
                        let mut copy = (**m).clone();
                        copy.req_id = None;
                        out.push((tab, socket, copy.encode()));
                    }
                }
                TopicEvent::ResyncRequired { seq, .. } => {
                    if seq.is_some() {
                        sub.cursor = *seq;
                    }
                    let resync = ResyncRequired {
                        topic: topic.clone(),
                        seq: *seq,
                    };
                    out.push((tab, socket, control(Control::ResyncRequired(resync), None)));
                }
                TopicEvent::Refused { code, error, .. } => {
                    let refusal = SubscribeError {
                        message_id: sub.message_id.clone(),
                        topic: topic.clone(),
                        error: error.clone(),
                        error_code: code.clone(),
                    };
                    out.push((tab, socket, control(Control::SubscribeError(refusal), None)));
                    if !sub.acked {
                        sub.acked = true;
                        t.unacked = t.unacked.saturating_sub(1);
                    }
                }
                _ => {}
            }
        }
        self.deliver(out);
    }
}
