//! An in-process stub on 127.0.0.1 with test control on, and a small client for its HTTP API:
//! faults (each answer says how many sockets it hit), publishing, the publish log (the ground
//! truth of the chaos test), the membership log (how each subscribe was answered), tokens,
//! seeding, and the REST calls the chaos views make. Its WebSocket is reached through a
//! [`WireAudit`] proxy that checks every frame against the origin's contract.

use serde::Deserialize;
use serde_json::Value;
pub use tether_stub::config::{Config, Profile};
use tokio::net::TcpListener;

use crate::wire_audit::{FrameTally, WireAudit};

/// A running stub.
#[derive(Clone)]
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    http: reqwest::Client,
    /// The auditing proxy its WebSocket is reached through, if any.
    audit: Option<WireAudit>,
    /// Which server it behaves like.
    pub profile: Profile,
}

/// One event in the stub's publish log.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Published {
    /// Its place among every event the stub published, on any topic (1, 2, …).
    #[serde(default)]
    pub n: u64,
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

/// How the stub answered one topic of a `subscribe`, or saw a connection let go of it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct MembershipEntry {
    /// Its place in the membership log (1, 2, …).
    pub n: u64,
    /// The user.
    pub user: u64,
    /// The connection.
    pub connection: u64,
    /// The topic.
    pub topic: String,
    /// How many events the stub had published (on any topic) then: an entry comes after the
    /// events whose `n` is at most this.
    pub published: u64,
    /// What happened.
    #[serde(flatten)]
    pub change: Change,
}

/// What happened to a connection's topic.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A `subscribe` was answered.
    Answered {
        /// The `since` the client asked with.
        since: Option<u64>,
        /// `snapshot`, `replay` or `resync`.
        catch_up: String,
        /// The stub's history epoch of the position.
        epoch: u64,
        /// The position: live events follow this `seq`.
        seq: u64,
        /// With `since`: the oldest `seq` after it the stub still kept.
        first_kept: Option<u64>,
    },
    /// The connection let go of it.
    Released,
}

/// A point in the stub's logs: how many events it had published (on any topic) and how many
/// membership entries it had recorded. Tests mark their own steps with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Point {
    /// Events published so far (the `n` of the last one).
    pub published: u64,
    /// Membership entries recorded so far (the `n` of the last one).
    pub membership: u64,
}

impl Point {
    /// How many of `log`'s events (one topic's, oldest first) were published by then.
    pub fn index_in(self, log: &[Published]) -> usize {
        log.partition_point(|e| e.n <= self.published)
    }

    /// Where a life that ended at `end` (or goes on) ends in `log`.
    pub fn end_in(end: Option<Point>, log: &[Published]) -> usize {
        end.map_or(log.len(), |e| e.index_in(log))
    }
}

/// The membership log of a user, and the publish log's count when it was read.
#[derive(Clone, Debug, Deserialize)]
pub struct Membership {
    /// Oldest first.
    pub entries: Vec<MembershipEntry>,
    /// Entries (of any user) evicted from the log.
    pub evicted: u64,
    /// Every entry recorded, of any user.
    pub recorded: u64,
    /// Events published so far, on any topic.
    pub published: u64,
}

/// A thread's history as REST returns it.
#[derive(Clone, Debug, Deserialize)]
pub struct RestHistory {
    /// Oldest first.
    pub messages: Vec<tether_client::protocol::agents::model::ChatMessage>,
    /// The thread topic's `seq` it is current to (tether profile only).
    #[serde(default)]
    pub seq: Option<u64>,
}

impl Stub {
    /// Starts a stub with test control and the dev token on, changed by `configure`. It runs
    /// until the process ends.
    pub async fn start(configure: impl FnOnce(&mut Config)) -> Stub {
        let mut stub = Stub::start_direct(configure).await;
        let strict = stub.profile == Profile::Origin;
        stub.audit = Some(WireAudit::start(&stub.url, strict).await);
        stub
    }

    /// Like [`Stub::start`], but its WebSocket is reached directly, with no audit (for the
    /// benchmarks, which a proxy would slow).
    pub async fn start_direct(configure: impl FnOnce(&mut Config)) -> Stub {
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
        let profile = config.profile;
        tokio::spawn(tether_stub::serve(config, listener, std::future::pending()));
        Stub {
            url,
            http: http_client(),
            audit: None,
            profile,
        }
    }

    /// The WebSocket URL (through the audit, if any).
    pub fn ws_url(&self) -> String {
        let base = self.audit.as_ref().map_or(&self.url, |a| &a.url);
        format!("{}/api/ws/v2", base.replacen("http", "ws", 1))
    }

    /// What the audit of the wire saw so far (nothing without one).
    pub fn frames(&self) -> FrameTally {
        self.audit
            .as_ref()
            .map(WireAudit::tally)
            .unwrap_or_default()
    }

    /// Panics unless every frame seen so far conforms to the origin's contract (and some did);
    /// returns the tally.
    pub fn assert_frames_conform(&self) -> FrameTally {
        let tally = self.frames();
        assert!(tally.is_clean(), "{tally}");
        tally
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

    /// The membership log of `user`: how each subscribe was answered and when connections let
    /// go. Panics if the log dropped any entry.
    pub async fn membership(&self, user: u64) -> Membership {
        let log: Membership = self
            .http
            .get(format!("{}/api/test/subscriptions?user={user}", self.url))
            .send()
            .await
            .expect("stub reachable")
            .json()
            .await
            .expect("the membership log");
        assert_eq!(
            log.evicted, 0,
            "the membership log overflowed: the record is incomplete"
        );
        log
    }

    /// How many times the stub answered each topic of `user`'s subscribes (a topic asked for
    /// again on the same socket counts again).
    pub async fn answers_per_topic(&self, user: u64) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for e in self.membership(user).await.entries {
            if matches!(e.change, Change::Answered { .. }) {
                *counts.entry(e.topic).or_default() += 1;
            }
        }
        counts
    }

    /// Where the stub's logs are now (anything later has a larger `n`).
    pub async fn now(&self) -> Point {
        let v: Value = self
            .http
            .get(format!("{}/api/test/subscriptions?user=0", self.url))
            .send()
            .await
            .expect("stub reachable")
            .json()
            .await
            .expect("the membership log");
        let n = |k: &str| v[k].as_u64().expect("a count");
        Point {
            published: n("published"),
            membership: n("recorded"),
        }
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
