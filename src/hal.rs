//! Hardware abstraction: small synchronous traits (docs/conventions.md 5).
//!
//! Real implementations live in `hal/linux/…` behind cargo features; simulated twins in `hal/sim/…`
//! are used by tests, `greenwave sim` and the SUMO bridge. Wrappers such as a fault injector
//! implement the same traits (docs/conventions.md 6).
//!
//! Caution (as rppal warns): `Drop` implementations put outputs in a safe state, but `Drop` does not
//! run on SIGKILL, `abort` or power loss. The hardware watchdog and the cabinet's flash-transfer
//! relay (de-energised = flash) are the real safety net.

pub mod board;
pub mod gpio;
pub mod linux;
pub mod mirror;
pub mod monotonic;
pub mod sim;

use crate::frame::OutputFrame;
use crate::phase::PhaseSet;
use crate::time::Instant;

/// Error of one hardware operation. Small and `Copy` so the loop can keep and count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HalError {
    /// An OS call failed with this errno.
    Os(i32),
    /// Lines read back differ from what was written (relay welded, driver fault, wiring).
    ReadBackMismatch { wrote: OutputFrame, read: OutputFrame },
    /// The device is gone or not opened.
    Unavailable,
    /// The operation would block; try again next tick.
    WouldBlock,
    /// A frame or buffer had the wrong size or content.
    BadData,
}

impl core::fmt::Display for HalError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HalError::Os(e) => write!(f, "OS error {e}"),
            HalError::ReadBackMismatch { wrote, read } => {
                write!(f, "relay read-back mismatch: wrote {wrote}, read {read}")
            }
            HalError::Unavailable => f.write_str("device unavailable"),
            HalError::WouldBlock => f.write_str("would block"),
            HalError::BadData => f.write_str("bad data from device"),
        }
    }
}

/// A monotonic clock (defined with `Instant`, so the pure core can name it without the hardware).
pub use crate::time::Clock;

/// Signal-head relay outputs. `write` sets every line of the frame at once; `read_back` returns what
/// the lines actually are (so the monitor can catch a stuck relay).
pub trait Relays {
    fn write(&mut self, frame: &OutputFrame) -> Result<(), HalError>;
    fn read_back(&mut self) -> Result<OutputFrame, HalError>;
}

/// Discrete cabinet inputs, debounced by the implementation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputFrame {
    /// Pedestrian push buttons pressed, by the vehicle phase the crossing runs with.
    pub ped_buttons: PhaseSet,
    /// Preempt inputs active (bit `i` = preempt `i + 1`).
    pub preempt: u8,
    /// Cabinet door open (logged as an alarm).
    pub door_open: bool,
    /// Transit priority requests (a checked-in bus), by the phase serving it.
    pub transit: PhaseSet,
    /// Loop detector contacts closed this tick (bit `i` = the board's `i`-th detector input),
    /// raw: `detect::loops` debounces each channel with its own timing and judges its health.
    pub loops: u32,
}

pub trait Inputs {
    fn read(&mut self, now: Instant) -> InputFrame;
}

/// Hardware watchdog (Linux `/dev/watchdog`).
pub trait Watchdog {
    /// Keep the board alive for another timeout period.
    fn kick(&mut self) -> Result<(), HalError>;
    /// Disarm on a clean exit (the magic close `'V'`); a crash leaves it armed and the board resets.
    fn disarm(&mut self) -> Result<(), HalError>;
}

/// Byte-oriented serial port, non-blocking.
pub trait Serial {
    /// Reads what is available into `buf`; `Ok(0)` when nothing is waiting.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HalError>;
    /// Writes as much of `buf` as the port accepts now; returns the count written.
    fn write(&mut self, buf: &[u8]) -> Result<usize, HalError>;
}
