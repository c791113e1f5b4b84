//! `CLOCK_MONOTONIC`: the controller's time source on a board, and sleeping to absolute deadlines.
//!
//! Sleeping to *absolute* deadlines (`clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`) keeps the
//! tick rate exact: a late wake-up shortens the next sleep instead of drifting the schedule. Used by
//! the control loop and by the camera threads (frame pacing, detection deadlines).

use crate::time::{Clock, Instant};
use nix::sys::time::TimeSpec;
use nix::time::{clock_gettime, clock_nanosleep, ClockId, ClockNanosleepFlags};

/// `CLOCK_MONOTONIC` in milliseconds since this clock was created.
#[derive(Clone, Copy, Debug)]
pub struct MonotonicClock {
    origin_ns: i128,
}

fn mono_ns() -> i128 {
    match clock_gettime(ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => i128::from(ts.tv_sec()) * 1_000_000_000 + i128::from(ts.tv_nsec()),
        Err(_) => 0, // CLOCK_MONOTONIC cannot fail on Linux; 0 keeps the type total
    }
}

impl MonotonicClock {
    pub fn new() -> MonotonicClock {
        MonotonicClock { origin_ns: mono_ns() }
    }

    /// Nanoseconds since the origin.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(mono_ns() - self.origin_ns).unwrap_or(0)
    }

    /// Sleeps until `deadline_ns` (since the origin) has passed on the monotonic clock.
    ///
    /// A signal interrupts `clock_nanosleep` with EINTR long before the deadline (a SIGHUP storm,
    /// a log-rotation tool, a debugger); the sleep is then resumed to the same absolute deadline,
    /// so a wake-up is never early. Returns how many interruptions it absorbed. The retries are
    /// bounded by [`MAX_SLEEP_RETRIES`]; the caller reads the clock after the call anyway, so even
    /// a sleep cut short by that bound cannot make controller time run ahead of the clock.
    pub fn sleep_until_ns(&self, deadline_ns: u64) -> u32 {
        let abs = self.origin_ns + i128::from(deadline_ns);
        // time_t is 32-bit on armv7 (until 2038) and 64-bit on aarch64/x86-64.
        let secs = nix::libc::time_t::try_from(abs / 1_000_000_000).unwrap_or(nix::libc::time_t::MAX);
        let nanos = nix::libc::c_long::try_from(abs % 1_000_000_000).unwrap_or(0);
        let ts = TimeSpec::new(secs, nanos);
        let mut interrupted = 0;
        while interrupted < MAX_SLEEP_RETRIES {
            match clock_nanosleep(ClockId::CLOCK_MONOTONIC, ClockNanosleepFlags::TIMER_ABSTIME, &ts) {
                Err(nix::errno::Errno::EINTR) => interrupted += 1,
                // Ok, or an argument the kernel refuses (cannot happen with a normalised
                // timespec): either way the caller measures the clock next.
                _ => break,
            }
            if self.now_ns() >= deadline_ns {
                break;
            }
        }
        interrupted
    }
}

/// Most EINTR retries of one sleep. A tick's sleep is at most one tick long, so even a storm of
/// thousands of signals per second interrupts it far fewer times than this.
pub const MAX_SLEEP_RETRIES: u32 = 100_000;

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Instant {
        Instant(self.now_ns() / 1_000_000)
    }
}
