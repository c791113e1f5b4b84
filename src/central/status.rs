//! The unit status the control loop publishes once per tick for central management.
//!
//! [`UnitStatus`] is `Copy` and fixed size: the NTCIP 1202 phase status groups (one group of eight
//! phases, `limits::MAX_PHASES`), the phase timing parameters, detector and preempt state, the
//! unit's mode and alarms, and the loop's own health counters. The loop fills one on its stack and
//! hands it over with [`StatusPublisher::publish`] (a copy into a triple buffer: no lock, no
//! allocation, never waits); each reader ([`StatusReader::latest`]) sees the newest complete one.
//! A triple buffer has one reader, so every central service gets its own pair from [`channel`].

use crate::config::PlannerKind;
use crate::detect::DetectorHealth;
use crate::limits::{MAX_DETECTORS, MAX_PHASES, MAX_PREEMPTS};
use crate::time::Instant;

/// The NTCIP 1202 phase status group bits for phases 1..=8 (bit `n-1` = phase `n`), as the
/// `phaseStatusGroup*` objects report them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseGroups {
    pub reds: u8,
    pub yellows: u8,
    pub greens: u8,
    pub dont_walks: u8,
    pub ped_clears: u8,
    pub walks: u8,
    pub vehicle_calls: u8,
    pub ped_calls: u8,
    /// Phases timing (green, yellow or red clearance) in their ring.
    pub ons: u8,
    /// Phases chosen to time next in their ring.
    pub nexts: u8,
}

/// One phase's timing parameters in NTCIP 1202 units (`phaseTable`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseParams {
    /// Phase number (1-based); 0 for a phase not configured at the site.
    pub number: u8,
    /// `phaseMinimumGreen`, seconds.
    pub min_green_s: u16,
    /// `phasePassage`, tenths of a second.
    pub passage_ds: u16,
    /// `phaseMaximum1`, seconds.
    pub max1_s: u16,
    /// `phaseYellowChange`, tenths of a second.
    pub yellow_ds: u16,
    /// `phaseRedClear`, tenths of a second.
    pub red_clear_ds: u16,
    /// `phaseWalk`, seconds (0 without a crossing).
    pub walk_s: u16,
    /// `phasePedestrianClear`, seconds (0 without a crossing).
    pub ped_clear_s: u16,
    /// `phaseRing` (1-based, 0 when not in a ring).
    pub ring: u8,
}

/// What the unit as a whole is doing (NTCIP 1202 `unitControlStatus`-like, plus flash).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnitMode {
    #[default]
    Startup,
    Run,
    Stopping,
    Flash,
}

impl UnitMode {
    pub const fn name(self) -> &'static str {
        match self {
            UnitMode::Startup => "startup",
            UnitMode::Run => "run",
            UnitMode::Stopping => "stopping",
            UnitMode::Flash => "flash",
        }
    }
}

/// One detector channel's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetectorState {
    /// Detector number (1-based); 0 for a channel not configured at the site.
    pub number: u8,
    pub presence: bool,
    /// Cumulative count, wrapping at 2^16.
    pub count: u16,
    pub health: DetectorHealth,
}

/// The whole unit status, newest first to last: everything central management reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UnitStatus {
    /// Publications so far (0: nothing published yet).
    pub seq: u64,
    /// Controller time of the tick.
    pub now: Instant,
    /// Wall time of the tick, Unix ms (0 when unknown).
    pub unix_ms: i64,
    /// The site's device id (NTCIP `globalSetIDParameter`-like identity for telemetry topics).
    pub device_id: u16,
    pub mode: UnitMode,
    pub planner: PlannerKind,
    /// What the planner does (`plan::PlanMode::name`).
    pub plan_mode: &'static str,
    pub detection_trusted: bool,
    /// Latched fault name (flash), if any.
    pub fault: Option<&'static str>,
    pub faults_total: u32,
    /// Last complete cycle, ms.
    pub cycle_ms: u32,
    pub cycles: u64,
    /// Coordination pattern in force (0: free); `cycle_timer_s` its local cycle timer.
    pub pattern: u8,
    pub cycle_timer_s: Option<u16>,
    pub groups: PhaseGroups,
    pub phases: [PhaseParams; MAX_PHASES],
    pub detectors: [DetectorState; MAX_DETECTORS],
    /// Preempt inputs active (bit `i` = preempt `i + 1`).
    pub preempt_inputs: u8,
    /// The preempt running, if any: its number and whether it is dwelling (else entering).
    pub preempt: Option<(u8, bool)>,
    /// Configured preempt numbers.
    pub preempts: [u8; MAX_PREEMPTS],
    pub door_open: bool,
    /// The watchdog was kicked this tick (the whole loop healthy).
    pub watchdog_ok: bool,
    /// Loop health: ticks that missed their deadline, events the ring dropped.
    pub overruns: u64,
    pub events_dropped: u64,
    pub events_total: u64,
}

