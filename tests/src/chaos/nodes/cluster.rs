//! The cross-node run's servers: one Redis, two stub processes on it, a balancer in front, and
//! the wire audit in front of the balancer (every frame checked against the origin's contract).

use serde_json::json;

use crate::nodes::balancer::Balancer;
use crate::nodes::Node;
use crate::redis::RedisServer;
use crate::wire_audit::{FrameTally, WireAudit};

/// Redis, two nodes and the balancer.
pub(super) struct Cluster {
    /// The Redis both nodes use.
    pub(super) redis: RedisServer,
    nodes: [Node; 2],
    balancer: Balancer,
    audit: WireAudit,
    /// Which node publishes next.
    turn: usize,
}

/// Each node's flags besides the common ones: a replay log long enough for a reconnect.
const FLAGS: [&str; 2] = ["--replay-capacity", "1000"];

impl Cluster {
    /// Starts Redis, two nodes and the balancer.
    pub(super) async fn start() -> Cluster {
        let redis = RedisServer::start();
        let nodes = [
            Node::start(&redis.url(), &FLAGS).await,
            Node::start(&redis.url(), &FLAGS).await,
        ];
        let balancer = Balancer::start(nodes.iter().map(Node::addr).collect()).await;
        let audit = WireAudit::start(&format!("http://{}", balancer.addr), false).await;
        Cluster {
            redis,
            nodes,
            balancer,
            audit,
            turn: 0,
        }
    }

    /// The WebSocket URL, through the audit and the balancer.
    pub(super) fn ws_url(&self) -> String {
        format!("{}/api/ws/v2", self.audit.url.replacen("http", "ws", 1))
    }

    /// What the audit of the wire saw so far.
    pub(super) fn frames(&self) -> FrameTally {
        self.audit.tally()
    }

    /// Publishes a `run_update` of id `id` on `topic` through the next node (the other one if
    /// that fails); 1 if published, else 0.
    pub(super) async fn publish(&mut self, topic: &str, id: u64) -> u64 {
        let data = json!({ "id": id });
        for _ in 0..2 {
            self.turn = (self.turn + 1) % 2;
            let node = &self.nodes[self.turn];
            if node.publish(topic, "run_update", &data).await.is_some() {
                return 1;
            }
        }
        0
    }

    /// Kills node `i` with SIGKILL and starts a new one in its place; whether the kill took
    /// effect.
    pub(super) async fn kill_and_restart(&mut self, i: usize) -> bool {
        let killed = self.nodes[i].kill().await;
        self.nodes[i] = Node::start(&self.redis.url(), &FLAGS).await;
        self.balancer
            .set_upstreams(self.nodes.iter().map(Node::addr).collect());
        killed
    }

    /// A socket fault through both nodes' test control; the sockets it hit.
    pub(super) async fn socket_fault(&self, path_and_query: &str) -> u64 {
        let mut hit = 0;
        for node in &self.nodes {
            hit += node.fault(path_and_query).await.unwrap_or(0);
        }
        hit
    }

    /// One of the test user's counters, summed over both nodes.
    pub(super) async fn user_stat(&self, key: &str) -> u64 {
        let mut sum = 0;
        for node in &self.nodes {
            if let Some(stats) = node.stats().await {
                sum += stats["per_user"][super::USER.to_string()][key]
                    .as_u64()
                    .unwrap_or(0);
            }
        }
        sum
    }

    /// One of the Redis broker's counters, summed over both (current) nodes.
    pub(super) async fn broker_stat(&self, key: &str) -> u64 {
        let mut sum = 0;
        for node in &self.nodes {
            if let Some(stats) = node.stats().await {
                sum += stats["broker"][key].as_u64().unwrap_or(0);
            }
        }
        sum
    }
}
