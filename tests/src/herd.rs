//! The thundering herd: many native clients are connected when the stub restarts. Every
//! client's reconnect attempts after the restart are counted in 100 ms buckets, once with full
//! jitter and once without (every client waiting exactly its backoff ceiling), in the same run.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use tether_client::native::DriverProbe;
use tether_client::AppState;
use tether_client::{Config, ConnectionState};

use crate::stub::Stub;
use crate::wait::{self, Timeouts};
use crate::wire_audit::FrameTally;

/// One herd's histogram.
#[derive(Clone, Debug)]
pub struct Histogram {
    /// Reconnect attempts per 100 ms bucket after the restart.
    pub buckets: Vec<usize>,
    /// Clients that opened at least one new socket after the restart.
    pub reconnected: usize,
    /// Clients back to Open at the end.
    pub reopened: usize,
    /// Waits that reached their deadline.
    pub timeouts: Timeouts,
    /// The frames on the wire, checked against the origin's contract.
    pub frames: FrameTally,
}

impl Histogram {
    /// The largest bucket.
    pub fn peak(&self) -> usize {
        self.buckets.iter().copied().max().unwrap_or(0)
    }

    /// Attempts in all.
    pub fn attempts(&self) -> usize {
        self.buckets.iter().sum()
    }
}

/// Both herds.
#[derive(Clone, Debug)]
pub struct HerdReport {
    /// Clients per herd.
    pub clients: usize,
    /// With full jitter (the default).
    pub jittered: Histogram,
    /// Without jitter.
    pub unjittered: Histogram,
}

impl HerdReport {
    /// How much lower the jittered peak is than the unjittered one.
    pub fn ratio(&self) -> f64 {
        self.unjittered.peak() as f64 / self.jittered.peak().max(1) as f64
    }

    /// Both herds: every client reconnected and was open again, every reconnect was seen, no
    /// wait timed out, every frame conformed; and jitter cut the largest bucket at least
    /// `min_ratio` times.
    pub fn is_sound(&self, min_ratio: f64) -> bool {
        let herd_ok = |h: &Histogram| {
            h.reconnected == self.clients
                && h.reopened == self.clients
                && h.attempts() >= self.clients
                && h.timeouts.is_empty()
                && h.frames.is_clean()
        };
        herd_ok(&self.jittered) && herd_ok(&self.unjittered) && self.ratio() >= min_ratio
    }
}

fn histogram(f: &mut fmt::Formatter<'_>, name: &str, h: &Histogram) -> fmt::Result {
    writeln!(
        f,
        "  {name}: {} attempts, {} of the clients reconnected, {} open at the end; largest bucket {}",
        h.attempts(),
        h.reconnected,
        h.reopened,
        h.peak()
    )?;
    writeln!(f, "    {}; waits timed out: {}", h.frames, h.timeouts)?;
    for (i, n) in h.buckets.iter().enumerate().filter(|(_, n)| **n > 0) {
        writeln!(
            f,
            "    {:>5}-{:<5} ms {:>4} {}",
            i * 100,
            (i + 1) * 100,
            n,
            "#".repeat(n.div_ceil(4))
        )?;
    }
    Ok(())
}

impl fmt::Display for HerdReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "herd: {} clients through a stub restart, reconnect attempts per 100 ms, measured in one run:",
            self.clients
        )?;
        histogram(f, "with jitter", &self.jittered)?;
        histogram(f, "without jitter", &self.unjittered)?;
        write!(
            f,
            "  largest bucket: {} with jitter against {} without ({:.1}x lower)",
            self.jittered.peak(),
            self.unjittered.peak(),
            self.ratio()
        )
    }
}

/// Runs `clients` clients through a restart twice: with jitter, then without. Call inside a
/// `LocalSet`.
pub async fn run(clients: usize, down_ms: u64) -> HerdReport {
    HerdReport {
        clients,
        jittered: herd(clients, down_ms, true).await,
        unjittered: herd(clients, down_ms, false).await,
    }
}

