//! The HTTP surface around the API: health, stats, unknown routes, test control being off by
//! default, CORS for loopback origins only, and static files with an SPA fallback.

mod common;

use common::Stub;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn health_stats_and_unknown_routes() {
    let stub = Stub::start().await;
    let (status, health) = stub.request(Method::GET, "/api/health", None, None).await;
    assert_eq!((status, health), (StatusCode::OK, json!({"ok": true})));
    let mut client = stub.connect(4).await;
    client.subscribe_ok(&["system"]).await;
    client.assert_nothing_pending().await;
    let stats = stub.stats().await;
    for key in [
        "connections_opened_total",
        "connections_open",
        "connection_attempts_total",
        "rejected_unauthorized",
        "rejected_refused",
        "frames_in",
        "frames_out",
        "subscribe_frames_in",
    ] {
        assert!(stats[key].is_u64(), "{key} in {stats}");
    }
    assert_eq!(
        (
            stats["connections_opened_total"].as_u64(),
            stats["connections_open"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        (stats["frames_in"].as_u64(), stats["frames_out"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(stats["subscribers"], json!({"system": 1}));
    assert_eq!(
        stats["drops"],
        json!({"slow_consumer": 0, "flood": 0, "too_big": 0, "write_timeout": 0, "protocol": 0})
    );
    assert!(stats["closes"].is_object());
    assert_eq!(
        stats["per_user"]["4"],
        json!({"connections_opened": 1, "connections_open": 1, "subscriptions": 1, "subscribe_frames_in": 1})
    );
    let (status, body) = stub
        .request(Method::GET, "/api/nothing/here", None, None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    let (status, _) = stub
        .request(Method::POST, "/api/test/drop", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "test control is on in tests");
    let plain = Stub::start_with(|c| c.test_control = false).await;
    let (status, _) = plain
        .request(Method::POST, "/api/test/drop", None, None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "test control is off by default"
    );
}

#[tokio::test]
async fn cors_allows_loopback_origins_only() {
    let stub = Stub::start().await;
    let preflight = |origin: &'static str| {
        stub.http
            .request(Method::OPTIONS, stub.url("/api/agents"))
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("http://localhost:5173").await.expect("http");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let refused = preflight("https://evil.example").await.expect("http");
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn static_files_with_spa_fallback() {
    let dir = std::env::temp_dir().join(format!("tether-stub-static-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("index.html"), "<!doctype html>app").expect("index");
    std::fs::write(dir.join("app.js"), "console.log(1)").expect("js");
    let static_dir = dir.clone();
    let stub = Stub::start_with(move |c| c.static_dir = static_dir).await;
    for (path, body) in [
        ("/", "<!doctype html>app"),
        ("/app.js", "console.log(1)"),
        ("/agents/7", "<!doctype html>app"),
    ] {
        let response = stub.http.get(stub.url(path)).send().await.expect("http");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.text().await.expect("text"), body, "{path}");
    }
    let (status, body): (StatusCode, Value) =
        stub.request(Method::GET, "/api/unknown", None, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND")),
        "API 404s do not fall back"
    );
    std::fs::remove_dir_all(dir).ok();
}
