//! Detection: what the control loop knows about vehicles, as one `Copy` snapshot per tick.
//!
//! Every source (the simulated traffic model, SUMO detectors, the camera zone detector, the NPU)
//! produces a [`DetectorSnapshot`]; the timing engine and planners read only this. Detector numbers
//! are 1-based like Indiana event parameters; index `i` is detector `i + 1`.

pub mod loops;
#[cfg(feature = "rknpu")]
pub mod npu;
pub mod source;
pub mod yolo;
pub mod zone;

use crate::limits::MAX_DETECTORS;
use crate::time::Instant;

/// Road length one standing vehicle occupies in a queue (5 m car + 2 m gap), to convert queue
/// lengths to vehicles.
pub const JAM_SPACING_M: f32 = 7.0;

/// A set of detectors as bits (bit `i` = detector `i + 1`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DetectorSet(pub u32);

impl DetectorSet {
    pub const EMPTY: DetectorSet = DetectorSet(0);
    pub const fn contains(self, index: usize) -> bool {
        index < MAX_DETECTORS && self.0 & (1 << index) != 0
    }
    pub fn set(&mut self, index: usize, on: bool) {
        if index < MAX_DETECTORS {
            if on {
                self.0 |= 1 << index
            } else {
                self.0 &= !(1 << index)
            }
        }
    }
}

/// Health of one detector channel (Indiana codes 83-88 report transitions between these).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DetectorHealth {
    /// Not configured / no source yet.
    #[default]
    Unknown,
    Ok,
    /// Presence held far longer than any queue could explain (Indiana 87, "shorted loop").
    StuckOn,
    /// No activity for far longer than the demand allows (Indiana 86, "open loop").
    StuckOff,
    /// Chattering on/off faster than vehicles can (Indiana 88).
    ExcessiveChange,
    /// The source stopped delivering (camera stalled, SUMO link lost) (Indiana 85, watchdog).
    Stale,
}

impl DetectorHealth {
    /// Whether the planner may use this channel's data for actuation and flow estimates.
    pub const fn trusted(self) -> bool {
        matches!(self, DetectorHealth::Ok)
    }

    /// Indiana event code reported on entering this state.
    pub const fn event_code(self) -> u8 {
        use crate::events::code;
        match self {
            DetectorHealth::Unknown => code::DETECTOR_FAULT_OTHER,
            DetectorHealth::Ok => code::DETECTOR_RESTORED,
            DetectorHealth::StuckOn => code::DETECTOR_FAULT_SHORTED,
            DetectorHealth::StuckOff => code::DETECTOR_FAULT_OPEN,
            DetectorHealth::ExcessiveChange => code::DETECTOR_FAULT_EXCESSIVE_CHANGE,
            DetectorHealth::Stale => code::DETECTOR_FAULT_WATCHDOG,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            DetectorHealth::Unknown => "unknown",
            DetectorHealth::Ok => "ok",
            DetectorHealth::StuckOn => "stuck-on",
            DetectorHealth::StuckOff => "stuck-off",
            DetectorHealth::ExcessiveChange => "chatter",
            DetectorHealth::Stale => "stale",
        }
    }
}

/// Everything the loop knows about detection at one instant. `Copy`; ~300 bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectorSnapshot {
    /// When the source produced this snapshot (staleness is judged against the loop's clock).
    pub at: Instant,
    /// Presence (a vehicle occupies the zone / loop) per detector.
    pub presence: DetectorSet,
    /// Cumulative vehicle counts per detector, wrapping at 2^16 (take differences).
    pub counts: [u16; MAX_DETECTORS],
    /// Estimated queue length upstream of the stop line, metres (0 for loops that cannot tell).
    pub queue_m: [f32; MAX_DETECTORS],
    pub health: [DetectorHealth; MAX_DETECTORS],
}

impl DetectorSnapshot {
    pub const EMPTY: DetectorSnapshot = DetectorSnapshot {
        at: Instant::ZERO,
        presence: DetectorSet::EMPTY,
        counts: [0; MAX_DETECTORS],
        queue_m: [0.0; MAX_DETECTORS],
        health: [DetectorHealth::Unknown; MAX_DETECTORS],
    };
}

impl Default for DetectorSnapshot {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// Why a detector refused a camera frame. Per frame on the control path: small and `Copy`
/// (docs/conventions.md 12); the detector counts refused frames and reports its zones stale when
/// only refused frames arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The buffer is not `width × height` luma bytes (short read, corrupt or mis-sized buffer).
    WrongSize { got: usize, want: usize },
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::WrongSize { got, want } => {
                write!(f, "camera frame of {got} bytes, expected {want} (width × height luma)")
            }
        }
    }
}
