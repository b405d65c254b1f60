//! The app's hooks: what an app implements to serve tether, and ready implementations.
//!
//! - [`Authenticate`]: request → user, or a [`Refusal`] (close with 4401, or an HTTP status at
//!   the handshake). [`JwtHs256`] (feature `jwt`) is one.
//! - [`Authorize`]: (user, topic) → allowed, or a [`Denial`]. Any
//!   `Fn(&User, &Topic) -> Result<(), Denial>` is one. It also words refusals for clients
//!   without tether's extensions ([`Authorize::refusal`]).
//! - [`Snapshots`]: a topic's [`Snapshot`] for a new subscriber, at the position it is current
//!   to.
//! - [`RequestHandler`]: the answer to a client's request of one `type` (`send_message`, say),
//!   sent back with its `req_id`.
//! - [`Observe`] (optional): learns how each topic of a `subscribe` was answered and when a
//!   connection let go of its topics, for audits and tests.
//!
//! [`Hooks`] holds an app's hooks and is the session's [`Policy`].

#[cfg(feature = "jwt")]
mod jwt;

use axum::http::request::Parts;
use axum::http::StatusCode;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;

use tether_wire::control::ErrorData;
use tether_wire::{Envelope, Topic};

#[cfg(feature = "jwt")]
pub use jwt::JwtHs256;

use crate::broker::BoxFuture;
use crate::delivery::ConnId;
use crate::session::{tether_refusal, Policy};
use crate::session::{Answered, Denial, ProtocolError, Reply, Snapshot, SnapshotRequest};

/// How an upgrade without a valid identity is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Accept the upgrade, then close with 4401 before any data frame, so that a browser can
    /// see the code (tether's way).
    Close,
    /// Refuse the upgrade with this HTTP status (401 or 403, say) and a JSON error body (the
    /// origin's way). A browser sees only that the socket failed.
    Http(StatusCode),
}

/// Who is connecting.
pub trait Authenticate: Send + Sync + 'static {
    /// The user a connection belongs to; its `Display` keys the counters, the logs and a test
    /// server's faults.
    type User: Clone + Send + Sync + fmt::Display + 'static;

    /// The user the upgrade request `request` stands for (its query, headers…), or a refusal.
    fn authenticate(
        &self,
        request: &Parts,
    ) -> impl Future<Output = Result<Self::User, Refusal>> + Send;
}

/// Who may hold which topic.
pub trait Authorize<U>: Send + Sync + 'static {
    /// Whether `user` may hold `topic`.
    fn authorize(&self, user: &U, topic: &Topic)
        -> impl Future<Output = Result<(), Denial>> + Send;

    /// The `error` refusing `topic` to a client without tether's extensions (one with them gets
    /// a `subscribe_error`). By default: the denial's code as `error`, and `details` naming
    /// the `subscribe`'s `message_id`, the topic and the reason.
    fn refusal(&self, topic: &Topic, denial: &Denial, message_id: Option<&str>) -> ErrorData {
        tether_refusal(topic, denial, message_id)
    }
}

impl<U, F> Authorize<U> for F
where
    U: Sync,
    F: Fn(&U, &Topic) -> Result<(), Denial> + Send + Sync + 'static,
{
    fn authorize(
        &self,
        user: &U,
        topic: &Topic,
    ) -> impl Future<Output = Result<(), Denial>> + Send {
        std::future::ready(self(user, topic))
    }
}

/// Topics' snapshots.
pub trait Snapshots<U>: Send + Sync + 'static {
    /// The snapshot a new subscriber is sent first, if the topic has one. To be exact, say the
    /// position it is current to ([`Snapshot::position`]).
    fn snapshot(
        &self,
        request: SnapshotRequest<'_, U>,
    ) -> impl Future<Output = Option<Snapshot>> + Send;
}

/// The handler of one request `type`.
pub trait RequestHandler<U>: Send + Sync + 'static {
    /// Answers `request` (its `data` still raw: decode it with [`Envelope::data`], and answer
    /// `INVALID_DATA` when it does not fit) from `user`.
    fn handle(
        &self,
        user: &U,
        request: &Envelope,
    ) -> impl Future<Output = Result<Reply, ProtocolError>> + Send;

    /// Answers `request`, given also `text`, the frame as the client sent it: for a handler
    /// that reads fields outside the envelope's (the origin's `send_message` handler reads its
    /// fields from the frame's top level). By default, [`handle`](RequestHandler::handle).
    fn handle_frame(
        &self,
        user: &U,
        request: &Envelope,
        text: &str,
    ) -> impl Future<Output = Result<Reply, ProtocolError>> + Send {
        let _ = text;
        self.handle(user, request)
    }
}

/// An observer of subscriptions: it learns, as they happen, how each topic of a `subscribe` was
/// answered and when a connection let go of topics. It must not wait: it is called on the
/// connection's task.
pub trait Observe<U>: Send + Sync + 'static {
    /// A topic of a `subscribe` was answered.
    fn answered(&self, answered: &Answered<'_, U>);

    /// `connection` of `user` let go of `topics` (an `unsubscribe`, or its end).
    fn released(&self, user: &U, connection: ConnId, topics: &[Topic]);
}

/// [`Authorize`], boxed.
trait DynAuthorize<U>: Send + Sync {
    fn authorize<'a>(&'a self, user: &'a U, topic: &'a Topic) -> BoxFuture<'a, Result<(), Denial>>;
    fn refusal(&self, topic: &Topic, denial: &Denial, message_id: Option<&str>) -> ErrorData;
}

