//! Test control, mounted only with `--test-control`: `/api/test/*` endpoints that break
//! connections on purpose (drop, close, half-open, malformed frame, duplicate, reorder, refuse,
//! restart with or without history), end a refusal early (admit), publish bursts of events,
//! read back what was published, mint tokens and seed data.
//!
//! Every fault answers with how many sockets it hit (`sockets`), besides its own counts. The
//! socket faults take an optional `user` to hit only that user's sockets, so that concurrent
//! tests can each break their own.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

use tether::protocol::{CloseCode, Topic};

use crate::access;
use crate::api_error::ApiError;
use crate::assistant::ASSISTANT_TOKEN;
use crate::auth::UserId;
use crate::clock::now_ms;
use crate::hub::PUBLISH_LOG_CAPACITY;
use crate::records::{
    AgentChange, AgentRecord, ChunkRecord, MessageRecord, RunRecord, RunStatus, Trigger,
};
use crate::state::AppState;
use crate::store::Store;
use crate::wire::{self, DomainEvent, Event};

/// The frame `/api/test/malformed` sends: a JSON text cut short.
pub const MALFORMED_FRAME: &str = r#"{"v":1,"type":"#;

/// Most events one `/api/test/publish` may ask for.
const MAX_PUBLISH_COUNT: u64 = 1_000_000;
/// Largest padding of one published event, in bytes.
const MAX_PUBLISH_SIZE: usize = 1024 * 1024;

type ApiResult = Result<Json<Value>, ApiError>;

/// The `/api/test/*` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/test/drop", post(drop_all))
        .route("/api/test/close", post(close_all))
        .route("/api/test/half-open", post(half_open))
        .route("/api/test/malformed", post(malformed))
        .route("/api/test/duplicate", post(duplicate))
        .route("/api/test/reorder", post(reorder))
        .route("/api/test/publish", post(publish))
        .route("/api/test/published", get(published))
        .route("/api/test/refuse", post(refuse))
        .route("/api/test/admit", post(admit))
        .route("/api/test/restart", post(restart))
        .route("/api/test/token", post(token))
        .route("/api/test/seed", post(seed))
}

fn params<T: DeserializeOwned>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// `?user=`: the user whose sockets a fault hits (all sockets without it).
#[derive(Deserialize)]
struct Target {
    user: Option<UserId>,
}

async fn drop_all(
    State(state): State<AppState>,
    query: Result<Query<Target>, QueryRejection>,
) -> ApiResult {
    let dropped = state.connections.abort(params(query)?.user);
    Ok(Json(json!({ "dropped": dropped, "sockets": dropped })))
}

#[derive(Deserialize)]
struct CloseParams {
    code: u16,
    #[serde(default)]
    reason: String,
    user: Option<UserId>,
}

async fn close_all(
    State(state): State<AppState>,
    query: Result<Query<CloseParams>, QueryRejection>,
) -> ApiResult {
    let CloseParams { code, reason, user } = params(query)?;
    if !is_sendable_close_code(code) {
        return Err(ApiError::BadRequest(format!(
            "{code} cannot be sent in a close frame"
        )));
    }
    let closed = state.connections.close(user, code, truncate(&reason, 123));
    Ok(Json(json!({ "closed": closed, "sockets": closed })))
}

/// Codes a close frame may carry (RFC 6455 section 7.4).
fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let end = (0..=max.min(s.len()))
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    &s[..end]
}

async fn half_open(
    State(state): State<AppState>,
    query: Result<Query<Target>, QueryRejection>,
) -> ApiResult {
    let hit = state.connections.half_open(params(query)?.user);
    Ok(Json(json!({ "half_open": hit, "sockets": hit })))
}

async fn malformed(
    State(state): State<AppState>,
    query: Result<Query<Target>, QueryRejection>,
) -> ApiResult {
    let sent = state
        .connections
        .send(params(query)?.user, &MALFORMED_FRAME.into());
    Ok(Json(json!({ "sent": sent, "sockets": sent })))
}

#[derive(Deserialize)]
struct DuplicateParams {
    #[serde(default = "one")]
    last: u64,
    user: Option<UserId>,
}

