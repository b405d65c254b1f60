//! A small TCP balancer on a free loopback port: each accepted connection goes to the next
//! upstream in turn that accepts it (a dead one is skipped), and bytes are spliced both ways.
//! It counts the connections it made to each upstream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};

/// The balancer; dropping it stops accepting (spliced connections run until they end).
pub struct Balancer {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    state: Arc<Mutex<State>>,
    accept: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct State {
    upstreams: Vec<String>,
    next: usize,
    made: HashMap<String, usize>,
}

impl Balancer {
    /// A balancer in front of `upstreams` (`host:port` each).
    pub async fn start(upstreams: Vec<String>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("bound").to_string();
        let state = Arc::new(Mutex::new(State {
            upstreams,
            ..State::default()
        }));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let _ = client.set_nodelay(true);
                tokio::spawn(splice(client, shared.clone()));
            }
        });
        Balancer {
            addr,
            state,
            accept,
        }
    }

    /// Replaces the upstreams (a node restarted on another port).
    pub fn set_upstreams(&self, upstreams: Vec<String>) {
        self.lock().upstreams = upstreams;
    }

    /// Connections made to `upstream` so far.
    pub fn made_to(&self, upstream: &str) -> usize {
        self.lock().made.get(upstream).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Connects `client` to the next upstream that accepts, and splices them.
async fn splice(mut client: TcpStream, state: Arc<Mutex<State>>) {
    let candidates: Vec<String> = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let n = s.upstreams.len().max(1);
        s.next = (s.next + 1) % n;
        let start = s.next;
        (0..s.upstreams.len())
            .map(|k| s.upstreams[(start + k) % n].clone())
            .collect()
    };
    for upstream in candidates {
        let Ok(mut server) = TcpStream::connect(&upstream).await else {
            continue;
        };
        let _ = server.set_nodelay(true);
        *state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .made
            .entry(upstream)
            .or_default() += 1;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        return;
    }
}
