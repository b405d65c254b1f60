//! The protocol's own messages, which the client core and the server handle themselves:
//! subscriptions, heartbeats and errors. Every other `type` is an app event, routed by topic
//! and decoded only by the handlers that want it.
//!
//! `subscribe_ack`, `subscribe_error` and `resync_required`, and `since` inside `subscribe`,
//! are tether's extensions (PROTOCOL.md, "Extensions"); a server sends the first three only to
//! a client that asked for them.
//!
//! [`Control`] is the owned form, with serde, for servers and tests. A client reads what it
//! receives in place with [`ControlRef`] and writes what it sends with [`write`](mod@write),
//! neither with serde.

mod read;
pub mod write;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use read::{AckRef, ControlRef, ErrorRef, RefusalRef, ResyncRef, TopicsRef};

use crate::envelope::{DecodeError, Envelope};
use crate::topic::Topic;

/// The wire names of the control messages.
pub mod kind {
    /// Client → server: add topics.
    pub const SUBSCRIBE: &str = "subscribe";
    /// Client → server: drop topics.
    pub const UNSUBSCRIBE: &str = "unsubscribe";
    /// Either way: a heartbeat, answered with `pong`.
    pub const PING: &str = "ping";
    /// Either way: the answer to a `ping`.
    pub const PONG: &str = "pong";
    /// Server → client (extension): the topics of a `subscribe` are active.
    pub const SUBSCRIBE_ACK: &str = "subscribe_ack";
    /// Server → client (extension): one topic of a `subscribe` was refused.
    pub const SUBSCRIBE_ERROR: &str = "subscribe_error";
    /// Server → client: the topics of an `unsubscribe` are dropped.
    pub const UNSUBSCRIBE_SUCCESS: &str = "unsubscribe_success";
    /// Either way: a protocol or application error.
    pub const ERROR: &str = "error";
    /// Server → client (extension): events were missed that cannot be replayed; refetch.
    pub const RESYNC_REQUIRED: &str = "resync_required";
}

/// `subscribe` data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    /// The topics to add.
    pub topics: Vec<Topic>,
    /// Echoed in the answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Extension: for each topic, the last `seq` the client has; the server replays what came
    /// after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<BTreeMap<Topic, u64>>,
}

/// `unsubscribe` data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribe {
    /// The topics to drop.
    pub topics: Vec<Topic>,
    /// Echoed in `unsubscribe_success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// `ping` and `pong` data: the pinger's clock, echoed in the `pong`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
}

/// `subscribe_ack` data (extension).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeAck {
    /// The `message_id` of the `subscribe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The topics now active.
    #[serde(default)]
    pub topics: Vec<Topic>,
    /// Each topic's current `seq` (0 when nothing was published on it yet).
    #[serde(default)]
    pub seqs: BTreeMap<Topic, u64>,
    /// The server's history incarnation: it changes when the server loses its history (a
    /// restart without persistence), which a `seq` alone cannot show once the new `seq`s pass
    /// the old ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

/// `subscribe_error` data (extension): one topic was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeError {
    /// The `message_id` of the `subscribe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The refused topic.
    pub topic: Topic,
    /// A human-readable reason.
    pub error: String,
    /// `NOT_FOUND`, `FORBIDDEN`, `INVALID_TOPIC`, `LIMIT`, or a newer code.
    pub error_code: String,
}

/// `unsubscribe_success` data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsubscribeSuccess {
    /// The `message_id` of the `unsubscribe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The topics dropped.
    #[serde(default)]
    pub topics: Vec<Topic>,
}

/// `error` data. `details` is an object in the origin's contract; older tether servers sent a
/// string. Both decode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorData {
    /// A short code or message, such as `MALFORMED`.
    pub error: String,
    /// More about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ErrorData {
    /// An error whose details say `message`, as `{"message": …}`.
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> ErrorData {
        ErrorData {
            error: error.into(),
            details: Some(serde_json::json!({ "message": message.into() })),
        }
    }

    /// The human-readable explanation: `details` when it is a string, its `message` when it is
    /// an object with one, else `error`.
    pub fn explanation(&self) -> &str {
        match &self.details {
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Object(o)) => o
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or(&self.error),
            _ => &self.error,
        }
    }
}

/// `resync_required` data (extension).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResyncRequired {
    /// The topic whose state must be refetched.
    pub topic: Topic,
    /// The server's current `seq` on it, when known: live events continue after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The epoch of the stream `seq` belongs to, when the server names epochs: a client keeps
    /// it as the topic's epoch, so that its next `subscribe_ack` in the same epoch is not
    /// taken for another loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

/// A control message, either direction.
#[derive(Clone, Debug, PartialEq)]
pub enum Control {
    /// `subscribe`.
    Subscribe(Subscribe),
    /// `unsubscribe`.
    Unsubscribe(Unsubscribe),
    /// `ping`.
    Ping(Heartbeat),
    /// `pong`.
    Pong(Heartbeat),
    /// `subscribe_ack`.
    SubscribeAck(SubscribeAck),
    /// `subscribe_error`.
    SubscribeError(SubscribeError),
    /// `unsubscribe_success`.
    UnsubscribeSuccess(UnsubscribeSuccess),
    /// `error`.
    Error(ErrorData),
    /// `resync_required`.
    ResyncRequired(ResyncRequired),
}

