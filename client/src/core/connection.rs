//! The sans-IO connection: one state machine that owns the socket's lifecycle, heartbeats,
//! backoff, subscriptions, the outbox and requests.
//!
//! Inputs are the `handle_*` methods and the app calls (`subscribe`, `send`, …), each given the
//! time now. Outputs are pulled with [`Connection::poll_output`] until it returns `None`, and the
//! next wake-up with [`Connection::poll_timeout`]. Nothing here reads a clock, touches a socket or
//! calls back into the app, so a handler can never observe the core half-updated.

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use super::backoff::Backoff;
use super::config::{url_with_token, Config};
use super::event::{ClientError, Output, RequestError, RequestId, SendError, SocketId, TopicEvent};
use super::metrics::{Counters, Metrics, Rtt};
use super::outbox::{Outbox, Queued};
use super::requests::Requests;
use super::rng::Rng;
use super::state::ConnectionState;
use super::time::Instant;
use super::topics::{SeqVerdict, TopicStatus, TopicTable};
use crate::protocol::model::{Empty, ResyncRequired, Subscribe, Timestamp, Unsubscribe};
use crate::protocol::{ClientFrame, ClientMessage, CloseCode, ServerFrame, ServerMessage, Topic};

/// The socket the core currently uses.
#[derive(Debug)]
struct Socket {
    id: SocketId,
    opened_at: Option<Instant>,
}

/// Deadlines the core waits for; `poll_timeout` is the earliest.
#[derive(Debug, Default)]
struct Deadlines {
    retry: Option<Instant>,
    connect: Option<Instant>,
    stable: Option<Instant>,
    ping: Option<Instant>,
    liveness: Option<Instant>,
}

impl Deadlines {
    fn clear_socket_timers(&mut self) {
        self.connect = None;
        self.stable = None;
        self.ping = None;
        self.liveness = None;
    }
}

/// The connection state machine. See the module docs.
pub struct Connection {
    cfg: Config,
    rng: Rng,
    state: ConnectionState,
    wanted: bool,
    online: bool,
    socket: Option<Socket>,
    sockets_opened: u64,
    ever_opened: bool,
    backoff: Backoff,
    deadlines: Deadlines,
    armed: Option<Instant>,
    last_frame_at: Option<Instant>,
    topics: TopicTable,
    outbox: Outbox,
    requests: Requests,
    rtt: Rtt,
    counters: Counters,
    next_message_id: u64,
    next_ping_id: u64,
    flush_scheduled: bool,
    outputs: VecDeque<Output>,
}

impl Connection {
    /// A connection in `Idle`. `seed` feeds the backoff jitter.
    pub fn new(cfg: Config, seed: u64) -> Connection {
        Connection {
            backoff: Backoff::new(cfg.backoff),
            outbox: Outbox::new(cfg.outbox_capacity),
            cfg,
            rng: Rng::new(seed),
            state: ConnectionState::Idle,
            wanted: false,
            online: true,
            socket: None,
            sockets_opened: 0,
            ever_opened: false,
            deadlines: Deadlines::default(),
            armed: None,
            last_frame_at: None,
            topics: TopicTable::default(),
            requests: Requests::default(),
            rtt: Rtt::default(),
            counters: Counters::default(),
            next_message_id: 0,
            next_ping_id: 0,
            flush_scheduled: false,
            outputs: VecDeque::new(),
        }
    }

    // ---- outputs -------------------------------------------------------------------------

    /// The next thing for the driver to do, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// True if `poll_output` has something.
    pub fn has_outputs(&self) -> bool {
        !self.outputs.is_empty()
    }

    /// When to call [`Connection::handle_timeout`] next; `None` cancels the timer.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let d = &self.deadlines;
        self.armed = [
            d.retry,
            d.connect,
            d.stable,
            d.ping,
            d.liveness,
            self.requests.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min();
        self.armed
    }

    // ---- queries -------------------------------------------------------------------------

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// The status of a held topic.
    pub fn topic_status(&self, topic: &Topic) -> Option<&TopicStatus> {
        self.topics.status(topic)
    }

    /// Every held topic with its status, in topic order.
    pub fn topic_statuses(&self) -> impl Iterator<Item = (&Topic, &TopicStatus)> {
        self.topics.statuses()
    }