/// Sends the `last` buffered events of every topic again to its subscribers, seqs unchanged.
async fn duplicate(
    State(state): State<AppState>,
    query: Result<Query<DuplicateParams>, QueryRejection>,
) -> ApiResult {
    let p = params(query)?;
    let last = usize::try_from(p.last).unwrap_or(usize::MAX);
    let done = state.hub.lock().redeliver(last, p.user);
    Ok(Json(json!({
        "redelivered": done.frames,
        "sockets": done.sockets,
        "topics": done.topics,
    })))
}

/// For every topic with at least two buffered events, queues the one before the last again on
/// its subscribers' sockets: an older event arrives after a newer one.
async fn reorder(
    State(state): State<AppState>,
    query: Result<Query<Target>, QueryRejection>,
) -> ApiResult {
    let done = state.hub.lock().reorder(params(query)?.user);
    Ok(Json(json!({
        "queued": done.frames,
        "sockets": done.sockets,
        "topics": done.topics,
    })))
}

#[derive(Deserialize)]
struct PublishParams {
    topic: String,
    #[serde(default = "one")]
    count: u64,
    #[serde(default)]
    rate: f64,
    #[serde(default)]
    size: usize,
    kind: Option<String>,
}

fn one() -> u64 {
    1
}

/// Publishes `count` events at `rate` per second (0: at once); answers with their seqs.
async fn publish(
    State(state): State<AppState>,
    query: Result<Query<PublishParams>, QueryRejection>,
) -> ApiResult {
    let p = params(query)?;
    let topic = Topic::from(p.topic.as_str());
    if !access::is_known_topic(&topic) {
        return Err(ApiError::BadRequest(format!("not a topic: {:?}", p.topic)));
    }
    let kind = match p.kind.as_deref() {
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
        let seq = state.commit(|store, hub| {
            let event = kind.event(&state, store, &topic, &padding);
            hub.publish(&topic, event, None)
        });
        seqs = Some(seqs.map_or((seq, seq), |(first, _)| (first, seq)));
    }
    let (first_seq, last_seq) =
        seqs.map_or((Value::Null, Value::Null), |(f, l)| (json!(f), json!(l)));
    Ok(Json(
        json!({ "first_seq": first_seq, "last_seq": last_seq, "count": count }),
    ))
}

/// The events `/api/test/publish` can repeat. `run_update`, `thread_message` and
/// `stream_chunk` carry a fresh id each (a run id, or a message id), so that a test can tell
/// them apart without `seq`; `agent_updated` carries the agent's id.
#[derive(Clone, Copy, Debug)]
enum Template {
    /// The topic's agent (or a stand-in), renamed to the padding, `running`.
    AgentUpdated,
    /// A token of a reply of a fresh message id, the padding as content.
    StreamChunk,
    /// A run of a fresh id at 50%.
    RunUpdate,
    /// A user message of a fresh id (not stored), the padding as content.
    ThreadMessage,
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
    fn event(self, state: &AppState, store: &mut Store, topic: &Topic, padding: &str) -> Event {
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
    }
}

#[derive(Deserialize)]
struct PublishedParams {
    topic: String,
}

/// What the hub published on a topic, oldest first: the ground truth for tests. The log keeps
/// the last [`PUBLISH_LOG_CAPACITY`] events of the whole server; `evicted` counts the older
/// ones it dropped (of any topic), so a test knows whether its list is complete.
async fn published(
    State(state): State<AppState>,
    query: Result<Query<PublishedParams>, QueryRejection>,
) -> ApiResult {
    let topic = Topic::from(params(query)?.topic);
    let (entries, epoch, evicted, seq) = {
        let hub = state.hub.lock();
        let (entries, epoch, evicted) = hub.published(&topic);
        (entries, epoch, evicted, hub.seq(&topic))
    };
    let events: Vec<Value> = entries
        .iter()
        .map(|e| json!({ "epoch": e.epoch, "seq": e.seq, "type": e.kind, "id": e.id, "ts": e.ts }))
        .collect();
    Ok(Json(json!({
        "topic": topic,
        "epoch": epoch,
        "seq": seq,
        "events": events,
        "evicted": evicted,
        "capacity": PUBLISH_LOG_CAPACITY,
    })))
}

