//! The sans-IO connection: one state machine that owns the socket's lifecycle, heartbeats,
//! subscriptions, the outbox and requests. Nothing here reads a clock, touches a socket or
//! calls app code; every input carries the time now.
//!
//! Its methods come in four groups, as in quinn-proto:
//! - **getters**: [`Connection::state`], [`Connection::metrics`], topic statuses;
//! - **driver inputs**, `handle_*`: a socket opened, closed, was refused, delivered a frame;
//!   the timer fired; the end of a tick; online, offline, visibility, pageshow;
//! - **app commands**: `handle_connect`, `handle_reconnect`, `handle_close`, `subscribe`,
//!   `unsubscribe`, `send`, `request`;
//! - **outputs**: after any input, call [`Connection::poll_output`] until it returns `None`,
//!   then [`Connection::poll_timeout`] and arm the single timer for it.
//!
//! The parts live in sibling modules: `lifecycle` (attempts, proof, the reconnect decision
//! applied), `heartbeat` (pings, liveness, waking up), `subscriptions` (flushing topic
//! changes, acknowledgements and the barrier for servers without them), `routing` (incoming
//! frames; `frame_text`, a binary frame's bytes as text) and `sending` (the outbox and
//! requests).

mod frame_text;
mod heartbeat;
mod lifecycle;
#[cfg(feature = "resume")]
mod resume;
mod routing;
mod sending;
mod subscriptions;

use std::collections::VecDeque;
use std::rc::Rc;

use super::backoff::Backoff;
use super::config::Config;
use super::event::{Output, SocketId, TopicEvent};
use super::metrics::{Counters, Metrics, Replay, Rtt};
use super::outbox::Outbox;
use super::requests::Requests;
#[cfg(feature = "resume")]
use super::resume::Resume;
use super::rng::Rng;
use super::state::ConnectionState;
use super::time::Instant;
use super::timers::{Timer, TimerTable};
use super::topics::{TopicStatus, TopicTable};
use crate::protocol::{Frame, Topic};

use subscriptions::Unconfirmed;

/// The socket the core currently uses.
#[derive(Debug)]
struct Socket {
    id: SocketId,
    /// When the driver reported it open.
    opened_at: Option<Instant>,
    /// When its first frame arrived: only a proved socket shows `Open` and carries app frames.
    proven_at: Option<Instant>,
    /// Whether this server acknowledges subscriptions, once known.
    acks: Option<bool>,
    /// Pings sent and not yet answered: id and time sent (the last few only), oldest first.
    pings: Vec<(u64, Instant)>,
    /// Subscribes sent and neither acknowledged nor passed by an answered ping.
    unconfirmed: Vec<Unconfirmed>,
    /// The `message_id`s of batched subscribes whose topics were subscribed again one by one
    /// after a refusal named them (the last few only).
    split: Vec<String>,
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
    ever_proven: bool,
    server_acks: Option<bool>,
    backoff: Backoff,
    timers: TimerTable,
    armed: Option<Instant>,
    last_frame_at: Option<Instant>,
    /// Frames arrived after `last_frame_at` whose time was not read (see `heartbeat`).
    untimed_frames: bool,
    /// The next frame is timed: a ping went out since the last timed frame.
    time_next_frame: bool,
    topics: TopicTable,
    outbox: Outbox,
    requests: Requests,
    rtt: Rtt,
    counters: Counters,
    next_message_id: u64,
    next_ping_id: u64,
    flush_scheduled: bool,
    outputs: VecDeque<Output>,
    /// The last event's frame, whose allocation the next event's reuses if nothing else kept it.
    last_frame: Option<Rc<Frame>>,
    #[cfg(feature = "resume")]
    resume: Option<Resume>,
}

