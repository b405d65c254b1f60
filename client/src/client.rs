//! `WsClientV2`: the app's single socket, as the app sees it. It owns the sans-IO
//! [`Connection`] and the [`Io`] that performs what the core asks for.
//!
//! Every input (an app call, or a driver's report through its
//! [`DriverHandle`](crate::driver::DriverHandle)) updates the core and then *pumps* its outputs:
//! I/O goes to the `Io`, events to the topic manager, state changes and errors to listeners,
//! request results to their futures, and the token provider is asked for each new socket. The
//! pump is not re-entrant: a callback that calls back into the client (subscribe, send, close,
//! …) only queues outputs in the core, and the running pump performs them after the callback
//! returns.
//!
//! **Architecture Invariant:** no app code runs while the core is borrowed. Handlers, listeners
//! and the token provider may call any method of the client.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures_channel::oneshot;

use crate::core::{
    url_with_token, ClientError, Clock, Config, Connection, ConnectionState, Instant, Metrics,
    Output, RequestError, RequestId, SendError, TokenProvider, TopicEvent, TopicStatus,
};
use crate::driver::{DriverHandle, Io};
use crate::listeners::{ListenerGuard, Listeners};
use crate::protocol::{Envelope, Frame, Topic};

type Reply = Result<Rc<Frame>, RequestError>;

/// Settles one request: its future's sender, boxed.
type Settle = Box<dyn FnOnce(Reply)>;

/// Where delivered events go: the topic manager's dispatch.
pub(crate) type EventSink = Rc<dyn Fn(&TopicEvent, Option<usize>)>;

/// Where replies to other tabs' requests go (sharing across tabs).
#[cfg(feature = "tabs")]
pub(crate) type RelaySink = Rc<dyn Fn(&Rc<Frame>)>;

pub(crate) struct Shared {
    core: RefCell<Connection>,
    io: Box<dyn Io>,
    token: RefCell<TokenProvider>,
    pumping: Cell<bool>,
    pub(crate) armed: Cell<Option<Instant>>,
    sink: RefCell<Option<EventSink>>,
    #[cfg(feature = "tabs")]
    relay: RefCell<Option<RelaySink>>,
    /// The futures of requests in flight (few at a time).
    /// Each request's settling: its future's sender, boxed, so that an app that never asks
    /// links no channel.
    replies: RefCell<Vec<(RequestId, Settle)>>,
    state_listeners: Listeners<ConnectionState>,
    error_listeners: Listeners<ClientError>,
}

/// The app's single WebSocket client. Cheap to clone: clones share one connection. Get it from
/// [`AppState`](crate::AppState).
#[derive(Clone)]
pub struct WsClientV2 {
    pub(crate) shared: Rc<Shared>,
}

impl WsClientV2 {
    /// A client in `Idle` whose I/O `io` performs. `seed` feeds the backoff jitter.
    pub(crate) fn new(mut config: Config, seed: u64, io: Box<dyn Io>) -> WsClientV2 {
        let token = std::mem::replace(&mut config.token, Box::new(|| None));
        #[cfg(feature = "resume")]
        let resumes = config.resume.is_some();
        #[allow(unused_mut)]
        let mut core = Connection::new(config, seed);
        #[cfg(feature = "resume")]
        if let Some(record) = resumes.then(|| io.load_resume()).flatten() {
            core.handle_restore(&record, io.now());
        }
        let shared = Rc::new(Shared {
            core: RefCell::new(core),
            io,
            token: RefCell::new(token),
            pumping: Cell::new(false),
            armed: Cell::new(None),
            sink: RefCell::new(None),
            #[cfg(feature = "tabs")]
            relay: RefCell::new(None),
            replies: RefCell::new(Vec::new()),
            state_listeners: Listeners::default(),
            error_listeners: Listeners::default(),
        });
        WsClientV2 { shared }
    }

    /// The handle a driver reports through.
    pub(crate) fn driver_handle(&self) -> DriverHandle {
        DriverHandle(Rc::downgrade(&self.shared))
    }

    /// Runs `f` on the core with the time now, then performs its outputs.
    pub(crate) fn drive<R>(&self, f: impl FnOnce(&mut Connection, Instant) -> R) -> R {
        let now = self.shared.io.now();
        let r = f(&mut self.shared.core.borrow_mut(), now);
        self.pump();
        r
    }