    /// The last `seq` delivered on a topic.
    pub fn last_seq(&self, topic: &Topic) -> Option<u64> {
        self.topics.last_seq(topic)
    }

    /// A snapshot of the counters.
    pub fn metrics(&self, now: Instant) -> Metrics {
        Metrics {
            state: self.state,
            rtt: self.rtt,
            counters: self.counters.clone(),
            uptime: Metrics::uptime_since(self.socket.as_ref().and_then(|s| s.opened_at), now),
            subscriptions: self.topics.counts(),
            outbox_len: self.outbox.len(),
            pending_requests: self.requests.len(),
        }
    }

    /// How many sockets this connection has asked the driver to open.
    pub fn sockets_opened(&self) -> u64 {
        self.sockets_opened
    }

    /// The socket currently in use, if any.
    pub fn current_socket(&self) -> Option<SocketId> {
        self.socket.as_ref().map(|s| s.id)
    }

    // ---- app requests --------------------------------------------------------------------

    /// The app wants to be connected.
    pub fn handle_connect(&mut self, now: Instant) {
        self.wanted = true;
        if matches!(
            self.state,
            ConnectionState::Idle | ConnectionState::Closed | ConnectionState::AuthFailed
        ) {
            self.attempt_or_wait_offline(now);
        }
    }

    /// Drops the current socket and connects again at once with a fresh token, resetting the
    /// backoff. The app calls this after refreshing a token that got 4401.
    pub fn handle_reconnect(&mut self, now: Instant) {
        self.wanted = true;
        self.backoff.reset();
        self.drop_socket(CloseCode::NORMAL, "reconnect");
        self.attempt_or_wait_offline(now);
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
        self.deadlines = Deadlines::default();
        let discarded = self.outbox.drain().count();
        if discarded > 0 {
            self.outputs
                .push_back(Output::Error(ClientError::OutboxDiscarded(discarded)));
        }
        self.set_state(ConnectionState::Closed);
    }

    /// One more holder of `topic`. The wire `subscribe` goes out at the next flush.
    pub fn subscribe(&mut self, topic: &Topic, now: Instant) {
        if self.topics.acquire(topic) {
            self.schedule_flush();
            self.wake_from_idle(now);
        }
    }

    /// One holder fewer. The wire `unsubscribe` goes out at the next flush if it was the last.
    pub fn unsubscribe(&mut self, topic: &Topic) {
        if self.topics.release(topic) {
            self.schedule_flush();
        }
    }

    /// End of tick: sends the coalesced subscription changes, if the socket is open.
    pub fn handle_flush(&mut self, _now: Instant) {
        self.flush_scheduled = false;
        self.flush_topics();
    }

    /// Sends a frame now if the socket is open, else queues it.
    pub fn send(&mut self, frame: ClientFrame, now: Instant) -> Result<(), SendError> {
        self.submit(frame, None, now)
    }

    /// Sends a frame as a request: its reply (matched by `req_id`) finishes it, as do the
    /// timeout and the loss of its socket.
    pub fn request(&mut self, frame: ClientFrame, now: Instant) -> Result<RequestId, SendError> {
        if self.state == ConnectionState::Closed {
            return Err(SendError::Closed);
        }
        let id = self.requests.start(now + self.cfg.request_timeout);
        let frame = frame.with_req_id(Requests::wire_id(id));
        match self.submit(frame, Some(id), now) {
            Ok(()) => Ok(id),
            Err(e) => {
                self.requests.finish(id);
                Err(e)
            }
        }
    }

    // ---- socket events -------------------------------------------------------------------

