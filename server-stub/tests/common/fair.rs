//! Helpers of the fairness tests (issue 21): clients bound to another loopback address, so that
//! the server's per-address budgets tell them from the attacker's; the well-behaved user whose
//! service every attack times; tokens for a child stub; raw HTTP requests that are never read.

use reqwest::Method;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::MaybeTlsStream;

use tether_stub::auth::Authenticator;
use tether_stub::config::DEV_JWT_SECRET;

use super::{Client, TIMEOUT};

/// Where the attacks come from.
pub const ATTACKER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

/// Where the well-behaved user connects from: another loopback address.
pub const VICTIM_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A token of `user` for a child stub started with `--dev` (signed with the public dev secret).
pub fn dev_token(user: u64) -> String {
    Authenticator::new(DEV_JWT_SECRET, false)
        .mint(user, 3600)
        .expect("mint")
}

/// A TCP connection to `addr` from `ip`, with a small receive buffer if asked.
pub async fn tcp_from(
    addr: SocketAddr,
    ip: IpAddr,
    recv_buffer: Option<u32>,
) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    socket.bind(SocketAddr::new(ip, 0))?;
    socket.connect(addr).await
}

/// A WebSocket with tether's extensions to `addr` from `ip`, authenticated with `token`.
pub async fn ws_from(
    addr: SocketAddr,
    token: &str,
    ip: IpAddr,
    recv_buffer: Option<u32>,
) -> Result<Client, WsError> {
    let stream = tcp_from(addr, ip, recv_buffer).await?;
    let request = format!("ws://{addr}/api/ws/v2?token={token}&tether=1").into_client_request()?;
    let handshake = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream));
    let (ws, _) = tokio::time::timeout(TIMEOUT, handshake)
        .await
        .map_err(|_| WsError::Io(std::io::ErrorKind::TimedOut.into()))??;
    Ok(Client { ws })
}

/// An HTTP client whose connections come from `ip`.
pub fn http_from(ip: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip)
        .build()
        .expect("http client")
}

/// Sends `method path` with a bearer `token` and a JSON body; the status and the JSON answer.
pub async fn rest(
    http: &reqwest::Client,
    addr: SocketAddr,
    (method, path): (Method, &str),
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http
        .request(method, format!("http://{addr}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = tokio::time::timeout(TIMEOUT, request.send())
        .await
        .expect("answer in time")
        .expect("http");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Checks that user 1 (the well-behaved user, with `token`) is served from [`VICTIM_IP`]
/// within `limit`: it opens a WebSocket, subscribes to `agent:1` and is acknowledged, changes
/// agent 1 over REST and gets the `agent_updated` it published. Returns how long it took;
/// fails naming the step that was not done in time.
pub async fn served_within(addr: SocketAddr, token: &str, limit: Duration) -> Duration {
    let step = Arc::new(Mutex::new("connect"));
    let start = Instant::now();
    // Waits past the limit, to say how late it was when it fails.
    let served = tokio::time::timeout(SERVED_PATIENCE, serve_once(addr, token, step.clone())).await;
    let took = start.elapsed();
    let step = *step.lock().expect("step");
    match served {
        Ok(()) => assert!(
            took <= limit,
            "another user was not served within {limit:?}: {took:?} (slowest after {step})"
        ),
        Err(_) => panic!("another user was not served within {SERVED_PATIENCE:?}: stuck at {step}"),
    }
    took
}

/// How long [`served_within`] waits before giving up, to report how late a service was.
const SERVED_PATIENCE: Duration = Duration::from_secs(20);

/// One service of user 1; `step` names what it is doing.
async fn serve_once(addr: SocketAddr, token: &str, step: Arc<Mutex<&'static str>>) {
    let at = |name: &'static str| *step.lock().expect("step") = name;
    let mut client = loop {
        // A refused or timed-out upgrade is retried, as a client would.
        if let Ok(client) = ws_from(addr, token, VICTIM_IP, None).await {
            break client;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    at("subscribe");
    client.subscribe_ok(&["agent:1"]).await;
    at("REST");
    let status = format!("served-{}", rand_suffix());
    let http = http_from(VICTIM_IP);
    let change = Some(json!({ "status": status }));
    let (code, _) = rest(&http, addr, (Method::PATCH, "/api/agents/1"), token, change).await;
    assert_eq!(code, 200, "PATCH of another user");
    at("event");
    let event = client.recv_event().await;
    assert_eq!(event.kind, "agent_updated");
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Sends a `GET path` with `token` on a fresh connection from `ip` with a tiny receive
/// buffer, and never reads the answer.
pub async fn unread_get(addr: SocketAddr, ip: IpAddr, path: &str, token: &str) -> TcpStream {
    let mut socket = tcp_from(addr, ip, Some(4096)).await.expect("connect");
    let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
    socket.write_all(head.as_bytes()).await.expect("write");
    socket
}

/// The status code of an answer waiting on `socket`, read without consuming it (`None` if
/// nothing came within `wait` or the connection ended).
pub async fn peek_status(socket: &TcpStream, wait: Duration) -> Option<u16> {
    let mut head = [0u8; 12];
    tokio::time::timeout(wait, async {
        loop {
            match socket.peek(&mut head).await {
                Ok(n) if n >= 12 => return Some(()),
                Ok(0) | Err(_) => return None,
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    })
    .await
    .ok()
    .flatten()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Posts `count` messages of `size` bytes to thread `thread` as the owner of `token`, eight at
/// a time; returns how many were stored (201) and the other statuses seen.
pub async fn fill_thread(
    addr: SocketAddr,
    token: &str,
    thread: u64,
    (count, size): (usize, usize),
) -> (usize, Vec<(u16, Value)>) {
    use futures_util::StreamExt;
    let http = http_from(ATTACKER_IP);
    let path = format!("/api/threads/{thread}/messages");
    let content = "m".repeat(size);
    let answers: Vec<(u16, Value)> = futures_util::stream::iter(0..count)
        .map(|_| {
            let body = Some(json!({ "content": content }));
            rest(&http, addr, (Method::POST, &path), token, body)
        })
        .buffered(8)
        .collect()
        .await;
    let stored = answers.iter().filter(|(s, _)| *s == 201).count();
    let others = answers.into_iter().filter(|(s, _)| *s != 201).collect();
    (stored, others)
}

/// Creates `count` agents as the owner of `token`, eight requests at a time; returns the ids
/// of those created (201) and the other answers.
pub async fn create_agents(
    addr: SocketAddr,
    token: &str,
    count: usize,
) -> (Vec<u64>, Vec<(u16, Value)>) {
    use futures_util::StreamExt;
    let http = http_from(ATTACKER_IP);
    let answers: Vec<(u16, Value)> = futures_util::stream::iter(0..count)
        .map(|i| {
            let body = Some(json!({ "name": format!("agent {i}") }));
            rest(&http, addr, (Method::POST, "/api/agents"), token, body)
        })
        .buffered(8)
        .collect()
        .await;
    let mut ids = Vec::new();
    let mut others = Vec::new();
    for (status, body) in answers {
        match (status, body["id"].as_u64()) {
            (201, Some(id)) => ids.push(id),
            _ => others.push((status, body)),
        }
    }
    (ids, others)
}

/// Whether every answer is 429 with `error` `LIMIT`.
pub fn all_limit(answers: &[(u16, Value)]) -> bool {
    answers
        .iter()
        .all(|(s, b)| *s == 429 && b["error"] == "LIMIT")
}
