//! A fake driver for native tests: a manual clock, a recorded log of I/O, one timer and one
//! pending flush. The "server" side is played by the test through `server_sends`. Every frame
//! the client sends in any test is checked against the origin's contract
//! (`schema/envelope-v1.json`, `$defs/client`): a non-conforming frame fails the test.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::OnceLock;

use tether_client::core::SocketId;
use tether_client::driver::{DriverHandle, Io};
use tether_client::protocol::control::Control;
use tether_client::protocol::control::Subscribe;
use tether_client::protocol::{CloseCode, Envelope, Topic};
use tether_client::{AppState, Subscription, TopicEvent, WsClientV2};
use tether_client::{Config, ConnectionState, Instant, Millis};

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
    /// How many times the client read the clock.
    clock_reads: Cell<u64>,
    calls: RefCell<Vec<Call>>,
    timer: Cell<Option<Instant>>,
    flush: Cell<bool>,
    /// The tab's storage of the resume record (feature `resume`).
    stored: RefCell<Option<String>>,
}

struct FakeIo(Rc<World>);

/// The contract's schema for client frames, compiled once per test binary.
pub fn client_schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| contract_validator("client"))
}

/// A validator for one direction (`client` or `server`) of `schema/envelope-v1.json`.
pub fn contract_validator(direction: &str) -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/envelope-v1.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the schema file"))
            .expect("the schema is JSON");
    schema["$ref"] = format!("#/$defs/{direction}").into();
    schema.as_object_mut().unwrap().remove("anyOf");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

/// Panics with the contract violations of `text`, if any.
pub fn assert_conforms(validator: &jsonschema::Validator, text: &str) {
    let value: serde_json::Value = serde_json::from_str(text).expect("a frame is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{text} breaks the contract: {errors:?}");
}

impl Io for FakeIo {
    fn now(&self) -> Instant {
        self.0.clock_reads.set(self.0.clock_reads.get() + 1);
        Instant(self.0.now.get())
    }
    fn open(&self, socket: SocketId, url: &str, _: &DriverHandle) {
        self.0
            .calls
            .borrow_mut()
            .push(Call::Open(socket, url.to_owned()));
    }
    fn send(&self, socket: SocketId, text: &str) {
        assert_conforms(client_schema(), text);
        self.0
            .calls
            .borrow_mut()
            .push(Call::Send(socket, text.to_owned()));
    }
    fn close(&self, socket: SocketId, code: CloseCode, _reason: &str) {
        self.0.calls.borrow_mut().push(Call::Close(socket, code.0));
    }
    fn set_timer(&self, at: Option<Instant>, _: &DriverHandle) {
        self.0.timer.set(at);
    }
    fn schedule_flush(&self, _: &DriverHandle) {
        self.0.flush.set(true);
    }
    #[cfg(feature = "resume")]
    fn load_resume(&self) -> Option<String> {
        self.0.stored.borrow().clone()
    }
    #[cfg(feature = "resume")]
    fn store_resume(&self, record: &str) {
        *self.0.stored.borrow_mut() = Some(record.to_owned());
    }
}

pub const T0: u64 = 1_000_000;

/// A client on a fake driver, with its topic manager and a record of states.
pub struct Harness {
    world: Rc<World>,
    pub app: Rc<AppState>,
    pub driver: DriverHandle,
    pub states: Rc<RefCell<Vec<ConnectionState>>>,
    _state_guard: tether_client::ListenerGuard,
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
    c.queue_timeout = Millis(4_000);
    c.wake_threshold = Millis(2_000);
    c
}

impl Harness {
    pub fn new(config: Config) -> Harness {
        Harness::reloaded(config, T0, None)
    }

