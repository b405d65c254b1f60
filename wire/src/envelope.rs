//! The "envelope v1" frame, the same in both directions:
//! `{"v":1, "type", "topic", "req_id"?, "ts", "data"}`, plus `"seq"` on server events when the
//! client asked for tether's extensions (PROTOCOL.md).
//!
//! Decoding reads the envelope and keeps `data` as raw JSON text. A handler decodes `data` into
//! the type it wants, when it wants it ([`Envelope::data`], [`Envelope::decode`]), so an app
//! pays for the payload types it uses and nothing else. Nothing here panics on any input.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::json;
use serde_json::value::RawValue;

use crate::topic::Topic;

/// The only envelope version: `v` must be the JSON integer `1`.
pub const VERSION: u64 = 1;

/// Why a frame, or the `data` of one, could not be decoded. Recoverable: drop it, count it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is not JSON, or not an envelope (no `type`, no `v`, a field of the wrong type).
    #[error("malformed envelope: {0}")]
    Envelope(String),
    /// `v` is present but not the integer 1.
    #[error("unsupported envelope version {0}")]
    Version(String),
    /// A `type` this decoder does not know.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// `data` does not fit the type asked for.
    #[error("malformed data for {kind:?}: {error}")]
    Data {
        /// The message type.
        kind: String,
        /// What serde said.
        error: String,
    },
}

/// Why `data` could not be encoded (a map with non-string keys, a failing `Serialize`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode data: {0}")]
pub struct EncodeError(pub String);

/// A message type a handler can decode an envelope into: an enum over several `type`s, such
/// as [`agents::AgentsMessage`](crate::agents::AgentsMessage) (feature `agents`). For one payload type, [`Envelope::data`] is enough.
pub trait Message: Sized {
    /// Decodes `data` (raw JSON text) of the wire type `kind`.
    fn decode(kind: &str, data: &str) -> Result<Self, DecodeError>;
}

/// One frame. Server events carry their topic's `seq` when the connection asked for it.
#[derive(Clone)]
pub struct Envelope {
    /// The message type (`type` on the wire).
    pub kind: String,
    /// The topic; `system` for connection-level frames (a missing or `null` topic reads as it).
    pub topic: Topic,
    /// Correlates a reply with its request.
    pub req_id: Option<String>,
    /// The sender's clock, milliseconds since the Unix epoch.
    pub ts: u64,
    /// The event's number on its topic (tether's extension).
    pub seq: Option<u64>,
    /// The payload, as raw JSON.
    pub data: Box<RawValue>,
}

#[derive(Deserialize)]
struct In<'a> {
    #[serde(borrow)]
    v: Option<&'a RawValue>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    req_id: Option<String>,
    #[serde(default)]
    ts: Option<u64>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// Writes a frame's envelope up to its `data`: `{"v":1,"type":…,"topic":…,"req_id":…,"ts":…,
/// "seq":…,"data":` (`req_id` and `seq` only when set). The caller writes `data` and `}`.
pub(crate) fn write_head(
    out: &mut String,
    kind: &str,
    topic: &str,
    req_id: Option<&str>,
    ts: u64,
    seq: Option<u64>,
) {
    out.push_str("{\"v\":1,\"type\":");
    json::push_str(out, kind);
    out.push_str(",\"topic\":");
    json::push_str(out, topic);
    if let Some(req_id) = req_id {
        out.push_str(",\"req_id\":");
        json::push_str(out, req_id);
    }
    out.push_str(",\"ts\":");
    json::push_u64(out, ts);
    if let Some(seq) = seq {
        out.push_str(",\"seq\":");
        json::push_u64(out, seq);
    }
    out.push_str(",\"data\":");
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).expect("{} is JSON")
}

impl Envelope {
    /// A frame of `kind` on `topic` with `data`; `ts` 0 (the client stamps it when sending).
    pub fn new(
        kind: impl Into<String>,
        topic: impl Into<Topic>,
        data: &impl Serialize,
    ) -> Result<Envelope, EncodeError> {
        let data = serde_json::value::to_raw_value(data).map_err(|e| EncodeError(e.to_string()))?;
        Ok(Envelope {
            kind: kind.into(),
            topic: topic.into(),
            req_id: None,
            ts: 0,
            seq: None,
            data,
        })
    }

    /// Sets the request id.
    pub fn with_req_id(mut self, req_id: impl Into<String>) -> Envelope {
        self.req_id = Some(req_id.into());
        self
    }

    /// Sets the timestamp.
    pub fn with_ts(mut self, ts: u64) -> Envelope {
        self.ts = ts;
        self
    }

