//! The reply to a `subscribe`, and how it is sent. A connection with tether's extensions gets
//! the head (a `subscribe_error` per refusal shown, the acknowledgements), then each accepted
//! topic's catch-up in order: its snapshot, its replay or a `resync_required`. A replay is read
//! from the broker only when its turn comes, and the reply goes to the send queue in pieces
//! within its byte budget ([`SendQueue::deliver_paced`]): however many topics and events it
//! covers, a reply holds at most one topic's replay besides what the queue may hold.

use serde_json::json;
use std::collections::BTreeMap;
use tungstenite::Utf8Bytes;

use tether_wire::control::Control;
use tether_wire::control::{ErrorData, ResyncRequired, Subscribe, SubscribeAck};
use tether_wire::Topic;

use super::observed::CatchUp as Observed;
use super::subscribe::{CatchUp, Kind};
use super::{subscribe_error, Denial, Policy, Session};
use crate::broker::BrokerError;
use crate::delivery::{Delivery, SendQueue};
use crate::frame::control_frame;
use crate::hub::Epoch;

/// The head of an extended reply: a `subscribe_error` per refusal shown, then the
/// acknowledgement (one per epoch).
pub(super) fn extended_head(
    request: &Subscribe,
    decisions: &[(Topic, Result<(), Denial>)],
    catch_ups: &[CatchUp],
    refusals: &mut Refusals,
) -> Vec<Utf8Bytes> {
    let message_id = request.message_id.as_deref();
    let mut frames: Vec<Utf8Bytes> = decisions
        .iter()
        .filter_map(|(topic, decision)| decision.as_ref().err().map(|d| (topic, d)))
        .filter(|_| refusals.show())
        .map(|(topic, denial)| {
            let error = subscribe_error(topic, denial, message_id);
            control_frame(&Control::SubscribeError(error), None)
        })
        .collect();
    let mut epochs: Vec<Option<&Epoch>> = Vec::new();
    for c in catch_ups {
        if !epochs.contains(&Some(&c.position.epoch)) {
            epochs.push(Some(&c.position.epoch));
        }
    }
    if epochs.is_empty() {
        epochs.push(None); // nothing accepted: one acknowledgement all the same
    }
    for epoch in epochs {
        let group = catch_ups
            .iter()
            .filter(|c| Some(&c.position.epoch) == epoch);
        let ack = SubscribeAck {
            message_id: request.message_id.clone(),
            topics: group.clone().map(|c| c.topic.clone()).collect(),
            seqs: group
                .map(|c| (c.topic.clone(), c.position.offset))
                .collect::<BTreeMap<_, _>>(),
            epoch: epoch.map(Epoch::to_string),
        };
        frames.push(control_frame(&Control::SubscribeAck(ack), None));
    }
    frames
}

/// Sends an extended reply: `head`, then each catch-up in order, reading each replay from the
/// broker when its turn comes. A replay that is no longer whole (events evicted since the
/// acknowledgement) is a `resync_required` at the acknowledged `seq`.
pub(super) async fn send_extended<P: Policy>(
    session: &Session<P>,
    head: Vec<Utf8Bytes>,
    catch_ups: &[CatchUp],
) -> Result<Delivery, BrokerError> {
    let mut out = Pacer::new(&session.queue, head);
    for c in catch_ups {
        match &c.kind {
            Kind::Snapshot(snapshot) => {
                c.observe(session, Observed::Snapshot, None);
                out.frames.extend(snapshot.clone());
            }
            Kind::Resync => {
                c.observe(session, Observed::Resync, None);
                out.frames.push(resync(c));
            }
            Kind::Replay(since) if *since == c.position.offset => {
                c.observe(session, Observed::Replay, None);
            }
            Kind::Replay(since) => {
                // What is gathered goes out before the history is awaited.
                if out.send_all().await != Delivery::Queued {
                    return Ok(Delivery::Gone);
                }
                let history = session
                    .ctx
                    .broker
                    .history(c.topic.clone(), Some(*since))
                    .await?;
                // The oldest event kept of the acknowledged history (none if it was lost since).
                let same_history = history.position.epoch == c.position.epoch;
                let first_kept = history
                    .publications
                    .first()
                    .filter(|_| same_history)
                    .map(|p| p.seq());
                let whole = same_history
                    && first_kept == Some(since + 1)
                    && history.position.offset >= c.position.offset;
                let observed = if whole {
                    Observed::Replay
                } else {
                    Observed::Resync
                };
                c.observe(session, observed, first_kept);
                if whole {
                    let covered = history
                        .publications
                        .iter()
                        .take_while(|p| p.seq() <= c.position.offset);
                    out.frames.extend(covered.map(|p| p.text_for(true)));
                } else {
                    out.frames.push(resync(c));
                }
            }
        }
        if out.send_if_full().await != Delivery::Queued {
            return Ok(Delivery::Gone);
        }
    }
    Ok(out.send_all().await)
}

