//! The data of app events, per profile. Code that changes something describes what happened
//! as a [`DomainEvent`] over the stub's records; [`encode`] gives its wire `type` and `data` in
//! the server's profile (`tether`: `fixtures/server/`, `origin`: `fixtures/origin/`), once,
//! before the library numbers and fans it out. Control frames (`pong`, `subscribe_ack`,
//! `error`, …) are tether's [`Control`] messages, which the library stamps and sends.

pub mod origin;
pub mod tether;

use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

use tether_wire::control::Control;
use tether_wire::{Envelope, Topic};

use crate::config::Profile;
use crate::domain::records::{
    AgentChange, AgentRecord, ChunkRecord, MessageRecord, RunRecord, ThreadRecord,
};

/// Something that happened, to be announced on a topic.
#[derive(Clone, Copy, Debug)]
pub enum DomainEvent<'a> {
    /// The snapshot of an agent, sent to a new subscriber of its topic (`agent_state`).
    AgentState(&'a AgentRecord),
    /// An agent was created.
    AgentCreated(&'a AgentRecord),
    /// An agent changed; the change says which fields.
    AgentUpdated(&'a AgentRecord, AgentChange),
    /// An agent was deleted.
    AgentDeleted(u64),
    /// A run moved on.
    RunUpdate(&'a RunRecord),
    /// A thread was created.
    ThreadCreated(&'a ThreadRecord),
    /// A thread was renamed.
    ThreadUpdated(&'a ThreadRecord),
    /// A thread was deleted.
    ThreadDeleted(u64),
    /// A chat message was stored.
    ThreadMessage(&'a MessageRecord),
    /// An assistant reply starts streaming; `message_id` is the id it will have.
    StreamStart {
        /// The thread being answered.
        thread_id: u64,
        /// The reply's message id.
        message_id: u64,
    },
    /// The id of the reply being streamed (sent by the origin profile only).
    AssistantId {
        /// The thread being answered.
        thread_id: u64,
        /// The reply's message id.
        message_id: u64,
    },
    /// A piece of a streamed reply.
    StreamChunk(&'a ChunkRecord),
    /// A streamed reply is complete.
    StreamEnd {
        /// The thread being answered.
        thread_id: u64,
        /// The reply's message id.
        message_id: u64,
    },
}

/// An app event ready to publish: its `type`, its `data` in one profile's shape, the id of what
/// it is about (for the publish log) and the `req_id` it answers, if any.
#[derive(Clone, Debug)]
pub struct Event {
    /// The wire `type`: the stub's own are static; an app's own (on an open topic) is owned.
    pub kind: Cow<'static, str>,
    /// The `data`, encoded.
    pub data: Box<RawValue>,
    /// The id of the payload: the agent, run, thread or message it is about.
    pub id: Option<u64>,
    /// The request this event answers (`send_message`), echoed as `req_id`.
    pub req_id: Option<String>,
}

impl Event {
    /// An event of `kind` with `data`.
    pub fn new(
        kind: impl Into<Cow<'static, str>>,
        data: &impl Serialize,
        id: Option<u64>,
    ) -> Event {
        Event {
            kind: kind.into(),
            data: raw(data),
            id,
            req_id: None,
        }
    }

    /// Sets the `req_id`.
    pub fn with_req_id(mut self, req_id: Option<String>) -> Event {
        self.req_id = req_id;
        self
    }
}

/// The event announcing `event` in `profile`; `None` when that profile has no such message
/// (`assistant_id` in the tether profile).
pub fn encode(profile: Profile, event: &DomainEvent<'_>) -> Option<Event> {
    match profile {
        Profile::Tether => tether::encode(event),
        Profile::Origin => origin::encode(event),
    }
}

/// A control message's envelope: on `system`, or the topic of a `resync_required`.
pub fn control_envelope(control: &Control, req_id: Option<String>, ts: u64) -> Envelope {
    tether_server::frame::control_envelope(control, req_id, ts)
}

/// An app event's frame on `topic`, numbered `seq` when it is part of the topic's sequence.
pub fn event_envelope(topic: &Topic, event: Event, ts: u64, seq: Option<u64>) -> Envelope {
    tether_server::Event::from(event).envelope(topic, ts, seq)
}

impl From<Event> for tether_server::Event {
    fn from(event: Event) -> Self {
        tether_server::Event::raw(event.kind, event.data).with_req_id(event.req_id)
    }
}

/// `data` as raw JSON. The structs encoded here always serialize; if one ever did not, `null`
/// stands in (which clients read as `{}`) rather than a panic.
fn raw(data: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(data).unwrap_or_default()
}
