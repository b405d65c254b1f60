//! B1, dispatch: frames recorded from the stub (an ack, each topic's snapshot, then
//! `agent_updated` events with `seq` on 100 topics) fed straight into the client in the page
//! through a driver of this file (no socket), against `JSON.parse` + `Map` dispatch on the same
//! frames. Both copy nothing else: the client gets each frame as the browser driver does and
//! decodes its `data` into a struct in the handler, and the baseline reads the same two fields.
//!
//! The client runs twice on the same frames: as binary messages (`ArrayBuffer`s of the same
//! bytes, what the stub sends a client that asks for `binary=1`), whose bytes are
//! copied into wasm; and as text (a server without `binary=1`, such as the origin), where a JS
//! string is encoded into wasm. The baseline always gets text, as a JavaScript client does.
//!
//! Then where each side's time goes, per event. The client's: the copy of the frame into wasm
//! (the floor: no design in wasm avoids it), reading the envelope in place, decoding `data`
//! into the struct, and the rest (the `seq` check, the topic's lookup, keeping the frame,
//! routing, the handler calls). The baseline's: `JSON.parse`, and the rest.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::Array;
use tether_bench::PageIo;
use tether_client::core::SocketId;
use tether_client::driver::DriverHandle;
use tether_client::protocol::{EnvelopeRef, Frame, Topic};
use tether_client::web::frame_bytes;
use tether_client::{AppState, Config, Subscription, TopicEvent};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::page::{agent_topics, call, get, now, num, publish_all, raw, raw_url, settle, Agent};
use crate::report::{median, num as fmt, report};

const TOPICS: usize = 100;
const PER_TOPIC: u32 = 500;
const RUNS: usize = 15;

/// What the client's handlers saw.
#[derive(Default)]
struct Seen {
    count: Cell<u32>,
    chars: Cell<usize>,
}

/// How frames reach the client.
#[derive(Clone, Copy)]
enum Wire {
    /// Binary messages, copied into wasm as bytes (a server that speaks `binary=1`).
    Binary,
    /// Text, a JS string encoded into wasm (any other server).
    Text,
}

/// The recorded frames as text, and the same bytes as `ArrayBuffer`s; `ack` is the index of
/// the recorded ack.
struct Recorded {
    text: Array,
    binary: Array,
    ack: u32,
}

impl Recorded {
    /// Hands frame `i` to the client as the browser driver does.
    fn feed(&self, wire: Wire, i: u32, driver: &DriverHandle, socket: SocketId) {
        match wire {
            Wire::Binary => driver.handle_socket_bytes(socket, frame_bytes(&self.binary.get(i))),
            Wire::Text => driver.handle_socket_text(socket, self.text.get(i).as_string().unwrap()),
        }
    }
}

/// Records what the stub sends a subscriber of `topics` (`list`, as JS strings) of `user`: the
/// ack, the snapshots, then [`PER_TOPIC`] events on each, published once all are subscribed.
async fn record(user: u64, topics: &[String], list: &Array) -> Recorded {
    let url = raw_url(user).await;
    let recording = settle(
        call(&raw(), "record", &[url.into(), list.clone().into()]),
        10_000,
        "the recording socket's ack",
    )
    .await;
    publish_all(topics, PER_TOPIC, 0, 16).await;
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
    let text_of = |i: u32| frames.get(i).as_string().unwrap();
    let ack = (0..frames.length())
        .find(|&i| text_of(i).contains("\"subscribe_ack\""))
        .expect("an ack was recorded");
    let binary: Array = (0..frames.length())
        .map(|i| js_sys::Uint8Array::from(text_of(i).as_bytes()).buffer())
        .collect();
    Recorded {
        text: frames,
        binary,
        ack,
    }
}

