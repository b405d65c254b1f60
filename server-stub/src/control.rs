//! Test control, mounted only with `--test-control`: `POST /api/test/*` endpoints that break
//! connections on purpose (drop, close, half-open, malformed frame, refuse, restart), end a
//! refusal early (admit), repeat recent events (duplicate), publish bursts of events, mint tokens
//! and seed data.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

use tether::protocol::model::{Agent, StreamChunk};
use tether::protocol::{CloseCode, Frame, ServerFrame, ServerMessage, Topic};

use crate::api_error::ApiError;
use crate::assistant::ASSISTANT_TOKEN;
use crate::clock::now_ms;
use crate::state::AppState;

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
        .route("/api/test/publish", post(publish))
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

async fn drop_all(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "dropped": state.connections.abort_all() }))
}

#[derive(Deserialize)]
struct CloseParams {
    code: u16,
    #[serde(default)]
    reason: String,
}

async fn close_all(
    State(state): State<AppState>,
    query: Result<Query<CloseParams>, QueryRejection>,
) -> ApiResult {
    let CloseParams { code, reason } = params(query)?;
    if !is_sendable_close_code(code) {
        return Err(ApiError::BadRequest(format!(
            "{code} cannot be sent in a close frame"
        )));
    }
    Ok(Json(
        json!({ "closed": state.connections.close_all(code, truncate(&reason, 123)) }),
    ))
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

async fn half_open(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "half_open": state.connections.half_open_all() }))
}

async fn malformed(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "sent": state.connections.send_all(&MALFORMED_FRAME.into()) }))
}

#[derive(Deserialize)]
struct DuplicateParams {
    #[serde(default = "one")]
    last: u64,
}

/// Sends the `last` buffered events of every topic again to its subscribers, seqs unchanged.
async fn duplicate(
    State(state): State<AppState>,
    query: Result<Query<DuplicateParams>, QueryRejection>,
) -> ApiResult {
    let last = usize::try_from(params(query)?.last).unwrap_or(usize::MAX);
    Ok(Json(
        json!({ "redelivered": state.hub.lock().redeliver(last) }),
    ))
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
    let topic = match p.topic.parse::<Topic>() {
        Ok(Topic::Raw(_)) | Err(_) => {
            return Err(ApiError::BadRequest(format!("not a topic: {:?}", p.topic)))
        }
        Ok(topic) => topic,
    };
    let count = p.count.min(MAX_PUBLISH_COUNT);
    let template = template(
        &state,
        &topic,
        p.kind.as_deref(),
        p.size.min(MAX_PUBLISH_SIZE),
    )?;
    let start = Instant::now();
    let mut seqs = None;
    for i in 0..count {
        if p.rate > 0.0 && p.rate.is_finite() {
            // Precision loss only matters past 2^53 events.
            #[allow(clippy::cast_precision_loss)]
            let due = start + Duration::from_secs_f64(i as f64 / p.rate);
            tokio::time::sleep_until(due).await;
        }
        let seq = state
            .hub
            .publish(&topic, template.clone().with_ts(now_ms()));
        seqs = Some(seqs.map_or((seq, seq), |(first, _)| (first, seq)));
    }
    let (first_seq, last_seq) =
        seqs.map_or((Value::Null, Value::Null), |(f, l)| (json!(f), json!(l)));
    Ok(Json(
        json!({ "first_seq": first_seq, "last_seq": last_seq }),
    ))
}

/// The event `/api/test/publish` repeats: `agent_updated` or `stream_chunk`, padded.
fn template(
    state: &AppState,
    topic: &Topic,
    kind: Option<&str>,
    size: usize,
) -> Result<ServerFrame, ApiError> {
    let padding = "x".repeat(size);
    let kind = kind.unwrap_or(if matches!(topic, Topic::Thread(_)) {
        "stream_chunk"
    } else {
        "agent_updated"
    });
    let msg = match kind {
        "agent_updated" => {
            let id = if let Topic::Agent(id) = topic { *id } else { 0 };
            let stored = state.read(|store| store.agent(id).cloned());
            let agent = stored.unwrap_or(Agent {
                id,
                owner_id: 0,
                name: String::new(),
                status: String::new(),
                created_at: 0,
                updated_at: 0,
            });
            ServerMessage::AgentUpdated(Agent {
                name: padding,
                status: "running".into(),
                ..agent
            })
        }
        "stream_chunk" => {
            let thread_id = if let Topic::Thread(id) = topic {
                *id
            } else {
                0
            };
            let chunk_type = ASSISTANT_TOKEN.into();
            ServerMessage::StreamChunk(StreamChunk {
                thread_id,
                message_id: 0,
                content: padding,
                chunk_type,
            })
        }
        other => return Err(ApiError::BadRequest(format!("unknown kind {other:?}"))),
    };
    Ok(Frame::new(msg))
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
    Ok(Json(json!({ "refused_ms": ms })))
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
}

/// Refuses new upgrades for `down_ms`, then closes every socket with 1012.
async fn restart(
    State(state): State<AppState>,
    query: Result<Query<RestartParams>, QueryRejection>,
) -> ApiResult {
    let down_ms = params(query)?.down_ms;
    state.admission.refuse_for(Duration::from_millis(down_ms));
    let closed = state
        .connections
        .close_all(CloseCode::RESTART.0, "server restarting");
    Ok(Json(json!({ "closed": closed, "down_ms": down_ms })))
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
            hub.publish(
                &Topic::User(p.owner),
                Frame::new(ServerMessage::AgentCreated(agent.clone())),
                None,
            );
            for t in 0..threads {
                let Some(thread) = store.create_thread(agent.id, format!("Thread {t}"), now_ms())
                else {
                    continue;
                };
                hub.publish(
                    &Topic::Agent(agent.id),
                    Frame::new(ServerMessage::ThreadCreated(thread.clone())),
                    None,
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
