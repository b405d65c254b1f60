//! Waiting for a condition with a deadline. A wait that reaches its deadline is never a pass:
//! it returns [`TimedOut`], which the caller records as a failure (the chaos reports keep
//! every one, and are unsound with any) or turns into a panic ([`until_or_panic`]).

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(20);

/// A wait that reached its deadline: what was awaited, and how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedOut {
    /// What was awaited.
    pub what: String,
    /// Its deadline.
    pub limit: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for {}",
            self.limit, self.what
        )
    }
}

/// Waits until `cond` holds, or fails once `limit` has passed.
pub async fn until(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
) -> Result<(), TimedOut> {
    let started = Instant::now();
    loop {
        if cond() {
            return Ok(());
        }
        if started.elapsed() >= limit {
            return Err(TimedOut {
                what: what.to_owned(),
                limit,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Like [`until`], for a condition that must itself wait (a question to the stub, say).
pub async fn until_async<F: Future<Output = bool>>(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> F,
) -> Result<(), TimedOut> {
    let started = Instant::now();
    loop {
        if cond().await {
            return Ok(());
        }
        if started.elapsed() >= limit {
            return Err(TimedOut {
                what: what.to_owned(),
                limit,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// [`until`], panicking on the deadline.
pub async fn until_or_panic(what: &str, limit: Duration, cond: impl FnMut() -> bool) {
    if let Err(e) = until(what, limit, cond).await {
        panic!("{e}");
    }
}

/// The waits of a run that reached their deadline, kept for its report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeouts(pub Vec<TimedOut>);

impl Timeouts {
    /// Keeps the outcome of a wait if it timed out.
    pub fn note(&mut self, outcome: Result<(), TimedOut>) {
        if let Err(e) = outcome {
            self.0.push(e);
        }
    }

    /// Whether none did.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Timeouts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "none");
        }
        let all: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "{}", all.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deadline_is_a_failure_not_a_pass() {
        let never = until("never", Duration::from_millis(50), || false).await;
        assert_eq!(never.unwrap_err().what, "never");
        assert!(until("now", Duration::from_millis(50), || true)
            .await
            .is_ok());
        let mut waits = Timeouts::default();
        waits.note(until("never", Duration::from_millis(10), || false).await);
        waits.note(Ok(()));
        assert_eq!(waits.0.len(), 1);
        assert!(waits.to_string().contains("waiting for never"));
    }
}
