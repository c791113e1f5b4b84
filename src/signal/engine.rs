//! The phase timing engine: NEMA TS2 dual-ring, barrier-synchronised actuated control.
//!
//! Pure logic (docs/conventions.md 1): [`Engine::step`] takes the time, the phase-level demand and
//! the plan directive, and returns the [`OutputFrame`] for this tick. It never reads a clock, never
//! allocates, and every loop is bounded by `MAX_RINGS`/`MAX_PHASES`/`MAX_GROUPS`.
//!
//! ## What it implements
//! - **Ring and barrier sequencing** (NEMA TS2 §3.5): each ring runs its phases in ring order within
//!   the active barrier group; the barrier is crossed only when every ring has finished its red
//!   clearance, so phases of different groups never time together. Uncalled phases are skipped; a
//!   phase is served at most once per group visit.
//! - **Calls** lock until served (locking memory); min/max recall place calls while not green; a
//!   pedestrian call also calls its vehicle phase.
//! - **Green**: min green (raised to walk + pedestrian clearance when a walk is served), extension by
//!   passage time per actuation, gap-out when no actuation for the passage time, max-out on the max
//!   timer that starts with the first conflicting call (or call waiting behind the barrier),
//!   force-off on a fixed-time plan's split.
//!   Without conflicting demand a phase rests in green (or in red when the site rests in red).
//! - **Dual-ring barrier hold**: a ring whose next service is across the barrier keeps its green
//!   until every other ring is ready to cross too, so both rings leave the barrier together and the
//!   waiting ring does not waste the time in red ("simultaneous gap-out").
//! - **Change and clearance**: yellow change then red clearance of the phase's configured lengths
//!   (derived by the ITE formulas in `config::derive`), never shortened.
//! - **Pedestrians** (MUTCD 4E.06): WALK, then flashing DON'T WALK for the pedestrian clearance, then
//!   solid DON'T WALK — all inside the green, which cannot end before solid DON'T WALK.
//! - **Stop**: on request no new phase starts; greens end as soon as their min green and pedestrian
//!   intervals allow, run their yellow and red clearance, and the engine reports `Stopped`.
//! - **Preemption**, **transit priority** and **flashing yellow arrows** run on top of the ring
//!   sequence; each is described in its own file below.
//! - Indiana hi-res events 0, 1, 3-12, 21-23, 31, 43-45 (and those of the features) into the
//!   caller's [`EventRing`].
//!
//! ## Files
//! Like a protocol stack with one file per protocol, every feature keeps its own state and logic,
//! and [`Engine::step`] here calls them in a fixed order each tick:
//! - `engine/ring.rs` — one ring's intervals: calls and recalls, min green, extension and gap-out,
//!   max-out, pedestrian walk and flashing DON'T WALK, yellow, red clearance, stop.
//! - `engine/barrier.rs` — the sequence across rings: next phase in ring order, which greens end
//!   this tick, the dual-ring barrier hold and crossing, cycle length.
//! - `engine/preempt.rs` — emergency-vehicle preemption: entry, dwell, exit (events 102-111).
//! - `engine/transit.rs` — transit signal priority: green extension, early green (NTCIP 1211,
//!   events 112-115).
//! - `engine/arrows.rs` — flashing yellow arrows of protected/permissive left turns (MUTCD
//!   4D.18-4D.20, events 61-65).
//! - `engine/central.rs` — central phase control (NTCIP 1202 omit, pedestrian omit, hold,
//!   force-off) inside the same limits, events 41/42, 46-49.
//! - `engine/render.rs` — the [`OutputFrame`] of a tick.
//!
//! ## Cost
//! One step is O(rings × phases) bit operations; ~0.3 µs on a Pi 4 class core (see `benches/`).

mod arrows;
mod barrier;
mod central;
mod preempt;
mod render;
mod ring;
mod transit;

use crate::config::Site;
use crate::events::{code, EventRing};
use crate::frame::OutputFrame;
use crate::limits::{MAX_PHASES, MAX_RINGS};
use crate::phase::{PhaseId, PhaseSet};
use crate::time::Instant;