/// Connects `clients` clients, restarts the stub (close 1012, refusing for `down_ms`) and
/// records every reconnect attempt.
async fn herd(clients: usize, down_ms: u64, jitter: bool) -> Histogram {
    // The herd is one user's clients: more WebSockets than the stub lets one user hold.
    let stub = Stub::start(|c| {
        c.rate_burst = 1_000;
        c.max_connections_per_user = clients;
    })
    .await;
    let token = stub.token(901).await;
    let mut all: Vec<(Rc<AppState>, DriverProbe)> = Vec::new();
    for i in 0..clients {
        let token = token.clone();
        let mut config = Config::new(stub.ws_url()).with_token(move || Some(token.clone()));
        config.backoff.jitter = jitter;
        let (app, driver, probe) = tether_client::native::app(config, 1_000 + i as u64);
        tokio::task::spawn_local(driver.run());
        app.client.connect();
        all.push((app, probe));
    }
    let open = |all: &[(Rc<AppState>, DriverProbe)]| {
        all.iter()
            .filter(|(a, _)| a.client.state() == ConnectionState::Open)
            .count()
    };
    let ready = wait::until(
        "every client open before the restart",
        Duration::from_secs(30),
        || open(&all) == clients,
    );
    if let Err(e) = ready.await {
        panic!("{e}: {} of {clients}", open(&all));
    }
    let before: Vec<usize> = all.iter().map(|(_, p)| p.stats().opened_at.len()).collect();
    let restart_at = now_ms();
    stub.control(&format!("restart?down_ms={down_ms}")).await;
    // Every client must have noticed the restart (opened a new socket) and be open again.
    let reconnected = |all: &[(Rc<AppState>, DriverProbe)]| {
        all.iter().zip(&before).all(|((a, p), n)| {
            p.stats().opened_at.len() > *n && a.client.state() == ConnectionState::Open
        })
    };
    let mut timeouts = Timeouts::default();
    let back = wait::until(
        "every client reconnected and open",
        Duration::from_secs(60),
        || reconnected(&all),
    );
    timeouts.note(back.await);

    let mut buckets = Vec::new();
    let mut reconnected = 0;
    for ((_, probe), skip) in all.iter().zip(before) {
        let attempts = probe.stats().opened_at;
        reconnected += usize::from(attempts.len() > skip);
        for at in attempts.iter().skip(skip) {
            let bucket = (at.0.saturating_sub(restart_at) / 100) as usize;
            if buckets.len() <= bucket {
                buckets.resize(bucket + 1, 0);
            }
            buckets[bucket] += 1;
        }
    }
    let reopened = open(&all);
    for (a, _) in &all {
        a.client.close();
    }
    Histogram {
        buckets,
        reconnected,
        reopened,
        timeouts,
        frames: stub.frames(),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(buckets: Vec<usize>, reconnected: usize, reopened: usize) -> Histogram {
        Histogram {
            buckets,
            reconnected,
            reopened,
            timeouts: Timeouts::default(),
            frames: FrameTally {
                client: 1,
                ..FrameTally::default()
            },
        }
    }

    #[test]
    fn a_herd_not_open_again_or_not_spread_by_jitter_is_unsound() {
        // What the chaos binary used to require: every client reconnected.
        let reconnected = |r: &HerdReport| {
            r.jittered.reconnected == r.clients && r.unjittered.reconnected == r.clients
        };
        let sound = HerdReport {
            clients: 4,
            jittered: histogram(vec![1, 1, 1, 1], 4, 4),
            unjittered: histogram(vec![0, 4], 4, 4),
        };
        assert!(sound.is_sound(2.0));
        let not_open = HerdReport {
            jittered: histogram(vec![1, 1, 1, 1], 4, 3),
            ..sound.clone()
        };
        let not_spread = HerdReport {
            jittered: histogram(vec![3, 1], 4, 4),
            ..sound.clone()
        };
        for r in [&not_open, &not_spread] {
            assert!(reconnected(r) && !r.is_sound(2.0), "{r}");
        }
        let mut timed_out = sound.clone();
        timed_out
            .unjittered
            .timeouts
            .note(Err(crate::wait::TimedOut {
                what: "every client reconnected and open".into(),
                limit: Duration::from_secs(60),
            }));
        assert!(!timed_out.is_sound(2.0));
    }
}