/// `resync_required` for a catch-up, at its acknowledged `seq`.
fn resync(c: &CatchUp) -> Utf8Bytes {
    let resync = ResyncRequired {
        topic: c.topic.clone(),
        seq: Some(c.position.offset),
        epoch: Some(c.position.epoch.to_string()),
    };
    control_frame(&Control::ResyncRequired(resync), None)
}

/// Frames gathered for a queue, sent once they make a piece.
struct Pacer<'a> {
    queue: &'a SendQueue,
    frames: Vec<Utf8Bytes>,
}

impl<'a> Pacer<'a> {
    fn new(queue: &'a SendQueue, frames: Vec<Utf8Bytes>) -> Self {
        Pacer { queue, frames }
    }

    /// Sends what is gathered if it makes at least half the queue's byte budget.
    async fn send_if_full(&mut self) -> Delivery {
        let bytes: usize = self.frames.iter().map(|f| f.len()).sum();
        if bytes < self.queue.max_bytes() / 2 {
            return Delivery::Queued;
        }
        self.send_all().await
    }

    /// Sends everything gathered.
    async fn send_all(&mut self) -> Delivery {
        let frames = std::mem::take(&mut self.frames);
        self.queue.deliver_paced(frames).await
    }
}

/// Per topic, in request order: an `error` for a refusal, the snapshot for an accepted one.
pub(super) fn plain<P: Policy>(
    session: &Session<P>,
    request: &Subscribe,
    decisions: &[(Topic, Result<(), Denial>)],
    catch_ups: &[CatchUp],
    refusals: &mut Refusals,
) -> Vec<Utf8Bytes> {
    let message_id = request.message_id.as_deref();
    for c in catch_ups {
        c.observe(session, Observed::Snapshot, None);
    }
    let mut catch_ups = catch_ups.iter();
    let mut frames = Vec::new();
    for (topic, decision) in decisions {
        match decision {
            Err(_) if !refusals.show() => {}
            Err(denial) => {
                let error = session.ctx.policy.refusal(topic, denial, message_id);
                let req_id = message_id.map(str::to_owned);
                frames.push(control_frame(&Control::Error(error), req_id));
            }
            Ok(()) => {
                if let Some(CatchUp {
                    kind: Kind::Snapshot(Some(frame)),
                    ..
                }) = catch_ups.next()
                {
                    frames.push(frame.clone());
                }
            }
        }
    }
    frames
}

/// How many refusals of one `subscribe` were answered one by one, and how many are only counted
/// (with the topics past the limit per `subscribe`).
pub(super) struct Refusals {
    shown: usize,
    hidden: usize,
    max: usize,
}

impl Refusals {
    /// `hidden` refusals counted already (topics past the limit per `subscribe`), and at most
    /// `max` shown one by one.
    pub(super) fn new(hidden: usize, max: usize) -> Self {
        Refusals {
            shown: 0,
            hidden,
            max,
        }
    }

    /// Whether one more refusal gets its own frame; counts it either way.
    fn show(&mut self) -> bool {
        if self.shown < self.max {
            self.shown += 1;
            true
        } else {
            self.hidden += 1;
            false
        }
    }

    /// The one `error` counting the refusals not answered one by one, if any.
    pub(super) fn summary(&self, message_id: Option<&str>) -> Option<Utf8Bytes> {
        if self.hidden == 0 {
            return None;
        }
        let mut details = json!({
            "message": format!("{} more topics refused", self.hidden),
            "refused": self.hidden,
        });
        if let Some(message_id) = message_id {
            details["message_id"] = json!(message_id);
        }
        let error = ErrorData {
            error: "LIMIT".into(),
            details: Some(details),
        };
        let req_id = message_id.map(str::to_owned);
        Some(control_frame(&Control::Error(error), req_id))
    }
}
