//! `send_message`, read the way each profile reads it.
//!
//! - tether's stub reads `thread_id` and `content` from `data`, as the origin's contract says;
//!   the published `thread_message` echoes the request's `req_id`, and the sender gets it even
//!   if it does not hold the thread's topic; the simulated agent answers at once.
//! - The origin (cipher982/zerg, `backend/zerg/websocket/handlers.py`) checks that `data` fits
//!   the contract, then reads `thread_id`, `content` and `message_id` from the frame's **top
//!   level**. A frame that carries them only in `data`, as the contract has it, is refused with
//!   `error` "Missing thread_id or content in send_message", whose `req_id` is the top-level
//!   `message_id` (`""` when there is none), not the request's. A message it stores is
//!   published to the thread's subscribers only, with that same `req_id`, and waits unprocessed
//!   for a run of the thread (`POST /api/threads/{id}/run`): the socket never starts a reply.

use serde_json::{json, Map, Value};
use std::sync::Weak;

use tether_server::RequestHandler;
use tether_server::{ProtocolError, Reply};
use tether_wire::agents::model::SendMessage as SendMessageData;
use tether_wire::control::ErrorData;
use tether_wire::{Envelope, Topic};

use crate::auth::UserId;
use crate::config::Profile;
use crate::domain::access::Denial;
use crate::domain::chat::{self, Posting};
use crate::state::{ServerState, Shared};

/// The `type` of a chat message a client posts.
pub const SEND_MESSAGE: &str = "send_message";

/// The origin's answer when a message could not be stored for another reason.
const FAILED: &str = "Failed to send message";

/// `send_message`: posts the message, as the server's profile reads it.
pub(super) struct PostMessage {
    pub(super) state: Weak<Shared>,
    pub(super) profile: Profile,
}

impl RequestHandler<UserId> for PostMessage {
    async fn handle(&self, user: &UserId, request: &Envelope) -> Result<Reply, ProtocolError> {
        self.handle_frame(user, request, &request.encode()).await
    }

    async fn handle_frame(
        &self,
        user: &UserId,
        request: &Envelope,
        text: &str,
    ) -> Result<Reply, ProtocolError> {
        let state = ServerState::upgrade(&self.state).ok_or_else(super::gone)?;
        match self.profile {
            Profile::Tether => tether(&state, *user, request).await,
            Profile::Origin => Ok(origin(&state, *user, request, text).await),
        }
    }
}

/// tether's way: the fields in `data`; the reply is the published `thread_message`.
async fn tether(
    state: &ServerState,
    user: UserId,
    request: &Envelope,
) -> Result<Reply, ProtocolError> {
    let message: SendMessageData = request.data()?;
    let max = state.config.max_content_bytes;
    if message.content.len() > max {
        let details = format!("content over {max} bytes");
        return Err(ProtocolError::new(
            tether_server::session::code::INVALID_DATA,
            details,
        ));
    }
    let expected = Topic::thread(message.thread_id);
    if !request.topic.is_system() && request.topic != expected {
        let details = format!(
            "topic must be {expected} for thread_id {}",
            message.thread_id
        );
        return Err(ProtocolError::new(
            tether_server::session::code::INVALID_DATA,
            details,
        ));
    }
    let posting = Posting::tether(request.req_id.clone());
    let (_, published) =
        chat::post_user_message(state, user, message.thread_id, message.content, posting).await?;
    Ok(published.map_or(Reply::Nothing, Reply::Published))
}

/// The origin's way: `data` checked against the contract, the fields read from the top level.
async fn origin(state: &ServerState, user: UserId, request: &Envelope, text: &str) -> Reply {
    if request.data::<SendMessageData>().is_err() {
        // The origin also closes the socket with 1002 after this one; the stub keeps it open.
        return origin_error("INVALID_PAYLOAD", request.req_id.clone());
    }
    let top: Map<String, Value> = serde_json::from_str(text).unwrap_or_default();
    let field = |name: &str| top.get(name).filter(|v| !v.is_null());
    // Absent, it is "" (echoed as such); any other value that is not a string, none. One over
    // the id limit is not echoed (the stub's bound; the origin has none).
    let max_id = state.config.max_id_bytes;
    let message_id = match top.get("message_id") {
        None => Some(String::new()),
        Some(Value::String(id)) if id.len() <= max_id => Some(id.clone()),
        Some(_) => None,
    };
    let (Some(thread_id), Some(content)) = (field("thread_id"), field("content")) else {
        return origin_error("Missing thread_id or content in send_message", message_id);
    };
    let Some(thread_id) = thread_id.as_u64() else {
        return origin_error(&format!("Thread {thread_id} not found"), message_id);
    };
    let Some(content) = content.as_str().map(str::to_owned) else {
        return origin_error(FAILED, message_id);
    };
    if content.len() > state.config.max_content_bytes {
        return origin_error(FAILED, message_id);
    }
    let posting = Posting {
        publish: Some(message_id.clone()),
        answer_now: false,
    };
    match chat::post_user_message(state, user, thread_id, content, posting).await {
        Ok(_) => Reply::Nothing,
        Err(Denial::NotFound(_) | Denial::Forbidden(_)) => {
            origin_error(&format!("Thread {thread_id} not found"), message_id)
        }
        Err(_) => origin_error(FAILED, message_id),
    }
}

/// The origin's `error`: its sentence, `details` naming the `message_id` when there is a
/// non-empty one (the origin sends `null` otherwise; the stub leaves `details` out, as the
/// contract wants), and that `message_id` as the `req_id`.
fn origin_error(error: &str, message_id: Option<String>) -> Reply {
    let details = message_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .map(|id| json!({ "message_id": id }));
    Reply::Error {
        error: ErrorData {
            error: error.to_owned(),
            details,
        },
        req_id: message_id,
    }
}
