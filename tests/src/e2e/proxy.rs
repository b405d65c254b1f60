//! A proxy in front of the stub that can play dead the way a development proxy does when its
//! upstream is down: it accepts the browser's WebSocket upgrade (101), then drops the
//! connection before a single frame. Everything else it forwards, byte for byte.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The proxy. Dropping it does not stop it: it lives as long as the test process.
#[derive(Clone)]
pub struct FlakyProxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    upstream_down: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
}

impl FlakyProxy {
    /// A proxy on a free loopback port forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let upstream_down = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let (down, count) = (upstream_down.clone(), dropped.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, down, count) = (upstream.clone(), down.clone(), count.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &down, &count).await;
                });
            }
        });
        FlakyProxy {
            url,
            upstream_down,
            dropped,
        }
    }

    /// How many upgrades it accepted and dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::SeqCst)
    }

    /// From now on, WebSocket upgrades are accepted and dropped (HTTP still goes through).
    pub fn set_upstream_down(&self, down: bool) {
        self.upstream_down.store(down, Ordering::SeqCst);
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    down: &AtomicBool,
    dropped: &AtomicU64,
) -> std::io::Result<()> {
    let head = read_head(&mut client).await?;
    let text = String::from_utf8_lossy(&head);
    let key = text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim().to_owned())
    });
    if let (true, Some(key)) = (down.load(Ordering::SeqCst), key) {
        // Accept the upgrade, as a proxy does before it reaches its upstream, then drop.
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let reply = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        client.write_all(reply.as_bytes()).await?;
        client.flush().await?;
        dropped.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        return Ok(()); // dropped: no close frame
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&head).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
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
