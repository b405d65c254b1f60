//! The real client's events and replies, passed on to the tabs. Each tab's topic has a
//! cursor, the last `seq` the tab has: an acknowledgement sets it (to the tab's own `since`,
//! or the server's `seq` when the server is behind it, or where the real client is for a new
//! tab), and only events after it go down, so that the events the server replays for one tab
//! (a rewind) reach no other tab twice.

use std::rc::Rc;

use super::core::{HubCore, HubOutput, TabTopic, Upstream};
use super::serve::relayed_for;
use crate::core::{Replay, TopicEvent, TopicStatus};
use crate::protocol::control::write;
use crate::protocol::{EnvelopeRef, Frame, Topic};
use crate::tabs::wire::{TabId, TabMessage};

/// A frame's text for a tab, with its `req_id` set to `req_id` (a tab's requests are its own).
pub(super) fn with_req_id(frame: &Frame, req_id: Option<&str>) -> String {
    if frame.req_id() == req_id {
        return frame.text().to_owned();
    }
    match EnvelopeRef::parse(frame.text()) {
        Ok(envelope) => envelope.encode_with_req_id(req_id),
        Err(_) => frame.text().to_owned(),
    }
}

impl HubCore {
    /// The real client subscribed a tab's topic ([`super::HubOutput::Subscribe`]). A topic the
    /// server already refused is not asked again on this socket: the tab is told now, as the
    /// server told the others.
    pub fn handle_upstream_subscribed(
        &mut self,
        tab: TabId,
        socket: u64,
        topic: &Topic,
        up: &impl Upstream,
    ) {
        if let Some(TopicStatus::Failed { code, error }) = up.topic_status(topic) {
            let refused = TopicEvent::Refused {
                topic: topic.clone(),
                code: code.clone(),
                error: error.clone(),
            };
            self.handle_topic_event(tab, socket, topic, &refused, up);
        }
    }

    /// An event of the real client, for one tab's topic.
    pub fn handle_topic_event(
        &mut self,
        tab: TabId,
        socket: u64,
        topic: &Topic,
        event: &TopicEvent,
        up: &impl Upstream,
    ) {
        if matches!(event, TopicEvent::Subscribed { .. }) {
            self.broadcast_if_changed(up);
        }
        let HubCore { tabs, out, .. } = self;
        let mut deliver = |text| {
            out.push(HubOutput::Post(TabMessage::Deliver {
                to: tab,
                socket,
                text,
            }))
        };
        let Some(t) = tabs.get_mut(tab).filter(|t| t.socket == socket && t.open) else {
            return;
        };
        let Some(sub) = t.topics.get_mut(topic.as_str()) else {
            return;
        };
        match event {
            TopicEvent::Subscribed { seq, .. } if !sub.acked => {
                // The server's `seq`: its latest acknowledgement, or the last event since (an
                // acknowledgement long ago is not the server's `seq` now).
                let server_seq = up.server_seq(topic).max(up.last_seq(topic));
                let epoch = up.epoch(topic);
                acknowledge(sub, topic, *seq, server_seq, epoch, &mut deliver);
                t.unacked = t.unacked.saturating_sub(1);
            }
            TopicEvent::Message(m) if sub.acked => {
                let own_reply = m
                    .req_id()
                    .and_then(relayed_for)
                    .is_some_and(|(to, _)| to == tab);
                let fresh = match (m.seq, sub.cursor) {
                    (Some(q), Some(c)) => q > c,
                    _ => true,
                };
                if let Some(q) = m.seq.filter(|_| fresh) {
                    sub.cursor = Some(q);
                }
                // A snapshot (an event without `seq`) from a server that numbers events, taken
                // at the server's `seq`.
                if m.seq.is_none() && up.replay() == Replay::Offered {
                    if let Some(at) = up.server_seq(topic) {
                        sub.snapshot = Some((m.clone(), at));
                    }
                }
                if fresh && !own_reply {
                    deliver(with_req_id(m, None));
                }
            }
            TopicEvent::ResyncRequired { seq, .. } => {
                if seq.is_some() {
                    sub.cursor = *seq;
                }
                // The follower's own client sees no epoch: the leader's `history_lost` is not
                // passed on (see ARCHITECTURE.md, tabs).
                deliver(write::resync_required(0, topic.as_str(), *seq, None));
            }
            TopicEvent::Refused { code, error, .. } => {
                let mid = sub.message_id.as_deref();
                deliver(write::subscribe_error(0, mid, topic.as_str(), error, code));
                if !sub.acked {
                    sub.acked = true;
                    t.unacked = t.unacked.saturating_sub(1);
                }
            }
            _ => {}
        }
        // The pongs held for the answers go after the last one (a refusal answers too).
        if t.unacked == 0 {
            t.held_pongs.drain(..).for_each(deliver);
        }
    }

    /// A reply to a relayed request goes down to its tab, with the tab's own id back.
    pub fn handle_relay(&mut self, frame: &Rc<Frame>) {
        let Some(req_id) = frame.req_id() else {
            return;
        };
        let Some((tab, original)) = relayed_for(req_id) else {
            return;
        };
        let socket = self.tabs.get(tab).filter(|t| t.open).map(|t| t.socket);
        if let Some(socket) = socket {
            self.deliver(tab, socket, with_req_id(frame, Some(original)));
        }
    }
}

/// The tab's first acknowledgement of a topic sets its cursor: it continues from its own
/// `since`, unless it is ahead of the server (the server lost its history): then it is told
/// the server's `seq`, below its own, and resyncs. A new tab starts where the upstream is.
fn acknowledge(
    sub: &mut TabTopic,
    topic: &Topic,
    seq: Option<u64>,
    server_seq: Option<u64>,
    epoch: Option<&str>,
    deliver: &mut impl FnMut(String),
) {
    sub.acked = true;
    sub.cursor = match (sub.since, server_seq) {
        (Some(since), Some(server)) if server < since => Some(server),
        (Some(since), _) => Some(since),
        (None, _) => seq,
    };
    let seq = sub.cursor.map(|c| (topic.as_str(), c));
    let mid = sub.message_id.as_deref();
    let ack = write::subscribe_ack(0, mid, &[topic.as_str()], seq.as_slice(), epoch);
    deliver(ack);
    if let Some((snapshot, _)) = &sub.snapshot {
        deliver(with_req_id(snapshot, None));
    }
}
