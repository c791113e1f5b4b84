//! What the console shows and does, as seen from the console: small `Copy` snapshots it renders and
//! one `apply` for the mutating commands. The runtime implements [`ConsoleTarget`] over the
//! controller; tests implement it over fixed data. Keeping this narrow keeps the console pure.

pub use crate::camera::set::CameraView;
use crate::config::{PlannerKind, Site};
use crate::detect::loops::LoopView;
use crate::detect::DetectorSnapshot;
use crate::limits::MAX_PHASES;
use crate::phase::{PhaseId, PhaseSet};
/// Central phase control kinds (NTCIP 1202 `phaseControlGroup*`), applied by the engine within its
/// safety envelope (`signal::engine`, central control).
pub use crate::signal::engine::PhaseControl;
pub use crate::stats::LoopStats;
use crate::time::Instant;

/// Controller status for `status`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatusView {
    /// Operating mode name (`startup`, `normal`, `preempt`, `flash`, `stopping`).
    pub mode: &'static str,
    pub planner: PlannerKind,
    /// Current cycle length (0 when the planner has none, e.g. free actuated).
    pub cycle_ms: u32,
    /// Time into the current cycle, when the controller knows it.
    pub cycle_elapsed_ms: Option<u32>,
    /// Latched fault (flash), if any: its name.
    pub fault: Option<&'static str>,
    /// Detection trusted by the planner (false means the Webster fallback is in force).
    pub detection_trusted: bool,
    pub watchdog_ok: bool,
}

/// The time-of-day schedule and the running coordination pattern for `schedule`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleView {
    /// The site has a `[schedule]` (else `[site] pattern`, or neither).
    pub calendar: bool,
    /// Local time (None: the wall clock is not known yet).
    pub local: Option<jiff::civil::DateTime>,
    pub action: crate::config::schedule::Action,
    pub since: Option<jiff::civil::DateTime>,
    pub next: Option<crate::plan::schedule::NextChange>,
    /// The running pattern: number, cycle, offset, its reference point, the cycle timer.
    pub pattern: Option<PatternView>,
    /// Coordination cycle state (`in step`, `transition …`, `free`).
    pub state: &'static str,
}

/// The running coordination pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatternView {
    pub number: u8,
    pub cycle_ms: u32,
    pub offset_ms: u32,
    pub yellow_start: bool,
    pub cycle_timer_s: Option<u16>,
}

/// One phase for `status` and `phases`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseView {
    /// Interval name (`green`, `yellow`, `red-clear`, `red`, `walk`, `ped-clear`, …).
    pub interval: &'static str,
    /// Time since the interval began.
    pub since_ms: u32,
    pub called: bool,
    pub ped_called: bool,
    /// The running max green: the configured max, or where dynamic max is on, where successive
    /// max-outs and gap-outs have moved it.
    pub max_ms: u32,
}

/// One fault record for `faults`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultView {
    pub at: Instant,
    pub name: &'static str,
    /// Phase, detector or other number the fault is about (0 when none).
    pub param: u16,
    pub latched: bool,
}

/// The Webster plan in force or on standby for `timing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanView {
    pub cycle_ms: u32,
    /// Green split per phase index (0 for phases not in the plan).
    pub split_ms: [u32; MAX_PHASES],
    /// Protected/permissive lefts the plan runs on their flashing yellow arrow only.
    pub permissive_only: crate::phase::PhaseSet,
    /// What the planner is doing with it (`actuated`, `webster`, `webster (fail-safe: …)`).
    pub source: &'static str,
    /// Why the plan is not Webster's own (the demand did not fit the site's limits), if so.
    pub capped: Option<crate::plan::webster::CapReason>,
}

/// Scenario pool counters for `scenarios` (docs/architecture.md, Memory and bounds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScenarioView {
    pub capacity: u32,
    pub in_use: u32,
    pub created: u64,
    pub completed: u64,
    pub failed: u64,
    pub timed_out: u64,
}

/// A mutating console command, applied by the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    ClearFlash,
    SetPlan(PlannerKind),
    /// Exercise preempt input `n` (1-based) through its full entry, dwell and exit.
    PreemptTest(u8),
    /// Place a vehicle call on a phase (as if its detector had called).
    Recall(PhaseId),
    SetLogLevel(log::LevelFilter),
    /// Take a snapshot of camera `n` (1-based): not a change to the street, no PIN needed.
    Snapshot(u8),
    /// Run coordination pattern `n` over the schedule (`None`: back to the schedule).
    SelectPattern(Option<u8>),
    /// Place a pedestrian call on a phase (as if its push button had been pressed).
    PedCall(PhaseId),
    /// Central phase control (NTCIP 1202 `phaseControlGroup*`): the phases now held, forced off or
    /// omitted by central management, replacing the earlier set of that kind.
    PhaseControl(PhaseControl, PhaseSet),
}

/// Why an action was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Flash stays: the fault that latched it is still present.
    FaultPresent,
    /// The phase is not configured at this site.
    NoSuchPhase,
    /// The preempt input is not configured.
    NoSuchPreempt,
    /// The controller is stopping or starting up.
    NotNow,
    /// Nothing to clear: the controller is not in flash, or it was stopped on purpose.
    NotInFlash,
    /// The controller in this build has no way to do it yet.
    Unsupported,
    /// No camera with that number takes snapshots here.
    NoSuchCamera,
    /// The snapshot writer is behind; the request was dropped (and counted).
    SnapshotsBehind,
    /// The site defines no coordination pattern with that number.
    NoSuchPattern,
}

impl core::fmt::Display for Refused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Refused::FaultPresent => "the fault is still present; find it with `faults` and fix it first",
            Refused::NoSuchPhase => "that phase is not configured at this site (see `phases`)",
            Refused::NoSuchPreempt => "that preempt input is not configured at this site",
            Refused::NotNow => "not possible while the controller is starting up or stopping",
            Refused::NotInFlash => "the controller is not in a fault flash (a stopped controller needs a restart)",
            Refused::Unsupported => "this controller build cannot do that yet",
            Refused::NoSuchCamera => "no camera with that number is configured at this site",
            Refused::NoSuchPattern => "the site defines no pattern with that number (see `check`)",
            Refused::SnapshotsBehind => {
                "the snapshot writer is behind; this request was dropped (counted in `stats`), try again"
            }
        })
    }
}

/// The controller as the console sees it.
pub trait ConsoleTarget {
    fn site(&self) -> &Site;
    fn status(&self) -> StatusView;
    fn phase(&self, p: PhaseId) -> Option<PhaseView>;
    fn detectors(&self) -> DetectorSnapshot;
    /// Loop detector channel `i` of the cabinet (from 0), for `loops`; none past the last (and on
    /// a street without loops).
    fn loop_channel(&self, _i: usize) -> Option<LoopView> {
        None
    }
    /// Fault records, newest last; `i` from 0.
    fn fault(&self, i: usize) -> Option<FaultView>;
    fn plan(&self) -> PlanView;
    /// The schedule and coordination (none by default: free operation).
    fn schedule(&self) -> ScheduleView {
        ScheduleView {
            calendar: false,
            local: None,
            action: crate::config::schedule::Action::Free,
            since: None,
            next: None,
            pattern: None,
            state: "free",
        }
    }
    fn scenarios(&self) -> ScenarioView;
    fn stats(&self) -> LoopStats;
    fn apply(&mut self, action: Action, now: Instant) -> Result<(), Refused>;
    /// Camera `i` (0-based) for `cameras` and `zones`; `None` past the last (or without cameras).
    fn camera(&self, _i: usize) -> Option<CameraView> {
        None
    }
}
