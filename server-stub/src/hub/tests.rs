//! Unit tests of the hub: replay, dialects, laziness, faults and the publish log.
use super::*;
use crate::stats::Stats;
use crate::ws::send_queue::Outbound;
use tether_wire::Envelope;

fn event() -> Event {
    Event::new("agent_updated", &serde_json::json!({"id": 1}), Some(1))
}

fn seqs(frames: &[Utf8Bytes]) -> Vec<u64> {
    frames
        .iter()
        .map(|t| Envelope::decode(t).expect("valid").seq.expect("has seq"))
        .collect()
}

fn new_queue(id: ConnId, extended: bool) -> (SendQueue, tokio::sync::mpsc::Receiver<Outbound>) {
    SendQueue::new(id, 1, (8, 1 << 20), extended, Arc::new(Stats::default()))
}

fn drain(rx: &mut tokio::sync::mpsc::Receiver<Outbound>) -> Vec<Envelope> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .flat_map(|o| match o {
            Outbound::Frame(f) => vec![f],
            Outbound::Batch(b) => b,
        })
        .map(|t| Envelope::decode(&t).expect("valid"))
        .collect()
}

#[test]
fn replays_exactly_what_is_buffered() {
    let hub = Hub::new(3, Profile::Tether);
    let topic = Topic::agent(1);
    for _ in 0..5 {
        hub.publish(&topic, event());
    }
    let (queue, _rx) = new_queue(1, true);
    let mut guard = hub.lock();
    let replay = |g: &mut HubGuard<'_>, since| g.join(&topic, &queue, Some(since)).1;
    assert!(matches!(replay(&mut guard, 3), Catchup::Replay(f) if seqs(&f) == [4, 5]));
    assert!(matches!(replay(&mut guard, 2), Catchup::Replay(f) if seqs(&f) == [3, 4, 5]));
    assert_eq!(replay(&mut guard, 5), Catchup::Replay(vec![]));
    assert_eq!(replay(&mut guard, 1), Catchup::Resync);
    assert_eq!(replay(&mut guard, 6), Catchup::Resync);
    assert_eq!(guard.join(&topic, &queue, None), (5, Catchup::Snapshot));
}

#[test]
fn fans_out_each_in_its_dialect_and_echoes_only_to_non_subscribers() {
    let hub = Hub::new(10, Profile::Tether);
    let (member, mut member_rx) = new_queue(1, true);
    let (plain, mut plain_rx) = new_queue(2, false);
    let (sender, mut sender_rx) = new_queue(3, false);
    let topic = Topic::thread(10);
    hub.lock().join(&topic, &member, None);
    hub.lock().join(&topic, &plain, None);
    hub.lock().publish(&topic, event(), Some(&sender));
    hub.lock().publish(&topic, event(), Some(&member));
    let member_got = drain(&mut member_rx);
    assert_eq!(
        member_got.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    let plain_got = drain(&mut plain_rx);
    assert_eq!(
        plain_got.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [None, None]
    );
    assert_eq!(plain_got[0].ts, member_got[0].ts, "the same frame bar seq");
    assert_eq!(drain(&mut sender_rx).len(), 1);
    assert_eq!(hub.subscriber_counts()["thread:10"], 2);
}

#[test]
fn the_plain_text_is_made_lazily() {
    let hub = Hub::new(10, Profile::Tether);
    let (member, _rx) = new_queue(1, true);
    hub.lock().join(&Topic::agent(1), &member, None);
    hub.publish(&Topic::agent(1), event());
    let guard = hub.lock();
    let published = &guard.inner.topics[&Topic::agent(1)].recent[0];
    assert!(
        !published.has_plain_text(),
        "no plain subscriber, no plain text"
    );
    let plain = Envelope::decode(&published.text_for(false)).expect("valid");
    assert_eq!(plain.seq, None);
}

#[test]
fn reorder_sends_the_one_before_last_and_history_can_be_lost() {
    let hub = Hub::new(10, Profile::Tether);
    let (member, mut rx) = new_queue(1, true);
    let topic = Topic::agent(1);
    hub.lock().join(&topic, &member, None);
    for _ in 0..3 {
        hub.publish(&topic, event());
    }
    hub.publish(&Topic::agent(3), event());
    drain(&mut rx);
    let done = hub.lock().reorder(None);
    assert_eq!((done.frames, done.sockets, done.topics), (1, 1, 1));
    assert_eq!(drain(&mut rx)[0].seq, Some(2));
    assert_eq!(hub.lock().reorder(Some(2)), Redelivered::default());
    assert_eq!(hub.lock().lose_history(), 2);
    assert_eq!(hub.seq(&topic), 0);
    assert_eq!(hub.publish(&topic, event()), 1);
    let (entries, epoch, evicted) = hub.lock().published(&topic);
    let logged: Vec<(u64, u64)> = entries.iter().map(|e| (e.epoch, e.seq)).collect();
    assert_eq!(logged, [(0, 1), (0, 2), (0, 3), (1, 1)]);
    assert_eq!((epoch, evicted), (1, 0));
}

#[test]
fn replay_is_bounded_in_bytes_per_topic_and_in_total() {
    let limits = ReplayLimits {
        events: 1000,
        topic_bytes: 4000,
        total_bytes: 6000,
    };
    let hub = Hub::with_limits(limits, Profile::Tether);
    let big = |n: usize| Event::new("test", &"x".repeat(n), None);
    for _ in 0..10 {
        hub.publish(&Topic::agent(1), big(900));
    }
    let kept = hub.lock().replay_bytes();
    assert!(
        kept <= 4000 && kept > 3000,
        "{kept} bytes kept on one topic"
    );
    for _ in 0..10 {
        hub.publish(&Topic::agent(2), big(900));
    }
    let mut guard = hub.lock();
    assert!(guard.replay_bytes() <= 6000, "{}", guard.replay_bytes());
    assert!(
        guard.inner.topics[&Topic::agent(1)].recent.len() < 3,
        "the oldest topic's events went first"
    );
    let (queue, _rx) = new_queue(1, true);
    let (_, catchup) = guard.join(&Topic::agent(1), &queue, Some(1));
    assert_eq!(catchup, Catchup::Resync);
    assert_eq!(guard.lose_history(), 2);
    assert_eq!(guard.replay_bytes(), 0);
}
