//! The operating-system side of the fixed-rate loop: monotonic clock, sleeping to absolute
//! deadlines, memory locking, real-time priority and termination signals.
//!
//! Sleeping to *absolute* deadlines (`clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`) keeps the
//! tick rate exact: a late wake-up shortens the next sleep instead of drifting the schedule.
//! `mlockall` keeps every page resident so a tick never waits on a page fault; `SCHED_FIFO` puts
//! the control thread ahead of ordinary work. Both need privileges (root, or CAP_IPC_LOCK and
//! CAP_SYS_NICE as the systemd unit grants); without them the loop runs anyway and says so once.
#![allow(unsafe_code)]

use crate::hal::Clock;
use crate::time::Instant;
use nix::sys::time::TimeSpec;
use nix::time::{clock_gettime, clock_nanosleep, ClockId, ClockNanosleepFlags};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// Locks all current and future pages in RAM.
pub fn lock_memory() -> Result<(), nix::Error> {
    use nix::sys::mman::{mlockall, MlockAllFlags};
    mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE)
}

/// Puts the calling thread under `SCHED_FIFO` at `priority` (1-99).
pub fn set_fifo_priority(priority: i32) -> Result<(), std::io::Error> {
    let param = nix::libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `param` is a valid, initialised sched_param that outlives the call; pid 0 means the
    // calling thread; the call does not retain the pointer.
    let rc = unsafe { nix::libc::sched_setscheduler(0, nix::libc::SCHED_FIFO, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Applies the real-time settings, warning (once, via `log`) about each one not permitted.
/// Returns (memory locked, real-time priority set).
pub fn setup_realtime(priority: i32) -> (bool, bool) {
    let locked = match lock_memory() {
        Ok(()) => true,
        Err(e) => {
            log::warn!("mlockall failed ({e}); running unlocked — grant CAP_IPC_LOCK to avoid page-fault jitter");
            false
        }
    };
    let fifo = match set_fifo_priority(priority) {
        Ok(()) => true,
        Err(e) => {
            log::warn!(
                "SCHED_FIFO priority {priority} not permitted ({e}); running at normal priority — grant CAP_SYS_NICE"
            );
            false
        }
    };
    (locked, fifo)
}

/// Flags set by SIGTERM/SIGINT (stop) and SIGHUP (reload), polled by the loop.
#[derive(Clone, Debug)]
pub struct Signals {
    pub stop: Arc<AtomicBool>,
    pub reload: Arc<AtomicBool>,
}

impl Signals {
    /// Registers the handlers (async-signal-safe: they only set a flag).
    pub fn register() -> Result<Signals, std::io::Error> {
        let s = Signals::unregistered();
        signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&s.stop))?;
        signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&s.stop))?;
        signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&s.reload))?;
        Ok(s)
    }

    /// Flags nobody sets except the caller (tests).
    pub fn unregistered() -> Signals {
        Signals {
            stop: Arc::new(AtomicBool::new(false)),
            reload: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Returns and clears the reload flag.
    pub fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::Relaxed)
    }
}
