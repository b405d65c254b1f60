//! How the chat posts a user message: over the socket, or by the app's REST call.
//!
//! Which server it is, the app's connection says ([`AppState::metrics`]: when tabs share one
//! socket, what the shared socket's server speaks; a tab's own link to the leader always
//! hears acknowledgements).
//!
//! - A server that speaks tether's extensions (it acknowledged a subscription:
//!   [`Replay::Offered`]) gets `send_message` over the socket, as the contract shapes it
//!   (`{thread_id, content}` in `data`): it answers with the stored `thread_message`, echoing
//!   the request's `req_id`, and a message sent while disconnected waits in the outbox.
//! - Any other server (the origin, or one not yet heard from) gets the app's REST call when
//!   the app gave one ([`ChatViewWsManager::post_without_extensions`]); the agents hooks give
//!   `POST /api/threads/{id}/messages`, then `POST /api/threads/{id}/run`, which is how the
//!   origin's own front end chats. The origin's socket handler reads `send_message`'s fields
//!   from the frame's top level, where the contract never puts them, so it refuses the
//!   contract's frame; and even a message it stores that way gets no reply, which only a run
//!   of the thread starts (PROTOCOL.md, "Where the origin deviates from its own contract").
//!   Without a REST call the socket is used all the same.
//!
//! [`ChatViewWsManager::post_without_extensions`]: super::ChatViewWsManager::post_without_extensions

use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};

use crate::core::{Replay, RequestError};
use crate::protocol::agents::model::{ChatMessage, SendMessage};
use crate::protocol::agents::{kind, AgentsMessage};
use crate::protocol::{Envelope, Topic};
use crate::{AppState, TopicManager};

/// The stored message, or what went wrong, said for the user.
pub type Posted = Pin<Box<dyn Future<Output = Result<ChatMessage, String>>>>;

/// Posts `content` to thread `thread_id` without the socket (over REST, say).
pub type RestPost = Rc<dyn Fn(u64, String) -> Posted>;

/// The app's way of posting over REST, and the app whose connection says whether the server
/// speaks tether's extensions.
#[derive(Clone)]
pub(super) struct RestPosting {
    /// The app. Its [`AppState::metrics`] tell, when tabs share one socket, what the shared
    /// socket's server speaks (this tab's own link always speaks tether's, to the leader).
    pub(super) app: Weak<AppState>,
    /// Posts over REST.
    pub(super) post: RestPost,
}

/// Posts `content` to thread `thread_id` the way the server takes it (see the module docs).
pub(super) async fn post(
    topics: &TopicManager,
    rest: Option<RestPosting>,
    thread_id: u64,
    content: String,
) -> Result<ChatMessage, String> {
    let extended = |r: &RestPosting| {
        r.app
            .upgrade()
            .is_some_and(|app| app.metrics().replay == Replay::Offered)
    };
    match rest.filter(|r| !extended(r)) {
        Some(rest) => (rest.post)(thread_id, content).await,
        None => over_socket(topics, thread_id, content).await,
    }
}

/// `send_message` over the socket; its reply is the stored `thread_message`.
async fn over_socket(
    topics: &TopicManager,
    thread_id: u64,
    content: String,
) -> Result<ChatMessage, String> {
    let data = SendMessage { thread_id, content };
    let frame = Envelope::new(kind::SEND_MESSAGE, Topic::thread(thread_id), &data)
        .map_err(|e| e.to_string())?;
    let reply = topics
        .client()
        .request(frame)
        .await
        .map_err(|e| describe(&e))?;
    match reply.decode_as::<AgentsMessage>() {
        Ok(AgentsMessage::ThreadMessage(m)) => Ok(m),
        _ => Err(format!("unexpected reply {}", reply.kind())),
    }
}

/// What a failed send says to the user.
fn describe(e: &RequestError) -> String {
    match e {
        RequestError::Server { error, details } if details.is_empty() => error.clone(),
        RequestError::Server { details, .. } => details.clone(),
        other => other.to_string(),
    }
}
