//! The payloads of the origin backend's agents, runs, threads and chat, as a client reads them.
//!
//! Every type decodes both the origin's contract and tether's stub, whose shapes differ: the
//! contract's optional fields are `Option`s, timestamps are [`Timestamp`]s (ISO-8601 or
//! milliseconds), `run_update` names its run `id` or `run_id`, thread events `id` or
//! `thread_id`, and a chat message comes flat or nested as `data.message`. Unknown fields are
//! ignored. Encoding writes tether's shape.

use serde::{Deserialize, Deserializer, Serialize};

use super::time::Timestamp;

/// An agent, in `agent_state`, `agent_created` and `agent_updated`. The origin sends only the
/// fields that changed in an update; [`Agent::merge`] applies one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// The agent id, as in `agent:{id}`.
    pub id: u64,
    /// The user who owns it (tether's stub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<u64>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `idle`, `running`, `error`, …, kept as a string so new statuses are not lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// What it does (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The last run's error (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// When it last ran (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<Timestamp>,
    /// When it runs next (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_at: Option<Timestamp>,
    /// Its latest run, as its latest `run_update` said (tether's stub, in `agent_state` and
    /// REST): a view that mounts after the run started still shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunUpdate>,
}

impl Agent {
    /// Applies an update: every field it carries replaces this one's.
    pub fn merge(&mut self, update: &Agent) {
        fn take<T: Clone>(field: &mut Option<T>, new: &Option<T>) {
            if new.is_some() {
                field.clone_from(new);
            }
        }
        take(&mut self.owner_id, &update.owner_id);
        take(&mut self.name, &update.name);
        take(&mut self.status, &update.status);
        take(&mut self.description, &update.description);
        take(&mut self.last_error, &update.last_error);
        take(&mut self.created_at, &update.created_at);
        take(&mut self.updated_at, &update.updated_at);
        take(&mut self.last_run_at, &update.last_run_at);
        take(&mut self.next_run_at, &update.next_run_at);
        take(&mut self.last_run, &update.last_run);
    }

    /// The name, or `agent {id}` when the server sent none.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("agent {}", self.id))
    }
}

/// `agent_deleted` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    /// The agent.
    pub id: u64,
}

/// `run_update` data: the progress of one run of an agent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunUpdate {
    /// The run (`run_id` in older tether stubs).
    #[serde(alias = "run_id")]
    pub id: u64,
    /// The agent that runs.
    pub agent_id: u64,
    /// `queued`, `running`, `success` or `failed` (older stubs said `succeeded`).
    pub status: String,
    /// Progress in percent (tether's stub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// The thread the run writes to (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<u64>,
    /// `manual`, `schedule` or `api` (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// When it started (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When it finished (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// How long it took (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Why it failed (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunUpdate {
    /// True once the run succeeded or failed.
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "success" | "succeeded" | "failed")
    }

    /// True if this update of a run is as far along as `other`, or further: finished after
    /// unfinished, then by progress. (For two updates of the same run.)
    pub fn is_as_far_as(&self, other: &RunUpdate) -> bool {
        let rank = |r: &RunUpdate| (r.is_finished(), r.progress.unwrap_or(0));
        rank(self) >= rank(other)
    }
}

/// A chat thread, in `thread_created` and `thread_updated` (the origin's `thread_event`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thread {
    /// The thread id, as in `thread:{id}` (`thread_id` in the origin's contract).
    #[serde(alias = "thread_id")]
    pub id: u64,
    /// The agent it talks to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<u64>,
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When it last changed (the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

/// `thread_deleted` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadRef {
    /// The thread (`thread_id` in the origin's contract).
    #[serde(alias = "thread_id")]
    pub id: u64,
}

/// One chat message, in `thread_message` and in the REST history. Decodes tether's flat shape
/// `{id, thread_id, role, content, created_at}` and the origin's nested one
/// `{thread_id, message: {id, role, content, created_at|timestamp}}`; encodes the flat one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// The message id, unique per server.
    pub id: u64,
    /// The thread it belongs to.
    pub thread_id: u64,
    /// `user`, `assistant`, `system` or `tool`.
    pub role: String,
    /// The text.
    pub content: String,
    /// When it was stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
}

