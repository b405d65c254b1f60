//! Heartbeats: the client pings every `ping_interval`, and any frame proves the link alive. A
//! link silent for the ping interval plus the pong timeout is declared dead and replaced
//! (through the reconnect decision). After sleep, a return from the back/forward cache, going
//! offline or becoming visible, liveness is checked at once instead of waiting.

use super::Connection;
use crate::core::event::{ClientError, Output};
use crate::core::reconnect::Trigger;
use crate::core::time::Instant;
use crate::core::timers::Timer;
use crate::protocol::control::{kind, write};
use crate::protocol::json::push_u64;
use crate::protocol::CloseCode;

/// Pings remembered per socket for their round-trip time; older ones are forgotten.
const PINGS_REMEMBERED: usize = 8;

impl Connection {
    /// Sends a ping with its own id; its `pong` gives a round-trip time and passes every
    /// subscribe sent before it (see `subscriptions`).
    pub(super) fn send_ping(&mut self, now: Instant) {
        let Some(socket) = self.socket.as_mut().filter(|s| s.opened_at.is_some()) else {
            return;
        };
        self.next_ping_id += 1;
        let id = self.next_ping_id;
        socket.pings.push((id, now));
        if socket.pings.len() > PINGS_REMEMBERED {
            socket.pings.remove(0);
        }
        let mut req_id = String::from("p");
        push_u64(&mut req_id, id);
        self.write_heartbeat(kind::PING, Some(&req_id), Some(now.0), now);
    }

    /// Writes a `ping` or `pong` (`kind`), stamped with `now`.
    pub(super) fn write_heartbeat(
        &mut self,
        kind: &str,
        req_id: Option<&str>,
        timestamp: Option<u64>,
        now: Instant,
    ) {
        self.write(write::heartbeat(kind, now.0, req_id, timestamp));
    }

    /// A `pong` arrived: records the round-trip time of the ping it answers (by `req_id`, or
    /// the oldest one when the server echoes none) and returns that ping's id.
    pub(super) fn on_pong(&mut self, req_id: Option<&str>, now: Instant) -> Option<u64> {
        let socket = self.socket.as_mut()?;
        let id = match req_id.and_then(|r| r.strip_prefix('p')) {
            Some(n) => n.parse().ok()?,
            None if req_id.is_none() => socket.pings.first()?.0,
            None => return None,
        };
        let sent_at = socket.pings.iter().find(|(p, _)| *p == id).map(|(_, t)| *t);
        socket.pings.retain(|(p, _)| *p > id);
        if let Some(sent_at) = sent_at {
            self.rtt.record(now - sent_at, self.cfg.rtt_ewma_alpha);
        }
        Some(id)
    }

    /// Any frame arrived: the link is alive for another ping interval plus pong timeout.
    pub(super) fn heard_from_server(&mut self, now: Instant) {
        self.last_frame_at = Some(now);
        if self.proven_socket().is_some() {
            self.timers.set(
                Timer::Liveness,
                now + self.cfg.ping_interval + self.cfg.pong_timeout,
            );
        }
    }

    pub(super) fn silent_for_a_ping_interval(&self, now: Instant) -> bool {
        self.last_frame_at
            .is_none_or(|t| now - t >= self.cfg.ping_interval)
    }

    /// Pings now and expects some frame within the pong timeout.
    pub(super) fn check_liveness(&mut self, now: Instant) {
        if self.proven_socket().is_some() {
            self.send_ping(now);
            self.timers.set(Timer::Ping, now + self.cfg.ping_interval);
            self.timers
                .set(Timer::Liveness, now + self.cfg.pong_timeout);
        }
    }

    pub(super) fn on_ping_timeout(&mut self, now: Instant) {
        if self.proven_socket().is_some() {
            self.send_ping(now);
            self.timers.set(Timer::Ping, now + self.cfg.ping_interval);
        }
    }

    /// The link went silent: it is declared dead, closed with 4000, and replaced.
    pub(super) fn on_liveness_timeout(&mut self, now: Instant) {
        if self.proven_socket().is_none() {
            return;
        }
        let silent_ms = self.last_frame_at.map_or(0, |t| (now - t).0);
        self.counters.dead_connections += 1;
        self.outputs
            .push_back(Output::Error(ClientError::DeadConnection { silent_ms }));
        self.drop_socket(CloseCode::CLIENT_DEAD_CONNECTION, "heartbeat timeout");
        self.decide_and_apply(Trigger::Dead, now);
    }
}
