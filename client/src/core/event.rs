//! What the core produces: I/O for the driver to perform, events for the topic handlers, state
//! changes, request results and errors.

use std::fmt;
use std::rc::Rc;

use serde::de::DeserializeOwned;

use super::state::ConnectionState;
use super::time::Millis;
use crate::protocol::{CloseCode, DecodeError, Frame, Message, Topic};

/// Identifies one socket. Events from a socket that is no longer current are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub u64);

/// Identifies one `request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// What a topic's handlers receive. Cheap to clone.
#[derive(Clone, Debug, PartialEq)]
pub enum TopicEvent {
    /// The subscription took effect. Every event after `seq` follows, exactly once and in
    /// order; `None` when the server does not number its events. A handler receives this once,
    /// first: its view starts here.
    Subscribed {
        /// The topic.
        topic: Topic,
        /// The last event before this handler's first.
        seq: Option<u64>,
    },
    /// An event published on the topic.
    Message(Rc<Frame>),
    /// Events were missed that will not be replayed: the replay window was exceeded, the
    /// server lost its history, or it offers no replay and the connection dropped. Refetch the
    /// topic's state; live events continue after `seq` when it is known.
    ResyncRequired {
        /// The topic.
        topic: Topic,
        /// The server's `seq` now, if it numbers events.
        seq: Option<u64>,
        /// The server lost its history (it restarted without persistence: its epoch changed,
        /// or its `seq` went back), so what it had before may be gone, not just the events of
        /// the gap. A view may say so.
        history_lost: bool,
    },
    /// The server refused the topic. It is retried on the next connection.
    Refused {
        /// The topic.
        topic: Topic,
        /// `NOT_FOUND`, `FORBIDDEN`, `INVALID_TOPIC`, `LIMIT`, … (a sentence from the origin).
        code: String,
        /// The explanation.
        error: String,
    },
}

impl TopicEvent {
    /// The topic.
    pub fn topic(&self) -> &Topic {
        match self {
            TopicEvent::Subscribed { topic, .. }
            | TopicEvent::ResyncRequired { topic, .. }
            | TopicEvent::Refused { topic, .. } => topic,
            TopicEvent::Message(m) => &m.topic,
        }
    }

