//! The server's counters: connections, frames, drops and close codes, in total and per user
//! (so that concurrent tests can each watch their own user), and subscriptions per user.
//! [`Stats::to_json`] is the document an app may serve (the stub's `GET /api/stats`).

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use super::UserKey;

/// Counters of one user.
#[derive(Clone, Copy, Debug, Default)]
struct UserCounters {
    connections_opened: u64,
    connections_open: u64,
    subscriptions: u64,
    subscribe_frames_in: u64,
}

/// Why a connection was dropped by the server's limits.
#[derive(Clone, Copy, Debug)]
pub enum DropReason {
    /// Its outbound queue overflowed.
    SlowConsumer,
    /// It sent frames faster than the token bucket allows.
    Flood,
    /// It sent a frame over the size limit.
    TooBig,
    /// A write to it did not finish within the write timeout.
    WriteTimeout,
    /// It broke the WebSocket protocol (invalid UTF-8, an unmasked frame, a reserved opcode…).
    Protocol,
}

/// Every counter of the server.
#[derive(Debug, Default)]
pub struct Stats {
    connections_opened_total: AtomicU64,
    connections_open: AtomicU64,
    connection_attempts_total: AtomicU64,
    rejected_unauthorized: AtomicU64,
    rejected_refused: AtomicU64,
    rejected_origin: AtomicU64,
    rejected_user_cap: AtomicU64,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    subscribe_frames_in: AtomicU64,
    drop_slow_consumer: AtomicU64,
    drop_flood: AtomicU64,
    drop_too_big: AtomicU64,
    drop_write_timeout: AtomicU64,
    drop_protocol: AtomicU64,
    queued_bytes: AtomicU64,
    http_connections_open: AtomicU64,
    refused_busy: AtomicU64,
    closes: Mutex<BTreeMap<u16, u64>>,
    client_closes: Mutex<BTreeMap<u16, u64>>,
    per_user: Mutex<BTreeMap<UserKey, UserCounters>>,
}

impl Stats {
    /// A WebSocket upgrade was attempted (whatever became of it).
    pub fn connection_attempted(&self) {
        self.connection_attempts_total.fetch_add(1, Relaxed);
    }

    /// An upgrade carried no valid token.
    pub fn rejected_unauthorized(&self) {
        self.rejected_unauthorized.fetch_add(1, Relaxed);
    }

    /// An upgrade was refused with 503 (test control, restart, shutdown).
    pub fn rejected_refused(&self) {
        self.rejected_refused.fetch_add(1, Relaxed);
    }

    /// A WebSocket was refused: its user had as many as it may.
    pub fn rejected_user_cap(&self) {
        self.rejected_user_cap.fetch_add(1, Relaxed);
    }

    /// An upgrade came from a forbidden origin.
    pub fn rejected_origin(&self) {
        self.rejected_origin.fetch_add(1, Relaxed);
    }

    /// An authenticated connection opened.
    pub fn connection_opened(&self, user: &UserKey) {
        self.connections_opened_total.fetch_add(1, Relaxed);
        self.connections_open.fetch_add(1, Relaxed);
        self.with_user(user, |u| {
            u.connections_opened += 1;
            u.connections_open += 1;
        });
    }

    /// An authenticated connection ended.
    pub fn connection_closed(&self, user: &UserKey) {
        self.connections_open.fetch_sub(1, Relaxed);
        self.with_user(user, |u| {
            u.connections_open = u.connections_open.saturating_sub(1)
        });
    }

    /// A data frame arrived.
    pub fn frame_in(&self) {
        self.frames_in.fetch_add(1, Relaxed);
    }

    /// A data frame was written to a socket.
    pub fn frame_out(&self) {
        self.frames_out.fetch_add(1, Relaxed);
    }

    /// A well-formed `subscribe` arrived.
    pub fn subscribe_frame_in(&self, user: &UserKey) {
        self.subscribe_frames_in.fetch_add(1, Relaxed);
        self.with_user(user, |u| u.subscribe_frames_in += 1);
    }

