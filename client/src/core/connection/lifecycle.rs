//! The socket's life: attempts, opening, the proof by a first frame, closing, and what the
//! browser's environment (online, visibility, sleep) changes. Whether and when a new socket
//! opens is never decided here: every path asks [`decide`] and hands the answer to
//! [`Connection::apply`], the one place that arms the retry timer.

use super::{Connection, Socket};
use crate::core::event::{ClientError, Output, RequestError, SocketId};
use crate::core::reconnect::{decide, Context, Next, Trigger};
use crate::core::state::ConnectionState;
use crate::core::time::Instant;
use crate::core::timers::Timer;
use crate::protocol::CloseCode;

impl Connection {
    // ---- app commands ----------------------------------------------------------------------

    /// The app wants to be connected.
    pub fn handle_connect(&mut self, now: Instant) {
        self.wanted = true;
        self.decide_and_apply(Trigger::AppConnect, now);
    }

    /// Drops the current socket and connects again at once (asking the token provider again).
    /// The app calls this after refreshing a token that got 4401, which resets the backoff, or
    /// for "Retry now", which keeps it while retrying (see [`decide`]).
    pub fn handle_reconnect(&mut self, now: Instant) {
        self.wanted = true;
        self.drop_socket(CloseCode::NORMAL, "reconnect");
        self.decide_and_apply(Trigger::AppReconnect, now);
    }

    /// The app closes the client: the socket is closed and nothing reconnects until
    /// `handle_connect`. Pending requests fail with `Closed`; queued frames are discarded and
    /// reported.
    pub fn handle_close(&mut self, _now: Instant) {
        self.wanted = false;
        for id in self.requests.take_all() {
            self.outputs.push_back(Output::RequestDone {
                id,
                result: Err(RequestError::Closed),
            });
        }
        self.drop_socket(CloseCode::NORMAL, "client closed");
        self.timers = Default::default();
        let discarded = self.outbox.drain().count();
        if discarded > 0 {
            self.outputs
                .push_back(Output::Error(ClientError::OutboxDiscarded(discarded)));
        }
        self.set_state(ConnectionState::Closed);
    }

    // ---- driver inputs: sockets -------------------------------------------------------------

    /// The driver's socket opened: every held topic is subscribed, and a ping goes out whose
    /// answer proves the socket (and, from a server without acknowledgements, activates them).
    pub fn handle_socket_opened(&mut self, socket: SocketId, now: Instant) {
        let Some(current) = self
            .socket
            .as_mut()
            .filter(|s| s.id == socket && s.opened_at.is_none())
        else {
            return;
        };
        current.opened_at = Some(now);
        self.topics.reset_server_view();
        self.write_topic_changes(now);
        self.send_ping(now);
    }

    /// The driver's socket closed with `code` (1006 when it dropped without a close frame).
    pub fn handle_socket_closed(
        &mut self,
        socket: SocketId,
        code: CloseCode,
        reason: &str,
        now: Instant,
    ) {
        if self.current_socket() != Some(socket) {
            return;
        }
        let proven_for = self.end_socket(now);
        if matches!(code, CloseCode::POLICY | CloseCode::TOO_BIG) {
            self.outputs
                .push_back(Output::Error(ClientError::ServerClosed {
                    code,
                    reason: reason.to_owned(),
                }));
        }
        self.decide_and_apply(Trigger::Closed { code, proven_for }, now);
    }

    /// The server refused the handshake with an HTTP `status` (drivers that can see it).
    pub fn handle_socket_refused(&mut self, socket: SocketId, status: u16, now: Instant) {
        if self.current_socket() != Some(socket) {
            return;
        }
        self.end_socket(now);
        self.decide_and_apply(Trigger::Refused { status }, now);
    }

    /// The driver's socket reported an error. Browsers always follow it with a close, which is
    /// what acts; a socket that never closes is caught by the connect or liveness deadline.
    pub fn handle_socket_error(&mut self, _socket: SocketId, _now: Instant) {}

    // ---- driver inputs: time and environment ------------------------------------------------

