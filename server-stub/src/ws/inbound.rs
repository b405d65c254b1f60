//! Decoding and dispatch of client frames. A frame that cannot be decoded is answered with an
//! `error` frame (`MALFORMED`, `UNSUPPORTED_VERSION`, `UNKNOWN_TYPE` or `INVALID_DATA`) and the
//! connection stays up.

use tether::agents::model::SendMessage;
use tether::protocol::control::{ErrorData, Heartbeat, Subscribe, Unsubscribe};
use tether::protocol::{Control, DecodeError, Envelope, Topic};

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

/// Decodes one text frame from a client.
pub fn decode(text: &str) -> Result<ClientFrame, ProtocolError> {
    let envelope = Envelope::decode(text)?;
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

/// Handles one text frame.
pub fn handle_text(session: &mut Session, text: &str) {
    match decode(text) {
        Ok(frame) => dispatch(session, frame),
        Err(error) => {
            tracing::debug!(code = error.code, details = %error.details, "refused a client frame");
            send_error(session, error, req_id_of(text));
        }
    }
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