    /// The driver's socket opened.
    pub fn handle_socket_opened(&mut self, socket: SocketId, now: Instant) {
        let Some(current) = self
            .socket
            .as_mut()
            .filter(|s| s.id == socket && s.opened_at.is_none())
        else {
            return;
        };
        current.opened_at = Some(now);
        if self.ever_opened {
            self.counters.reconnects += 1;
        }
        self.ever_opened = true;
        self.last_frame_at = Some(now);
        self.deadlines.connect = None;
        self.deadlines.stable = Some(now + self.cfg.stable_after);
        self.deadlines.ping = Some(now + self.cfg.ping_interval);
        self.deadlines.liveness = Some(now + self.cfg.ping_interval + self.cfg.pong_timeout);
        self.set_state(ConnectionState::Open);
        // Everything held is resubscribed in one frame, then the outbox flushes in order.
        self.topics.reset_server_view();
        self.flush_topics();
        let queued: Vec<Queued> = self.outbox.drain().collect();
        for q in queued {
            if let Some(id) = q.request {
                self.requests.mark_sent(id, socket);
            }
            self.write(q.text);
        }
        if self.cfg.ping_on_open {
            self.send_ping(now);
        }
    }

    /// The driver's socket closed with `code` (1006 when it dropped without a close frame).
    pub fn handle_socket_closed(
        &mut self,
        socket: SocketId,
        code: u16,
        reason: &str,
        now: Instant,
    ) {
        if self.current_socket() != Some(socket) {
            return;
        }
        let opened_at = self.socket.as_ref().and_then(|s| s.opened_at);
        if opened_at.is_some_and(|t| now - t >= self.cfg.stable_after) {
            self.backoff.reset();
        }
        self.forget_socket(socket);
        let code = CloseCode(code);
        if code == CloseCode::UNAUTHORIZED {
            self.set_state(ConnectionState::AuthFailed);
            return;
        }
        if code.is_reportable() {
            self.outputs
                .push_back(Output::Error(ClientError::ServerClosed {
                    code: code.0,
                    reason: reason.to_owned(),
                }));
        }
        if code == CloseCode::NORMAL && opened_at.is_some() && !self.has_work() {
            self.set_state(ConnectionState::Idle);
            return;
        }
        self.schedule_retry(now);
    }

    /// The driver's socket reported an error. Browsers always follow it with a close, which is
    /// what acts; a socket that never closes is caught by the connect or liveness deadline.
    pub fn handle_socket_error(&mut self, _socket: SocketId, _now: Instant) {}

    /// A text frame arrived.
    pub fn handle_socket_message(&mut self, socket: SocketId, text: &str, now: Instant) {
        if !self
            .socket
            .as_ref()
            .is_some_and(|s| s.id == socket && s.opened_at.is_some())
        {
            return;
        }
        self.counters.frames_in += 1;
        self.counters.bytes_in += text.len() as u64;
        self.last_frame_at = Some(now);
        self.deadlines.liveness = Some(now + self.cfg.ping_interval + self.cfg.pong_timeout);
        match ServerFrame::decode(text) {
            Ok(frame) => self.route(Rc::new(frame), now),
            Err(e) => {
                self.counters.malformed_frames += 1;
                self.outputs
                    .push_back(Output::Error(ClientError::Malformed(e)));
            }
        }
    }

    // ---- time and environment -----------------------------------------------------------