    /// The timer fired. One that fired far later than armed means the machine slept or the
    /// tab was throttled: that is handled first, as a wake-up.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self
            .armed
            .take()
            .is_some_and(|due| now >= due + self.cfg.wake_threshold)
        {
            self.on_wake(now);
        }
        self.sync_queue_timers();
        for timer in self.timers.take_due(now) {
            match timer {
                Timer::Retry => self.on_retry_timeout(now),
                Timer::Connect => self.on_connect_timeout(now),
                Timer::Liveness => self.on_liveness_timeout(now),
                Timer::Ping => self.on_ping_timeout(now),
                Timer::Requests => self.on_requests_timeout(now),
                Timer::Outbox => self.on_outbox_timeout(now),
            }
        }
        #[cfg(feature = "resume")]
        self.on_persist_timeout(now);
    }

    /// The browser went online.
    pub fn handle_online(&mut self, now: Instant) {
        self.online = true;
        self.decide_and_apply(Trigger::CameOnline, now);
    }

    /// The browser went offline: no retry loop until it is back. An open socket is kept while
    /// it still works (the `offline` event has false alarms), but its liveness is checked now.
    pub fn handle_offline(&mut self, now: Instant) {
        self.online = false;
        if self.state.is_open() {
            self.check_liveness(now);
        } else {
            self.decide_and_apply(Trigger::WentOffline, now);
        }
    }

    /// The page became visible or hidden.
    pub fn handle_visibility(&mut self, visible: bool, now: Instant) {
        if !visible {
            return;
        }
        if self.state.is_open() {
            if self.silent_for_a_ping_interval(now) {
                self.check_liveness(now);
            }
        } else {
            self.decide_and_apply(Trigger::BecameVisible, now);
        }
    }

    /// `pageshow`; `persisted` means the page came back from the back/forward cache.
    pub fn handle_pageshow(&mut self, persisted: bool, now: Instant) {
        if persisted {
            self.on_wake(now);
        }
    }

    // ---- the decision, applied ---------------------------------------------------------------

    /// Asks [`decide`] what `trigger` means now, and does it.
    pub(super) fn decide_and_apply(&mut self, trigger: Trigger, now: Instant) {
        let ctx = Context {
            state: self.state,
            wanted: self.wanted,
            has_work: self.has_work(),
            online: self.online,
            stable_after: self.cfg.stable_after,
        };
        let next = decide(&trigger, &ctx);
        self.apply(next, now);
    }

    /// Carries out a decision. The only place that arms [`Timer::Retry`].
    fn apply(&mut self, next: Next, now: Instant) {
        match next {
            Next::Backoff { reset } => {
                if reset {
                    self.backoff.reset();
                }
                let retry_at = now + self.backoff.next_delay(&mut self.rng);
                self.timers.set(Timer::Retry, retry_at);
                self.set_state(ConnectionState::Reconnecting {
                    attempt: self.backoff.attempt(),
                    retry_at,
                });
            }
            Next::Now { reset, .. } => {
                if reset {
                    self.backoff.reset();
                }
                self.start_attempt(now);
            }
            Next::WaitForOnline => {
                self.drop_socket(CloseCode::NORMAL, "offline");
                self.timers.stop(Timer::Retry);
                self.set_state(ConnectionState::Offline);
            }
            Next::AuthFailed => {
                self.timers.stop(Timer::Retry);
                self.set_state(ConnectionState::AuthFailed);
            }
            Next::Idle => self.set_state(ConnectionState::Idle),
            Next::Stay => {}
        }
    }

    /// Something to subscribe or send arrived: an idle connection starts.
    pub(super) fn work_arrived(&mut self, now: Instant) {
        self.decide_and_apply(Trigger::WorkArrived, now);
    }

    fn on_retry_timeout(&mut self, now: Instant) {
        self.start_attempt(now);
    }

    fn on_connect_timeout(&mut self, now: Instant) {
        if self.proven_socket().is_some() {
            return;
        }
        self.drop_socket(CloseCode::CLIENT_DEAD_CONNECTION, "connect timeout");
        self.decide_and_apply(Trigger::ConnectTimeout, now);
    }

    /// A timer fired late or the page came back from the cache: an open socket is checked, a
    /// waiting retry may happen now.
    pub(super) fn on_wake(&mut self, now: Instant) {
        if self.state.is_open() {
            self.check_liveness(now);
        } else {
            self.decide_and_apply(Trigger::Woke, now);
        }
    }

    // ---- sockets -----------------------------------------------------------------------------

    fn start_attempt(&mut self, now: Instant) {
        self.drop_socket(CloseCode::NORMAL, "replaced");
        self.sockets_opened += 1;
        let id = SocketId(self.sockets_opened);
        self.socket = Some(Socket {
            id,
            opened_at: None,
            proven_at: None,
            acks: None,
            pings: Default::default(),
            unconfirmed: Default::default(),
            split: Default::default(),
        });
        self.timers.stop(Timer::Retry);
        self.timers
            .set(Timer::Connect, now + self.cfg.connect_timeout);
        let url = self.cfg.socket_url();
        self.outputs
            .push_back(Output::OpenSocket { socket: id, url });
        self.set_state(ConnectionState::Connecting);
    }

    /// The first frame arrived: the socket is real. It shows `Open`, counts as a reconnect if
    /// an earlier one was proved, and the outbox flushes.
    pub(super) fn prove(&mut self, now: Instant) {
        let Some(socket) = self.socket.as_mut().filter(|s| s.proven_at.is_none()) else {
            return;
        };
        socket.proven_at = Some(now);
        let id = socket.id;
        self.untimed_frames = false;
        if self.ever_proven {
            self.counters.reconnects += 1;
        }
        self.ever_proven = true;
        self.timers.stop(Timer::Connect);
        self.timers.set(Timer::Ping, now + self.cfg.ping_interval);
        self.timers.set(
            Timer::Liveness,
            now + self.cfg.ping_interval + self.cfg.pong_timeout,
        );
        self.set_state(ConnectionState::Open);
        self.flush_outbox(id, now);
    }

    /// Forgets the current socket after it ended; returns how long it had been proved.
    fn end_socket(&mut self, now: Instant) -> Option<crate::core::time::Millis> {
        let proven_at = self.socket.as_ref().and_then(|s| s.proven_at);
        if proven_at.is_none() {
            self.counters.unproven_sockets += 1;
        }
        if let Some(id) = self.current_socket() {
            self.forget_socket(id);
        }
        proven_at.map(|t| now - t)
    }

    /// Closes the current socket, if any, and forgets it: its later events are ignored.
    pub(super) fn drop_socket(&mut self, code: CloseCode, reason: &'static str) {
        if let Some(socket) = self.current_socket() {
            self.outputs.push_back(Output::CloseSocket {
                socket,
                code,
                reason,
            });
            self.forget_socket(socket);
        }
    }

    fn forget_socket(&mut self, socket: SocketId) {
        self.socket = None;
        (self.untimed_frames, self.time_next_frame) = (false, false);
        self.last_frame = None;
        for timer in [Timer::Connect, Timer::Ping, Timer::Liveness] {
            self.timers.stop(timer);
        }
        self.topics.reset_server_view();
        for id in self.requests.lost_with(socket) {
            self.outputs.push_back(Output::RequestDone {
                id,
                result: Err(RequestError::Disconnected),
            });
        }
    }
}
