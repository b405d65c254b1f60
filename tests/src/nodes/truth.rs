//! The publish log as Redis keeps it: each topic's stream (`{prefix}:l:{topic}`, entries
//! `0-{seq}` with the frame in field `f`) and its epoch (`{prefix}:m:{topic}`), read with a
//! client of its own. It is what the Redis broker's script wrote, not what any node says it
//! published.

use serde_json::Value;

/// One kept publication.
#[derive(Clone, Debug, PartialEq)]
pub struct Logged {
    /// The topic's epoch.
    pub epoch: String,
    /// Its `seq`.
    pub seq: u64,
    /// Its `type`.
    pub kind: String,
    /// Its `data`.
    pub data: Value,
}

/// The kept publications of `topic`, oldest first (none if it has no stream).
pub fn read_log(redis_url: &str, prefix: &str, topic: &str) -> Vec<Logged> {
    let client = redis::Client::open(redis_url).expect("a redis URL");
    let mut conn = client.get_connection().expect("redis reachable");
    let epoch: Option<String> = redis::cmd("HGET")
        .arg(format!("{prefix}:m:{topic}"))
        .arg("epoch")
        .query(&mut conn)
        .expect("HGET");
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(format!("{prefix}:l:{topic}"))
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .expect("XRANGE");
    let epoch = epoch.unwrap_or_default();
    entries
        .into_iter()
        .map(|(id, fields)| {
            let frame: Value = fields
                .get(1)
                .and_then(|f| serde_json::from_str(f).ok())
                .expect("a frame in field f");
            let seq = id
                .strip_prefix("0-")
                .and_then(|s| s.parse().ok())
                .expect("an id 0-SEQ");
            assert_eq!(
                frame["seq"].as_u64(),
                Some(seq),
                "the frame's seq is its id"
            );
            Logged {
                epoch: epoch.clone(),
                seq,
                kind: frame["type"].as_str().unwrap_or_default().to_owned(),
                data: frame["data"].clone(),
            }
        })
        .collect()
}