    /// A client started at `now` in a tab whose storage holds `stored` (a page reloaded).
    pub fn reloaded(config: Config, now: u64, stored: Option<String>) -> Harness {
        let world = Rc::new(World::default());
        world.now.set(now);
        *world.stored.borrow_mut() = stored;
        let (app, driver) = AppState::with_io(config, 42, Box::new(FakeIo(world.clone())));
        let states = Rc::new(RefCell::new(Vec::new()));
        let sink = states.clone();
        let guard = app
            .client
            .on_state_change(move |s| sink.borrow_mut().push(*s));
        Harness {
            world,
            app,
            driver,
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

    /// How many times the client has read the clock.
    pub fn clock_reads(&self) -> u64 {
        self.world.clock_reads.get()
    }

    /// Runs what the browser would run at the end of the tick.
    pub fn end_tick(&self) {
        if self.world.flush.replace(false) {
            self.driver.handle_flush();
        }
    }

    /// Moves the clock forward, firing the timer each time it is due, on time.
    pub fn advance(&self, ms: u64) {
        let end = self.now() + ms;
        while let Some(at) = self.world.timer.get().filter(|at| at.0 <= end) {
            self.world.now.set(at.0.max(self.now()));
            self.world.timer.set(None);
            self.driver.handle_timeout();
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
            self.server_sends(r#"{"v":1,"type":"ping","topic":"system","ts":0,"data":{}}"#);
        }
        self.advance(end - self.now());
    }

    /// Moves the clock forward without firing timers (the machine slept), then fires the timer
    /// once, late, as a browser does on wake.
    pub fn sleep(&self, ms: u64) {
        self.world.now.set(self.now() + ms);
        if self.world.timer.take().is_some() {
            self.driver.handle_timeout();
            self.end_tick();
        }
    }

    /// What the tab's storage holds (feature `resume`).
    pub fn stored(&self) -> Option<String> {
        self.world.stored.borrow().clone()
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
    pub fn take_sent(&mut self) -> Vec<Envelope> {
        self.take_new_calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Send(_, text) => {
                    Some(Envelope::decode(&text).expect("client sent a valid frame"))
                }
                _ => None,
            })
            .collect()
    }

    /// The frames sent since the last `take_new_calls`, without pings and pongs.
    pub fn take_sent_app(&mut self) -> Vec<Envelope> {
        self.take_sent()
            .into_iter()
            .filter(|f| f.kind != "ping" && f.kind != "pong")
            .collect()
    }

    /// The kinds of the frames sent since the last `take_new_calls`.
    pub fn take_sent_kinds(&mut self) -> Vec<String> {
        self.take_sent().into_iter().map(|f| f.kind).collect()
    }

    /// Every frame sent on any socket so far, as text.
    pub fn all_sent_texts(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Send(_, t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// The sockets opened, in order.
    pub fn opened_sockets(&self) -> Vec<SocketId> {
        self.calls()
            .iter()
            .filter_map(|c| match c {
                Call::Open(s, _) => Some(*s),
                _ => None,
            })
            .collect()
    }

    pub fn last_url(&self) -> String {
        self.calls()
            .iter()
            .rev()
            .find_map(|c| match c {
                Call::Open(_, u) => Some(u.clone()),
                _ => None,
            })
            .unwrap()
    }

    pub fn socket(&self) -> SocketId {
        *self.opened_sockets().last().expect("a socket was opened")
    }

    /// The browser reports the latest socket open; the server has said nothing yet, so the
    /// socket is not proved.
    pub fn open_raw(&self) {
        self.driver.handle_socket_opened(self.socket());
        self.end_tick();
    }

    /// The latest socket opens and the server answers like tether's stub: it acknowledges the
    /// `subscribe`s sent on open (each topic at its `since`, or 0) and answers the ping.
    pub fn open(&self) {
        let before = self.world.calls.borrow().len();
        self.open_raw();
        let sent: Vec<Envelope> = self.world.calls.borrow()[before..]
            .iter()
            .filter_map(|c| match c {
                Call::Send(_, t) => Envelope::decode(t).ok(),
                _ => None,
            })
            .collect();
        for frame in &sent {
            if let Some(Ok(Control::Subscribe(s))) = Control::parse(frame) {
                let seqs: Vec<(String, u64)> = s
                    .topics
                    .iter()
                    .map(|t| {
                        let since = s.since.as_ref().and_then(|m| m.get(t)).copied();
                        (t.to_string(), since.unwrap_or(0))
                    })
                    .collect();
                let seqs: Vec<(&str, u64)> = seqs.iter().map(|(t, n)| (t.as_str(), *n)).collect();
                self.ack(s.message_id.as_deref().unwrap_or(""), &seqs);
            }
        }
        if let Some(ping) = sent.iter().find(|f| f.kind == "ping") {
            self.server_sends(&pong_for(ping.req_id.as_deref().unwrap_or(""), 0));
        }
    }

    /// `connect()` and open the socket.
    pub fn connect_and_open(&mut self) {
        self.app.client.connect();
        self.open();
    }

    /// The server closes the latest socket.
    pub fn server_closes(&self, code: u16) {
        self.driver
            .handle_socket_closed(self.socket(), CloseCode(code), "test");
        self.end_tick();
    }

    /// The server sends a frame on the latest socket.
    pub fn server_sends(&self, json: &str) {
        self.driver.handle_socket_message(self.socket(), json);
        self.end_tick();
    }

    /// The server acknowledges topics of a `subscribe` with the given seqs.
    pub fn ack(&self, message_id: &str, topics: &[(&str, u64)]) {
        let names: Vec<_> = topics.iter().map(|(t, _)| *t).collect();
        let seqs: serde_json::Map<String, serde_json::Value> = topics
            .iter()
            .map(|(t, s)| (t.to_string(), (*s).into()))
            .collect();
        self.server_sends(
            &serde_json::json!({"v":1,"type":"subscribe_ack","topic":"system","ts":0,
                "data":{"message_id":message_id,"topics":names,"seqs":seqs}})
            .to_string(),
        );
    }

    /// The server publishes an `agent_updated` event with `seq` on `agent:{id}`.
    pub fn event(&self, agent: u64, seq: u64) {
        self.server_sends(&agent_event(agent, seq));
    }

    /// Subscribes a handler that records the seqs of the events it sees (not `Subscribed`).
    pub fn record(&self, topic: &str) -> (Subscription, Rc<RefCell<Vec<Option<u64>>>>) {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let sink = seen.clone();
        let sub = self.app.topics.subscribe(topic, move |e: &TopicEvent| {
            if let Some(m) = e.message() {
                sink.borrow_mut().push(m.seq)
            }
        });
        (sub, seen)
    }

    /// Subscribes a handler that records every event it gets, as a short string.
    pub fn record_all(&self, topic: &str) -> (Subscription, Rc<RefCell<Vec<String>>>) {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let sink = seen.clone();
        let sub = self.app.topics.subscribe(topic, move |e: &TopicEvent| {
            sink.borrow_mut().push(describe(e))
        });
        (sub, seen)
    }

    pub fn state(&self) -> ConnectionState {
        self.app.client.state()
    }
}

/// `subscribed@seq`, `message:kind@seq`, `resync@seq` or `refused:code`.
pub fn describe(e: &TopicEvent) -> String {
    let seq = |s: &Option<u64>| s.map_or("-".to_owned(), |s| s.to_string());
    match e {
        TopicEvent::Subscribed { seq: s, .. } => format!("subscribed@{}", seq(s)),
        TopicEvent::Message(m) => format!("{}@{}", m.kind(), seq(&m.seq)),
        TopicEvent::ResyncRequired { seq: s, .. } => format!("resync@{}", seq(s)),
        TopicEvent::Refused { code, .. } => format!("refused:{code}"),
    }
}

pub fn pong_for(req_id: &str, timestamp: u64) -> String {
    serde_json::json!({"v":1,"type":"pong","topic":"system","req_id":req_id,"ts":0,"data":{"timestamp":timestamp}}).to_string()
}

pub fn agent_event(agent: u64, seq: u64) -> String {
    serde_json::json!({"v":1,"type":"agent_updated","topic":format!("agent:{agent}"),"ts":0,"seq":seq,
        "data":{"id":agent,"owner_id":1,"name":"a","status":"running","created_at":0,"updated_at":0}})
    .to_string()
}

/// The topics, `since` and `message_id` of a subscribe frame.
pub fn subscribe_parts(frame: &Envelope) -> (Vec<String>, Option<BTreeMap<String, u64>>, String) {
    match Control::parse(frame) {
        Some(Ok(Control::Subscribe(Subscribe {
            topics,
            message_id,
            since,
        }))) => (
            topics.iter().map(Topic::to_string).collect(),
            since.map(|m| m.into_iter().map(|(t, s)| (t.to_string(), s)).collect()),
            message_id.unwrap_or_default(),
        ),
        other => panic!("expected subscribe, got {other:?}"),
    }
}

/// The first subscribe among `frames`.
pub fn first_subscribe(
    frames: &[Envelope],
) -> (Vec<String>, Option<BTreeMap<String, u64>>, String) {
    subscribe_parts(
        frames
            .iter()
            .find(|f| f.kind == "subscribe")
            .expect("a subscribe was sent"),
    )
}

pub fn topic(s: &str) -> Topic {
    Topic::from(s)
}

/// A `send_message` frame to thread 1.
pub fn chat(n: u64) -> Envelope {
    Envelope::new(
        "send_message",
        Topic::thread(1),
        &serde_json::json!({"thread_id": 1, "content": format!("m{n}")}),
    )
    .unwrap()
}

/// Polls a future once with a no-op waker (enough for futures completed by synchronous calls).
pub fn poll_once<F: std::future::Future>(fut: &mut std::pin::Pin<Box<F>>) -> Option<F::Output> {
    let waker = std::task::Waker::noop();
    match fut
        .as_mut()
        .poll(&mut std::task::Context::from_waker(waker))
    {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
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

impl Harness {
    /// Moves the clock forward without firing the timer (a hidden tab's throttled timers).
    pub fn sleep_without_timer(&self, ms: u64) {
        self.world.now.set(self.now() + ms);
    }
}
