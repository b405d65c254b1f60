//! The REST API of PROTOCOL.md, plus `GET /api/agents/{id}` and `PATCH`/`DELETE
//! /api/threads/{id}` (which publish `thread_updated` and `thread_deleted`). In the origin
//! profile a posted message is stored unprocessed, unannounced, until the thread is run, as on
//! the origin. Every change is
//! made with [`ServerState::commit`], which publishes its events in the same step; another user's
//! resource gives 403, an unknown id 404, and a change past the user's quota 429 `LIMIT`.
//! Records are answered in the tether profile's shapes in both profiles. The lists come in
//! pages ([`lists`]).

mod lists;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use tether_wire::Topic;

use crate::clock::now_ms;
use crate::config::Profile;
use crate::domain::access;
use crate::domain::chat::{self, Posting};
use crate::domain::records::Trigger;
use crate::domain::runs;
use crate::domain::wire::tether::{
    agent as agent_json, message as message_json, thread as thread_json,
};
use crate::domain::wire::DomainEvent;
use crate::http::api_error::ApiError;
use crate::http::rest_auth::AuthUser;
use crate::state::ServerState;

/// A JSON answer or an [`ApiError`].
pub(super) type ApiResult<T = Json<Value>> = Result<T, ApiError>;

/// The routes under `/api` except the WebSocket and test control.
pub fn router() -> Router<ServerState> {
    Router::new()
        .route("/api/agents", get(lists::agents).post(create_agent))
        .route(
            "/api/agents/{id}",
            get(get_agent).patch(update_agent).delete(delete_agent),
        )
        .route("/api/agents/{id}/run", post(run_agent))
        .route("/api/threads", get(lists::threads).post(create_thread))
        .route(
            "/api/threads/{id}",
            axum::routing::patch(update_thread).delete(delete_thread),
        )
        .route(
            "/api/threads/{id}/messages",
            get(lists::messages).post(post_message),
        )
        .route("/api/threads/{id}/run", post(run_thread))
        .route("/api/stats", get(stats))
        .route("/api/health", get(health))
}

#[derive(Deserialize)]
struct NewAgent {
    name: String,
}

#[derive(Deserialize)]
struct AgentChange {
    name: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct NewThread {
    agent_id: u64,
    title: String,
}

#[derive(Deserialize)]
struct ThreadChange {
    title: String,
}

#[derive(Deserialize)]
struct NewMessage {
    content: String,
}

/// Parses an id from the path, in canonical decimal only (no sign, no leading zero); anything
/// else is a 404.
pub(super) fn parse_id(raw: &str) -> ApiResult<u64> {
    crate::auth::parse_id(raw).ok_or_else(|| ApiError::NotFound("no such resource".into()))
}

/// The body, or a 400 (413 when over the body limit) saying what is wrong with it.
fn body<T>(body: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    body.map(|Json(b)| b).map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(e.body_text())
        } else {
            ApiError::BadRequest(e.body_text())
        }
    })
}

/// A 400 when `value` (the field `what`) is over `max` bytes.
fn check_size(what: &str, value: Option<&str>, max: usize) -> ApiResult<()> {
    match value {
        Some(v) if v.len() > max => Err(ApiError::BadRequest(format!(
            "{what} has {} bytes; at most {max} are accepted",
            v.len()
        ))),
        _ => Ok(()),
    }
}

async fn get_agent(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let agent = state
        .read(|store| access::agent(store, user, id).cloned())
        .await?;
    Ok(Json(json!(agent_json(&agent))))
}

async fn create_agent(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    new: Result<Json<NewAgent>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = body(new)?.name;
    check_size("name", Some(&name), state.config.max_name_bytes)?;
    let agent = state
        .commit(|store, out| {
            let agent = store.create_agent(user, name, now_ms())?;
            out.announce(&Topic::user(user), &DomainEvent::AgentCreated(&agent));
            Ok::<_, ApiError>(agent)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!(agent_json(&agent)))))
}

async fn update_agent(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    change: Result<Json<AgentChange>, JsonRejection>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let change = body(change)?;
    let max = state.config.max_name_bytes;
    check_size("name", change.name.as_deref(), max)?;
    check_size("status", change.status.as_deref(), max)?;
    let agent = state
        .commit(|store, out| {
            access::agent(store, user, id)?;
            let (agent, change) = store.update_agent(id, change.name, change.status, now_ms())?;
            out.announce(
                &Topic::agent(id),
                &DomainEvent::AgentUpdated(&agent, change),
            );
            Ok::<_, ApiError>(agent)
        })
        .await?;
    Ok(Json(json!(agent_json(&agent))))
}

