//! B1's dispatch path without the browser, for counting instructions: the client built for
//! wasm32 as the bench builds it, run by Node under callgrind (`tests/bench/instructions.sh`).
//! Chromium's timings swing by a third from run to run; an instruction count repeats closely,
//! so a change to the dispatch path can be judged before the bench command times it.
//!
//! The frames have the shape of the golden `fixtures/server/agent_updated.json` (B1's are
//! recorded from the stub, with other names, statuses and ids): an `agent_updated` with `seq`
//! on each of 100 topics in turn, as binary frames (what the stub sends a client that asks for
//! `binary=1`), handed to the driver as bytes already in wasm, so the copy out of JavaScript
//! (the floor, which the bench measures) is not counted. The handler decodes `data` into a
//! struct, as B1's does; the clock is the page's (`Date.now()`), as the browser driver's is.
//!
//! `prepare(n)` builds the client and `n` frames; `dispatch()` feeds them. The script counts a
//! run of both and a run of `prepare` alone, and reports the difference per event.
//!
//! Not a claim of the README: the bench command's timings are (BENCHMARKS.md).

#[cfg(target_arch = "wasm32")]
mod harness {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use serde::Deserialize;
    use tether_bench::PageIo;
    use tether_client::core::SocketId;
    use tether_client::driver::DriverHandle;
    use tether_client::{AppState, Config, Subscription, TopicEvent};
    use wasm_bindgen::prelude::*;

    const TOPICS: u64 = 100;

    /// The part of an agent the handler reads, as B1's does.
    #[derive(Deserialize)]
    struct Agent {
        name: String,
        status: String,
    }

    struct Prepared {
        app: Rc<AppState>,
        _subs: Vec<Subscription>,
        driver: DriverHandle,
        socket: SocketId,
        frames: Vec<Vec<u8>>,
        /// Events handled, and the characters their handlers read.
        seen: Rc<Cell<(usize, usize)>>,
    }

    thread_local! {
        static PREPARED: RefCell<Option<Prepared>> = const { RefCell::new(None) };
    }

    fn topic(i: u64) -> String {
        ["agent:", &(i + 1).to_string()].concat()
    }

    /// An `agent_updated` frame, the stub's shape, as bytes.
    fn event(i: u64, seq: u64) -> Vec<u8> {
        let id = i + 1;
        let ts = 1_767_225_600_000 + seq;
        let status = ["running", "idle", "error"][(seq % 3) as usize];
        [
            r#"{"v":1,"type":"agent_updated","topic":"agent:"#,
            &id.to_string(),
            r#"","ts":"#,
            &ts.to_string(),
            r#","seq":"#,
            &seq.to_string(),
            r#","data":{"id":"#,
            &id.to_string(),
            r#","owner_id":1,"name":"Researcher "#,
            &id.to_string(),
            r#"","status":""#,
            status,
            r#"","created_at":1767225000000,"updated_at":"#,
            &ts.to_string(),
            "}}",
        ]
        .concat()
        .into_bytes()
    }

    /// The ack of the client's `subscribe` (its `message_id`), every topic at `seq` 0.
    fn ack(message_id: &str) -> String {
        let seqs: Vec<String> = (0..TOPICS)
            .map(|i| [r#"""#, &topic(i), r#"":0"#].concat())
            .collect();
        let topics: Vec<String> = (0..TOPICS)
            .map(|i| [r#"""#, &topic(i), r#"""#].concat())
            .collect();
        [
            r#"{"v":1,"type":"subscribe_ack","topic":"system","ts":1767225600001,"data":{"message_id":""#,
            message_id,
            r#"","topics":["#,
            &topics.join(","),
            r#"],"seqs":{"#,
            &seqs.join(","),
            "}}}",
        ]
        .concat()
    }

    /// The `message_id` of the client's `subscribe`.
    fn message_id(sent: &[String]) -> String {
        let subscribe = sent
            .iter()
            .find(|s| s.contains(r#""type":"subscribe""#))
            .expect("the client subscribed on open");
        let value: serde_json::Value = serde_json::from_str(subscribe).expect("a JSON frame");
        value["data"]["message_id"]
            .as_str()
            .expect("a message id")
            .to_owned()
    }

    /// A client with 100 topics subscribed and acknowledged, and `n` events for it.
    #[wasm_bindgen]
    pub fn prepare(n: u32) {
        let io = PageIo::default();
        let (opened, sent) = (io.opened.clone(), io.sent.clone());
        let config = Config::new("ws://harness/api/ws/v2");
        let (app, driver) = AppState::with_io(config, 1, Box::new(io));
        let seen = Rc::new(Cell::new((0, 0)));
        let subs = (0..TOPICS)
            .map(|i| {
                let seen = seen.clone();
                app.topics
                    .subscribe(topic(i).as_str(), move |e: &TopicEvent| {
                        if let Some(Ok(a)) = e.data::<Agent>() {
                            let (events, chars) = seen.get();
                            seen.set((events + 1, chars + a.name.len() + a.status.len()));
                        }
                    })
            })
            .collect();
        app.client.connect();
        let socket = opened.get().expect("the client opened its socket");
        driver.handle_socket_opened(socket);
        driver.handle_socket_message(socket, &ack(&message_id(&sent.borrow())));
        assert_eq!(app.client.metrics().subscriptions.active, TOPICS as usize);
        let frames = (0..u64::from(n))
            .map(|k| event(k % TOPICS, k / TOPICS + 1))
            .collect();
        let prepared = Prepared {
            app,
            _subs: subs,
            driver,
            socket,
            frames,
            seen,
        };
        PREPARED.with(|p| *p.borrow_mut() = Some(prepared));
    }

    /// Feeds the prepared frames; returns the characters the handlers read (so none is
    /// optimised away), and panics unless every event reached its handler and decoded.
    #[wasm_bindgen]
    pub fn dispatch() -> usize {
        PREPARED.with(|p| {
            let mut p = p.borrow_mut();
            let p = p.as_mut().expect("prepare first");
            let n = p.frames.len();
            for frame in std::mem::take(&mut p.frames) {
                p.driver.handle_socket_bytes(p.socket, frame);
            }
            assert_eq!(p.app.client.metrics().counters.duplicates_dropped, 0);
            let (events, chars) = p.seen.get();
            assert_eq!(events, n, "every event was handled");
            chars
        })
    }
}

fn main() {}
