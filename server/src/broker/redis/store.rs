//! What the Redis broker keeps in Redis, and the two Lua scripts that change it, each run
//! atomically by Redis:
//!
//! - per topic, a hash `{prefix}:m:{topic}` (the *meta*: `epoch`, the last `seq`, the `bytes`
//!   of the log) and a stream `{prefix}:l:{topic}` (the *log*: one entry per kept publication,
//!   its id `0-{seq}`, its field `f` the publication's frame);
//! - per topic, a pub/sub channel `{prefix}:p:{topic}`, whose messages are `{epoch}\n{frame}`.
//!
//! `publish` numbers the event, appends it to the log, trims the log to its bounds (entries and
//! bytes) and publishes it, in one script: whoever reads the log after it returned sees the
//! event, and every node subscribed to the channel is sent it, in `seq` order. A topic without
//! a meta (never published, expired, or lost with Redis's data) gets a new one, in an epoch the
//! caller drew at random (128 bits), and its old log is deleted: a lost stream never comes back
//! in an epoch it had. `history` reads the log after a `seq`, and creates the meta if it is
//! missing, so that a topic never published has offset 0 in the epoch its first event will get.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisError, Script};
use tether_wire::Topic;

use super::RedisConfig;
use crate::broker::{BrokerError, History};
use crate::hub::{Epoch, StreamPosition};
use crate::hub::{Event, Publication};