/// Deletes an agent and its threads, announcing each.
async fn delete_agent(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult {
    let id = parse_id(&id)?;
    state
        .commit(|store, out| {
            access::agent(store, user, id)?;
            let deleted = store
                .delete_agent(id)
                .ok_or_else(|| ApiError::NotFound(format!("no agent {id}")))?;
            for thread_id in deleted.thread_ids {
                out.announce(
                    &Topic::thread(thread_id),
                    &DomainEvent::ThreadDeleted(thread_id),
                );
            }
            let gone = DomainEvent::AgentDeleted(id);
            out.announce(&Topic::agent(id), &gone);
            out.announce(&Topic::user(deleted.agent.owner_id), &gone);
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(Json(json!({ "id": id })))
}

async fn run_agent(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    state
        .read(|store| access::agent(store, user, id).map(|_| ()))
        .await?;
    let run_id = runs::start(&state, id, Trigger::Manual).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "agent_id": id, "run_id": run_id })),
    ))
}

async fn create_thread(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    new: Result<Json<NewThread>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = body(new)?;
    check_size("title", Some(&new.title), state.config.max_name_bytes)?;
    let thread = state
        .commit(|store, out| {
            access::agent(store, user, new.agent_id)?;
            let thread = store.create_thread(new.agent_id, new.title, now_ms())?;
            out.announce(
                &Topic::agent(new.agent_id),
                &DomainEvent::ThreadCreated(&thread),
            );
            Ok::<_, ApiError>(thread)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!(thread_json(&thread)))))
}

async fn update_thread(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    change: Result<Json<ThreadChange>, JsonRejection>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let title = body(change)?.title;
    check_size("title", Some(&title), state.config.max_name_bytes)?;
    let thread = state
        .commit(|store, out| {
            access::thread(store, user, id)?;
            let thread = store.update_thread(id, title, now_ms())?;
            out.announce(&Topic::thread(id), &DomainEvent::ThreadUpdated(&thread));
            Ok::<_, ApiError>(thread)
        })
        .await?;
    Ok(Json(json!(thread_json(&thread))))
}

async fn delete_thread(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult {
    let id = parse_id(&id)?;
    state
        .commit(|store, out| {
            access::thread(store, user, id)?;
            store
                .delete_thread(id)
                .ok_or_else(|| ApiError::NotFound(format!("no thread {id}")))?;
            out.announce(&Topic::thread(id), &DomainEvent::ThreadDeleted(id));
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(Json(json!({ "id": id })))
}

async fn post_message(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    new: Result<Json<NewMessage>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    let content = body(new)?.content;
    check_size("content", Some(&content), state.config.max_content_bytes)?;
    // The origin's REST stores the message unprocessed and publishes nothing: a run of the
    // thread answers it.
    let posting = match state.config.profile {
        Profile::Tether => Posting::tether(None),
        Profile::Origin => Posting::default(),
    };
    let (message, _) = chat::post_user_message(&state, user, id, content, posting).await?;
    Ok((StatusCode::CREATED, Json(json!(message_json(&message)))))
}

/// Answers the thread's messages waiting for a run (the origin's way of getting a reply; in
/// tether's stub a message is answered when posted, so nothing waits).
async fn run_thread(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    let ran = chat::run_thread(&state, user, id).await?;
    let status = if ran { "ok" } else { "No unprocessed messages" };
    Ok((StatusCode::ACCEPTED, Json(json!({ "status": status }))))
}

/// The counters. With `--test-control` or `--dev` anyone may read all of them; otherwise the
/// caller needs a token and sees the aggregate counters and only its own `per_user` entry,
/// without the topics (`subscribers`) of other users.
async fn stats(State(state): State<ServerState>, caller: Result<AuthUser, ApiError>) -> ApiResult {
    let mut stats = state
        .server
        .stats()
        .to_json(state.server.subscriber_counts());
    let broker = state.broker.stats();
    if let Some(bytes) = broker.get("replay_bytes") {
        stats["replay_bytes"] = bytes.clone();
    }
    stats["broker"] = broker;
    if state.config.test_control || state.config.dev {
        return Ok(Json(stats));
    }
    let AuthUser(user) = caller?;
    let own = stats["per_user"].get(user.to_string()).cloned();
    stats["per_user"] = json!({});
    if let Some(own) = own {
        stats["per_user"][user.to_string()] = own;
    }
    if let Some(map) = stats.as_object_mut() {
        map.remove("subscribers");
    }
    Ok(Json(stats))
}

async fn health() -> Json<Value> {
    Json(json!({ "ok": true }))
}