#[derive(Deserialize)]
struct NestedMessage {
    id: u64,
    role: String,
    #[serde(default)]
    content: String,
    #[serde(default, alias = "timestamp")]
    created_at: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireMessage {
    Nested {
        thread_id: u64,
        message: NestedMessage,
    },
    Flat {
        id: u64,
        thread_id: u64,
        role: String,
        #[serde(default)]
        content: String,
        #[serde(default)]
        created_at: Option<Timestamp>,
    },
}

impl<'de> Deserialize<'de> for ChatMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ChatMessage, D::Error> {
        Ok(match WireMessage::deserialize(d)? {
            WireMessage::Nested { thread_id, message } => ChatMessage {
                id: message.id,
                thread_id,
                role: message.role,
                content: message.content,
                created_at: message.created_at,
            },
            WireMessage::Flat {
                id,
                thread_id,
                role,
                content,
                created_at,
            } => ChatMessage {
                id,
                thread_id,
                role,
                content,
                created_at,
            },
        })
    }
}

/// `stream_start` data: an assistant reply begins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamStart {
    /// The thread being answered.
    pub thread_id: u64,
    /// The id the finished message will have (tether's stub; the origin sends `assistant_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u64>,
}

/// `stream_chunk` data: the next piece of a streamed reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamChunk {
    /// The thread being answered.
    pub thread_id: u64,
    /// `assistant_token`, `assistant_message` or `tool_output`.
    pub chunk_type: String,
    /// The text of this chunk.
    #[serde(default)]
    pub content: String,
    /// The message the chunk belongs to, when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u64>,
    /// The tool, for `tool_output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// The tool call, for `tool_output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// `stream_end` data: the streamed reply is complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEnd {
    /// The thread being answered.
    pub thread_id: u64,
    /// The finished message, when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u64>,
}

/// `assistant_id` data: the id the streamed reply will have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantId {
    /// The thread being answered.
    pub thread_id: u64,
    /// The reply's message id.
    pub message_id: u64,
}

/// `user_update` data: the user's profile changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserUpdate {
    /// The user.
    pub id: u64,
    /// Their email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Their display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Their avatar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

/// `send_message` data, client → server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    /// The thread to post to.
    pub thread_id: u64,
    /// The text.
    pub content: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_message_decodes_flat_and_nested() {
        let flat: ChatMessage = serde_json::from_str(
            r#"{"id":101,"thread_id":10,"role":"user","content":"hi","created_at":1767225600006}"#,
        )
        .unwrap();
        let nested: ChatMessage = serde_json::from_str(
            r#"{"thread_id":10,"message":{"id":101,"role":"user","content":"hi","created_at":"2026-01-01T00:00:00.006Z","metadata":{}}}"#,
        )
        .unwrap();
        assert_eq!(flat, nested);
        let origin: ChatMessage = serde_json::from_str(
            r#"{"thread_id":10,"message":{"id":1,"role":"assistant","content":"x","timestamp":"2026-01-01T00:00:00","processed":false}}"#,
        )
        .unwrap();
        assert_eq!(origin.created_at, Some(Timestamp(1_767_225_600_000)));
        assert!(serde_json::from_str::<ChatMessage>(r#"{"thread_id":10}"#).is_err());
    }

    #[test]
    fn an_update_merges_only_what_it_carries() {
        let mut agent: Agent =
            serde_json::from_str(r#"{"id":1,"owner_id":1,"name":"R","status":"idle"}"#).unwrap();
        let update: Agent = serde_json::from_str(
            r#"{"id":1,"status":"running","name":null,"last_run_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        agent.merge(&update);
        assert_eq!(agent.name.as_deref(), Some("R"));
        assert_eq!(agent.status.as_deref(), Some("running"));
        assert_eq!(agent.last_run_at, Some(Timestamp(1_767_225_600_000)));
    }

    #[test]
    fn runs_and_threads_take_either_id_name() {
        let a: RunUpdate = serde_json::from_str(
            r#"{"run_id":9,"agent_id":1,"status":"succeeded","progress":100}"#,
        )
        .unwrap();
        let b: RunUpdate =
            serde_json::from_str(r#"{"id":9,"agent_id":1,"status":"success"}"#).unwrap();
        assert_eq!((a.id, b.id), (9, 9));
        assert!(a.is_finished() && b.is_finished());
        let t: Thread = serde_json::from_str(r#"{"thread_id":4,"title":"x"}"#).unwrap();
        assert_eq!(t.id, 4);
    }
}
