//! Time as an argument: the pure core never reads a clock (docs/conventions.md 1).
//!
//! [`Instant`] is milliseconds on a monotonic clock whose origin the runtime chooses (boot for the
//! board, zero for a simulation). Durations are plain `u32` milliseconds with an `_ms` suffix.

/// A monotonic clock on the controller's time line. The runtime implements it over the OS clock
/// (and `hal::sim::ManualClock` for tests); the core only receives one where it must know when
/// work finished (the planning deadline, `plan::Planner::cycle_boundary`).
pub trait Clock {
    fn now(&self) -> Instant;
}

/// A point on the controller's monotonic time line, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Instant(pub u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    /// Milliseconds since `earlier`; zero if `earlier` is in the future (clocks never run backwards
    /// here, but a saturating difference keeps a bad caller from underflowing).
    #[inline]
    pub fn since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    #[inline]
    pub fn plus_ms(self, ms: u32) -> Instant {
        Instant(self.0.saturating_add(ms as u64))
    }

    /// Whole milliseconds as `u32`, saturating (49 days), for interval timers.
    #[inline]
    pub fn since_ms(self, earlier: Instant) -> u32 {
        u32::try_from(self.since(earlier)).unwrap_or(u32::MAX)
    }
}

impl core::fmt::Display for Instant {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:01}s", self.0 / 1000, (self.0 % 1000) / 100)
    }
}
