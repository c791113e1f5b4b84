//! High-resolution controller event log (Indiana Traffic Signal Hi Resolution Data Logger
//! Enumerations, Sturdevant et al., INDOT/Purdue 2012): the format ATSPM tools ingest.
//!
//! The engine pushes [`Event`]s into a fixed-capacity [`EventRing`]; the runtime drains it every
//! tick. A full ring drops the oldest event and counts it (docs/conventions.md 11), it never grows.

pub mod csv;
pub mod persist;
pub mod rotate;
pub mod single;

use crate::limits::EVENT_RING;
use crate::time::Instant;

/// Indiana hi-res event codes used by greenwave. The parameter is a phase, detector, preempt or
/// alarm number as the enumeration defines.
pub mod code {
    pub const PHASE_ON: u8 = 0;
    pub const PHASE_BEGIN_GREEN: u8 = 1;
    pub const PHASE_CHECK: u8 = 2;
    pub const PHASE_MIN_COMPLETE: u8 = 3;
    pub const PHASE_GAP_OUT: u8 = 4;
    pub const PHASE_MAX_OUT: u8 = 5;
    pub const PHASE_FORCE_OFF: u8 = 6;
    pub const PHASE_GREEN_TERMINATION: u8 = 7;
    pub const PHASE_BEGIN_YELLOW: u8 = 8;
    pub const PHASE_END_YELLOW: u8 = 9;
    pub const PHASE_BEGIN_RED_CLEARANCE: u8 = 10;
    pub const PHASE_END_RED_CLEARANCE: u8 = 11;
    pub const PHASE_INACTIVE: u8 = 12;
    pub const PED_BEGIN_WALK: u8 = 21;
    pub const PED_BEGIN_CLEARANCE: u8 = 22;
    pub const PED_BEGIN_DONT_WALK: u8 = 23;
    pub const BARRIER_TERMINATION: u8 = 31;
    /// Overlap events; a flashing yellow arrow is reported as the overlap numbered like its
    /// left-turn phase (ATC controllers drive the arrow from an FYA overlap): 61 = arrow begins
    /// flashing, 63 = steady yellow arrow, 64 = red clearance, 65 = off (red arrow).
    pub const OVERLAP_BEGIN_GREEN: u8 = 61;
    pub const OVERLAP_BEGIN_YELLOW: u8 = 63;
    pub const OVERLAP_BEGIN_RED_CLEARANCE: u8 = 64;
    pub const OVERLAP_OFF: u8 = 65;
    pub const PHASE_CALL_REGISTERED: u8 = 43;
    pub const PHASE_CALL_DROPPED: u8 = 44;
    pub const PED_CALL_REGISTERED: u8 = 45;
    pub const DETECTOR_OFF: u8 = 81;
    pub const DETECTOR_ON: u8 = 82;
    pub const DETECTOR_RESTORED: u8 = 83;
    pub const DETECTOR_FAULT_OTHER: u8 = 84;
    pub const DETECTOR_FAULT_WATCHDOG: u8 = 85;
    pub const DETECTOR_FAULT_OPEN: u8 = 86;
    pub const DETECTOR_FAULT_SHORTED: u8 = 87;
    pub const DETECTOR_FAULT_EXCESSIVE_CHANGE: u8 = 88;
    pub const PED_DETECTOR_OFF: u8 = 89;
    pub const PED_DETECTOR_ON: u8 = 90;
    pub const PREEMPT_CALL_ON: u8 = 102;
    pub const PREEMPT_CALL_OFF: u8 = 104;
    pub const PREEMPT_ENTRY_STARTED: u8 = 105;
    pub const PREEMPT_BEGIN_DWELL: u8 = 107;
    pub const PREEMPT_BEGIN_EXIT: u8 = 111;
    pub const TSP_CHECK_IN: u8 = 112;
    pub const TSP_EARLY_GREEN: u8 = 113;
    pub const TSP_EXTEND_GREEN: u8 = 114;
    pub const TSP_CHECK_OUT: u8 = 115;
    /// Coordination pattern change: the scheduled action (parameter = pattern number 1-16, 0 free
    /// or fixed time, 255 flash), and a planner mode change (parameter = `plan::PlanMode`).
    pub const PATTERN_CHANGE: u8 = 131;
    /// Cycle length change (parameter = cycle in seconds, saturated to 255).
    pub const CYCLE_LENGTH_CHANGE: u8 = 132;
    /// Offset change of the coordination pattern (parameter = offset in seconds).
    pub const OFFSET_LENGTH_CHANGE: u8 = 133;
    /// Split change of phase `n` is code `SPLIT_CHANGE_BASE + n` (134-149 for phases 1-16;
    /// parameter = split in seconds).
    pub const SPLIT_CHANGE_BASE: u8 = 133;
    /// Coordination cycle state change (parameter: 0 free, 1 in step, 2 transition add,
    /// 3 transition subtract, 4 transition dwell).
    pub const COORD_CYCLE_STATE: u8 = 150;
    /// The running cycle reached a coordinated phase's yield point (parameter = that phase).
    pub const COORD_YIELD_POINT: u8 = 151;
    /// Flash status change (parameter: 0 = flash off, 1 = flash on).
    pub const FLASH_STATUS: u8 = 173;
    /// Controller alarm (parameter = greenwave fault number, see `fault::FaultKind`, or one of
    /// the [`super::alarm`] numbers for faults that are reported without latching flash).
    pub const ALARM: u8 = 174;
}

