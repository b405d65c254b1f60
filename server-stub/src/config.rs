//! The stub's configuration: every knob of the command line, with the defaults PROTOCOL.md
//! documents. Tests build a [`Config`] directly and shorten the timers they exercise.

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// The JWT secret used when neither `--jwt-secret` nor `STUB_JWT_SECRET` is given.
/// It is public on purpose: the stub is a development and test server.
pub const DEV_JWT_SECRET: &str = "tether-stub-dev-secret";

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
    /// Mount the `/api/test/*` control endpoints.
    #[arg(long)]
    pub test_control: bool,
    /// Also accept the fixed token `dev-token`, as user 1.
    #[arg(long)]
    pub dev: bool,
    /// HS256 secret of the JWTs.
    #[arg(long, env = "STUB_JWT_SECRET", default_value = DEV_JWT_SECRET, hide_env_values = true)]
    pub jwt_secret: String,
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
    /// Largest inbound text frame, in bytes; larger ones close the socket with 1009.
    #[arg(long, default_value_t = 65_536)]
    pub max_frame_bytes: usize,
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
            jwt_secret: DEV_JWT_SECRET.into(),
            ping_interval_ms: 30_000,
            idle_timeout_ms: 60_000,
            replay_capacity: 1000,
            max_subscriptions: 2048,
            queue_capacity: 1024,
            max_frame_bytes: 65_536,
            rate_burst: 200,
            rate_per_sec: 100,
            static_dir: PathBuf::from("www/dist"),
            allowed_origins: Vec::new(),
            close_timeout_ms: 1000,
            run_step_ms: 300,
            stream_chunk_ms: 30,
            simulate_interval_ms: 2000,
        }
    }
}

impl Config {
    /// The server's heartbeat interval.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms.max(1))
    }

    /// How long a connection may stay silent.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms.max(1))
    }

    /// How long a final close frame may take.
    pub fn close_timeout(&self) -> Duration {
        Duration::from_millis(self.close_timeout_ms)
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
mod tests {
    use super::*;

    #[test]
    fn cli_defaults_match_default() {
        let parsed = Config::try_parse_from(["server-stub"]).expect("no arguments parse");
        let default = Config::default();
        assert_eq!(parsed.port, default.port);
        assert_eq!(parsed.ping_interval_ms, default.ping_interval_ms);
        assert_eq!(parsed.idle_timeout_ms, default.idle_timeout_ms);
        assert_eq!(parsed.replay_capacity, default.replay_capacity);
        assert_eq!(parsed.max_subscriptions, default.max_subscriptions);
        assert_eq!(parsed.queue_capacity, default.queue_capacity);
        assert_eq!(parsed.max_frame_bytes, default.max_frame_bytes);
        assert_eq!(parsed.rate_burst, default.rate_burst);
        assert_eq!(parsed.rate_per_sec, default.rate_per_sec);
        assert_eq!(parsed.static_dir, default.static_dir);
        assert_eq!(parsed.profile, default.profile);
    }

    #[test]
    fn origins_repeat() {
        let c = Config::try_parse_from([
            "server-stub",
            "--allowed-origin",
            "https://a.example",
            "--allowed-origin",
            "https://b.example",
            "--port",
            "0",
        ])
        .expect("valid arguments");
        assert_eq!(
            c.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(c.port, 0);
        let origin = Config::try_parse_from(["server-stub", "--profile", "origin"])
            .expect("valid arguments");
        assert_eq!(origin.profile, Profile::Origin);
        assert!(Config::try_parse_from(["server-stub", "--profile", "other"]).is_err());
    }
}
