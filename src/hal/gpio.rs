//! GPIO lines: the narrow interface the relay driver and the input reader are written against.
//!
//! A request claims a fixed list of lines once at start-up (which may allocate) and then moves
//! whole level sets in one call, so a frame reaches every relay in the same tick and a read-back
//! sees every line. Levels are *physical* (bit set = line high); active-low wiring is applied by the
//! relay and input drivers from the board file, so every backend and the fake chip behave alike.
//!
//! Backends: [`crate::hal::linux::cdev`] (Linux GPIO character device, v2 uAPI, feature
//! `gpio-cdev`), [`crate::hal::linux::rpi`] (rppal, feature `rpi`), and the fake chip
//! [`crate::hal::sim::gpio::FakeGpio`] for tests. Cost: one or a few ioctls per call, no allocation.

use crate::hal::HalError;
use crate::limits::GPIO_LINES;

/// One GPIO line: which chip of the board file (index into `Board::chips`) and the line offset on
/// that chip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Line {
    pub chip: u8,
    pub offset: u32,
}

/// Physical levels of the lines of one request: bit `i` is the `i`-th line the request was opened
/// with, set = high.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Levels(pub u64);

impl Levels {
    pub const fn get(self, i: usize) -> bool {
        i < GPIO_LINES && self.0 & (1 << i) != 0
    }
    pub fn set(&mut self, i: usize, high: bool) {
        if i < GPIO_LINES {
            if high {
                self.0 |= 1 << i;
            } else {
                self.0 &= !(1 << i);
            }
        }
    }
    /// The mask of the first `n` lines.
    pub const fn mask(n: usize) -> u64 {
        if n >= 64 {
            u64::MAX
        } else {
            (1u64 << n) - 1
        }
    }
}

/// Lines that can be read (inputs, and outputs read back).
pub trait LineRead {
    /// Number of lines in the request.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Current physical levels of every line.
    fn read(&mut self) -> Result<Levels, HalError>;
}

/// Output lines: set every line of the request in one call.
pub trait LineWrite: LineRead {
    fn write(&mut self, levels: Levels) -> Result<(), HalError>;
}

/// Input bias the board wiring expects (pull-ups for contacts that close to ground).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Bias {
    #[default]
    Off,
    PullUp,
    PullDown,
}

/// Why lines could not be claimed at start-up. Carries the cause and names the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpioOpenError {
    /// No GPIO chip matches the board file's chip name (label, `gpiochipN`, path or `i2c:BUS-ADDR`).
    ChipNotFound(String),
    /// More than one chip carries this label; name it by path or `i2c:BUS-ADDR` instead.
    ChipAmbiguous(String),
    /// The chip has no such line offset.
    NoSuchLine { chip: String, offset: u32 },
    /// The line is already claimed (by another process, a kernel driver or twice in the board file).
    Busy { chip: String, offset: u32 },
    /// Opening the device failed (permissions: add the service user to group `gpio`).
    Os { chip: String, message: String },
    /// This backend cannot drive the board file's lines (e.g. `rpi` with an expander chip).
    Unsupported(String),
}

impl core::fmt::Display for GpioOpenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GpioOpenError::ChipNotFound(c) => write!(
                f,
                "no GPIO chip `{c}` (fix: list chips with `gpiodetect` and name one by label, gpiochipN, /dev path or i2c:BUS-ADDR in the board file)"
            ),
            GpioOpenError::ChipAmbiguous(c) => write!(
                f,
                "several GPIO chips are labelled `{c}` (fix: name the chip by /dev path or i2c:BUS-ADDR in the board file)"
            ),
            GpioOpenError::NoSuchLine { chip, offset } => {
                write!(f, "GPIO chip `{chip}` has no line {offset} (fix: check the offset with `gpioinfo`)")
            }
            GpioOpenError::Busy { chip, offset } => write!(
                f,
                "GPIO line {offset} of chip `{chip}` is already in use (fix: `gpioinfo` shows the consumer; free it or pick another line)"
            ),
            GpioOpenError::Os { chip, message } => write!(
                f,
                "cannot open GPIO chip `{chip}`: {message} (fix: check the device exists and the service user is in group `gpio`)"
            ),
            GpioOpenError::Unsupported(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for GpioOpenError {}
