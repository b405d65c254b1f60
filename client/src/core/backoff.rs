//! Exponential backoff with full jitter: the delay before retry `n` is uniform in
//! `0..=min(cap, base * 2^(n-1))`. There is no cap on the number of attempts; the counter is reset
//! by the connection once a socket has stayed open for the stable period.

use super::rng::Rng;
use super::time::Millis;

/// Backoff settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The ceiling of the first retry's delay.
    pub base: Millis,
    /// The largest ceiling.
    pub cap: Millis,
    /// Draw each delay uniformly below its ceiling (full jitter). Without it every client
    /// waits exactly the ceiling: only for measuring what jitter buys (the herd test).
    pub jitter: bool,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            base: Millis(500),
            cap: Millis::secs(30),
            jitter: true,
        }
    }
}

/// The retry counter and its delays.
#[derive(Clone, Debug)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
}

impl Backoff {
    /// A counter at zero.
    pub fn new(config: BackoffConfig) -> Backoff {
        Backoff { config, attempt: 0 }
    }

    /// How many retries were scheduled since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The ceiling of the delay for retry number `attempt` (1-based).
    pub fn ceiling(&self, attempt: u32) -> Millis {
        let shift = attempt.saturating_sub(1).min(62);
        let exp = self.config.base.0.saturating_mul(1u64 << shift);
        Millis(exp.min(self.config.cap.0))
    }

    /// Counts one more retry and draws its delay.
    pub fn next_delay(&mut self, rng: &mut Rng) -> Millis {
        self.attempt = self.attempt.saturating_add(1);
        let ceiling = self.ceiling(self.attempt).0;
        Millis(if self.config.jitter {
            rng.up_to(ceiling)
        } else {
            ceiling
        })
    }

    /// Back to zero: the connection proved stable.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = Backoff::new(BackoffConfig::default());
        let ceilings: Vec<u64> = (1..=9).map(|n| b.ceiling(n).0).collect();
        assert_eq!(
            ceilings,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(
            b.ceiling(10_000).0,
            30_000,
            "huge attempt numbers neither overflow nor panic"
        );
    }

    #[test]
    fn delays_stay_in_bounds_and_are_spread_uniformly() {
        let mut rng = Rng::new(7);
        let mut b = Backoff::new(BackoffConfig::default());
        for _ in 0..3 {
            b.next_delay(&mut rng);
        }
        // Attempt 4 has ceiling 4000 ms. Draw many delays at that attempt.
        let samples: Vec<u64> = (0..20_000)
            .map(|_| {
                let mut probe = b.clone();
                let d = probe.next_delay(&mut rng).0;
                assert_eq!(probe.attempt(), 4);
                d
            })
            .collect();
        assert!(samples.iter().all(|&d| d <= 4000));
        let mean = samples.iter().sum::<u64>() as f64 / samples.len() as f64;
        assert!((mean - 2000.0).abs() < 60.0, "mean {mean}");
        // Ten equal buckets each hold close to a tenth: full jitter, not "base + small noise".
        let mut buckets = [0u32; 10];
        for d in &samples {
            buckets[((*d * 10) / 4001) as usize] += 1;
        }
        for (i, n) in buckets.iter().enumerate() {
            assert!((1700..=2300).contains(n), "bucket {i} has {n}");
        }
    }

    #[test]
    fn without_jitter_every_delay_is_its_ceiling() {
        let mut rng = Rng::new(3);
        let mut b = Backoff::new(BackoffConfig {
            jitter: false,
            ..BackoffConfig::default()
        });
        let delays: Vec<u64> = (0..4).map(|_| b.next_delay(&mut rng).0).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000]);
    }

    #[test]
    fn reset_returns_to_the_base_ceiling() {
        let mut rng = Rng::new(1);
        let mut b = Backoff::new(BackoffConfig::default());
        for _ in 0..5 {
            b.next_delay(&mut rng);
        }
        b.reset();
        assert_eq!(b.attempt(), 0);
        assert!(b.next_delay(&mut rng).0 <= 500);
    }
}
