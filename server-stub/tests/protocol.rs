//! The message types over a real socket: ping/pong, subscribe (reply order, snapshot, errors,
//! resubscribe), unsubscribe, send_message, decode errors, heartbeats and idle timeout.

mod common;

use common::{agents, control, data, End, Stub};
use futures_util::SinkExt;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use tether_wire::agents::AgentsMessage;
use tether_wire::control::Control;
use tether_wire::control::{ErrorData, Heartbeat};
use tether_wire::Topic;

#[tokio::test]
async fn ping_is_answered_with_pong_echoing_timestamp_and_req_id() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    client.ping("p7", 1_767_225_600_000).await;
    let pong = client.recv().await;
    assert_eq!(pong.req_id.as_deref(), Some("p7"));
    assert_eq!(pong.topic, Topic::system());
    assert_eq!(pong.seq, None);
    assert!(pong.ts > 0);
    assert_eq!(
        control(&pong),
        Control::Pong(Heartbeat {
            timestamp: Some(1_767_225_600_000)
        })
    );
}

#[tokio::test]
async fn subscribe_answers_errors_then_ack_then_snapshots() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    let topics = [
        "agent:1",
        "agent:2",
        "room:1",
        "thread:10",
        "agent:99",
        "user:1",
        "system",
        "agent:3",
        "thread:11",
    ];
    client.subscribe("s1", &topics, &[]).await;
    for (topic, code) in [
        ("agent:2", "FORBIDDEN"),
        ("room:1", "INVALID_TOPIC"),
        ("agent:99", "NOT_FOUND"),
        ("thread:11", "FORBIDDEN"),
    ] {
        let Control::SubscribeError(error) = client.recv_control().await else {
            panic!("expected subscribe_error")
        };
        assert_eq!(
            (
                error.topic.as_str(),
                error.error_code.as_str(),
                error.message_id.as_deref()
            ),
            (topic, code, Some("s1"))
        );
        assert!(!error.error.is_empty());
    }
    let ack = client.recv().await;
    let Control::SubscribeAck(ack) = control(&ack) else {
        panic!("expected subscribe_ack, got {ack:?}")
    };
    assert_eq!(ack.message_id.as_deref(), Some("s1"));
    assert_eq!(
        ack.topics,
        ["agent:1", "thread:10", "user:1", "system", "agent:3"].map(Topic::from)
    );
    assert!(ack.seqs.values().all(|&s| s == 0) && ack.seqs.len() == 5);
    for id in [1, 3] {
        let snapshot = client.recv().await;
        assert_eq!(snapshot.topic, Topic::agent(id));
        assert_eq!(snapshot.seq, None, "snapshots carry no seq");
        let AgentsMessage::AgentState(agent) = agents(&snapshot) else {
            panic!("expected agent_state")
        };
        assert_eq!((agent.id, agent.owner_id), (id, Some(1)));
    }
    client.assert_nothing_pending().await;
    let stats = stub.stats().await;
    assert_eq!(stats["subscribers"]["agent:1"], 1);
    assert_eq!(stats["per_user"]["1"]["subscriptions"], 5);
    assert_eq!(stats["subscribe_frames_in"], 1);
}

#[tokio::test]
async fn resubscribing_is_harmless_and_duplicates_collapse() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["agent:1"]).await;
    client
        .subscribe("again", &["agent:1", "agent:1"], &[])
        .await;
    let Control::SubscribeAck(ack) = client.recv_control().await else {
        panic!("expected subscribe_ack")
    };
    assert_eq!(ack.topics, [Topic::agent(1)]);
    assert_eq!(client.recv().await.kind, "agent_state");
    client.assert_nothing_pending().await;
    stub.request(
        Method::PATCH,
        "/api/agents/1",
        Some(1),
        Some(json!({"status": "running"})),
    )
    .await;
    assert_eq!(client.recv().await.kind, "agent_updated");
    client.assert_nothing_pending().await;
    let stats = stub.stats().await;
    assert_eq!(stats["subscribers"]["agent:1"], 1);
    assert_eq!(stats["per_user"]["1"]["subscriptions"], 1);
}

