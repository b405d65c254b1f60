//! User messages no agent has answered yet. On the origin, posting a message (over REST, or
//! with its socket's `send_message`) stores it unprocessed, and a run of the thread
//! (`POST /api/threads/{id}/run`) answers what is unprocessed, at once. The stub keeps, per
//! thread, the latest such message: a run answers it and clears the thread's mark.

use super::Store;

impl Store {
    /// Notes that message `message_id` of `thread_id` waits for a run of its thread.
    pub fn mark_unprocessed(&mut self, thread_id: u64, message_id: u64) {
        if self.threads.contains_key(&thread_id) {
            self.unprocessed.insert(thread_id, message_id);
        }
    }

    /// The text of the latest message of `thread_id` waiting for a run, which is now
    /// processed; `None` if nothing waits.
    pub fn take_unprocessed(&mut self, thread_id: u64) -> Option<String> {
        let id = self.unprocessed.remove(&thread_id)?;
        let messages = self.messages.get(&thread_id)?;
        let message = messages.iter().rev().find(|m| m.id == id)?;
        Some(message.content.clone())
    }
}
