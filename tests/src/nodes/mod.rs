//! Several stubs on one Redis, as real processes: a [`Node`] is the `server-stub` binary with
//! `--redis-url`, which it prints its address for and which a test can SIGKILL; a
//! [`Balancer`](balancer::Balancer) spreads connections over the live ones; [`truth`] reads
//! the publish log from Redis itself (the topics' streams), ground truth the nodes don't
//! produce.

pub mod balancer;
pub mod truth;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The `server-stub` binary of the running program's profile (`target/<profile>/`, beside a
/// binary or above a test's `deps/`). `cargo test --workspace` builds it; alone, `cargo build
/// -p tether-stub --bin server-stub` does.
pub fn stub_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the program's path");
    let dir = exe.parent().expect("a directory");
    let candidates = [Some(dir), dir.parent()];
    let found = candidates
        .into_iter()
        .flatten()
        .map(|d| d.join("server-stub"))
        .find(|bin| bin.exists());
    found.unwrap_or_else(|| {
        panic!(
            "no server-stub beside {}: cargo build -p tether-stub --bin server-stub",
            exe.display()
        )
    })
}

/// A stub process on Redis.
pub struct Node {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    http: reqwest::Client,
}

impl Node {
    /// Starts a stub on `redis_url` (test control, the dev token, open topics `ticker:`, a 1 s
    /// heartbeat), with `extra` flags; waits for its address.
    pub async fn start(redis_url: &str, extra: &[&str]) -> Node {
        let mut args = vec!["--redis-url", redis_url];
        args.extend_from_slice(extra);
        Node::start_with(&args).await
    }

    /// Starts a stub (on the broker in memory unless `args` name a Redis), as
    /// [`Node::start`] does otherwise.
    pub async fn start_with(args: &[&str]) -> Node {
        let mut child = Command::new(stub_binary())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--test-control",
                "--dev",
            ])
            .args(["--open-topic", "ticker:"])
            .args(["--ping-interval-ms", "1000", "--idle-timeout-ms", "5000"])
            .args(["--rate-burst", "2000", "--rate-per-sec", "2000"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the stub binary runs");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the stub prints its address within 20 s")
            .expect("readable")
            .expect("a line");
        let url = line
            .strip_prefix("listening on ")
            .expect("listening on http://ADDR")
            .to_owned();
        Node {
            url,
            child,
            http: crate::stub::http_client(),
        }
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    /// Kills it with SIGKILL; returns whether it was running (and is now gone).
    pub async fn kill(&mut self) -> bool {
        let running = matches!(self.child.try_wait(), Ok(None));
        let _ = self.child.start_kill();
        let status = self.child.wait().await;
        running && status.is_ok()
    }

    /// Publishes one event of `kind` with `data` on `topic` through this node's test control;
    /// its `seq`, or `None` if the node could not publish it (the answer is not 200).
    pub async fn publish(&self, topic: &str, kind: &str, data: &Value) -> Option<u64> {
        let url = format!(
            "{}/api/test/publish?topic={topic}&kind={kind}&count=1",
            self.url
        );
        let resp = self.http.post(url).json(data).send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json::<Value>().await.ok()?["first_seq"].as_u64()
    }

    /// `POST /api/test/{path_and_query}`'s answer's `sockets`, or `None` if it failed.
    pub async fn fault(&self, path_and_query: &str) -> Option<u64> {
        let url = format!("{}/api/test/{path_and_query}", self.url);
        let resp = self.http.post(url).send().await.ok()?;
        resp.json::<Value>().await.ok()?["sockets"].as_u64()
    }

    /// `GET /api/stats`, or `None` if the node does not answer.
    pub async fn stats(&self) -> Option<Value> {
        let url = format!("{}/api/stats", self.url);
        self.http.get(url).send().await.ok()?.json().await.ok()
    }
}
