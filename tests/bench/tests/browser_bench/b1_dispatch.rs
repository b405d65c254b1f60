//! B1, dispatch: frames recorded from the stub (an ack, each topic's snapshot, then
//! `agent_updated` events with `seq` on 100 topics) fed straight into the client in the page
//! through a driver of this file (no socket), against `JSON.parse` + `Map` dispatch on the same
//! frames. Both copy nothing else: the client gets each frame as the browser driver does (a JS
//! string copied into wasm), decodes its `data` into a struct in the handler, and the baseline
//! reads the same two fields.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Array;
use tether_client::core::{Instant, SocketId};
use tether_client::driver::{DriverHandle, Io};
use tether_client::protocol::CloseCode;
use tether_client::{AppState, Config, Envelope, Subscription, TopicEvent};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::page::{agent_topics, call, get, now, num, publish_all, raw, raw_url, settle, Agent};
use crate::report::{median, num as fmt, report};

const TOPICS: usize = 100;
const PER_TOPIC: u32 = 500;
const RUNS: usize = 9;

/// A driver with no socket: it remembers what the client opened and sent, and the bench feeds
/// frames through the client's `DriverHandle` itself. Timers never fire.
#[derive(Default)]
struct PageIo {
    opened: Rc<Cell<Option<SocketId>>>,
    sent: Rc<RefCell<Vec<String>>>,
}

impl Io for PageIo {
    fn now(&self) -> Instant {
        Instant(js_sys::Date::now() as u64)
    }
    fn open(&self, socket: SocketId, _url: &str, _driver: &DriverHandle) {
        self.opened.set(Some(socket));
    }
    fn send(&self, _socket: SocketId, text: &str) {
        self.sent.borrow_mut().push(text.to_owned());
    }
    fn close(&self, _socket: SocketId, _code: CloseCode, _reason: &str) {}
    fn set_timer(&self, _at: Option<Instant>, _driver: &DriverHandle) {}
    fn schedule_flush(&self, _driver: &DriverHandle) {}
}

/// What the client's handlers saw.
#[derive(Default)]
struct Seen {
    count: Cell<u32>,
    chars: Cell<usize>,
}

/// One run of the client over `frames` (JS strings; `ack` is the index of the recorded ack):
/// a fresh client subscribes `topics`, its socket opens, it gets the ack (answering its own
/// subscribe), then every later frame. Returns the milliseconds from the first frame after the
/// ack to the last, and what the handlers saw.
fn client_run(frames: &Array, ack: u32, topics: &[String]) -> (f64, Rc<Seen>) {
    let io = PageIo::default();
    let (opened, sent) = (io.opened.clone(), io.sent.clone());
    let (app, driver) = AppState::with_io(Config::new("ws://in-page/api/ws/v2"), 1, Box::new(io));
    let seen = Rc::new(Seen::default());
    let subs: Vec<Subscription> = topics
        .iter()
        .map(|t| {
            let seen = seen.clone();
            app.topics.subscribe(t.as_str(), move |e: &TopicEvent| {
                if let Some(Ok(a)) = e.data::<Agent>() {
                    seen.count.set(seen.count.get() + 1);
                    seen.chars
                        .set(seen.chars.get() + a.name.len() + a.status.len());
                }
            })
        })
        .collect();
    app.client.connect();
    let socket = opened.get().expect("the client opened its socket");
    driver.handle_socket_opened(socket);
    let answered = answer(&frames.get(ack).as_string().unwrap(), &sent.borrow());
    driver.handle_socket_message(socket, &answered);
    assert_eq!(app.client.metrics().subscriptions.active, topics.len());
    let t0 = now();
    for i in 0..frames.length() {
        if i > ack {
            let text = frames.get(i).as_string().unwrap();
            driver.handle_socket_message(socket, &text);
        }
    }
    let ms = now() - t0;
    assert_eq!(app.client.metrics().counters.duplicates_dropped, 0);
    drop(subs);
    (ms, seen)
}

/// The recorded ack, answering the client's own `subscribe` (its `message_id`).
fn answer(recorded: &str, sent: &[String]) -> String {
    let subscribe: serde_json::Value = sent
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .find(|f: &serde_json::Value| f["type"] == "subscribe")
        .expect("the client subscribed on open");
    let mut ack: serde_json::Value = serde_json::from_str(recorded).unwrap();
    ack["data"]["message_id"] = subscribe["data"]["message_id"].clone();
    ack.to_string()
}

