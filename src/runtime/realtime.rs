//! The operating-system side of the fixed-rate loop: memory locking, real-time priority and
//! termination signals (the monotonic clock and its absolute sleeps are `hal::monotonic`).
//!
//! Sleeping to *absolute* deadlines (`clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`) keeps the
//! tick rate exact: a late wake-up shortens the next sleep instead of drifting the schedule.
//! `mlockall` keeps every page resident so a tick never waits on a page fault; `SCHED_FIFO` puts
//! the control thread ahead of ordinary work. Both need privileges (root, or CAP_IPC_LOCK and
//! CAP_SYS_NICE as the systemd unit grants); without them the loop runs anyway and says so once.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use crate::hal::monotonic::{MonotonicClock, MAX_SLEEP_RETRIES};

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
