//! Decoding and dispatch of client frames. A frame that cannot be decoded is answered with an
//! `error` frame (`MALFORMED`, `UNSUPPORTED_VERSION`, `UNKNOWN_TYPE` or `INVALID_DATA`) and the
//! connection stays up.

use tether::protocol::model::{ErrorData, SendMessage, Timestamp};
use tether::protocol::{ClientFrame, ClientMessage, DecodeError, ServerMessage, Topic};

use crate::chat;
use crate::session::Session;
use crate::subscription;

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

/// Decodes one text frame from a client.
pub fn decode(text: &str) -> Result<ClientFrame, ProtocolError> {
    ClientFrame::decode(text).map_err(ProtocolError::from)
}

/// Handles one text frame.
pub fn handle_text(session: &mut Session, text: &str) {
    match decode(text) {
        Ok(frame) => dispatch(session, frame),
        Err(error) => send_error(session, error, req_id_of(text)),
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
    match frame.msg {
        ClientMessage::Subscribe(request) => subscription::subscribe(session, request),
        ClientMessage::Unsubscribe(request) => subscription::unsubscribe(session, request),
        ClientMessage::Ping(Timestamp { timestamp }) => {
            session.reply(ServerMessage::Pong(Timestamp { timestamp }), frame.req_id);
        }
        ClientMessage::Pong(_) => {}
        ClientMessage::SendMessage(request) => {
            send_message(session, frame.topic, frame.req_id, request)
        }
        ClientMessage::Unknown { kind, .. } => {
            let error = ProtocolError {
                code: code::UNKNOWN_TYPE,
                details: format!("unknown message type {kind:?}"),
            };
            send_error(session, error, frame.req_id);
        }
    }
}

/// Posts the message; the reply is the published `thread_message`, or an `error`.
fn send_message(
    session: &mut Session,
    topic: Option<String>,
    req_id: Option<String>,
    request: SendMessage,
) {
    let expected = Topic::Thread(request.thread_id).to_string();
    if topic.as_deref().is_some_and(|t| t != expected) {
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
        Some(session.outbox()),
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
    let data = ErrorData {
        error: error.code.into(),
        details: error.details,
    };
    session.reply(ServerMessage::Error(data), req_id);
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
