//! A fake driver for native tests: a manual clock, a recorded log of I/O, one timer and one
//! pending flush. The "server" side is played by the test through `server_sends`.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tether::core::{Config, ConnectionState, Instant, Millis, SocketId, TopicEvent};
use tether::protocol::{ClientFrame, ClientMessage, Topic};
use tether::{AppState, Io, Subscription, WsClientV2};

/// One recorded I/O call.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    Open(SocketId, String),
    Send(SocketId, String),
    Close(SocketId, u16),
}

#[derive(Default)]
struct World {
    now: Cell<u64>,
    calls: RefCell<Vec<Call>>,
    timer: Cell<Option<Instant>>,
    flush: Cell<bool>,
}

struct FakeIo(Rc<World>);

impl Io for FakeIo {
    fn now(&self) -> Instant {
        Instant(self.0.now.get())
    }
    fn open(&self, socket: SocketId, url: &str) {
        self.0
            .calls
            .borrow_mut()
            .push(Call::Open(socket, url.to_owned()));
    }
    fn send(&self, socket: SocketId, text: &str) {
        self.0
            .calls
            .borrow_mut()
            .push(Call::Send(socket, text.to_owned()));
    }
    fn close(&self, socket: SocketId, code: u16, _reason: &str) {
        self.0.calls.borrow_mut().push(Call::Close(socket, code));
    }
    fn set_timer(&self, at: Option<Instant>) {
        self.0.timer.set(at);
    }
    fn schedule_flush(&self) {
        self.0.flush.set(true);
    }
}

pub const T0: u64 = 1_000_000;

/// A client on a fake driver, with its topic manager and a record of states.
pub struct Harness {
    world: Rc<World>,
    pub app: Rc<AppState>,
    pub states: Rc<RefCell<Vec<ConnectionState>>>,
    _state_guard: tether::ListenerGuard,
    read: usize,
}

/// Short, round settings used by most tests.
pub fn config() -> Config {
    let mut c = Config::new("ws://stub/api/ws/v2");
    c.ping_interval = Millis(1_000);
    c.pong_timeout = Millis(500);
    c.stable_after = Millis(2_000);
    c.connect_timeout = Millis(3_000);
    c.request_timeout = Millis(1_500);
    c.wake_threshold = Millis(2_000);
    c.ping_on_open = false; // tests count frames; `heartbeat.rs` covers the ping on open
    c
}

impl Harness {
    pub fn new(config: Config) -> Harness {
        let world = Rc::new(World::default());
        world.now.set(T0);
        let io_world = world.clone();
        let client = WsClientV2::with_io(config, 42, move |_| Box::new(FakeIo(io_world)));
        let app = AppState::new(client);
        let states = Rc::new(RefCell::new(Vec::new()));
        let sink = states.clone();
        let guard = app
            .client
            .on_state_change(move |s| sink.borrow_mut().push(*s));
        Harness {
            world,
            app,
            states,
            _state_guard: guard,
            read: 0,
        }
    }

    pub fn client(&self) -> &WsClientV2 {
        &self.app.client
    }

    pub fn now(&self) -> u64 {
        self.world.now.get()
    }

    /// Runs what the browser would run at the end of the tick.
    pub fn end_tick(&self) {
        if self.world.flush.replace(false) {
            self.app.client.flush();
        }
    }

    /// Moves the clock forward, firing the timer each time it is due, on time.
    pub fn advance(&self, ms: u64) {
        let end = self.now() + ms;
        while let Some(at) = self.world.timer.get().filter(|at| at.0 <= end) {
            self.world.now.set(at.0.max(self.now()));
            self.world.timer.set(None);
            self.app.client.handle_timeout();
            self.end_tick();
        }
        self.world.now.set(end);
    }

    /// While `Reconnecting`, moves the clock to the retry so that a new socket is opening.
    pub fn until_retry(&self) {
        if let ConnectionState::Reconnecting { retry_at, .. } = self.state() {
            self.advance(retry_at.0 - self.now());
        }
        assert_eq!(self.state(), ConnectionState::Connecting);
    }

    /// Moves the clock forward while the server pings every 400 ms, keeping the socket alive.
    pub fn advance_alive(&self, ms: u64) {
        let end = self.now() + ms;
        while self.now() + 400 <= end {
            self.advance(400);
            self.server_sends(
                r#"{"v":1,"type":"ping","topic":null,"req_id":null,"ts":0,"data":{}}"#,
            );
        }
        self.advance(end - self.now());
    }

    /// Moves the clock forward without firing timers (the machine slept), then fires the timer
    /// once, late, as a browser does on wake.
    pub fn sleep(&self, ms: u64) {
        self.world.now.set(self.now() + ms);
        if self.world.timer.take().is_some() {
            self.app.client.handle_timeout();
            self.end_tick();
        }
    }

