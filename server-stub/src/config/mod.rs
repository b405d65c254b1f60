//! The stub's configuration: every knob of the command line, with the defaults PROTOCOL.md
//! documents. Tests build a [`Config`] directly and shorten the timers they exercise. The
//! limits of the WebSocket, the replay and HTTP are the library's ([`Config::limits`] maps the
//! flags onto [`Limits`]); the others (REST field sizes, the demo's pace) are the stub's.

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

use tether_server::Limits;

/// The JWT secret used with `--dev` when no secret is given. It is public on purpose, so it is
/// never accepted without `--dev`.
pub const DEV_JWT_SECRET: &str = "tether-stub-dev-secret";

/// The shortest JWT secret accepted without `--dev`, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The fixed token accepted as user 1 when `--dev` is on.
pub const DEV_TOKEN: &str = "dev-token";

/// The user the dev token authenticates as.
pub const DEV_USER: u64 = 1;

/// Which server the stub behaves like.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// tether's reference server: the default data shapes (`fixtures/server/`), and tether's
    /// extensions (acknowledgements, `seq`, replay, `resync_required`) for connections that ask
    /// for them with `tether=1` in the WebSocket URL.
    #[default]
    Tether,
    /// A stand-in for the origin backend: its data shapes (`fixtures/origin/`), no extensions
    /// whatever the URL says, refusals as `error` frames, `agent_state` echoing the subscribe's
    /// `message_id`, bad tokens refused with HTTP 401 at the upgrade, and no `seq` in REST.
    Origin,
}

