//! Simulated hardware twins: used by tests, `greenwave sim` and the SUMO bridge. Only the
//! cabinet's devices live here (clock, relays, inputs, watchdog, GPIO lines, serial port, a relay
//! fault injector); the simulated street (traffic, detection faults) is `crate::sim`.

pub mod gpio;
pub mod serial;

use crate::frame::OutputFrame;
use crate::hal::{Clock, HalError, InputFrame, Inputs, Relays, Watchdog};
use crate::time::Instant;
use core::cell::Cell;

/// A clock the test or simulation advances by hand.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: Cell<u64>,
}

impl ManualClock {
    pub fn new(start: Instant) -> Self {
        ManualClock {
            now: Cell::new(start.0),
        }
    }
    pub fn advance_ms(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }
    pub fn set(&self, at: Instant) {
        self.now.set(at.0);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        Instant(self.now.get())
    }
}

/// Relays that remember the last frame written and how many frames were written.
#[derive(Debug, Default)]
pub struct SimRelays {
    pub last: OutputFrame,
    pub writes: u64,
}

impl Relays for SimRelays {
    fn write(&mut self, frame: &OutputFrame) -> Result<(), HalError> {
        self.last = *frame;
        self.writes += 1;
        Ok(())
    }
    fn read_back(&mut self) -> Result<OutputFrame, HalError> {
        Ok(self.last)
    }
}

/// Inputs from a closure-free table: whatever the test sets is what the loop reads.
#[derive(Debug, Default)]
pub struct SimInputs {
    pub frame: InputFrame,
}

impl Inputs for SimInputs {
    fn read(&mut self, _now: Instant) -> InputFrame {
        self.frame
    }
}

/// A watchdog that counts kicks (and remembers whether it was disarmed).
#[derive(Debug, Default)]
pub struct SimWatchdog {
    pub kicks: u64,
    pub disarmed: bool,
}

impl Watchdog for SimWatchdog {
    fn kick(&mut self) -> Result<(), HalError> {
        self.kicks += 1;
        Ok(())
    }
    fn disarm(&mut self) -> Result<(), HalError> {
        self.disarmed = true;
        Ok(())
    }
}

/// What a [`FaultInjector`] does to the relays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RelayFault {
    #[default]
    None,
    /// The relay of this lamp (phase index, lamp bits) is welded on: read-back shows it lit.
    StuckOn { phase: usize, bits: u8 },
    /// Writes fail (driver error, chip gone).
    WriteFails,
}

/// Wraps relays and injects faults (smoltcp's `phy::FaultInjector` idea): tests use it instead of
/// special cases in the core.
#[derive(Debug, Default)]
pub struct FaultInjector<R> {
    pub inner: R,
    pub fault: RelayFault,
}

impl<R: Relays> Relays for FaultInjector<R> {
    fn write(&mut self, frame: &OutputFrame) -> Result<(), HalError> {
        match self.fault {
            RelayFault::WriteFails => Err(HalError::Unavailable),
            _ => self.inner.write(frame),
        }
    }
    fn read_back(&mut self) -> Result<OutputFrame, HalError> {
        let mut f = self.inner.read_back()?;
        if let RelayFault::StuckOn { phase, bits } = self.fault {
            if let Some(v) = f.veh.get_mut(phase) {
                *v |= bits;
            }
        }
        Ok(f)
    }
}
