//! Resume across reloads on a fake clock (feature `resume`): a page stores each topic's
//! position in the tab's storage (throttled, and at once on `pagehide`); the next page of the
//! tab starts a topic it mounts from there. Stale positions (too old, another epoch, beyond
//! the server's replay buffer) resync; a record of another user, of another schema version, or
//! garbage is ignored and counted.

mod support;

use support::*;
use tether_client::Config;

const KEY: &str = "app:7";
const MINUTE: u64 = 60_000;

fn resuming(key: &str) -> Config {
    let mut c = config();
    c.resume = Some(tether_client::ResumeConfig::new(key));
    c
}

/// The server acknowledges `topics` at their `seq`, in history `epoch`.
fn ack_in(h: &Harness, message_id: &str, topics: &[(&str, u64)], epoch: &str) {
    let names: Vec<&str> = topics.iter().map(|(t, _)| *t).collect();
    let seqs: serde_json::Map<String, serde_json::Value> = topics
        .iter()
        .map(|(t, s)| (t.to_string(), (*s).into()))
        .collect();
    h.server_sends(
        &serde_json::json!({"v":1,"type":"subscribe_ack","topic":"system","ts":0,
            "data":{"message_id":message_id,"topics":names,"seqs":seqs,"epoch":epoch}})
        .to_string(),
    );
}

/// A first page: `agent:1` acknowledged at 10 in epoch `e1`, events 11 and 12 delivered, then
/// `pagehide`. Returns the stored record and the time the page went away.
fn first_page() -> (String, u64) {
    let mut h = Harness::new(resuming(KEY));
    let (_s, seen) = h.record("agent:1");
    h.client().connect();
    h.open_raw();
    let (_, since, mid) = first_subscribe(&h.take_sent());
    assert_eq!(since, None, "nothing stored yet: nothing to resume");
    ack_in(&h, &mid, &[("agent:1", 10)], "e1");
    h.event(1, 11);
    h.event(1, 12);
    assert_eq!(*seen.borrow(), [Some(11), Some(12)]);
    h.driver.handle_pagehide();
    let stored = h.stored().expect("pagehide stores the record");
    (stored, h.now())
}

/// The page reloaded at `at` in a tab whose storage holds `stored`, connected, keyed `key`.
fn reload(stored: String, at: u64, key: &str) -> Harness {
    let mut h = Harness::reloaded(resuming(key), at, Some(stored));
    h.client().connect();
    h.open_raw();
    h.take_sent();
    h
}

/// A view mounts `agent:1`: its recorder, and the `since` and `message_id` of the subscribe.
fn mount(h: &mut Harness) -> (tether_client::Subscription, SeenAll, Option<u64>, String) {
    let (sub, seen) = h.record_all("agent:1");
    h.end_tick();
    let (_, since, mid) = first_subscribe(&h.take_sent());
    let since = since.and_then(|s| s.get("agent:1").copied());
    (sub, seen, since, mid)
}

type SeenAll = std::rc::Rc<std::cell::RefCell<Vec<String>>>;

#[test]
fn a_reloaded_page_resumes_from_the_stored_position_and_misses_nothing() {
    let (stored, left_at) = first_page();
    // Events 13 and 14 were published while the page reloaded.
    let mut h = reload(stored, left_at + 2_000, KEY);
    let (_s, seen, since, mid) = mount(&mut h);
    assert_eq!(
        since,
        Some(12),
        "the subscribe asks for what came after the stored position"
    );
    ack_in(&h, &mid, &[("agent:1", 14)], "e1");
    h.event(1, 13);
    h.event(1, 14);
    h.event(1, 15);
    assert_eq!(
        *seen.borrow(),
        [
            "subscribed@12",
            "agent_updated@13",
            "agent_updated@14",
            "agent_updated@15"
        ]
    );
    let m = h.client().metrics();
    assert_eq!(m.resume.records_restored, 1);
    assert_eq!(m.resume.positions_resumed, 1);
    assert_eq!(m.counters.resyncs, 0);
}

