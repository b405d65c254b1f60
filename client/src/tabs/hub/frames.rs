//! The hub's server side: a tab's frames in (subscriptions, pings, requests), the real
//! client's events and replies out to the tabs, each tab's cursor deciding what it still needs.

use std::rc::Rc;

use super::{Hub, Outgoing, TabTopic};
use crate::core::topic_map::TopicMap;
use crate::core::{Replay, SendError, TopicEvent, TopicStatus};
use crate::protocol::control::{kind, write, ControlRef, TopicsRef};
use crate::protocol::json::push_u64;
use crate::protocol::{CloseCode, EnvelopeRef, Frame, Topic};
use crate::tabs::wire::{TabId, TabMessage};

/// The prefix of a relayed request's id: `t{tab}.` then the tab's own id.
fn relay_prefix(tab: TabId) -> String {
    let mut prefix = String::from("t");
    push_u64(&mut prefix, tab);
    prefix.push('.');
    prefix
}

/// A frame's text for a tab, with its `req_id` set to `req_id` (a tab's requests are its own).
fn with_req_id(frame: &Frame, req_id: Option<&str>) -> String {
    if frame.req_id() == req_id {
        return frame.text().to_owned();
    }
    match EnvelopeRef::parse(frame.text()) {
        Ok(envelope) => envelope.encode_with_req_id(req_id),
        Err(_) => frame.text().to_owned(),
    }
}

/// What a tab asked to subscribe or unsubscribe, each topic once.
struct Request {
    topics: Vec<Topic>,
    message_id: Option<String>,
    since: TopicMap<u64>,
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

impl Hub {
    /// A frame from a tab's client.
    pub(super) fn on_frame(self: &Rc<Self>, tab: TabId, socket: u64, text: &str) {
        let open = self
            .state
            .borrow()
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
                    self.subscribe(tab, socket, Request::of(&s));
                }
            }
            Some(Ok(ControlRef::Unsubscribe)) => {
                if let Some(Ok(u)) = TopicsRef::parse(&envelope) {
                    self.unsubscribe(tab, socket, Request::of(&u));
                }
            }
            Some(Ok(ControlRef::Ping(timestamp))) => {
                self.broadcast_if_changed();
                let req_id = envelope.req_id.map(|r| r.value());
                let pong = write::heartbeat(kind::PONG, 0, req_id.as_deref(), timestamp);
                let now = {
                    let mut s = self.state.borrow_mut();
                    match s.tabs.get_mut(tab) {
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
            None => self.relay_up(tab, socket, &envelope),
        }
    }

    fn subscribe(self: &Rc<Self>, tab: TabId, socket: u64, request: Request) {
        let since = &request.since;
        // A tab joining a topic already active gets the cached snapshot, and the events after
        // it replayed.
        let mut joined: TopicMap<(Rc<Frame>, u64)> = TopicMap::default();
        {
            let s = self.state.borrow();
            for t in &request.topics {
                let active = self.upstream.client.topic_status(t) == Some(TopicStatus::Active);
                let snapshot = s.snapshots.get(t.as_str()).filter(|_| active);
                if let Some(v) = snapshot.filter(|_| !since.contains(t.as_str())) {
                    joined.insert(t, v.clone());
                }
            }
        }
        let mut replaced = Vec::new();
        {
            let mut s = self.state.borrow_mut();
            let Some(t) = s.tabs.get_mut(tab) else {
                return;
            };
            for topic in &request.topics {
                let (since, snapshot) = match since.get(topic.as_str()) {
                    Some(at) => (Some(*at), None),
                    None => joined
                        .get(topic.as_str())
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
                if let Some(old) = t.topics.insert(topic, entry) {
                    // Its answer will not count any more.
                    t.unacked -= usize::from(!old.acked);
                    replaced.push(old);
                }
            }
        }
        for topic in &request.topics {
            let weak = Rc::downgrade(self);
            let at = since
                .get(topic.as_str())
                .copied()
                .or_else(|| joined.get(topic.as_str()).map(|(_, at)| *at));
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
                .get_mut(tab)
                .filter(|t| t.socket == socket)
                .and_then(|t| t.topics.get_mut(topic.as_str()));
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
                self.upstream.client.topic_status(topic)
            {
                let refused = TopicEvent::Refused {
                    topic: topic.clone(),
                    code,
                    error,
                };
                self.on_topic_event(tab, socket, topic, &refused);
            }
        }
        drop(replaced); // after the borrows: dropping a guard calls into the real client
    }

    fn unsubscribe(&self, tab: TabId, socket: u64, request: Request) {
        let (dropped, pongs): (Vec<TabTopic>, Vec<String>) = {
            let mut s = self.state.borrow_mut();
            let Some(t) = s.tabs.get_mut(tab) else {
                return;
            };
            let dropped: Vec<TabTopic> = request
                .topics
                .iter()
                .filter_map(|topic| t.topics.remove(topic.as_str()))
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
        let mid = request.message_id.as_deref();
        let done = write::unsubscribe_success(0, mid, &request.topics);
        let mut out = vec![(tab, socket, done)];
        out.extend(pongs.into_iter().map(|p| (tab, socket, p)));
        self.deliver(out);
    }

    /// A request (or any app frame) from a tab goes up with its id rewritten (and its `ts`,
    /// the tab's clock, kept).
    fn relay_up(&self, tab: TabId, socket: u64, envelope: &EnvelopeRef<'_>) {
        let original = envelope.req_id.map(|r| r.value());
        let relayed = original.as_deref().map(|r| relay_prefix(tab) + r);
        let text = envelope.encode_with_req_id(relayed.as_deref());
        if let Err(e) = self.upstream.client.send_encoded(text) {
            if let Some(req_id) = original {
                let error = write::error(0, Some(&req_id), "NOT_SENT", not_sent(&e));
                self.deliver(vec![(tab, socket, error)]);
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
            .get(tab)
            .filter(|t| t.open)
            .map(|t| t.socket);
        if let Some(socket) = socket {
            self.deliver(vec![(tab, socket, with_req_id(frame, Some(original)))]);
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
            let Some(t) = s.tabs.get_mut(tab).filter(|t| t.socket == socket && t.open) else {
                return;
            };
            let Some(sub) = t.topics.get_mut(topic.as_str()) else {
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
                    let seqs: Vec<(&str, u64)> = sub
                        .cursor
                        .map(|c| (topic.as_str(), c))
                        .into_iter()
                        .collect();
                    let mid = sub.message_id.as_deref();
                    let ack =
                        write::subscribe_ack(0, mid, &[topic.as_str()], &seqs, epoch.as_deref());
                    out.push((tab, socket, ack));
                    if let Some(snapshot) = sub.snapshot.take() {
                        out.push((tab, socket, with_req_id(&snapshot, None)));
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
                        s.snapshots.insert(topic, (m.clone(), at));
                    }
                    if fresh && !own_reply {
                        out.push((tab, socket, with_req_id(m, None)));
                    }
                }
                TopicEvent::ResyncRequired { seq, .. } => {
                    if seq.is_some() {
                        sub.cursor = *seq;
                    }
                    // The follower's own client sees no epoch: the leader's
                    // `history_lost` is not passed on (see ARCHITECTURE.md, tabs).
                    let resync = write::resync_required(0, topic.as_str(), *seq, None);
                    out.push((tab, socket, resync));
                }
                TopicEvent::Refused { code, error, .. } => {
                    let mid = sub.message_id.as_deref();
                    let refusal = write::subscribe_error(0, mid, topic.as_str(), error, code);
                    out.push((tab, socket, refusal));
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