#[tokio::test]
async fn unsubscribe_confirms_and_stops_events() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["agent:1", "system"]).await;
    client.unsubscribe("u1", &["agent:1", "thread:999"]).await;
    let Control::UnsubscribeSuccess(done) = client.recv_control().await else {
        panic!("expected unsubscribe_success")
    };
    assert_eq!(
        (done.message_id.as_deref(), done.topics.as_slice()),
        (Some("u1"), [Topic::agent(1), Topic::thread(999)].as_slice())
    );
    stub.request(
        Method::PATCH,
        "/api/agents/1",
        Some(1),
        Some(json!({"name": "Renamed"})),
    )
    .await;
    client.assert_nothing_pending().await;
    let stats = stub.stats().await;
    assert!(stats["subscribers"].get("agent:1").is_none());
    assert_eq!(stats["per_user"]["1"]["subscriptions"], 1);
}

#[tokio::test]
async fn send_message_reply_is_the_published_event_once() {
    let stub = Stub::start().await;
    let mut sender = stub.connect(1).await;
    let mut watcher = stub.connect(1).await;
    sender.subscribe_ok(&["thread:10"]).await;
    watcher.subscribe_ok(&["thread:10"]).await;
    sender.send_message("r3", 10, "Hello, agent").await;
    for client in [&mut sender, &mut watcher] {
        let event = client.recv().await;
        assert_eq!(
            (event.topic.as_str(), event.req_id.as_deref(), event.seq),
            ("thread:10", Some("r3"), Some(1))
        );
        let AgentsMessage::ThreadMessage(message) = agents(&event) else {
            panic!("expected thread_message")
        };
        assert_eq!(
            (
                message.thread_id,
                message.role.as_str(),
                message.content.as_str()
            ),
            (10, "user", "Hello, agent")
        );
        client.assert_nothing_pending().await;
    }
    let history = stub.get("/api/threads/10/messages", 1).await;
    assert_eq!(history["seq"], 1);
    assert_eq!(
        history["messages"]
            .as_array()
            .expect("array")
            .last()
            .expect("one")["content"],
        "Hello, agent"
    );
}

#[tokio::test]
async fn send_message_reaches_a_sender_that_does_not_hold_the_topic() {
    let stub = Stub::start().await;
    let mut sender = stub.connect(1).await;
    sender.send_message("r1", 12, "direct").await;
    let event = sender.recv().await;
    assert_eq!((event.req_id.as_deref(), event.seq), (Some("r1"), Some(1)));
    assert_eq!(event.kind, "thread_message");
    sender.assert_nothing_pending().await;
}