#[test]
fn positions_are_stored_throttled_as_events_are_delivered() {
    let mut h = Harness::new(resuming(KEY));
    let (_s, _seen) = h.record("agent:1");
    h.client().connect();
    h.open_raw();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    ack_in(&h, &mid, &[("agent:1", 10)], "e1");
    h.event(1, 11);
    assert_eq!(h.stored(), None, "not at once: throttled");
    h.advance(1_000);
    let first = h.stored().expect("written within persist_every");
    assert!(first.ends_with(" 11 e1 agent:1"), "{first}");
    h.event(1, 12);
    h.event(1, 13);
    h.advance(999);
    assert_eq!(h.stored(), Some(first), "one write per persist_every");
    h.advance(1);
    assert!(h.stored().unwrap().ends_with(" 13 e1 agent:1"));
    assert_eq!(h.client().metrics().resume.records_persisted, 2);
}

#[test]
fn a_position_older_than_the_window_resyncs_instead_of_resuming() {
    let (stored, left_at) = first_page();
    let mut h = reload(stored, left_at + 5 * MINUTE + 1, KEY);
    let (_s, seen, since, mid) = mount(&mut h);
    assert_eq!(since, None, "a stale position is not sent");
    ack_in(&h, &mid, &[("agent:1", 40)], "e1");
    h.event(1, 41);
    assert_eq!(
        *seen.borrow(),
        ["subscribed@40", "resync@40", "agent_updated@41"]
    );
    assert_eq!(h.client().metrics().resume.positions_expired, 1);
    assert_eq!(h.client().metrics().resume.positions_resumed, 0);
}

#[test]
fn a_position_in_another_epoch_resyncs_with_history_lost() {
    let (stored, left_at) = first_page();
    let mut h = reload(stored, left_at + 1_000, KEY);
    let lost = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = lost.clone();
    let _l = h
        .app
        .topics
        .subscribe("agent:1", move |e: &tether_client::TopicEvent| {
            if let tether_client::TopicEvent::ResyncRequired { history_lost, .. } = e {
                sink.borrow_mut().push(*history_lost);
            }
        });
    let (_s, seen, since, mid) = mount(&mut h);
    assert_eq!(since, Some(12));
    // The server restarted without its data: a new epoch, its seq starting again.
    ack_in(&h, &mid, &[("agent:1", 3)], "e2");
    h.event(1, 4);
    assert_eq!(
        *seen.borrow(),
        ["subscribed@3", "resync@3", "agent_updated@4"]
    );
    assert_eq!(*lost.borrow(), [true]);
}