impl Connection {
    /// A connection in `Idle`. `seed` feeds the backoff jitter. The core never calls
    /// `cfg.token`: the shell does, outside the core.
    pub fn new(cfg: Config, seed: u64) -> Connection {
        Connection {
            #[cfg(feature = "resume")]
            resume: cfg.resume.clone().map(Resume::new),
            backoff: Backoff::new(cfg.backoff),
            outbox: Outbox::new(cfg.outbox_capacity),
            cfg,
            rng: Rng::new(seed),
            state: ConnectionState::Idle,
            wanted: false,
            online: true,
            socket: None,
            sockets_opened: 0,
            ever_proven: false,
            server_acks: None,
            timers: TimerTable::default(),
            armed: None,
            last_frame_at: None,
            untimed_frames: false,
            time_next_frame: false,
            topics: TopicTable::default(),
            requests: Requests::default(),
            rtt: Rtt::default(),
            counters: Counters::default(),
            next_message_id: 0,
            next_ping_id: 0,
            flush_scheduled: false,
            outputs: VecDeque::new(),
            last_frame: None,
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
        self.sync_queue_timers();
        self.armed = self.timers.next();
        #[cfg(feature = "resume")]
        if let Some(due) = self.persist_due() {
            self.armed = Some(self.armed.map_or(due, |at| at.min(due)));
        }
        self.armed
    }

    // ---- getters -------------------------------------------------------------------------

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

    /// The history epoch the server last gave for a topic.
    pub fn topic_epoch(&self, topic: &Topic) -> Option<&str> {
        self.topics.epoch(topic)
    }

    /// The server's `seq` for a topic in its latest acknowledgement.
    pub fn topic_server_seq(&self, topic: &Topic) -> Option<u64> {
        self.topics.server_seq(topic)
    }

    /// Whether the server replays missed events, as its acknowledgements showed.
    pub fn replay(&self) -> Replay {
        match self.server_acks {
            None => Replay::Unknown,
            Some(true) => Replay::Offered,
            Some(false) => Replay::NotOffered,
        }
    }

    /// The round-trip time, and the counters (without the counts by topic of [`Self::metrics`]).
    pub fn rtt_and_counters(&self) -> (Rtt, Counters) {
        (self.rtt, self.counters.clone())
    }

    /// A snapshot of the counters.
    pub fn metrics(&self) -> Metrics {
        Metrics {
            state: self.state,
            rtt: self.rtt,
            counters: self.counters.clone(),
            connected_since: self.socket.as_ref().and_then(|s| s.proven_at),
            subscriptions: self.topics.counts(),
            outbox_len: self.outbox.len(),
            pending_requests: self.requests.len(),
            replay: self.replay(),
            #[cfg(feature = "resume")]
            resume: self.resume_counters(),
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

    // ---- app commands: subscriptions -------------------------------------------------------

    /// One more holder of `topic`. The wire `subscribe` goes out at the next flush. A holder
    /// added to a topic that is already active is told so at once (`Subscribed`).
    pub fn subscribe(&mut self, topic: &Topic, now: Instant) {
        if self.topics.acquire(topic) {
            #[cfg(feature = "resume")]
            self.resume_start(topic, now);
            self.schedule_flush();
            self.work_arrived(now);
        }
        if self.topics.status(topic) == Some(&TopicStatus::Active) {
            let seq = self.topics.last_seq(topic);
            self.outputs.push_back(Output::Deliver(
                TopicEvent::Subscribed {
                    topic: topic.clone(),
                    seq,
                },
                None,
            ));
        }
    }

    /// One more holder of `topic` that needs the events after `since`: held topics whose last
    /// `seq` is later are subscribed again from `since` (the server replays; every holder sees
    /// the replayed events again, so a multiplexer filters them per holder).
    pub fn subscribe_from(&mut self, topic: &Topic, since: Option<u64>, now: Instant) {
        self.subscribe(topic, now);
        if let Some(since) = since {
            if self.topics.rewind(topic, since) {
                self.schedule_flush();
            }
        }
    }

    /// One holder fewer. The wire `unsubscribe` goes out at the next flush if it was the last.
    pub fn unsubscribe(&mut self, topic: &Topic) {
        if self.topics.release(topic) {
            self.schedule_flush();
        }
    }

    /// End of tick: sends the coalesced subscription changes, if a socket is open.
    pub fn handle_flush(&mut self, now: Instant) {
        self.flush_scheduled = false;
        self.flush_topics(now);
    }

    // ---- shared helpers ------------------------------------------------------------------

    fn has_work(&self) -> bool {
        self.topics.any_held() || !self.outbox.is_empty() || !self.requests.is_empty()
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

    /// The socket, if it is open (frames may be written).
    fn open_socket(&self) -> Option<SocketId> {
        self.socket
            .as_ref()
            .filter(|s| s.opened_at.is_some())
            .map(|s| s.id)
    }

    /// The socket, if it has proved itself (app frames may be written).
    fn proven_socket(&self) -> Option<SocketId> {
        self.socket
            .as_ref()
            .filter(|s| s.proven_at.is_some())
            .map(|s| s.id)
    }

    /// Writes a frame on the open socket, if any.
    fn write(&mut self, text: String) {
        let Some(socket) = self.open_socket() else {
            return;
        };
        self.counters.frames_out += 1;
        self.counters.bytes_out += text.len() as u64;
        self.outputs.push_back(Output::Send { socket, text });
    }

    fn deliver(&mut self, event: TopicEvent) {
        self.deliver_at(event, None);
    }

    /// Delivers `event`, whose topic is at `index` in the topic table if known.
    fn deliver_at(&mut self, event: TopicEvent, index: Option<usize>) {
        match &event {
            TopicEvent::Message(_) => self.counters.events_delivered += 1,
            TopicEvent::ResyncRequired { .. } => self.counters.resyncs += 1,
            _ => {}
        }
        self.outputs.push_back(Output::Deliver(event, index));
    }

    /// Mirrors the request and outbox deadlines into the timer table.
    fn sync_queue_timers(&mut self) {
        self.timers
            .set_opt(Timer::Requests, self.requests.next_deadline());
        self.timers
            .set_opt(Timer::Outbox, self.outbox.next_deadline());
    }
}
