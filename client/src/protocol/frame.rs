//! The "envelope v1" frame, `{"v":1,"type":…,"topic":…,"req_id":…,"ts":…,"seq"?:…,"data":{…}}`,
//! and its decoding into typed messages for both directions.
//!
//! Decoding is two-staged: the envelope first, with `data` kept as raw JSON text, then `data`
//! into the struct its `type` names. Nothing here panics on any input.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;

use super::model::*;

/// The only envelope version this crate speaks.
pub const VERSION: u8 = 1;

/// Why a frame could not be decoded. Every variant is recoverable: drop the frame, count it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is not JSON, or the envelope lacks `v` or `type`.
    #[error("malformed envelope: {0}")]
    Envelope(String),
    /// The envelope version is not [`VERSION`].
    #[error("unsupported envelope version {0}")]
    Version(u64),
    /// A `type` the decoder does not know (only for directions without an `Unknown` fallback).
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// `data` does not match what `type` requires.
    #[error("malformed data for {kind:?}: {error}")]
    Data {
        /// The message type.
        kind: String,
        /// What serde said.
        error: String,
    },
}

/// One frame: the envelope fields plus a typed message.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame<M> {
    /// The topic the frame is about, or `None` for connection-level frames.
    pub topic: Option<String>,
    /// Correlates a reply with its request.
    pub req_id: Option<String>,
    /// Sender's clock, milliseconds since the Unix epoch.
    pub ts: u64,
    /// Per-topic sequence number of server events on resource topics.
    pub seq: Option<u64>,
    /// The message, which gives the frame its `type` and `data`.
    pub msg: M,
}

impl<M> Frame<M> {
    /// A frame with no topic, request id or seq.
    pub fn new(msg: M) -> Self {
        Frame {
            topic: None,
            req_id: None,
            ts: 0,
            seq: None,
            msg,
        }
    }

    /// Sets the topic.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Sets the request id.
    pub fn with_req_id(mut self, req_id: impl Into<String>) -> Self {
        self.req_id = Some(req_id.into());
        self
    }

    /// Sets the timestamp.
    pub fn with_ts(mut self, ts: u64) -> Self {
        self.ts = ts;
        self
    }

    /// Sets the sequence number.
    pub fn with_seq(mut self, seq: u64) -> Self {
        self.seq = Some(seq);
        self
    }
}

/// A message type of one direction: knows its wire name and how to (de)serialize its `data`.
pub trait Message: Sized {
    /// The wire `type`.
    fn kind(&self) -> &str;
    /// Decodes `data` for the wire `type` `kind`.
    fn decode_data(kind: &str, data: Option<&RawValue>) -> Result<Self, DecodeError>;
    /// Serializes `data`.
    fn encode_data(&self) -> Box<RawValue>;
}

#[derive(Deserialize)]
struct InEnvelope<'a> {
    v: u64,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    req_id: Option<String>,
    #[serde(default)]
    ts: u64,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct OutEnvelope<'a> {
    v: u8,
    #[serde(rename = "type")]
    kind: &'a str,
    topic: &'a Option<String>,
    req_id: &'a Option<String>,
    ts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    data: &'a RawValue,
}

impl<M: Message> Frame<M> {
    /// Decodes one text frame.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let env: InEnvelope<'_> =
            serde_json::from_str(text).map_err(|e| DecodeError::Envelope(e.to_string()))?;
        if env.v != u64::from(VERSION) {
            return Err(DecodeError::Version(env.v));
        }
        let msg = M::decode_data(&env.kind, env.data)?;
        Ok(Frame {
            topic: env.topic,
            req_id: env.req_id,
            ts: env.ts,
            seq: env.seq,
            msg,
        })
    }

    /// Encodes the frame as JSON text.
    pub fn encode(&self) -> String {
        let data = self.msg.encode_data();
        let env = OutEnvelope {
            v: VERSION,
            kind: self.msg.kind(),
            topic: &self.topic,
            req_id: &self.req_id,
            ts: self.ts,
            seq: self.seq,
            data: &data,
        };
        serde_json::to_string(&env).expect("an envelope of plain fields always serializes")
    }
}

fn decode_as<T: for<'de> Deserialize<'de>>(
    kind: &str,
    data: Option<&RawValue>,
) -> Result<T, DecodeError> {
    let text = data.map_or("{}", RawValue::get);
    serde_json::from_str(text).map_err(|e| DecodeError::Data {
        kind: kind.to_owned(),
        error: e.to_string(),
    })
}

fn encode_as<T: Serialize>(data: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(data).expect("protocol data types always serialize")
}

