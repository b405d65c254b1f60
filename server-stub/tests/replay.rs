//! Sequence numbers and replay: `since` replays exactly the missed events in order, evicted or
//! future positions get `resync_required`, and replay hands over to live delivery with no gap
//! and no duplicate even while events are being published.

mod common;

use common::{control, seqs, Stub};
use serde_json::Value;
use tether_wire::control::Control;
use tether_wire::{Envelope, Topic};

async fn ack_seqs(client: &mut common::Client) -> std::collections::BTreeMap<Topic, u64> {
    let frame = client.recv().await;
    let Control::SubscribeAck(ack) = control(&frame) else {
        panic!("expected subscribe_ack, got {frame:?}")
    };
    ack.seqs
}

#[tokio::test]
async fn seqs_count_per_topic_from_one() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["agent:1", "agent:3"]).await;
    stub.control("publish?topic=agent:1&count=2").await;
    stub.control("publish?topic=agent:3&count=1").await;
    let got: Vec<(String, u64)> = {
        let mut got = Vec::new();
        for _ in 0..3 {
            let f = client.recv().await;
            got.push((f.topic.to_string(), f.seq.expect("seq")));
        }
        got
    };
    assert_eq!(
        got,
        [
            ("agent:1".into(), 1),
            ("agent:1".into(), 2),
            ("agent:3".into(), 1)
        ]
    );
}

#[tokio::test]
async fn since_replays_exactly_the_missed_events_then_live_ones() {
    let stub = Stub::start().await;
    let published = stub.control("publish?topic=agent:1&count=5").await;
    assert_eq!(
        (
            published["first_seq"].as_u64(),
            published["last_seq"].as_u64()
        ),
        (Some(1), Some(5))
    );
    let mut client = stub.connect(1).await;
    client
        .subscribe("r", &["agent:1", "thread:10"], &[("agent:1", 2)])
        .await;
    let seqs_acked = ack_seqs(&mut client).await;
    assert_eq!(
        (seqs_acked[&Topic::agent(1)], seqs_acked[&Topic::thread(10)]),
        (5, 0)
    );
    let mut replay = Vec::new();
    for _ in 0..3 {
        replay.push(client.recv().await);
    }
    assert_eq!(seqs(&replay), [3, 4, 5]);
    assert!(replay
        .iter()
        .all(|f| f.kind == "agent_updated" && f.topic == Topic::agent(1)));
    client.assert_nothing_pending().await;
    stub.control("publish?topic=agent:1&count=1").await;
    assert_eq!(client.recv().await.seq, Some(6));
}

#[tokio::test]
async fn replayed_events_are_the_original_frames() {
    let stub = Stub::start().await;
    let mut live = stub.connect(1).await;
    live.subscribe_ok(&["thread:10"]).await;
    live.send_message("orig", 10, "keep me").await;
    let original = live.recv().await;
    let mut late = stub.connect(1).await;
    late.subscribe("late", &["thread:10"], &[("thread:10", 0)])
        .await;
    ack_seqs(&mut late).await;
    assert_eq!(late.recv().await, original);
}

#[tokio::test]
async fn since_at_the_current_seq_replays_nothing() {
    let stub = Stub::start().await;
    stub.control("publish?topic=agent:1&count=3").await;
    let mut client = stub.connect(1).await;
    client.subscribe("r", &["agent:1"], &[("agent:1", 3)]).await;
    assert_eq!(ack_seqs(&mut client).await[&Topic::agent(1)], 3);
    client.assert_nothing_pending().await;
}

async fn expect_resync(client: &mut common::Client, topic: &str, seq: u64) {
    let frame: Envelope = client.recv().await;
    assert_eq!(
        (frame.topic.as_str(), frame.seq),
        (topic, None),
        "resync_required carries no seq"
    );
    let Control::ResyncRequired(resync) = control(&frame) else {
        panic!("expected resync_required, got {frame:?}");
    };
    assert_eq!((resync.topic.as_str(), resync.seq), (topic, Some(seq)));
    assert!(resync.epoch.is_some(), "it names the stream's epoch");
}

