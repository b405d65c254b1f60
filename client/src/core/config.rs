//! Settings of the connection, with the defaults the issue tracker's users expect.

use std::fmt;

use super::backoff::BackoffConfig;
#[cfg(feature = "resume")]
use super::resume::ResumeConfig;
use super::time::Millis;

/// Produces the token for each connection attempt; `None` connects without one. It runs
/// outside the client's state, so it may read the client (its state, its metrics).
pub type TokenProvider = Box<dyn FnMut() -> Option<String>>;

/// Connection settings. Build with [`Config::new`] and adjust the public fields.
pub struct Config {
    /// `ws://` or `wss://` URL of the endpoint, without the token: tether's stub serves
    /// `/api/ws/v2`, the origin backend `/api/ws`. In the browser a relative URL is resolved
    /// against the page.
    pub url: String,
    /// Called on every connection attempt; its token is appended as `?token=`.
    pub token: TokenProvider,
    /// Ask the server for tether's extensions (acknowledgements, `seq`, replay) by adding
    /// `tether=1` to the URL. A server that ignores it still works: the client then activates
    /// topics when a ping sent after their `subscribe` is answered, and reports that missed
    /// events are not replayed.
    pub extensions: bool,
    /// With the extensions, also ask for frames as binary WebSocket messages (`binary=1`):
    /// the same UTF-8 JSON, which a browser hands over as bytes to copy into wasm, where a text
    /// frame is first decoded into a JavaScript string and then encoded again. A server that
    /// ignores it sends text, which the client reads as before. On by default.
    pub binary_frames: bool,
    /// Reconnect delays.
    pub backoff: BackoffConfig,
    /// How long a socket must stay up before its close resets the backoff.
    pub stable_after: Millis,
    /// How often the client pings.
    pub ping_interval: Millis,
    /// How long past a ping interval the client waits for any frame before declaring the
    /// connection dead.
    pub pong_timeout: Millis,
    /// How long a socket may take to open and deliver its first frame.
    pub connect_timeout: Millis,
    /// A timer that fires this much later than scheduled means the machine slept or the tab
    /// was throttled: liveness is checked at once.
    pub wake_threshold: Millis,
    /// How many frames `send` and `request` queue while no socket can take them.
    pub outbox_capacity: usize,
    /// How long a queued frame waits for the connection to come back before it is dropped
    /// unsent (a `request` then fails with `Expired`).
    pub queue_timeout: Millis,
    /// How long a sent `request` waits for its reply.
    pub request_timeout: Millis,
    /// The largest frame the server accepts; larger subscribes are split, larger sends refused.
    pub max_frame_bytes: usize,
    /// Weight of the newest RTT sample in the moving average, in (0, 1].
    pub rtt_ewma_alpha: f64,
    /// Share one socket among every tab of the app that gives the same name (the browser's
    /// Web Locks and `BroadcastChannel`): include the user in it, so that two users in one
    /// browser profile never share. `None` (the default): this tab has its own socket.
    /// Feature `tabs`.
    #[cfg(feature = "tabs")]
    pub share: Option<String>,
    /// Resume across reloads: keep each topic's position in the tab's storage and start from
    /// it after a reload. `None` (the default): every page starts from nothing. Feature
    /// `resume`.
    #[cfg(feature = "resume")]
    pub resume: Option<ResumeConfig>,
    /// Also emit [`Output::Relay`](super::Output::Relay) for frames answering a `req_id` this
    /// client did not make: set by the tab that relays other tabs' requests.
    pub(crate) relay_replies: bool,
}

impl Config {
    /// Defaults: extensions asked for, backoff 500 ms to 30 s, stable after 5 s, a ping on open
    /// and every 25 s, pong timeout 10 s, connect timeout 10 s, outbox 256 frames for up to
    /// 30 s, requests answered within 10 s, frames up to 64 KiB.
    pub fn new(url: impl Into<String>) -> Config {
        Config {
            url: url.into(),
            token: Box::new(|| None),
            extensions: true,
            binary_frames: true,
            backoff: BackoffConfig::default(),
            stable_after: Millis::secs(5),
            ping_interval: Millis::secs(25),
            pong_timeout: Millis::secs(10),
            connect_timeout: Millis::secs(10),
            wake_threshold: Millis::secs(5),
            outbox_capacity: 256,
            queue_timeout: Millis::secs(30),
            request_timeout: Millis::secs(10),
            max_frame_bytes: 64 * 1024,
            rtt_ewma_alpha: 0.2,
            #[cfg(feature = "tabs")]
            share: None,
            #[cfg(feature = "resume")]
            resume: None,
            relay_replies: false,
        }
    }

