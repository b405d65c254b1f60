//! A proxy in front of the stub that audits the wire: it forwards every byte unchanged, both
//! ways, and reads the WebSocket messages as they pass, checking each against the origin's
//! contract (`schema/envelope-v1.json`) the way the fake driver's tests check what they
//! capture. The native tests reach the stub through it ([`crate::stub::Stub::ws_url`]), so
//! every frame the tokio driver sends, and every frame it is sent, is judged; a test then
//! requires a clean [`FrameTally`].

mod contract;
mod frames;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

pub use contract::{judge, Direction, Verdict};
pub use frames::{FrameReader, Message};

/// How many violations are kept as examples.
const EXAMPLES: usize = 10;

/// What the audit saw so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameTally {
    /// Frames from clients, validated.
    pub client: u64,
    /// Frames from the server, validated.
    pub server: u64,
    /// Of the server's frames read, those that came as binary messages (`binary=1`).
    pub server_binary: u64,
    /// Malformed frames the stub sent on purpose (a fault), not validated.
    pub injected: u64,
    /// Frames the origin sends outside its own contract, not validated.
    pub deviations: u64,
    /// Compressed messages, binary ones that are not UTF-8 text, and any binary message from
    /// a client, which the audit cannot read.
    pub unreadable: u64,
    /// Frames that break the contract.
    pub violations: u64,
    /// The first few of them, with why.
    pub examples: Vec<String>,
}

impl FrameTally {
    /// Something was validated, and nothing broke the contract or went unread.
    pub fn is_clean(&self) -> bool {
        self.client > 0 && self.violations == 0 && self.unreadable == 0
    }
}

impl fmt::Display for FrameTally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frames validated against schema/envelope-v1.json: {} from the client, {} from the server \
             ({} injected malformed, {} origin deviations, {} unreadable; {} binary); {} violations",
            self.client,
            self.server,
            self.injected,
            self.deviations,
            self.unreadable,
            self.server_binary,
            self.violations
        )?;
        for e in &self.examples {
            write!(f, "\n    {e}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Counts {
    client: AtomicU64,
    server: AtomicU64,
    server_binary: AtomicU64,
    injected: AtomicU64,
    deviations: AtomicU64,
    unreadable: AtomicU64,
    violations: AtomicU64,
    examples: Mutex<Vec<String>>,
    /// Whether the server serves the origin's contract (its frames are then validated too).
    strict_server: bool,
}

impl Counts {
    fn count(&self, direction: Direction, message: Message) {
        let text = match message {
            Message::Text(text) => text,
            // Only a server sends binary frames (for `binary=1`); a client sends text.
            Message::BinaryText(text) if direction == Direction::ServerToClient => {
                self.server_binary.fetch_add(1, Relaxed);
                text
            }
            Message::BinaryText(_) | Message::Binary(_) | Message::Compressed => {
                self.unreadable.fetch_add(1, Relaxed);
                return;
            }
        };
        let counter = match judge(direction, &text, self.strict_server) {
            Verdict::Conforms if direction == Direction::ClientToServer => &self.client,
            Verdict::Conforms => &self.server,
            Verdict::Injected => &self.injected,
            Verdict::Deviation => &self.deviations,
            Verdict::Breaks(why) => {
                let mut examples = self.examples.lock().unwrap_or_else(|e| e.into_inner());
                if examples.len() < EXAMPLES {
                    let shown: String = text.chars().take(300).collect();
                    examples.push(format!("{direction:?}: {shown} — {why}"));
                }
                &self.violations
            }
        };
        counter.fetch_add(1, Relaxed);
    }
}

/// The auditing proxy. It lives as long as the test process.
#[derive(Clone, Debug)]
pub struct WireAudit {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    counts: Arc<Counts>,
}

impl WireAudit {
    /// A proxy on a free loopback port in front of `upstream` (`http://host:port`). With
    /// `strict_server`, the server's frames must conform to the origin's contract too.
    pub async fn start(upstream: &str, strict_server: bool) -> WireAudit {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let counts = Arc::new(Counts {
            strict_server,
            ..Counts::default()
        });
        let shared = counts.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, counts) = (upstream.clone(), shared.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        let _ = relay(client, server, &counts).await;
                    }
                });
            }
        });
        WireAudit { url, counts }
    }

    /// What it saw so far.
    pub fn tally(&self) -> FrameTally {
        let c = &self.counts;
        FrameTally {
            client: c.client.load(Relaxed),
            server: c.server.load(Relaxed),
            server_binary: c.server_binary.load(Relaxed),
            injected: c.injected.load(Relaxed),
            deviations: c.deviations.load(Relaxed),
            unreadable: c.unreadable.load(Relaxed),
            violations: c.violations.load(Relaxed),
            examples: c.examples.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}

/// Forwards both ways until both are done, as a TCP proxy does: an end of one direction shuts
/// the other side's writing down; an error drops both.
async fn relay(client: TcpStream, server: TcpStream, counts: &Counts) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (client_in, client_out) = client.into_split();
    let (server_in, server_out) = server.into_split();
    tokio::try_join!(
        pump(client_in, server_out, Direction::ClientToServer, counts),
        pump(server_in, client_out, Direction::ServerToClient, counts),
    )?;
    Ok(())
}

async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    direction: Direction,
    counts: &Counts,
) -> std::io::Result<()> {
    let mut reader = FrameReader::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buf[..n]).await?;
        for message in reader.feed(&buf[..n]) {
            counts.count(direction, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_text_is_read_from_a_server_and_unreadable_from_a_client() {
        let counts = Counts::default();
        let ping = r#"{"v":1,"type":"ping","topic":"system","ts":1,"data":{}}"#;
        counts.count(Direction::ServerToClient, Message::BinaryText(ping.into()));
        counts.count(Direction::ServerToClient, Message::Text(ping.into()));
        counts.count(Direction::ClientToServer, Message::BinaryText(ping.into()));
        let read = |c: &AtomicU64| c.load(Relaxed);
        assert_eq!(
            (
                read(&counts.server),
                read(&counts.server_binary),
                read(&counts.client),
                read(&counts.unreadable)
            ),
            (2, 1, 0, 1)
        );
    }
}
