//! Shared helpers of the stub's integration tests: a stub bound to `127.0.0.1:0` with a test
//! configuration, an HTTP client, and a tokio-tungstenite client with typed send and receive
//! helpers. Every wait has a timeout, so a failing test fails instead of hanging.
//!
//! [`Stub::connect`] asks for tether's extensions (`tether=1`), as tether's client does, since
//! most tests check acknowledgements and `seq`; [`Stub::connect_plain`] does not.

#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use tether::agents::model::SendMessage;
use tether::agents::AgentsMessage;
use tether::protocol::control::{Heartbeat, Subscribe, Unsubscribe};
use tether::protocol::{Control, Envelope, Topic};
use tether_stub::auth::Authenticator;
use tether_stub::Config;

/// The longest any single wait may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The configuration tests start from: test control and dev token on, fast runs and streams.
pub fn test_config() -> Config {
    Config {
        port: 0,
        test_control: true,
        dev: true,
        run_step_ms: 5,
        stream_chunk_ms: 2,
        close_timeout_ms: 2000,
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
        let secret = config.jwt_secret.clone();
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

/// A WebSocket client.
pub struct Client {
    /// The socket.
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did at the end of a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// A close frame with this code and reason.
    Closed(u16, String),
    /// The connection ended without a close frame.
    Dropped,
}

impl Client {
    /// Sends a frame.
    pub async fn send(&mut self, frame: Envelope) {
        self.send_text(frame.encode()).await;
    }

    /// Sends a control message with an optional `req_id`.
    pub async fn send_control(&mut self, control: Control, req_id: Option<&str>) {
        let mut frame = control.to_envelope().with_ts(1);
        frame.req_id = req_id.map(str::to_owned);
        self.send(frame).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::text(text.into()))
            .await
            .expect("send");
    }

    /// Sends a subscribe.
    pub async fn subscribe(&mut self, message_id: &str, topics: &[&str], since: &[(&str, u64)]) {
        let since = (!since.is_empty()).then(|| {
            since
                .iter()
                .map(|(t, s)| (Topic::from(*t), *s))
                .collect::<BTreeMap<_, _>>()
        });
        let topics = topics.iter().map(|t| Topic::from(*t)).collect();
        let subscribe = Subscribe {
            topics,
            message_id: Some(message_id.into()),
            since,
        };
        self.send_control(Control::Subscribe(subscribe), None).await;
    }

    /// Subscribes to topics that must all be accepted with no `since`; returns the ack's seqs
    /// after consuming the ack and the agent snapshots.
    pub async fn subscribe_ok(&mut self, topics: &[&str]) -> BTreeMap<Topic, u64> {
        self.subscribe("ok", topics, &[]).await;
        let Control::SubscribeAck(ack) = self.recv_control().await else {
            panic!("expected subscribe_ack")
        };
        let names: Vec<&str> = ack.topics.iter().map(Topic::as_str).collect();
        assert_eq!(names, topics, "all topics accepted");
        for _ in topics.iter().filter(|t| t.starts_with("agent:")) {
            assert_eq!(self.recv().await.kind, "agent_state");
        }
        ack.seqs
    }

    /// Subscribes without extensions to topics that must all be accepted: consumes the agent
    /// snapshots and proves with a ping that nothing else came.
    pub async fn subscribe_plain_ok(&mut self, topics: &[&str]) {
        self.subscribe("plain", topics, &[]).await;
        for _ in topics.iter().filter(|t| t.starts_with("agent:")) {
            assert_eq!(self.recv().await.kind, "agent_state");
        }
        self.assert_nothing_pending().await;
    }

    /// Sends an unsubscribe.
    pub async fn unsubscribe(&mut self, message_id: &str, topics: &[&str]) {
        let topics = topics.iter().map(|t| Topic::from(*t)).collect();
        let unsubscribe = Unsubscribe {
            topics,
            message_id: Some(message_id.into()),
        };
        self.send_control(Control::Unsubscribe(unsubscribe), None)
            .await;
    }

    /// Sends a `ping` with `req_id`.
    pub async fn ping(&mut self, req_id: &str, timestamp: u64) {
        let ping = Heartbeat {
            timestamp: Some(timestamp),
        };
        self.send_control(Control::Ping(ping), Some(req_id)).await;
    }

    /// Sends a `send_message`.
    pub async fn send_message(&mut self, req_id: &str, thread_id: u64, content: &str) {
        let data = SendMessage {
            thread_id,
            content: content.into(),
        };
        let frame = Envelope::new("send_message", Topic::thread(thread_id), &data)
            .expect("encodes")
            .with_req_id(req_id)
            .with_ts(1);
        self.send(frame).await;
    }

    /// Proves that nothing is queued for this client: a `ping` is answered by the very next frame.
    pub async fn assert_nothing_pending(&mut self) {
        self.ping("fence", 7).await;
        let frame = self.recv().await;
        assert_eq!(
            frame.req_id.as_deref(),
            Some("fence"),
            "expected the fence pong, got {frame:?}"
        );
        assert_eq!(
            control(&frame),
            Control::Pong(Heartbeat { timestamp: Some(7) }),
            "got {frame:?}"
        );
    }

    /// The next WebSocket message (`None` at the end of the stream).
    pub async fn next_raw(&mut self) -> Option<Result<Message, WsError>> {
        tokio::time::timeout(TIMEOUT, self.ws.next())
            .await
            .expect("timed out waiting for the server")
    }

    /// The next text frame as text.
    pub async fn recv_text(&mut self) -> String {
        loop {
            match self.next_raw().await {
                Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next frame, decoded.
    pub async fn recv(&mut self) -> Envelope {
        let text = self.recv_text().await;
        Envelope::decode(&text).unwrap_or_else(|e| panic!("undecodable frame {text}: {e}"))
    }

    /// The next frame, which must be a control message.
    pub async fn recv_control(&mut self) -> Control {
        control(&self.recv().await)
    }

    /// The next frame that is not a server `ping`.
    pub async fn recv_event(&mut self) -> Envelope {
        loop {
            let frame = self.recv().await;
            if frame.kind != "ping" {
                return frame;
            }
        }
    }

    /// Sends the reply to a close frame the server sent, so that it can let go at once.
    pub async fn answer_close(&mut self) {
        let _ = self.ws.flush().await;
    }

    /// How the connection ends; data frames before the end fail the test unless `skip_data`.
    pub async fn end(&mut self, skip_data: bool) -> End {
        loop {
            match self.next_raw().await {
                Some(Ok(Message::Close(frame))) => {
                    self.answer_close().await;
                    return frame.map_or(End::Closed(1005, String::new()), |f| {
                        End::Closed(f.code.into(), f.reason.as_str().into())
                    });
                }
                Some(Ok(Message::Text(text))) if !skip_data => {
                    panic!("expected the end, got {text}")
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return End::Dropped,
            }
        }
    }

    /// The close code the connection ends with, failing on any data frame first.
    pub async fn close_code(&mut self) -> u16 {
        match self.end(false).await {
            End::Closed(code, _) => code,
            End::Dropped => panic!("the connection dropped without a close frame"),
        }
    }

    /// Asserts that nothing at all arrives, and the connection does not end, for `duration`.
    pub async fn assert_silent_for(&mut self, duration: Duration) {
        if let Ok(next) = tokio::time::timeout(duration, self.ws.next()).await {
            panic!("expected silence, got {next:?}");
        }
    }
}

/// A frame's control message; fails the test if it is an app event or does not decode.
pub fn control(frame: &Envelope) -> Control {
    match Control::parse(frame) {
        Some(Ok(control)) => control,
        other => panic!("expected a control message, got {frame:?}: {other:?}"),
    }
}

/// A frame's app event as tether's client decodes it; fails the test if it does not decode.
pub fn agents(frame: &Envelope) -> AgentsMessage {
    frame
        .decode_as::<AgentsMessage>()
        .unwrap_or_else(|e| panic!("undecodable event {frame:?}: {e}"))
}

/// A frame's `data` as JSON.
pub fn data(frame: &Envelope) -> Value {
    serde_json::from_str(frame.data.get()).expect("data is JSON")
}

/// The numbers of a sequence of frames.
pub fn seqs(frames: &[Envelope]) -> Vec<u64> {
    frames
        .iter()
        .map(|f| f.seq.expect("event has a seq"))
        .collect()
}
