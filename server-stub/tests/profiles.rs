//! The two profiles and the negotiation of tether's extensions. In the tether profile a
//! connection that asks (`tether=1`) gets acknowledgements, `seq` and replay, and one that does
//! not gets the origin's behaviour in tether's shapes; both can hold the same topic. The origin
//! profile never grants extensions, refuses topics with `error` frames, echoes the subscribe's
//! `message_id` on the snapshot, refuses bad tokens with HTTP 403, closes silent sockets with
//! 4408, and answers REST without `seq`.

mod common;

use common::{agents, control, data, End, Stub};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use tether_stub::Profile;
use tether_wire::agents::AgentsMessage;
use tether_wire::control::Control;
use tokio_tungstenite::tungstenite::Error as WsError;

async fn origin() -> Stub {
    Stub::start_with(|c| c.profile = Profile::Origin).await
}

#[tokio::test]
async fn extended_and_plain_subscribers_share_a_topic_each_in_its_dialect() {
    let stub = Stub::start().await;
    let mut extended = stub.connect(1).await;
    let mut plain = stub.connect_plain(1).await;
    extended.subscribe_ok(&["agent:1"]).await;
    plain.subscribe_plain_ok(&["agent:1"]).await;
    stub.control("publish?topic=agent:1&count=2").await;
    for seq in 1..=2 {
        let numbered = extended.recv().await;
        let bare = plain.recv().await;
        assert_eq!(numbered.seq, Some(seq));
        assert_eq!(bare.seq, None);
        assert_eq!(
            (
                bare.kind.as_str(),
                bare.topic.as_str(),
                bare.ts,
                data(&bare)
            ),
            (
                numbered.kind.as_str(),
                numbered.topic.as_str(),
                numbered.ts,
                data(&numbered)
            ),
            "the same event bar seq"
        );
    }
    extended.assert_nothing_pending().await;
    plain.assert_nothing_pending().await;
}

#[tokio::test]
async fn a_plain_connection_gets_no_ack_no_replay_and_refusals_as_errors() {
    let stub = Stub::start().await;
    stub.control("publish?topic=agent:1&count=3").await;
    let mut client = stub.connect_plain(1).await;
    client
        .subscribe("s1", &["agent:1", "agent:2"], &[("agent:1", 1)])
        .await;
    let snapshot = client.recv().await;
    assert_eq!(
        (
            snapshot.kind.as_str(),
            snapshot.req_id.as_deref(),
            snapshot.seq
        ),
        ("agent_state", None, None),
        "since is ignored: the snapshot, not a replay"
    );
    let refusal = client.recv().await;
    assert_eq!(refusal.req_id.as_deref(), Some("s1"));
    assert_eq!(
        data(&refusal),
        json!({
            "error": "FORBIDDEN",
            "details": {
                "message_id": "s1",
                "topic": "agent:2",
                "message": "agent 2 belongs to another user",
            }
        })
    );
    client.assert_nothing_pending().await;
    client.send_message("r1", 12, "direct").await;
    let echoed = client.recv().await;
    assert_eq!(
        (echoed.kind.as_str(), echoed.req_id.as_deref(), echoed.seq),
        ("thread_message", Some("r1"), None),
        "the sender's echo is plain too"
    );
}

#[tokio::test]
async fn both_paths_serve_the_socket_in_both_profiles() {
    for profile in [Profile::Tether, Profile::Origin] {
        let stub = Stub::start_with(|c| c.profile = profile).await;
        for path in ["/api/ws", "/api/ws/v2"] {
            let url = format!("ws://{}{path}?token={}", stub.addr, stub.token(1));
            let mut client = stub.connect_url(&url).await.expect("connects");
            client.assert_nothing_pending().await;
        }
    }
}