    /// [`WsClientV2::drive`] for a frame: the core reads the clock only if the frame needs the
    /// time (an app event on a proven socket does not).
    pub(crate) fn drive_frame(&self, f: impl FnOnce(&mut Connection, Clock)) {
        let io = &self.shared.io;
        let read = || io.now();
        f(&mut self.shared.core.borrow_mut(), Clock::lazy(&read));
        self.pump();
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
                    // Computing the deadline never queues an output: the pump is done.
                    let at = s.core.borrow_mut().poll_timeout();
                    if s.armed.replace(at) != at {
                        s.io.set_timer(at, &self.driver_handle());
                    }
                    break;
                }
            }
        }
    }

    /// Performs one output. The core is not borrowed here: app code may call back.
    fn perform(&self, output: Output) {
        let s = &self.shared;
        match output {
            Output::OpenSocket { socket, url } => {
                let token = (s.token.borrow_mut())();
                let url = url_with_token(&url, token.as_deref());
                s.io.open(socket, &url, &self.driver_handle());
            }
            Output::Send { socket, text } => s.io.send(socket, &text),
            Output::CloseSocket {
                socket,
                code,
                reason,
            } => s.io.close(socket, code, reason),
            Output::ScheduleFlush => s.io.schedule_flush(&self.driver_handle()),
            Output::Deliver(event, index) => {
                let sink = s.sink.borrow().clone();
                if let Some(sink) = sink {
                    sink(&event, index);
                }
            }
            Output::StateChanged(state) => s.state_listeners.notify(&state),
            Output::RequestDone { id, result } => {
                let reply = {
                    let mut replies = s.replies.borrow_mut();
                    let pos = replies.iter().position(|(r, _)| *r == id);
                    pos.map(|pos| replies.swap_remove(pos).1)
                };
                if let Some(settle) = reply {
                    settle(result);
                }
            }
            Output::Error(error) => s.error_listeners.notify(&error),
            #[cfg(not(feature = "tabs"))]
            Output::Relay(_) => {} // only a hub asks for relays
            #[cfg(feature = "tabs")]
            Output::Relay(frame) => {
                let relay = s.relay.borrow().clone();
                if let Some(relay) = relay {
                    relay(&frame);
                }
            }
            #[cfg(feature = "resume")]
            Output::Persist(record) => s.io.store_resume(&record),
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
    /// that got `AuthFailed` (the backoff starts afresh), or for a "Retry now" button: while
    /// retrying, this is one more try, and the try count (`Reconnecting::attempt`) goes on.
    pub fn reconnect(&self) {
        self.drive(|c, now| c.handle_reconnect(now));
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        self.shared.core.borrow().state()
    }

    /// A snapshot of the connection's health.
    pub fn metrics(&self) -> Metrics {
        self.shared.core.borrow().metrics()
    }

    /// Calls `f` with the connection's state machine, to read it (the tabs' hub reads what it
    /// needs of the real client this way, borrowing it once).
    #[cfg(feature = "tabs")]
    pub(crate) fn read_core<R>(&self, f: impl FnOnce(&crate::core::Connection) -> R) -> R {
        f(&self.shared.core.borrow())
    }

    /// The driver's clock, for countdowns such as `retry_at - now()`.
    pub fn now(&self) -> Instant {
        self.shared.io.now()
    }

    /// The status of a held topic.
    pub fn topic_status(&self, topic: &Topic) -> Option<TopicStatus> {
        self.shared.core.borrow().topic_status(topic).cloned()
    }

    /// The history epoch the server last gave for a topic (tether's extensions): a new one
    /// means the server lost the topic's history.
    pub fn topic_epoch(&self, topic: &Topic) -> Option<String> {
        self.shared
            .core
            .borrow()
            .topic_epoch(topic)
            .map(str::to_owned)
    }

    /// The last `seq` delivered on a topic (tether's extensions).
    pub fn last_seq(&self, topic: &Topic) -> Option<u64> {
        self.shared.core.borrow().last_seq(topic)
    }

    /// The server's `seq` for a topic in its latest acknowledgement (tether's extensions).
    pub fn topic_server_seq(&self, topic: &Topic) -> Option<u64> {
        self.shared.core.borrow().topic_server_seq(topic)
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

    /// Sends a frame now, or queues it until a socket is back (for up to the queue timeout).
    pub fn send(&self, frame: Envelope) -> Result<(), SendError> {
        self.drive(|c, now| c.send(frame, now))
    }

    /// Sends a frame already encoded, as it is: a tab's frame the hub relays.
    #[cfg(feature = "tabs")]
    pub(crate) fn send_encoded(&self, text: String) -> Result<(), SendError> {
        self.drive(|c, now| c.send_encoded(text, now))
    }

    /// Sends a frame with a fresh `req_id` and waits for the reply that echoes it. While
    /// disconnected it waits in the outbox first; every error says whether it was sent.
    pub async fn request(&self, frame: Envelope) -> Result<Rc<Frame>, RequestError> {
        let rx = {
            let id = self
                .shared
                .core
                .borrow_mut()
                .request(frame, self.shared.io.now());
            let id = id.map_err(RequestError::NotSent)?;
            let (tx, rx) = oneshot::channel();
            let settle = move |reply| drop(tx.send(reply)); // the caller may have dropped it
            self.shared
                .replies
                .borrow_mut()
                .push((id, Box::new(settle)));
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

    pub(crate) fn unsubscribe_topic(&self, topic: &Topic) {
        self.drive(|c, _| c.unsubscribe(topic));
    }

    pub(crate) fn set_event_sink(&self, sink: EventSink) {
        *self.shared.sink.borrow_mut() = Some(sink);
    }

    #[cfg(feature = "tabs")]
    pub(crate) fn set_relay_sink(&self, sink: Option<RelaySink>) {
        *self.shared.relay.borrow_mut() = sink;
    }

    pub(crate) fn subscribe_topic_from(&self, topic: &Topic, since: Option<u64>) {
        self.drive(|c, now| c.subscribe_from(topic, since, now));
    }
}

impl std::fmt::Debug for WsClientV2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WsClientV2({:?})", self.state())
    }
}
