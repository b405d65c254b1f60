//! The tether profile's shapes (`fixtures/server/`): flat records with millisecond times; an
//! agent carries its `owner_id`, a stream its `message_id`. REST answers use these shapes in
//! both profiles.

use serde::Serialize;

use tether_wire::agents::kind;
use tether_wire::control::{ErrorData, SubscribeError};
use tether_wire::Topic;

use super::{DomainEvent, Event};
use crate::domain::access::Denial;
use crate::domain::records::{AgentRecord, ChunkRecord, MessageRecord, RunRecord, ThreadRecord};

/// An agent: `{id, owner_id, name, status, created_at, updated_at, last_error?, last_run?}`,
/// `last_run` being its latest `run_update`'s data.
#[derive(Serialize)]
pub struct AgentData<'a> {
    id: u64,
    owner_id: u64,
    name: &'a str,
    status: &'a str,
    created_at: u64,
    updated_at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_run: Option<Run<'a>>,
}

/// An agent's data.
pub fn agent(a: &AgentRecord) -> AgentData<'_> {
    AgentData {
        id: a.id,
        owner_id: a.owner_id,
        name: &a.name,
        status: &a.status,
        created_at: a.created_at,
        updated_at: a.updated_at,
        last_error: a.last_error.as_deref(),
        last_run: a.last_run.as_ref().map(run),
    }
}

/// A thread: `{id, agent_id, title, created_at}`.
#[derive(Serialize)]
pub struct ThreadData<'a> {
    id: u64,
    agent_id: u64,
    title: &'a str,
    created_at: u64,
}

/// A thread's data.
pub fn thread(t: &ThreadRecord) -> ThreadData<'_> {
    ThreadData {
        id: t.id,
        agent_id: t.agent_id,
        title: &t.title,
        created_at: t.created_at,
    }
}

/// A chat message: `{id, thread_id, role, content, created_at}`.
#[derive(Serialize)]
pub struct MessageData<'a> {
    id: u64,
    thread_id: u64,
    role: &'a str,
    content: &'a str,
    created_at: u64,
}

/// A message's data.
pub fn message(m: &MessageRecord) -> MessageData<'_> {
    MessageData {
        id: m.id,
        thread_id: m.thread_id,
        role: &m.role,
        content: &m.content,
        created_at: m.created_at,
    }
}

#[derive(Serialize)]
struct Ref {
    id: u64,
}

#[derive(Serialize)]
struct Run<'a> {
    id: u64,
    agent_id: u64,
    status: &'a str,
    progress: u8,
}

#[derive(Serialize)]
struct Stream {
    thread_id: u64,
    message_id: u64,
}

#[derive(Serialize)]
struct Chunk<'a> {
    thread_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<u64>,
    content: &'a str,
    chunk_type: &'a str,
}

fn run(r: &RunRecord) -> Run<'_> {
    Run {
        id: r.id,
        agent_id: r.agent_id,
        status: r.status.as_str(),
        progress: r.progress,
    }
}

fn chunk(c: &ChunkRecord) -> Chunk<'_> {
    Chunk {
        thread_id: c.thread_id,
        message_id: c.message_id,
        content: &c.content,
        chunk_type: &c.chunk_type,
    }
}

/// The tether profile's event for `event`; every domain event has one except `assistant_id`.
pub fn encode(event: &DomainEvent<'_>) -> Option<Event> {
    let event = match *event {
        DomainEvent::AgentState(a) => Event::new(kind::AGENT_STATE, &agent(a), Some(a.id)),
        DomainEvent::AgentCreated(a) => Event::new(kind::AGENT_CREATED, &agent(a), Some(a.id)),
        DomainEvent::AgentUpdated(a, _) => Event::new(kind::AGENT_UPDATED, &agent(a), Some(a.id)),
        DomainEvent::AgentDeleted(id) => Event::new(kind::AGENT_DELETED, &Ref { id }, Some(id)),
        DomainEvent::RunUpdate(r) => Event::new(kind::RUN_UPDATE, &run(r), Some(r.id)),
        DomainEvent::ThreadCreated(t) => Event::new(kind::THREAD_CREATED, &thread(t), Some(t.id)),
        DomainEvent::ThreadUpdated(t) => Event::new(kind::THREAD_UPDATED, &thread(t), Some(t.id)),
        DomainEvent::ThreadDeleted(id) => Event::new(kind::THREAD_DELETED, &Ref { id }, Some(id)),
        DomainEvent::ThreadMessage(m) => Event::new(kind::THREAD_MESSAGE, &message(m), Some(m.id)),
        DomainEvent::StreamStart {
            thread_id,
            message_id,
        } => Event::new(
            kind::STREAM_START,
            &Stream {
                thread_id,
                message_id,
            },
            Some(message_id),
        ),
        DomainEvent::AssistantId { .. } => return None,
        DomainEvent::StreamChunk(c) => Event::new(kind::STREAM_CHUNK, &chunk(c), c.message_id),
        DomainEvent::StreamEnd {
            thread_id,
            message_id,
        } => Event::new(
            kind::STREAM_END,
            &Stream {
                thread_id,
                message_id,
            },
            Some(message_id),
        ),
    };
    Some(event)
}

/// The `error` refusing `topic` to a connection without tether's extensions: the library's
/// wording.
pub fn refusal(topic: &Topic, denial: &Denial, message_id: Option<&str>) -> ErrorData {
    tether_server::session::tether_refusal(topic, denial, message_id)
}

/// The `subscribe_error` refusing `topic` to a connection with tether's extensions.
pub fn subscribe_error(topic: &Topic, denial: &Denial, message_id: Option<&str>) -> SubscribeError {
    tether_server::session::subscribe_error(topic, denial, message_id)
}
