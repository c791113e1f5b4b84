//! Pacing of the control loop: simulated time as fast as the machine allows, or real time (× a
//! factor) on the monotonic clock, mapping controller milliseconds to monotonic nanoseconds and back.
//! Pure arithmetic; O(1), no allocation.

use crate::hal::Clock;
use crate::runtime::realtime::MonotonicClock;
use crate::time::Instant;

/// How fast the loop runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// As fast as the machine allows, on simulated time.
    Max,
    /// Real time × factor (1.0 = real time, as on a board).
    Factor(f64),
}

/// Real-time pacing at `factor` × real time: controller milliseconds ↔ monotonic nanoseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pace {
    factor: f64,
}

impl Pace {
    pub(crate) fn new(factor: f64) -> Pace {
        Pace {
            factor: factor.max(1e-3),
        }
    }

    /// When controller time `t` falls, in monotonic nanoseconds since the loop started.
    pub(crate) fn wall_ns(&self, t: Instant) -> u64 {
        if self.factor == 1.0 {
            t.0.saturating_mul(1_000_000)
        } else {
            (t.0 as f64 * 1e6 / self.factor) as u64
        }
    }

    /// Controller time at `ns` monotonic nanoseconds since the loop started (whole ms, rounded
    /// down, so an interval timed on it is never longer in controller time than on the clock).
    pub(crate) fn controller_time(&self, ns: u64) -> Instant {
        if self.factor == 1.0 {
            Instant(ns / 1_000_000)
        } else {
            Instant((ns as f64 * self.factor / 1e6) as u64)
        }
    }
}

/// The monotonic clock on the paced controller time line: when work in a tick actually finished.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PacedClock {
    pub(crate) mono: MonotonicClock,
    pub(crate) pace: Pace,
}

impl Clock for PacedClock {
    fn now(&self) -> Instant {
        self.pace.controller_time(self.mono.now_ns())
    }
}