#[tokio::test]
async fn the_origin_profile_ignores_tether_1() {
    let stub = origin().await;
    let mut client = stub.connect(1).await;
    client
        .subscribe("s1", &["agent:1", "thread:10"], &[("agent:1", 0)])
        .await;
    let snapshot = client.recv().await;
    assert_eq!(
        (
            snapshot.kind.as_str(),
            snapshot.req_id.as_deref(),
            snapshot.seq
        ),
        ("agent_state", Some("s1"), None),
        "no ack, no replay: the snapshot, echoing the message_id"
    );
    let AgentsMessage::AgentState(agent) = agents(&snapshot) else {
        panic!("expected agent_state")
    };
    assert_eq!(agent.owner_id, None, "the origin's agents have no owner_id");
    assert!(data(&snapshot)["description"].is_string());
    client.assert_nothing_pending().await;

    stub.request(
        Method::PATCH,
        "/api/agents/1",
        Some(1),
        Some(json!({"status": "busy"})),
    )
    .await;
    let update = client.recv().await;
    assert_eq!(update.seq, None);
    assert_eq!(data(&update), json!({"id": 1, "status": "busy"}));

    // The origin's handler reads the fields from the frame's top level (origin_chat.rs).
    let frame = json!({"v": 1, "type": "send_message", "topic": "thread:10", "ts": 1,
        "message_id": "m1", "thread_id": 10, "content": "hi",
        "data": {"thread_id": 10, "content": "hi"}});
    client.send_text(frame.to_string()).await;
    let message = client.recv().await;
    assert_eq!((message.req_id.as_deref(), message.seq), (Some("m1"), None));
    let nested = data(&message);
    assert_eq!(nested["thread_id"], 10);
    assert_eq!(nested["message"]["content"], "hi");
    assert!(nested["message"]["created_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
}

#[tokio::test]
async fn the_origin_profile_refuses_topics_with_error_frames() {
    let stub = origin().await;
    let mut client = stub.connect_plain(1).await;
    client
        .subscribe("s2", &["agent:5", "thread:11", "room:1"], &[])
        .await;
    let mut texts = Vec::new();
    for _ in 0..3 {
        let error = client.recv().await;
        assert_eq!(error.req_id.as_deref(), Some("s2"));
        let Control::Error(body) = control(&error) else {
            panic!("expected error")
        };
        assert_eq!(body.details, Some(json!({"message_id": "s2"})));
        texts.push(body.error);
    }
    assert_eq!(texts[0], "Agent 5 not found");
    assert!(texts[1].contains("Thread 11"), "{texts:?}");
    assert_eq!(
        texts[2],
        "Invalid topic format: Unsupported topic type 'room'"
    );
    client.assert_nothing_pending().await;
    assert_eq!(stub.stats().await["per_user"]["1"]["subscriptions"], 0);
}

/// The origin's handler closes the socket before accepting it (asking for 4401), which its
/// ASGI server (uvicorn) answers with HTTP 403.
#[tokio::test]
async fn the_origin_profile_refuses_bad_tokens_at_the_handshake_with_403() {
    let stub = origin().await;
    for url in [
        format!("ws://{}/api/ws?token=garbage", stub.addr),
        format!("ws://{}/api/ws", stub.addr),
        format!("ws://{}/api/ws/v2?token=garbage&tether=1", stub.addr),
    ] {
        match stub.connect_url(&url).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 403, "{url}"),
            other => panic!("expected HTTP 403 for {url}, got {:?}", other.map(|_| ())),
        }
    }
    let stats = stub.stats().await;
    assert_eq!(stats["rejected_unauthorized"], 3);
    assert_eq!(stats["connections_opened_total"], 0);
}

#[tokio::test]
async fn the_origin_profile_closes_a_silent_socket_with_4408() {
    let stub = Stub::start_with(|c| {
        c.profile = Profile::Origin;
        c.idle_timeout_ms = 2000;
    })
    .await;
    let mut client = stub.connect_plain(1).await;
    let started = tokio::time::Instant::now();
    assert_eq!(
        client.end(false).await,
        End::Closed(4408, "idle timeout".into())
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[tokio::test]
async fn the_origin_profile_answers_rest_without_seq() {
    let stub = origin().await;
    let agents = stub.get("/api/agents", 1).await;
    assert!(agents.get("seq").is_none(), "{agents}");
    assert_eq!(agents["agents"].as_array().map(Vec::len), Some(2));
    let messages = stub.get("/api/threads/10/messages", 1).await;
    assert!(messages.get("seq").is_none(), "{messages}");
    let tether = Stub::start().await;
    assert_eq!(tether.get("/api/agents", 1).await["seq"], 0);
}
