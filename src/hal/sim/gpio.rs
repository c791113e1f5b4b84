//! A fake GPIO bank for tests: line levels in memory, shared between clones (so a test keeps a
//! probe while the relay driver owns the bank), with lines that can be stuck high or low to play a
//! welded relay or a shorted driver.

use crate::hal::board::MAX_CHIPS;
use crate::hal::gpio::GpioBank;
use crate::hal::HalError;
use std::sync::{Arc, Mutex};

#[derive(Default, Debug)]
struct Lines {
    driven: [u64; MAX_CHIPS],
    inputs: [u64; MAX_CHIPS],
    stuck_high: [u64; MAX_CHIPS],
    stuck_low: [u64; MAX_CHIPS],
    writes: u64,
    fail: bool,
}

#[derive(Clone, Default, Debug)]
pub struct FakeGpio {
    lines: Arc<Mutex<Lines>>,
}

impl FakeGpio {
    pub fn new() -> FakeGpio {
        FakeGpio::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Lines) -> R) -> R {
        match self.lines.lock() {
            Ok(mut l) => f(&mut l),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// The level a line shows (driven, input, or stuck).
    pub fn level(&self, chip: usize, offset: u8) -> bool {
        self.with(|l| {
            let b = 1u64 << (offset & 63);
            let c = chip.min(MAX_CHIPS - 1);
            let v = (l.driven[c] | l.inputs[c] | l.stuck_high[c]) & !l.stuck_low[c];
            v & b != 0
        })
    }

    /// Sets an input line's level.
    pub fn set_input(&self, chip: usize, offset: u8, high: bool) {
        self.with(|l| {
            let c = chip.min(MAX_CHIPS - 1);
            let b = 1u64 << (offset & 63);
            if high {
                l.inputs[c] |= b;
            } else {
                l.inputs[c] &= !b;
            }
        });
    }

    /// Sticks a line at a level whatever is written.
    pub fn stick(&mut self, chip: usize, offset: u8, high: bool) {
        self.with(|l| {
            let c = chip.min(MAX_CHIPS - 1);
            let b = 1u64 << (offset & 63);
            if high {
                l.stuck_high[c] |= b;
            } else {
                l.stuck_low[c] |= b;
            }
        });
    }

    /// Makes every access fail (chip gone).
    pub fn fail(&self, on: bool) {
        self.with(|l| l.fail = on);
    }

    pub fn writes(&self) -> u64 {
        self.with(|l| l.writes)
    }
}

impl GpioBank for FakeGpio {
    fn write(&mut self, chip: usize, mask: u64, levels: u64) -> Result<(), HalError> {
        self.with(|l| {
            if l.fail || chip >= MAX_CHIPS {
                return Err(HalError::Unavailable);
            }
            l.driven[chip] = (l.driven[chip] & !mask) | (levels & mask);
            l.writes += 1;
            Ok(())
        })
    }

    fn read(&mut self, chip: usize, mask: u64) -> Result<u64, HalError> {
        self.with(|l| {
            if l.fail || chip >= MAX_CHIPS {
                return Err(HalError::Unavailable);
            }
            let v = (l.driven[chip] | l.inputs[chip] | l.stuck_high[chip]) & !l.stuck_low[chip];
            Ok(v & mask)
        })
    }
}