/// One run of the client over the recorded frames: a fresh client subscribes `topics`, its
/// socket opens, it gets the ack (answering its own subscribe), then every later frame, over
/// `wire`. Returns the milliseconds from the first frame after the ack to the last, and what
/// the handlers saw.
fn client_run(frames: &Recorded, wire: Wire, topics: &[String]) -> (f64, Rc<Seen>) {
    let io = PageIo::default();
    let (opened, sent) = (io.opened.clone(), io.sent.clone());
    let mut config = Config::new("ws://in-page/api/ws/v2");
    config.binary_frames = matches!(wire, Wire::Binary);
    let (app, driver) = AppState::with_io(config, 1, Box::new(io));
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
    let recorded_ack = frames.text.get(frames.ack).as_string().unwrap();
    driver.handle_socket_message(socket, &answer(&recorded_ack, &sent.borrow()));
    assert_eq!(app.client.metrics().subscriptions.active, topics.len());
    let t0 = now();
    for i in frames.ack + 1..frames.text.length() {
        frames.feed(wire, i, &driver, socket);
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

    let recorded = record(user, &topics, &list).await;
    let frames = &recorded.text;
    let bytes: usize = (0..frames.length())
        .map(|i| frames.get(i).as_string().unwrap().len())
        .sum();
    let frame_bytes = bytes / frames.length() as usize;
    let (ack, events) = (recorded.ack, f64::from(frames.length() - recorded.ack - 1));

    // A warm-up of each (wasm compiles lazily; JS tiers up), then alternating runs.
    let (mut ours, mut ours_text, mut theirs, mut splits) = (vec![], vec![], vec![], vec![]);
    for run in 0..=RUNS {
        let (ms, seen) = client_run(&recorded, Wire::Binary, &topics);
        let js = call(
            &raw(),
            "dispatchFrames",
            &[
                recorded.text.clone().into(),
                list.clone().into(),
                (ack + 1).into(),
            ],
        );
        let (ms_text, seen_text) = client_run(&recorded, Wire::Text, &topics);
        for seen in [&seen, &seen_text] {
            let count = f64::from(seen.count.get());
            assert_eq!(count, num(&js, "count"), "both saw every event");
            assert_eq!(
                seen.chars.get() as f64,
                num(&js, "chars"),
                "both read the same fields"
            );
            assert_eq!(count, events, "every frame after the ack was delivered");
        }
        if run > 0 {
            ours.push(events / (ms / 1000.0));
            ours_text.push(events / (ms_text / 1000.0));
            theirs.push(events / (num(&js, "ms") / 1000.0));
            splits.push(stages(&recorded, events));
        }
    }

    // Each stage's median over the runs (each run timed every stage once, between the runs
    // of the whole), so that the splits and the totals see the same conditions.
    let of = |f: fn(&Stages) -> f64| median(&splits.iter().map(f).collect::<Vec<_>>());
    let split = Stages {
        copy_binary: of(|s| s.copy_binary),
        copy_text: of(|s| s.copy_text),
        envelope: of(|s| s.envelope),
        data: of(|s| s.data),
        js_parse: of(|s| s.js_parse),
    };
    let source = format!("frames recorded from the stub ({frame_bytes} B average: an ack, {TOPICS} snapshots, agent_updated with seq); the handler decodes name and status into a struct; baseline: JSON.parse + Map lookup + seq check + the same field reads, same frames as text");
    let wires = [
        (Wire::Binary, &ours, split.copy_binary),
        (Wire::Text, &ours_text, split.copy_text),
    ];
    for (wire, rates, copy) in wires {
        report_wire(wire, (events, rates, &theirs), &split, copy, &source);
        report_paired(wire, rates, &theirs);
    }
    median(&ours)
}

/// B1's rows for the client over `wire`: its rate against the baseline's, with where the time
/// goes, and its time per event against the floor (`copy`).
fn report_wire(
    wire: Wire,
    (events, ours, theirs): (f64, &[f64], &[f64]),
    split: &Stages,
    copy: f64,
    source: &str,
) {
    let (ours_us, js_us) = (1e6 / median(ours), 1e6 / median(theirs));
    let (name, how, floor) = match wire {
        Wire::Binary => (
            format!("B1 dispatch in the page, no socket ({} events on {TOPICS} topics)", events as u64),
            "binary frames (binary=1, Config::binary_frames, which tether's server answers): ArrayBuffers of the recorded bytes",
            "the copy of an ArrayBuffer's bytes into wasm memory (web::frame_bytes: Uint8Array.prototype.set into a Vec)",
        ),
        Wire::Text => (
            format!("B1 dispatch with text frames (a server without binary=1, such as the origin; {} events)", events as u64),
            "text frames: the recorded JS strings",
            "the copy of a JS string into wasm memory (wasm-bindgen's string passing)",
        ),
    };
    report(
        &name,
        ours,
        theirs,
        "events/s",
        &format!(
            "the page's main thread: {} µs/event in all, of which copying the frame into wasm {} (the floor), reading the envelope {}, decoding data into the struct {}, the rest (seq check, topic lookup, keeping the frame, routing, handler calls) {}; raw JavaScript {} µs/event, of which JSON.parse {}, the rest (Map lookup, seq check, handler) {} (each split the median of one pass per run)",
            fmt(ours_us), fmt(copy), fmt(split.envelope), fmt(split.data),
            fmt(ours_us - copy - split.envelope - split.data),
            fmt(js_us), fmt(split.js_parse), fmt(js_us - split.js_parse)
        ),
        &format!("the client gets {how}; {source}"),
    );
    // The floor against the whole: how much of the client's time is the copy no design avoids.
    let label = match wire {
        Wire::Binary => "",
        Wire::Text => ", text frames",
    };
    report(
        &format!("B1 dispatch: the client's time per event against the floor (copying the frame into wasm){label}"),
        &ours.iter().map(|r| 1e6 / r).collect::<Vec<_>>(),
        &[copy],
        "µs/event",
        &format!("{floor}, {} µs; all the rest of the client's work is {} µs", fmt(copy), fmt(ours_us - copy)),
        "baseline: one pass copying every frame into wasm and nothing else (the driver does the same per message)",
    );
}

/// B1's ratio run by run: each run's client rate over `wire` divided by the baseline's rate in
/// the same run (the runs alternate, so that both sides of a ratio see the same conditions; a
/// slow spell of the machine moves both). Reported next to the ratio of the two sides' medians,
/// which pairs runs that did not run together, as the steadier estimate of the same ratio.
fn report_paired(wire: Wire, ours: &[f64], theirs: &[f64]) {
    let ratios: Vec<f64> = ours.iter().zip(theirs).map(|(o, t)| o / t).collect();
    let (label, order) = match wire {
        Wire::Binary => ("binary frames", "the client's pass, then the baseline's"),
        Wire::Text => ("text frames", "the baseline's pass, then the client's"),
    };
    report(
        &format!("B1 dispatch, paired: the client's rate ÷ raw JavaScript's in the same run ({label})"),
        &ratios,
        &[1.0],
        "× raw JavaScript",
        "as B1 dispatch above: the page's main thread, both sides in one page",
        &format!("one ratio per run, of two passes back to back ({order}); the baseline, 1, is raw JavaScript's own rate in each run, the unit of every ratio"),
    );
}

/// Where each side's time goes, in µs per event (one pass each).
struct Stages {
    copy_binary: f64,
    copy_text: f64,
    envelope: f64,
    data: f64,
    js_parse: f64,
}

/// Times each stage of the client's path separately over the frames after the ack (the copy
/// from either wire), and the baseline's JSON.parse alone.
fn stages(frames: &Recorded, events: f64) -> Stages {
    let after_ack = frames.ack + 1..frames.text.length();
    let texts: Vec<String> = after_ack
        .clone()
        .map(|i| frames.text.get(i).as_string().unwrap())
        .collect();
    let t0 = now();
    let copied: usize = after_ack
        .clone()
        .map(|i| frame_bytes(&frames.binary.get(i)).len())
        .sum();
    let copy_binary = (now() - t0) * 1000.0 / events;
    let t0 = now();
    let copied_text: usize = after_ack
        .map(|i| frames.text.get(i).as_string().map_or(0, |s| s.len()))
        .sum();
    let copy_text = (now() - t0) * 1000.0 / events;
    assert_eq!(copied, copied_text, "the same bytes either way");
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
    let args = [frames.text.clone().into(), (frames.ack + 1).into()];
    call(&raw(), "parseFrames", &args);
    let js = call(&raw(), "parseFrames", &args);
    Stages {
        copy_binary,
        copy_text,
        envelope,
        data,
        js_parse: num(&js, "ms") * 1000.0 / events,
    }
}