#[tokio::test]
async fn refused_send_message_gets_an_error_with_req_id_and_publishes_nothing() {
    let stub = Stub::start().await;
    let mut owner = stub.connect(2).await;
    owner.subscribe_ok(&["thread:11"]).await;
    let mut client = stub.connect(1).await;
    for (req_id, thread_id, code) in [("f", 11, "FORBIDDEN"), ("n", 999, "NOT_FOUND")] {
        client.send_message(req_id, thread_id, "hi").await;
        let reply = client.recv().await;
        assert_eq!(reply.req_id.as_deref(), Some(req_id));
        let Control::Error(ErrorData { error, .. }) = control(&reply) else {
            panic!("expected error")
        };
        assert_eq!(error, code);
    }
    client.send_text(r#"{"v":1,"type":"send_message","topic":"thread:12","req_id":"m","ts":0,"data":{"thread_id":10,"content":"x"}}"#).await;
    let reply = client.recv().await;
    assert!(
        matches!(control(&reply), Control::Error(ErrorData { ref error, .. }) if error == "INVALID_DATA"),
        "{reply:?}"
    );
    client.assert_nothing_pending().await;
    owner.assert_nothing_pending().await;
    assert_eq!(stub.get("/api/threads/11/messages", 2).await["seq"], 0);
}

#[tokio::test]
async fn undecodable_frames_get_error_frames_and_the_connection_stays_up() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    let cases = [
        ("{not json", "MALFORMED", None),
        (r#"{"type":"ping","data":{}}"#, "MALFORMED", None),
        (
            r#"{"v":2,"type":"ping","req_id":"v","data":{"timestamp":1}}"#,
            "UNSUPPORTED_VERSION",
            Some("v"),
        ),
        (
            r#"{"v":1,"type":"teleport","req_id":"t","data":{}}"#,
            "UNKNOWN_TYPE",
            Some("t"),
        ),
        (
            r#"{"v":1,"type":"ping","req_id":"d","data":{"timestamp":"soon"}}"#,
            "INVALID_DATA",
            Some("d"),
        ),
        (
            r#"{"v":1,"type":"subscribe","data":{"topics":"agent:1"}}"#,
            "INVALID_DATA",
            None,
        ),
    ];
    for (text, code, req_id) in cases {
        client.send_text(text).await;
        let reply = client.recv().await;
        assert_eq!(
            (reply.topic.as_str(), reply.req_id.as_deref()),
            ("system", req_id),
            "{text}"
        );
        assert!(data(&reply)["details"]["message"].is_string(), "{reply:?}");
        let Control::Error(ErrorData { error, .. }) = control(&reply) else {
            panic!("expected error for {text}")
        };
        assert_eq!(error, code, "{text}");
    }
    client
        .ws
        .send(tokio_tungstenite::tungstenite::Message::binary(vec![
            1, 2, 3,
        ]))
        .await
        .expect("send binary");
    let Control::Error(ErrorData { error, .. }) = client.recv_control().await else {
        panic!("expected error")
    };
    assert_eq!(error, "MALFORMED");
    client.subscribe_ok(&["agent:1"]).await;
    client.assert_nothing_pending().await;
}

#[tokio::test]
async fn client_pong_is_accepted_silently() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    client
        .send_text(r#"{"v":1,"type":"pong","topic":null,"req_id":null,"ts":1,"data":{}}"#)
        .await;
    client.assert_nothing_pending().await;
}

#[tokio::test]
async fn server_pings_on_its_interval() {
    let stub = Stub::start_with(|c| c.ping_interval_ms = 40).await;
    let mut client = stub.connect(1).await;
    for _ in 0..3 {
        let ping = client.recv().await;
        assert_eq!(
            control(&ping),
            Control::Ping(Heartbeat::default()),
            "{ping:?}"
        );
        assert_eq!(
            (ping.topic, ping.req_id, ping.seq),
            (Topic::system(), None, None)
        );
        client
            .send_text(r#"{"v":1,"type":"pong","topic":null,"req_id":null,"ts":1,"data":{}}"#)
            .await;
    }
}

#[tokio::test]
async fn silence_closes_with_4408_while_traffic_keeps_the_connection() {
    let stub = Stub::start_with(|c| c.idle_timeout_ms = 200).await;
    let mut talker = stub.connect(1).await;
    let mut silent = stub.connect(1).await;
    for n in 0..8 {
        talker.ping("keep", n).await;
        assert!(matches!(talker.recv_control().await, Control::Pong(_)));
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    talker.assert_nothing_pending().await;
    assert_eq!(
        silent.end(false).await,
        End::Closed(4408, "idle timeout".into())
    );
    assert!(stub.stats().await["closes"]["4408"].as_u64() >= Some(1));
}

#[tokio::test]
async fn client_close_is_counted_and_the_socket_released() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["agent:1"]).await;
    let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: 4000.into(),
        reason: "dead".into(),
    };
    client.ws.close(Some(frame)).await.expect("close");
    assert_eq!(client.end(true).await, End::Closed(4000, "dead".into()));
    let stats = stub.wait_open(0).await;
    assert_eq!(stats["client_closes"]["4000"], 1);
    assert_eq!(stats["per_user"]["1"]["subscriptions"], 0);
    assert!(stats["subscribers"].get("agent:1").is_none());
}

#[tokio::test]
async fn graceful_shutdown_closes_every_socket_with_1001() {
    let stub = Stub::start().await;
    let mut first = stub.connect(1).await;
    let mut second = stub.connect(2).await;
    first.subscribe_ok(&["agent:1"]).await;
    stub.wait_open(2).await;
    let addr = stub.addr;
    let (a, b, stopped) = tokio::join!(first.end(false), second.end(false), stub.shutdown());
    assert_eq!(a, End::Closed(1001, "server shutting down".into()));
    assert_eq!(b, End::Closed(1001, "server shutting down".into()));
    stopped.expect("serve returns Ok");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}
