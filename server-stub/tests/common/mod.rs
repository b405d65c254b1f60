//! Shared helpers of the stub's integration tests: a stub bound to `127.0.0.1:0` with a test
//! configuration, an HTTP client, and a tokio-tungstenite client with typed send and receive
//! helpers. Every wait has a timeout, so a failing test fails instead of hanging.
//!
//! [`Stub::connect`] asks for tether's extensions (`tether=1`), as tether's client does, since
//! most tests check acknowledgements and `seq`; [`Stub::connect_plain`] does not.

// Each test file uses some of these helpers.
#![allow(dead_code, unused_imports)]

mod client;
pub mod contract;
pub mod fair;
pub mod golden;
pub mod hostile;

pub use client::{agents, control, data, seqs, Client, End};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::MaybeTlsStream;
use tokio_util::sync::CancellationToken;

use tether_stub::auth::Authenticator;
use tether_stub::Config;

/// The longest any single wait may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The JWT secret of the tests' stubs, long enough to be accepted without `--dev`.
pub const TEST_SECRET: &str = "tether-stub-test-secret-0123456789abcdef";

/// The configuration tests start from: test control and dev token on, fast runs and streams.
pub fn test_config() -> Config {
    Config {
        port: 0,
        test_control: true,
        dev: true,
        run_step_ms: 5,
        stream_chunk_ms: 2,
        close_timeout_ms: 2000,
        jwt_secret: Some(TEST_SECRET.into()),
        static_dir: "/nonexistent-static-dir".into(),
        ..Config::default()
    }
}

/// A running stub.
pub struct Stub {
    /// Where it listens.
    pub addr: SocketAddr,
    /// An HTTP client.
    pub http: reqwest::Client,
    secret: String,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
}

impl Stub {
    /// A stub with [`test_config`].
    pub async fn start() -> Stub {
        Stub::start_with(|_| {}).await
    }

    /// A stub with [`test_config`] changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Stub::start_on(listener, configure).await
    }

    /// Like [`Stub::start_with`], but the server's sockets have a small send buffer (accepted
    /// sockets inherit it from the listener), so that a client that does not read backs the
    /// server up after a few hundred KiB instead of megabytes.
    pub async fn start_with_small_send_buffer(configure: impl FnOnce(&mut Config)) -> Stub {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .set_send_buffer_size(32 * 1024)
            .expect("set send buffer");
        socket
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("bind");
        Stub::start_on(socket.listen(64).expect("listen"), configure).await
    }

    async fn start_on(listener: TcpListener, configure: impl FnOnce(&mut Config)) -> Stub {
        let mut config = test_config();
        configure(&mut config);
        let secret = config.secret().expect("a valid secret");
        let addr = listener.local_addr().expect("bound address");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(tether_stub::serve(
            config,
            listener,
            shutdown.clone().cancelled_owned(),
        ));
        Stub {
            addr,
            http: reqwest::Client::new(),
            secret,
            shutdown,
            server,
        }
    }

    /// Triggers graceful shutdown and waits for the server to return.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        tokio::time::timeout(TIMEOUT * 2, self.server)
            .await
            .expect("server stops in time")
            .expect("server task")
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The WebSocket URL with `token`, asking for tether's extensions.
    pub fn ws_url(&self, token: &str) -> String {
        format!("ws://{}/api/ws/v2?token={token}&tether=1", self.addr)
    }

    /// The WebSocket URL with `token`, without asking for extensions.
    pub fn ws_url_plain(&self, token: &str) -> String {
        format!("ws://{}/api/ws/v2?token={token}", self.addr)
    }

    /// A valid token for `user`, valid for an hour.
    pub fn token(&self, user: u64) -> String {
        Authenticator::new(&self.secret, false)
            .mint(user, 3600)
            .expect("mint")
    }

    /// A connected client of `user` that asked for tether's extensions.
    pub async fn connect(&self, user: u64) -> Client {
        self.connect_token(&self.token(user))
            .await
            .expect("connects")
    }

    /// A connected client of `user` that did not ask for extensions.
    pub async fn connect_plain(&self, user: u64) -> Client {
        self.connect_url(&self.ws_url_plain(&self.token(user)))
            .await
            .expect("connects")
    }

    /// Connects with any token, asking for extensions (the upgrade may still be refused).
    pub async fn connect_token(&self, token: &str) -> Result<Client, WsError> {
        self.connect_url(&self.ws_url(token)).await
    }

    /// Connects to any URL.
    pub async fn connect_url(&self, url: &str) -> Result<Client, WsError> {
        let request = url.into_client_request()?;
        let (ws, _) = tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .expect("connect in time")?;
        Ok(Client { ws })
    }

    /// Retries until an upgrade of `user` 1 is accepted again (after a refusal or restart).
    pub async fn connect_when_back(&self) -> Client {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            if let Ok(client) = self.connect_token(&self.token(1)).await {
                return client;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never accepted again"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Connects with an `Origin` header.
    pub async fn connect_with_origin(&self, user: u64, origin: &str) -> Result<Client, WsError> {
        let mut request = self.ws_url(&self.token(user)).into_client_request()?;
        request.headers_mut().insert(
            "origin",
            HeaderValue::from_str(origin).expect("header value"),
        );
        let (ws, _) = tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .expect("connect in time")?;
        Ok(Client { ws })
    }

    /// Connects over a socket with a tiny receive buffer, so that a client that does not read
    /// backs up the server quickly.
    pub async fn connect_small_buffer(&self, user: u64) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .set_recv_buffer_size(4096)
            .expect("set receive buffer");
        let stream = socket.connect(self.addr).await.expect("tcp connect");
        let request = self
            .ws_url(&self.token(user))
            .into_client_request()
            .expect("request");
        let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .expect("handshake");
        Client { ws }
    }

    /// Sends an HTTP request as `user` (or without a token) with an optional JSON body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        user: Option<u64>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(user) = user {
            request = request.bearer_auth(self.token(user));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = tokio::time::timeout(TIMEOUT, request.send())
            .await
            .expect("answer in time")
            .expect("http");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `GET path` as `user`, expecting 200.
    pub async fn get(&self, path: &str, user: u64) -> Value {
        let (status, body) = self.request(Method::GET, path, Some(user), None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// A test control call, expecting 200.
    pub async fn control(&self, path_and_query: &str) -> Value {
        let (status, body) = self
            .request(
                Method::POST,
                &format!("/api/test/{path_and_query}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{path_and_query}: {body}");
        body
    }

    /// `GET /api/stats`.
    pub async fn stats(&self) -> Value {
        let (status, body) = self.request(Method::GET, "/api/stats", None, None).await;
        assert_eq!(status, StatusCode::OK);
        body
    }

    /// Polls the stats until `condition` holds; returns them.
    pub async fn wait_stats(&self, what: &str, condition: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let stats = self.stats().await;
            if condition(&stats) {
                return stats;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {stats}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until exactly `n` sockets are open.
    pub async fn wait_open(&self, n: u64) -> Value {
        self.wait_stats(&format!("{n} open connections"), |s| {
            s["connections_open"] == n
        })
        .await
    }
}