    /// The timer fired. A timer that fired far later than armed means the machine slept or the
    /// tab was throttled: liveness is checked at once and a pending retry happens now.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self
            .armed
            .take()
            .is_some_and(|due| now >= due + self.cfg.wake_threshold)
        {
            self.on_wake(now);
        }
        if due(self.deadlines.retry, now) {
            self.deadlines.retry = None;
            self.start_attempt(now);
        }
        if due(self.deadlines.connect, now) {
            self.drop_socket(CloseCode::CLIENT_DEAD_CONNECTION, "connect timeout");
            self.schedule_retry(now);
        }
        if due(self.deadlines.stable, now) {
            self.deadlines.stable = None;
            self.backoff.reset();
        }
        if due(self.deadlines.liveness, now) {
            self.declare_dead(now);
        }
        if due(self.deadlines.ping, now) {
            self.send_ping(now);
            self.deadlines.ping = Some(now + self.cfg.ping_interval);
        }
        for id in self.requests.expired(now) {
            self.outputs.push_back(Output::RequestDone {
                id,
                result: Err(RequestError::Timeout),
            });
        }
    }

    /// The browser went online: connect now if the core was waiting for it.
    pub fn handle_online(&mut self, now: Instant) {
        self.online = true;
        if self.state == ConnectionState::Offline && self.wanted {
            self.backoff.reset();
            self.start_attempt(now);
        }
    }

    /// The browser went offline: no retry loop until it is back. An open socket is kept while
    /// it still works (the `offline` event has false alarms), but its liveness is checked now.
    pub fn handle_offline(&mut self, now: Instant) {
        self.online = false;
        match self.state {
            ConnectionState::Connecting | ConnectionState::Reconnecting { .. } => {
                self.drop_socket(CloseCode::NORMAL, "offline");
                self.deadlines.retry = None;
                self.set_state(ConnectionState::Offline);
            }
            ConnectionState::Open => self.check_liveness(now),
            _ => {}
        }
    }

    /// The page became visible or hidden.
    pub fn handle_visibility(&mut self, visible: bool, now: Instant) {
        if !visible {
            return;
        }
        match self.state {
            ConnectionState::Reconnecting { .. } => self.start_attempt(now),
            ConnectionState::Open if self.silent_for_a_ping_interval(now) => {
                self.check_liveness(now)
            }
            _ => {}
        }
    }

    /// `pageshow`; `persisted` means the page came back from the back/forward cache.
    pub fn handle_pageshow(&mut self, persisted: bool, now: Instant) {
        if persisted {
            self.on_wake(now);
        }
    }

    // ---- internals -----------------------------------------------------------------------

    fn has_work(&self) -> bool {
        self.topics.any_held() || !self.outbox.is_empty() || !self.requests.is_empty()
    }

    fn silent_for_a_ping_interval(&self, now: Instant) -> bool {
        self.last_frame_at
            .is_none_or(|t| now - t >= self.cfg.ping_interval)
    }

    fn set_state(&mut self, to: ConnectionState) {
        if to != self.state {
            debug_assert!(self.state.can_become(to), "{:?} -> {to:?}", self.state);
            self.state = to;
            self.outputs.push_back(Output::StateChanged(to));
        }
    }

    fn schedule_flush(&mut self) {
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            self.outputs.push_back(Output::ScheduleFlush);
        }
    }

    fn wake_from_idle(&mut self, now: Instant) {
        if self.wanted && self.state == ConnectionState::Idle {
            self.attempt_or_wait_offline(now);
        }
    }

    fn attempt_or_wait_offline(&mut self, now: Instant) {
        if self.online {
            self.start_attempt(now);
        } else {
            self.set_state(ConnectionState::Offline);
        }
    }

    fn start_attempt(&mut self, now: Instant) {
        self.drop_socket(CloseCode::NORMAL, "replaced");
        self.sockets_opened += 1;
        let id = SocketId(self.sockets_opened);
        let token = (self.cfg.token)();
        let url = url_with_token(&self.cfg.url, token.as_deref());
        self.socket = Some(Socket {
            id,
            opened_at: None,
        });
        self.deadlines.retry = None;
        self.deadlines.connect = Some(now + self.cfg.connect_timeout);
        self.outputs
            .push_back(Output::OpenSocket { socket: id, url });
        self.set_state(ConnectionState::Connecting);
    }

    fn schedule_retry(&mut self, now: Instant) {
        if !self.online {
            self.set_state(ConnectionState::Offline);
            return;
        }
        let retry_at = now + self.backoff.next_delay(&mut self.rng);
        self.deadlines.retry = Some(retry_at);
        self.set_state(ConnectionState::Reconnecting {
            attempt: self.backoff.attempt(),
            retry_at,
        });
    }

    /// Closes the current socket, if any, and forgets it: its later events are ignored.
    fn drop_socket(&mut self, code: CloseCode, reason: &'static str) {
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
        self.deadlines.clear_socket_timers();
        self.topics.reset_server_view();
        for id in self.requests.lost_with(socket) {
            self.outputs.push_back(Output::RequestDone {
                id,
                result: Err(RequestError::Disconnected),
            });
        }
    }

    fn on_wake(&mut self, now: Instant) {
        match self.state {
            ConnectionState::Open => self.check_liveness(now),
            ConnectionState::Reconnecting { .. } => self.deadlines.retry = Some(now),
            _ => {}
        }
    }

    /// Pings now and expects some frame within the pong timeout.
    fn check_liveness(&mut self, now: Instant) {
        if self.state.is_open() {
            self.send_ping(now);
            self.deadlines.ping = Some(now + self.cfg.ping_interval);
            self.deadlines.liveness = Some(now + self.cfg.pong_timeout);
        }
    }

    fn declare_dead(&mut self, now: Instant) {
        let silent_ms = self.last_frame_at.map_or(0, |t| (now - t).0);
        self.counters.dead_connections += 1;
        self.outputs
            .push_back(Output::Error(ClientError::DeadConnection { silent_ms }));
        self.drop_socket(CloseCode::CLIENT_DEAD_CONNECTION, "heartbeat timeout");
        self.attempt_or_wait_offline(now);
    }

    fn send_ping(&mut self, now: Instant) {
        self.next_ping_id += 1;
        let frame = ClientFrame::new(ClientMessage::Ping(Timestamp { timestamp: now.0 }))
            .with_req_id(format!("p{}", self.next_ping_id))
            .with_ts(now.0);
        self.write(frame.encode());
    }

    fn submit(
        &mut self,
        frame: ClientFrame,
        request: Option<RequestId>,
        now: Instant,
    ) -> Result<(), SendError> {
        if self.state == ConnectionState::Closed {
            return Err(SendError::Closed);
        }
        let text = frame.with_ts(now.0).encode();
        if text.len() > self.cfg.max_frame_bytes {
            return Err(SendError::TooLarge(text.len()));
        }
        match self.current_open_socket() {
            Some(socket) => {
                // Subscriptions made earlier in this tick go first, so order is preserved.
                self.flush_topics();
                if let Some(id) = request {
                    self.requests.mark_sent(id, socket);
                }
                self.write(text);
            }
            None => {
                self.outbox.push(Queued { text, request })?;
                self.wake_from_idle(now);
            }
        }
        Ok(())
    }

    fn current_open_socket(&self) -> Option<SocketId> {
        self.socket
            .as_ref()
            .filter(|s| s.opened_at.is_some())
            .map(|s| s.id)
    }

    fn write(&mut self, text: String) {
        let Some(socket) = self.current_open_socket() else {
            return;
        };
        self.counters.frames_out += 1;
        self.counters.bytes_out += text.len() as u64;
        self.outputs.push_back(Output::Send { socket, text });
    }

    fn next_message_id(&mut self) -> String {
        self.next_message_id += 1;
        format!("s{}", self.next_message_id)
    }

    /// Sends what changed in the topic table since the last flush: at most one `unsubscribe`,
    /// and one `subscribe` (split only if it would exceed the frame limit).
    fn flush_topics(&mut self) {
        if self.current_open_socket().is_none() || !self.topics.is_dirty() {
            return;
        }
        let changes = self.topics.take_changes();
        if !changes.unsubscribe.is_empty() {
            let message_id = self.next_message_id();
            let topics = changes.unsubscribe.iter().map(Topic::to_string).collect();
            self.write(
                ClientFrame::new(ClientMessage::Unsubscribe(Unsubscribe {
                    topics,
                    message_id,
                }))
                .encode(),
            );
        }
        for chunk in split_by_size(changes.subscribe, self.cfg.max_frame_bytes) {
            let message_id = self.next_message_id();
            let mut since = BTreeMap::new();
            let mut topics = Vec::with_capacity(chunk.len());
            for (topic, last) in chunk {
                let name = topic.to_string();
                if let Some(seq) = last {
                    since.insert(name.clone(), seq);
                }
                topics.push(name);
            }
            let since = (!since.is_empty()).then_some(since);
            self.write(
                ClientFrame::new(ClientMessage::Subscribe(Subscribe {
                    topics,
                    message_id,
                    since,
                }))
                .encode(),
            );
        }
    }

    fn route(&mut self, frame: Rc<ServerFrame>, now: Instant) {
        let answered_request = self.finish_request(&frame);
        match &frame.msg {
            ServerMessage::Ping(_) => self.write(
                ClientFrame::new(ClientMessage::Pong(Empty {}))
                    .with_ts(now.0)
                    .encode(),
            ),
            ServerMessage::Pong(ts) => {
                if frame.req_id.as_deref().is_some_and(|r| r.starts_with('p')) {
                    self.rtt
                        .record(now - Instant(ts.timestamp), self.cfg.rtt_ewma_alpha);
                }
            }
            ServerMessage::SubscribeAck(ack) => {
                for name in &ack.topics {
                    let Ok(topic) = name.parse::<Topic>() else {
                        continue;
                    };
                    if let Some(seq) = self.topics.acknowledge(&topic, ack.seqs.get(name).copied())
                    {
                        let resync =
                            ServerFrame::new(ServerMessage::ResyncRequired(ResyncRequired {
                                topic: name.clone(),
                                seq,
                            }))
                            .with_topic(name.clone())
                            .with_ts(now.0);
                        self.deliver(topic, Rc::new(resync));
                    }
                }
            }
            ServerMessage::SubscribeError(err) => {
                if let Ok(topic) = err.topic.parse::<Topic>() {
                    self.topics.fail(&topic, &err.error_code, &err.error);
                    if self.topics.refs(&topic) > 0 {
                        self.deliver(topic, frame.clone());
                    }
                }
            }
            ServerMessage::UnsubscribeSuccess(_) => {}
            ServerMessage::Error(e) if !answered_request => {
                self.outputs.push_back(Output::Error(ClientError::Server {
                    error: e.error.clone(),
                    details: e.details.clone(),
                }));
            }
            ServerMessage::ResyncRequired(r) => {
                let name = frame.topic.as_deref().unwrap_or(&r.topic);
                if let Ok(topic) = name.parse::<Topic>() {
                    if self.topics.refs(&topic) > 0 {
                        self.topics.resync(&topic, r.seq);
                        self.deliver(topic, frame.clone());
                    }
                }
            }
            _ => self.route_event(frame),
        }
    }

    /// Resolves the request this frame answers, if any. Returns true if it did.
    fn finish_request(&mut self, frame: &Rc<ServerFrame>) -> bool {
        let Some(id) = frame.req_id.as_deref().and_then(Requests::parse_wire_id) else {
            return false;
        };
        if !self.requests.finish(id) {
            return false;
        }
        let result = match &frame.msg {
            ServerMessage::Error(e) => Err(RequestError::Server {
                error: e.error.clone(),
                details: e.details.clone(),
            }),
            _ => Ok(frame.clone()),
        };
        self.outputs.push_back(Output::RequestDone { id, result });
        true
    }

    fn route_event(&mut self, frame: Rc<ServerFrame>) {
        let Some(topic) = frame.topic.as_deref().and_then(|t| t.parse::<Topic>().ok()) else {
            self.counters.events_unrouted += 1;
            return;
        };
        let previous = self.topics.last_seq(&topic);
        match self.topics.admit(&topic, frame.seq) {
            SeqVerdict::Deliver => {
                if let (Some(prev), Some(seq)) = (previous, frame.seq) {
                    if seq > prev + 1 {
                        self.counters.seq_gaps += 1;
                    }
                }
                self.deliver(topic, frame);
            }
            SeqVerdict::Duplicate => self.counters.duplicates_dropped += 1,
            SeqVerdict::NotHeld => self.counters.events_unrouted += 1,
        }
    }

    fn deliver(&mut self, topic: Topic, frame: Rc<ServerFrame>) {
        self.counters.events_delivered += 1;
        self.outputs
            .push_back(Output::Deliver(TopicEvent { topic, frame }));
    }
}

fn due(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_some_and(|d| d <= now)
}

/// Splits topics into chunks whose `subscribe` frame stays under `max_bytes`. The estimate is
/// conservative: each topic costs its name twice (list and `since`) plus punctuation and digits.
fn split_by_size(
    topics: Vec<(Topic, Option<u64>)>,
    max_bytes: usize,
) -> Vec<Vec<(Topic, Option<u64>)>> {
    const ENVELOPE: usize = 160;
    let budget = max_bytes.saturating_sub(ENVELOPE).max(1);
    let mut chunks = Vec::new();
    let mut chunk = Vec::new();
    let mut size = 0;
    for (topic, seq) in topics {
        let name_len = topic.to_string().len();
        let cost = name_len + 3 + seq.map_or(0, |_| name_len + 24);
        if !chunk.is_empty() && size + cost > budget {
            chunks.push(std::mem::take(&mut chunk));
            size = 0;
        }
        size += cost;
        chunk.push((topic, seq));
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
}
