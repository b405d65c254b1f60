//! Decoding and dispatch of client frames. A frame that cannot be decoded is answered with an
//! `error` frame (`MALFORMED`, `UNSUPPORTED_VERSION`, `UNKNOWN_TYPE` or `INVALID_DATA`) and the
//! connection stays up. So is a frame carrying a `req_id`, `message_id` or topic name over
//! `--max-id-bytes`, or an `unsubscribe` over `--max-topics-per-subscribe`; such strings are
//! never echoed.

use tether_wire::agents::model::SendMessage;
use tether_wire::control::{ErrorData, Heartbeat, Subscribe, Unsubscribe};
use tether_wire::{Control, DecodeError, Envelope, Topic};

use crate::clock::now_ms;
use crate::domain::chat;
use crate::ws::session::Session;
use crate::ws::subscriptions;

/// The `type` of a chat message a client posts.
pub const SEND_MESSAGE: &str = "send_message";

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

/// Why an inbound frame was refused: an `error` frame's `error` and `details`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    /// One of [`code`], or a subscribe error code for a refused `send_message`.
    pub code: &'static str,
    /// What went wrong.
    pub details: String,
}

impl From<DecodeError> for ProtocolError {
    fn from(e: DecodeError) -> Self {
        let code = match &e {
            DecodeError::Envelope(_) => code::MALFORMED,
            DecodeError::Version(_) => code::UNSUPPORTED_VERSION,
            DecodeError::UnknownType(_) => code::UNKNOWN_TYPE,
            DecodeError::Data { .. } => code::INVALID_DATA,
        };
        ProtocolError {
            code,
            details: e.to_string(),
        }
    }
}

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
    /// `send_message`.
    SendMessage(SendMessage),
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
            return Err(ProtocolError {
                code: code::UNKNOWN_TYPE,
                details: format!("{:?} is sent by servers, not clients", other.kind()),
            })
        }
        Some(Err(e)) => return Err(e.into()),
        // The data of a chat message is read from `data`, as the origin's contract describes.
        // The origin's own handler reads `thread_id` and `content` from the top level of the
        // frame instead, a deviation from its contract; the stub follows the contract.
        None if envelope.kind == SEND_MESSAGE => ClientMessage::SendMessage(envelope.data()?),
        None => return Err(DecodeError::UnknownType(envelope.kind.clone()).into()),
    };
    Ok(ClientFrame { envelope, msg })
}

