//! Posting a user's chat message, shared by `send_message` and `POST /api/threads/{id}/messages`:
//! store it, publish its `thread_message` and, with the simulator on, stream a reply.

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

/// Stores and publishes a user message on `thread:{thread_id}`; the event carries `req_id`.
/// Returns the message and its publication.
pub async fn post_user_message(
    state: &ServerState,
    user: UserId,
    thread_id: u64,
    content: String,
    req_id: Option<String>,
) -> Result<(MessageRecord, Option<Arc<Publication>>), Denial> {
    let (message, published) = state
        .commit_all(|store, out| {
            access::thread(store, user, thread_id)?;
            let message = store.add_message(thread_id, "user", content, now_ms())?;
            let event = DomainEvent::ThreadMessage(&message);
            out.announce_to(&Topic::thread(thread_id), &event, req_id);
            Ok(message)
        })
        .await;
    let message = message?;
    if state.config.simulate {
        assistant::spawn_reply(state, user, thread_id, &message.content);
    }
    Ok((message, published.into_iter().next()))
}
