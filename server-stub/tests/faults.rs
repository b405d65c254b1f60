//! The faults built for the chaos tests: every socket fault reports the sockets it hit and can
//! target one user, `reorder` sends an older event after a newer one, `restart` can lose the
//! history, and `published` reads back what each topic got.

mod common;

use common::{End, Stub};
use tether_wire::control::Control;
use tether_wire::Topic;

#[tokio::test]
async fn every_socket_fault_says_how_many_sockets_it_hit_and_can_target_a_user() {
    let stub = Stub::start().await;
    let mut one = stub.connect(1).await;
    let mut two = stub.connect(2).await;
    one.subscribe_ok(&["agent:1"]).await;
    two.subscribe_ok(&["agent:2"]).await;
    stub.control("publish?topic=agent:1&count=2").await;
    stub.control("publish?topic=agent:2&count=2").await;
    for client in [&mut one, &mut two] {
        client.recv().await;
        client.recv().await;
    }
    assert_eq!(stub.control("malformed?user=2").await["sockets"], 1);
    assert_eq!(two.recv_text().await, r#"{"v":1,"type":"#);
    one.assert_nothing_pending().await;
    let duplicate = stub.control("duplicate?last=1&user=1").await;
    assert_eq!(
        (
            duplicate["redelivered"].as_u64(),
            duplicate["sockets"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(one.recv().await.seq, Some(2));
    let reorder = stub.control("reorder").await;
    assert_eq!(
        (
            reorder["queued"].as_u64(),
            reorder["sockets"].as_u64(),
            reorder["topics"].as_u64()
        ),
        (Some(2), Some(2), Some(2))
    );
    assert_eq!(stub.control("refuse?ms=0").await["sockets"], 0);
    assert_eq!(stub.control("half-open?user=3").await["sockets"], 0);
    assert_eq!(stub.control("close?code=4000&user=2").await["sockets"], 1);
    assert_eq!(two.end(true).await, End::Closed(4000, String::new()));
    assert_eq!(stub.control("drop").await["sockets"], 1);
    assert_eq!(one.end(true).await, End::Dropped);
}

#[tokio::test]
async fn reorder_delivers_the_event_before_the_last_after_it() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    let mut plain = stub.connect_plain(1).await;
    client.subscribe_ok(&["thread:10"]).await;
    plain.subscribe_plain_ok(&["thread:10"]).await;
    stub.control("publish?topic=thread:10&count=3&kind=thread_message")
        .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        assert!(client.recv().await.seq.is_some());
        ids.push(common::data(&plain.recv().await)["id"].clone());
    }
    let answer = stub.control("reorder?user=1").await;
    assert_eq!(
        (answer["queued"].as_u64(), answer["sockets"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        client.recv().await.seq,
        Some(2),
        "the older event after the newest"
    );
    assert_eq!(common::data(&plain.recv().await)["id"], ids[1]);
    client.assert_nothing_pending().await;
    let single = Stub::start().await;
    single.control("publish?topic=agent:1").await;
    assert_eq!(
        single.control("reorder").await["queued"],
        0,
        "one event cannot be reordered"
    );
}

#[tokio::test]
async fn restart_can_lose_history() {
    let stub = Stub::start().await;
    stub.control("publish?topic=agent:1&count=5").await;
    let mut client = stub.connect(1).await;
    stub.wait_open(1).await;
    let answer = stub.control("restart?down_ms=0&lose_history=true").await;
    assert_eq!(
        (
            answer["sockets"].as_u64(),
            answer["lost_history"].as_bool(),
            answer["topics_reset"].as_u64()
        ),
        (Some(1), Some(true), Some(1))
    );
    assert_eq!(
        client.end(false).await,
        End::Closed(1012, "server restarting".into())
    );
    let mut back = stub.connect_when_back().await;
    back.subscribe("again", &["agent:1"], &[("agent:1", 5)])
        .await;
    let Control::SubscribeAck(ack) = back.recv_control().await else {
        panic!("expected subscribe_ack")
    };
    assert_eq!(ack.seqs[&Topic::agent(1)], 0, "the seq starts over");
    assert!(
        matches!(back.recv_control().await, Control::ResyncRequired(_)),
        "since 5 is ahead"
    );
    assert_eq!(stub.control("publish?topic=agent:1").await["first_seq"], 1);
    assert_eq!(back.recv().await.seq, Some(1));

    let kept = Stub::start().await;
    kept.control("publish?topic=agent:1&count=2").await;
    assert_eq!(kept.control("restart").await["topics_reset"], 0);
    assert_eq!(kept.control("publish?topic=agent:1").await["first_seq"], 3);
}

#[tokio::test]
async fn published_reads_back_what_each_topic_got() {
    let stub = Stub::start().await;
    stub.control("publish?topic=agent:1&count=2&kind=run_update")
        .await;
    stub.control("publish?topic=thread:10&count=1").await;
    stub.control("restart?lose_history=true").await;
    stub.control("admit").await;
    stub.control("publish?topic=agent:1&count=1").await;
    let (status, log) = stub
        .request(
            reqwest::Method::GET,
            "/api/test/published?topic=agent:1",
            None,
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        (log["epoch"].as_u64(), log["seq"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(log["evicted"], 0);
    let events = log["events"].as_array().expect("events");
    let summary: Vec<(u64, u64, &str)> = events
        .iter()
        .map(|e| {
            (
                e["epoch"].as_u64().expect("epoch"),
                e["seq"].as_u64().expect("seq"),
                e["type"].as_str().expect("type"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (0, 1, "run_update"),
            (0, 2, "run_update"),
            (1, 1, "agent_updated")
        ]
    );
    assert_ne!(
        events[0]["id"], events[1]["id"],
        "each run_update has its own run id"
    );
    assert_eq!(events[2]["id"], 1, "agent_updated names the agent");
    let (_, other) = stub
        .request(
            reqwest::Method::GET,
            "/api/test/published?topic=thread:10",
            None,
            None,
        )
        .await;
    assert_eq!(other["events"].as_array().map(Vec::len), Some(1));
    let (_, none) = stub
        .request(
            reqwest::Method::GET,
            "/api/test/published?topic=nothing",
            None,
            None,
        )
        .await;
    assert_eq!(
        (
            none["events"].as_array().map(Vec::len),
            none["seq"].as_u64()
        ),
        (Some(0), Some(0))
    );
}
