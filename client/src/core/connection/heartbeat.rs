//! Heartbeats: the client pings every `ping_interval`, and any frame proves the link alive. A
//! link silent for the ping interval plus the pong timeout is declared dead and replaced
//! (through the reconnect decision). After sleep, a return from the back/forward cache, going
//! offline or becoming visible, liveness is checked at once instead of waiting.
//!
//! Timing every frame would read the clock for every event, which in a browser costs about as
//! much as reading the event's envelope. So a socket's first frame, a ping or pong from the
//! server, and the first frame after each of the client's pings are timed, and any other frame
//! is heard *untimed*. Untimed frames count as heard at the next ping (a time after theirs;
//! pings go out every ping interval, before any deadline): the link is alive for another ping
//! interval plus pong timeout from there. A link that carries events is so never declared dead,
//! and one that goes silent is declared dead at most one ping interval later than if every frame
//! had been timed. (A check asked for at once, on waking, going offline or becoming visible,
//! gives any link one pong timeout, as before.)

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
        if self.untimed_frames {
            self.heard_from_server(now);
        }
        let Some(socket) = self.socket.as_mut().filter(|s| s.opened_at.is_some()) else {
            return;
        };
        self.time_next_frame = true;
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
        self.untimed_frames = false;
        self.time_next_frame = false;
        if self.proven_socket().is_some() {
            self.timers.set(
                Timer::Liveness,
                now + self.cfg.ping_interval + self.cfg.pong_timeout,
            );
        }
    }

    /// A frame arrived whose time was not read: it counts as heard at the next ping.
    pub(super) fn heard_untimed(&mut self) {
        self.untimed_frames = true;
    }

    /// Nothing heard for a ping interval: no untimed frame since the last timed one, and that
    /// one (if any) a ping interval ago.
    pub(super) fn silent_for_a_ping_interval(&self, now: Instant) -> bool {
        !self.untimed_frames
            && self
                .last_frame_at
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

    /// The deadline came: the link went silent. It is declared dead, closed with 4000, and
    /// replaced. (Untimed frames since the last timed one, which a ping would have counted
    /// first, count as heard now.)
    pub(super) fn on_liveness_timeout(&mut self, now: Instant) {
        if self.proven_socket().is_none() {
            return;
        }
        if self.untimed_frames {
            self.heard_from_server(now);
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