/// B1 dispatch, then B1 end to end, whose limits refer to dispatch's rate.
#[wasm_bindgen_test]
async fn b1() {
    let alone = b1_dispatch().await;
    crate::b1_end_to_end::run(alone).await;
}

/// Returns the client's median events/s.
async fn b1_dispatch() -> f64 {
    let user = 201;
    let topics = agent_topics(user, TOPICS).await;
    let list: Array = topics.iter().map(|t| JsValue::from_str(t)).collect();

    // Record what the stub sends a subscriber: the ack, the snapshots, then the events.
    let url = raw_url(user).await;
    let recording = settle(
        call(&raw(), "record", &[url.into(), list.clone().into()]),
        10_000,
        "the recording socket's ack",
    )
    .await;
    publish_all(&topics, PER_TOPIC, 0, 16).await;
    let frames: Array = get(&recording, "frames").into();
    let expected = 1 + TOPICS as u32 * (1 + PER_TOPIC);
    crate::page::within(30_000, async {
        while frames.length() < expected {
            gloo_timers::future::TimeoutFuture::new(20).await;
        }
    })
    .await
    .expect("every published event was recorded");
    call(&recording, "close", &[]);
    let ack = (0..frames.length())
        .find(|&i| {
            frames
                .get(i)
                .as_string()
                .unwrap()
                .contains("\"subscribe_ack\"")
        })
        .expect("an ack was recorded");
    let bytes: usize = (0..frames.length())
        .map(|i| frames.get(i).as_string().unwrap().len())
        .sum();
    let frame_bytes = bytes / frames.length() as usize;
    let events = f64::from(frames.length() - ack - 1);

    // A warm-up of each (wasm compiles lazily; JS tiers up), then alternating runs.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for run in 0..=RUNS {
        let (ms, seen) = client_run(&frames, ack, &topics);
        let js = call(
            &raw(),
            "dispatchFrames",
            &[frames.clone().into(), list.clone().into(), (ack + 1).into()],
        );
        assert_eq!(
            f64::from(seen.count.get()),
            num(&js, "count"),
            "both saw every event"
        );
        assert_eq!(
            seen.chars.get() as f64,
            num(&js, "chars"),
            "both read the same fields"
        );
        assert_eq!(
            f64::from(seen.count.get()),
            events,
            "every frame after the ack was delivered"
        );
        if run > 0 {
            ours.push(events / (ms / 1000.0));
            theirs.push(events / (num(&js, "ms") / 1000.0));
        }
    }

    // Where the client's time goes, per event: the copy of each frame into wasm (as the
    // driver does), the envelope's decoding, and `data`'s into the struct; the rest is the
    // core (seq check, routing) and the dispatch to handlers.
    let texts: Vec<String> = (ack + 1..frames.length())
        .map(|i| frames.get(i).as_string().unwrap())
        .collect();
    let t0 = now();
    let copied: usize = (ack + 1..frames.length())
        .map(|i| frames.get(i).as_string().map_or(0, |s| s.len()))
        .sum();
    let copy_us = (now() - t0) * 1000.0 / events;
    let t0 = now();
    let envelopes: Vec<Envelope> = texts.iter().map(|t| Envelope::decode(t).unwrap()).collect();
    let envelope_us = (now() - t0) * 1000.0 / events;
    let t0 = now();
    let decoded = envelopes
        .iter()
        .filter(|e| e.data::<Agent>().is_ok())
        .count();
    let data_us = (now() - t0) * 1000.0 / events;
    assert!(copied > 0 && decoded == texts.len());
    let per_event_us = 1e6 / median(&ours);
    report(
        &format!("B1 dispatch in the page, no socket ({} events on {TOPICS} topics)", events as u64),
        &ours,
        &theirs,
        "events/s",
        &format!(
            "the page's main thread: {} µs/event in all, of which copying the frame into wasm {}, decoding the envelope {}, decoding data into the struct {}, the rest (seq check, routing, handler calls) {} (one pass each, this run)",
            fmt(per_event_us), fmt(copy_us), fmt(envelope_us), fmt(data_us),
            fmt(per_event_us - copy_us - envelope_us - data_us)
        ),
        &format!("frames recorded from the stub ({frame_bytes} B average: an ack, {TOPICS} snapshots, agent_updated with seq); the handler decodes name and status into a struct; baseline: JSON.parse + Map lookup + seq check + the same field reads, same frames"),
    );
    median(&ours)
}
