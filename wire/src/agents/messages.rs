//! [`AgentsMessage`]: every event the origin backend sends on `agent:*`, `thread:*` and
//! `user:*`, decoded from an [`Envelope`](crate::Envelope) by its `type`, with the
//! contract's aliases. A type it does not know is [`AgentsMessage::Unknown`], never an error.

use serde::de::DeserializeOwned;

use super::model::*;
use crate::{DecodeError, Message};

/// The wire names, including the origin's aliases.
pub mod kind {
    /// The snapshot of an agent, sent on subscribe.
    pub const AGENT_STATE: &str = "agent_state";
    /// A new agent.
    pub const AGENT_CREATED: &str = "agent_created";
    /// A changed agent.
    pub const AGENT_UPDATED: &str = "agent_updated";
    /// A deleted agent.
    pub const AGENT_DELETED: &str = "agent_deleted";
    /// The origin's generic agent event: read as an update.
    pub const AGENT_EVENT: &str = "agent_event";
    /// Progress of a run.
    pub const RUN_UPDATE: &str = "run_update";
    /// A new chat message.
    pub const THREAD_MESSAGE: &str = "thread_message";
    /// The origin's alias of `thread_message`.
    pub const THREAD_MESSAGE_CREATED: &str = "thread_message_created";
    /// A new thread.
    pub const THREAD_CREATED: &str = "thread_created";
    /// A changed thread.
    pub const THREAD_UPDATED: &str = "thread_updated";
    /// A deleted thread.
    pub const THREAD_DELETED: &str = "thread_deleted";
    /// The origin's generic thread event: read as an update.
    pub const THREAD_EVENT: &str = "thread_event";
    /// A streamed reply begins.
    pub const STREAM_START: &str = "stream_start";
    /// A piece of a streamed reply.
    pub const STREAM_CHUNK: &str = "stream_chunk";
    /// A streamed reply is complete.
    pub const STREAM_END: &str = "stream_end";
    /// The id of the reply being streamed.
    pub const ASSISTANT_ID: &str = "assistant_id";
    /// The user's profile changed.
    pub const USER_UPDATE: &str = "user_update";
    /// Client → server: post a chat message.
    pub const SEND_MESSAGE: &str = "send_message";
}

/// An event of the agents platform.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentsMessage {
    /// `agent_state`: a snapshot, sent on subscribe.
    AgentState(Agent),
    /// `agent_created`.
    AgentCreated(Agent),
    /// `agent_updated`, or the origin's `agent_event`.
    AgentUpdated(Agent),
    /// `agent_deleted`.
    AgentDeleted(AgentRef),
    /// `run_update`.
    RunUpdate(RunUpdate),
    /// `thread_message` or `thread_message_created`.
    ThreadMessage(ChatMessage),
    /// `thread_created`.
    ThreadCreated(Thread),
    /// `thread_updated`, or the origin's `thread_event`.
    ThreadUpdated(Thread),
    /// `thread_deleted`.
    ThreadDeleted(ThreadRef),
    /// `stream_start`.
    StreamStart(StreamStart),
    /// `stream_chunk`.
    StreamChunk(StreamChunk),
    /// `stream_end`.
    StreamEnd(StreamEnd),
    /// `assistant_id`.
    AssistantId(AssistantId),
    /// `user_update`.
    UserUpdate(UserUpdate),
    /// A type this version does not know, kept whole.
    Unknown {
        /// The wire `type`.
        kind: String,
        /// The raw `data`, as JSON text.
        data: String,
    },
}

impl AgentsMessage {
    /// Every wire type it knows, aliases included.
    pub const KINDS: &'static [&'static str] = &[
        kind::AGENT_STATE,
        kind::AGENT_CREATED,
        kind::AGENT_UPDATED,
        kind::AGENT_DELETED,
        kind::AGENT_EVENT,
        kind::RUN_UPDATE,
        kind::THREAD_MESSAGE,
        kind::THREAD_MESSAGE_CREATED,
        kind::THREAD_CREATED,
        kind::THREAD_UPDATED,
        kind::THREAD_DELETED,
        kind::THREAD_EVENT,
        kind::STREAM_START,
        kind::STREAM_CHUNK,
        kind::STREAM_END,
        kind::ASSISTANT_ID,
        kind::USER_UPDATE,
    ];
}

fn data<T: DeserializeOwned>(kind: &str, data: &str) -> Result<T, DecodeError> {
    crate::json::from_str(data).map_err(|e| DecodeError::Data {
        kind: kind.to_owned(),
        error: e.text(),
    })
}

impl Message for AgentsMessage {
    fn decode(k: &str, raw: &str) -> Result<AgentsMessage, DecodeError> {
        use AgentsMessage as M;
        Ok(match k {
            kind::AGENT_STATE => M::AgentState(data(k, raw)?),
            kind::AGENT_CREATED => M::AgentCreated(data(k, raw)?),
            kind::AGENT_UPDATED | kind::AGENT_EVENT => M::AgentUpdated(data(k, raw)?),
            kind::AGENT_DELETED => M::AgentDeleted(data(k, raw)?),
            kind::RUN_UPDATE => M::RunUpdate(data(k, raw)?),
            kind::THREAD_MESSAGE | kind::THREAD_MESSAGE_CREATED => M::ThreadMessage(data(k, raw)?),
            kind::THREAD_CREATED => M::ThreadCreated(data(k, raw)?),
            kind::THREAD_UPDATED | kind::THREAD_EVENT => M::ThreadUpdated(data(k, raw)?),
            kind::THREAD_DELETED => M::ThreadDeleted(data(k, raw)?),
            kind::STREAM_START => M::StreamStart(data(k, raw)?),
            kind::STREAM_CHUNK => M::StreamChunk(data(k, raw)?),
            kind::STREAM_END => M::StreamEnd(data(k, raw)?),
            kind::ASSISTANT_ID => M::AssistantId(data(k, raw)?),
            kind::USER_UPDATE => M::UserUpdate(data(k, raw)?),
            _ => M::Unknown {
                kind: k.to_owned(),
                data: raw.to_owned(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Envelope;

    fn decode(kind: &str, data: &str) -> AgentsMessage {
        let text = format!(r#"{{"v":1,"type":"{kind}","topic":"agent:1","ts":0,"data":{data}}}"#);
        Envelope::decode(&text).unwrap().decode_as().unwrap()
    }

    #[test]
    fn aliases_decode_to_their_message() {
        assert!(matches!(
            decode("agent_event", r#"{"id":1,"status":"running"}"#),
            AgentsMessage::AgentUpdated(a) if a.status.as_deref() == Some("running")
        ));
        assert!(matches!(
            decode("thread_event", r#"{"thread_id":4}"#),
            AgentsMessage::ThreadUpdated(t) if t.id == 4
        ));
        assert!(matches!(
            decode("thread_message_created", r#"{"thread_id":4,"message":{"id":2,"role":"user","content":"x"}}"#),
            AgentsMessage::ThreadMessage(m) if m.id == 2 && m.thread_id == 4
        ));
    }

    #[test]
    fn an_unknown_type_is_kept_not_refused() {
        assert!(matches!(
            decode("node_state", r#"{"execution_id":1}"#),
            AgentsMessage::Unknown { kind, .. } if kind == "node_state"
        ));
    }
}
