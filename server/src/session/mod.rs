//! One connection's protocol: decoding its frames, `subscribe` and `unsubscribe` (with the
//! extensions' replies for a client that asked for them, the origin contract's for the others),
//! `ping`, and requests for the app, answered by `req_id`. What the app decides (who may hold
//! a topic, a topic's snapshot, the answer to a request) it asks of a [`Policy`].
//!
//! Frames are handled one at a time, in order. Every reply goes through the connection's send
//! queue like events do, so replies and events keep their order.

pub(crate) mod inbound;
pub(crate) mod observed;
mod reply;
mod subscribe;
pub(crate) mod types;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use tether_wire::control::Control;
use tether_wire::control::{ErrorData, Heartbeat};
use tether_wire::{DecodeError, Envelope, Topic};

pub use inbound::{decode, ClientFrame, ClientMessage};
pub(crate) use observed::Answered;
pub use types::{code, subscribe_error, tether_refusal};
pub(crate) use types::{Denial, ProtocolError, Reply, Snapshot, SnapshotRequest};

use crate::broker::{Broker, NodeTopics};
use crate::clock::now_ms;
use crate::delivery::{ConnId, Ending, Inbound, SendQueue, Sockets};
use crate::frame::control_frame;
use crate::hub::Hub;

/// What a session asks of the app. `crate::app::Hooks` implements it from the app's hooks.
pub trait Policy: Send + Sync + 'static {
    /// Who a connection belongs to.
    type User: Send + Sync + 'static;

    /// Whether `user` may hold `topic`.
    fn authorize<'a>(
        &'a self,
        user: &'a Self::User,
        topic: &'a Topic,
    ) -> impl Future<Output = Result<(), Denial>> + Send + 'a;

    /// The `error` refusing `topic` to a connection without tether's extensions.
    fn refusal(&self, topic: &Topic, denial: &Denial, message_id: Option<&str>) -> ErrorData;

    /// The snapshot a new subscriber of a topic is sent first, if the topic has one.
    fn snapshot<'a>(
        &'a self,
        request: SnapshotRequest<'a, Self::User>,
    ) -> impl Future<Output = Option<Snapshot>> + Send + 'a;

    /// Whether requests of this `type` have a handler.
    fn handles(&self, kind: &str) -> bool;

    /// Answers a request of a `type` it [handles](Policy::handles); `text` is the frame as
    /// the client sent it.
    fn request<'a>(
        &'a self,
        user: &'a Self::User,
        request: &'a Envelope,
        text: &'a str,
    ) -> impl Future<Output = Result<Reply, ProtocolError>> + Send + 'a;

    /// A topic of a `subscribe` was answered (an observer's hook; by default nothing).
    fn answered(&self, _answered: &Answered<'_, Self::User>) {}

    /// A connection let go of topics it held: unsubscribed, or ended (by default nothing).
    fn released(&self, _user: &Self::User, _connection: ConnId, _topics: &[Topic]) {}
}

/// What every session of one server shares.
pub struct Context<P> {
    /// Sockets: the limits and the counters.
    pub sockets: Arc<Sockets>,
    /// This node's topics.
    pub hub: Arc<Hub>,
    /// Numbering, history and distribution.
    pub broker: Arc<dyn Broker>,
    /// This node's subscriptions to the broker.
    pub node_topics: NodeTopics,
    /// The app's side.
    pub policy: P,
}

/// One connection's protocol state: who it is, the topics it holds and its send queue.
pub struct Session<P: Policy> {
    ctx: Arc<Context<P>>,
    user: P::User,
    queue: SendQueue,
    held: BTreeSet<Topic>,
}

impl<P: Policy> Session<P> {
    /// A session of `user` on the connection of `queue`, holding no topic.
    pub fn new(ctx: Arc<Context<P>>, user: P::User, queue: SendQueue) -> Self {
        Session {
            ctx,
            user,
            queue,
            held: BTreeSet::new(),
        }
    }

    /// Whether the connection gets tether's extensions.
    fn extended(&self) -> bool {
        self.queue.extended()
    }

    /// Queues a connection-level reply, stamped with the current time.
    fn reply(&self, control: &Control, req_id: Option<String>) {
        self.queue.deliver_frame(control_frame(control, req_id));
    }

    /// Queues an `error` answering a frame.
    fn send_error(&self, error: ProtocolError, req_id: Option<String>) {
        let data = ErrorData::new(error.code, error.details);
        self.reply(&Control::Error(data), req_id);
    }

