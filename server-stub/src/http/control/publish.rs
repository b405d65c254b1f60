//! `POST /api/test/publish`, bursts of synthetic events at a chosen rate and size, and
//! `GET /api/test/published`, what was published on a topic (the stub's publish log), and
//! `GET /api/test/subscriptions`, how each subscribe was answered (the membership log).

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

use tether_wire::Topic;

use super::{one, params, ApiResult};
use crate::clock::now_ms;
use crate::domain::access;
use crate::domain::assistant::ASSISTANT_TOKEN;
use crate::domain::records::{
    AgentChange, AgentRecord, ChunkRecord, MessageRecord, RunRecord, RunStatus, Trigger,
};
use crate::domain::store::Store;
use crate::domain::wire::{self, DomainEvent, Event};
use crate::http::api_error::ApiError;
use crate::log::PUBLISH_LOG_CAPACITY;
use crate::membership::MEMBERSHIP_LOG_CAPACITY;
use crate::state::ServerState;

/// Most events one `/api/test/publish` may ask for.
const MAX_PUBLISH_COUNT: u64 = 1_000_000;
/// Largest padding of one published event, in bytes.
const MAX_PUBLISH_SIZE: usize = 1024 * 1024;

#[derive(Deserialize)]
pub(super) struct PublishParams {
    topic: String,
    #[serde(default = "one")]
    count: u64,
    #[serde(default)]
    rate: f64,
    #[serde(default)]
    size: usize,
    kind: Option<String>,
}

/// Publishes `count` events at `rate` per second (0: at once); answers with their seqs.
pub(super) async fn publish(
    State(state): State<ServerState>,
    query: Result<Query<PublishParams>, QueryRejection>,
    body: Bytes,
) -> ApiResult {
    let p = params(query)?;
    let topic = Topic::from(p.topic.as_str());
    let open = &state.config.open_topics;
    if !access::is_known_topic(&topic, open) {
        return Err(ApiError::BadRequest(format!("not a topic: {:?}", p.topic)));
    }
    let kind = match p.kind.as_deref() {
        // An app's own schema: the event type is the kind, the data is the body.
        Some(kind) if access::is_open(&topic, open) => Template::Raw(raw_event(kind, &body)?),
        Some(kind) => Template::parse(kind)?,
        None if matches!(topic.resource(), Some(("thread", _))) => Template::StreamChunk,
        None => Template::AgentUpdated,
    };
    let count = p.count.min(MAX_PUBLISH_COUNT);
    let padding = "x".repeat(p.size.min(MAX_PUBLISH_SIZE));
    let start = Instant::now();
    let mut seqs = None;
    for i in 0..count {
        if p.rate > 0.0 && p.rate.is_finite() {
            // Precision loss only matters past 2^53 events.
            #[allow(clippy::cast_precision_loss)]
            let due = start + Duration::from_secs_f64(i as f64 / p.rate);
            tokio::time::sleep_until(due).await;
        }
        let ((), published) = state
            .commit_all(|store, out| {
                let event = kind.event(&state, store, &topic, &padding);
                out.publish(&topic, event);
            })
            .await;
        let Some(seq) = published.first().map(|p| p.seq()) else {
            return Err(ApiError::Unavailable("the event was not published".into()));
        };
        seqs = Some(seqs.map_or((seq, seq), |(first, _)| (first, seq)));
    }
    tracing::info!(%topic, count, kind = ?kind, "published test events");
    let (first_seq, last_seq) =
        seqs.map_or((Value::Null, Value::Null), |(f, l)| (json!(f), json!(l)));
    Ok(Json(
        json!({ "first_seq": first_seq, "last_seq": last_seq, "count": count }),
    ))
}

/// An event of an app's own schema on an open topic: type `kind`, the JSON `body` as `data`.
fn raw_event(kind: &str, body: &[u8]) -> Result<Event, ApiError> {
    if kind.is_empty() || kind.len() > 64 {
        return Err(ApiError::BadRequest("kind: 1 to 64 bytes".into()));
    }
    let data: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("body is not JSON: {e}")))?
    };
    Ok(Event::new(kind.to_owned(), &data, None))
}

/// The events `/api/test/publish` can repeat. `run_update`, `thread_message` and
/// `stream_chunk` carry a fresh id each (a run id, or a message id), so that a test can tell
/// them apart without `seq`; `agent_updated` carries the agent's id; `Raw` is an app's own
/// event on an open topic, published as given.
#[derive(Clone, Debug)]
enum Template {
    /// The topic's agent (or a stand-in), renamed to the padding, `running`.
    AgentUpdated,
    /// A token of a reply of a fresh message id, the padding as content.
    StreamChunk,
    /// A run of a fresh id at 50%.
    RunUpdate,
    /// A user message of a fresh id (not stored), the padding as content.
    ThreadMessage,
    /// An app's own event.
    Raw(Event),
}