/// How the stub runs. Parsed from the command line by the `server-stub` binary.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "server-stub",
    about = "tether's reference server for /api/ws/v2 and /api/ws, in the tether or the origin profile",
    version
)]
pub struct Config {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Which server to behave like: `tether` (extensions on request) or `origin` (the origin
    /// backend's shapes and behaviour, no extensions).
    #[arg(long, value_enum, default_value_t = Profile::Tether)]
    pub profile: Profile,
    /// Make the demo alive: flip agent statuses and stream assistant replies.
    #[arg(long)]
    pub simulate: bool,
    /// Mount the `/api/test/*` control endpoints (no token needed: never on a server others
    /// can reach). POST: drop, close?code=, half-open, malformed, duplicate[?last=1], reorder
    /// (each also [?user=], to hit one user's sockets); refuse?ms= (ms is required), admit,
    /// restart[?down_ms=0][&lose_history=false]; publish?topic=[&count=1][&rate=0][&size=0]
    /// [&kind=]; token?sub=[&exp_secs=3600]; seed?owner=[&agents=1][&threads=0]. GET:
    /// published?topic=, subscriptions[?user=]. PROTOCOL.md ("Test control") says what each
    /// does.
    #[arg(long)]
    pub test_control: bool,
    /// Also accept the fixed token `dev-token`, as user 1.
    #[arg(long)]
    pub dev: bool,
    /// HS256 secret of the JWTs (at least 32 bytes). Without `--dev`, this, or
    /// `--jwt-secret-file`, is required; with `--dev`, the public dev secret is the default.
    #[arg(long, env = "STUB_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// A file holding the HS256 secret of the JWTs (trailing newline ignored); wins over
    /// `STUB_JWT_SECRET`.
    #[arg(long)]
    pub jwt_secret_file: Option<PathBuf>,
    /// Interval of the server's `ping` frames, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub ping_interval_ms: u64,
    /// Close with 4408 when nothing arrived for this long, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub idle_timeout_ms: u64,
    /// Events kept per topic for replay (and for the `duplicate` and `reorder` faults).
    #[arg(long, default_value_t = 1000)]
    pub replay_capacity: usize,
    /// Topics one connection may hold.
    #[arg(long, default_value_t = 2048)]
    pub max_subscriptions: usize,
    /// Outbound queue of one connection, in frames (a subscribe reply counts as one).
    #[arg(long, default_value_t = 1024)]
    pub queue_capacity: usize,
    /// Outbound queue of one connection, in bytes (frames queued and not yet written); past
    /// it the connection is closed with 1008. One item is always let into an empty queue.
    #[arg(long, default_value_t = 1 << 20)]
    pub queue_bytes: usize,
    /// How long one write to a socket may take, in milliseconds; past it the connection is
    /// closed with 1008 and its memory freed.
    #[arg(long, default_value_t = 10_000)]
    pub write_timeout_ms: u64,
    /// Largest inbound message or frame, in bytes; larger ones close the socket with 1009.
    /// It is also the read limit: nothing larger is buffered.
    #[arg(long, default_value_t = 65_536)]
    pub max_frame_bytes: usize,
    /// The WebSocket read buffer of one connection, in bytes.
    #[arg(long, default_value_t = 4096)]
    pub read_buffer_bytes: usize,
    /// The WebSocket write buffer of one connection, in bytes (written out when it fills or
    /// on flush).
    #[arg(long, default_value_t = 4096)]
    pub write_buffer_bytes: usize,
    /// Topics one `subscribe` or `unsubscribe` may list; the rest are refused with one `LIMIT`.
    /// As many as a connection may hold, so that a client resubscribes all of them in one
    /// frame (the frame size limit bounds the work too).
    #[arg(long, default_value_t = 2048)]
    pub max_topics_per_subscribe: usize,
    /// Error frames one `subscribe` may cause; the rest are counted in one summary error.
    #[arg(long, default_value_t = 32)]
    pub max_errors_per_subscribe: usize,
    /// Longest `message_id`, `req_id` or topic name a client may send, in bytes; a frame with a
    /// longer one is refused with `INVALID_DATA`, and the string is not echoed.
    #[arg(long, default_value_t = 128)]
    pub max_id_bytes: usize,
    /// Bytes of events kept per topic for replay (besides `--replay-capacity`).
    #[arg(long, default_value_t = 1 << 20)]
    pub replay_topic_bytes: usize,
    /// Bytes of events kept for replay over all topics; the oldest events go first.
    #[arg(long, default_value_t = 64 << 20)]
    pub replay_total_bytes: usize,
    /// Topics whose `seq` the broker keeps; past it the least recently published one is
    /// forgotten, and starts again in a new epoch.
    #[arg(long, default_value_t = 100_000)]
    pub replay_topics: usize,
    /// Use Redis at this URL (`redis://127.0.0.1:6379`) as the broker, instead of the one in
    /// memory: every stub on the same Redis shares its topics' `seq`, replay logs and events.
    /// The replay log is bounded per topic by `--replay-capacity` and `--replay-topic-bytes`.
    #[arg(long, env = "STUB_REDIS_URL")]
    pub redis_url: Option<String>,
    /// The prefix of the broker's keys and channels in Redis.
    #[arg(long, default_value = "tether")]
    pub redis_prefix: String,
    /// Longest agent name, thread title or agent status accepted by REST, in bytes.
    #[arg(long, default_value_t = 200)]
    pub max_name_bytes: usize,
    /// Longest chat message content (REST or `send_message`), in bytes.
    #[arg(long, default_value_t = 16_384)]
    pub max_content_bytes: usize,
    /// Largest HTTP request body, in bytes; larger ones get 413.
    #[arg(long, default_value_t = 65_536)]
    pub max_body_bytes: usize,
    /// How long an HTTP connection may take to send a request's headers, and may stay idle
    /// between requests, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,
    /// How long one HTTP request (reading its body included) may take, in milliseconds; past
    /// it the answer is 408.
    #[arg(long, default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// How long an HTTP response write may make no progress, in milliseconds; past it the
    /// connection is closed and its answer freed.
    #[arg(long, default_value_t = 10_000)]
    pub http_write_timeout_ms: u64,
    /// Largest HTTP request head, in bytes (at least 8192); a longer one gets 431.
    #[arg(long, default_value_t = 16_384)]
    pub max_header_bytes: usize,
    /// Open TCP connections (HTTP and WebSocket) at most; past it a new one gets 503 at once.
    #[arg(long, default_value_t = 16_384)]
    pub max_connections: usize,
    /// Connections that are not a signed-in WebSocket (HTTP, heads being read), at most; the
    /// rest of `--max-connections` is kept for WebSockets. Past it 503 at once.
    #[arg(long, default_value_t = 4096)]
    pub max_http_connections: usize,
    /// Of those, from one peer address at most; past it 503 at once.
    #[arg(long, default_value_t = 128)]
    pub max_http_connections_per_ip: usize,
    /// WebSockets of one user at most; past it the new one is closed with 1008.
    #[arg(long, default_value_t = 16)]
    pub max_connections_per_user: usize,
    /// Records (agents, threads, messages) one user may store; past it 429 `LIMIT`.
    #[arg(long, default_value_t = 10_000)]
    pub max_records_per_user: usize,
    /// Bytes of text (names, titles, statuses, message contents) one user may store; past it
    /// 429 `LIMIT`.
    #[arg(long, default_value_t = 16 << 20)]
    pub max_stored_bytes_per_user: usize,
    /// Agent runs and streamed replies of one user in flight at once; past it 429 `LIMIT`.
    #[arg(long, default_value_t = 16)]
    pub max_runs_per_user: usize,
    /// Items in one page of a REST list (`?limit=` may ask for fewer).
    #[arg(long, default_value_t = 100)]
    pub max_page_items: usize,
    /// Bytes of one page of a REST list, as encoded: a page ends before the item that would
    /// pass it (a page has at least one item).
    #[arg(long, default_value_t = 65_536)]
    pub max_page_bytes: usize,
    /// How long shutdown waits for connections to finish after asking them to, in
    /// milliseconds; then whatever is left is dropped.
    #[arg(long, default_value_t = 5000)]
    pub shutdown_grace_ms: u64,
    /// Inbound token bucket: burst size, in frames.
    #[arg(long, default_value_t = 200)]
    pub rate_burst: u32,
    /// Inbound token bucket: refill rate, in frames per second.
    #[arg(long, default_value_t = 100)]
    pub rate_per_sec: u32,
    /// Directory served as static files, with a fallback to its `index.html`.
    #[arg(long, default_value = "www/dist")]
    pub static_dir: PathBuf,
    /// A browser origin allowed besides the loopback ones (repeatable).
    #[arg(long = "allowed-origin")]
    pub allowed_origins: Vec<String>,
    /// A topic prefix (say `ticker:`) whose topics any signed-in user may hold, for an app's
    /// own schema (repeatable). The stub has no data for them: test control publishes it.
    #[arg(long = "open-topic")]
    pub open_topics: Vec<String>,
    /// How long the final close frame may take to go out before the socket is dropped, in ms.
    #[arg(long, default_value_t = 1000)]
    pub close_timeout_ms: u64,
    /// Pause between the steps of an agent run, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pub run_step_ms: u64,
    /// Pause between the chunks of a streamed assistant reply, in milliseconds.
    #[arg(long, default_value_t = 30)]
    pub stream_chunk_ms: u64,
    /// Pause between the simulator's random status changes, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub simulate_interval_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 8787,
            profile: Profile::Tether,
            simulate: false,
            test_control: false,
            dev: false,
            jwt_secret: None,
            jwt_secret_file: None,
            ping_interval_ms: 30_000,
            idle_timeout_ms: 60_000,
            replay_capacity: 1000,
            max_subscriptions: 2048,
            queue_capacity: 1024,
            queue_bytes: 1 << 20,
            write_timeout_ms: 10_000,
            max_frame_bytes: 65_536,
            read_buffer_bytes: 4096,
            write_buffer_bytes: 4096,
            max_topics_per_subscribe: 2048,
            max_errors_per_subscribe: 32,
            max_id_bytes: 128,
            replay_topic_bytes: 1 << 20,
            replay_total_bytes: 64 << 20,
            replay_topics: 100_000,
            redis_url: None,
            redis_prefix: "tether".into(),
            max_name_bytes: 200,
            max_content_bytes: 16_384,
            max_body_bytes: 65_536,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            http_write_timeout_ms: 10_000,
            max_header_bytes: 16_384,
            max_connections: 16_384,
            max_http_connections: 4096,
            max_http_connections_per_ip: 128,
            max_connections_per_user: 16,
            max_records_per_user: 10_000,
            max_stored_bytes_per_user: 16 << 20,
            max_runs_per_user: 16,
            max_page_items: 100,
            max_page_bytes: 65_536,
            shutdown_grace_ms: 5000,
            rate_burst: 200,
            rate_per_sec: 100,
            static_dir: PathBuf::from("www/dist"),
            allowed_origins: Vec::new(),
            open_topics: Vec::new(),
            close_timeout_ms: 1000,
            run_step_ms: 300,
            stream_chunk_ms: 30,
            simulate_interval_ms: 2000,
        }
    }
}