#[test]
fn a_position_beyond_the_replay_buffer_gets_the_servers_resync() {
    let (stored, left_at) = first_page();
    let mut h = reload(stored, left_at + 1_000, KEY);
    let (_s, seen, since, mid) = mount(&mut h);
    assert_eq!(since, Some(12));
    ack_in(&h, &mid, &[("agent:1", 900)], "e1");
    h.server_sends(r#"{"v":1,"type":"resync_required","topic":"agent:1","ts":0,"data":{"topic":"agent:1","seq":900,"epoch":"e1"}}"#);
    h.event(1, 901);
    assert_eq!(
        *seen.borrow(),
        ["subscribed@12", "resync@900", "agent_updated@901"]
    );
}

#[test]
fn a_record_of_another_user_is_ignored_and_counted() {
    let (stored, left_at) = first_page();
    let mut h = reload(stored, left_at + 1_000, "app:8");
    let (_s, seen, since, mid) = mount(&mut h);
    assert_eq!(since, None, "user 8 must not start from user 7's position");
    ack_in(&h, &mid, &[("agent:1", 14)], "e1");
    assert_eq!(*seen.borrow(), ["subscribed@14"]);
    let m = h.client().metrics();
    assert_eq!(m.resume.rejected_foreign, 1);
    assert_eq!(m.resume.records_restored, 0);
    // The next record is user 8's own: user 7's position is gone from the tab.
    h.driver.handle_pagehide();
    let next = h.stored().unwrap();
    assert!(
        next.contains("\napp:8\n") && next.ends_with(" 14 e1 agent:1"),
        "{next}"
    );
}

#[test]
fn garbage_and_other_schema_versions_are_ignored_and_counted_never_trusted() {
    let (stored, left_at) = first_page();
    let truncated = stored[..stored.len() - 3].to_owned() + "\n1 x";
    let cases: [(&str, String); 5] = [
        ("garbage", "{\"agent:1\": 12}".to_owned()),
        ("garbage", truncated),
        ("garbage", "\u{fffd}\u{0}\n\n\n".to_owned()),
        (
            "version",
            stored.replacen("tether-resume 1", "tether-resume 0", 1),
        ),
        (
            "too_large",
            "x".repeat(tether_client::core::MAX_RECORD_BYTES + 1),
        ),
    ];
    for (why, text) in cases {
        let mut h = reload(text.clone(), left_at + 1_000, KEY);
        let (_s, seen, since, mid) = mount(&mut h);
        assert_eq!(since, None, "{why}: {text:.60?}");
        ack_in(&h, &mid, &[("agent:1", 14)], "e1");
        assert_eq!(*seen.borrow(), ["subscribed@14"], "{why}");
        let r = h.client().metrics().resume;
        let counted = match why {
            "garbage" => r.rejected_garbage,
            "version" => r.rejected_version,
            _ => r.rejected_too_large,
        };
        assert_eq!((counted, r.records_restored), (1, 0), "{why}: {r:?}");
    }
}

#[test]
fn random_bytes_never_panic_and_never_resume() {
    let (stored, left_at) = first_page();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..300 {
        let mut text: Vec<u8> = stored.as_bytes().to_vec();
        for _ in 0..1 + round % 4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x as usize) % text.len();
            text[i] = (x >> 32) as u8;
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        let mut h = reload(text.clone(), left_at + 1_000, KEY);
        let (_s, _seen, since, _) = mount(&mut h);
        let r = h.client().metrics().resume;
        let rejected = r.rejected_garbage + r.rejected_version + r.rejected_foreign;
        // A mutation may land in the timestamp or seq digits and still read: then it resumes
        // from what it read; otherwise it is rejected and counted. Never both, never neither.
        assert_eq!(rejected + r.records_restored, 1, "{text:?}");
        assert_eq!(since.is_some(), r.positions_resumed == 1, "{text:?}");
    }
}

#[test]
fn topics_nobody_mounts_within_the_window_are_forgotten() {
    let (stored, left_at) = first_page();
    let mut h = Harness::reloaded(resuming(KEY), left_at + 1_000, Some(stored));
    h.client().connect();
    h.open_raw();
    // This page mounts another topic only; agent:1's position is carried while young.
    let (_s, _) = h.record("agent:2");
    h.end_tick();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    ack_in(&h, &mid, &[("agent:2", 5)], "e1");
    h.driver.handle_pagehide();
    let carried = h.stored().unwrap();
    assert!(carried.contains(" 12 e1 agent:1"), "{carried}");
    h.advance_alive(5 * MINUTE);
    h.driver.handle_pagehide();
    let later = h.stored().unwrap();
    assert!(!later.contains("agent:1"), "{later}");
    assert!(later.ends_with(" 5 e1 agent:2"), "{later}");
}

#[test]
fn without_resume_nothing_is_stored_or_read() {
    let (stored, left_at) = first_page();
    let mut h = Harness::reloaded(config(), left_at + 1_000, Some(stored.clone()));
    h.client().connect();
    h.open_raw();
    let (_s, _seen, since, _) = mount(&mut h);
    assert_eq!(since, None);
    h.driver.handle_pagehide();
    assert_eq!(h.stored(), Some(stored), "untouched");
}
