//! `subscribe` and `unsubscribe`.
//!
//! A connection with tether's extensions gets, in this order, a `subscribe_error` per refused
//! topic, one `subscribe_ack`, then per accepted topic its snapshot, its replay from `since` or
//! a `resync_required`. A connection without them (and every connection of the origin profile)
//! gets, per topic in request order, an `error` naming the subscribe's `message_id` if the
//! topic is refused, or the topic's snapshot if it has one; `since` is ignored. Either way the
//! whole reply is built and queued while the store and the hub are locked, so live events
//! follow it with no gap and no duplicate.
//!
//! The reply is bounded: a `subscribe` lists at most `--max-topics-per-subscribe` topics and
//! gets at most `--max-errors-per-subscribe` refusals; topics past the first limit and
//! refusals past the second are counted in one `error` `LIMIT` at the end of the reply.

use axum::extract::ws::Utf8Bytes;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use tether_wire::control::{
    ErrorData, ResyncRequired, Subscribe, SubscribeAck, Unsubscribe, UnsubscribeSuccess,
};
use tether_wire::{Control, Topic};

use crate::config::Profile;
use crate::domain::access::{self, Denial};
use crate::domain::store::Store;
use crate::domain::wire::{self, DomainEvent};
use crate::hub::{Catchup, HubGuard};
use crate::ws::send_queue::Outbound;
use crate::ws::session::Session;

/// Handles a `subscribe`.
pub fn subscribe(session: &mut Session, mut request: Subscribe) {
    let state = session.state().clone();
    state.stats.subscribe_frame_in(session.user());
    let over = request
        .topics
        .len()
        .saturating_sub(state.config.max_topics_per_subscribe);
    request
        .topics
        .truncate(state.config.max_topics_per_subscribe);
    let mut refusals = Refusals {
        shown: 0,
        hidden: over,
        max: state.config.max_errors_per_subscribe,
    };
    let accepted =
        state.commit(|store, hub| answer_subscribe(session, store, hub, &request, &mut refusals));
    tracing::debug!(
        requested = request.topics.len(),
        accepted = accepted.len(),
        extended = session.extended(),
        "subscribe"
    );
    session.hold(accepted);
}

/// Handles an `unsubscribe`; every listed topic is confirmed, held or not.
pub fn unsubscribe(session: &mut Session, request: Unsubscribe) {
    for topic in &request.topics {
        session.release(topic);
    }
    let success = UnsubscribeSuccess {
        message_id: request.message_id,
        topics: request.topics,
    };
    session.reply(&Control::UnsubscribeSuccess(success), None);
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
        Some(wire::control_frame(&Control::Error(error), req_id))
    }
}

/// Decides, joins and queues the reply; returns the accepted topics.
fn answer_subscribe(
    session: &Session,
    store: &Store,
    hub: &mut HubGuard<'_>,
    request: &Subscribe,
    refusals: &mut Refusals,
) -> Vec<Topic> {
    let decisions = triage(session, store, request);
    let mut frames = if session.extended() {
        extended_reply(session, store, hub, request, &decisions, refusals)
    } else {
        plain_reply(session, store, hub, request, &decisions, refusals)
    };
    frames.extend(refusals.summary(request.message_id.as_deref()));
    if !frames.is_empty() {
        session.queue().deliver(Outbound::Batch(frames));
    }
    decisions
        .into_iter()
        .filter_map(|(topic, decision)| decision.ok().map(|()| topic))
        .collect()
}

