//! `WsClientV2`: the app's single socket. It owns the sans-IO [`Connection`] and an [`Io`]
//! that performs what the core asks for (the web-sys driver in the browser, a fake in tests).
//!
//! Every input (a socket event, a timer, an app call) updates the core and then *pumps* its
//! outputs: I/O goes to the `Io`, events to the topic manager, state changes and errors to
//! listeners, request results to their futures. The pump is not re-entrant: a callback that
//! calls back into the client (subscribe, send, close, …) only queues outputs in the core, and
//! the running pump performs them after the callback returns. The core is never borrowed while
//! app code runs, so no call from a handler can hit a `RefCell` borrow panic.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use futures_channel::oneshot;

use crate::core::{
    ClientError, Config, Connection, ConnectionState, Instant, Metrics, Output, RequestError,
    RequestId, SendError, SocketId, TopicEvent, TopicStatus,
};
use crate::listeners::{ListenerGuard, Listeners};
use crate::protocol::{ClientFrame, ServerFrame, Topic};

/// What a driver must be able to do. Calls must not synchronously call back into the client.
pub trait Io {
    /// The time now, in milliseconds (the browser's `Date.now()`).
    fn now(&self) -> Instant;
    /// Opens a socket; report its events with the client's `handle_socket_*` methods.
    fn open(&self, socket: SocketId, url: &str);
    /// Sends a text frame on an open socket.
    fn send(&self, socket: SocketId, text: &str);
    /// Closes a socket and stops reporting its events.
    fn close(&self, socket: SocketId, code: u16, reason: &str);
    /// Arms the single timer (replacing any armed one) or, with `None`, cancels it. When it
    /// fires, call [`WsClientV2::handle_timeout`].
    fn set_timer(&self, at: Option<Instant>);
    /// Calls [`WsClientV2::flush`] at the end of the current tick (a microtask in the browser).
    fn schedule_flush(&self);
}

type Reply = Result<Rc<ServerFrame>, RequestError>;

/// Where delivered events go: the topic manager's dispatch.
pub(crate) type EventSink = Rc<dyn Fn(&TopicEvent)>;

struct Shared {
    core: RefCell<Connection>,
    io: Box<dyn Io>,
    pumping: Cell<bool>,
    armed: Cell<Option<Instant>>,
    sink: RefCell<Option<EventSink>>,
    replies: RefCell<HashMap<RequestId, oneshot::Sender<Reply>>>,
    state_listeners: Listeners<ConnectionState>,
    error_listeners: Listeners<ClientError>,
}

/// The app's single WebSocket client. Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct WsClientV2 {
    shared: Rc<Shared>,
}

/// A weak handle, for drivers' callbacks: it does not keep the client alive.
#[derive(Clone)]
pub struct WeakClient(Weak<Shared>);

impl WeakClient {
    /// The client, if it is still alive.
    pub fn upgrade(&self) -> Option<WsClientV2> {
        self.0.upgrade().map(|shared| WsClientV2 { shared })
    }
}

impl WsClientV2 {
    /// A client in `Idle` whose I/O is performed by the `Io` that `make_io` builds. `seed` feeds
    /// the backoff jitter. Call [`WsClientV2::connect`] to start.
    pub fn with_io(
        config: Config,
        seed: u64,
        make_io: impl FnOnce(WeakClient) -> Box<dyn Io>,
    ) -> WsClientV2 {
        let shared = Rc::new_cyclic(|weak| Shared {
            core: RefCell::new(Connection::new(config, seed)),
            io: make_io(WeakClient(weak.clone())),
            pumping: Cell::new(false),
            armed: Cell::new(None),
            sink: RefCell::new(None),
            replies: RefCell::new(HashMap::new()),
            state_listeners: Listeners::default(),
            error_listeners: Listeners::default(),
        });
        WsClientV2 { shared }
    }

    /// A weak handle to this client.
    pub fn downgrade(&self) -> WeakClient {
        WeakClient(Rc::downgrade(&self.shared))
    }

    /// Runs `f` on the core with the time now, then performs its outputs.
    fn drive<R>(&self, f: impl FnOnce(&mut Connection, Instant) -> R) -> R {
        let now = self.shared.io.now();
        let r = f(&mut self.shared.core.borrow_mut(), now);
        self.pump();
        r
    }

