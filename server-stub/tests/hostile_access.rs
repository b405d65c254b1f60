//! Who gets in (issue 16, finding 9): without `--dev` the stub accepted tokens signed with its
//! public default secret, `nbf` was not checked, `/api/stats` listed every user's ids and
//! topics to anyone, origins with ports over 65535 passed, and REST read `01` and `+1` as 1.

mod common;

use common::hostile::assert_served;
use common::{Stub, TEST_SECRET};
use reqwest::{Method, StatusCode};
use std::process::Stdio;
use tether_stub::config::DEV_JWT_SECRET;

/// Runs the binary without `--dev`; returns whether it started, and what it said on stderr.
async fn starts(args: &[&str], env_secret: Option<&str>) -> (bool, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_server-stub"));
    command
        .args(["--port", "0"])
        .args(args)
        .env_remove("STUB_JWT_SECRET");
    if let Some(secret) = env_secret {
        command.env("STUB_JWT_SECRET", secret);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let exited = tokio::time::timeout(std::time::Duration::from_secs(2), child.wait()).await;
    match exited {
        Ok(status) => {
            let mut stderr = String::new();
            let mut pipe = child.stderr.take().expect("stderr");
            tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut stderr)
                .await
                .expect("read");
            assert!(!status.expect("status").success());
            (false, stderr)
        }
        Err(_) => (true, String::new()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dev_a_real_secret_is_required() {
    let (started, said) = starts(&[], None).await;
    assert!(!started && said.contains("no JWT secret"), "{said}");
    let (started, said) = starts(&[], Some(DEV_JWT_SECRET)).await;
    assert!(!started && said.contains("--dev"), "{said}");
    let (started, said) = starts(&[], Some("short")).await;
    assert!(!started && said.contains("32 bytes"), "{said}");
    let file = std::env::temp_dir().join(format!("stub-secret-{}", std::process::id()));
    std::fs::write(&file, format!("{TEST_SECRET}\n")).expect("write the secret");
    let path = file.to_str().expect("utf-8 path");
    assert!(starts(&["--jwt-secret-file", path], None).await.0);
    assert!(starts(&[], Some(TEST_SECRET)).await.0);
    assert!(starts(&["--dev"], None).await.0, "--dev needs no secret");
    std::fs::remove_file(file).expect("remove");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_public_secret_or_not_valid_yet_are_refused() {
    let stub = Stub::start_with(|c| c.dev = false).await;
    let public = tether_stub::auth::Authenticator::new(DEV_JWT_SECRET, false)
        .mint(1, 3600)
        .expect("mint");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = serde_json::json!({ "sub": "1", "exp": now + 7200, "nbf": now + 3600 });
    let key = jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes());
    let early =
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("mint");
    for token in [public, early] {
        let response = stub
            .http
            .get(stub.url("/api/agents"))
            .bearer_auth(token)
            .send()
            .await
            .expect("http");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_served(&stub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_need_a_token_and_show_only_the_callers_own_entry() {
    let stub = Stub::start_with(|c| {
        c.dev = false;
        c.test_control = false;
    })
    .await;
    let mut other = stub.connect(1).await;
    other.subscribe_ok(&["agent:1"]).await;
    let (status, _) = stub.request(Method::GET, "/api/stats", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, stats) = stub.request(Method::GET, "/api/stats", Some(2), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["connections_open"], 1, "aggregate counters stay");
    assert!(stats.get("subscribers").is_none(), "no topics: {stats}");
    assert!(
        stats["per_user"].get("1").is_none(),
        "no other user: {stats}"
    );
    let (_, own) = stub.request(Method::GET, "/api/stats", Some(1), None).await;
    assert_eq!(own["per_user"]["1"]["subscriptions"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_origins_and_non_canonical_ids_are_refused() {
    let stub = Stub::start().await;
    for origin in [
        "http://localhost:99999",
        "http://localhost:65536",
        "http://127.0.0.1:0",
    ] {
        let refused = stub.connect_with_origin(1, origin).await;
        assert!(refused.is_err(), "{origin} was let in");
    }
    assert!(stub
        .connect_with_origin(1, "http://localhost:65535")
        .await
        .is_ok());
    for id in ["01", "+1", "1.0", "%2B1", " 1"] {
        let (status, _) = stub
            .request(Method::GET, &format!("/api/agents/{id}"), Some(1), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "/api/agents/{id}");
    }
    let (status, _) = stub
        .request(Method::GET, "/api/agents/1", Some(1), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_served(&stub).await;
}
