//! The native client against the stub in each profile, the origin's contract first: with the
//! stub's idle timeout cut to 2 s and its heartbeat at 500 ms, the client (default settings:
//! its own heartbeat every 25 s) stays on one socket for three times that, with no 4408,
//! because it answers the server's pings; and it receives the platform's events, each decoded
//! as its type: `agent_state` (the snapshot), `agent_updated` (a REST change), `thread_message`
//! (a posted message) and the simulated assistant's streamed reply (`stream_start`, `stream_chunk`,
//! `stream_end`). Every frame on the wire is checked against the origin's contract, the stub's
//! too in the origin's profile. Then the chat against each profile (over REST to the origin,
//! stored once and shown once), and topics refused in a batched `subscribe` (refused, whatever
//! the batching).

#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tether_client::protocol::agents::AgentsMessage;
use tether_client::protocol::Topic;
use tether_client::Config;
use tether_client::TopicEvent;
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
            match profile {
                Profile::Tether => {
                    stub.post_message(&token, thread, "hello")
                        .await
                        .expect("posted");
                }
                Profile::Origin => {
                    // The origin announces a message only when its socket stores it, and
                    // answers only a run of the thread. The frame is the origin's own front
                    // end's, not an envelope: it goes to the stub directly, not through the
                    // audit of what tether sends.
                    let direct = stub.url.replacen("http", "ws", 1);
                    let ws = format!("{direct}{path}?token={token}");
                    send_at_top_level(ws, thread, "hello").await;
                    run_thread(&stub, &token, thread).await;
                }
            }

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
            // Against the origin, the message was posted on a socket of its own.
            let opened = if profile == Profile::Origin { 2 } else { 1 };
            assert_eq!(
                stub.user_stat(user, "connections_opened").await,
                opened,
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

/// Posts a chat message as the origin's socket handler reads it: `thread_id`, `content` and
/// `message_id` at the frame's top level (no client of the contract sends that), on a socket
/// of its own; returns once a ping sent after it is answered, so the message was handled.
async fn send_at_top_level(ws_url: String, thread: u64, content: &str) {
    let frame = serde_json::json!({"v": 1, "type": "send_message", "topic": format!("thread:{thread}"),
        "ts": 1, "message_id": "m1", "thread_id": thread, "content": content,
        "data": {"thread_id": thread, "content": content}});
    let ping = r#"{"v":1,"type":"ping","topic":"system","req_id":"fence","ts":1,"data":{}}"#;
    tokio::task::spawn_blocking(move || {
        use tungstenite::Message;
        let (mut socket, _) = tungstenite::connect(ws_url).expect("connects");
        socket.send(Message::text(frame.to_string())).expect("sent");
        socket.send(Message::text(ping)).expect("sent");
        loop {
            let text = socket
                .read()
                .expect("a frame")
                .into_text()
                .unwrap_or_default();
            if text.contains(r#""req_id":"fence""#) {
                break;
            }
        }
        let _ = socket.close(None);
    })
    .await
    .expect("the socket's task");
}

/// `POST /api/threads/{thread}/run`.
async fn run_thread(stub: &Stub, token: &str, thread: u64) {
    let ran = tether_tests::stub::http_client()
        .post(format!("{}/api/threads/{thread}/run", stub.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("POST run");
    assert_eq!(ran.status().as_u16(), 202);
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

/// The agents platform's chat manager, natively, posting over REST when it may (as the hooks
/// do in the browser): against the origin profile its message goes over REST (post, then a
/// run of the thread), against tether's over the socket; either way it is stored once (the
/// stub's history) and shown once, and the streamed reply arrives. Without REST, the origin
/// refuses the socket's `send_message`: the message ends failed and is not stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_posts_over_rest_to_the_origin_and_over_the_socket_to_tether() {
    tokio::task::LocalSet::new()
        .run_until(async {
            for (profile, path, over_rest) in [
                (Profile::Origin, "/api/ws", 1),
                (Profile::Tether, "/api/ws/v2", 0),
            ] {
                assert_eq!(
                    chat_once(profile, path, true).await,
                    over_rest,
                    "{profile:?}"
                );
            }
            assert_eq!(chat_once(Profile::Origin, "/api/ws", false).await, 0);
        })
        .await;
}

/// Mounts a chat on a fresh thread, sends one message, checks it as the test's doc says;
/// returns how many messages went over REST.
async fn chat_once(profile: Profile, path: &str, rest: bool) -> usize {
    use std::cell::Cell;
    use tether_client::agents::{ChatViewWsManager, Delivery};
    use tether_client::protocol::agents::model::ChatMessage;

    let stub = Stub::start(|c| {
        c.profile = profile;
        c.simulate = true;
        c.simulate_interval_ms = 60_000;
        c.stream_chunk_ms = 5;
    })
    .await;
    let user = 78;
    let (_, threads) = stub.seed(user, 1, 1).await;
    let thread = threads[0];
    let token = stub.token(user).await;
    let provider = token.clone();
    let mut config = Config::new(stub.ws_url().replace("/api/ws/v2", path))
        .with_token(move || Some(provider.clone()));
    config.request_timeout = tether_client::Millis(1_500);
    let (app, driver, _) = tether_client::native::app(config, 1);
    tokio::task::spawn_local(driver.run());
    app.client.connect();

    let me: Rc<RefCell<std::rc::Weak<ChatViewWsManager>>> = Rc::default();
    let (target, history_stub, history_token) = (me.clone(), stub.clone(), token.clone());
    let load = move |ticket| {
        let (target, stub, token) = (target.clone(), history_stub.clone(), history_token.clone());
        tokio::task::spawn_local(async move {
            let h = stub.history(&token, thread).await.expect("history");
            if let Some(m) = target.borrow().upgrade() {
                m.load_history(ticket, h.messages, h.seq);
            }
        });
    };
    let chat = Rc::new(ChatViewWsManager::mount(&app.topics, thread, || {}, load));
    *me.borrow_mut() = Rc::downgrade(&chat);
    let posts = Rc::new(Cell::new(0));
    if rest {
        let (posts, url, token) = (posts.clone(), stub.url.clone(), token.clone());
        chat.post_without_extensions(&app, move |thread, content| {
            posts.set(posts.get() + 1);
            let (url, token) = (url.clone(), token.clone());
            Box::pin(async move {
                let http = tether_tests::stub::http_client();
                let base = format!("{url}/api/threads/{thread}");
                let body = serde_json::json!({"role": "user", "content": content});
                let posted = http
                    .post(format!("{base}/messages"))
                    .bearer_auth(&token)
                    .json(&body);
                let posted = posted.send().await.map_err(|e| e.to_string())?;
                let message: ChatMessage = posted.json().await.map_err(|e| e.to_string())?;
                let ran = http
                    .post(format!("{base}/run"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                assert_eq!(ran.map(|r| r.status().as_u16()).ok(), Some(202));
                Ok(message)
            })
        });
    }
    wait("the history loaded", || {
        chat.load_state() == tether_client::live::LoadState::Live
    })
    .await;
    let typed = format!("typed once, {profile:?}");
    chat.send(typed.clone()).await;
    let ours = |chat: &ChatViewWsManager| {
        let model = chat.model();
        let mine: Vec<Delivery> = model
            .entries()
            .iter()
            .filter(|e| e.role == "user" && e.content == typed)
            .map(|e| e.delivery.clone())
            .collect();
        mine
    };
    let stored = |h: tether_tests::stub::RestHistory| {
        h.messages.iter().filter(|m| m.content == typed).count()
    };
    if !rest && profile == Profile::Origin {
        let shown = ours(&chat);
        assert!(matches!(shown[..], [Delivery::Failed(_)]), "{shown:?}");
        assert_eq!(
            stored(stub.history(&token, thread).await.expect("history")),
            0
        );
        return posts.get();
    }
    wait_with(
        "the streamed reply, complete",
        || {
            let model = chat.model();
            let entries = model.entries();
            let at = entries.iter().position(|e| e.content == typed);
            at.is_some_and(|at| {
                entries[at..]
                    .iter()
                    .any(|e| e.role == "assistant" && e.delivery == Delivery::Confirmed)
            })
        },
        || format!("{:?}", chat.model().entries()),
    )
    .await;
    assert_eq!(ours(&chat), [Delivery::Confirmed], "shown once, confirmed");
    let history = stub.history(&token, thread).await.expect("history");
    assert_eq!(stored(history), 1, "stored once");
    posts.get()
}

/// A native client holding topics before it connects subscribes them in one batch; the origin
/// profile refuses two of them with one `error` each, both naming the batch. They end refused,
/// the others active, on the first socket and again after a reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_origin_profile_topics_refused_in_a_batch_end_refused() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let stub = Stub::start(|c| c.profile = Profile::Origin).await;
            let user = 79;
            let (agents, threads) = stub.seed(user, 1, 1).await;
            let token = stub.token(user).await;
            let provider = token.clone();
            let config = Config::new(stub.ws_url().replace("/api/ws/v2", "/api/ws"))
                .with_token(move || Some(provider.clone()));
            let (app, driver, _) = tether_client::native::app(config, 1);
            tokio::task::spawn_local(driver.run());
            let accepted = [Topic::agent(agents[0]), Topic::thread(threads[0])];
            let refused = [Topic::agent(999_999), Topic::new("room:1")];
            let _subs: Vec<_> = accepted
                .iter()
                .chain(&refused)
                .map(|t| app.topics.subscribe(t.clone(), |_: &TopicEvent| {}))
                .collect();
            app.client.connect();
            for (sockets, round) in [(1, "first socket"), (2, "after a reconnect")] {
                wait("the client open", || app.client.state().is_open()).await;
                assert_eq!(stub.user_stat(user, "connections_opened").await, sockets);
                wait_with(
                    round,
                    || app.client.metrics().subscriptions.pending == 0,
                    || format!("{:?}", app.client.metrics().subscriptions),
                )
                .await;
                for t in &refused {
                    let status = app.client.topic_status(t);
                    assert!(
                        matches!(status, Some(tether_client::TopicStatus::Failed { .. })),
                        "{round}: {t} is {status:?}"
                    );
                }
                for t in &accepted {
                    assert_eq!(
                        app.client.topic_status(t),
                        Some(tether_client::TopicStatus::Active),
                        "{round}: {t}"
                    );
                }
                let counts = app.client.metrics().subscriptions;
                assert_eq!((counts.active, counts.failed), (2, 2), "{round}");
                stub.fault(&format!("drop?user={user}")).await;
                wait("the socket dropped", || !app.client.state().is_open()).await;
            }
        })
        .await;
}