    pub fn timer(&self) -> Option<Instant> {
        self.world.timer.get()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.world.calls.borrow().clone()
    }

    /// The calls recorded since the last `take_new_calls`.
    pub fn take_new_calls(&mut self) -> Vec<Call> {
        let calls = self.world.calls.borrow();
        let new = calls[self.read..].to_vec();
        self.read = calls.len();
        new
    }

    /// The frames sent since the last `take_new_calls`, decoded.
    pub fn take_sent(&mut self) -> Vec<ClientFrame> {
        self.take_new_calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Send(_, text) => {
                    Some(ClientFrame::decode(&text).expect("client sent a valid frame"))
                }
                _ => None,
            })
            .collect()
    }

    /// The sockets opened and not closed by the client, in order.
    pub fn opened_sockets(&self) -> Vec<SocketId> {
        self.calls()
            .iter()
            .filter_map(|c| {
                if let Call::Open(s, _) = c {
                    Some(*s)
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn last_url(&self) -> String {
        self.calls()
            .iter()
            .rev()
            .find_map(|c| {
                if let Call::Open(_, u) = c {
                    Some(u.clone())
                } else {
                    None
                }
            })
            .unwrap()
    }

    pub fn socket(&self) -> SocketId {
        *self.opened_sockets().last().expect("a socket was opened")
    }

    /// The browser reports the latest socket open.
    pub fn open(&self) {
        self.app.client.handle_socket_opened(self.socket());
        self.end_tick();
    }

    /// `connect()` and open the socket.
    pub fn connect_and_open(&mut self) {
        self.app.client.connect();
        self.open();
    }

    /// The server closes the latest socket.
    pub fn server_closes(&self, code: u16) {
        self.app
            .client
            .handle_socket_closed(self.socket(), code, "test");
        self.end_tick();
    }

    /// The server sends a frame on the latest socket.
    pub fn server_sends(&self, json: &str) {
        self.app.client.handle_socket_message(self.socket(), json);
        self.end_tick();
    }

    /// The server acknowledges every topic of the latest `subscribe` with the given seqs.
    pub fn ack(&self, message_id: &str, topics: &[(&str, u64)]) {
        let names: Vec<_> = topics.iter().map(|(t, _)| *t).collect();
        let seqs: serde_json::Map<String, serde_json::Value> = topics
            .iter()
            .map(|(t, s)| (t.to_string(), (*s).into()))
            .collect();
        self.server_sends(
            &serde_json::json!({"v":1,"type":"subscribe_ack","topic":null,"req_id":null,"ts":0,
                "data":{"message_id":message_id,"topics":names,"seqs":seqs}})
            .to_string(),
        );
    }

    /// The server publishes an `agent_updated` event with `seq` on `agent:{id}`.
    pub fn event(&self, agent: u64, seq: u64) {
        self.server_sends(&agent_event(agent, seq));
    }

    /// Subscribes a handler that records the seqs it sees.
    pub fn record(&self, topic: &str) -> (Subscription, Rc<RefCell<Vec<Option<u64>>>>) {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let sink = seen.clone();
        let sub = self
            .app
            .topics
            .subscribe(topic.parse().unwrap(), move |e: &TopicEvent| {
                sink.borrow_mut().push(e.frame.seq)
            });
        (sub, seen)
    }

    pub fn state(&self) -> ConnectionState {
        self.app.client.state()
    }
}

pub fn agent_event(agent: u64, seq: u64) -> String {
    serde_json::json!({"v":1,"type":"agent_updated","topic":format!("agent:{agent}"),"req_id":null,"ts":0,"seq":seq,
        "data":{"id":agent,"owner_id":1,"name":"a","status":"running","created_at":0,"updated_at":0}})
    .to_string()
}

/// The topics and `since` of a subscribe frame.
pub fn subscribe_parts(
    frame: &ClientFrame,
) -> (
    Vec<String>,
    Option<std::collections::BTreeMap<String, u64>>,
    String,
) {
    match &frame.msg {
        ClientMessage::Subscribe(s) => (s.topics.clone(), s.since.clone(), s.message_id.clone()),
        other => panic!("expected subscribe, got {other:?}"),
    }
}

pub fn topic(s: &str) -> Topic {
    s.parse().unwrap()
}

/// The proptest configuration of this crate's property tests: `default_cases` cases unless
/// `PROPTEST_CASES` says otherwise (the `chaos` command runs a longer fuzz), and failing cases
/// saved beside the test file (`<test>.proptest-regressions`, to commit) and re-run first.
/// Proptest's default location looks for a `lib.rs` above the file, which `tests/` has not.
pub fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_cases),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}
