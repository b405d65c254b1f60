//! Every limit of the server, with the defaults PROTOCOL.md ("Limits") documents: a plain
//! struct, so that an app sets what it needs and takes the rest from [`Limits::default`].
//!
//! Memory and time are bounded per client however it behaves: per socket (frame size, inbound
//! rate, send queue in frames and bytes, write deadline, idle timeout, topics held and per
//! frame, error frames per frame, id lengths), for the replay buffers (per topic and over all,
//! and the topics whose position the in-memory broker keeps), and for the HTTP side served by
//! [`crate::serve`] (request head and body, whole request, connections, shutdown).

use std::time::Duration;

/// The server's limits. `Limits::default()` is what PROTOCOL.md lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest inbound message or frame, in bytes; larger ones close the socket with 1009,
    /// decided from the frame header. It is also the read limit: nothing larger is buffered.
    pub max_frame_bytes: usize,
    /// The WebSocket read buffer of one connection, in bytes.
    pub read_buffer_bytes: usize,
    /// The WebSocket write buffer of one connection, in bytes.
    pub write_buffer_bytes: usize,
    /// Inbound token bucket: burst size, in frames (control frames count).
    pub rate_burst: u32,
    /// Inbound token bucket: refill rate, in frames per second. An empty bucket closes with 1008.
    pub rate_per_sec: u32,
    /// Outbound queue of one connection, in frames (a subscribe reply counts as one); past it
    /// the connection is closed with 1008 (slow consumer). A subscriber whose catch-up is being
    /// read may wait for as many events of the topic, with the same outcome past it.
    pub queue_capacity: usize,
    /// Outbound queue of one connection, in bytes not yet written; past it the connection is
    /// closed with 1008. One item always fits an empty queue.
    pub queue_bytes: usize,
    /// How long one socket write may take; past it the connection is closed with 1008.
    pub write_timeout: Duration,
    /// Close with 4408 when nothing at all arrived for this long.
    pub idle_timeout: Duration,
    /// Interval of the server's `ping` frames.
    pub ping_interval: Duration,
    /// How long the final close frame may take to go out before the socket is dropped.
    pub close_timeout: Duration,
    /// Topics one connection may hold; more are refused with `LIMIT`.
    pub max_subscriptions: usize,
    /// Topics one `subscribe` or `unsubscribe` may list. The rest of a `subscribe` are refused
    /// in one `error` `LIMIT`; a longer `unsubscribe` is refused with `INVALID_DATA`.
    pub max_topics_per_subscribe: usize,
    /// Error frames one `subscribe` may cause; the rest are summed up in one `error` `LIMIT`.
    pub max_errors_per_subscribe: usize,
    /// Longest `message_id`, `req_id` or topic name a client may send, in bytes; a frame with
    /// a longer one is refused with `INVALID_DATA`, and the string is not echoed.
    pub max_id_bytes: usize,
    /// Events kept per topic for replay (0: no replay).
    pub replay_capacity: usize,
    /// Bytes of events kept per topic for replay.
    pub replay_topic_bytes: usize,
    /// Bytes of events kept for replay over all topics; the oldest event of any topic goes first.
    pub replay_total_bytes: usize,
    /// Topics whose `seq` the in-memory broker keeps. Past it, the least recently published
    /// topic is forgotten: its next event starts a new stream, in a new epoch, so its
    /// subscribers are told to resync rather than given another stream's events.
    pub replay_topics: usize,
    /// Largest HTTP request body, in bytes ([`crate::serve::http_limits`]): past it, 413.
    pub max_body_bytes: usize,
    /// How long an HTTP connection may take to send a request's head, and may stay idle between
    /// requests ([`crate::serve::serve`]).
    pub header_read_timeout: Duration,
    /// How long one HTTP request may take, body included ([`crate::serve::http_limits`]):
    /// past it, 408.
    pub request_timeout: Duration,
    /// How long an HTTP response write may make no progress ([`crate::serve::serve`]): a
    /// client that does not read its answer is disconnected after it, and the answer freed.
    pub http_write_timeout: Duration,
    /// Largest request head, in bytes ([`crate::serve::serve`]): hyper's read buffer stops
    /// there (it is at least 8 KiB), and a longer head gets 431.
    pub max_header_bytes: usize,
    /// Open TCP connections (HTTP and WebSocket) at most ([`crate::serve::serve`]); past it a
    /// new connection gets 503 at once.
    pub max_connections: usize,
    /// Connections that are not an authenticated WebSocket (HTTP, a head being read, an upgrade
    /// being refused), at most, of [`Limits::max_connections`]: the rest are kept for signed-in
    /// users' WebSockets. Past it a new connection gets 503 at once.
    pub max_http_connections: usize,
    /// Of those, from one peer address at most; past it 503 at once.
    pub max_http_connections_per_ip: usize,
    /// WebSockets of one user at most; past it the new one is closed with 1008.
    pub max_connections_per_user: usize,
    /// How long shutdown waits for connections after asking them to finish; then what is left
    /// is dropped.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 64 << 10,
            read_buffer_bytes: 4096,
            write_buffer_bytes: 4096,
            rate_burst: 200,
            rate_per_sec: 100,
            queue_capacity: 1024,
            queue_bytes: 1 << 20,
            write_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ping_interval: Duration::from_secs(30),
            close_timeout: Duration::from_secs(1),
            max_subscriptions: 2048,
            max_topics_per_subscribe: 2048,
            max_errors_per_subscribe: 32,
            max_id_bytes: 128,
            replay_capacity: 1000,
            replay_topic_bytes: 1 << 20,
            replay_total_bytes: 64 << 20,
            replay_topics: 100_000,
            max_body_bytes: 64 << 10,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            http_write_timeout: Duration::from_secs(10),
            max_header_bytes: 16 << 10,
            max_connections: 16_384,
            max_http_connections: 4096,
            max_http_connections_per_ip: 128,
            max_connections_per_user: 16,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// The shortest timer the server arms: a zero interval or timeout would spin or panic.
const MIN_TIMER: Duration = Duration::from_millis(1);

impl Limits {
    /// [`Limits::ping_interval`], at least 1 ms.
    pub fn ping_every(&self) -> Duration {
        self.ping_interval.max(MIN_TIMER)
    }

    /// [`Limits::idle_timeout`], at least 1 ms.
    pub fn idle_after(&self) -> Duration {
        self.idle_timeout.max(MIN_TIMER)
    }

    /// [`Limits::write_timeout`], at least 1 ms.
    pub fn write_deadline(&self) -> Duration {
        self.write_timeout.max(MIN_TIMER)
    }

    /// [`Limits::header_read_timeout`], at least 1 ms.
    pub fn header_deadline(&self) -> Duration {
        self.header_read_timeout.max(MIN_TIMER)
    }

    /// [`Limits::http_write_timeout`], at least 1 ms.
    pub fn http_write_deadline(&self) -> Duration {
        self.http_write_timeout.max(MIN_TIMER)
    }

    /// [`Limits::request_timeout`], at least 1 ms.
    pub fn request_deadline(&self) -> Duration {
        self.request_timeout.max(MIN_TIMER)
    }
}