    /// The published event, if this is one.
    pub fn message(&self) -> Option<&Frame> {
        match self {
            TopicEvent::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The event's `data` as `T`: `None` if this is not an event, an error if it is not a `T`.
    pub fn data<T: DeserializeOwned>(&self) -> Option<Result<T, DecodeError>> {
        self.message().map(Frame::data)
    }

    /// The event decoded as a [`Message`] enum: `None` if this is not an event.
    pub fn decode<M: Message>(&self) -> Option<Result<M, DecodeError>> {
        self.message().map(Frame::decode_as)
    }
}

/// Why a request failed. Each says whether the frame reached the server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// It could not be queued at all.
    #[error("not sent: {0}")]
    NotSent(SendError),
    /// It waited in the outbox while disconnected, and the connection did not come back in
    /// time. It was never sent.
    #[error("not sent: still disconnected after {} s", .waited.0 / 1000)]
    Expired {
        /// How long it waited.
        waited: Millis,
    },
    /// It was sent, but no reply came in time. The server may have acted on it.
    #[error("sent, but no reply within {} s", .after.0 / 1000)]
    Timeout {
        /// The reply timeout.
        after: Millis,
    },
    /// It was sent, and the connection dropped before the reply. The server may have acted
    /// on it.
    #[error("sent, but the connection dropped before the reply")]
    Disconnected,
    /// The app closed the client.
    #[error("the client was closed")]
    Closed,
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
    /// A binary frame that is not UTF-8 text was dropped: the protocol is JSON text.
    #[error("dropped a binary frame of {len} bytes that is not UTF-8 text")]
    UnsupportedBinary {
        /// Its length.
        len: usize,
    },
    /// The server closed with a code that means this client misbehaved or fell behind.
    #[error("server closed with {code}: {reason}")]
    ServerClosed {
        /// The close code.
        code: CloseCode,
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
        /// How long nothing arrived: since the last frame the client timed, or since the ping
        /// that counted the events after it (which are not timed one by one).
        silent_ms: u64,
    },
    /// `send`s that waited in the outbox while disconnected longer than the queue timeout were
    /// dropped unsent.
    #[error("{0} queued frames expired unsent")]
    OutboxExpired(usize),
    /// `close()` discarded frames that were still queued.
    #[error("{0} queued frames discarded by close()")]
    OutboxDiscarded(usize),
}

/// One thing for the driver to do or report.
#[derive(Clone, PartialEq)]
pub enum Output {
    /// Open a socket to `url`. The shell appends the token from the app's provider.
    OpenSocket {
        /// The new socket.
        socket: SocketId,
        /// Where to connect, without the token.
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
    /// Deliver an event to the topic's handlers. With an app event comes where its topic sits
    /// in the client's topic table: a hint for a router whose table holds the same topics in
    /// the same order (the topic manager's does), to find the topic without a search.
    Deliver(TopicEvent, Option<usize>),
    /// The connection state changed.
    StateChanged(ConnectionState),
    /// A request finished.
    RequestDone {
        /// Which request.
        id: RequestId,
        /// The reply frame, or why there is none.
        result: Result<Rc<Frame>, RequestError>,
    },
    /// Something went wrong but the client goes on.
    Error(ClientError),
    /// A frame answering a `req_id` this client did not make, for the tab that relays other
    /// tabs' requests (only with sharing across tabs).
    Relay(Rc<Frame>),
    /// Store this resume record in the tab's storage, replacing the previous one (feature
    /// `resume`).
    #[cfg(feature = "resume")]
    Persist(String),
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::OpenSocket { socket, url } => write!(f, "OpenSocket({socket:?}, {url})"),
            Output::Send { socket, text } => write!(f, "Send({socket:?}, {text})"),
            Output::CloseSocket {
                socket,
                code,
                reason,
            } => write!(f, "CloseSocket({socket:?}, {code}, {reason})"),
            Output::ScheduleFlush => f.write_str("ScheduleFlush"),
            Output::Deliver(e, _) => write!(f, "Deliver({e:?})"),
            Output::StateChanged(s) => write!(f, "StateChanged({s:?})"),
            Output::RequestDone { id, result } => write!(f, "RequestDone({id:?}, {result:?})"),
            Output::Error(e) => write!(f, "Error({e})"),
            Output::Relay(e) => write!(f, "Relay({e:?})"),
            #[cfg(feature = "resume")]
            Output::Persist(r) => write!(f, "Persist({} bytes)", r.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::{Output, TopicEvent};
    use crate::core::SocketId;
    use crate::protocol::{DecodeError, Envelope, Frame, Message, Topic};

    /// A made-up message type: its kind and the length of its data.
    #[derive(Debug, PartialEq)]
    struct Shape(String, usize);

    impl Message for Shape {
        fn decode(kind: &str, data: &str) -> Result<Self, DecodeError> {
            Ok(Shape(kind.to_owned(), data.len()))
        }
    }

    #[test]
    fn a_message_decodes_on_demand_and_the_others_have_nothing_to_decode() {
        let envelope = Envelope::new("price", Topic::new("ticker:BTC"), &[1, 2]).unwrap();
        let frame = Frame::decode(&envelope.encode()).unwrap();
        let event = TopicEvent::Message(Rc::new(frame));
        assert_eq!(
            event.data::<Vec<u32>>().map(Result::ok),
            Some(Some(vec![1, 2]))
        );
        assert_eq!(
            event.decode::<Shape>().map(Result::ok),
            Some(Some(Shape("price".into(), 5)))
        );
        let subscribed = TopicEvent::Subscribed {
            topic: Topic::new("ticker:BTC"),
            seq: None,
        };
        assert!(subscribed.data::<Vec<u32>>().is_none());
        assert!(subscribed.decode::<Shape>().is_none());
    }

    #[test]
    fn outputs_debug_as_their_variant() {
        let out = Output::OpenSocket {
            socket: SocketId(3),
            url: "ws://stub".into(),
        };
        assert!(format!("{out:?}").contains("OpenSocket"));
    }
}