impl Control {
    /// Every control type.
    pub const KINDS: &'static [&'static str] = &[
        kind::SUBSCRIBE,
        kind::UNSUBSCRIBE,
        kind::PING,
        kind::PONG,
        kind::SUBSCRIBE_ACK,
        kind::SUBSCRIBE_ERROR,
        kind::UNSUBSCRIBE_SUCCESS,
        kind::ERROR,
        kind::RESYNC_REQUIRED,
    ];

    /// Its wire type.
    pub fn kind(&self) -> &'static str {
        match self {
            Control::Subscribe(_) => kind::SUBSCRIBE,
            Control::Unsubscribe(_) => kind::UNSUBSCRIBE,
            Control::Ping(_) => kind::PING,
            Control::Pong(_) => kind::PONG,
            Control::SubscribeAck(_) => kind::SUBSCRIBE_ACK,
            Control::SubscribeError(_) => kind::SUBSCRIBE_ERROR,
            Control::UnsubscribeSuccess(_) => kind::UNSUBSCRIBE_SUCCESS,
            Control::Error(_) => kind::ERROR,
            Control::ResyncRequired(_) => kind::RESYNC_REQUIRED,
        }
    }

    /// Decodes a control frame; `None` when `envelope` is an app event.
    pub fn parse(envelope: &Envelope) -> Option<Result<Control, DecodeError>> {
        let decoded = match envelope.kind.as_str() {
            kind::SUBSCRIBE => envelope.data().map(Control::Subscribe),
            kind::UNSUBSCRIBE => envelope.data().map(Control::Unsubscribe),
            kind::PING => envelope.data().map(Control::Ping),
            kind::PONG => envelope.data().map(Control::Pong),
            kind::SUBSCRIBE_ACK => envelope.data().map(Control::SubscribeAck),
            kind::SUBSCRIBE_ERROR => envelope.data().map(Control::SubscribeError),
            kind::UNSUBSCRIBE_SUCCESS => envelope.data().map(Control::UnsubscribeSuccess),
            kind::ERROR => envelope.data().map(Control::Error),
            kind::RESYNC_REQUIRED => envelope.data().map(Control::ResyncRequired),
            _ => return None,
        };
        Some(decoded)
    }

    /// The frame carrying it: on `system`, except `resync_required`, which travels on its topic.
    pub fn to_envelope(&self) -> Envelope {
        let (topic, data) = match self {
            Control::Subscribe(d) => (Topic::system(), to_raw(d)),
            Control::Unsubscribe(d) => (Topic::system(), to_raw(d)),
            Control::Ping(d) | Control::Pong(d) => (Topic::system(), to_raw(d)),
            Control::SubscribeAck(d) => (Topic::system(), to_raw(d)),
            Control::SubscribeError(d) => (Topic::system(), to_raw(d)),
            Control::UnsubscribeSuccess(d) => (Topic::system(), to_raw(d)),
            Control::Error(d) => (Topic::system(), to_raw(d)),
            Control::ResyncRequired(d) => (d.topic.clone(), to_raw(d)),
        };
        Envelope {
            kind: self.kind().to_owned(),
            topic,
            req_id: None,
            ts: 0,
            seq: None,
            data,
        }
    }
}

fn to_raw(data: &impl Serialize) -> Box<serde_json::value::RawValue> {
    serde_json::value::to_raw_value(data).expect("control data of plain fields always serializes")
}

#[cfg(test)]
mod read_write_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: Control) {
        let text = c.to_envelope().encode();
        let back = Control::parse(&Envelope::decode(&text).unwrap())
            .expect("a control type")
            .unwrap();
        assert_eq!(back, c, "{text}");
    }

    #[test]
    fn every_control_message_round_trips() {
        round_trip(Control::Subscribe(Subscribe {
            topics: vec![Topic::agent(1)],
            message_id: Some("s1".into()),
            since: Some([(Topic::agent(1), 4)].into()),
        }));
        round_trip(Control::Unsubscribe(Unsubscribe::default()));
        round_trip(Control::Ping(Heartbeat { timestamp: Some(3) }));
        round_trip(Control::Pong(Heartbeat::default()));
        round_trip(Control::SubscribeAck(SubscribeAck::default()));
        round_trip(Control::SubscribeError(SubscribeError {
            message_id: None,
            topic: Topic::agent(2),
            error: "no".into(),
            error_code: "FORBIDDEN".into(),
        }));
        round_trip(Control::UnsubscribeSuccess(UnsubscribeSuccess::default()));
        round_trip(Control::Error(ErrorData::new("MALFORMED", "bad")));
        round_trip(Control::ResyncRequired(ResyncRequired {
            topic: Topic::agent(1),
            seq: None,
            epoch: None,
        }));
        round_trip(Control::ResyncRequired(ResyncRequired {
            topic: Topic::agent(1),
            seq: Some(3),
            epoch: Some("e2".into()),
        }));
    }

    #[test]
    fn app_events_are_not_control() {
        let e = Envelope::decode(
            r#"{"v":1,"type":"agent_updated","topic":"agent:1","ts":0,"data":{}}"#,
        )
        .unwrap();
        assert!(Control::parse(&e).is_none());
    }

    #[test]
    fn error_details_may_be_an_object_a_string_null_or_absent() {
        let explain = |data: &str| {
            let text = format!(r#"{{"v":1,"type":"error","topic":"system","ts":0,"data":{data}}}"#);
            match Control::parse(&Envelope::decode(&text).unwrap()) {
                Some(Ok(Control::Error(e))) => e.explanation().to_owned(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(explain(r#"{"error":"E","details":"why"}"#), "why");
        assert_eq!(
            explain(r#"{"error":"E","details":{"message":"why"}}"#),
            "why"
        );
        assert_eq!(
            explain(r#"{"error":"E","details":{"message_id":"s1"}}"#),
            "E"
        );
        assert_eq!(explain(r#"{"error":"E","details":null}"#), "E");
        assert_eq!(explain(r#"{"error":"E"}"#), "E");
    }
}