/// Alarm numbers (parameter of [`code::ALARM`]) for faults that do not touch the street: the
/// signal keeps running safely, so they never latch flash, but they must be seen. Numbered above
/// every `fault::FaultKind` (the latching faults). Logged once when the fault starts, not per
/// failed write.
pub mod alarm {
    /// Event log writes are failing: rows are being lost (and counted).
    pub const EVENT_LOG_WRITE: u16 = 101;
    /// A controller state file (learned flows, counters, fault history) could not be saved.
    pub const STATE_SAVE: u16 = 102;
    /// The wall clock stepped (NTP step, RTC or date set): later rows carry the new time; signal
    /// timing is unaffected (it follows the monotonic clock).
    pub const CLOCK_STEP: u16 = 103;
    /// A camera configured for the NPU (`detector = "npu"`) is served by the CPU zone detector:
    /// no NPU in this build, no runtime, the model did not load, or inference failed. Detection
    /// goes on; raised once per camera and reason.
    pub const NPU_FALLBACK: u16 = 104;
}

/// One logged event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub at: Instant,
    pub code: u8,
    pub param: u16,
}

/// Fixed-capacity event queue: drop-oldest when full, with a counter.
pub struct EventRing {
    buf: heapless::Deque<Event, EVENT_RING>,
    dropped: u64,
    total: u64,
}

impl Default for EventRing {
    fn default() -> Self {
        Self::new()
    }
}

impl EventRing {
    pub const fn new() -> Self {
        EventRing {
            buf: heapless::Deque::new(),
            dropped: 0,
            total: 0,
        }
    }

    pub fn push(&mut self, at: Instant, code: u8, param: u16) {
        let ev = Event { at, code, param };
        self.total += 1;
        if let Err(ev) = self.buf.push_back(ev) {
            // Full: the oldest event goes, the newest stays (recent history matters most to a technician).
            let _ = self.buf.pop_front();
            self.dropped += 1;
            let _ = self.buf.push_back(ev);
        }
    }

    pub fn pop(&mut self) -> Option<Event> {
        self.buf.pop_front()
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Events lost because the ring was full when pushed.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Events ever pushed.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn iter(&self) -> impl Iterator<Item = &Event> {
        self.buf.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_oldest_and_counts() {
        let mut r = EventRing::new();
        for i in 0..(EVENT_RING as u64 + 3) {
            r.push(Instant(i), code::DETECTOR_ON, 1);
        }
        assert_eq!(r.len(), EVENT_RING);
        assert_eq!(r.dropped(), 3);
        assert_eq!(r.pop().unwrap().at, Instant(3));
    }
}
