//! The origin profile's shapes (`fixtures/origin/`): no `owner_id`, ISO-8601 times, an
//! `agent_updated` that carries only what changed, thread events naming `thread_id`, a chat
//! message nested as `{thread_id, message}`, streams announced by `assistant_id`, and topic
//! refusals as `error` frames whose text says what was refused.

use serde::Serialize;
use serde_json::json;

use tether_wire::agents::kind;
use tether_wire::agents::Timestamp;
use tether_wire::control::ErrorData;
use tether_wire::Topic;

use super::{DomainEvent, Event};
use crate::domain::access::Denial;
use crate::domain::records::{
    AgentChange, AgentRecord, ChunkRecord, MessageRecord, RunRecord, ThreadRecord,
};

/// Milliseconds as ISO-8601 in UTC.
fn iso(ms: u64) -> String {
    Timestamp(ms).to_iso()
}

/// An agent in `agent_state` and `agent_created`.
#[derive(Serialize)]
struct Agent<'a> {
    id: u64,
    name: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_run_at: Option<String>,
}

/// An `agent_updated`: the id and the fields that changed.
#[derive(Serialize)]
struct AgentUpdate<'a> {
    id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_run_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<&'a str>,
}

#[derive(Serialize)]
struct AgentRef {
    id: u64,
}

#[derive(Serialize)]
struct Run<'a> {
    id: u64,
    agent_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<u64>,
    status: &'a str,
    trigger: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct ThreadCreated<'a> {
    thread_id: u64,
    agent_id: u64,
    title: &'a str,
    created_at: String,
}

#[derive(Serialize)]
struct ThreadUpdated<'a> {
    thread_id: u64,
    title: &'a str,
    updated_at: String,
}

#[derive(Serialize)]
struct ThreadRef {
    thread_id: u64,
}

#[derive(Serialize)]
struct NestedMessage<'a> {
    thread_id: u64,
    message: MessageBody<'a>,
}

#[derive(Serialize)]
struct MessageBody<'a> {
    id: u64,
    role: &'a str,
    content: &'a str,
    created_at: String,
}

#[derive(Serialize)]
struct AssistantId {
    thread_id: u64,
    message_id: u64,
}

#[derive(Serialize)]
struct Chunk<'a> {
    thread_id: u64,
    chunk_type: &'a str,
    content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<u64>,
}

fn agent(a: &AgentRecord) -> Agent<'_> {
    Agent {
        id: a.id,
        name: &a.name,
        status: &a.status,
        description: a.description.as_deref(),
        last_error: a.last_error.as_deref(),
        last_run_at: a.last_run_at.map(iso),
    }
}

fn agent_update(a: &AgentRecord, change: AgentChange) -> AgentUpdate<'_> {
    AgentUpdate {
        id: a.id,
        name: change.name.then_some(a.name.as_str()),
        status: change.status.then_some(a.status.as_str()),
        last_run_at: a.last_run_at.filter(|_| change.last_run_at).map(iso),
        last_error: a.last_error.as_deref().filter(|_| change.last_error),
    }
}

fn run(r: &RunRecord) -> Run<'_> {
    Run {
        id: r.id,
        agent_id: r.agent_id,
        thread_id: r.thread_id,
        status: r.status.as_str(),
        trigger: r.trigger.as_str(),
        started_at: r.started_at.map(iso),
        finished_at: r.finished_at.map(iso),
        duration_ms: r.duration_ms(),
        error: r.error.as_deref(),
    }
}

fn thread_created(t: &ThreadRecord) -> ThreadCreated<'_> {
    ThreadCreated {
        thread_id: t.id,
        agent_id: t.agent_id,
        title: &t.title,
        created_at: iso(t.created_at),
    }
}

fn thread_updated(t: &ThreadRecord) -> ThreadUpdated<'_> {
    ThreadUpdated {
        thread_id: t.id,
        title: &t.title,
        updated_at: iso(t.updated_at),
    }
}

fn message(m: &MessageRecord) -> NestedMessage<'_> {
    NestedMessage {
        thread_id: m.thread_id,
        message: MessageBody {
            id: m.id,
            role: &m.role,
            content: &m.content,
            created_at: iso(m.created_at),
        },
    }
}

