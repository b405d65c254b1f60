//! What the core produces: I/O for the driver to perform, events for the topic handlers, state
//! changes, request results and errors.

use std::fmt;
use std::rc::Rc;

use super::state::ConnectionState;
use crate::protocol::{CloseCode, DecodeError, ServerFrame, Topic};

/// Identifies one socket. Events from a socket that is no longer current are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub u64);

/// Identifies one `request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// A server event routed to a topic's handlers. Cheap to clone.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicEvent {
    /// The topic it arrived on.
    pub topic: Topic,
    /// The whole frame.
    pub frame: Rc<ServerFrame>,
}

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No reply within the request timeout.
    #[error("request timed out")]
    Timeout,
    /// The socket it was sent on closed before the reply came.
    #[error("disconnected before the reply")]
    Disconnected,
    /// The app closed the client.
    #[error("the client was closed")]
    Closed,
    /// It could not be sent or queued.
    #[error("not sent: {0}")]
    NotSent(SendError),
    /// The server answered with an `error` frame.
    #[error("server error {error}: {details}")]
    Server {
        /// The server's error code.
        error: String,
        /// Its explanation.
        details: String,
    },
}

/// Why a frame could not be sent or queued.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The outbox is full; nothing was queued.
    #[error("outbox full ({0} frames)")]
    OutboxFull(usize),
    /// The frame is larger than the server accepts.
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    /// The app closed the client.
    #[error("the client is closed")]
    Closed,
}

/// Something the app should know about; the client keeps working.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A frame that could not be decoded was dropped.
    #[error("dropped a malformed frame: {0}")]
    Malformed(DecodeError),
    /// The server closed with a code that means this client misbehaved (1008, 1009).
    #[error("server closed with {code}: {reason}")]
    ServerClosed {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The server sent an `error` frame that answers no request.
    #[error("server error {error}: {details}")]
    Server {
        /// The server's error code.
        error: String,
        /// Its explanation.
        details: String,
    },
    /// No frame arrived within ping interval + pong timeout; the socket was replaced.
    #[error("connection declared dead after {silent_ms} ms of silence")]
    DeadConnection {
        /// How long nothing arrived.
        silent_ms: u64,
    },
    /// `close()` discarded frames that were still queued.
    #[error("{0} queued frames discarded by close()")]
    OutboxDiscarded(usize),
}

/// One thing for the driver to do or report.
#[derive(Clone, PartialEq)]
pub enum Output {
    /// Open a socket to `url` (which may carry the token: never log it).
    OpenSocket {
        /// The new socket.
        socket: SocketId,
        /// Where to connect.
        url: String,
    },
    /// Send a text frame.
    Send {
        /// On this socket.
        socket: SocketId,
        /// The frame.
        text: String,
    },
    /// Close a socket.
    CloseSocket {
        /// Which one.
        socket: SocketId,
        /// The close code.
        code: CloseCode,
        /// The close reason.
        reason: &'static str,
    },
    /// Call the core's `handle_flush` soon (at the end of the current tick).
    ScheduleFlush,
    /// Deliver an event to the topic's handlers.
    Deliver(TopicEvent),
    /// The connection state changed.
    StateChanged(ConnectionState),
    /// A request finished.
    RequestDone {
        /// Which request.
        id: RequestId,
        /// The reply frame, or why there is none.
        result: Result<Rc<ServerFrame>, RequestError>,
    },
    /// Something went wrong but the client goes on.
    Error(ClientError),
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The URL may carry the token: print only where it goes.
            Output::OpenSocket { socket, url } => {
                let base = url.split('?').next().unwrap_or_default();
                write!(f, "OpenSocket({socket:?}, {base}?…)")
            }
            Output::Send { socket, text } => write!(f, "Send({socket:?}, {text})"),
            Output::CloseSocket {
                socket,
                code,
                reason,
            } => write!(f, "CloseSocket({socket:?}, {}, {reason})", code.0),
            Output::ScheduleFlush => f.write_str("ScheduleFlush"),
            Output::Deliver(e) => write!(f, "Deliver({}, {:?})", e.topic, e.frame.msg),
            Output::StateChanged(s) => write!(f, "StateChanged({s:?})"),
            Output::RequestDone { id, result } => write!(f, "RequestDone({id:?}, {result:?})"),
            Output::Error(e) => write!(f, "Error({e})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Config, Connection, Instant};

    #[test]
    fn the_token_never_appears_in_debug_output() {
        let secret = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.signature-part";
        let cfg = Config::new("ws://h/api/ws/v2").with_token(move || Some(secret.to_owned()));
        assert!(!format!("{cfg:?}").contains("signature-part"));
        let mut core = Connection::new(cfg, 1);
        core.handle_connect(Instant(0));
        let mut printed = String::new();
        let mut url = None;
        while let Some(out) = core.poll_output() {
            if let Output::OpenSocket { url: u, .. } = &out {
                url = Some(u.clone());
            }
            printed.push_str(&format!("{out:?}"));
        }
        assert!(
            url.unwrap().contains("signature-part"),
            "the socket does get the token"
        );
        assert!(!printed.contains("signature-part"), "{printed}");
    }
}
