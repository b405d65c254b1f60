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
//! and [`Hub::complete_join`](crate::hub::Hub::complete_join) queues, after the reply, what was
//! published meanwhile after each catch-up: live events follow the reply with no gap and no
//! duplicate, however long the history took. The reply itself goes out in pieces within the
//! send queue's byte budget ([`reply`](super::reply)), each replay read from the broker only
//! when its turn comes, so that a reply never holds more than one topic's replay besides what
//! the queue may hold.
//!
//! The reply is bounded: a `subscribe` lists at most `max_topics_per_subscribe` topics and
//! gets at most `max_errors_per_subscribe` refusals; topics past the first limit and
//! refusals past the second are counted in one `error` `LIMIT` at the end of the reply.

use futures_util::future::try_join_all;
use std::collections::BTreeSet;
use tungstenite::Utf8Bytes;

use tether_wire::control::Control;
use tether_wire::control::{Subscribe, Unsubscribe, UnsubscribeSuccess};
use tether_wire::Topic;

use super::observed::{self, Answered};
use super::reply::{self, Refusals};
use super::{broker_unavailable, Denial, Policy, Session, SnapshotRequest};
use crate::broker::BrokerError;
use crate::clock::now_ms;
use crate::delivery::{Delivery, Ending};
use crate::hub::StreamPosition;

/// What one accepted topic's subscriber is sent to catch up, and the position it covers (the
/// `seq` its acknowledgement gives).
pub(super) struct CatchUp {
    pub(super) topic: Topic,
    pub(super) position: StreamPosition,
    pub(super) kind: Kind,
    /// The `since` it was asked with, if the connection has the extensions.
    since: Option<u64>,
}

impl CatchUp {
    /// Tells the app's observer how this topic was answered, as its answer is sent;
    /// `first_kept` is the oldest `seq` after `since` still kept, when a replay was read.
    pub(super) fn observe<P: Policy>(
        &self,
        session: &Session<P>,
        catch_up: observed::CatchUp,
        first_kept: Option<u64>,
    ) {
        session.ctx.policy.answered(&Answered {
            user: &session.user,
            connection: session.queue.id(),
            topic: &self.topic,
            since: self.since,
            catch_up,
            position: &self.position,
            first_kept,
        });
    }
}

/// How a topic's subscriber catches up.
pub(super) enum Kind {
    /// No `since` (or no extensions): the snapshot, if the topic has one.
    Snapshot(Option<Utf8Bytes>),
    /// The events after this `since`, up to the position: read from the broker when sent (a
    /// `resync_required` then, if some were evicted meanwhile).
    Replay(u64),
    /// `since` is ahead of the stream.
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
    let mut refusals = Refusals::new(over, limits.max_errors_per_subscribe);
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
    let sent = if session.extended() {
        let head = reply::extended_head(&request, &decisions, &catch_ups, &mut refusals);
        reply::send_extended(session, head, &catch_ups).await
    } else {
        let frames = reply::plain(session, &request, &decisions, &catch_ups, &mut refusals);
        Ok(session.queue.deliver_paced(frames).await)
    };
    match sent {
        Err(error) => return Some(broker_unavailable(&error)),
        Ok(Delivery::Queued) => {}
        // The connection is ending: its end releases what it holds.
        Ok(_) => return None,
    }
    let summary = refusals.summary(request.message_id.as_deref());
    let covered = catch_ups
        .into_iter()
        .map(|c| (c.topic, c.position))
        .collect();
    ctx.hub
        .complete_join(&session.queue, summary.into_iter().collect(), covered);
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

/// One topic's catch-up: with the extensions and `since`, the replay to read when it is sent
/// (or `resync_required`), at the topic's position now; otherwise the snapshot, at the position
/// it says it is current to, or else at the position read just before it was asked for.
async fn catch_up<P: Policy>(
    session: &Session<P>,
    topic: Topic,
    since: Option<u64>,
    message_id: Option<&str>,
) -> Result<CatchUp, BrokerError> {
    let (ctx, extended) = (&session.ctx, session.extended());
    if let (true, Some(since)) = (extended, since) {
        let position = ctx.broker.history(topic.clone(), None).await?.position;
        let kind = if since > position.offset {
            Kind::Resync
        } else {
            Kind::Replay(since)
        };
        return Ok(CatchUp {
            topic,
            position,
            kind,
            since: Some(since),
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
        since: None,
    })
}
