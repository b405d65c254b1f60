//! The data payloads carried in frames: agents, runs, threads, chat messages, streams,
//! acknowledgements and errors. Unknown fields are ignored, so newer servers stay compatible.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An agent as the server describes it in `agent_state`, `agent_created` and `agent_updated`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// The agent id, as in `agent:{id}`.
    pub id: u64,
    /// The user who owns it.
    pub owner_id: u64,
    /// Display name.
    pub name: String,
    /// `idle`, `running`, `error`, … kept as a string so new statuses are not lost.
    pub status: String,
    /// Creation time, milliseconds since the Unix epoch.
    #[serde(default)]
    pub created_at: u64,
    /// Last change, milliseconds since the Unix epoch.
    #[serde(default)]
    pub updated_at: u64,
}

/// `agent_deleted` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentDeleted {
    /// The deleted agent.
    pub id: u64,
}

/// `run_update` data: the progress of one run of an agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunUpdate {
    /// The agent that runs.
    pub agent_id: u64,
    /// The run.
    pub run_id: u64,
    /// `queued`, `running`, `succeeded`, `failed`, …
    pub status: String,
    /// Progress in percent, 0 to 100.
    #[serde(default)]
    pub progress: u8,
}

/// A chat thread, in `thread_created` and `thread_updated`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thread {
    /// The thread id, as in `thread:{id}`.
    pub id: u64,
    /// The agent the thread talks to.
    pub agent_id: u64,
    /// Display title.
    pub title: String,
    /// Creation time, milliseconds since the Unix epoch.
    #[serde(default)]
    pub created_at: u64,
}

/// `thread_deleted` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadDeleted {
    /// The deleted thread.
    pub id: u64,
}

/// One chat message, in `thread_message` and in the REST history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The message id, unique per server.
    pub id: u64,
    /// The thread it belongs to.
    pub thread_id: u64,
    /// `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
    /// Creation time, milliseconds since the Unix epoch.
    #[serde(default)]
    pub created_at: u64,
}

/// `stream_start` data: an assistant reply begins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamStart {
    /// The thread being answered.
    pub thread_id: u64,
    /// The id the finished message will have.
    pub message_id: u64,
}

/// `stream_chunk` data: the next piece of a streamed reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamChunk {
    /// The thread being answered.
    #[serde(default)]
    pub thread_id: u64,
    /// The message the chunk belongs to.
    #[serde(default)]
    pub message_id: u64,
    /// The text of this chunk.
    pub content: String,
    /// `assistant_token`, `tool_output`, … as the server names it.
    pub chunk_type: String,
}

/// `stream_end` data: the streamed reply is complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEnd {
    /// The thread being answered.
    pub thread_id: u64,
    /// The finished message.
    pub message_id: u64,
}

/// `subscribe` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    /// The topics to add.
    pub topics: Vec<String>,
    /// Echoed in `subscribe_ack` and `subscribe_error`.
    pub message_id: String,
    /// For each topic, the last `seq` the client saw: the server replays what came after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<BTreeMap<String, u64>>,
}

/// `unsubscribe` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribe {
    /// The topics to drop.
    pub topics: Vec<String>,
    /// Echoed in `unsubscribe_success`.
    pub message_id: String,
}

/// `ping` data from the client, and `pong` data from the server (the timestamp is echoed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// The sender's clock, milliseconds.
    pub timestamp: u64,
}

/// Empty data: the server's `ping` and the client's `pong`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `send_message` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    /// The thread to post to.
    pub thread_id: u64,
    /// The text.
    pub content: String,
}

/// `subscribe_ack` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeAck {
    /// The `message_id` of the `subscribe`.
    pub message_id: String,
    /// The topics now active.
    pub topics: Vec<String>,
    /// For each topic, the server's current `seq` (0 when nothing was published yet).
    #[serde(default)]
    pub seqs: BTreeMap<String, u64>,
}

/// `subscribe_error` data: one topic of a `subscribe` was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeError {
    /// The `message_id` of the `subscribe`.
    pub message_id: String,
    /// The refused topic.
    pub topic: String,
    /// A human-readable reason.
    pub error: String,
    /// `NOT_FOUND`, `FORBIDDEN`, `INVALID_TOPIC`, `LIMIT`, or a newer code.
    pub error_code: String,
}

/// `unsubscribe_success` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsubscribeSuccess {
    /// The `message_id` of the `unsubscribe`.
    pub message_id: String,
    /// The topics dropped.
    pub topics: Vec<String>,
}

/// `resync_required` data: the requested `since` fell out of the replay window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResyncRequired {
    /// The topic whose history must be refetched.
    pub topic: String,
    /// The server's current `seq` on it: live events continue after this one.
    #[serde(default)]
    pub seq: u64,
}

/// `error` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorData {
    /// A short machine-readable code, such as `MALFORMED` or `UNKNOWN_TYPE`.
    pub error: String,
    /// A human-readable explanation.
    #[serde(default)]
    pub details: String,
}

/// The subscribe error codes defined by PROTOCOL.md.
pub mod error_code {
    /// The resource does not exist.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// The resource belongs to another user.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// The topic name is not one the server knows.
    pub const INVALID_TOPIC: &str = "INVALID_TOPIC";
    /// The connection already holds the maximum number of subscriptions.
    pub const LIMIT: &str = "LIMIT";
}
