//! Wake-up latency of the fixed-rate loop: how late each tick starts after its absolute deadline,
//! measured on the monotonic clock (the figure `cyclictest` reports for the machine itself).
//!
//! A log-linear histogram (8 sub-buckets per power of two, so a percentile is within 12.5 % of the
//! true value; exact below 16 µs) of fixed size: recording is O(1), allocation-free and never
//! fails; values above the last bucket land in it and the exact maximum is kept apart.

/// Sub-buckets per power of two.
const SUB: u32 = 8;
/// Powers of two covered above the linear part (16 µs · 2^27 ≈ 36 min).
const OCTAVES: u32 = 27;
/// Buckets: 16 linear (0-15 µs) + 8 per octave.
pub const BUCKETS: usize = (16 + SUB * OCTAVES) as usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WakeLatency {
    counts: [u32; BUCKETS],
    samples: u64,
    max_us: u64,
}

impl Default for WakeLatency {
    fn default() -> Self {
        WakeLatency {
            counts: [0; BUCKETS],
            samples: 0,
            max_us: 0,
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < 16 {
        return us as usize;
    }
    // Octave k ≥ 0 covers [16·2^k, 16·2^(k+1)); its 8 sub-buckets are 2^(k+1) µs wide.
    let msb = 63 - us.leading_zeros(); // ≥ 4
    let k = msb - 4;
    let sub = ((us >> (msb - 3)) & 7) as u32;
    (16 + (k.min(OCTAVES - 1)) * SUB + if k >= OCTAVES { SUB - 1 } else { sub }) as usize
}

/// The largest value a bucket holds (a percentile is reported as this upper bound).
fn bucket_top(b: usize) -> u64 {
    let b = b as u64;
    if b < 16 {
        return b;
    }
    let k = (b - 16) / u64::from(SUB);
    let sub = (b - 16) % u64::from(SUB);
    let width = 1u64 << (k + 1);
    (16u64 << k) + (sub + 1) * width - 1
}

impl WakeLatency {
    /// Records one wake-up `late_ns` after its deadline.
    pub fn record(&mut self, late_ns: u64) {
        let us = late_ns / 1000;
        if let Some(c) = self.counts.get_mut(bucket_of(us)) {
            *c = c.saturating_add(1);
        }
        self.samples += 1;
        self.max_us = self.max_us.max(us);
    }

    pub fn samples(&self) -> u64 {
        self.samples
    }

    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// The `q`-quantile (0..=1) in µs, as the upper bound of its bucket (never above the maximum).
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.samples == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.samples as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (b, c) in self.counts.iter().enumerate() {
            seen += u64::from(*c);
            if seen >= rank {
                return bucket_top(b).min(self.max_us);
            }
        }
        self.max_us
    }
}

impl core::fmt::Display for WakeLatency {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "p50 {} us, p99 {} us, max {} us ({} wake-ups)",
            self.quantile_us(0.5),
            self.quantile_us(0.99),
            self.max_us,
            self.samples
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_values() {
        let mut last = 0;
        for us in [
            0u64, 1, 15, 16, 17, 31, 32, 33, 100, 1_000, 12_345, 1_000_000, 60_000_000,
        ] {
            let b = bucket_of(us);
            assert!(b >= last, "bucket order at {us}");
            last = b;
            assert!(bucket_top(b) >= us, "{us} above its bucket top {}", bucket_top(b));
            if b > 0 {
                assert!(bucket_top(b - 1) < us, "{us} belongs to a lower bucket");
            }
            assert!(b < BUCKETS);
        }
    }

    #[test]
    fn quantiles_within_an_eighth() {
        let mut h = WakeLatency::default();
        for us in 1..=1000u64 {
            h.record(us * 1000);
        }
        let p50 = h.quantile_us(0.5);
        assert!((500..=563).contains(&p50), "p50 {p50}");
        let p99 = h.quantile_us(0.99);
        assert!((990..=1000).contains(&p99), "p99 {p99}");
        assert_eq!(h.max_us(), 1000);
        assert_eq!(h.samples(), 1000);
        assert_eq!(WakeLatency::default().quantile_us(0.5), 0);
    }
}