    fn pump(&self) {
        let s = &self.shared;
        if s.pumping.replace(true) {
            return; // The running pump will perform what was just queued.
        }
        struct Reset<'a>(&'a Cell<bool>);
        impl Drop for Reset<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _reset = Reset(&s.pumping);
        loop {
            let next = s.core.borrow_mut().poll_output();
            match next {
                Some(output) => self.perform(output),
                None => {
                    let at = s.core.borrow_mut().poll_timeout();
                    if s.armed.replace(at) != at {
                        s.io.set_timer(at);
                    }
                    // A timer callback can't re-enter, but check once more for outputs queued
                    // by `set_timer` implementations that call back synchronously.
                    if s.core.borrow().has_outputs() {
                        continue;
                    }
                    break;
                }
            }
        }
    }

    fn perform(&self, output: Output) {
        let s = &self.shared;
        match output {
            Output::OpenSocket { socket, url } => s.io.open(socket, &url),
            Output::Send { socket, text } => s.io.send(socket, &text),
            Output::CloseSocket {
                socket,
                code,
                reason,
            } => s.io.close(socket, code.0, reason),
            Output::ScheduleFlush => s.io.schedule_flush(),
            Output::Deliver(event) => {
                let sink = s.sink.borrow().clone();
                if let Some(sink) = sink {
                    sink(&event);
                }
            }
            Output::StateChanged(state) => s.state_listeners.notify(&state),
            Output::RequestDone { id, result } => {
                let reply = s.replies.borrow_mut().remove(&id);
                if let Some(tx) = reply {
                    let _ = tx.send(result); // The caller may have dropped the future.
                }
            }
            Output::Error(error) => s.error_listeners.notify(&error),
        }
    }

    // ---- app API -------------------------------------------------------------------------

    /// Starts connecting (and keeps reconnecting until [`WsClientV2::close`]).
    pub fn connect(&self) {
        self.drive(|c, now| c.handle_connect(now));
    }

    /// Closes the socket for good: nothing reconnects until [`WsClientV2::connect`].
    pub fn close(&self) {
        self.drive(|c, now| c.handle_close(now));
    }

    /// Replaces the socket now, asking the token provider again. Use after refreshing a token
    /// that got `AuthFailed`.
    pub fn reconnect(&self) {
        self.drive(|c, now| c.handle_reconnect(now));
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        self.shared.core.borrow().state()
    }

    /// A snapshot of the connection's health.
    pub fn metrics(&self) -> Metrics {
        let now = self.shared.io.now();
        self.shared.core.borrow().metrics(now)
    }

    /// The status of a held topic.
    pub fn topic_status(&self, topic: &Topic) -> Option<TopicStatus> {
        self.shared.core.borrow().topic_status(topic).cloned()
    }

    /// Every held topic with its status.
    pub fn topic_statuses(&self) -> Vec<(Topic, TopicStatus)> {
        self.shared
            .core
            .borrow()
            .topic_statuses()
            .map(|(t, s)| (t.clone(), s.clone()))
            .collect()
    }

    /// How many sockets the client has opened in total.
    pub fn sockets_opened(&self) -> u64 {
        self.shared.core.borrow().sockets_opened()
    }

    /// Sends a frame now, or queues it until the socket opens.
    pub fn send(&self, frame: ClientFrame) -> Result<(), SendError> {
        self.drive(|c, now| c.send(frame, now))
    }

    /// Sends a frame and waits for the reply with the same `req_id`.
    pub async fn request(&self, frame: ClientFrame) -> Result<Rc<ServerFrame>, RequestError> {
        let rx = {
            let id = self
                .shared
                .core
                .borrow_mut()
                .request(frame, self.shared.io.now());
            let id = id.map_err(RequestError::NotSent)?;
            let (tx, rx) = oneshot::channel();
            self.shared.replies.borrow_mut().insert(id, tx);
            self.pump();
            rx
        };
        rx.await.unwrap_or(Err(RequestError::Closed))
    }

    /// Calls `callback` on every state change until the guard is dropped.
    pub fn on_state_change(&self, callback: impl Fn(&ConnectionState) + 'static) -> ListenerGuard {
        let id = self.shared.state_listeners.add(Rc::new(callback));
        let weak = Rc::downgrade(&self.shared);
        ListenerGuard::new(move || {
            if let Some(s) = weak.upgrade() {
                s.state_listeners.remove(id);
            }
        })
    }

    /// Calls `callback` on every reported error until the guard is dropped.
    pub fn on_error(&self, callback: impl Fn(&ClientError) + 'static) -> ListenerGuard {
        let id = self.shared.error_listeners.add(Rc::new(callback));
        let weak = Rc::downgrade(&self.shared);
        ListenerGuard::new(move || {
            if let Some(s) = weak.upgrade() {
                s.error_listeners.remove(id);
            }
        })
    }

    /// How many state and error listeners are registered (for leak checks).
    pub fn listener_count(&self) -> usize {
        self.shared.state_listeners.len() + self.shared.error_listeners.len()
    }

    pub(crate) fn subscribe_topic(&self, topic: &Topic) {
        self.drive(|c, now| c.subscribe(topic, now));
    }

    pub(crate) fn unsubscribe_topic(&self, topic: &Topic) {
        self.drive(|c, _| c.unsubscribe(topic));
    }

    pub(crate) fn set_event_sink(&self, sink: Option<EventSink>) {
        *self.shared.sink.borrow_mut() = sink;
    }

    // ---- driver inputs -------------------------------------------------------------------

    /// A socket opened.
    pub fn handle_socket_opened(&self, socket: SocketId) {
        self.drive(|c, now| c.handle_socket_opened(socket, now));
    }

    /// A socket closed.
    pub fn handle_socket_closed(&self, socket: SocketId, code: u16, reason: &str) {
        self.drive(|c, now| c.handle_socket_closed(socket, code, reason, now));
    }

    /// A socket reported an error.
    pub fn handle_socket_error(&self, socket: SocketId) {
        self.drive(|c, now| c.handle_socket_error(socket, now));
    }

    /// A text frame arrived.
    pub fn handle_socket_message(&self, socket: SocketId, text: &str) {
        self.drive(|c, now| c.handle_socket_message(socket, text, now));
    }

    /// The armed timer fired.
    pub fn handle_timeout(&self) {
        self.shared.armed.set(None);
        self.drive(|c, now| c.handle_timeout(now));
    }

    /// End of tick: send coalesced subscription changes.
    pub fn flush(&self) {
        self.drive(|c, now| c.handle_flush(now));
    }

    /// The browser went online (`true`) or offline (`false`).
    pub fn handle_online(&self, online: bool) {
        self.drive(|c, now| {
            if online {
                c.handle_online(now)
            } else {
                c.handle_offline(now)
            }
        });
    }

    /// The page became visible (`true`) or hidden.
    pub fn handle_visibility(&self, visible: bool) {
        self.drive(|c, now| c.handle_visibility(visible, now));
    }

    /// `pageshow`; `persisted` when restored from the back/forward cache.
    pub fn handle_pageshow(&self, persisted: bool) {
        self.drive(|c, now| c.handle_pageshow(persisted, now));
    }
}
