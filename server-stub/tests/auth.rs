//! Authentication and ownership: bad tokens get 4401 before any data frame, the dev token is
//! user 1, origins are checked, and no event of a refused topic ever reaches a connection.

mod common;

use common::{control, End, Stub};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tether_stub::auth::Authenticator;
use tether_wire::control::Control;
use tether_wire::control::ErrorData;
use tokio_tungstenite::tungstenite::Error as WsError;

async fn assert_unauthorized(stub: &Stub, token: &str) {
    let mut client = stub
        .connect_token(token)
        .await
        .expect("the upgrade itself is accepted");
    assert_eq!(
        client.end(false).await,
        End::Closed(4401, "unauthorized".into()),
        "token {token:?}"
    );
}

#[tokio::test]
async fn missing_invalid_and_expired_tokens_are_closed_with_4401_before_any_frame() {
    let stub = Stub::start().await;
    let expired = stub.control("token?sub=1&exp_secs=-10").await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let foreign = Authenticator::new("another secret", false)
        .mint(1, 3600)
        .expect("mint");
    for token in ["", "garbage", "a.b.c", expired.as_str(), foreign.as_str()] {
        assert_unauthorized(&stub, token).await;
    }
    let mut no_query = tokio_tungstenite::connect_async(format!("ws://{}/api/ws/v2", stub.addr))
        .await
        .expect("upgrade")
        .0;
    let frame = futures_util::StreamExt::next(&mut no_query)
        .await
        .expect("a frame")
        .expect("ok");
    assert!(
        matches!(frame, tokio_tungstenite::tungstenite::Message::Close(Some(ref f)) if u16::from(f.code) == 4401),
        "{frame:?}"
    );
    let stats = stub.stats().await;
    assert_eq!(stats["rejected_unauthorized"], 6);
    assert_eq!(stats["connection_attempts_total"], 6);
    assert_eq!(stats["connections_opened_total"], 0);
    assert_eq!(stats["closes"]["4401"], 6);
}

#[tokio::test]
async fn dev_token_is_user_1_only_in_dev_mode() {
    let stub = Stub::start().await;
    let mut client = stub.connect_token("dev-token").await.expect("connects");
    client.subscribe_ok(&["agent:1", "user:1"]).await;
    assert_eq!(stub.stats().await["per_user"]["1"]["connections_open"], 1);

    let strict = Stub::start_with(|c| c.dev = false).await;
    assert_unauthorized(&strict, "dev-token").await;
}

#[tokio::test]
async fn minted_tokens_identify_their_user() {
    let stub = Stub::start().await;
    let token = stub.control("token?sub=2&exp_secs=60").await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let mut client = stub.connect_token(&token).await.expect("connects");
    client
        .subscribe_ok(&["agent:2", "thread:11", "user:2"])
        .await;
}

#[tokio::test]
async fn foreign_origins_get_403_loopback_and_listed_ones_connect() {
    let stub = Stub::start_with(|c| c.allowed_origins = vec!["https://app.example".into()]).await;
    match stub.connect_with_origin(1, "https://evil.example").await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected HTTP 403, got {:?}", other.map(|_| ())),
    }
    for origin in [
        "http://127.0.0.1:8080",
        "http://localhost:5173",
        "https://app.example",
    ] {
        let mut client = stub.connect_with_origin(1, origin).await.expect(origin);
        client.assert_nothing_pending().await;
    }
    let stats = stub.stats().await;
    assert_eq!(stats["rejected_origin"], 1);
    assert_eq!(stats["connection_attempts_total"], 4);
}

#[tokio::test]
async fn other_users_topics_are_refused_and_their_events_never_arrive() {
    let stub = Stub::start().await;
    let mut owner = stub.connect(1).await;
    owner
        .subscribe_ok(&["agent:1", "thread:10", "user:1"])
        .await;
    stub.control("publish?topic=agent:1&count=3").await;
    for _ in 0..3 {
        assert_eq!(owner.recv().await.kind, "agent_updated");
    }

    let mut intruder = stub.connect(2).await;
    let topics = ["agent:1", "thread:10", "user:1"];
    let since = [("agent:1", 0), ("thread:10", 0), ("user:1", 0)];
    intruder.subscribe("steal", &topics, &since).await;
    for topic in topics {
        let Control::SubscribeError(error) = intruder.recv_control().await else {
            panic!("expected subscribe_error")
        };
        assert_eq!(
            (error.topic.as_str(), error.error_code.as_str()),
            (topic, "FORBIDDEN")
        );
    }
    let Control::SubscribeAck(ack) = intruder.recv_control().await else {
        panic!("expected subscribe_ack")
    };
    assert!(ack.topics.is_empty() && ack.seqs.is_empty());
    intruder.assert_nothing_pending().await;

    stub.request(
        Method::PATCH,
        "/api/agents/1",
        Some(1),
        Some(json!({"status": "busy"})),
    )
    .await;
    stub.request(
        Method::POST,
        "/api/agents",
        Some(1),
        Some(json!({"name": "New"})),
    )
    .await;
    owner.send_message("o", 10, "private").await;
    intruder.send_message("i", 10, "let me in").await;
    let reply = intruder.recv().await;
    assert!(
        matches!(control(&reply), Control::Error(ErrorData { ref error, .. }) if error == "FORBIDDEN"),
        "{reply:?}"
    );
    intruder.assert_nothing_pending().await;
    assert!(stub.stats().await["per_user"]["2"]["subscriptions"] == 0);
}

#[tokio::test]
async fn rest_requires_a_token_and_enforces_ownership() {
    let stub = Stub::start().await;
    let (status, body) = stub.request(Method::GET, "/api/agents", None, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("UNAUTHORIZED"))
    );
    let bad = stub
        .http
        .get(stub.url("/api/agents"))
        .bearer_auth("nope")
        .send()
        .await
        .expect("http");
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let by_query = stub
        .http
        .get(stub.url(&format!("/api/agents?token={}", stub.token(2))))
        .send()
        .await
        .expect("http");
    assert_eq!(by_query.status(), StatusCode::OK);
    let agents: serde_json::Value = by_query.json().await.expect("json");
    assert_eq!(agents["agents"][0]["id"], 2);

    for (method, path) in [
        (Method::GET, "/api/agents/2"),
        (Method::PATCH, "/api/agents/2"),
        (Method::DELETE, "/api/agents/2"),
        (Method::POST, "/api/agents/2/run"),
        (Method::GET, "/api/threads/11/messages"),
        (Method::POST, "/api/threads/11/messages"),
        (Method::PATCH, "/api/threads/11"),
        (Method::DELETE, "/api/threads/11"),
        (Method::GET, "/api/threads?agent_id=2"),
    ] {
        let body = json!({"content": "x", "title": "x", "name": "x"});
        let (status, answer) = stub
            .request(method.clone(), path, Some(1), Some(body))
            .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("FORBIDDEN")),
            "{method} {path}"
        );
    }
    let (status, _) = stub
        .request(
            Method::POST,
            "/api/threads",
            Some(1),
            Some(json!({"agent_id": 2, "title": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = stub
        .request(Method::GET, "/api/agents/999", Some(1), None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
}