/// Errors, the acknowledgement, then each accepted topic's catch-up.
fn extended_reply(
    session: &Session,
    store: &Store,
    hub: &mut HubGuard<'_>,
    request: &Subscribe,
    decisions: &[(Topic, Result<(), Denial>)],
    refusals: &mut Refusals,
) -> Vec<Utf8Bytes> {
    let message_id = request.message_id.clone();
    let mut frames: Vec<Utf8Bytes> = decisions
        .iter()
        .filter_map(|(topic, decision)| decision.as_ref().err().map(|d| (topic, d)))
        .filter(|_| refusals.show())
        .map(|(topic, denial)| {
            let error = wire::tether::subscribe_error(topic, denial, message_id.as_deref());
            wire::control_frame(&Control::SubscribeError(error), None)
        })
        .collect();
    let since = request.since.clone().unwrap_or_default();
    let mut seqs = BTreeMap::new();
    let mut catchups = Vec::new();
    for (topic, _) in decisions.iter().filter(|(_, d)| d.is_ok()) {
        let (seq, catchup) = hub.join(topic, session.queue(), since.get(topic).copied());
        seqs.insert(topic.clone(), seq);
        catchups.push((topic, seq, catchup));
    }
    let ack = SubscribeAck {
        message_id,
        topics: catchups.iter().map(|(t, _, _)| (*t).clone()).collect(),
        seqs,
        epoch: Some(hub.epoch_id()),
    };
    frames.push(wire::control_frame(&Control::SubscribeAck(ack), None));
    for (topic, seq, catchup) in catchups {
        match catchup {
            Catchup::Replay(events) => frames.extend(events),
            Catchup::Snapshot => frames.extend(snapshot(session, store, topic, None)),
            Catchup::Resync => {
                let resync = ResyncRequired {
                    topic: topic.clone(),
                    seq: Some(seq),
                };
                frames.push(wire::control_frame(&Control::ResyncRequired(resync), None));
            }
        }
    }
    frames
}

/// Per topic, in request order: an `error` for a refusal, the snapshot for an agent.
fn plain_reply(
    session: &Session,
    store: &Store,
    hub: &mut HubGuard<'_>,
    request: &Subscribe,
    decisions: &[(Topic, Result<(), Denial>)],
    refusals: &mut Refusals,
) -> Vec<Utf8Bytes> {
    let profile = session.state().config.profile;
    let message_id = request.message_id.as_deref();
    let mut frames = Vec::new();
    for (topic, decision) in decisions {
        match decision {
            Err(_) if !refusals.show() => {}
            Err(denial) => {
                let error = match profile {
                    Profile::Tether => wire::tether::refusal(topic, denial, message_id),
                    Profile::Origin => wire::origin::refusal(topic, denial, message_id),
                };
                let req_id = message_id.map(str::to_owned);
                frames.push(wire::control_frame(&Control::Error(error), req_id));
            }
            Ok(()) => {
                hub.join(topic, session.queue(), None);
                // The origin echoes the subscribe's message_id on the snapshot.
                let req_id = message_id
                    .filter(|_| profile == Profile::Origin)
                    .map(str::to_owned);
                frames.extend(snapshot(session, store, topic, req_id));
            }
        }
    }
    frames
}

/// The requested topics (deduplicated, in order), each accepted or refused. Topics already held
/// don't count against the limit, which is checked after the other refusals.
fn triage(
    session: &Session,
    store: &Store,
    request: &Subscribe,
) -> Vec<(Topic, Result<(), Denial>)> {
    let max = session.state().config.max_subscriptions;
    let mut seen = BTreeSet::new();
    let mut new_topics = 0;
    let mut decisions = Vec::new();
    for topic in request.topics.iter().filter(|t| seen.insert(*t)) {
        let open = &session.state().config.open_topics;
        let decision = match access::topic(store, session.user(), topic, open) {
            Err(denial) => Err(denial),
            Ok(()) if session.held().contains(topic) => Ok(()),
            Ok(()) if session.held().len() + new_topics >= max => Err(Denial::Limit(format!(
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

/// `agent_state` for an agent topic; other topics have no snapshot.
fn snapshot(
    session: &Session,
    store: &Store,
    topic: &Topic,
    req_id: Option<String>,
) -> Option<Utf8Bytes> {
    let Some(("agent", id)) = topic.resource() else {
        return None;
    };
    let agent = store.agent(id)?;
    let event = wire::encode(
        session.state().config.profile,
        &DomainEvent::AgentState(agent),
    )?;
    Some(wire::unsequenced_frame(topic, event.with_req_id(req_id)))
}