#[derive(Deserialize)]
struct RefuseParams {
    ms: u64,
}

async fn refuse(
    State(state): State<AppState>,
    query: Result<Query<RefuseParams>, QueryRejection>,
) -> ApiResult {
    let ms = params(query)?.ms;
    state.admission.refuse_for(Duration::from_millis(ms));
    Ok(Json(json!({ "refused_ms": ms, "sockets": 0 })))
}

/// Ends a refusal (or a restart's down time) now.
async fn admit(State(state): State<AppState>) -> ApiResult {
    state.admission.admit_now();
    Ok(Json(json!({ "admitting": true })))
}

#[derive(Deserialize)]
struct RestartParams {
    #[serde(default)]
    down_ms: u64,
    #[serde(default)]
    lose_history: bool,
}

/// Refuses new upgrades for `down_ms`, then closes every socket with 1012. With
/// `lose_history=true` the server also forgets every topic's history, as one restarted
/// without persistence would: each `seq` starts again from 1 and nothing can be replayed.
async fn restart(
    State(state): State<AppState>,
    query: Result<Query<RestartParams>, QueryRejection>,
) -> ApiResult {
    let RestartParams {
        down_ms,
        lose_history,
    } = params(query)?;
    state.admission.refuse_for(Duration::from_millis(down_ms));
    let topics_reset = if lose_history {
        state.hub.lock().lose_history()
    } else {
        0
    };
    let closed = state
        .connections
        .close_all(CloseCode::RESTART.0, "server restarting");
    Ok(Json(json!({
        "closed": closed,
        "sockets": closed,
        "down_ms": down_ms,
        "lost_history": lose_history,
        "topics_reset": topics_reset,
    })))
}

#[derive(Deserialize)]
struct TokenParams {
    sub: u64,
    #[serde(default = "an_hour")]
    exp_secs: i64,
}

fn an_hour() -> i64 {
    3600
}

async fn token(
    State(state): State<AppState>,
    query: Result<Query<TokenParams>, QueryRejection>,
) -> ApiResult {
    let p = params(query)?;
    let token = state
        .auth
        .mint(p.sub, p.exp_secs)
        .ok_or_else(|| ApiError::BadRequest("cannot mint".into()))?;
    Ok(Json(json!({ "token": token })))
}

#[derive(Deserialize)]
struct SeedParams {
    owner: u64,
    #[serde(default = "one")]
    agents: u64,
    #[serde(default)]
    threads: u64,
}

/// Creates `agents` agents for `owner`, each with `threads` threads, announcing each.
async fn seed(
    State(state): State<AppState>,
    query: Result<Query<SeedParams>, QueryRejection>,
) -> ApiResult {
    let p = params(query)?;
    let (agents, threads) = (p.agents.min(10_000), p.threads.min(100));
    let (ids, thread_ids) = state.commit(|store, hub| {
        let mut ids = Vec::new();
        let mut thread_ids = Vec::new();
        for n in 0..agents {
            let agent = store.create_agent(p.owner, format!("Agent {n}"), now_ms());
            hub.announce(&Topic::user(p.owner), &DomainEvent::AgentCreated(&agent));
            for t in 0..threads {
                let Some(thread) = store.create_thread(agent.id, format!("Thread {t}"), now_ms())
                else {
                    continue;
                };
                hub.announce(
                    &Topic::agent(agent.id),
                    &DomainEvent::ThreadCreated(&thread),
                );
                thread_ids.push(thread.id);
            }
            ids.push(agent.id);
        }
        (ids, thread_ids)
    });
    Ok(Json(json!({ "ids": ids, "thread_ids": thread_ids })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_and_reasons() {
        assert!(
            is_sendable_close_code(1000)
                && is_sendable_close_code(4401)
                && is_sendable_close_code(1012)
        );
        assert!(
            !is_sendable_close_code(1005)
                && !is_sendable_close_code(1006)
                && !is_sendable_close_code(999)
        );
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 123), "abc");
    }
}