use arrows::ArrowState;
use preempt::PreemptState;
use transit::TransitState;

pub use arrows::Permissive;
pub use central::{PhaseControl, PhaseControls};
pub use preempt::{PreemptRun, PreemptStage};
pub use ring::RingStatus;

/// Half period of the flashing DON'T WALK and of flash operation: 1 Hz, 50 % duty (MUTCD 4D.12
/// asks 50-60 flashes per minute with the lamp lit half the time).
pub const FLASH_HALF_PERIOD_MS: u64 = 500;

/// Vehicle interval of one ring (the phase it refers to is `RingStatus::phase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    /// No phase timing in this ring (all its heads red).
    Idle,
    Green,
    Yellow,
    RedClear,
}

impl Interval {
    pub const fn name(self) -> &'static str {
        match self {
            Interval::Idle => "red",
            Interval::Green => "green",
            Interval::Yellow => "yellow",
            Interval::RedClear => "red clear",
        }
    }
}

/// Pedestrian interval of the phase timing in a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PedInterval {
    DontWalk,
    Walk,
    /// Flashing DON'T WALK.
    Clearance,
}

impl PedInterval {
    pub const fn name(self) -> &'static str {
        match self {
            PedInterval::DontWalk => "dont walk",
            PedInterval::Walk => "walk",
            PedInterval::Clearance => "ped clear",
        }
    }
}

/// Why a green ended (or may end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    GapOut,
    MaxOut,
    ForceOff,
}

impl EndReason {
    const fn event(self) -> u8 {
        match self {
            EndReason::GapOut => code::PHASE_GAP_OUT,
            EndReason::MaxOut => code::PHASE_MAX_OUT,
            EndReason::ForceOff => code::PHASE_FORCE_OFF,
        }
    }
}

/// How greens end this tick: the planner's command to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Directive {
    /// Fully actuated: gap-out / max-out from the detector demand.
    Actuated,
    /// Fixed time: every phase is called and its green ends (force-off) at the planned length; the
    /// Webster fail-safe. Lengths are never below the phase's min green (the engine enforces it).
    Fixed { green_ms: [u32; MAX_PHASES] },
    /// The planner decides each tick which greens may end (`end`, after min green and pedestrian
    /// intervals); max green still bounds every green.
    Adaptive { end: PhaseSet },
    /// Coordinated operation: a pattern timer in the planner (`plan::coord`) decides from the
    /// cycle position. `force_off`: greens that end now (split end, coordinated yield point);
    /// `gap_out`: greens that may end for lack of demand; `omit`: phases that may not start now
    /// (outside their permissive window); their calls stay locked and wait; `no_walk`: phases whose
    /// walk may not start now (it would not end before the force-off). No max-out: the force-offs
    /// bound every green (NTCIP 1202 max inhibit in coordination). Min green, walk, pedestrian
    /// clearance, yellow and red clearance are never shortened.
    Coordinated {
        force_off: PhaseSet,
        gap_out: PhaseSet,
        omit: PhaseSet,
        no_walk: PhaseSet,
    },
}

impl Directive {
    /// Phases that may not start this tick.
    const fn omit(&self) -> PhaseSet {
        match self {
            Directive::Coordinated { omit, .. } => *omit,
            _ => PhaseSet::EMPTY,
        }
    }

    /// Phases whose walk may not start this tick.
    const fn no_walk(&self) -> PhaseSet {
        match self {
            Directive::Coordinated { no_walk, .. } => *no_walk,
            _ => PhaseSet::EMPTY,
        }
    }
}

/// Phase-level demand for one tick, already mapped from detectors and push buttons.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Demand {
    /// Phases with a vehicle call (detector presence on a calling detector, or a failed detector's
    /// constant call).
    pub veh: PhaseSet,
    /// Phases with an actuation that extends green (presence on an extending detector).
    pub extend: PhaseSet,
    /// Pedestrian push buttons, by the vehicle phase the crossing runs with.
    pub ped: PhaseSet,
    /// Emergency-vehicle preempt inputs (bit `i` = preempt `i + 1`).
    pub preempt: u8,
    /// Transit priority requests by phase.
    pub transit: PhaseSet,
    /// Protected/permissive left turns the planner lets run permissive: each shows a flashing
    /// yellow arrow while its opposing through is green (none during preemption).
    pub permissive: PhaseSet,
}

