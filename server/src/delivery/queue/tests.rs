//! The send queue's bounds: items, bytes, pacing, and the close it asks for when full.

use super::*;
use crate::delivery::Ending;

fn user() -> UserKey {
    UserKey::from("1")
}

#[test]
fn a_queue_says_whose_it_is_and_its_budget() {
    let (queue, _rx) = SendQueue::new(7, user(), (4, 1234), false, Arc::default());
    assert_eq!(
        (queue.id(), queue.user().as_str(), queue.max_bytes()),
        (7, "1", 1234)
    );
    assert!(!queue.extended());
    assert_eq!(UserKey::from("u9".to_owned()).to_string(), "u9");
}

#[test]
fn binary_frames_come_only_with_the_extensions() {
    let (plain, _rx) = SendQueue::new(1, user(), (4, 1234), false, Arc::default());
    plain.send_binary();
    assert!(!plain.binary(), "a queue without the extensions keeps text");
    let (extended, _rx) = SendQueue::new(2, user(), (4, 1234), true, Arc::default());
    assert!(!extended.binary(), "text until asked");
    extended.send_binary();
    assert!(extended.binary());
}

#[test]
fn overflow_closes_once_with_1008() {
    let stats = Arc::new(Stats::default());
    let (queue, _rx) = SendQueue::new(1, user(), (1, 1024), true, stats.clone());
    assert_eq!(queue.deliver_frame("a".into()), Delivery::Queued);
    assert_eq!(queue.deliver_frame("b".into()), Delivery::Overflowed);
    assert_eq!(queue.deliver_frame("c".into()), Delivery::Overflowed);
    assert_eq!(
        queue.signal().ending(),
        Some(Ending::Close {
            code: 1008,
            reason: "slow consumer".into()
        })
    );
    assert_eq!(
        stats.to_json(Default::default())["drops"]["slow_consumer"],
        1
    );
}

#[test]
fn bytes_over_the_budget_close_with_1008_and_writes_free_them() {
    let stats = Arc::new(Stats::default());
    let (queue, _rx) = SendQueue::new(1, user(), (100, 10), true, stats.clone());
    assert_eq!(queue.deliver_frame("x".repeat(30).into()), Delivery::Queued);
    assert_eq!(
        queue.queued_bytes(),
        30,
        "one item always fits an empty queue"
    );
    assert_eq!(queue.deliver_frame("y".into()), Delivery::Overflowed);
    assert_eq!(queue.signal().ending().map(|_| ()), Some(()));
    queue.written(30);
    assert_eq!(queue.queued_bytes(), 0);
    let (queue, mut rx) = SendQueue::new(2, user(), (100, 10), true, stats.clone());
    assert_eq!(queue.deliver_frame("12345".into()), Delivery::Queued);
    assert_eq!(queue.deliver_frame("12345".into()), Delivery::Queued);
    assert_eq!(stats.queued_bytes(), 10);
    rx.close();
    queue.discard_all();
    assert_eq!(stats.queued_bytes(), 0);
    assert_eq!(queue.deliver_frame("z".into()), Delivery::Gone);
}

#[test]
fn closed_queue_is_gone() {
    let (queue, rx) = SendQueue::new(1, user(), (4, 1024), true, Arc::new(Stats::default()));
    drop(rx);
    assert_eq!(queue.deliver_frame("a".into()), Delivery::Gone);
}

fn texts(item: Outbound) -> Vec<String> {
    match item {
        Outbound::Frame(f) => vec![f.to_string()],
        Outbound::Batch(b) => b.iter().map(|f| f.to_string()).collect(),
    }
}

#[tokio::test]
async fn paced_frames_go_in_half_budget_batches_each_waiting_for_room() {
    let stats = Arc::new(Stats::default());
    let (queue, mut rx) = SendQueue::new(1, user(), (100, 10), true, stats.clone());
    let frames = ["aaa", "bbb", "ccc", "dd", "eeeeeeeeeeee"].map(Utf8Bytes::from);
    let writer = queue.clone();
    let paced = tokio::spawn(async move { writer.deliver_paced(frames.to_vec()).await });
    for _ in 0..1000 {
        if queue.queued_bytes() >= 6 {
            break;
        }
        tokio::task::yield_now().await;
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(queue.queued_bytes(), 6, "the third batch waits for room");
    let mut got = Vec::new();
    while got.len() < 4 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv());
        let item = next.await.expect("a batch within 5 s").expect("a batch");
        let bytes = item.bytes();
        got.push(texts(item));
        queue.written(bytes);
    }
    assert_eq!(paced.await.unwrap(), Delivery::Queued);
    assert_eq!(
        got,
        [
            vec!["aaa"],
            vec!["bbb"],
            vec!["ccc", "dd"],
            vec!["eeeeeeeeeeee"],
        ]
    );
    assert_eq!((queue.queued_bytes(), stats.queued_bytes()), (0, 0));
    assert_eq!(queue.deliver_paced(Vec::new()).await, Delivery::Queued);
}

#[tokio::test]
async fn a_paced_delivery_waiting_for_room_ends_with_the_connection() {
    let (queue, _rx) = SendQueue::new(1, user(), (100, 4), true, Arc::new(Stats::default()));
    assert_eq!(queue.deliver_frame("1234".into()), Delivery::Queued);
    let waiting = queue.clone();
    let paced = tokio::spawn(async move { waiting.deliver_paced(vec!["5".into()]).await });
    tokio::task::yield_now().await;
    assert!(!paced.is_finished(), "no room: it waits");
    queue.signal().abort();
    assert_eq!(paced.await.unwrap(), Delivery::Gone);
    let (queue, rx) = SendQueue::new(2, user(), (1, 4), true, Arc::new(Stats::default()));
    drop(rx);
    let item = Outbound::Frame("x".into());
    assert_eq!(queue.deliver_when_room(item).await, Delivery::Gone);
}