impl UnitStatus {
    pub const EMPTY: UnitStatus = UnitStatus {
        seq: 0,
        now: Instant::ZERO,
        unix_ms: 0,
        device_id: 0,
        mode: UnitMode::Startup,
        planner: PlannerKind::Webster,
        plan_mode: "",
        detection_trusted: false,
        fault: None,
        faults_total: 0,
        cycle_ms: 0,
        cycles: 0,
        pattern: 0,
        cycle_timer_s: None,
        groups: PhaseGroups {
            reds: 0,
            yellows: 0,
            greens: 0,
            dont_walks: 0,
            ped_clears: 0,
            walks: 0,
            vehicle_calls: 0,
            ped_calls: 0,
            ons: 0,
            nexts: 0,
        },
        phases: [PhaseParams {
            number: 0,
            min_green_s: 0,
            passage_ds: 0,
            max1_s: 0,
            yellow_ds: 0,
            red_clear_ds: 0,
            walk_s: 0,
            ped_clear_s: 0,
            ring: 0,
        }; MAX_PHASES],
        detectors: [DetectorState {
            number: 0,
            presence: false,
            count: 0,
            health: DetectorHealth::Unknown,
        }; MAX_DETECTORS],
        preempt_inputs: 0,
        preempt: None,
        preempts: [0; MAX_PREEMPTS],
        door_open: false,
        watchdog_ok: false,
        overruns: 0,
        events_dropped: 0,
        events_total: 0,
    };
}

impl Default for UnitStatus {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// The control loop's end of one status channel.
pub struct StatusPublisher(triple_buffer::Input<UnitStatus>);

/// A central service's end of one status channel.
pub struct StatusReader(triple_buffer::Output<UnitStatus>);

/// A status channel (start-up only: allocates its three buffers).
pub fn channel() -> (StatusPublisher, StatusReader) {
    let (i, o) = triple_buffer::triple_buffer(&UnitStatus::EMPTY);
    (StatusPublisher(i), StatusReader(o))
}

impl StatusPublisher {
    /// Hands `s` to the reader: a copy, no lock, no allocation.
    pub fn publish(&mut self, s: &UnitStatus) {
        *self.0.input_buffer_mut() = *s;
        self.0.publish();
    }
}

impl StatusReader {
    /// The newest complete snapshot (`seq == 0` until the loop has published one).
    pub fn latest(&mut self) -> &UnitStatus {
        self.0.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_sees_the_newest_snapshot_whole() {
        let (mut p, mut r) = channel();
        assert_eq!(r.latest().seq, 0);
        let mut s = UnitStatus::EMPTY;
        for k in 1..=5u64 {
            s.seq = k;
            s.cycles = k * 10;
            p.publish(&s);
        }
        let got = r.latest();
        assert_eq!((got.seq, got.cycles), (5, 50));
    }

    #[test]
    fn a_reader_on_another_thread_never_sees_a_torn_snapshot() {
        let (mut p, mut r) = channel();
        let reader = std::thread::spawn(move || {
            let mut last = 0;
            for _ in 0..200_000 {
                let s = r.latest();
                // Written together: a torn copy would break the pairing.
                assert_eq!(s.cycles, s.seq * 3);
                assert!(s.seq >= last);
                last = s.seq;
            }
        });
        let mut s = UnitStatus::EMPTY;
        for k in 1..=200_000u64 {
            s.seq = k;
            s.cycles = k * 3;
            p.publish(&s);
        }
        reader.join().unwrap();
    }
}
