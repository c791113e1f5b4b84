//! The services the control loop drives besides the hardware, each behind a small trait so the loop
//! does not depend on how they work: the event log writer ([`EventLog`], a thread behind an SPSC
//! queue), the state keeper ([`StateStore`], likewise), the maintenance console
//! (`runtime::console::ConsoleService`, polled on the control thread) and the watchdog (`hal::Watchdog`,
//! kicked only when `runtime::supervisor::Supervisor` finds every part on time).
//!
//! Per tick every call is bounded and non-blocking: a full queue drops and counts, a failing disk
//! is counted and raised as an alarm (`runtime::loss`), never waited for (docs/safety.md 5).

use crate::events::Event;
use crate::runtime::logger::{EventSink, LogHealth};
use crate::runtime::state::{StateHealth, StateKeeper, StateSnapshot};

/// Where the loop's events go.
pub trait EventLog {
    /// Hands one event over. `wait`: wait for room in the queue (only at `sim --speed max`, where
    /// simulated time waits for the writer; a real-time loop drops and counts instead).
    fn send(&mut self, ev: Event, wait: bool);
    /// Counters as the control thread sees them now (read without locks).
    fn health(&self) -> LogHealth;
    /// Writes what is queued, stops the writer and returns its final counters.
    fn finish(self: Box<Self>) -> LogHealth;
}

impl EventLog for EventSink {
    fn send(&mut self, ev: Event, wait: bool) {
        EventSink::send(self, ev, wait);
    }
    fn health(&self) -> LogHealth {
        EventSink::health(self)
    }
    fn finish(self: Box<Self>) -> LogHealth {
        EventSink::finish(*self)
    }
}

/// Where the controller's state (learned flows, counters, fault history) is kept across restarts.
pub trait StateStore {
    /// Offers a snapshot; skipped (and counted) when the writer is still busy with the last one.
    fn offer(&mut self, snap: StateSnapshot);
    /// Offers the final snapshot, waiting for room (end of the run only).
    fn offer_wait(&mut self, snap: StateSnapshot);
    fn health(&self) -> StateHealth;
    /// Saves what is queued, stops the writer and returns its final counters.
    fn finish(self: Box<Self>) -> StateHealth;
}

impl StateStore for StateKeeper {
    fn offer(&mut self, snap: StateSnapshot) {
        StateKeeper::offer(self, snap);
    }
    fn offer_wait(&mut self, snap: StateSnapshot) {
        StateKeeper::offer_wait(self, snap);
    }
    fn health(&self) -> StateHealth {
        StateKeeper::health(self)
    }
    fn finish(self: Box<Self>) -> StateHealth {
        StateKeeper::finish(*self)
    }
}
