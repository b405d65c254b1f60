//! The thundering herd: many native clients are connected when the stub restarts. Reports how
//! many reconnect attempts fall in each 100 ms bucket, against the worst case without jitter
//! (every client retrying at the same instant).

use std::fmt;
use std::time::Duration;

use tether::core::{Config, ConnectionState};

use crate::stub::Stub;

/// The result.
#[derive(Clone, Debug)]
pub struct HerdReport {
    /// Clients.
    pub clients: usize,
    /// Reconnect attempts per 100 ms bucket after the restart.
    pub buckets: Vec<usize>,
    /// Clients back to Open at the end.
    pub reopened: usize,
}

impl HerdReport {
    /// The largest bucket.
    pub fn peak(&self) -> usize {
        self.buckets.iter().copied().max().unwrap_or(0)
    }
}

impl fmt::Display for HerdReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "reconnect attempts per 100 ms after a restart of the stub, {} clients:",
            self.clients
        )?;
        for (i, n) in self.buckets.iter().enumerate() {
            writeln!(
                f,
                "  {:>5}-{:<5} ms {:>4} {}",
                i * 100,
                (i + 1) * 100,
                n,
                "#".repeat(n.div_ceil(2))
            )?;
        }
        write!(
            f,
            "largest bucket: {} attempts; without jitter all {} would land in one bucket ({:.1}x lower); {} of {} reopened",
            self.peak(),
            self.clients,
            self.clients as f64 / self.peak().max(1) as f64,
            self.reopened,
            self.clients
        )
    }
}

/// Connects `clients` clients, restarts the stub (close 1012, refusing for `down_ms`) and
/// records every reconnect attempt. Call inside a `LocalSet`.
pub async fn run(clients: usize, down_ms: u64) -> HerdReport {
    let stub = Stub::start(|c| c.rate_burst = 1_000).await;
    let token = stub.token(901).await;
    let mut all = Vec::new();
    for i in 0..clients {
        let token = token.clone();
        let config = Config::new(stub.ws_url()).with_token(move || Some(token.clone()));
        let (client, driver, probe) = tether::native::client(config, 1_000 + i as u64);
        tokio::task::spawn_local(driver.run());
        client.connect();
        all.push((client, probe));
    }
    let open = |all: &[(tether::WsClientV2, tether::native::DriverProbe)]| {
        all.iter()
            .filter(|(c, _)| c.state() == ConnectionState::Open)
            .count()
    };
    wait(Duration::from_secs(30), || open(&all) == clients).await;
    let before: Vec<usize> = all.iter().map(|(_, p)| p.stats().opened_at.len()).collect();
    let restart_at = now_ms();
    stub.control(&format!("restart?down_ms={down_ms}")).await;
    // Every client must have noticed the restart (opened a new socket) and be open again.
    let reconnected = |all: &[(tether::WsClientV2, tether::native::DriverProbe)]| {
        all.iter()
            .zip(&before)
            .all(|((c, p), n)| p.stats().opened_at.len() > *n && c.state() == ConnectionState::Open)
    };
    wait(Duration::from_secs(60), || reconnected(&all)).await;

    let mut buckets = Vec::new();
    for ((_, probe), skip) in all.iter().zip(before) {
        for at in probe.stats().opened_at.iter().skip(skip) {
            let bucket = (at.0.saturating_sub(restart_at) / 100) as usize;
            if buckets.len() <= bucket {
                buckets.resize(bucket + 1, 0);
            }
            buckets[bucket] += 1;
        }
    }
    let reopened = open(&all);
    for (c, _) in &all {
        c.close();
    }
    HerdReport {
        clients,
        buckets,
        reopened,
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn wait(limit: Duration, cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !cond() && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
