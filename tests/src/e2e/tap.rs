//! A wire tap in front of the stub: it forwards every connection byte for byte and, on
//! WebSocket connections (`GET /api/ws…`), reads the frames going each way and notes the `type`
//! of each text frame with the time it passed. What it notes is what reached the stub's door,
//! not what the client says it sent: the ground truth for a heartbeat.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Which way a frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    /// From the browser to the stub.
    ToStub,
    /// From the stub to the browser.
    ToBrowser,
}

/// One text frame that passed the tap.
#[derive(Clone, Debug)]
pub struct Tapped {
    /// When its last byte passed.
    pub at: Instant,
    /// Which WebSocket connection (numbered from 1 in the order they were opened).
    pub socket: u64,
    /// Which way it went.
    pub way: Way,
    /// Its `type` (`?` when it is not a JSON object with one).
    pub kind: String,
}

/// The tap. It lives as long as the process.
#[derive(Clone)]
pub struct WireTap {
    /// `http://127.0.0.1:PORT`: give the browser this instead of the stub's URL.
    pub url: String,
    frames: Arc<Mutex<Vec<Tapped>>>,
    sockets: Arc<AtomicU64>,
}

impl WireTap {
    /// A tap on a free loopback port in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> WireTap {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let tap = WireTap {
            url,
            frames: Arc::default(),
            sockets: Arc::default(),
        };
        let shared = tap.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (tap, upstream) = (shared.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = tap.serve(client, &upstream).await;
                });
            }
        });
        tap
    }

    /// Every text frame noted so far, in the order they passed.
    pub fn frames(&self) -> Vec<Tapped> {
        self.frames.lock().unwrap().clone()
    }

    /// How many WebSocket connections went through.
    pub fn sockets(&self) -> u64 {
        self.sockets.load(Ordering::SeqCst)
    }

    async fn serve(&self, mut client: TcpStream, upstream: &str) -> std::io::Result<()> {
        let head = read_head(&mut client).await?;
        let mut server = TcpStream::connect(upstream).await?;
        server.write_all(&head).await?;
        if !head.starts_with(b"GET /api/ws") {
            tokio::io::copy_bidirectional(&mut client, &mut server).await?;
            return Ok(());
        }
        let socket = self.sockets.fetch_add(1, Ordering::SeqCst) + 1;
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        let up = self.pump(client_read, server_write, socket, Way::ToStub, false);
        let down = self.pump(server_read, client_write, socket, Way::ToBrowser, true);
        let _ = tokio::join!(up, down);
        Ok(())
    }

    /// Copies `from` to `to`, noting each text frame; `skip_head` skips the HTTP answer first.
    async fn pump(
        &self,
        mut from: impl AsyncRead + Unpin,
        mut to: impl AsyncWrite + Unpin,
        socket: u64,
        way: Way,
        mut skip_head: bool,
    ) -> std::io::Result<()> {
        let mut pending = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = from.read(&mut buf).await?;
            if n == 0 {
                return to.shutdown().await;
            }
            to.write_all(&buf[..n]).await?;
            pending.extend_from_slice(&buf[..n]);
            if skip_head {
                let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                pending.drain(..end + 4);
                skip_head = false;
            }
            while let Some((payload, used)) = next_text_frame(&pending) {
                pending.drain(..used);
                if let Some(payload) = payload {
                    let kind = type_of(&payload);
                    let at = Instant::now();
                    let frame = Tapped {
                        at,
                        socket,
                        way,
                        kind,
                    };
                    self.frames.lock().unwrap().push(frame);
                }
            }
        }
    }
}

/// The `type` of a JSON frame, or `?`.
fn type_of(payload: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// The first whole frame of `bytes`: its unmasked payload if it is a text frame (`None` for
/// any other opcode), and how many bytes it took; `None` until a whole frame has arrived.
/// (Neither side fragments or compresses the frames of this protocol's size.)
fn next_text_frame(bytes: &[u8]) -> Option<(Option<Vec<u8>>, usize)> {
    let (b0, b1) = (*bytes.first()?, *bytes.get(1)?);
    let masked = b1 & 0x80 != 0;
    let (len, mut at) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let mask: Option<[u8; 4]> = if masked {
        let m = bytes.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(m)
    } else {
        None
    };
    let body = bytes.get(at..at + len)?;
    let used = at + len;
    if b0 & 0x0f != 1 {
        return Some((None, used));
    }
    let payload = match mask {
        Some(m) => body.iter().enumerate().map(|(i, b)| b ^ m[i % 4]).collect(),
        None => body.to_vec(),
    };
    Some((Some(payload), used))
}

/// Reads up to the end of the HTTP request head (`\r\n\r\n`), at most 64 KiB.
async fn read_head(client: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_masked_and_unmasked_text_frames_and_skips_others() {
        let text = br#"{"type":"ping"}"#;
        let mask = [1u8, 2, 3, 4];
        let mut masked = vec![0x81, 0x80 | text.len() as u8];
        masked.extend_from_slice(&mask);
        masked.extend(text.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let (payload, used) = next_text_frame(&masked).unwrap();
        assert_eq!(
            (type_of(&payload.unwrap()), used),
            ("ping".into(), masked.len())
        );
        let mut plain = vec![0x81, text.len() as u8];
        plain.extend_from_slice(text);
        assert_eq!(
            next_text_frame(&plain).unwrap().0.as_deref(),
            Some(&text[..])
        );
        assert_eq!(
            next_text_frame(&plain[..5]),
            None,
            "a frame cut short waits"
        );
        assert_eq!(
            next_text_frame(&[0x89, 0]),
            Some((None, 2)),
            "a WebSocket ping is no text"
        );
    }
}