#[tokio::test]
async fn evicted_or_future_positions_get_resync_required() {
    let stub = Stub::start_with(|c| c.replay_capacity = 3).await;
    stub.control("publish?topic=agent:1&count=10").await;
    let mut client = stub.connect(1).await;
    client.subscribe("r", &["agent:1"], &[("agent:1", 6)]).await;
    ack_seqs(&mut client).await;
    expect_resync(&mut client, "agent:1", 10).await;
    client.assert_nothing_pending().await;

    client.subscribe("r", &["agent:1"], &[("agent:1", 7)]).await;
    ack_seqs(&mut client).await;
    assert_eq!(
        seqs(&[
            client.recv().await,
            client.recv().await,
            client.recv().await
        ]),
        [8, 9, 10]
    );

    client
        .subscribe("r", &["agent:1"], &[("agent:1", 50)])
        .await;
    ack_seqs(&mut client).await;
    expect_resync(&mut client, "agent:1", 10).await;
    stub.control("publish?topic=agent:1&count=1").await;
    assert_eq!(client.recv().await.seq, Some(11));
}

#[tokio::test]
async fn each_topic_gets_its_own_catchup_in_request_order() {
    let stub = Stub::start_with(|c| c.replay_capacity = 2).await;
    stub.control("publish?topic=agent:1&count=4").await;
    stub.control("publish?topic=user:1&count=2").await;
    let mut client = stub.connect(1).await;
    client
        .subscribe(
            "m",
            &["user:1", "agent:1", "agent:3"],
            &[("user:1", 0), ("agent:1", 1)],
        )
        .await;
    ack_seqs(&mut client).await;
    assert_eq!(seqs(&[client.recv().await, client.recv().await]), [1, 2]);
    expect_resync(&mut client, "agent:1", 4).await;
    let snapshot = client.recv().await;
    assert_eq!(
        (snapshot.kind.as_str(), snapshot.topic.as_str()),
        ("agent_state", "agent:3")
    );
    client.assert_nothing_pending().await;
}

/// Reads frames until the event with `last` on `topic`; returns the seqs seen on it.
async fn collect_until(client: &mut common::Client, topic: &str, last: u64) -> Vec<u64> {
    let mut got = Vec::new();
    while got.last() != Some(&last) {
        let frame = client.recv().await;
        if frame.topic.as_str() == topic {
            got.push(frame.seq.expect("event seq"));
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_gap_or_duplicate_between_replay_and_live_while_publishing() {
    const COUNT: u64 = 3000;
    let stub = Stub::start_with(|c| {
        c.replay_capacity = 10_000;
        c.queue_capacity = 100_000;
    })
    .await;
    let mut watcher = stub.connect(1).await;
    watcher.subscribe_ok(&["agent:1"]).await;
    let url = stub.url(&format!(
        "/api/test/publish?topic=agent:1&count={COUNT}&rate=20000"
    ));
    let http = stub.http.clone();
    let publisher = tokio::spawn(async move {
        http.post(url)
            .send()
            .await
            .expect("publish")
            .json::<Value>()
            .await
    });

    let mut joined = Vec::new();
    for threshold in [300, 1200, 2400] {
        while watcher.recv().await.seq.expect("seq") < threshold {}
        let mut late = stub.connect(1).await;
        late.subscribe("late", &["agent:1"], &[("agent:1", 0)])
            .await;
        joined.push(late);
    }
    let answer = publisher.await.expect("task").expect("json");
    assert_eq!(answer["last_seq"], COUNT);
    let expected: Vec<u64> = (1..=COUNT).collect();
    for mut late in joined {
        assert_eq!(collect_until(&mut late, "agent:1", COUNT).await, expected);
        late.assert_nothing_pending().await;
    }
}
