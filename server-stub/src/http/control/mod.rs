//! Test control, mounted only with `--test-control`: `/api/test/*` endpoints that break
//! connections on purpose (drop, close, half-open, malformed frame, duplicate, reorder, refuse,
//! restart with or without history), end a refusal early (admit), publish bursts of events,
//! read back what was published, mint tokens and seed data.
//!
//! Every fault answers with how many sockets it hit (`sockets`), besides its own counts. The
//! socket faults take an optional `user` to hit only that user's sockets, so that concurrent
//! tests can each break their own.

mod publish;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

use tether_server::UserKey;
use tether_wire::{CloseCode, Topic};

use crate::auth::UserId;
use crate::clock::now_ms;
use crate::domain::wire::DomainEvent;
use crate::http::api_error::ApiError;
use crate::state::ServerState;

/// The frame `/api/test/malformed` sends: a JSON text cut short.
pub const MALFORMED_FRAME: &str = r#"{"v":1,"type":"#;

/// A JSON answer or an [`ApiError`].
type ApiResult = Result<Json<Value>, ApiError>;

/// The `/api/test/*` routes.
pub fn router() -> Router<ServerState> {
    Router::new()
        .route("/api/test/drop", post(drop_all))
        .route("/api/test/close", post(close_all))
        .route("/api/test/half-open", post(half_open))
        .route("/api/test/malformed", post(malformed))
        .route("/api/test/duplicate", post(duplicate))
        .route("/api/test/reorder", post(reorder))
        .route("/api/test/publish", post(publish::publish))
        .route("/api/test/published", get(publish::published))
        .route("/api/test/subscriptions", get(publish::subscriptions))
        .route("/api/test/refuse", post(refuse))
        .route("/api/test/admit", post(admit))
        .route("/api/test/restart", post(restart))
        .route("/api/test/token", post(token))
        .route("/api/test/seed", post(seed))
}

/// The query parameters, or a 400 saying what is wrong with them.
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

/// The library's key of a user the stub knows by id.
fn key(user: Option<UserId>) -> Option<UserKey> {
    user.map(|u| UserKey::from(u.to_string()))
}

async fn drop_all(
    State(state): State<ServerState>,
    query: Result<Query<Target>, QueryRejection>,
) -> ApiResult {
    let user = params(query)?.user;
    let dropped = state.server.faults().drop_sockets(key(user).as_ref());
    tracing::info!(sockets = dropped, ?user, "fault: drop");
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
    State(state): State<ServerState>,
    query: Result<Query<CloseParams>, QueryRejection>,
) -> ApiResult {
    let CloseParams { code, reason, user } = params(query)?;
    if !is_sendable_close_code(code) {
        return Err(ApiError::BadRequest(format!(
            "{code} cannot be sent in a close frame"
        )));
    }
    let reason = truncate(&reason, 123);
    let closed = state
        .server
        .faults()
        .close(key(user).as_ref(), code, reason);
    tracing::info!(sockets = closed, ?user, code, "fault: close");
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
    State(state): State<ServerState>,
    query: Result<Query<Target>, QueryRejection>,
) -> ApiResult {
    let user = params(query)?.user;
    let hit = state.server.faults().half_open(key(user).as_ref());
    tracing::info!(sockets = hit, ?user, "fault: half-open");
    Ok(Json(json!({ "half_open": hit, "sockets": hit })))
}

async fn malformed(
    State(state): State<ServerState>,
    query: Result<Query<Target>, QueryRejection>,
) -> ApiResult {
    let user = params(query)?.user;
    let sent = state
        .server
        .faults()
        .send_raw(key(user).as_ref(), MALFORMED_FRAME);
    tracing::info!(sockets = sent, ?user, "fault: malformed frame");
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
    State(state): State<ServerState>,
    query: Result<Query<DuplicateParams>, QueryRejection>,
) -> ApiResult {
    let p = params(query)?;
    let last = usize::try_from(p.last).unwrap_or(usize::MAX);
    let done = state
        .server
        .faults()
        .redeliver(last, key(p.user).as_ref())
        .await;
    tracing::info!(
        sockets = done.sockets,
        frames = done.frames,
        user = ?p.user,
        "fault: duplicate"
    );
    Ok(Json(json!({
        "redelivered": done.frames,
        "sockets": done.sockets,
        "topics": done.topics,
    })))
}