/// Engine operating mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineMode {
    /// All red for the configured start-up time (a known state before the first green).
    Startup,
    Run,
    /// Ending every service for a clean stop.
    Stopping,
    /// All red, nothing timing.
    Stopped,
}

/// The timing engine. Fixed size (~250 bytes), `Clone` without allocation.
///
/// The ring and barrier state is the engine's own; each feature on top of it keeps its state in
/// its own part (`PreemptState`, `TransitState`, `ArrowState`).
#[derive(Clone, Debug)]
pub struct Engine {
    mode: EngineMode,
    mode_since: Instant,
    rings: [RingStatus; MAX_RINGS],
    /// Index of the active barrier group.
    group: usize,
    /// Phases served during this visit of the active group.
    served: PhaseSet,
    /// Locked vehicle calls.
    calls: PhaseSet,
    /// Locked pedestrian calls.
    ped_calls: PhaseSet,
    /// A barrier crossing has been decided: no new phase starts in the active group.
    crossing: bool,
    cycle_start: Option<Instant>,
    last_cycle_ms: u32,
    cycles: u64,
    preempt: PreemptState,
    transit: TransitState,
    arrows: ArrowState,
    /// Central phase control in force (`engine/central.rs`).
    central: PhaseControls,
    /// This tick's [`Directive::Coordinated`] omits: not started, and their calls neither start a
    /// barrier crossing nor end a resting green.
    omit: PhaseSet,
    /// This tick's [`Directive::Coordinated`] walk inhibits.
    no_walk: PhaseSet,
    /// Running max green per phase under dynamic max (`engine/ring.rs`, [`Engine::running_max_ms`]);
    /// 0 = the phase's configured max green.
    running_max_ms: [u32; MAX_PHASES],
    /// Successive max-outs (> 0) or gap-outs (< 0) per phase, for dynamic max.
    max_streak: [i8; MAX_PHASES],
}

impl Engine {
    /// A new engine in start-up all-red from `now`.
    pub fn new(now: Instant) -> Engine {
        Engine {
            mode: EngineMode::Startup,
            mode_since: now,
            rings: [RingStatus::IDLE; MAX_RINGS],
            group: 0,
            served: PhaseSet::EMPTY,
            calls: PhaseSet::EMPTY,
            ped_calls: PhaseSet::EMPTY,
            crossing: false,
            cycle_start: None,
            last_cycle_ms: 0,
            cycles: 0,
            preempt: PreemptState::new(),
            transit: TransitState::new(),
            arrows: ArrowState::new(),
            central: PhaseControls {
                omit: PhaseSet::EMPTY,
                ped_omit: PhaseSet::EMPTY,
                hold: PhaseSet::EMPTY,
                force_off: PhaseSet::EMPTY,
            },
            omit: PhaseSet::EMPTY,
            no_walk: PhaseSet::EMPTY,
            running_max_ms: [0; MAX_PHASES],
            max_streak: [0; MAX_PHASES],
        }
    }

    /// Locked vehicle and pedestrian calls the sequence may serve this tick (all but the omitted).
    fn serviceable_calls(&self) -> PhaseSet {
        self.calls
            .union(self.ped_calls)
            .difference(self.omit)
            .difference(self.central.omit)
    }

    /// Left turns showing a flashing or the following steady yellow arrow.
    pub fn permissive_active(&self) -> PhaseSet {
        self.arrows.active()
    }

    /// The flashing-yellow-arrow state of left turn `p`.
    pub fn permissive_state(&self, p: PhaseId) -> Permissive {
        self.arrows.state(p)
    }

    /// The active preemption, if any.
    pub fn preempt(&self) -> Option<PreemptRun> {
        self.preempt.run()
    }

