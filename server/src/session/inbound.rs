//! Decoding client frames. A frame that cannot be decoded is answered with an `error` frame
//! (`MALFORMED`, `UNSUPPORTED_VERSION`, `UNKNOWN_TYPE` or `INVALID_DATA`) and the connection
//! stays up. So is a frame carrying a `req_id`, `message_id` or topic name over
//! [`Limits::max_id_bytes`], or an `unsubscribe` over [`Limits::max_topics_per_subscribe`];
//! such strings are never echoed. A `type` that is not one of the protocol's control messages
//! is a request, for the app's handlers.

use tether_wire::control::Control;
use tether_wire::control::{Heartbeat, Subscribe, Unsubscribe};
use tether_wire::{DecodeError, Envelope};

use super::types::{code, ProtocolError};
use crate::limits::Limits;

/// A client frame the server understood.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientFrame {
    /// The envelope, with its raw `data`.
    pub envelope: Envelope,
    /// What it asks for.
    pub msg: ClientMessage,
}

impl ClientFrame {
    /// The frame as JSON text again.
    pub fn encode(&self) -> String {
        self.envelope.encode()
    }
}

/// What a client may send.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientMessage {
    /// `subscribe`.
    Subscribe(Subscribe),
    /// `unsubscribe`.
    Unsubscribe(Unsubscribe),
    /// `ping`, answered with `pong`.
    Ping(Heartbeat),
    /// `pong`, the answer to the server's `ping`.
    Pong(Heartbeat),
    /// Any other `type`: a request for the app (`send_message`, say), its `data` undecoded.
    Request,
}

/// Decodes one text frame from a client. Any `v` other than the integer 1 is
/// `UNSUPPORTED_VERSION`, whatever else is wrong with the frame.
pub fn decode(text: &str) -> Result<ClientFrame, ProtocolError> {
    let envelope = Envelope::decode(text).map_err(|e| match e {
        DecodeError::Envelope(_) => version_error(text).unwrap_or_else(|| e.into()),
        e => e.into(),
    })?;
    let msg = match Control::parse(&envelope) {
        Some(Ok(Control::Subscribe(s))) => ClientMessage::Subscribe(s),
        Some(Ok(Control::Unsubscribe(u))) => ClientMessage::Unsubscribe(u),
        Some(Ok(Control::Ping(h))) => ClientMessage::Ping(h),
        Some(Ok(Control::Pong(h))) => ClientMessage::Pong(h),
        Some(Ok(other)) => {
            return Err(ProtocolError::new(
                code::UNKNOWN_TYPE,
                format!("{:?} is sent by servers, not clients", other.kind()),
            ))
        }
        Some(Err(e)) => return Err(e.into()),
        None => ClientMessage::Request,
    };
    Ok(ClientFrame { envelope, msg })
}

/// `UNSUPPORTED_VERSION` if `text` is an object whose `v` is there and is not the integer 1.
fn version_error(text: &str) -> Option<ProtocolError> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let v = value.as_object()?.get("v")?;
    (v.as_u64() != Some(1) || !v.is_u64()).then(|| {
        let details = format!("unsupported envelope version {}", clip(&v.to_string(), 32));
        ProtocolError::new(code::UNSUPPORTED_VERSION, details)
    })
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn clip(s: &str, max: usize) -> &str {
    let end = (0..=max.min(s.len()))
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    &s[..end]
}

/// Refuses strings the server would echo or keep when they are over the id limit, and an
/// `unsubscribe` with more topics than one `subscribe` may list.
pub fn check_sizes(frame: &ClientFrame, limits: &Limits) -> Result<(), ProtocolError> {
    let (max_id, max_topics) = (limits.max_id_bytes, limits.max_topics_per_subscribe);
    let too_long = |what: &str| {
        ProtocolError::new(
            code::INVALID_DATA,
            format!("{what} longer than {max_id} bytes"),
        )
    };
    let long = |s: &str| s.len() > max_id;
    if frame.envelope.req_id.as_deref().is_some_and(long) {
        return Err(too_long("req_id"));
    }
    if long(frame.envelope.topic.as_str()) {
        return Err(too_long("a topic name"));
    }
    let (message_id, topics) = match &frame.msg {
        ClientMessage::Subscribe(s) => (&s.message_id, &s.topics),
        ClientMessage::Unsubscribe(u) => {
            if u.topics.len() > max_topics {
                return Err(ProtocolError::new(
                    code::INVALID_DATA,
                    format!("an unsubscribe lists at most {max_topics} topics"),
                ));
            }
            (&u.message_id, &u.topics)
        }
        _ => return Ok(()),
    };
    if message_id.as_deref().is_some_and(long) {
        return Err(too_long("message_id"));
    }
    if topics.iter().any(|t| long(t.as_str())) {
        return Err(too_long("a topic name"));
    }
    Ok(())
}

/// The `req_id` of a frame that did not decode, if it is JSON with a string `req_id`.
pub fn req_id_of(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("req_id")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_map_to_codes() {
        let code_of = |text: &str| decode(text).map(|_| ()).map_err(|e| e.code.into_owned());
        assert_eq!(code_of("{"), Err(code::MALFORMED.to_owned()));
        assert_eq!(
            code_of(r#"{"type":"ping"}"#),
            Err(code::MALFORMED.to_owned())
        );
        assert_eq!(
            code_of(r#"{"v":2,"type":"ping","data":{"timestamp":1}}"#),
            Err(code::UNSUPPORTED_VERSION.to_owned())
        );
        for v in [r#""1""#, "1.0", "2", "-1", "null", "true", "[1]", "{}"] {
            for rest in [r#","type":"ping","data":{}"#, "", r#","type":5"#] {
                let text = format!(r#"{{"v":{v}{rest}}}"#);
                assert_eq!(
                    code_of(&text),
                    Err(code::UNSUPPORTED_VERSION.to_owned()),
                    "{text}"
                );
            }
        }
        assert_eq!(
            code_of(r#"{"v":1,"type":"hack","data":{}}"#),
            Ok(()),
            "a request: UNKNOWN_TYPE unless the app handles its type"
        );
        assert_eq!(
            code_of(r#"{"v":1,"type":"ping","data":{"timestamp":"x"}}"#),
            Err(code::INVALID_DATA.to_owned())
        );
        assert_eq!(
            code_of(r#"{"v":1,"type":"subscribe_ack","data":{}}"#),
            Err(code::UNKNOWN_TYPE.to_owned())
        );
        assert_eq!(
            code_of(r#"{"v":1,"type":"send_message","data":{"thread_id":1}}"#),
            Ok(()),
            "a request: its handler decodes its data"
        );
        assert_eq!(
            code_of(r#"{"v":1,"type":"ping","data":{"timestamp":1}}"#),
            Ok(())
        );
    }

    #[test]
    fn req_id_is_recovered_from_bad_frames() {
        assert_eq!(
            req_id_of(r#"{"v":1,"type":"ping","req_id":"p1","data":{}}"#).as_deref(),
            Some("p1")
        );
        assert_eq!(req_id_of("{"), None);
        assert_eq!(req_id_of(r#"{"req_id":5}"#), None);
    }
}
