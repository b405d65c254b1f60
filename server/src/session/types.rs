//! What a session and the app say to each other: why a topic is refused ([`Denial`]), a
//! topic's [`Snapshot`], what answers a request ([`Reply`]) and why a frame was refused
//! ([`ProtocolError`]).

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::json;
use tether_wire::control::{ErrorData, SubscribeError};
use tether_wire::{DecodeError, Topic};

use crate::hub::{Event, Publication, StreamPosition};

/// Why a user may not hold a topic, or use a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// It does not exist.
    NotFound(String),
    /// It belongs to someone else.
    Forbidden(String),
    /// Not a topic name this server knows.
    InvalidTopic(String),
    /// The connection already holds as many topics as it may.
    Limit(String),
}

impl Denial {
    /// The protocol's code: `NOT_FOUND`, `FORBIDDEN`, `INVALID_TOPIC` or `LIMIT`.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::NotFound(_) => "NOT_FOUND",
            Denial::Forbidden(_) => "FORBIDDEN",
            Denial::InvalidTopic(_) => "INVALID_TOPIC",
            Denial::Limit(_) => "LIMIT",
        }
    }

    /// A human-readable reason.
    pub fn message(&self) -> &str {
        match self {
            Denial::NotFound(m)
            | Denial::Forbidden(m)
            | Denial::InvalidTopic(m)
            | Denial::Limit(m) => m,
        }
    }
}

/// The `error` refusing `topic` to a connection without tether's extensions, in tether's
/// words: the denial's code as `error`, and `details` naming the `subscribe` (`message_id`),
/// the topic and the reason.
pub fn tether_refusal(topic: &Topic, denial: &Denial, message_id: Option<&str>) -> ErrorData {
    let mut details = json!({ "topic": topic, "message": denial.message() });
    if let Some(message_id) = message_id {
        details["message_id"] = json!(message_id);
    }
    ErrorData {
        error: denial.code().to_owned(),
        details: Some(details),
    }
}

/// The `subscribe_error` refusing `topic` to a connection with tether's extensions.
pub fn subscribe_error(topic: &Topic, denial: &Denial, message_id: Option<&str>) -> SubscribeError {
    SubscribeError {
        message_id: message_id.map(str::to_owned),
        topic: topic.clone(),
        error: denial.message().into(),
        error_code: denial.code().into(),
    }
}

/// What a snapshot hook is asked.
#[derive(Debug)]
pub struct SnapshotRequest<'a, U> {
    /// The subscriber.
    pub user: &'a U,
    /// The topic it joins.
    pub topic: &'a Topic,
    /// The `subscribe`'s `message_id`, if any.
    pub message_id: Option<&'a str>,
    /// Whether the connection speaks tether's extensions.
    pub extended: bool,
}

/// A topic's current state, sent to a new subscriber before its live events (`agent_state`,
/// say). It carries no `seq`.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The frame's `type`, `data` and `req_id`.
    pub event: Event,
    /// The topic's position the snapshot is current to: every later event follows it, once.
    /// Without it, the position read just before the snapshot was asked for is used, and the
    /// first events after the snapshot may repeat what it already shows.
    pub position: Option<StreamPosition>,
}

/// What answers a client's request.
#[derive(Debug)]
pub enum Reply {
    /// Nothing more than what the handler published.
    Nothing,
    /// The publication that answers it (carrying the request's `req_id`): its subscribers got
    /// it, and the requester gets it too if it does not hold the topic.
    Published(Arc<Publication>),
    /// A frame for the requester alone, on the request's topic, with its `req_id`.
    Event(Event),
    /// An `error` for the requester alone, carrying the `req_id` the app chose rather than the
    /// request's (the origin's handlers echo a `message_id` read from the frame's top level).
    Error {
        /// The error.
        error: ErrorData,
        /// The `req_id` it carries, if any.
        req_id: Option<String>,
    },
}

/// The `error` codes of frames the server cannot use.
pub mod code {
    /// Not JSON, or not an envelope.
    pub const MALFORMED: &str = "MALFORMED";
    /// `v` is not 1.
    pub const UNSUPPORTED_VERSION: &str = "UNSUPPORTED_VERSION";
    /// A `type` the server does not know.
    pub const UNKNOWN_TYPE: &str = "UNKNOWN_TYPE";
    /// `data` does not fit the `type`.
    pub const INVALID_DATA: &str = "INVALID_DATA";
}

/// Why a frame was refused: an `error` frame's `error` and `details`. The connection stays up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    /// One of [`code`], or an app's code (`FORBIDDEN`, `NOT_FOUND`, …).
    pub code: Cow<'static, str>,
    /// What went wrong.
    pub details: String,
}

impl ProtocolError {
    /// An error with `code` and `details`.
    pub fn new(code: impl Into<Cow<'static, str>>, details: impl Into<String>) -> Self {
        ProtocolError {
            code: code.into(),
            details: details.into(),
        }
    }
}

impl From<DecodeError> for ProtocolError {
    fn from(e: DecodeError) -> Self {
        let code = match &e {
            DecodeError::Envelope(_) => code::MALFORMED,
            DecodeError::Version(_) => code::UNSUPPORTED_VERSION,
            DecodeError::UnknownType(_) => code::UNKNOWN_TYPE,
            DecodeError::Data { .. } => code::INVALID_DATA,
        };
        ProtocolError::new(code, e.to_string())
    }
}

impl From<Denial> for ProtocolError {
    fn from(denial: Denial) -> Self {
        ProtocolError::new(denial.code(), denial.message())
    }
}