    /// Preemptions that reached dwell, and the last one's time from call to dwell green (ms).
    pub fn preempt_stats(&self) -> (u32, u32) {
        self.preempt.stats()
    }

    pub fn mode(&self) -> EngineMode {
        self.mode
    }

    pub fn rings(&self) -> &[RingStatus; MAX_RINGS] {
        &self.rings
    }

    pub fn calls(&self) -> PhaseSet {
        self.calls
    }

    pub fn ped_calls(&self) -> PhaseSet {
        self.ped_calls
    }

    /// Index of the active barrier group.
    pub fn group(&self) -> usize {
        self.group
    }

    /// Length of the last complete cycle (between two starts of the first barrier group), ms.
    pub fn last_cycle_ms(&self) -> u32 {
        self.last_cycle_ms
    }

    /// Completed cycles.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Phases whose heads are green this tick.
    pub fn greens(&self) -> PhaseSet {
        let mut s = PhaseSet::EMPTY;
        for r in self.rings.iter() {
            if let (Some(p), Interval::Green) = (r.phase, r.interval) {
                s.insert(p);
            }
        }
        s
    }

    /// Ask for a clean stop: no new service, current greens end as soon as allowed.
    pub fn request_stop(&mut self, now: Instant) {
        if matches!(self.mode, EngineMode::Startup | EngineMode::Run) {
            self.mode = EngineMode::Stopping;
            self.mode_since = now;
        }
    }

    /// One engine tick. `site` must be the site the engine was built for.
    ///
    /// The order matters and is part of the behaviour (it fixes the order of the events of one
    /// tick): arrows that finished clearing, calls, preempt and transit inputs, every ring's
    /// timers, then the sequence (preemption, or late starts, terminations and the barrier), the
    /// arrows that start or end with this tick's greens, and the frame.
    pub fn step(
        &mut self,
        site: &Site,
        now: Instant,
        demand: &Demand,
        directive: &Directive,
        ev: &mut EventRing,
    ) -> OutputFrame {
        let nrings = site.rings.len().min(MAX_RINGS);
        if self.mode == EngineMode::Startup && now.since(self.mode_since) >= u64::from(site.startup_red_ms) {
            self.mode = EngineMode::Run;
            self.mode_since = now;
        }
        self.omit = directive.omit();
        self.no_walk = directive.no_walk();
        self.arrows.expire(site, now, ev);
        self.register_calls(site, now, demand, directive, ev);
        self.update_preempt(site, nrings, now, demand, ev);
        self.transit.check_in_out(now, demand, ev);
        for r in 0..nrings {
            self.time_ring(site, r, now, demand, directive, ev);
        }
        if self.mode == EngineMode::Run && self.preempt.run().is_some() {
            self.run_preempt(site, nrings, now, demand, ev);
        } else if self.mode == EngineMode::Run {
            self.late_starts(site, nrings, now, ev);
            self.decide_terminations(site, nrings, now, directive, ev);
            self.cross_barrier(site, nrings, now, ev);
        } else if self.mode == EngineMode::Stopping {
            self.stop_greens(site, nrings, now, ev);
            if self.rings.iter().take(nrings).all(|r| r.interval == Interval::Idle) {
                self.mode = EngineMode::Stopped;
                self.mode_since = now;
            }
        }
        self.update_arrows(site, now, demand, ev);
        self.render(site, now)
    }

    /// Flashing yellow arrows for this tick's greens (see `arrows.rs`): an arrow may flash while the
    /// engine runs without preemption, the planner allows it, its opposing through is green and
    /// its own phase is not timing.
    fn update_arrows(&mut self, site: &Site, now: Instant, demand: &Demand, ev: &mut EventRing) {
        self.arrows.expire(site, now, ev);
        let may_flash = self.mode == EngineMode::Run && self.preempt.run().is_none();
        let allowed = if may_flash { demand.permissive } else { PhaseSet::EMPTY };
        let (greens, timing) = (self.greens(), self.timing_phases());
        self.arrows.update(site, now, allowed, greens, timing, ev);
    }
}
