//! A latched controller fault: what was found, when, on which phases, and the exact frame.
//!
//! The conflict monitor ([`crate::monitor`]) raises these (NEMA TS2 §6 MMU faults), the controller
//! adds its own (stopped, unrecoverable), the event log and the state file keep their history. A
//! leaf: it depends only on the phase, frame and time types, so the event and state code can store
//! faults without depending on the monitor. `Copy`, fixed size.

use crate::frame::OutputFrame;
use crate::phase::PhaseId;
use crate::time::Instant;

/// What the monitor found. The number is the Indiana alarm (event 174) parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FaultKind {
    Conflict = 1,
    DualIndication = 2,
    WalkWithoutGreen = 3,
    UnconfiguredHeadLit = 4,
    DarkHead = 5,
    SkippedYellow = 6,
    YellowToGreen = 7,
    ShortYellow = 8,
    ShortRedClearance = 9,
    RelayReadBack = 10,
    /// Not a monitor finding: the controller was stopped and rests in flash.
    Stopped = 11,
    /// Not a monitor finding: an unrecoverable controller fault (e.g. relays unwritable).
    Controller = 12,
    /// A flashing yellow arrow on a head without a permissive configuration, or while the phase it
    /// yields to is not green.
    BadPermissive = 13,
}

impl FaultKind {
    pub const fn name(self) -> &'static str {
        match self {
            FaultKind::Conflict => "conflicting indications",
            FaultKind::DualIndication => "dual indication",
            FaultKind::WalkWithoutGreen => "walk without green",
            FaultKind::UnconfiguredHeadLit => "unconfigured head lit",
            FaultKind::DarkHead => "dark head",
            FaultKind::SkippedYellow => "yellow skipped",
            FaultKind::YellowToGreen => "green after yellow",
            FaultKind::ShortYellow => "short yellow",
            FaultKind::ShortRedClearance => "short red clearance",
            FaultKind::RelayReadBack => "relay read-back mismatch",
            FaultKind::Stopped => "stopped",
            FaultKind::Controller => "controller fault",
            FaultKind::BadPermissive => "flashing yellow arrow without its opposing green",
        }
    }

    pub const fn number(self) -> u16 {
        self as u16
    }
}

/// A latched fault with the frame that caused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fault {
    pub at: Instant,
    pub kind: FaultKind,
    /// The phase(s) involved (first, second), if any.
    pub a: Option<PhaseId>,
    pub b: Option<PhaseId>,
    pub frame: OutputFrame,
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {}", self.at, self.kind.name())?;
        if let Some(a) = self.a {
            write!(f, " phase {a}")?;
        }
        if let Some(b) = self.b {
            write!(f, " vs {b}")?;
        }
        f.write_str(" frame ")?;
        self.frame.write_compact(f)
    }
}