/// Numbers, keeps and publishes one event (see the module's documentation).
/// KEYS: meta, log. ARGV: a new epoch, the frame before `"seq"`, the frame from `,"data":`,
/// the channel, entries kept, bytes kept, time to live in ms (0: none).
const PUBLISH: &str = r#"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0, 'bytes', 0)
end
local n = string.format('%d', redis.call('HINCRBY', KEYS[1], 'seq', 1))
local frame = ARGV[2] .. ',"seq":' .. n .. ARGV[3]
local events, max_bytes = tonumber(ARGV[5]), tonumber(ARGV[6])
if events > 0 then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('HSET', KEYS[1], 'bytes', 0)
  end
  redis.call('XADD', KEYS[2], '0-' .. n, 'f', frame)
  local bytes = redis.call('HINCRBY', KEYS[1], 'bytes', #frame)
  local len = redis.call('XLEN', KEYS[2])
  while len > 0 and (len > events or bytes > max_bytes) do
    local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
    bytes = redis.call('HINCRBY', KEYS[1], 'bytes', -#oldest[2][2])
    redis.call('XDEL', KEYS[2], oldest[1])
    len = len - 1
  end
end
redis.call('PUBLISH', ARGV[4], epoch .. '\n' .. frame)
local ttl = tonumber(ARGV[7])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return {epoch, n}
"#;

/// A topic's position, and its kept frames from a `seq` on.
/// KEYS: meta, log. ARGV: a new epoch, the first `seq` wanted ('': none), time to live in ms.
/// Returns the epoch, the last `seq`, then the frames, oldest first.
const HISTORY: &str = r#"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0, 'bytes', 0)
  local ttl = tonumber(ARGV[3])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
local out = {epoch, redis.call('HGET', KEYS[1], 'seq')}
if ARGV[2] ~= '' then
  for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '0-' .. ARGV[2], '+')) do
    out[#out + 1] = entry[2][2]
  end
end
return out
"#;

/// The Redis side of the broker: commands on a reconnecting connection, and the scripts.
#[derive(Clone)]
pub(super) struct Store {
    conn: ConnectionManager,
    config: Arc<RedisConfig>,
    publish: Arc<Script>,
    history: Arc<Script>,
}

impl Store {
    /// A store on `conn` (which connects when first used).
    pub(super) fn new(conn: ConnectionManager, config: Arc<RedisConfig>) -> Self {
        Store {
            conn,
            config,
            publish: Arc::new(Script::new(PUBLISH)),
            history: Arc::new(Script::new(HISTORY)),
        }
    }

    fn key(&self, kind: char, topic: &Topic) -> String {
        format!("{}:{kind}:{topic}", self.config.prefix)
    }

    /// The pub/sub channel of `topic`.
    pub(super) fn channel(&self, topic: &Topic) -> String {
        self.key('p', topic)
    }

    /// The topic a channel name is of, if it is one of ours.
    pub(super) fn topic_of(&self, channel: &str) -> Option<Topic> {
        let name = channel
            .strip_prefix(&self.config.prefix)?
            .strip_prefix(":p:")?;
        Some(Topic::from(name))
    }

    fn ttl_ms(&self) -> u64 {
        self.config.ttl.map_or(0, |ttl| {
            u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
        })
    }

    /// Numbers `event` on `topic`, keeps it and publishes it to every node.
    pub(super) async fn publish(
        &self,
        topic: &Topic,
        event: Event,
        ts: u64,
    ) -> Result<Arc<Publication>, BrokerError> {
        let text = event.clone().envelope(topic, ts, None).encode();
        let at = text
            .find(",\"data\":")
            .ok_or_else(|| BrokerError::Unavailable("an envelope without data".into()))?;
        let (head, tail) = text.split_at(at);
        let mut invocation = self.publish.prepare_invoke();
        invocation
            .key(self.key('m', topic))
            .key(self.key('l', topic))
            .arg(new_epoch())
            .arg(head)
            .arg(tail)
            .arg(self.channel(topic))
            .arg(self.config.events)
            .arg(self.config.topic_bytes)
            .arg(self.ttl_ms());
        let invocation = &invocation;
        let (epoch, seq) = self
            .retried(
                |mut conn| async move { invocation.invoke_async::<(String, u64)>(&mut conn).await },
            )
            .await
            .map_err(publish_error)?;
        let position = StreamPosition {
            offset: seq,
            epoch: Epoch::new(epoch),
        };
        Ok(Arc::new(Publication::new(topic, event, position, ts)))
    }

    /// The kept publications of `topic` after `since` (none without it), and its position.
    pub(super) async fn history(
        &self,
        topic: &Topic,
        since: Option<u64>,
    ) -> Result<History, BrokerError> {
        let first = since.map_or_else(String::new, |s| s.saturating_add(1).to_string());
        let mut invocation = self.history.prepare_invoke();
        invocation
            .key(self.key('m', topic))
            .key(self.key('l', topic))
            .arg(new_epoch())
            .arg(first)
            .arg(self.ttl_ms());
        let invocation = &invocation;
        let answer = self
            .retried(
                |mut conn| async move { invocation.invoke_async::<Vec<String>>(&mut conn).await },
            )
            .await
            .map_err(unavailable)?;
        let mut answer = answer.into_iter();
        let (Some(epoch), Some(offset)) = (answer.next(), answer.next()) else {
            return Err(BrokerError::Unavailable(
                "a history without a position".into(),
            ));
        };
        let epoch = Epoch::new(epoch);
        let offset = offset
            .parse()
            .map_err(|_| BrokerError::Unavailable(format!("a seq that is no number: {offset}")))?;
        let mut publications = Vec::new();
        for frame in answer {
            match Publication::from_frame(&frame, epoch.clone()) {
                Ok(p) => publications.push(Arc::new(p)),
                Err(error) => {
                    tracing::warn!(%error, %topic, "a kept frame does not decode: skipped")
                }
            }
        }
        Ok(History {
            publications,
            position: StreamPosition { offset, epoch },
        })
    }

    /// Deletes every topic's meta and log; returns how many topics had a meta.
    #[cfg(feature = "faults")]
    pub(super) async fn forget_all(&self) -> Result<usize, BrokerError> {
        let mut conn = self.conn.clone();
        let mut lost = 0;
        for kind in ['m', 'l'] {
            let pattern = format!("{}:{kind}:*", self.config.prefix);
            let mut cursor = 0u64;
            loop {
                let mut scan = redis::cmd("SCAN");
                scan.arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000);
                let call = scan.query_async::<(u64, Vec<String>)>(&mut conn);
                let (next, keys) = self.bounded(call).await.map_err(unavailable)?;
                if !keys.is_empty() {
                    let mut del = redis::cmd("DEL");
                    del.arg(&keys);
                    let call = del.query_async::<usize>(&mut conn);
                    let deleted = self.bounded(call).await.map_err(unavailable)?;
                    if kind == 'm' {
                        lost += deleted;
                    }
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(lost)
    }

    /// `call` on the connection, bounded in time, tried once more if the connection was
    /// refused: the command was not sent, and the connection manager reports a refusal it met
    /// while Redis was away to the first call after Redis is back, then reconnects.
    async fn retried<'a, T, F>(
        &self,
        call: impl Fn(ConnectionManager) -> F + 'a,
    ) -> Result<T, RedisError>
    where
        F: std::future::Future<Output = Result<T, RedisError>> + 'a,
    {
        match self.bounded(call(self.conn.clone())).await {
            Err(error) if error.is_connection_refusal() => {
                self.bounded(call(self.conn.clone())).await
            }
            other => other,
        }
    }

    /// `call`, failed with a timeout error if it takes longer than the configured timeout.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, RedisError>>,
    ) -> Result<T, RedisError> {
        bounded(self.config.timeout, call).await
    }
}

/// `call`, failed with a timeout error after `limit`.
pub(super) async fn bounded<T>(
    limit: Duration,
    call: impl std::future::Future<Output = Result<T, RedisError>>,
) -> Result<T, RedisError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()),
    }
}

/// An epoch never used before, with overwhelming probability: 128 random bits.
fn new_epoch() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A failed read or subscription: the caller may retry.
pub(super) fn unavailable(error: RedisError) -> BrokerError {
    BrokerError::Unavailable(error.to_string())
}

/// A failed publish: not made if Redis refused the connection or answered with an error;
/// perhaps made if the call was sent and its answer lost.
fn publish_error(error: RedisError) -> BrokerError {
    if error.is_connection_refusal() {
        BrokerError::Unavailable(error.to_string())
    } else if error.is_timeout() || error.is_connection_dropped() {
        BrokerError::Uncertain(error.to_string())
    } else {
        BrokerError::Unavailable(error.to_string())
    }
}