fn chunk(c: &ChunkRecord) -> Chunk<'_> {
    Chunk {
        thread_id: c.thread_id,
        chunk_type: &c.chunk_type,
        content: &c.content,
        message_id: c.message_id,
    }
}

/// The origin profile's event for `event`.
pub fn encode(event: &DomainEvent<'_>) -> Option<Event> {
    let thread_ref = |thread_id| ThreadRef { thread_id };
    let event = match *event {
        DomainEvent::AgentState(a) => Event::new(kind::AGENT_STATE, &agent(a), Some(a.id)),
        DomainEvent::AgentCreated(a) => Event::new(kind::AGENT_CREATED, &agent(a), Some(a.id)),
        DomainEvent::AgentUpdated(a, change) => {
            Event::new(kind::AGENT_UPDATED, &agent_update(a, change), Some(a.id))
        }
        DomainEvent::AgentDeleted(id) => {
            Event::new(kind::AGENT_DELETED, &AgentRef { id }, Some(id))
        }
        DomainEvent::RunUpdate(r) => Event::new(kind::RUN_UPDATE, &run(r), Some(r.id)),
        DomainEvent::ThreadCreated(t) => {
            Event::new(kind::THREAD_CREATED, &thread_created(t), Some(t.id))
        }
        DomainEvent::ThreadUpdated(t) => {
            Event::new(kind::THREAD_UPDATED, &thread_updated(t), Some(t.id))
        }
        DomainEvent::ThreadDeleted(id) => {
            Event::new(kind::THREAD_DELETED, &thread_ref(id), Some(id))
        }
        DomainEvent::ThreadMessage(m) => Event::new(kind::THREAD_MESSAGE, &message(m), Some(m.id)),
        DomainEvent::StreamStart {
            thread_id,
            message_id,
        } => Event::new(kind::STREAM_START, &thread_ref(thread_id), Some(message_id)),
        DomainEvent::AssistantId {
            thread_id,
            message_id,
        } => Event::new(
            kind::ASSISTANT_ID,
            &AssistantId {
                thread_id,
                message_id,
            },
            Some(message_id),
        ),
        DomainEvent::StreamChunk(c) => Event::new(kind::STREAM_CHUNK, &chunk(c), c.message_id),
        DomainEvent::StreamEnd {
            thread_id,
            message_id,
        } => Event::new(kind::STREAM_END, &thread_ref(thread_id), Some(message_id)),
    };
    Some(event)
}

/// The `error` refusing `topic`, as the origin's `subscribe` handler words it: a sentence
/// saying what was refused as `error` ("Agent 5 not found", "Invalid topic format: …"), the
/// `subscribe`'s `message_id` in `details` (left out without one; the origin sends `null`).
/// Every topic a `subscribe` refuses gets one, naming the same `message_id`: nothing in it
/// names the topic but the sentence. (The origin lets anyone hold any agent or thread that
/// exists; the stub's access rules and limits refuse more, in the same words.)
pub fn refusal(topic: &Topic, denial: &Denial, message_id: Option<&str>) -> ErrorData {
    let what = match topic.resource() {
        Some(("agent", id)) => format!("Agent {id}"),
        Some(("thread", id)) => format!("Thread {id}"),
        Some(("user", id)) => format!("User {id}"),
        _ => format!("Topic {topic}"),
    };
    let error = match denial {
        Denial::NotFound(_) => format!("{what} not found"),
        Denial::Forbidden(_) => format!("Not allowed to subscribe to {what}"),
        Denial::InvalidTopic(_) => match topic.as_str().split_once(':') {
            Some((kind, _)) if !matches!(kind, "agent" | "thread" | "user") => {
                format!("Invalid topic format: Unsupported topic type '{kind}'")
            }
            _ => format!("Invalid topic format: {topic}"),
        },
        Denial::Limit(_) => format!("Too many subscriptions to add {topic}"),
    };
    ErrorData {
        error,
        details: message_id.map(|message_id| json!({ "message_id": message_id })),
    }
}
