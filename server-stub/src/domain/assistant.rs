//! The simulated assistant: answers a user message with a reply streamed token by token
//! (`stream_start`, in the origin profile `assistant_id`, `stream_chunk`s, `stream_end`), then
//! keeps the finished message in the thread's history. A reply counts as one of its user's
//! runs in flight: a user with as many as it may gets its message stored but no reply.

use tether_wire::Topic;

use crate::auth::UserId;
use crate::clock::now_ms;
use crate::domain::records::ChunkRecord;
use crate::domain::wire::DomainEvent;
use crate::state::ServerState;

/// The `chunk_type` of the streamed tokens.
pub const ASSISTANT_TOKEN: &str = "assistant_token";

/// Starts streaming a reply to `user`'s `prompt` on `thread:{thread_id}`, if `user` has room
/// for one more run in flight.
pub fn spawn_reply(state: &ServerState, user: UserId, thread_id: u64, prompt: &str) {
    let in_flight = match state.runs.start(user) {
        Ok(in_flight) => in_flight,
        Err(denial) => {
            tracing::info!(
                user,
                thread_id,
                reason = denial.message(),
                "no reply: too many in flight"
            );
            return;
        }
    };
    let state = state.clone();
    let text = reply_to(prompt);
    tokio::spawn(async move {
        let _in_flight = in_flight;
        tokio::select! {
            () = state.shutdown.cancelled() => {}
            () = stream(&state, thread_id, text) => {}
        }
    });
}

/// The canned answer.
pub fn reply_to(prompt: &str) -> String {
    let words = prompt.split_whitespace().count();
    format!("You wrote {words} word(s). This is the simulated agent, streaming its answer one token at a time.")
}

/// Splits text into tokens of a word and its trailing space.
pub fn tokens(text: &str) -> Vec<&str> {
    text.split_inclusive(' ').collect()
}

async fn stream(state: &ServerState, thread_id: u64, text: String) {
    let topic = Topic::thread(thread_id);
    let Some(message_id) = start(state, &topic, thread_id).await else {
        return;
    };
    for token in tokens(&text) {
        tokio::time::sleep(state.config.stream_chunk()).await;
        let chunk = ChunkRecord {
            thread_id,
            message_id: Some(message_id),
            chunk_type: ASSISTANT_TOKEN.into(),
            content: token.into(),
        };
        let event = DomainEvent::StreamChunk(&chunk);
        if !publish_if_thread_exists(state, &topic, thread_id, &event).await {
            return;
        }
    }
    tokio::time::sleep(state.config.stream_chunk()).await;
    state
        .commit(|store, out| {
            if store
                .add_message_with_id(message_id, thread_id, "assistant", text, now_ms())
                .is_some()
            {
                let end = DomainEvent::StreamEnd {
                    thread_id,
                    message_id,
                };
                out.announce(&topic, &end);
            }
        })
        .await;
}

/// Reserves the reply's message id and announces the stream (`stream_start`, and in the origin
/// profile `assistant_id`).
async fn start(state: &ServerState, topic: &Topic, thread_id: u64) -> Option<u64> {
    state
        .commit(|store, out| {
            store.thread(thread_id)?;
            let message_id = store.reserve_message_id();
            out.announce(
                topic,
                &DomainEvent::StreamStart {
                    thread_id,
                    message_id,
                },
            );
            out.announce(
                topic,
                &DomainEvent::AssistantId {
                    thread_id,
                    message_id,
                },
            );
            Some(message_id)
        })
        .await
}

async fn publish_if_thread_exists(
    state: &ServerState,
    topic: &Topic,
    thread_id: u64,
    event: &DomainEvent<'_>,
) -> bool {
    state
        .commit(|store, out| {
            let exists = store.thread(thread_id).is_some();
            if exists {
                out.announce(topic, event);
            }
            exists
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_rebuild_the_text() {
        let text = reply_to("hello there");
        assert!(text.contains("2 word(s)"));
        assert_eq!(tokens(&text).concat(), text);
        assert!(tokens(&text).len() > 3);
    }
}
