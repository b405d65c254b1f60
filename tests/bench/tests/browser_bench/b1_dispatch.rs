//! B1, dispatch: frames recorded from the stub (an ack, each topic's snapshot, then
//! `agent_updated` events with `seq` on 100 topics) fed straight into the client in the page
//! through a driver of this file (no socket), against `JSON.parse` + `Map` dispatch on the same
//! frames. Both copy nothing else: the client gets each frame as the browser driver does (a JS
//! string copied into wasm), decodes its `data` into a struct in the handler, and the baseline
//! reads the same two fields.
//!
//! Then where each side's time goes, per event. The client's: the copy of the frame into wasm
//! (the floor: no design in wasm avoids it), reading the envelope in place, decoding `data`
//! into the struct, and the rest (the `seq` check, the topic's lookup, keeping the frame,
//! routing, the handler calls). The baseline's: `JSON.parse`, and the rest.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Array;
use tether_client::core::SocketId;
use tether_client::driver::{DriverHandle, Io};
use tether_client::protocol::{CloseCode, EnvelopeRef, Frame, Topic};
use tether_client::Instant;
use tether_client::{AppState, Config, Subscription, TopicEvent};
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
            // As the browser driver does: the text copied out of JS, kept by the event.
            let text = frames.get(i).as_string().unwrap();
            driver.handle_socket_text(socket, text);
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
    let (mut ours, mut theirs, mut splits) = (Vec::new(), Vec::new(), Vec::new());
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
            splits.push(stages(&frames, ack + 1, events));
        }
    }

    // Each stage's median over the runs (each run timed every stage once, between the runs
    // of the whole), so that the splits and the totals see the same conditions.
    let of = |f: fn(&Stages) -> f64| median(&splits.iter().map(f).collect::<Vec<_>>());
    let split = Stages {
        copy: of(|s| s.copy),
        envelope: of(|s| s.envelope),
        data: of(|s| s.data),
        js_parse: of(|s| s.js_parse),
    };
    let (ours_us, js_us) = (1e6 / median(&ours), 1e6 / median(&theirs));
    report(
        &format!("B1 dispatch in the page, no socket ({} events on {TOPICS} topics)", events as u64),
        &ours,
        &theirs,
        "events/s",
        &format!(
            "the page's main thread: {} µs/event in all, of which copying the frame into wasm {} (the floor), reading the envelope {}, decoding data into the struct {}, the rest (seq check, topic lookup, keeping the frame, routing, handler calls) {}; raw JavaScript {} µs/event, of which JSON.parse {}, the rest (Map lookup, seq check, handler) {} (each split the median of one pass per run)",
            fmt(ours_us), fmt(split.copy), fmt(split.envelope), fmt(split.data),
            fmt(ours_us - split.copy - split.envelope - split.data),
            fmt(js_us), fmt(split.js_parse), fmt(js_us - split.js_parse)
        ),
        &format!("frames recorded from the stub ({frame_bytes} B average: an ack, {TOPICS} snapshots, agent_updated with seq); the handler decodes name and status into a struct; baseline: JSON.parse + Map lookup + seq check + the same field reads, same frames"),
    );
    // The floor against the whole: how much of the client's time is the copy no design avoids.
    report(
        "B1 dispatch: the client's time per event against the floor (copying the frame into wasm)",
        &ours.iter().map(|r| 1e6 / r).collect::<Vec<_>>(),
        &[split.copy],
        "µs/event",
        &format!(
            "the copy of a JS string into wasm memory (wasm-bindgen's string passing), {} µs; all the rest of the client's work is {} µs",
            fmt(split.copy),
            fmt(ours_us - split.copy)
        ),
        "baseline: one pass copying every frame into wasm and nothing else (the driver does the same per message)",
    );
    median(&ours)
}

/// Where each side's time goes, in µs per event (one pass each).
struct Stages {
    copy: f64,
    envelope: f64,
    data: f64,
    js_parse: f64,
}

/// Times each stage of the client's path separately over `frames[from..]`, and the
/// baseline's JSON.parse alone.
fn stages(frames: &Array, from: u32, events: f64) -> Stages {
    let texts: Vec<String> = (from..frames.length())
        .map(|i| frames.get(i).as_string().unwrap())
        .collect();
    let t0 = now();
    let copied: usize = (from..frames.length())
        .map(|i| frames.get(i).as_string().map_or(0, |s| s.len()))
        .sum();
    let copy = (now() - t0) * 1000.0 / events;
    let t0 = now();
    let envelopes: Vec<EnvelopeRef<'_>> = texts
        .iter()
        .map(|t| EnvelopeRef::parse(t).unwrap())
        .collect();
    let envelope = (now() - t0) * 1000.0 / events;
    let kept: Vec<Frame> = texts
        .iter()
        .zip(&envelopes)
        .map(|(t, e)| Frame::new(t, e, Topic::new("t")))
        .collect();
    let t0 = now();
    let decoded = kept.iter().filter(|f| f.data::<Agent>().is_ok()).count();
    let data = (now() - t0) * 1000.0 / events;
    assert!(copied > 0 && decoded == texts.len());
    // The baseline's JSON.parse alone, the second of two passes (the first warms it up).
    let args = [frames.clone().into(), from.into()];
    call(&raw(), "parseFrames", &args);
    let js = call(&raw(), "parseFrames", &args);
    Stages {
        copy,
        envelope,
        data,
        js_parse: num(&js, "ms") * 1000.0 / events,
    }
}
