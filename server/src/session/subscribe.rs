//! `subscribe` and `unsubscribe`.
//!
//! A connection with tether's extensions gets, in this order, a `subscribe_error` per refused
//! topic, one `subscribe_ack` (one per history epoch, should the accepted topics' streams be
//! in different ones), then per accepted topic its snapshot, its replay from `since` or a
//! `resync_required`. A connection without them gets, per topic in request order, an `error`
//! naming the subscribe's `message_id` if the topic is refused (worded by the app's
//! [`Policy::refusal`]), or the topic's snapshot if it has one; `since` is ignored.
//!
//! Either way the accepted topics are joined in the hub *before* their catch-up is fetched,
//! and the reply is queued by [`Hub::complete_join`](crate::hub::Hub::complete_join) followed
//! by what was published meanwhile after each catch-up: live events follow the reply with no
//! gap and no duplicate, however long the history took.
//!
//! The reply is bounded: a `subscribe` lists at most `max_topics_per_subscribe` topics and
//! gets at most `max_errors_per_subscribe` refusals; topics past the first limit and
//! refusals past the second are counted in one `error` `LIMIT` at the end of the reply.

use axum::extract::ws::Utf8Bytes;
use futures_util::future::try_join_all;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tether_wire::control::{
    ErrorData, ResyncRequired, Subscribe, SubscribeAck, Unsubscribe, UnsubscribeSuccess,
};
use tether_wire::{Control, Topic};

use super::{broker_unavailable, subscribe_error, Denial, Policy, Session, SnapshotRequest};
use crate::broker::BrokerError;
use crate::clock::now_ms;
use crate::delivery::Ending;
use crate::frame::control_frame;
use crate::hub::{Epoch, Publication, StreamPosition};

/// What one accepted topic's subscriber is sent to catch up, and the position it covers.
struct CatchUp {
    topic: Topic,
    position: StreamPosition,
    kind: Kind,
}

enum Kind {
    /// No `since` (or no extensions): the snapshot, if the topic has one.
    Snapshot(Option<Utf8Bytes>),
    /// Exactly the events after `since`.
    Replay(Vec<Arc<Publication>>),
    /// Some of them were evicted, or `since` is ahead.
    Resync,
}

/// Handles a `subscribe`; an [`Ending`] if the broker could not be reached.
pub(super) async fn subscribe<P: Policy>(
    session: &mut Session<P>,
    mut request: Subscribe,
) -> Option<Ending> {
    let ctx = session.ctx.clone();
    let limits = &ctx.sockets.limits;
    ctx.sockets.stats.subscribe_frame_in(session.queue.user());
    let max_topics = limits.max_topics_per_subscribe;
    let over = request.topics.len().saturating_sub(max_topics);
    request.topics.truncate(max_topics);
    let mut refusals = Refusals {
        shown: 0,
        hidden: over,
        max: limits.max_errors_per_subscribe,
    };
    let decisions = triage(session, &request).await;
    let accepted: Vec<Topic> = decisions
        .iter()
        .filter(|(_, d)| d.is_ok())
        .map(|(t, _)| t.clone())
        .collect();
    let fresh: Vec<Topic> = accepted
        .iter()
        .filter(|t| !session.held.contains(*t))
        .cloned()
        .collect();
    ctx.hub.begin_join(&accepted, &session.queue);
    if let Err(error) = ctx.node_topics.acquire(&fresh).await {
        ctx.hub.leave(&fresh, session.queue.id());
        return Some(broker_unavailable(&error));
    }
    session.hold(fresh);
    let catch_ups = match catch_up_all(session, &request, &accepted).await {
        Ok(catch_ups) => catch_ups,
        Err(error) => return Some(broker_unavailable(&error)),
    };
    let mut frames = if session.extended() {
        extended_reply(&request, &decisions, &catch_ups, &mut refusals)
    } else {
        plain_reply(session, &request, &decisions, &catch_ups, &mut refusals)
    };
    frames.extend(refusals.summary(request.message_id.as_deref()));
    let covered = catch_ups
        .into_iter()
        .map(|c| (c.topic, c.position))
        .collect();
    ctx.hub.complete_join(&session.queue, frames, covered);
    tracing::debug!(
        requested = request.topics.len(),
        accepted = accepted.len(),
        extended = session.extended(),
        "subscribe"
    );
    None
}

