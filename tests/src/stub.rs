//! An in-process stub on 127.0.0.1 with test control on, and a small client for its HTTP API:
//! faults (each answer says how many sockets it hit), publishing, the publish log (the ground
//! truth of the chaos test), tokens, seeding, and the REST calls the chaos views make.

use serde::Deserialize;
use serde_json::Value;
pub use tether_stub::config::{Config, Profile};
use tokio::net::TcpListener;

/// A running stub.
#[derive(Clone)]
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    http: reqwest::Client,
}

/// One event in the stub's publish log.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Published {
    /// The history incarnation it was published in (a restart that loses history starts one).
    pub epoch: u64,
    /// Its `seq` in that epoch.
    pub seq: u64,
    /// Its `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The id its data carries (a run, a message), if any.
    pub id: Option<u64>,
}

#[derive(Deserialize)]
struct PublishedLog {
    events: Vec<Published>,
    evicted: u64,
}

/// A thread's history as REST returns it.
#[derive(Clone, Debug, Deserialize)]
pub struct RestHistory {
    /// Oldest first.
    pub messages: Vec<tether_client::agents::model::ChatMessage>,
    /// The thread topic's `seq` it is current to (tether profile only).
    #[serde(default)]
    pub seq: Option<u64>,
}

impl Stub {
    /// Starts a stub with test control and the dev token on, changed by `configure`. It runs
    /// until the process ends.
    pub async fn start(configure: impl FnOnce(&mut Config)) -> Stub {
        let mut config = Config {
            port: 0,
            test_control: true,
            dev: true,
            ..Config::default()
        };
        configure(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        tokio::spawn(tether_stub::serve(config, listener, std::future::pending()));
        Stub {
            url,
            http: http_client(),
        }
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("{}/api/ws/v2", self.url.replacen("http", "ws", 1))
    }

    /// `POST /api/test/…` and its JSON answer.
    pub async fn control(&self, path_and_query: &str) -> Value {
        let resp = self
            .http
            .post(format!("{}/api/test/{path_and_query}", self.url))
            .send()
            .await
            .expect("stub reachable");
        assert!(
            resp.status().is_success(),
            "{path_and_query}: {}",
            resp.status()
        );
        resp.json().await.unwrap_or(Value::Null)
    }

    /// Injects a fault and returns how many sockets it hit (its answer's `sockets`).
    pub async fn fault(&self, path_and_query: &str) -> u64 {
        self.control(path_and_query).await["sockets"]
            .as_u64()
            .unwrap_or(0)
    }

    /// `GET /api/stats`.
    pub async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/api/stats", self.url))
            .send()
            .await
            .expect("stub reachable")
            .json()
            .await
            .expect("json")
    }

    /// One of `per_user[user]`'s counters.
    pub async fn user_stat(&self, user: u64, key: &str) -> u64 {
        self.stats().await["per_user"][user.to_string()][key]
            .as_u64()
            .unwrap_or(0)
    }

    /// A token for `user`.
    pub async fn token(&self, user: u64) -> String {
        self.control(&format!("token?sub={user}&exp_secs=3600"))
            .await["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Creates `agents` agents for `user`, each with `threads` threads; returns their ids.
    pub async fn seed(&self, user: u64, agents: usize, threads: usize) -> (Vec<u64>, Vec<u64>) {
        let v = self
            .control(&format!(
                "seed?owner={user}&agents={agents}&threads={threads}"
            ))
            .await;
        let ids = |key: &str| -> Vec<u64> {
            v[key]
                .as_array()
                .expect("ids")
                .iter()
                .filter_map(Value::as_u64)
                .collect()
        };
        (ids("ids"), ids("thread_ids"))
    }

    /// Publishes `count` events of `kind` on `topic`; returns the last seq.
    pub async fn publish(&self, topic: &str, kind: &str, count: usize) -> u64 {
        self.control(&format!(
            "publish?topic={topic}&kind={kind}&count={count}&rate=0"
        ))
        .await["last_seq"]
            .as_u64()
            .unwrap_or(0)
    }

    /// What the stub published on `topic`, oldest first. Panics if the log dropped any of it.
    pub async fn published(&self, topic: &str) -> Vec<Published> {
        let log: PublishedLog = self
            .http
            .get(format!("{}/api/test/published?topic={topic}", self.url))
            .send()
            .await
            .expect("stub reachable")
            .json()
            .await
            .expect("the publish log");
        assert_eq!(
            log.evicted, 0,
            "the publish log overflowed: the truth is incomplete"
        );
        log.events
    }

    /// Posts a user message to a thread over REST; returns its id.
    pub async fn post_message(&self, token: &str, thread: u64, content: &str) -> Option<u64> {
        let resp = self
            .http
            .post(format!("{}/api/threads/{thread}/messages", self.url))
            .bearer_auth(token)
            .json(&serde_json::json!({ "content": content }))
            .send()
            .await
            .ok()?;
        resp.json::<Value>().await.ok()?["id"].as_u64()
    }

    /// A thread's history over REST.
    pub async fn history(&self, token: &str, thread: u64) -> Option<RestHistory> {
        let path = format!("{}/api/threads/{thread}/messages", self.url);
        let get = |url: String| async move {
            let page: Value = self
                .http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            Some(page)
        };
        let mut page = get(path.clone()).await?;
        let mut history: RestHistory = serde_json::from_value(page.clone()).ok()?;
        // The history comes in pages: the first page's seq, every page's messages.
        while let Some(next) = page["next"].as_u64() {
            page = get(format!("{path}?after={next}")).await?;
            let more: RestHistory = serde_json::from_value(page.clone()).ok()?;
            history.messages.extend(more.messages);
        }
        Some(history)
    }
}

/// An HTTP client whose every request fails after 30 s instead of waiting for ever.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("a client with a timeout")
}