/// Declares a message enum with one variant per wire type, and its [`Message`] impl.
macro_rules! messages {
    (
        $(#[$meta:meta])* $name:ident, fallback: $fallback:tt,
        { $( $(#[$vmeta:meta])* $variant:ident($data:ty) = $wire:literal, )* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($data), )*
            /// A type this version does not know, kept whole so nothing is lost.
            Unknown {
                /// The wire `type`.
                kind: String,
                /// The raw `data`, or `null`.
                data: serde_json::Value,
            },
        }

        impl $name {
            /// Every wire type this enum knows.
            pub const KINDS: &'static [&'static str] = &[$($wire),*];
        }

        impl Message for $name {
            fn kind(&self) -> &str {
                match self {
                    $( $name::$variant(_) => $wire, )*
                    $name::Unknown { kind, .. } => kind,
                }
            }

            fn decode_data(kind: &str, data: Option<&RawValue>) -> Result<Self, DecodeError> {
                match kind {
                    $( $wire => decode_as(kind, data).map($name::$variant), )*
                    _ => messages!(@fallback $fallback, $name, kind, data),
                }
            }

            fn encode_data(&self) -> Box<RawValue> {
                match self {
                    $( $name::$variant(d) => encode_as(d), )*
                    $name::Unknown { data, .. } => encode_as(data),
                }
            }
        }
    };
    (@fallback keep, $name:ident, $kind:ident, $data:ident) => {
        Ok($name::Unknown {
            kind: $kind.to_owned(),
            data: $data
                .and_then(|d| serde_json::from_str(d.get()).ok())
                .unwrap_or(serde_json::Value::Null),
        })
    };
    (@fallback reject, $name:ident, $kind:ident, $data:ident) => {
        Err(DecodeError::UnknownType($kind.to_owned()))
    };
}

messages! {
    /// Every message the server sends. Unknown types decode to `Unknown`, never to an error,
    /// so a newer server does not break an older client.
    ServerMessage, fallback: keep,
    {
        /// The topics of a `subscribe` are active.
        SubscribeAck(SubscribeAck) = "subscribe_ack",
        /// One topic of a `subscribe` was refused.
        SubscribeError(SubscribeError) = "subscribe_error",
        /// The topics of an `unsubscribe` are dropped.
        UnsubscribeSuccess(UnsubscribeSuccess) = "unsubscribe_success",
        /// The answer to a client `ping`, with its timestamp and `req_id` echoed.
        Pong(Timestamp) = "pong",
        /// The server's heartbeat; answer with `pong`.
        Ping(Empty) = "ping",
        /// A snapshot of an agent, sent on subscribe.
        AgentState(Agent) = "agent_state",
        /// A new agent.
        AgentCreated(Agent) = "agent_created",
        /// A changed agent.
        AgentUpdated(Agent) = "agent_updated",
        /// A deleted agent.
        AgentDeleted(AgentDeleted) = "agent_deleted",
        /// Progress of a run.
        RunUpdate(RunUpdate) = "run_update",
        /// A new chat message.
        ThreadMessage(ChatMessage) = "thread_message",
        /// A new thread.
        ThreadCreated(Thread) = "thread_created",
        /// A changed thread.
        ThreadUpdated(Thread) = "thread_updated",
        /// A deleted thread.
        ThreadDeleted(ThreadDeleted) = "thread_deleted",
        /// A streamed reply begins.
        StreamStart(StreamStart) = "stream_start",
        /// A piece of a streamed reply.
        StreamChunk(StreamChunk) = "stream_chunk",
        /// A streamed reply is complete.
        StreamEnd(StreamEnd) = "stream_end",
        /// The requested `since` fell out of the replay window: refetch.
        ResyncRequired(ResyncRequired) = "resync_required",
        /// A protocol error; the connection stays up.
        Error(ErrorData) = "error",
    }
}

messages! {
    /// Every message a client sends. Servers reject unknown types with an `error` frame; the
    /// `Unknown` variant lets a client send types this crate does not model yet.
    ClientMessage, fallback: reject,
    {
        /// Add topics.
        Subscribe(Subscribe) = "subscribe",
        /// Drop topics.
        Unsubscribe(Unsubscribe) = "unsubscribe",
        /// Client heartbeat; the server answers `pong`.
        Ping(Timestamp) = "ping",
        /// The answer to a server `ping`.
        Pong(Empty) = "pong",
        /// Post a chat message to a thread.
        SendMessage(SendMessage) = "send_message",
    }
}

/// A frame from the server.
pub type ServerFrame = Frame<ServerMessage>;
/// A frame from a client.
pub type ClientFrame = Frame<ClientMessage>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_server_type_is_kept_whole() {
        let f = ServerFrame::decode(
            r#"{"v":1,"type":"presence","topic":"system","req_id":null,"ts":5,"data":{"n":3}}"#,
        )
        .unwrap();
        assert_eq!(
            f.msg,
            ServerMessage::Unknown {
                kind: "presence".into(),
                data: serde_json::json!({"n":3})
            }
        );
        assert_eq!(ServerFrame::decode(&f.encode()).unwrap(), f);
    }

    #[test]
    fn unknown_client_type_is_rejected() {
        let e = ClientFrame::decode(r#"{"v":1,"type":"hack","data":{}}"#).unwrap_err();
        assert_eq!(e, DecodeError::UnknownType("hack".into()));
    }

    #[test]
    fn bad_inputs_give_typed_errors() {
        assert!(matches!(
            ServerFrame::decode("not json"),
            Err(DecodeError::Envelope(_))
        ));
        assert!(matches!(
            ServerFrame::decode(r#"{"type":"ping"}"#),
            Err(DecodeError::Envelope(_))
        ));
        assert_eq!(
            ServerFrame::decode(r#"{"v":2,"type":"ping","data":{}}"#),
            Err(DecodeError::Version(2))
        );
        assert!(matches!(
            ServerFrame::decode(r#"{"v":1,"type":"pong","data":{"timestamp":"x"}}"#),
            Err(DecodeError::Data { .. })
        ));
    }

    #[test]
    fn seq_is_optional_and_ignored_when_absent() {
        let f = ServerFrame::decode(
            r#"{"v":1,"type":"ping","topic":null,"req_id":null,"ts":1,"data":{}}"#,
        )
        .unwrap();
        assert_eq!(f.seq, None);
        assert!(!f.encode().contains("seq"));
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_text_never_panics(s in "\\PC*") {
            let _ = ServerFrame::decode(&s);
            let _ = ClientFrame::decode(&s);
        }
    }
}