/// `UNSUPPORTED_VERSION` if `text` is an object whose `v` is there and is not the integer 1.
fn version_error(text: &str) -> Option<ProtocolError> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let v = value.as_object()?.get("v")?;
    (v.as_u64() != Some(1) || !v.is_u64()).then(|| ProtocolError {
        code: code::UNSUPPORTED_VERSION,
        details: format!("unsupported envelope version {}", clip(&v.to_string(), 32)),
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

/// Handles one text frame.
pub fn handle_text(session: &mut Session, text: &str) {
    let max_id = session.state().config.max_id_bytes;
    let decoded = decode(text).and_then(|frame| {
        let max_topics = session.state().config.max_topics_per_subscribe;
        check_sizes(&frame, max_id, max_topics).map(|()| frame)
    });
    match decoded {
        Ok(frame) => dispatch(session, frame),
        Err(error) => {
            tracing::debug!(code = error.code, details = %error.details, "refused a client frame");
            let req_id = req_id_of(text).filter(|id| id.len() <= max_id);
            send_error(session, error, req_id);
        }
    }
}

/// Refuses strings the server would echo or keep when they are over `max_id` bytes, and an
/// `unsubscribe` with more than `max_topics` topics.
fn check_sizes(frame: &ClientFrame, max_id: usize, max_topics: usize) -> Result<(), ProtocolError> {
    let too_long = |what: &str| ProtocolError {
        code: code::INVALID_DATA,
        details: format!("{what} longer than {max_id} bytes"),
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
                return Err(ProtocolError {
                    code: code::INVALID_DATA,
                    details: format!("an unsubscribe lists at most {max_topics} topics"),
                });
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

/// Handles one binary frame: the protocol is text only.
pub fn handle_binary(session: &mut Session) {
    let error = ProtocolError {
        code: code::MALFORMED,
        details: "binary frames are not supported".into(),
    };
    send_error(session, error, None);
}

fn dispatch(session: &mut Session, frame: ClientFrame) {
    let ClientFrame { envelope, msg } = frame;
    match msg {
        ClientMessage::Subscribe(request) => subscriptions::subscribe(session, request),
        ClientMessage::Unsubscribe(request) => subscriptions::unsubscribe(session, request),
        ClientMessage::Ping(Heartbeat { timestamp }) => {
            let pong = Heartbeat {
                timestamp: timestamp.or_else(|| Some(now_ms())),
            };
            session.reply(&Control::Pong(pong), envelope.req_id);
        }
        ClientMessage::Pong(_) => {}
        ClientMessage::SendMessage(request) => {
            send_message(session, &envelope.topic, envelope.req_id, request)
        }
    }
}

/// Posts the message; the reply is the published `thread_message`, or an `error`.
fn send_message(
    session: &mut Session,
    topic: &Topic,
    req_id: Option<String>,
    request: SendMessage,
) {
    let max = session.state().config.max_content_bytes;
    if request.content.len() > max {
        let details = format!("content over {max} bytes");
        let error = ProtocolError {
            code: code::INVALID_DATA,
            details,
        };
        return send_error(session, error, req_id);
    }
    let expected = Topic::thread(request.thread_id);
    if !topic.is_system() && *topic != expected {
        let details = format!(
            "topic must be {expected} for thread_id {}",
            request.thread_id
        );
        return send_error(
            session,
            ProtocolError {
                code: code::INVALID_DATA,
                details,
            },
            req_id,
        );
    }
    let posted = chat::post_user_message(
        session.state(),
        session.user(),
        request.thread_id,
        request.content,
        req_id.clone(),
        Some(session.queue()),
    );
    if let Err(denial) = posted {
        let error = ProtocolError {
            code: denial.code(),
            details: denial.message().into(),
        };
        send_error(session, error, req_id);
    }
}

fn send_error(session: &Session, error: ProtocolError, req_id: Option<String>) {
    let data = ErrorData::new(error.code, error.details);
    session.reply(&Control::Error(data), req_id);
}

/// The `req_id` of a frame that did not decode, if it is JSON with a string `req_id`.
fn req_id_of(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("req_id")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_map_to_codes() {
        let code_of = |text: &str| decode(text).map(|_| ()).map_err(|e| e.code);
        assert_eq!(code_of("{"), Err(code::MALFORMED));
        assert_eq!(code_of(r#"{"type":"ping"}"#), Err(code::MALFORMED));
        assert_eq!(
            code_of(r#"{"v":2,"type":"ping","data":{"timestamp":1}}"#),
            Err(code::UNSUPPORTED_VERSION)
        );
        for v in [r#""1""#, "1.0", "2", "-1", "null", "true", "[1]", "{}"] {
            for rest in [r#","type":"ping","data":{}"#, "", r#","type":5"#] {
                let text = format!(r#"{{"v":{v}{rest}}}"#);
                assert_eq!(code_of(&text), Err(code::UNSUPPORTED_VERSION), "{text}");
            }
        }
        assert_eq!(
            code_of(r#"{"v":1,"type":"hack","data":{}}"#),
            Err(code::UNKNOWN_TYPE)
        );
        assert_eq!(
            code_of(r#"{"v":1,"type":"ping","data":{"timestamp":"x"}}"#),
            Err(code::INVALID_DATA)
        );
        assert_eq!(
            code_of(r#"{"v":1,"type":"subscribe_ack","data":{}}"#),
            Err(code::UNKNOWN_TYPE)
        );
        assert_eq!(
            code_of(r#"{"v":1,"type":"send_message","data":{"thread_id":1}}"#),
            Err(code::INVALID_DATA)
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
