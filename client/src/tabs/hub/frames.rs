//! The hub's server side: a tab's frames in (subscriptions, pings, requests), the real
//! client's events and replies out to the tabs, each tab's cursor deciding what it still needs.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Hub, Outgoing, TabTopic};
use crate::core::{Replay, TopicEvent, TopicStatus};
use crate::protocol::control::{
    ErrorData, Heartbeat, ResyncRequired, Subscribe, SubscribeAck, SubscribeError, Unsubscribe,
    UnsubscribeSuccess,
};
use crate::protocol::{CloseCode, Control, Envelope, Frame, Topic};
use crate::tabs::wire::{TabId, TabMessage};

/// The prefix of a relayed request's id: `t{tab}.` then the tab's own id.
fn relay_prefix(tab: TabId) -> String {
    format!("t{tab}.")
}

/// A frame's text for a tab: as received, without its `req_id` (a tab's requests are its own).
fn without_req_id(frame: &Frame) -> String {
    if frame.req_id().is_none() {
        return frame.text().to_owned();
    }
    let mut envelope = match frame.to_envelope() {
        Ok(envelope) => envelope,
        Err(_) => return frame.text().to_owned(),
    };
    envelope.req_id = None;
    envelope.encode()
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
            // A tab that believes it is connected here (it heard an `Opened` from a leader
            // that has since left, say) is told it is not, and reconnects.
            self.post(TabMessage::Closed {
                to: tab,
                socket,
                code: CloseCode::RESTART.0,
            });
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
                    // From a timer task: a leader whose timers are frozen answers no pings.
                    self.post_from_timer(TabMessage::Deliver {
                        to: tab,
                        socket,
                        text: pong,
                    });
                }
            }
            Some(_) => {}
            None => self.relay_up(tab, socket, envelope),
        }
    }

    fn subscribe(self: &Rc<Self>, tab: TabId, socket: u64, mut request: Subscribe) {
        let since = request.since.clone().unwrap_or_default();
        let mut seen = std::collections::BTreeSet::new();
        request.topics.retain(|t| seen.insert(t.clone()));
        // A tab joining a topic already active gets the cached snapshot, and the events after
        // it replayed.
        let joined: BTreeMap<Topic, (Rc<Frame>, u64)> = {
            let s = self.state.borrow();
            request
                .topics
                .iter()
                .filter(|t| !since.contains_key(*t))
                .filter(|t| self.upstream.client.topic_status(t) == Some(TopicStatus::Active))
                .filter_map(|t| s.snapshots.get(t).map(|v| (t.clone(), v.clone())))
                .collect()
        };
        let mut replaced = Vec::new();
        {
            let mut s = self.state.borrow_mut();
            let Some(t) = s.tabs.get_mut(&tab) else {
                return;
            };
            for topic in &request.topics {
                let (since, snapshot) = match since.get(topic) {
                    Some(at) => (Some(*at), None),
                    None => joined
                        .get(topic)
                        .cloned()
                        .map_or((None, None), |(snapshot, at)| (Some(at), Some(snapshot))),
                };
                let entry = TabTopic {
                    since,
                    snapshot,
                    cursor: None,
                    acked: false,
                    message_id: request.message_id.clone(),
                    guard: None,
                };
                t.unacked += 1;
                if let Some(old) = t.topics.insert(topic.clone(), entry) {
                    // Its answer will not count any more.
                    t.unacked -= usize::from(!old.acked);
                    replaced.push(old);
                }
            }
        }
        for topic in request.topics {
            let weak = Rc::downgrade(self);
            let at = since
                .get(&topic)
                .copied()
                .or_else(|| joined.get(&topic).map(|(_, at)| *at));
            let name = topic.clone();
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
                    snapshot: None,
                    cursor: None,
                    acked: true,
                    message_id: None,
                    guard: Some(guard),
                }),
            }
            drop(s);
            // A topic the server already refused is not asked again on this socket: tell the
            // tab now, as the server told the others.
            if let Some(TopicStatus::Failed { code, error }) =
                self.upstream.client.topic_status(&topic)
            {
                let refused = TopicEvent::Refused {
                    topic: topic.clone(),
                    code,
                    error,
                };
                self.on_topic_event(tab, socket, &topic, &refused);
            }
        }
        drop(replaced); // after the borrows: dropping a guard calls into the real client
    }

    fn unsubscribe(&self, tab: TabId, socket: u64, request: Unsubscribe) {
        let (dropped, pongs): (Vec<TabTopic>, Vec<String>) = {
            let mut s = self.state.borrow_mut();
            let Some(t) = s.tabs.get_mut(&tab) else {
                return;
            };
            let dropped: Vec<TabTopic> = request
                .topics
                .iter()
                .filter_map(|topic| t.topics.remove(topic))
                .collect();
            // Subscribes dropped before their answer will get none: pongs need not wait.
            t.unacked -= dropped.iter().filter(|d| !d.acked).count();
            let pongs = if t.unacked == 0 {
                t.held_pongs.drain(..).collect()
            } else {
                Vec::new()
            };
            (dropped, pongs)
        };
        drop(dropped);
        self.forget_unheld_snapshots();
        let done = UnsubscribeSuccess {
            message_id: request.message_id,
            topics: request.topics,
        };
        let mut out = vec![(
            tab,
            socket,
            control(Control::UnsubscribeSuccess(done), None),
        )];
        out.extend(pongs.into_iter().map(|p| (tab, socket, p)));
        self.deliver(out);
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
    pub(super) fn on_relay(&self, frame: &Rc<Frame>) {
        let Some(req_id) = frame.req_id() else {
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
        if let (Some(socket), Ok(mut reply)) = (socket, frame.to_envelope()) {
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
        let snapshot_at = match event {
            TopicEvent::Message(m) if m.seq.is_none() => {
                self.upstream.client.topic_server_seq(topic)
            }
            _ => None,
        };
        let (epoch, server_seq) = match event {
            // What the leader knows of the server's seq: its latest acknowledgement, or the
            // last event since (an acknowledgement long ago is not the server's seq now).
            TopicEvent::Subscribed { .. } => (
                self.upstream.client.topic_epoch(topic),
                self.upstream
                    .client
                    .topic_server_seq(topic)
                    .max(self.upstream.client.last_seq(topic)),
            ),
            _ => (None, None),
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
                    // A tab continues from its own `since`, unless it is ahead of the server
                    // (the server lost its history): then it is told the server's seq, below
                    // its own, and resyncs. A new tab starts where the upstream is.
                    sub.cursor = match (sub.since, server_seq) {
                        (Some(since), Some(server)) if server < since => Some(server),
                        (Some(since), _) => Some(since),
                        (None, _) => *seq,
                    };
                    let ack = SubscribeAck {
                        message_id: sub.message_id.clone(),
                        topics: vec![topic.clone()],
                        seqs: sub.cursor.map(|c| (topic.clone(), c)).into_iter().collect(),
                        epoch: epoch.clone(),
                    };
                    out.push((tab, socket, control(Control::SubscribeAck(ack), None)));
                    if let Some(snapshot) = sub.snapshot.take() {
                        out.push((tab, socket, without_req_id(&snapshot)));
                    }
                    t.unacked = t.unacked.saturating_sub(1);
                    if t.unacked == 0 {
                        out.extend(t.held_pongs.drain(..).map(|p| (tab, socket, p)));
                    }
                }
                TopicEvent::Message(m) if sub.acked => {
                    let own_reply = m
                        .req_id()
                        .is_some_and(|r| r.starts_with(&relay_prefix(tab)));
                    let fresh = match (m.seq, sub.cursor) {
                        (Some(q), Some(c)) => q > c,
                        _ => true,
                    };
                    if let Some(q) = m.seq.filter(|_| fresh) {
                        sub.cursor = Some(q);
                    }
                    if let Some(at) = snapshot_at.filter(|_| m.seq.is_none() && numbered) {
                        s.snapshots.insert(topic.clone(), (m.clone(), at));
                    }
                    if fresh && !own_reply {
                        out.push((tab, socket, without_req_id(m)));
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
