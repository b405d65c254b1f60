//! The REST API of PROTOCOL.md, plus `GET /api/agents/{id}` and `PATCH`/`DELETE
//! /api/threads/{id}` (which publish `thread_updated` and `thread_deleted`). Every change is
//! made with [`AppState::commit`] and publishes its events in the same step; another user's
//! resource gives 403 and an unknown id 404.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use tether::protocol::model::{AgentDeleted, ThreadDeleted};
use tether::protocol::{Frame, ServerMessage, Topic};

use crate::access;
use crate::api_error::ApiError;
use crate::chat;
use crate::clock::now_ms;
use crate::rest_auth::AuthUser;
use crate::runs;
use crate::state::AppState;

/// A JSON answer or an [`ApiError`].
type ApiResult<T = Json<Value>> = Result<T, ApiError>;

/// The routes under `/api` except the WebSocket and test control.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/agents", get(list_agents).post(create_agent))
        .route(
            "/api/agents/{id}",
            get(get_agent).patch(update_agent).delete(delete_agent),
        )
        .route("/api/agents/{id}/run", post(run_agent))
        .route("/api/threads", get(list_threads).post(create_thread))
        .route(
            "/api/threads/{id}",
            axum::routing::patch(update_thread).delete(delete_thread),
        )
        .route(
            "/api/threads/{id}/messages",
            get(list_messages).post(post_message),
        )
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
struct ThreadFilter {
    agent_id: Option<u64>,
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

/// Parses an id from the path; anything else is a 404.
fn parse_id(raw: &str) -> ApiResult<u64> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("no resource {raw:?}")))
}

/// The body, or a 400 saying what is wrong with it.
fn body<T>(body: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// `{"agents": [...], "seq": n}`, `seq` being that of `user:{id}`.
async fn list_agents(State(state): State<AppState>, AuthUser(user): AuthUser) -> Json<Value> {
    let (agents, seq) =
        state.commit(|store, hub| (store.agents_of(user), hub.seq(&Topic::User(user))));
    Json(json!({ "agents": agents, "seq": seq }))
}

async fn get_agent(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let agent = state.read(|store| access::agent(store, user, id).cloned())?;
    Ok(Json(json!(agent)))
}

async fn create_agent(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    new: Result<Json<NewAgent>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = body(new)?.name;
    let agent = state.commit(|store, hub| {
        let agent = store.create_agent(user, name, now_ms());
        hub.publish(
            &Topic::User(user),
            Frame::new(ServerMessage::AgentCreated(agent.clone())),
            None,
        );
        agent
    });
    Ok((StatusCode::CREATED, Json(json!(agent))))
}

async fn update_agent(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    change: Result<Json<AgentChange>, JsonRejection>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let change = body(change)?;
    let agent = state.commit(|store, hub| {
        access::agent(store, user, id)?;
        let agent = store.update_agent(id, change.name, change.status, now_ms());
        let agent = agent.ok_or_else(|| ApiError::NotFound(format!("no agent {id}")))?;
        hub.publish(
            &Topic::Agent(id),
            Frame::new(ServerMessage::AgentUpdated(agent.clone())),
            None,
        );
        Ok::<_, ApiError>(agent)
    })?;
    Ok(Json(json!(agent)))
}

/// Deletes an agent and its threads, announcing each.
async fn delete_agent(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult {
    let id = parse_id(&id)?;
    state.commit(|store, hub| {
        access::agent(store, user, id)?;
        let deleted = store
            .delete_agent(id)
            .ok_or_else(|| ApiError::NotFound(format!("no agent {id}")))?;
        for thread_id in deleted.thread_ids {
            let gone = ServerMessage::ThreadDeleted(ThreadDeleted { id: thread_id });
            hub.publish(&Topic::Thread(thread_id), Frame::new(gone), None);
        }
        let gone = ServerMessage::AgentDeleted(AgentDeleted { id });
        hub.publish(&Topic::Agent(id), Frame::new(gone.clone()), None);
        hub.publish(&Topic::User(deleted.agent.owner_id), Frame::new(gone), None);
        Ok::<_, ApiError>(())
    })?;
    Ok(Json(json!({ "id": id })))
}

async fn run_agent(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    state.read(|store| access::agent(store, user, id).map(|_| ()))?;
    let run_id =
        runs::start(&state, id).ok_or_else(|| ApiError::NotFound(format!("no agent {id}")))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "agent_id": id, "run_id": run_id })),
    ))
}

/// `{"threads": [...]}`, of one agent when `agent_id` is given.
async fn list_threads(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    filter: Result<Query<ThreadFilter>, QueryRejection>,
) -> ApiResult {
    let agent_id = filter
        .map_err(|e| ApiError::BadRequest(e.body_text()))?
        .0
        .agent_id;
    let threads = state.read(|store| {
        if let Some(agent_id) = agent_id {
            access::agent(store, user, agent_id)?;
        }
        Ok::<_, ApiError>(store.threads_of(user, agent_id))
    })?;
    Ok(Json(json!({ "threads": threads })))
}

async fn create_thread(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    new: Result<Json<NewThread>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = body(new)?;
    let thread = state.commit(|store, hub| {
        access::agent(store, user, new.agent_id)?;
        let thread = store.create_thread(new.agent_id, new.title, now_ms());
        let thread =
            thread.ok_or_else(|| ApiError::NotFound(format!("no agent {}", new.agent_id)))?;
        hub.publish(
            &Topic::Agent(new.agent_id),
            Frame::new(ServerMessage::ThreadCreated(thread.clone())),
            None,
        );
        Ok::<_, ApiError>(thread)
    })?;
    Ok((StatusCode::CREATED, Json(json!(thread))))
}

async fn update_thread(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    change: Result<Json<ThreadChange>, JsonRejection>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let title = body(change)?.title;
    let thread = state.commit(|store, hub| {
        access::thread(store, user, id)?;
        let thread = store
            .update_thread(id, title)
            .ok_or_else(|| ApiError::NotFound(format!("no thread {id}")))?;
        hub.publish(
            &Topic::Thread(id),
            Frame::new(ServerMessage::ThreadUpdated(thread.clone())),
            None,
        );
        Ok::<_, ApiError>(thread)
    })?;
    Ok(Json(json!(thread)))
}

async fn delete_thread(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult {
    let id = parse_id(&id)?;
    state.commit(|store, hub| {
        access::thread(store, user, id)?;
        store
            .delete_thread(id)
            .ok_or_else(|| ApiError::NotFound(format!("no thread {id}")))?;
        hub.publish(
            &Topic::Thread(id),
            Frame::new(ServerMessage::ThreadDeleted(ThreadDeleted { id })),
            None,
        );
        Ok::<_, ApiError>(())
    })?;
    Ok(Json(json!({ "id": id })))
}

/// `{"messages": [...], "seq": n}`: the history, current to `seq` of `thread:{id}`.
async fn list_messages(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let (messages, seq) = state.commit(|store, hub| {
        access::thread(store, user, id)?;
        Ok::<_, ApiError>((store.messages(id), hub.seq(&Topic::Thread(id))))
    })?;
    Ok(Json(json!({ "messages": messages, "seq": seq })))
}

async fn post_message(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    new: Result<Json<NewMessage>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    let content = body(new)?.content;
    let message = chat::post_user_message(&state, user, id, content, None, None)?;
    Ok((StatusCode::CREATED, Json(json!(message))))
}

async fn stats(State(state): State<AppState>) -> Json<Value> {
    Json(state.stats.to_json(state.hub.subscriber_counts()))
}

async fn health() -> Json<Value> {
    Json(json!({ "ok": true }))
}
