//! What the server's integration tests share: a TCP proxy that cuts and refuses connections,
//! the join tests' helpers, and a `redis-server` of a test's own.

#![allow(dead_code)]

pub mod join;
#[path = "../../../tests/src/redis.rs"]
pub mod redis_server;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A TCP proxy on a free loopback port in front of an upstream. Dropping it stops it.
pub struct Proxy {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<JoinSet<()>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A proxy forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("bound").to_string();
        let down = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(JoinSet::new()));
        let (upstream, refusing, tasks) = (upstream.to_owned(), down.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if refusing.load(Ordering::SeqCst) {
                    drop(client); // accepted and closed at once: the connection attempt fails
                    continue;
                }
                let upstream = upstream.clone();
                let mut tasks = tasks.lock().expect("not poisoned");
                while tasks.try_join_next().is_some() {}
                tasks.spawn(link(client, upstream));
            }
        });
        Proxy {
            addr,
            down,
            links,
            accept,
        }
    }

    /// While `down`, new connections are closed as soon as they are accepted.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Cuts every open connection (both sides see it drop, with no close frame); returns how
    /// many were open.
    pub fn cut(&self) -> usize {
        let mut links = self.links.lock().expect("not poisoned");
        while links.try_join_next().is_some() {}
        let open = links.len();
        links.abort_all();
        open
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Forwards bytes both ways until either side ends.
async fn link(mut client: TcpStream, upstream: String) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
