//! The native client against the stub in each profile, the origin's contract first: with the
//! stub's idle timeout cut to 2 s and its heartbeat at 500 ms, the client (default settings:
//! its own heartbeat every 25 s) stays on one socket for three times that, with no 4408,
//! because it answers the server's pings; and it receives the platform's events, each decoded
//! as its type: `agent_state` (the snapshot), `agent_updated` (a REST change), `thread_message`
//! (a posted message) and the simulated assistant's streamed reply (`stream_start`, `stream_chunk`,
//! `stream_end`). Every frame on the wire is checked against the origin's contract, the stub's
//! too in the origin's profile.

#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tether_client::agents::AgentsMessage;
use tether_client::core::Config;
use tether_client::{Topic, TopicEvent};
use tether_tests::stub::{Profile, Stub};

const IDLE_MS: u64 = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_origin_profile_the_client_stays_connected_and_gets_every_kind_typed() {
    stays_connected_and_gets_every_kind(Profile::Origin, "/api/ws").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_tether_profile_the_same_holds() {
    stays_connected_and_gets_every_kind(Profile::Tether, "/api/ws/v2").await;
}

async fn stays_connected_and_gets_every_kind(profile: Profile, path: &str) {
    tokio::task::LocalSet::new()
        .run_until(async move {
            let stub = Stub::start(|c| {
                c.profile = profile;
                c.idle_timeout_ms = IDLE_MS;
                c.ping_interval_ms = 500;
                c.simulate = true;
                c.simulate_interval_ms = 60_000;
                c.stream_chunk_ms = 20;
            })
            .await;
            let user = 77;
            let (agents, threads) = stub.seed(user, 1, 1).await;
            let (agent, thread) = (agents[0], threads[0]);
            let token = stub.token(user).await;
            let url = stub.ws_url().replace("/api/ws/v2", path);
            let provider = token.clone();
            let config = Config::new(url).with_token(move || Some(provider.clone()));
            let (app, driver, _) = tether_client::native::app(config, 1);
            tokio::task::spawn_local(driver.run());
            app.client.connect();

            let kinds: Rc<RefCell<Vec<String>>> = Rc::default();
            let record = |kinds: &Rc<RefCell<Vec<String>>>| {
                let kinds = kinds.clone();
                move |e: &TopicEvent| {
                    if let Some(Ok(message)) = e.decode::<AgentsMessage>() {
                        kinds.borrow_mut().push(typed_kind(&message).to_owned());
                    }
                }
            };
            let _agent_view = app.topics.subscribe(Topic::agent(agent), record(&kinds));
            let _thread_view = app.topics.subscribe(Topic::thread(thread), record(&kinds));
            wait("the client open", || app.client.state().is_open()).await;
            let started = Instant::now();

            let http = tether_tests::stub::http_client();
            let patched = http
                .patch(format!("{}/api/agents/{agent}", stub.url))
                .bearer_auth(&token)
                .json(&serde_json::json!({ "status": "busy" }))
                .send()
                .await
                .expect("PATCH");
            assert!(patched.status().is_success(), "{}", patched.status());
            stub.post_message(&token, thread, "hello")
                .await
                .expect("posted");

            let wanted = [
                "agent_state",
                "agent_updated",
                "thread_message",
                "stream_start",
                "stream_chunk",
                "stream_end",
            ];
            wait_with(
                "every kind, typed",
                || wanted.iter().all(|k| kinds.borrow().iter().any(|s| s == k)),
                || format!("{:?}", kinds.borrow()),
            )
            .await;
            let hold = Duration::from_millis(3 * IDLE_MS + 500);
            tokio::time::sleep(hold.saturating_sub(started.elapsed())).await;

            let stats = stub.stats().await;
            assert_eq!(stats["closes"]["4408"], serde_json::Value::Null, "{stats}");
            assert_eq!(
                stub.user_stat(user, "connections_opened").await,
                1,
                "one socket for {} ms",
                started.elapsed().as_millis()
            );
            assert!(app.client.state().is_open());
            assert_eq!(app.client.metrics().counters.reconnects, 0);
            let mut counts = std::collections::BTreeMap::<String, usize>::new();
            for kind in kinds.borrow().iter() {
                *counts.entry(kind.clone()).or_default() += 1;
            }
            let frames = stub.assert_frames_conform();
            if profile == Profile::Origin {
                assert!(frames.server > 0, "the origin's frames were validated too: {frames}");
            }
            println!(
                "{profile:?} profile: on one socket for {} ms (idle timeout {IDLE_MS} ms), no 4408; typed events: {counts:?}; {frames}",
                started.elapsed().as_millis(),
            );
        })
        .await;
}

/// The wire type a decoded message stands for.
fn typed_kind(m: &AgentsMessage) -> &'static str {
    match m {
        AgentsMessage::AgentState(_) => "agent_state",
        AgentsMessage::AgentUpdated(_) => "agent_updated",
        AgentsMessage::ThreadMessage(_) => "thread_message",
        AgentsMessage::StreamStart(_) => "stream_start",
        AgentsMessage::StreamChunk(_) => "stream_chunk",
        AgentsMessage::StreamEnd(_) => "stream_end",
        AgentsMessage::AssistantId(_) => "assistant_id",
        _ => "other",
    }
}

async fn wait(what: &str, cond: impl Fn() -> bool) {
    wait_with(what, cond, String::new).await;
}

async fn wait_with(what: &str, cond: impl Fn() -> bool, extra: impl Fn() -> String) {
    let started = Instant::now();
    while !cond() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}: {}",
            extra()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
