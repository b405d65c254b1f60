//! An in-process stub on 127.0.0.1 with test control on, and a small client for its HTTP API.

use serde_json::Value;
use tether_stub::config::Config;
use tokio::net::TcpListener;

/// A running stub.
#[derive(Clone)]
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    http: reqwest::Client,
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
            http: reqwest::Client::new(),
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

    /// A token for `user`.
    pub async fn token(&self, user: u64) -> String {
        self.control(&format!("token?sub={user}&exp_secs=3600"))
            .await["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Creates `n` agents for `user` and returns their ids.
    pub async fn seed(&self, user: u64, n: usize) -> Vec<u64> {
        let ids = self.control(&format!("seed?owner={user}&agents={n}")).await;
        ids["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .filter_map(Value::as_u64)
            .collect()
    }

    /// Publishes `count` events on `topic`; returns the last seq.
    pub async fn publish(&self, topic: &str, count: usize) -> u64 {
        self.control(&format!("publish?topic={topic}&count={count}&rate=0"))
            .await["last_seq"]
            .as_u64()
            .expect("last_seq")
    }
}
