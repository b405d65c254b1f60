//! The REST API: answers, and the events each change publishes; the simulator's streamed
//! reply (`http.rs` has stats, health, CORS, unknown routes and static files).

mod common;

use common::{agents, seqs, Client, Stub};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tether_wire::agents::AgentsMessage;
use tether_wire::control::Control;
use tether_wire::{Envelope, Topic};

async fn recv_n(client: &mut Client, n: usize) -> Vec<Envelope> {
    let mut frames = Vec::with_capacity(n);
    for _ in 0..n {
        frames.push(client.recv().await);
    }
    frames
}

#[tokio::test]
async fn agents_crud_publishes_its_events() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["user:1"]).await;

    let (status, agent) = stub
        .request(
            Method::POST,
            "/api/agents",
            Some(1),
            Some(json!({"name": "Summariser"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (
            agent["name"].as_str(),
            agent["owner_id"].as_u64(),
            agent["status"].as_str()
        ),
        (Some("Summariser"), Some(1), Some("idle"))
    );
    let id = agent["id"].as_u64().expect("id");
    let created = client.recv().await;
    assert_eq!((created.topic.as_str(), created.seq), ("user:1", Some(1)));
    assert!(matches!(agents(&created), AgentsMessage::AgentCreated(ref a) if a.id == id));

    let listed = stub.get("/api/agents", 1).await;
    assert_eq!(listed["seq"], 1);
    assert!(listed["agents"]
        .as_array()
        .expect("array")
        .iter()
        .any(|a| a["id"] == id));
    assert_eq!(
        stub.get(&format!("/api/agents/{id}"), 1).await["name"],
        "Summariser"
    );

    let topic = format!("agent:{id}");
    client.subscribe_ok(&[topic.as_str()]).await;
    let (status, changed) = stub
        .request(
            Method::PATCH,
            &format!("/api/agents/{id}"),
            Some(1),
            Some(json!({"name": "S2", "status": "error"})),
        )
        .await;
    assert_eq!(
        (status, changed["status"].as_str()),
        (StatusCode::OK, Some("error"))
    );
    let updated = client.recv().await;
    assert!(
        matches!(agents(&updated), AgentsMessage::AgentUpdated(ref a) if a.name.as_deref() == Some("S2") && a.status.as_deref() == Some("error"))
    );

    let (status, _) = stub
        .request(
            Method::POST,
            "/api/threads",
            Some(1),
            Some(json!({"agent_id": id, "title": "T"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let AgentsMessage::ThreadCreated(thread) = agents(&client.recv().await) else {
        panic!("expected thread_created")
    };

    let (status, _) = stub
        .request(Method::DELETE, &format!("/api/agents/{id}"), Some(1), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let frames = recv_n(&mut client, 2).await;
    let topics: Vec<String> = frames.iter().map(|f| f.topic.to_string()).collect();
    assert_eq!(topics, [topic.clone(), "user:1".into()]);
    assert!(frames
        .iter()
        .all(|f| matches!(agents(f), AgentsMessage::AgentDeleted(ref d) if d.id == id)));
    let (status, _) = stub
        .request(
            Method::GET,
            &format!("/api/threads/{}/messages", thread.id),
            Some(1),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the agent's threads went with it"
    );
    let (status, _) = stub
        .request(Method::GET, &format!("/api/agents/{id}"), Some(1), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_run_reports_progress_and_status_changes() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["agent:1"]).await;
    let (status, run) = stub
        .request(Method::POST, "/api/agents/1/run", Some(1), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let run_id = run["run_id"].as_u64().expect("run id");
    let frames = recv_n(&mut client, 7).await;
    assert_eq!(seqs(&frames), (1..=7).collect::<Vec<_>>());
    let mut steps = Vec::new();
    for frame in &frames {
        match agents(frame) {
            AgentsMessage::AgentUpdated(agent) => {
                steps.push(format!("agent {}", agent.status.unwrap_or_default()))
            }
            AgentsMessage::RunUpdate(update) => {
                assert_eq!((update.agent_id, update.id), (1, run_id));
                steps.push(format!(
                    "{} {}",
                    update.status,
                    update.progress.unwrap_or(0)
                ));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let expected = [
        "agent running",
        "queued 0",
        "running 25",
        "running 50",
        "running 75",
        "success 100",
        "agent idle",
    ];
    assert_eq!(steps, expected);

    // A view that subscribes later still sees the run: in the agent's snapshot, and in the
    // REST list.
    let mut later = stub.connect(1).await;
    later.subscribe("late", &["agent:1"], &[]).await;
    assert!(matches!(
        later.recv_control().await,
        Control::SubscribeAck(_)
    ));
    let snapshot = later.recv().await;
    assert_eq!(snapshot.kind, "agent_state");
    let AgentsMessage::AgentState(agent) = agents(&snapshot) else {
        panic!("a snapshot")
    };
    let run = agent.last_run.expect("the snapshot carries the latest run");
    assert_eq!(
        (run.id, run.status.as_str(), run.progress),
        (run_id, "success", Some(100))
    );
    let list = stub.get("/api/agents", 1).await;
    let listed = &list["agents"][0];
    assert_eq!(
        (listed["id"].as_u64(), listed["last_run"]["id"].as_u64()),
        (Some(1), Some(run_id))
    );
    assert_eq!(listed["last_run"]["status"], "success");
}

#[tokio::test]
async fn threads_list_create_rename_and_delete() {
    let stub = Stub::start().await;
    let all = stub.get("/api/threads", 1).await;
    let ids: Vec<_> = all["threads"]
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, [10, 12]);
    let of_agent_1 = stub.get("/api/threads?agent_id=1", 1).await;
    assert_eq!(of_agent_1["threads"].as_array().expect("array").len(), 1);
    let (status, _) = stub
        .request(Method::GET, "/api/threads?agent_id=abc", Some(1), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["agent:1"]).await;
    let (_, thread) = stub
        .request(
            Method::POST,
            "/api/threads",
            Some(1),
            Some(json!({"agent_id": 1, "title": "New chat"})),
        )
        .await;
    let event = client.recv().await;
    assert_eq!(event.topic, Topic::agent(1));
    assert!(
        matches!(agents(&event), AgentsMessage::ThreadCreated(ref t) if t.title.as_deref() == Some("New chat") && Some(t.id) == thread["id"].as_u64())
    );

    let topic = format!("thread:{}", thread["id"]);
    client.subscribe_ok(&[topic.as_str()]).await;
    let path = format!("/api/threads/{}", thread["id"]);
    let (status, renamed) = stub
        .request(
            Method::PATCH,
            &path,
            Some(1),
            Some(json!({"title": "Renamed chat"})),
        )
        .await;
    assert_eq!(
        (status, renamed["title"].as_str()),
        (StatusCode::OK, Some("Renamed chat"))
    );
    assert!(
        matches!(agents(&client.recv().await), AgentsMessage::ThreadUpdated(ref t) if t.title.as_deref() == Some("Renamed chat"))
    );
    let (status, _) = stub.request(Method::DELETE, &path, Some(1), None).await;
    assert_eq!(status, StatusCode::OK);
    let deleted = client.recv().await;
    assert_eq!(
        (deleted.topic.as_str(), deleted.seq),
        (topic.as_str(), Some(2))
    );
    assert_eq!(deleted.kind, "thread_deleted");
}

#[tokio::test]
async fn posting_a_message_publishes_it_and_the_history_has_its_seq() {
    let stub = Stub::start().await;
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["thread:10"]).await;
    let before = stub.get("/api/threads/10/messages", 1).await;
    assert_eq!(
        (
            before["seq"].as_u64(),
            before["messages"].as_array().map(Vec::len)
        ),
        (Some(0), Some(1))
    );
    let (status, message) = stub
        .request(
            Method::POST,
            "/api/threads/10/messages",
            Some(1),
            Some(json!({"content": "Hi"})),
        )
        .await;
    assert_eq!(
        (status, message["role"].as_str()),
        (StatusCode::CREATED, Some("user"))
    );
    let event = client.recv().await;
    assert_eq!((event.seq, event.req_id.clone()), (Some(1), None));
    assert!(matches!(agents(&event), AgentsMessage::ThreadMessage(ref m) if m.content == "Hi"));
    client.assert_nothing_pending().await;
    let after = stub.get("/api/threads/10/messages", 1).await;
    assert_eq!(after["seq"], 1);
    assert_eq!(
        after["messages"]
            .as_array()
            .expect("array")
            .last()
            .expect("last")["content"],
        "Hi"
    );
    let (status, _) = stub
        .request(
            Method::POST,
            "/api/threads/10/messages",
            Some(1),
            Some(json!({"text": "?"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn with_the_simulator_a_reply_streams_token_by_token() {
    let stub = Stub::start_with(|c| {
        c.simulate = true;
        c.simulate_interval_ms = 3_600_000;
    })
    .await;
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["thread:10"]).await;
    stub.request(
        Method::POST,
        "/api/threads/10/messages",
        Some(1),
        Some(json!({"content": "tell me more"})),
    )
    .await;
    assert_eq!(client.recv().await.kind, "thread_message");
    let AgentsMessage::StreamStart(start) = agents(&client.recv().await) else {
        panic!("expected stream_start")
    };
    let start_id = start
        .message_id
        .expect("the tether profile names the reply");
    let mut text = String::new();
    let mut chunks = 0;
    let end = loop {
        let frame = client.recv().await;
        match agents(&frame) {
            AgentsMessage::StreamChunk(chunk) => {
                assert_eq!(
                    (chunk.message_id, chunk.chunk_type.as_str()),
                    (Some(start_id), "assistant_token")
                );
                text.push_str(&chunk.content);
                chunks += 1;
            }
            AgentsMessage::StreamEnd(end) => break (end, frame.seq.expect("seq")),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(chunks > 3);
    assert_eq!(end.0.message_id, Some(start_id));
    let history = stub.get("/api/threads/10/messages", 1).await;
    assert_eq!(history["seq"], end.1);
    let last = history["messages"]
        .as_array()
        .expect("array")
        .last()
        .cloned()
        .expect("a message");
    assert_eq!(
        (
            last["id"].as_u64(),
            last["role"].as_str(),
            last["content"].as_str()
        ),
        (Some(start_id), Some("assistant"), Some(text.as_str()))
    );
}

/// The lists come in pages: `?limit=` asks for fewer, `next` is the cursor to pass as
/// `?after=`, `null` after the last; following them gives every item once, in order.
#[tokio::test]
async fn lists_come_in_pages_that_follow_their_cursor() {
    let stub = Stub::start_with(|c| c.max_page_items = 3).await;
    let mut posted = Vec::new();
    for n in 0..5 {
        let body = Some(json!({ "content": format!("m{n}") }));
        let (status, message) = stub
            .request(Method::POST, "/api/threads/10/messages", Some(1), body)
            .await;
        assert_eq!(status, StatusCode::CREATED);
        posted.push(message["id"].as_u64().expect("an id"));
    }
    let mut seen = Vec::new();
    let mut path = "/api/threads/10/messages?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = stub.get(&path, 1).await;
        let items = page["messages"].as_array().expect("messages");
        assert!(items.len() <= 2, "{page}");
        seen.extend(items.iter().filter_map(|m| m["id"].as_u64()));
        pages += 1;
        let Some(next) = page["next"].as_u64() else {
            break;
        };
        path = format!("/api/threads/10/messages?limit=2&after={next}");
    }
    assert_eq!(pages, 3, "6 messages, 2 a page");
    assert_eq!(
        &seen[1..],
        &posted[..],
        "the seeded greeting, then every post in order"
    );
    let first = stub.get("/api/agents", 1).await;
    assert_eq!(first["agents"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["next"], serde_json::Value::Null);
    for n in 0..3 {
        let body = Some(json!({ "name": format!("a{n}") }));
        stub.request(Method::POST, "/api/agents", Some(1), body)
            .await;
    }
    let first = stub.get("/api/agents?limit=50", 1).await;
    assert_eq!(
        first["agents"].as_array().map(Vec::len),
        Some(3),
        "at most the maximum"
    );
    let after = first["next"].as_u64().expect("more");
    let second = stub.get(&format!("/api/agents?after={after}"), 1).await;
    assert_eq!(second["agents"].as_array().map(Vec::len), Some(2));
    assert_eq!(second["next"], serde_json::Value::Null);
}