    /// Sets the sequence number.
    pub fn with_seq(mut self, seq: u64) -> Envelope {
        self.seq = Some(seq);
        self
    }

    /// Decodes one text frame.
    pub fn decode(text: &str) -> Result<Envelope, DecodeError> {
        let env: In<'_> =
            serde_json::from_str(text).map_err(|e| DecodeError::Envelope(e.to_string()))?;
        match env.v.map(RawValue::get) {
            Some("1") => {}
            Some(other) => return Err(DecodeError::Version(other.to_owned())),
            None => return Err(DecodeError::Envelope("missing field `v`".into())),
        }
        let data = match env.data {
            Some(d) if d.get() != "null" => d.to_owned(),
            _ => empty_object(),
        };
        Ok(Envelope {
            kind: env.kind,
            topic: env.topic.map_or_else(Topic::system, Topic::from),
            req_id: env.req_id,
            ts: env.ts.unwrap_or(0),
            seq: env.seq,
            data,
        })
    }

    /// Encodes the frame as JSON text: `req_id` and `seq` only when set.
    pub fn encode(&self) -> String {
        let data = self.data.get();
        let mut out = String::with_capacity(64 + self.kind.len() + data.len());
        let topic = self.topic.as_str();
        write_head(
            &mut out,
            &self.kind,
            topic,
            self.req_id.as_deref(),
            self.ts,
            self.seq,
        );
        out.push_str(data);
        out.push('}');
        out
    }

    /// Decodes `data` as `T`.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        serde_json::from_str(self.data.get()).map_err(|e| DecodeError::Data {
            kind: self.kind.clone(),
            error: e.to_string(),
        })
    }

    /// Decodes the frame as a [`Message`] enum, by its `type`.
    pub fn decode_as<M: Message>(&self) -> Result<M, DecodeError> {
        M::decode(&self.kind, self.data.get())
    }
}

impl PartialEq for Envelope {
    fn eq(&self, other: &Envelope) -> bool {
        self.kind == other.kind
            && self.topic == other.topic
            && self.req_id == other.req_id
            && self.ts == other.ts
            && self.seq == other.seq
            && self.data.get() == other.data.get()
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_level_frames_read_as_system_and_encode_as_it() {
        let e =
            Envelope::decode(r#"{"v":1,"type":"ping","topic":null,"req_id":null,"ts":5}"#).unwrap();
        assert!(e.topic.is_system());
        assert_eq!(e.data.get(), "{}");
        assert_eq!(
            e.encode(),
            r#"{"v":1,"type":"ping","topic":"system","ts":5,"data":{}}"#
        );
    }

    #[test]
    fn req_id_and_seq_appear_only_when_set() {
        let e = Envelope::new(
            "send_message",
            Topic::thread(1),
            &serde_json::json!({"x": 1}),
        )
        .unwrap()
        .with_req_id("r1")
        .with_ts(9);
        assert_eq!(
            e.encode(),
            r#"{"v":1,"type":"send_message","topic":"thread:1","req_id":"r1","ts":9,"data":{"x":1}}"#
        );
        assert!(e.clone().with_seq(3).encode().contains(r#""seq":3"#));
    }

    #[test]
    fn bad_inputs_give_typed_errors() {
        let err = |t: &str| Envelope::decode(t).unwrap_err();
        assert!(matches!(err("not json"), DecodeError::Envelope(_)));
        assert!(matches!(
            err(r#"{"type":"ping"}"#),
            DecodeError::Envelope(_)
        ));
        assert!(matches!(err(r#"{"v":1}"#), DecodeError::Envelope(_)));
        assert!(matches!(
            err(r#"{"v":1,"type":"x","topic":5}"#),
            DecodeError::Envelope(_)
        ));
        assert_eq!(
            err(r#"{"v":2,"type":"ping"}"#),
            DecodeError::Version("2".into())
        );
        assert_eq!(
            err(r#"{"v":"1","type":"ping"}"#),
            DecodeError::Version(r#""1""#.into())
        );
    }

    #[test]
    fn data_decodes_on_demand() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Price {
            symbol: String,
            cents: u64,
        }
        let e = Envelope::decode(
            r#"{"v":1,"type":"price","topic":"ticker:X","ts":1,"seq":4,"data":{"symbol":"X","cents":12,"extra":true}}"#,
        )
        .unwrap();
        assert_eq!(e.seq, Some(4));
        assert_eq!(
            e.data::<Price>().unwrap(),
            Price {
                symbol: "X".into(),
                cents: 12
            }
        );
        assert!(matches!(e.data::<u64>(), Err(DecodeError::Data { .. })));
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_text_never_panics(s in "\\PC*") {
            let _ = Envelope::decode(&s);
        }
    }
}