/// Why the configuration cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No secret, the public one, or a short one, without `--dev`.
    #[error("{0}")]
    Secret(String),
}

impl Config {
    /// The JWT secret: from `--jwt-secret-file`, else `--jwt-secret`/`STUB_JWT_SECRET`, else
    /// (with `--dev` only) the public [`DEV_JWT_SECRET`]. Without `--dev`, a missing secret,
    /// the public one or one shorter than [`MIN_SECRET_BYTES`] is an error.
    pub fn secret(&self) -> Result<String, ConfigError> {
        let given = match &self.jwt_secret_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
                    .map_err(|e| {
                        ConfigError::Secret(format!("cannot read {}: {e}", path.display()))
                    })?,
            ),
            None => self.jwt_secret.clone(),
        };
        if self.dev {
            return Ok(given.unwrap_or_else(|| DEV_JWT_SECRET.into()));
        }
        match given {
            None => Err(ConfigError::Secret(
                "no JWT secret: set STUB_JWT_SECRET or --jwt-secret-file (or run with --dev)"
                    .into(),
            )),
            Some(s) if s == DEV_JWT_SECRET => Err(ConfigError::Secret(
                "the public dev secret is only accepted with --dev".into(),
            )),
            Some(s) if s.len() < MIN_SECRET_BYTES => Err(ConfigError::Secret(format!(
                "the JWT secret must have at least {MIN_SECRET_BYTES} bytes"
            ))),
            Some(s) => Ok(s),
        }
    }

    /// The library's limits, from the flags (the library arms no timer under 1 ms).
    pub fn limits(&self) -> Limits {
        let ms = |ms: u64| Duration::from_millis(ms);
        Limits {
            max_frame_bytes: self.max_frame_bytes,
            read_buffer_bytes: self.read_buffer_bytes,
            write_buffer_bytes: self.write_buffer_bytes,
            rate_burst: self.rate_burst,
            rate_per_sec: self.rate_per_sec,
            queue_capacity: self.queue_capacity,
            queue_bytes: self.queue_bytes,
            write_timeout: ms(self.write_timeout_ms),
            idle_timeout: ms(self.idle_timeout_ms),
            ping_interval: ms(self.ping_interval_ms),
            close_timeout: ms(self.close_timeout_ms),
            max_subscriptions: self.max_subscriptions,
            max_topics_per_subscribe: self.max_topics_per_subscribe,
            max_errors_per_subscribe: self.max_errors_per_subscribe,
            max_id_bytes: self.max_id_bytes,
            replay_capacity: self.replay_capacity,
            replay_topic_bytes: self.replay_topic_bytes,
            replay_total_bytes: self.replay_total_bytes,
            replay_topics: self.replay_topics,
            max_body_bytes: self.max_body_bytes,
            header_read_timeout: ms(self.header_read_timeout_ms),
            request_timeout: ms(self.request_timeout_ms),
            http_write_timeout: ms(self.http_write_timeout_ms),
            max_header_bytes: self.max_header_bytes,
            max_connections: self.max_connections,
            max_http_connections: self.max_http_connections,
            max_http_connections_per_ip: self.max_http_connections_per_ip,
            max_connections_per_user: self.max_connections_per_user,
            shutdown_grace: ms(self.shutdown_grace_ms),
        }
    }

    /// What one user may store.
    pub fn quota(&self) -> crate::domain::quota::Quota {
        crate::domain::quota::Quota {
            records: self.max_records_per_user,
            bytes: self.max_stored_bytes_per_user,
        }
    }

    /// Pause between run steps.
    pub fn run_step(&self) -> Duration {
        Duration::from_millis(self.run_step_ms)
    }

    /// Pause between streamed chunks.
    pub fn stream_chunk(&self) -> Duration {
        Duration::from_millis(self.stream_chunk_ms)
    }

    /// Pause between simulated status changes.
    pub fn simulate_interval(&self) -> Duration {
        Duration::from_millis(self.simulate_interval_ms.max(1))
    }
}

#[cfg(test)]
mod tests;
