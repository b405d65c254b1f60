//! Every limit: frame size (1009), inbound flood (1008), outbound queue (1008, slow
//! consumer, while others keep receiving), and topics per connection (`LIMIT`).

mod common;

use common::{End, Stub};
use std::time::Duration;
use tether_wire::control::Control;
use tether_wire::Topic;

#[tokio::test]
async fn a_1_mib_frame_closes_with_1009_and_others_keep_working() {
    let stub = Stub::start().await;
    let mut bystander = stub.connect(1).await;
    let mut offender = stub.connect(1).await;
    offender.send_text("x".repeat(1024 * 1024)).await;
    assert_eq!(
        offender.end(false).await,
        End::Closed(1009, "frame too big".into())
    );
    bystander.assert_nothing_pending().await;
    let stats = stub.wait_open(1).await;
    assert_eq!(stats["drops"]["too_big"], 1);
    assert_eq!(stats["closes"]["1009"], 1);
}

#[tokio::test]
async fn the_size_limit_is_inclusive() {
    let stub = Stub::start_with(|c| c.max_frame_bytes = 1000).await;
    let mut client = stub.connect(1).await;
    client.send_text(" ".repeat(1000)).await;
    assert!(
        matches!(client.recv_control().await, Control::Error(_)),
        "a 1000-byte frame is only malformed"
    );
    client.send_text(" ".repeat(1001)).await;
    assert_eq!(client.close_code().await, 1009);
}

#[tokio::test]
async fn a_frame_over_the_transport_limit_still_gets_1009_or_a_drop() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    let huge = "x".repeat(17 * 1024 * 1024);
    let _ = futures_util::SinkExt::send(
        &mut client.ws,
        tokio_tungstenite::tungstenite::Message::text(huge),
    )
    .await;
    let end = client.end(false).await;
    assert!(
        matches!(end, End::Closed(1009, _) | End::Dropped),
        "{end:?}"
    );
    let stats = stub.wait_open(0).await;
    assert_eq!(stats["drops"]["too_big"], 1);
}

#[tokio::test]
async fn a_flood_closes_with_1008_and_others_keep_working() {
    let stub = Stub::start().await;
    let mut bystander = stub.connect(1).await;
    let mut flooder = stub.connect(1).await;
    for n in 0..400 {
        flooder.ping("f", n).await;
    }
    let mut pongs = 0;
    let end = loop {
        match flooder.next_raw().await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_))) => pongs += 1,
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                break u16::from(frame.code)
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    flooder.answer_close().await;
    assert_eq!(end, 1008);
    assert!(pongs < 400, "answered {pongs} pings before closing");
    bystander.assert_nothing_pending().await;
    let stats = stub.wait_open(1).await;
    assert_eq!(stats["drops"]["flood"], 1);
    assert_eq!(stats["closes"]["1008"], 1);
}

#[tokio::test]
async fn a_steady_rate_under_the_limit_is_fine() {
    let stub = Stub::start_with(|c| {
        c.rate_burst = 5;
        c.rate_per_sec = 200;
    })
    .await;
    let mut client = stub.connect(1).await;
    for n in 0..20 {
        client.ping("steady", n).await;
        assert!(matches!(client.recv_control().await, Control::Pong(_)));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn topics_beyond_the_maximum_get_limit() {
    let stub = Stub::start_with(|c| c.max_subscriptions = 2).await;
    let mut client = stub.connect(1).await;
    client
        .subscribe("a", &["agent:1", "thread:10", "user:1", "system"], &[])
        .await;
    for topic in ["user:1", "system"] {
        let Control::SubscribeError(error) = client.recv_control().await else {
            panic!("expected subscribe_error")
        };
        assert_eq!(
            (error.topic.as_str(), error.error_code.as_str()),
            (topic, "LIMIT")
        );
    }
    let Control::SubscribeAck(ack) = client.recv_control().await else {
        panic!("expected subscribe_ack")
    };
    assert_eq!(ack.topics, [Topic::agent(1), Topic::thread(10)]);
    assert_eq!(client.recv().await.kind, "agent_state");
    client.subscribe("b", &["agent:1"], &[]).await;
    let Control::SubscribeAck(ack) = client.recv_control().await else {
        panic!("a held topic is still acked")
    };
    assert_eq!(ack.topics, [Topic::agent(1)]);
    assert_eq!(client.recv().await.kind, "agent_state");
    client.unsubscribe("u", &["thread:10"]).await;
    assert!(matches!(
        client.recv_control().await,
        Control::UnsubscribeSuccess(_)
    ));
    client.subscribe_ok(&["system"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_closed_with_1008_while_another_keeps_receiving() {
    const COUNT: u64 = 200;
    const BATCH: u64 = 25;
    let stub = Stub::start_with_small_send_buffer(|c| {
        c.queue_capacity = 64;
        // The slow consumer's close is read only after the fast one has everything: on a
        // starved machine that can take many seconds, and the stub must still be waiting.
        c.close_timeout_ms = 60_000;
    })
    .await;
    let mut slow = stub.connect_small_buffer(2).await;
    slow.subscribe_ok(&["agent:2"]).await;
    let mut fast = stub.connect(2).await;
    fast.subscribe_ok(&["agent:2"]).await;
    // In batches smaller than the queue, each read in full before the next: the fast consumer
    // never holds more than a batch however slowly this machine runs it, while the slow one,
    // which reads nothing, overflows its queue within a few batches.
    let mut got = Vec::new();
    for batch in 1..=COUNT / BATCH {
        let published = stub
            .control(&format!("publish?topic=agent:2&count={BATCH}&size=16384"))
            .await;
        assert_eq!(published["last_seq"], batch * BATCH);
        while got.len() < (batch * BATCH) as usize {
            got.push(fast.recv().await.seq.expect("seq"));
        }
    }
    assert_eq!(
        got,
        (1..=COUNT).collect::<Vec<_>>(),
        "the fast consumer got everything, in order"
    );
    fast.assert_nothing_pending().await;
    let stats = stub
        .wait_stats("the slow consumer drop", |s| {
            s["drops"]["slow_consumer"] == 1
        })
        .await;
    assert_eq!(stats["per_user"]["2"]["connections_opened"], 2);

    let mut drained = 0;
    let end = loop {
        match slow.next_raw().await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_))) => drained += 1,
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                break Some(u16::from(frame.code))
            }
            other => panic!("unexpected {other:?} after {drained} frames"),
        }
    };
    slow.answer_close().await;
    assert_eq!(end, Some(1008));
    assert!(
        drained < COUNT,
        "the slow consumer was cut off ({drained} frames)"
    );
    let stats = stub.wait_open(1).await;
    assert_eq!(stats["closes"]["1008"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_never_reads_is_released_within_the_close_timeout() {
    let stub = Stub::start_with_small_send_buffer(|c| {
        c.queue_capacity = 4;
        c.close_timeout_ms = 200;
    })
    .await;
    let mut stuck = stub.connect_small_buffer(3).await;
    let seeded = stub.control("seed?owner=3&agents=1").await;
    let topic = format!("agent:{}", seeded["ids"][0]);
    stuck.subscribe_ok(&[topic.as_str()]).await;
    stub.control(&format!("publish?topic={topic}&count=100&size=16384"))
        .await;
    stub.wait_stats("the stuck socket to be released", |s| {
        s["drops"]["slow_consumer"] == 1
            && s["connections_open"] == 0
            && s["per_user"]["3"]["subscriptions"] == 0
    })
    .await;
    drop(stuck);
}