/// Handles an `unsubscribe`; every listed topic is confirmed, held or not.
pub(super) async fn unsubscribe<P: Policy>(session: &mut Session<P>, request: Unsubscribe) {
    session.release(&request.topics).await;
    let success = UnsubscribeSuccess {
        message_id: request.message_id,
        topics: request.topics,
    };
    session.reply(&Control::UnsubscribeSuccess(success), None);
}

/// The requested topics (deduplicated, in order), each accepted or refused. Topics already held
/// don't count against the limit, which is checked after the app's decision.
async fn triage<P: Policy>(
    session: &Session<P>,
    request: &Subscribe,
) -> Vec<(Topic, Result<(), Denial>)> {
    let max = session.ctx.sockets.limits.max_subscriptions;
    let mut seen = BTreeSet::new();
    let mut new_topics = 0;
    let mut decisions = Vec::new();
    for topic in request.topics.iter().filter(|t| seen.insert(*t)) {
        let decision = match session.ctx.policy.authorize(&session.user, topic).await {
            Err(denial) => Err(denial),
            Ok(()) if session.held.contains(topic) => Ok(()),
            Ok(()) if session.held.len() + new_topics >= max => Err(Denial::Limit(format!(
                "a connection holds at most {max} topics"
            ))),
            Ok(()) => {
                new_topics += 1;
                Ok(())
            }
        };
        decisions.push((topic.clone(), decision));
    }
    decisions
}

/// Every accepted topic's catch-up, fetched at once, in order.
async fn catch_up_all<P: Policy>(
    session: &Session<P>,
    request: &Subscribe,
    accepted: &[Topic],
) -> Result<Vec<CatchUp>, BrokerError> {
    let since = request.since.as_ref();
    let message_id = request.message_id.as_deref();
    try_join_all(accepted.iter().map(|topic| {
        let since = since.and_then(|s| s.get(topic)).copied();
        catch_up(session, topic.clone(), since, message_id)
    }))
    .await
}

/// One topic's catch-up: with the extensions and `since`, the replay (or `resync_required`);
/// otherwise the snapshot, at the position it says it is current to, or else at the position
/// read just before it was asked for.
async fn catch_up<P: Policy>(
    session: &Session<P>,
    topic: Topic,
    since: Option<u64>,
    message_id: Option<&str>,
) -> Result<CatchUp, BrokerError> {
    let (ctx, extended) = (&session.ctx, session.extended());
    if let (true, Some(since)) = (extended, since) {
        let history = ctx.broker.history(topic.clone(), Some(since)).await?;
        let kind = if history.is_complete_after(since) {
            Kind::Replay(history.publications)
        } else {
            Kind::Resync
        };
        let position = history.position;
        return Ok(CatchUp {
            topic,
            position,
            kind,
        });
    }
    let before = ctx.broker.history(topic.clone(), None).await?.position;
    let request = SnapshotRequest {
        user: &session.user,
        topic: &topic,
        message_id,
        extended,
    };
    let (frame, position) = match ctx.policy.snapshot(request).await {
        Some(snapshot) => {
            let frame = snapshot.event.envelope(&topic, now_ms(), None).encode();
            (Some(frame.into()), snapshot.position.unwrap_or(before))
        }
        None => (None, before),
    };
    Ok(CatchUp {
        topic,
        position,
        kind: Kind::Snapshot(frame),
    })
}

/// Errors, the acknowledgement (one per epoch), then each accepted topic's catch-up.
fn extended_reply(
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
    for c in catch_ups {
        match &c.kind {
            Kind::Replay(events) => frames.extend(events.iter().map(|p| p.text_for(true))),
            Kind::Snapshot(snapshot) => frames.extend(snapshot.clone()),
            Kind::Resync => {
                let resync = ResyncRequired {
                    topic: c.topic.clone(),
                    seq: Some(c.position.offset),
                    epoch: Some(c.position.epoch.to_string()),
                };
                frames.push(control_frame(&Control::ResyncRequired(resync), None));
            }
        }
    }
    frames
}

/// Per topic, in request order: an `error` for a refusal, the snapshot for an accepted one.
fn plain_reply<P: Policy>(
    session: &Session<P>,
    request: &Subscribe,
    decisions: &[(Topic, Result<(), Denial>)],
    catch_ups: &[CatchUp],
    refusals: &mut Refusals,
) -> Vec<Utf8Bytes> {
    let message_id = request.message_id.as_deref();
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
struct Refusals {
    shown: usize,
    hidden: usize,
    max: usize,
}

impl Refusals {
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
    fn summary(&self, message_id: Option<&str>) -> Option<Utf8Bytes> {
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
