//! `subscribe` and `unsubscribe`. A subscribe is answered, in this order, with a
//! `subscribe_error` per refused topic, one `subscribe_ack`, then per accepted topic its
//! snapshot, its replay or a `resync_required`. The whole reply is built and queued while the
//! store and the hub are locked, so live events follow it with no gap and no duplicate.

use axum::extract::ws::Utf8Bytes;
use std::collections::{BTreeMap, BTreeSet};

use tether::protocol::model::{
    error_code, ResyncRequired, Subscribe, SubscribeAck, SubscribeError, Unsubscribe,
    UnsubscribeSuccess,
};
use tether::protocol::{Frame, ServerMessage, Topic};

use crate::access;
use crate::clock::now_ms;
use crate::hub::{Catchup, HubGuard};
use crate::outbox::Outbound;
use crate::session::{encode_now, Session};
use crate::store::Store;

/// Handles a `subscribe`.
pub fn subscribe(session: &mut Session, request: Subscribe) {
    let state = session.state().clone();
    state.stats.subscribe_frame_in(session.user());
    let accepted = state.commit(|store, hub| answer_subscribe(session, store, hub, &request));
    session.hold(accepted);
}

/// Handles an `unsubscribe`; every listed topic is confirmed, held or not.
pub fn unsubscribe(session: &mut Session, request: Unsubscribe) {
    for name in &request.topics {
        if let Ok(topic) = name.parse::<Topic>() {
            session.release(&topic);
        }
    }
    let success = UnsubscribeSuccess {
        message_id: request.message_id,
        topics: request.topics,
    };
    session.reply(ServerMessage::UnsubscribeSuccess(success), None);
}

/// Decides, joins and queues the reply; returns the accepted topics.
fn answer_subscribe(
    session: &Session,
    store: &Store,
    hub: &mut HubGuard<'_>,
    request: &Subscribe,
) -> Vec<Topic> {
    let (accepted, refused) = triage(session, store, request);
    let mut frames: Vec<Utf8Bytes> = refused
        .into_iter()
        .map(|e| reply(ServerMessage::SubscribeError(e)))
        .collect();
    let since = request.since.clone().unwrap_or_default();
    let mut seqs = BTreeMap::new();
    let mut catchups = Vec::with_capacity(accepted.len());
    for topic in &accepted {
        let name = topic.to_string();
        let (seq, catchup) = hub.join(topic, session.outbox(), since.get(&name).copied());
        seqs.insert(name, seq);
        catchups.push((topic, seq, catchup));
    }
    let topics = accepted.iter().map(Topic::to_string).collect();
    let ack = SubscribeAck {
        message_id: request.message_id.clone(),
        topics,
        seqs,
    };
    frames.push(reply(ServerMessage::SubscribeAck(ack)));
    for (topic, seq, catchup) in catchups {
        frames.extend(catchup_frames(store, topic, seq, catchup));
    }
    session.outbox().deliver(Outbound::Batch(frames));
    accepted
}

/// Splits the requested topics (deduplicated, in order) into accepted ones and refusals.
fn triage(
    session: &Session,
    store: &Store,
    request: &Subscribe,
) -> (Vec<Topic>, Vec<SubscribeError>) {
    let max = session.state().config.max_subscriptions;
    let mut seen = BTreeSet::new();
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    let mut new_topics = 0;
    for name in request
        .topics
        .iter()
        .filter(|name| seen.insert(name.as_str()))
    {
        let refuse = |error: String, error_code: &str| SubscribeError {
            message_id: request.message_id.clone(),
            topic: name.clone(),
            error,
            error_code: error_code.into(),
        };
        match access::topic(store, session.user(), name) {
            Err(denial) => refused.push(refuse(denial.message().into(), denial.code())),
            Ok(topic) if session.held().contains(&topic) => accepted.push(topic),
            Ok(_) if session.held().len() + new_topics >= max => {
                refused.push(refuse(
                    format!("a connection holds at most {max} topics"),
                    error_code::LIMIT,
                ));
            }
            Ok(topic) => {
                new_topics += 1;
                accepted.push(topic);
            }
        }
    }
    (accepted, refused)
}

/// The frames that bring a new subscriber of `topic` up to date.
fn catchup_frames(store: &Store, topic: &Topic, seq: u64, catchup: Catchup) -> Vec<Utf8Bytes> {
    match catchup {
        Catchup::Replay(events) => events,
        Catchup::Snapshot => snapshot(store, topic).into_iter().collect(),
        Catchup::Resync => {
            let data = ResyncRequired {
                topic: topic.to_string(),
                seq,
            };
            let frame = Frame::new(ServerMessage::ResyncRequired(data))
                .with_topic(topic.to_string())
                .with_ts(now_ms());
            vec![frame.encode().into()]
        }
    }
}

/// `agent_state` for an agent topic; other topics have no snapshot.
fn snapshot(store: &Store, topic: &Topic) -> Option<Utf8Bytes> {
    let Topic::Agent(id) = topic else { return None };
    let agent = store.agent(*id)?.clone();
    let frame = Frame::new(ServerMessage::AgentState(agent))
        .with_topic(topic.to_string())
        .with_ts(now_ms());
    Some(frame.encode().into())
}

fn reply(msg: ServerMessage) -> Utf8Bytes {
    encode_now(msg, None).into()
}