    /// Records topics as held; returns how many were new.
    fn hold(&mut self, topics: impl IntoIterator<Item = Topic>) -> usize {
        let added = topics
            .into_iter()
            .filter(|t| self.held.insert(t.clone()))
            .count();
        let stats = &self.ctx.sockets.stats;
        stats.subscriptions_changed(self.queue.user(), to_delta(added));
        added
    }

    /// Leaves `topics` (those held), in the hub and at the broker.
    async fn release(&mut self, topics: &[Topic]) {
        let released: Vec<Topic> = topics
            .iter()
            .filter(|t| self.held.remove(*t))
            .cloned()
            .collect();
        if released.is_empty() {
            return;
        }
        self.ctx.hub.leave(&released, self.queue.id());
        let connection = self.queue.id();
        self.ctx.policy.released(&self.user, connection, &released);
        self.ctx.node_topics.release(&released).await;
        let stats = &self.ctx.sockets.stats;
        stats.subscriptions_changed(self.queue.user(), -to_delta(released.len()));
    }

    /// Decodes one frame and does what it asks.
    async fn handle_text(&mut self, text: &str) -> Option<Ending> {
        let limits = &self.ctx.sockets.limits;
        let decoded =
            decode(text).and_then(|frame| inbound::check_sizes(&frame, limits).map(|()| frame));
        match decoded {
            Ok(frame) => return self.dispatch(frame, text).await,
            Err(error) => {
                tracing::debug!(code = %error.code, details = %error.details, "refused a client frame");
                let max_id = limits.max_id_bytes;
                let req_id = inbound::req_id_of(text).filter(|id| id.len() <= max_id);
                self.send_error(error, req_id);
            }
        }
        None
    }

    async fn dispatch(&mut self, frame: ClientFrame, text: &str) -> Option<Ending> {
        let ClientFrame { envelope, msg } = frame;
        match msg {
            ClientMessage::Subscribe(request) => return subscribe::subscribe(self, request).await,
            ClientMessage::Unsubscribe(request) => subscribe::unsubscribe(self, request).await,
            ClientMessage::Ping(Heartbeat { timestamp }) => {
                let pong = Heartbeat {
                    timestamp: timestamp.or_else(|| Some(now_ms())),
                };
                self.reply(&Control::Pong(pong), envelope.req_id);
            }
            ClientMessage::Pong(_) => {}
            ClientMessage::Request => self.request(envelope, text).await,
        }
        None
    }

    /// Hands a request (`text`, decoded as `envelope`) to the app's handler of its `type`, and
    /// queues the answer.
    async fn request(&mut self, envelope: Envelope, text: &str) {
        let req_id = envelope.req_id.clone();
        if !self.ctx.policy.handles(&envelope.kind) {
            let error = DecodeError::UnknownType(envelope.kind.clone());
            return self.send_error(error.into(), req_id);
        }
        match self.ctx.policy.request(&self.user, &envelope, text).await {
            Ok(Reply::Nothing) => {}
            Ok(Reply::Published(publication)) => {
                if !self.held.contains(&publication.topic) {
                    self.queue
                        .deliver_frame(publication.text_for(self.extended()));
                }
            }
            Ok(Reply::Event(event)) => {
                let event = event.with_req_id(req_id);
                let frame = event.envelope(&envelope.topic, now_ms(), None).encode();
                self.queue.deliver_frame(frame.into());
            }
            Ok(Reply::Error { error, req_id }) => self.reply(&Control::Error(error), req_id),
            Err(error) => self.send_error(error, req_id),
        }
    }
}

impl<P: Policy> Inbound for Session<P> {
    fn on_text(&mut self, text: &str) -> impl Future<Output = Option<Ending>> + Send {
        self.handle_text(text)
    }

    fn on_binary(&mut self) {
        let error = ProtocolError::new(code::MALFORMED, "binary frames are not supported");
        self.send_error(error, None);
    }

    async fn on_end(mut self) {
        let held: Vec<Topic> = self.held.iter().cloned().collect();
        self.release(&held).await;
    }
}

/// The close code "try again later" (RFC 6455, 7.4.1, registered by IANA).
pub const TRY_AGAIN_LATER: u16 = 1013;

/// How a connection ends when the broker cannot be reached: 1013, try again later. The client
/// reconnects with backoff and resubscribes with `since`, so nothing is lost.
fn broker_unavailable(error: &crate::broker::BrokerError) -> Ending {
    tracing::warn!(%error, "closing a connection: the broker is unavailable");
    Ending::Close {
        code: TRY_AGAIN_LATER,
        reason: "broker unavailable".into(),
    }
}

fn to_delta(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