impl Template {
    fn parse(kind: &str) -> Result<Template, ApiError> {
        Ok(match kind {
            "agent_updated" => Template::AgentUpdated,
            "stream_chunk" => Template::StreamChunk,
            "run_update" => Template::RunUpdate,
            "thread_message" => Template::ThreadMessage,
            other => return Err(ApiError::BadRequest(format!("unknown kind {other:?}"))),
        })
    }

    /// One event, in the server's profile.
    fn event(&self, state: &ServerState, store: &mut Store, topic: &Topic, padding: &str) -> Event {
        let resource_id = |kind: &str| match topic.resource() {
            Some((k, id)) if k == kind => id,
            _ => 0,
        };
        let now = now_ms();
        let profile = state.config.profile;
        let encoded = match self {
            Template::AgentUpdated => {
                let id = resource_id("agent");
                let agent = AgentRecord {
                    name: padding.into(),
                    status: "running".into(),
                    ..store
                        .agent(id)
                        .cloned()
                        .unwrap_or_else(|| stand_in_agent(id))
                };
                let change = AgentChange {
                    name: true,
                    ..AgentChange::STATUS
                };
                wire::encode(profile, &DomainEvent::AgentUpdated(&agent, change))
            }
            Template::StreamChunk => {
                let chunk = ChunkRecord {
                    thread_id: resource_id("thread"),
                    message_id: Some(store.reserve_message_id()),
                    chunk_type: ASSISTANT_TOKEN.into(),
                    content: padding.into(),
                };
                wire::encode(profile, &DomainEvent::StreamChunk(&chunk))
            }
            Template::RunUpdate => {
                let run = RunRecord {
                    id: store.reserve_run_id(),
                    agent_id: resource_id("agent"),
                    thread_id: None,
                    status: RunStatus::Running,
                    progress: 50,
                    trigger: Trigger::Api,
                    started_at: Some(now),
                    finished_at: None,
                    error: None,
                };
                wire::encode(profile, &DomainEvent::RunUpdate(&run))
            }
            Template::Raw(event) => return event.clone(),
            Template::ThreadMessage => {
                let message = MessageRecord {
                    id: store.reserve_message_id(),
                    thread_id: resource_id("thread"),
                    role: "user".into(),
                    content: padding.into(),
                    created_at: now,
                };
                wire::encode(profile, &DomainEvent::ThreadMessage(&message))
            }
        };
        // Every template has an encoding in both profiles.
        encoded.unwrap_or_else(|| Event::new("test_event", &json!({}), None))
    }
}

/// An agent for `agent_updated` on a topic without one.
fn stand_in_agent(id: u64) -> AgentRecord {
    AgentRecord {
        id,
        owner_id: 0,
        name: String::new(),
        status: String::new(),
        description: None,
        last_error: None,
        created_at: 0,
        updated_at: 0,
        last_run_at: None,
        last_run: None,
    }
}

#[derive(Deserialize)]
pub(super) struct PublishedParams {
    topic: String,
}

/// What was published on a topic, oldest first: the ground truth for tests. The log keeps
/// the last [`PUBLISH_LOG_CAPACITY`] events of the whole server; `evicted` counts the older
/// ones it dropped (of any topic), so a test knows whether its list is complete.
pub(super) async fn published(
    State(state): State<ServerState>,
    query: Result<Query<PublishedParams>, QueryRejection>,
) -> ApiResult {
    let topic = Topic::from(params(query)?.topic);
    let (log, at) = state
        .read_at(&topic, |_| {
            let log = state.log.lock().unwrap_or_else(|e| e.into_inner());
            (log.of(&topic), log.epoch(), log.evicted(), log.recorded())
        })
        .await?;
    let ((entries, epoch, evicted, recorded), seq) = (log, at.offset);
    let events: Vec<Value> = entries
        .iter()
        .map(|e| json!({ "n": e.n, "epoch": e.epoch, "seq": e.seq, "type": e.kind, "id": e.id, "ts": e.ts }))
        .collect();
    Ok(Json(json!({
        "topic": topic,
        "epoch": epoch,
        "seq": seq,
        "events": events,
        "evicted": evicted,
        "recorded": recorded,
        "capacity": PUBLISH_LOG_CAPACITY,
    })))
}

#[derive(Deserialize)]
pub(super) struct SubscriptionsParams {
    user: Option<u64>,
}

/// How the server answered each topic of each `subscribe`, and when connections let go of
/// topics (the membership log), of one user or all; with the publish log's count now, so that
/// a test can place its own steps among them.
pub(super) async fn subscriptions(
    State(state): State<ServerState>,
    query: Result<Query<SubscriptionsParams>, QueryRejection>,
) -> ApiResult {
    let user = params(query)?.user;
    let published = state
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .recorded();
    let log = state.membership.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Json(json!({
        "entries": log.of(user),
        "recorded": log.recorded(),
        "evicted": log.evicted(),
        "published": published,
        "capacity": MEMBERSHIP_LOG_CAPACITY,
    })))
}