/// For every topic with at least two buffered events, queues the one before the last again on
/// its subscribers' sockets: an older event arrives after a newer one.
async fn reorder(
    State(state): State<ServerState>,
    query: Result<Query<Target>, QueryRejection>,
) -> ApiResult {
    let user = params(query)?.user;
    let done = state.server.faults().reorder(key(user).as_ref()).await;
    tracing::info!(
        sockets = done.sockets,
        frames = done.frames,
        ?user,
        "fault: reorder"
    );
    Ok(Json(json!({
        "queued": done.frames,
        "sockets": done.sockets,
        "topics": done.topics,
    })))
}

/// The default of counts.
fn one() -> u64 {
    1
}

#[derive(Deserialize)]
struct RefuseParams {
    ms: u64,
}

async fn refuse(
    State(state): State<ServerState>,
    query: Result<Query<RefuseParams>, QueryRejection>,
) -> ApiResult {
    let ms = params(query)?.ms;
    state.server.faults().refuse_for(Duration::from_millis(ms));
    tracing::info!(ms, "fault: refusing new connections");
    Ok(Json(json!({ "refused_ms": ms, "sockets": 0 })))
}

/// Ends a refusal (or a restart's down time) now.
async fn admit(State(state): State<ServerState>) -> ApiResult {
    state.server.faults().admit_now();
    tracing::info!("admitting new connections again");
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
    State(state): State<ServerState>,
    query: Result<Query<RestartParams>, QueryRejection>,
) -> ApiResult {
    let RestartParams {
        down_ms,
        lose_history,
    } = params(query)?;
    let faults = state.server.faults();
    faults.refuse_for(Duration::from_millis(down_ms));
    let topics_reset = if lose_history {
        state.lose_history().await
    } else {
        0
    };
    let closed = faults.close(None, CloseCode::RESTART.0, "server restarting");
    tracing::info!(
        sockets = closed,
        down_ms,
        lose_history,
        topics_reset,
        "fault: restart"
    );
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
    State(state): State<ServerState>,
    query: Result<Query<TokenParams>, QueryRejection>,
) -> ApiResult {
    let p = params(query)?;
    let token = state
        .auth
        .mint(p.sub, p.exp_secs)
        .ok_or_else(|| ApiError::BadRequest("cannot mint".into()))?;
    // The token itself is never logged.
    tracing::debug!(user = p.sub, exp_secs = p.exp_secs, "minted a token");
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
    State(state): State<ServerState>,
    query: Result<Query<SeedParams>, QueryRejection>,
) -> ApiResult {
    let p = params(query)?;
    let (agents, threads) = (p.agents.min(10_000), p.threads.min(100));
    let (ids, thread_ids) = state
        .commit(|store, out| {
            let mut ids = Vec::new();
            let mut thread_ids = Vec::new();
            // Within the owner's quota: seeding stops at it.
            for n in 0..agents {
                let Ok(agent) = store.create_agent(p.owner, format!("Agent {n}"), now_ms()) else {
                    break;
                };
                out.announce(&Topic::user(p.owner), &DomainEvent::AgentCreated(&agent));
                for t in 0..threads {
                    let Ok(thread) = store.create_thread(agent.id, format!("Thread {t}"), now_ms())
                    else {
                        continue;
                    };
                    out.announce(
                        &Topic::agent(agent.id),
                        &DomainEvent::ThreadCreated(&thread),
                    );
                    thread_ids.push(thread.id);
                }
                ids.push(agent.id);
            }
            (ids, thread_ids)
        })
        .await;
    tracing::info!(
        owner = p.owner,
        agents = ids.len(),
        threads = thread_ids.len(),
        "seeded"
    );
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
