//! Posting a user's chat message, shared by `send_message` and `POST /api/threads/{id}/messages`:
//! store it, publish its `thread_message` and, with the simulator on, stream a reply.

use tether::protocol::Topic;

use crate::access::{self, Denial};
use crate::assistant;
use crate::auth::UserId;
use crate::clock::now_ms;
use crate::outbox::Outbox;
use crate::records::MessageRecord;
use crate::state::AppState;
use crate::wire::DomainEvent;

/// Stores and publishes a user message on `thread:{thread_id}`. The event carries `req_id`;
/// `sender`, when it does not hold the topic, gets the event directly.
pub fn post_user_message(
    state: &AppState,
    user: UserId,
    thread_id: u64,
    content: String,
    req_id: Option<String>,
    sender: Option<&Outbox>,
) -> Result<MessageRecord, Denial> {
    let message = state.commit(|store, hub| {
        access::thread(store, user, thread_id)?;
        let message = store
            .add_message(thread_id, "user", content, now_ms())
            .ok_or_else(|| Denial::NotFound(format!("no thread {thread_id}")))?;
        let event = DomainEvent::ThreadMessage(&message);
        hub.announce_to(&Topic::thread(thread_id), &event, req_id, sender);
        Ok(message)
    })?;
    if state.config.simulate {
        assistant::spawn_reply(state, thread_id, &message.content);
    }
    Ok(message)
}