    /// The number of topics a user holds changed by `delta`.
    pub fn subscriptions_changed(&self, user: &UserKey, delta: i64) {
        self.with_user(user, |u| {
            u.subscriptions = u.subscriptions.saturating_add_signed(delta)
        });
    }

    /// A connection was dropped by a limit.
    pub fn dropped(&self, why: DropReason) {
        let counter = match why {
            DropReason::SlowConsumer => &self.drop_slow_consumer,
            DropReason::Flood => &self.drop_flood,
            DropReason::TooBig => &self.drop_too_big,
            DropReason::WriteTimeout => &self.drop_write_timeout,
            DropReason::Protocol => &self.drop_protocol,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// The bytes queued for sockets and not yet written changed by `delta`.
    pub fn queued_bytes_changed(&self, delta: i64) {
        if delta >= 0 {
            self.queued_bytes.fetch_add(delta.unsigned_abs(), Relaxed);
        } else {
            let _ = self.queued_bytes.fetch_update(Relaxed, Relaxed, |q| {
                Some(q.saturating_sub(delta.unsigned_abs()))
            });
        }
    }

    /// The bytes queued for every socket and not yet written.
    pub fn queued_bytes(&self) -> u64 {
        self.queued_bytes.load(Relaxed)
    }

    /// A TCP connection was accepted (`true`) or ended (`false`).
    pub fn tcp_connection(&self, opened: bool) {
        if opened {
            self.http_connections_open.fetch_add(1, Relaxed);
        } else {
            self.http_connections_open.fetch_sub(1, Relaxed);
        }
    }

    /// A TCP connection was answered 503 at once: over its budget.
    pub fn refused_busy(&self) {
        self.refused_busy.fetch_add(1, Relaxed);
    }

    /// The server sent a close frame with `code`.
    pub fn closed_with(&self, code: u16) {
        bump(&self.closes, code);
    }

    /// A client sent a close frame with `code`.
    pub fn client_closed_with(&self, code: u16) {
        bump(&self.client_closes, code);
    }

    /// The `/api/stats` document; `subscribers` counts the connections of each topic.
    pub fn to_json(&self, subscribers: BTreeMap<String, usize>) -> Value {
        json!({
            "connections_opened_total": self.connections_opened_total.load(Relaxed),
            "connections_open": self.connections_open.load(Relaxed),
            "connection_attempts_total": self.connection_attempts_total.load(Relaxed),
            "rejected_unauthorized": self.rejected_unauthorized.load(Relaxed),
            "rejected_refused": self.rejected_refused.load(Relaxed),
            "rejected_origin": self.rejected_origin.load(Relaxed),
            "rejected_user_cap": self.rejected_user_cap.load(Relaxed),
            "subscribers": subscribers,
            "frames_in": self.frames_in.load(Relaxed),
            "frames_out": self.frames_out.load(Relaxed),
            "subscribe_frames_in": self.subscribe_frames_in.load(Relaxed),
            "drops": {
                "slow_consumer": self.drop_slow_consumer.load(Relaxed),
                "flood": self.drop_flood.load(Relaxed),
                "too_big": self.drop_too_big.load(Relaxed),
                "write_timeout": self.drop_write_timeout.load(Relaxed),
                "protocol": self.drop_protocol.load(Relaxed),
            },
            "queued_bytes": self.queued_bytes.load(Relaxed),
            "tcp_connections_open": self.http_connections_open.load(Relaxed),
            "tcp_refused_busy": self.refused_busy.load(Relaxed),
            "closes": codes_json(&self.closes),
            "client_closes": codes_json(&self.client_closes),
            "per_user": self.per_user_json(),
        })
    }

    fn per_user_json(&self) -> Value {
        let users = self.per_user.lock().unwrap_or_else(|e| e.into_inner());
        let map: Map<String, Value> = users
            .iter()
            .map(|(id, u)| {
                let counters = json!({
                    "connections_opened": u.connections_opened,
                    "connections_open": u.connections_open,
                    "subscriptions": u.subscriptions,
                    "subscribe_frames_in": u.subscribe_frames_in,
                });
                (id.to_string(), counters)
            })
            .collect();
        Value::Object(map)
    }

    fn with_user(&self, user: &UserKey, f: impl FnOnce(&mut UserCounters)) {
        let mut users = self.per_user.lock().unwrap_or_else(|e| e.into_inner());
        f(users.entry(user.clone()).or_default());
    }
}

fn bump(codes: &Mutex<BTreeMap<u16, u64>>, code: u16) {
    let mut codes = codes.lock().unwrap_or_else(|e| e.into_inner());
    *codes.entry(code).or_default() += 1;
}

fn codes_json(codes: &Mutex<BTreeMap<u16, u64>>) -> Value {
    let codes = codes.lock().unwrap_or_else(|e| e.into_inner());
    let map: Map<String, Value> = codes
        .iter()
        .map(|(code, n)| (code.to_string(), json!(n)))
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_user_and_codes() {
        let stats = Stats::default();
        let user = UserKey::from("3");
        stats.connection_opened(&user);
        stats.subscriptions_changed(&user, 2);
        stats.subscriptions_changed(&user, -1);
        stats.closed_with(1008);
        stats.connection_closed(&user);
        let json = stats.to_json(BTreeMap::new());
        assert_eq!(json["connections_opened_total"], 1);
        assert_eq!(json["connections_open"], 0);
        assert_eq!(json["per_user"]["3"]["subscriptions"], 1);
        assert_eq!(json["closes"]["1008"], 1);
    }

    #[test]
    fn every_counter_counts_in_its_own_field() {
        let stats = Stats::default();
        let (a, b) = (UserKey::from("a"), UserKey::from("b"));
        for _ in 0..2 {
            stats.connection_attempted();
            stats.connection_opened(&a);
        }
        stats.connection_opened(&b);
        stats.connection_closed(&a);
        stats.connection_closed(&b);
        stats.connection_closed(&b);
        stats.rejected_unauthorized();
        stats.rejected_refused();
        stats.rejected_refused();
        stats.rejected_origin();
        stats.rejected_user_cap();
        stats.frame_in();
        stats.frame_out();
        stats.frame_out();
        stats.subscribe_frame_in(&a);
        let drops = [
            DropReason::SlowConsumer,
            DropReason::Flood,
            DropReason::TooBig,
            DropReason::WriteTimeout,
            DropReason::Protocol,
        ];
        for (i, why) in drops.into_iter().enumerate() {
            for _ in 0..=i {
                stats.dropped(why);
            }
        }
        stats.queued_bytes_changed(10);
        stats.queued_bytes_changed(-3);
        assert_eq!(stats.queued_bytes(), 7);
        stats.queued_bytes_changed(-30);
        assert_eq!(stats.queued_bytes(), 0, "never below 0");
        stats.tcp_connection(true);
        stats.tcp_connection(true);
        stats.tcp_connection(false);
        stats.refused_busy();
        stats.client_closed_with(1001);
        let json = stats.to_json(BTreeMap::from([("t".to_owned(), 2)]));
        let want = serde_json::json!({
            "connections_opened_total": 3, "connections_open": 0,
            "connection_attempts_total": 2, "rejected_unauthorized": 1, "rejected_refused": 2,
            "rejected_origin": 1, "rejected_user_cap": 1, "subscribers": { "t": 2 },
            "frames_in": 1, "frames_out": 2, "subscribe_frames_in": 1,
            "drops": { "slow_consumer": 1, "flood": 2, "too_big": 3, "write_timeout": 4,
                       "protocol": 5 },
            "queued_bytes": 0, "tcp_connections_open": 1, "tcp_refused_busy": 1,
            "closes": {}, "client_closes": { "1001": 1 },
            "per_user": {
                "a": { "connections_opened": 2, "connections_open": 1, "subscriptions": 0,
                       "subscribe_frames_in": 1 },
                "b": { "connections_opened": 1, "connections_open": 0, "subscriptions": 0,
                       "subscribe_frames_in": 0 },
            },
        });
        assert_eq!(json, want);
    }
}
