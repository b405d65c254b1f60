//! The REST lists, a page at a time: `GET /api/agents`, `GET /api/threads?agent_id=` and
//! `GET /api/threads/{id}/messages`. A page holds at most `?limit=` items (at most
//! `--max-page-items`, the default) and ends before the item that would take its encoding past
//! `--max-page-bytes` (it holds one item at least). `next` is the cursor of the next page, to
//! pass as `?after=`, or `null` after the last one; agents and threads are in id order, a
//! thread's history oldest first.
//!
//! Only the caller's own records are read ([`Store`](crate::domain::store::Store) indexes them
//! by owner), a page at a time under the store's lock; they are encoded after it is released.
//! In the tether profile a page carries the `seq` of its topic (`user:{id}`, `thread:{id}`)
//! it is current to: a client that reads several pages keeps the first page's (events after
//! it may repeat what later pages show, and every change of the client's model is idempotent).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use tether_wire::Topic;

use super::{parse_id, ApiResult};
use crate::config::Profile;
use crate::domain::access;
use crate::domain::wire::tether::{
    agent as agent_json, message as message_json, thread as thread_json,
};
use crate::http::api_error::ApiError;
use crate::http::rest_auth::AuthUser;
use crate::state::ServerState;

/// `?limit=&after=`, and for threads `?agent_id=`.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    limit: Option<usize>,
    after: Option<u64>,
    agent_id: Option<u64>,
}

impl PageQuery {
    fn parse(
        query: Result<Query<PageQuery>, QueryRejection>,
        state: &ServerState,
    ) -> Result<(PageQuery, usize), ApiError> {
        let query = query.map_err(|e| ApiError::BadRequest(e.body_text()))?.0;
        let max = state.config.max_page_items.max(1);
        let limit = query.limit.unwrap_or(max).clamp(1, max);
        Ok((query, limit))
    }
}

/// Encodes `items` until the page's byte budget would be passed (one item at least).
fn encode<T>(
    items: &[T],
    as_json: impl Fn(&T) -> serde_json::Result<Value>,
    max_bytes: usize,
) -> Vec<Value> {
    let mut bytes = 0;
    let mut page = Vec::new();
    for item in items {
        let Ok(value) = as_json(item) else {
            continue;
        };
        bytes += serde_json::to_vec(&value).map_or(0, |v| v.len());
        if !page.is_empty() && bytes > max_bytes {
            break;
        }
        page.push(value);
    }
    page
}

/// A page's answer: `{key: items, "next": cursor}`, and `"seq"` in the tether profile.
fn answer(state: &ServerState, key: &str, items: Vec<Value>, next: Option<u64>, seq: u64) -> Value {
    let mut answer = json!({ key: items, "next": next });
    if state.config.profile == Profile::Tether {
        answer["seq"] = json!(seq);
    }
    answer
}

/// `{"agents": [...], "next", "seq"}`, `seq` being that of `user:{id}`.
pub(super) async fn agents(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult {
    let (query, limit) = PageQuery::parse(query, &state)?;
    let topic = Topic::user(user);
    let (agents, at) = state
        .read_at(&topic, |store| {
            store.agents_page(user, query.after, limit + 1)
        })
        .await?;
    let shown = &agents[..agents.len().min(limit)];
    let items = encode(
        shown,
        |a| serde_json::to_value(agent_json(a)),
        state.config.max_page_bytes,
    );
    let next = (items.len() < agents.len()).then(|| agents[items.len() - 1].id);
    Ok(Json(answer(&state, "agents", items, next, at.offset)))
}

/// `{"threads": [...], "next"}`, of one agent when `agent_id` is given.
pub(super) async fn threads(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult {
    let (query, limit) = PageQuery::parse(query, &state)?;
    let threads = state
        .read(|store| {
            if let Some(agent_id) = query.agent_id {
                access::agent(store, user, agent_id)?;
            }
            let page = store.threads_page(user, query.agent_id, query.after, limit + 1);
            Ok::<_, ApiError>(page)
        })
        .await?;
    let shown = &threads[..threads.len().min(limit)];
    let items = encode(
        shown,
        |t| serde_json::to_value(thread_json(t)),
        state.config.max_page_bytes,
    );
    let next = (items.len() < threads.len()).then(|| threads[items.len() - 1].id);
    Ok(Json(json!({ "threads": items, "next": next })))
}

/// `{"messages": [...], "next", "seq"}`: part of the history, current to `seq` of
/// `thread:{id}`.
pub(super) async fn messages(
    State(state): State<ServerState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let (query, limit) = PageQuery::parse(query, &state)?;
    let after = usize::try_from(query.after.unwrap_or(0)).unwrap_or(usize::MAX);
    let max_bytes = state.config.max_page_bytes;
    let (page, at) = state
        .read_at(&Topic::thread(id), |store| {
            access::thread(store, user, id)?;
            Ok::<_, ApiError>(store.messages_page(id, after, (limit, max_bytes)))
        })
        .await?;
    let page = page?;
    let items = encode(
        &page.messages,
        |m| serde_json::to_value(message_json(m)),
        max_bytes,
    );
    let next = if items.len() < page.messages.len() {
        Some(after + items.len())
    } else {
        page.next
    };
    let next = next.map(|n| n as u64);
    Ok(Json(answer(&state, "messages", items, next, at.offset)))
}
