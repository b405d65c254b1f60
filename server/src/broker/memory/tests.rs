//! Unit tests of the memory broker: numbering, what history keeps, its bounds, epochs, and the
//! handler's calls.

use super::*;
use std::sync::Mutex as StdMutex;

fn event(n: usize) -> Event {
    Event::new("test", &"x".repeat(n)).expect("encodes")
}

fn limits(events: usize, topic_bytes: usize, total_bytes: usize, topics: usize) -> ReplayLimits {
    ReplayLimits {
        events,
        topic_bytes,
        total_bytes,
        topics,
    }
}

fn seqs(history: &History) -> Vec<u64> {
    history.publications.iter().map(|p| p.seq()).collect()
}

#[test]
fn history_is_exactly_what_is_kept_after_since() {
    let broker = MemoryBroker::new(limits(3, usize::MAX, usize::MAX, 10));
    let topic = Topic::new("a:1");
    for _ in 0..5 {
        broker.publish_now(&topic, event(1), 0);
    }
    let after = |since| broker.history_now(&topic, Some(since));
    assert_eq!(seqs(&after(3)), [4, 5]);
    assert!(after(3).is_complete_after(3));
    assert_eq!(seqs(&after(2)), [3, 4, 5]);
    assert!(after(5).is_complete_after(5), "nothing missed");
    assert!(!after(1).is_complete_after(1), "2 was evicted");
    assert!(!after(6).is_complete_after(6), "since is ahead");
    let now = broker.history_now(&topic, None);
    assert_eq!((now.publications.len(), now.position.offset), (0, 5));
    let never = broker.history_now(&Topic::new("b:1"), Some(0));
    assert_eq!(never.position.offset, 0);
    assert!(never.is_complete_after(0));
}

#[test]
fn rings_are_bounded_in_bytes_per_topic_and_in_total() {
    let broker = MemoryBroker::new(limits(1000, 4000, 6000, 10));
    for _ in 0..10 {
        broker.publish_now(&Topic::new("a:1"), event(900), 0);
    }
    let kept = broker.replay_bytes();
    assert!(
        kept <= 4000 && kept > 3000,
        "{kept} bytes kept on one topic"
    );
    for _ in 0..10 {
        broker.publish_now(&Topic::new("a:2"), event(900), 0);
    }
    assert!(broker.replay_bytes() <= 6000, "{}", broker.replay_bytes());
    let first = broker.history_now(&Topic::new("a:1"), Some(0));
    assert!(
        first.publications.len() < 3,
        "the oldest topic's events went first"
    );
    assert!(!first.is_complete_after(1));
}

#[test]
fn a_forgotten_stream_comes_back_in_a_new_epoch() {
    let broker = MemoryBroker::new(limits(10, usize::MAX, usize::MAX, 2));
    let (a, b, c) = (Topic::new("a"), Topic::new("b"), Topic::new("c"));
    let first = broker.publish_now(&a, event(1), 0);
    broker.publish_now(&a, event(1), 0);
    broker.publish_now(&b, event(1), 0);
    broker.publish_now(&a, event(1), 0);
    broker.publish_now(&c, event(1), 0);
    assert_eq!(
        broker.history_now(&a, None).position.offset,
        3,
        "a was used last"
    );
    let again = broker.publish_now(&b, event(1), 0);
    assert_eq!(again.seq(), 1, "b was forgotten to make room for c");
    assert_ne!(again.epoch(), first.epoch());
    assert!(broker.replay_bytes() > 0);
}

#[test]
fn losing_history_restarts_every_stream_in_a_new_epoch() {
    let broker = MemoryBroker::new(limits(10, usize::MAX, usize::MAX, 10));
    let topic = Topic::new("a");
    let before = broker.publish_now(&topic, event(1), 0);
    broker.publish_now(&Topic::new("b"), event(1), 0);
    assert_eq!(broker.lose_history_now(), 2);
    assert_eq!(broker.replay_bytes(), 0);
    let after = broker.publish_now(&topic, event(1), 0);
    assert_eq!(after.seq(), 1);
    assert_ne!(after.epoch(), before.epoch());
}

#[derive(Default)]
struct Recorder(StdMutex<Vec<(String, u64)>>);

impl BrokerHandler for Recorder {
    fn handle_publication(&self, publication: &Arc<Publication>) {
        let mut seen = self.0.lock().expect("not poisoned");
        seen.push((publication.topic.to_string(), publication.seq()));
    }

    fn handle_lost(&self, topic: &Topic, _: &StreamPosition) {
        panic!("the memory broker never loses a publication on its way: {topic}");
    }
}

#[test]
fn the_handler_gets_every_publication_once_in_order_even_without_replay() {
    let broker = MemoryBroker::new(limits(0, usize::MAX, usize::MAX, 10));
    let recorder = Arc::new(Recorder::default());
    broker.start(recorder.clone());
    for topic in ["a", "b", "a"] {
        broker.publish_now(&Topic::new(topic), event(1), 0);
    }
    let seen = recorder.0.lock().expect("not poisoned").clone();
    assert_eq!(seen, [("a".into(), 1), ("b".into(), 1), ("a".into(), 2)]);
    assert!(broker
        .history_now(&Topic::new("a"), Some(0))
        .publications
        .is_empty());
}