    /// Shares one socket among every tab of the app that uses the same `name` (see
    /// [`Config::share`]); each tab still has its own `AppState`, topics and hooks. Include the
    /// user in the name: tabs of two users must never share. Feature `tabs`.
    ///
    /// ```
    /// use tether_client::Config;
    ///
    /// let user_id = 7;
    /// let token = String::from("a token for user 7");
    /// let config = Config::new("/api/ws/v2")
    ///     .with_token(move || Some(token.clone()))
    ///     .share_across_tabs(format!("my-app:{user_id}"));
    /// assert_eq!(config.share.as_deref(), Some("my-app:7"));
    /// ```
    #[cfg(feature = "tabs")]
    pub fn share_across_tabs(mut self, name: impl Into<String>) -> Config {
        self.share = Some(name.into());
        self
    }

    /// Resumes across reloads (see [`Config::resume`](Config#structfield.resume)): each
    /// topic's last `seq` and the server's epoch are kept in the tab's `sessionStorage` under
    /// `key`, and a view that mounts the topic after a reload, within 5 minutes, starts from
    /// there. Include the user in `key`: a record stored under another key is ignored. Feature
    /// `resume`.
    ///
    /// ```
    /// use tether_client::Config;
    ///
    /// let user_id = 7;
    /// let token = String::from("a token for user 7");
    /// let config = Config::new("/api/ws/v2")
    ///     .with_token(move || Some(token.clone()))
    ///     .resume(format!("my-app:{user_id}"));
    /// assert_eq!(config.resume.unwrap().key, "my-app:7");
    /// ```
    #[cfg(feature = "resume")]
    pub fn resume(mut self, key: impl Into<String>) -> Config {
        self.resume = Some(ResumeConfig::new(key));
        self
    }

    /// A copy of every setting but the token provider (which connects without a token).
    #[cfg(feature = "tabs")]
    pub(crate) fn settings(&self) -> Config {
        Config {
            url: self.url.clone(),
            token: Box::new(|| None),
            extensions: self.extensions,
            binary_frames: self.binary_frames,
            backoff: self.backoff,
            stable_after: self.stable_after,
            ping_interval: self.ping_interval,
            pong_timeout: self.pong_timeout,
            connect_timeout: self.connect_timeout,
            wake_threshold: self.wake_threshold,
            outbox_capacity: self.outbox_capacity,
            queue_timeout: self.queue_timeout,
            request_timeout: self.request_timeout,
            max_frame_bytes: self.max_frame_bytes,
            rtt_ewma_alpha: self.rtt_ewma_alpha,
            share: self.share.clone(),
            #[cfg(feature = "resume")]
            resume: self.resume.clone(),
            relay_replies: self.relay_replies,
        }
    }

    /// Sets the token provider.
    pub fn with_token(mut self, token: impl FnMut() -> Option<String> + 'static) -> Config {
        self.token = Box::new(token);
        self
    }

    /// The URL a new socket opens, without the token.
    pub(crate) fn socket_url(&self) -> String {
        match (self.extensions, self.binary_frames) {
            (true, true) => with_query(&with_query(&self.url, "tether", "1"), "binary", "1"),
            (true, false) => with_query(&self.url, "tether", "1"),
            (false, _) => self.url.clone(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token provider is deliberately not printed.
        f.debug_struct("Config")
            .field("url", &self.url)
            .field("extensions", &self.extensions)
            .field("binary_frames", &self.binary_frames)
            .field("backoff", &self.backoff)
            .field("stable_after", &self.stable_after)
            .field("ping_interval", &self.ping_interval)
            .field("pong_timeout", &self.pong_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("outbox_capacity", &self.outbox_capacity)
            .field("queue_timeout", &self.queue_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_frame_bytes", &self.max_frame_bytes)
            .finish_non_exhaustive()
    }
}

/// Appends `key=value` to `url`'s query, percent-encoding the value.
pub fn with_query(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(url.len() + key.len() + value.len() + 2);
    out.push_str(url);
    out.push(sep);
    out.push_str(key);
    out.push('=');
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

/// Appends `token`, if any, to `url` as a percent-encoded `token` query parameter.
pub fn url_with_token(url: &str, token: Option<&str>) -> String {
    match token {
        Some(token) => with_query(url, "token", token),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_appended_and_encoded() {
        assert_eq!(
            url_with_token("ws://h/api/ws/v2", Some("a.b-c")),
            "ws://h/api/ws/v2?token=a.b-c"
        );
        assert_eq!(
            url_with_token("ws://h/x?y=1", Some("a b&")),
            "ws://h/x?y=1&token=a%20b%26"
        );
        assert_eq!(url_with_token("ws://h/x", None), "ws://h/x");
    }

    #[test]
    fn extensions_are_asked_for_in_the_url_unless_turned_off() {
        let mut c = Config::new("ws://h/api/ws");
        assert_eq!(c.socket_url(), "ws://h/api/ws?tether=1&binary=1");
        c.binary_frames = false;
        assert_eq!(c.socket_url(), "ws://h/api/ws?tether=1");
        c.binary_frames = true;
        c.extensions = false;
        assert_eq!(c.socket_url(), "ws://h/api/ws");
    }
}
