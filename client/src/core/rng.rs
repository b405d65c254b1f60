//! A tiny seeded PRNG (SplitMix64) for backoff jitter. The driver seeds it from the platform's
//! randomness; tests seed it with a constant so every run is the same.

/// A SplitMix64 generator. Not for cryptography.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next_u64();
        }
        // Widening multiply: unbiased enough for jitter, and never panics.
        ((u128::from(self.next_u64()) * u128::from(max + 1)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn it_is_splitmix64() {
        // The reference implementation's first outputs for seed 1234567.
        let mut rng = Rng::new(1_234_567);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    #[test]
    fn up_to_covers_its_whole_range_and_no_more() {
        let mut rng = Rng::new(7);
        for max in [0, 1, 2, 9] {
            let mut seen = vec![false; max as usize + 1];
            for _ in 0..1_000 {
                let n = rng.up_to(max);
                assert!(n <= max, "{n} > {max}");
                seen[n as usize] = true;
            }
            assert!(seen.iter().all(|s| *s), "0..={max}: {seen:?}");
        }
        let _ = rng.up_to(u64::MAX);
    }
}
