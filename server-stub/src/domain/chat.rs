//! Posting a user's chat message, shared by `send_message` and `POST /api/threads/{id}/messages`,
//! and running a thread (`POST /api/threads/{id}/run`).
//!
//! What a posted message sets off depends on the way it came and the server's profile
//! ([`Posting`]): tether's stub publishes its `thread_message` and, with the simulator on,
//! streams a reply at once, whichever way it came. The origin publishes it only when it came
//! over the socket, and answers it only when the thread is run: its messages are stored
//! unprocessed until then.

use std::sync::Arc;

use tether_server::Publication;
use tether_wire::Topic;

use crate::auth::UserId;
use crate::clock::now_ms;
use crate::domain::access::{self, Denial};
use crate::domain::assistant;
use crate::domain::records::MessageRecord;
use crate::domain::wire::DomainEvent;
use crate::state::ServerState;

/// What posting a message does besides storing it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Posting {
    /// Publish its `thread_message` on the thread's topic, with this `req_id` (`None`: do not
    /// publish it).
    pub publish: Option<Option<String>>,
    /// Answer it at once (with the simulator on); otherwise it waits for a run of the thread.
    pub answer_now: bool,
}

impl Posting {
    /// tether's stub, either way: published (answering `req_id`) and answered at once.
    pub fn tether(req_id: Option<String>) -> Posting {
        Posting {
            publish: Some(req_id),
            answer_now: true,
        }
    }
}

/// Stores a user message on `thread:{thread_id}` and does what `posting` says. Returns the
/// message and its publication, if it was published.
pub async fn post_user_message(
    state: &ServerState,
    user: UserId,
    thread_id: u64,
    content: String,
    posting: Posting,
) -> Result<(MessageRecord, Option<Arc<Publication>>), Denial> {
    let answer_now = posting.answer_now;
    let (message, published) = state
        .commit_all(|store, out| {
            access::thread(store, user, thread_id)?;
            let message = store.add_message(thread_id, "user", content, now_ms())?;
            if let Some(req_id) = posting.publish {
                let event = DomainEvent::ThreadMessage(&message);
                out.announce_to(&Topic::thread(thread_id), &event, req_id);
            }
            if !answer_now {
                store.mark_unprocessed(thread_id, message.id);
            }
            Ok(message)
        })
        .await;
    let message = message?;
    if answer_now && state.config.simulate {
        assistant::spawn_reply(state, user, thread_id, &message.content);
    }
    Ok((message, published.into_iter().next()))
}

/// Runs `thread_id`: answers the latest message waiting for a run, if any (with the simulator
/// on). Returns whether one was waiting.
pub async fn run_thread(state: &ServerState, user: UserId, thread_id: u64) -> Result<bool, Denial> {
    let prompt = state
        .commit(|store, _| {
            access::thread(store, user, thread_id)?;
            Ok::<_, Denial>(store.take_unprocessed(thread_id))
        })
        .await?;
    let Some(prompt) = prompt else {
        return Ok(false);
    };
    if state.config.simulate {
        assistant::spawn_reply(state, user, thread_id, &prompt);
    }
    Ok(true)
}
