//! Helpers of the hostile-client tests: raw sockets speaking WebSocket frames by hand, the
//! stub binary as a child process whose RSS can be read, and the well-behaved client whose
//! service every attack test checks.

use reqwest::Method;
use serde_json::json;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use tether_wire::control::Control;

use super::{Stub, TIMEOUT};

/// Checks that a well-behaved client of user 1 is served: it subscribes to `agent:1`, gets the
/// event a REST change publishes, and gets a `pong` for its `ping`, all in time.
pub async fn assert_served(stub: &Stub) {
    let mut client = stub.connect(1).await;
    client.subscribe_ok(&["agent:1"]).await;
    let (status, _) = stub
        .request(
            Method::PATCH,
            "/api/agents/1",
            Some(1),
            Some(json!({"status": "busy"})),
        )
        .await;
    assert!(status.is_success(), "PATCH {status}");
    assert_eq!(client.recv_event().await.kind, "agent_updated");
    client.ping("served", 7).await;
    assert!(matches!(client.recv_control().await, Control::Pong(_)));
}

/// A TCP socket upgraded to a WebSocket by hand, with `token`.
pub async fn raw_ws(stub: &Stub, token: &str) -> TcpStream {
    let mut socket = TcpStream::connect(stub.addr).await.expect("connect");
    let request = format!(
        "GET /api/ws/v2?token={token}&tether=1 HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        stub.addr
    );
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tokio::time::timeout(TIMEOUT, socket.read_exact(&mut byte))
            .await
            .expect("upgrade answered in time")
            .expect("read");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "upgraded");
    socket
}

/// One frame: the first byte (FIN, RSV, opcode), the payload, masked (with a zero key) or not.
pub fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut out = vec![first];
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&[0; 4]);
    }
    out.extend_from_slice(payload);
    out
}

/// How the server ended a raw socket within `within`: `Some(code)` for a close frame,
/// `None` for a TCP end without one. Panics if it is still open.
pub async fn raw_end(socket: &mut TcpStream, within: Duration) -> Option<u16> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Err(_) => panic!("still open after {within:?} ({} bytes read)", got.len()),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    let mut i = 0;
    while i + 2 <= got.len() {
        let (opcode, len7) = (got[i] & 0x0f, usize::from(got[i + 1] & 0x7f));
        let (header, len) = match len7 {
            126 if i + 4 <= got.len() => {
                (4, usize::from(u16::from_be_bytes([got[i + 2], got[i + 3]])))
            }
            126 | 127 => return None,
            n => (2, n),
        };
        if opcode == 8 && len >= 2 && i + header + 2 <= got.len() {
            return Some(u16::from_be_bytes([got[i + header], got[i + header + 1]]));
        }
        i += header + len;
    }
    None
}

/// Whether the server still holds a raw TCP socket open (nothing to read, no end) after `wait`.
pub async fn still_open(socket: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Err(_) => return true,
            Ok(Ok(0)) | Ok(Err(_)) => return false,
            Ok(Ok(_)) => {}
        }
    }
}

/// The stub binary running as a child process, so that its memory can be measured alone.
pub struct ChildStub {
    /// The process.
    pub child: tokio::process::Child,
    /// Where it listens.
    pub addr: String,
}

impl ChildStub {
    /// Starts `server-stub --dev --port 0 ARGS…`.
    pub async fn start(args: &[&str]) -> ChildStub {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_server-stub"))
            .args(["--dev", "--port", "0"])
            .args(args)
            .env("RUST_LOG", "error")
            .env_remove("STUB_JWT_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the stub");
        let stdout = child.stdout.take().expect("stdout");
        let line = tokio::time::timeout(TIMEOUT, BufReader::new(stdout).lines().next_line())
            .await
            .expect("address in time")
            .expect("read")
            .expect("a line");
        let addr = line.trim_start_matches("listening on http://").to_owned();
        ChildStub { child, addr }
    }

    /// Where it listens, as an address.
    pub fn socket_addr(&self) -> std::net::SocketAddr {
        self.addr.parse().expect("an address")
    }

    /// Sends it SIGTERM; returns how long it took to exit, and whether it exited well.
    pub async fn terminate(&mut self) -> (Duration, bool) {
        let pid = self.child.id().expect("running").to_string();
        let start = Instant::now();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        assert!(killed.expect("kill").success());
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("exited within 15 s")
            .expect("status");
        (start.elapsed(), status.success())
    }

    /// Its resident memory, in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .expect("VmRSS")
    }
}

/// Waits until `condition` holds, polling, for at most `within`; returns how long it took.
pub async fn within(
    what: &str,
    within: Duration,
    mut condition: impl AsyncFnMut() -> bool,
) -> Duration {
    let start = Instant::now();
    while !condition().await {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}