impl<U: Sync + 'static, T: Authorize<U>> DynAuthorize<U> for T {
    fn authorize<'a>(&'a self, user: &'a U, topic: &'a Topic) -> BoxFuture<'a, Result<(), Denial>> {
        Box::pin(Authorize::authorize(self, user, topic))
    }

    fn refusal(&self, topic: &Topic, denial: &Denial, message_id: Option<&str>) -> ErrorData {
        Authorize::refusal(self, topic, denial, message_id)
    }
}

/// [`Snapshots`], boxed.
trait DynSnapshots<U>: Send + Sync {
    fn snapshot<'a>(&'a self, request: SnapshotRequest<'a, U>) -> BoxFuture<'a, Option<Snapshot>>;
}

impl<U: Sync + 'static, T: Snapshots<U>> DynSnapshots<U> for T {
    fn snapshot<'a>(&'a self, request: SnapshotRequest<'a, U>) -> BoxFuture<'a, Option<Snapshot>> {
        Box::pin(Snapshots::snapshot(self, request))
    }
}

/// [`RequestHandler`], boxed.
trait DynRequestHandler<U>: Send + Sync {
    fn handle<'a>(
        &'a self,
        user: &'a U,
        request: &'a Envelope,
        text: &'a str,
    ) -> BoxFuture<'a, Result<Reply, ProtocolError>>;
}

impl<U: Sync + 'static, T: RequestHandler<U>> DynRequestHandler<U> for T {
    fn handle<'a>(
        &'a self,
        user: &'a U,
        request: &'a Envelope,
        text: &'a str,
    ) -> BoxFuture<'a, Result<Reply, ProtocolError>> {
        Box::pin(RequestHandler::handle_frame(self, user, request, text))
    }
}

/// An app's hooks for users of type `U` (but authentication, which the upgrade runs). Every
/// topic is allowed, none has a snapshot and no request `type` is handled until set.
pub struct Hooks<U> {
    authorize: Box<dyn DynAuthorize<U>>,
    snapshots: Option<Box<dyn DynSnapshots<U>>>,
    requests: HashMap<String, Box<dyn DynRequestHandler<U>>>,
    observer: Option<Box<dyn Observe<U>>>,
}

impl<U> fmt::Debug for Hooks<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("snapshots", &self.snapshots.is_some())
            .field("requests", &self.requests.keys().collect::<Vec<_>>())
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl<U: Send + Sync + 'static> Default for Hooks<U> {
    fn default() -> Self {
        Hooks {
            authorize: Box::new(|_: &U, _: &Topic| Ok(())),
            snapshots: None,
            requests: HashMap::new(),
            observer: None,
        }
    }
}

impl<U: Send + Sync + 'static> Hooks<U> {
    /// Sets who may hold which topic.
    pub fn set_authorize(&mut self, authorize: impl Authorize<U>) {
        self.authorize = Box::new(authorize);
    }

    /// Sets the topics' snapshots.
    pub fn set_snapshots(&mut self, snapshots: impl Snapshots<U>) {
        self.snapshots = Some(Box::new(snapshots));
    }

    /// Sets the handler of requests of `type` `kind` (replacing any).
    pub fn set_request(&mut self, kind: impl Into<String>, handler: impl RequestHandler<U>) {
        self.requests.insert(kind.into(), Box::new(handler));
    }

    /// Sets the observer of subscriptions (replacing any).
    pub fn set_observer(&mut self, observer: impl Observe<U>) {
        self.observer = Some(Box::new(observer));
    }
}

impl<U: Send + Sync + 'static> Policy for Hooks<U> {
    type User = U;

    fn authorize<'a>(
        &'a self,
        user: &'a U,
        topic: &'a Topic,
    ) -> impl Future<Output = Result<(), Denial>> + Send + 'a {
        self.authorize.authorize(user, topic)
    }

    fn refusal(&self, topic: &Topic, denial: &Denial, message_id: Option<&str>) -> ErrorData {
        self.authorize.refusal(topic, denial, message_id)
    }

    fn snapshot<'a>(
        &'a self,
        request: SnapshotRequest<'a, U>,
    ) -> impl Future<Output = Option<Snapshot>> + Send + 'a {
        let snapshot = self.snapshots.as_ref().map(|s| s.snapshot(request));
        async move {
            match snapshot {
                Some(snapshot) => snapshot.await,
                None => None,
            }
        }
    }

    fn handles(&self, kind: &str) -> bool {
        self.requests.contains_key(kind)
    }

    fn request<'a>(
        &'a self,
        user: &'a U,
        request: &'a Envelope,
        text: &'a str,
    ) -> impl Future<Output = Result<Reply, ProtocolError>> + Send + 'a {
        let handler = self.requests.get(&request.kind);
        async move {
            match handler {
                Some(handler) => handler.handle(user, request, text).await,
                None => Err(tether_wire::DecodeError::UnknownType(request.kind.clone()).into()),
            }
        }
    }

    fn answered(&self, answered: &Answered<'_, U>) {
        if let Some(observer) = &self.observer {
            observer.answered(answered);
        }
    }

    fn released(&self, user: &U, connection: ConnId, topics: &[Topic]) {
        if let Some(observer) = &self.observer {
            observer.released(user, connection, topics);
        }
    }
}
