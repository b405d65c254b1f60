//! Posting a user's chat message, shared by `send_message` and `POST /api/threads/{id}/messages`:
//! store it, publish its `thread_message` and, with the simulator on, stream a reply.

use tether_wire::Topic;

use crate::auth::UserId;
use crate::clock::now_ms;
use crate::domain::access::{self, Denial};
use crate::domain::assistant;
use crate::domain::records::MessageRecord;
use crate::domain::wire::DomainEvent;
use crate::state::ServerState;
use crate::ws::send_queue::SendQueue;

/// Stores and publishes a user message on `thread:{thread_id}`. The event carries `req_id`;
/// `sender`, when it does not hold the topic, gets the event directly.
pub fn post_user_message(
    state: &ServerState,
    user: UserId,
    thread_id: u64,
    content: String,
    req_id: Option<String>,
    sender: Option<&SendQueue>,
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
