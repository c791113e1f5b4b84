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
//! - Indiana hi-res events 0, 1, 3-12, 21-23, 31, 43-45 into the caller's [`EventRing`].
//!
//! ## Cost
//! One step is O(rings × phases) bit operations; ~0.3 µs on a Pi 4 class core (see `benches/`).

use crate::config::{PreemptDef, Recall, Site};
use crate::events::{code, EventRing};
use crate::limits::{MAX_PHASES, MAX_RINGS};
use crate::signal::frame::{lamp, ped_lamp, OutputFrame};
use crate::signal::phase::{PhaseId, PhaseSet};
use crate::time::Instant;

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

/// State of a protected/permissive left turn's flashing yellow arrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permissive {
    Off,
    /// Flashing yellow arrow since.
    Flashing(Instant),
    /// Steady yellow arrow since (the permissive turn's change interval).
    Yellow(Instant),
    /// Red arrow, clearing, since.
    RedClear(Instant),
}

/// Stage of an emergency-vehicle preemption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreemptStage {
    /// Ending conflicting service (min green and pedestrian clearance may be shortened to the
    /// preempt's minimums; yellow and red clearance never are).
    Entry,
    /// The preempted approach's phases are green.
    Dwell,
}

/// An active preemption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreemptRun {
    /// Index into `Site::preempts`.
    pub index: usize,
    pub number: u8,
    pub stage: PreemptStage,
    pub since: Instant,
    /// When the call came in (time to green = dwell start − this).
    pub called_at: Instant,
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

/// One ring's state, visible to status displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingStatus {
    /// The phase timing in this ring (also the last one served while `Idle`).
    pub phase: Option<PhaseId>,
    pub interval: Interval,
    pub since: Instant,
    pub ped: PedInterval,
    pub ped_since: Instant,
    /// The phase has reached its min green.
    pub min_done: bool,
    /// Time of the last extending actuation.
    pub last_actuation: Instant,
    /// Max timer start (first conflicting call during this green).
    pub max_start: Option<Instant>,
    /// The green has been told to end for this reason and is holding at the barrier.
    pub end: Option<EndReason>,
    /// Phase to start after this ring's red clearance (None: the ring goes idle / to the barrier).
    next: Option<PhaseId>,
    /// When a transit extension began holding this green.
    transit_hold: Option<Instant>,
    /// Red clearance lasts at least until then: it covers the clearance of the permissive left
    /// turns that yielded to this phase.
    red_hold_until: Instant,
}

impl RingStatus {
    const IDLE: RingStatus = RingStatus {
        phase: None,
        interval: Interval::Idle,
        since: Instant::ZERO,
        ped: PedInterval::DontWalk,
        ped_since: Instant::ZERO,
        min_done: false,
        last_actuation: Instant::ZERO,
        max_start: None,
        end: None,
        next: None,
        transit_hold: None,
        red_hold_until: Instant::ZERO,
    };
}

/// The timing engine. Fixed size (~250 bytes), `Clone` without allocation.
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
    preempt: Option<PreemptRun>,
    preempt_inputs: u8,
    transit_last: PhaseSet,
    /// Phases whose green got a transit extension / early green in this service (one each).
    transit_extended: PhaseSet,
    transit_early: PhaseSet,
    /// Completed preemptions and the last time to dwell green, ms.
    preempts_served: u32,
    last_time_to_dwell_ms: u32,
    /// Flashing yellow arrows by left-turn phase.
    permissive: [Permissive; MAX_PHASES],
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
            preempt: None,
            preempt_inputs: 0,
            transit_last: PhaseSet::EMPTY,
            transit_extended: PhaseSet::EMPTY,
            transit_early: PhaseSet::EMPTY,
            preempts_served: 0,
            last_time_to_dwell_ms: 0,
            permissive: [Permissive::Off; MAX_PHASES],
        }
    }

    /// Left turns showing a flashing or the following steady yellow arrow.
    pub fn permissive_active(&self) -> PhaseSet {
        let mut s = PhaseSet::EMPTY;
        for p in PhaseId::all() {
            if matches!(
                self.permissive.get(p.index()),
                Some(Permissive::Flashing(_) | Permissive::Yellow(_))
            ) {
                s.insert(p);
            }
        }
        s
    }

    /// The flashing-yellow-arrow state of left turn `p`.
    pub fn permissive_state(&self, p: PhaseId) -> Permissive {
        self.permissive.get(p.index()).copied().unwrap_or(Permissive::Off)
    }

    /// The active preemption, if any.
    pub fn preempt(&self) -> Option<PreemptRun> {
        self.preempt
    }

    /// Preemptions that reached dwell, and the last one's time from call to dwell green (ms).
    pub fn preempt_stats(&self) -> (u32, u32) {
        (self.preempts_served, self.last_time_to_dwell_ms)
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
        self.expire_permissive(site, now, ev);
        self.register_calls(site, now, demand, directive, ev);
        self.update_preempt(site, nrings, now, demand, ev);
        self.update_transit(now, demand, ev);
        for r in 0..nrings {
            self.time_ring(site, r, now, demand, directive, ev);
        }
        if self.mode == EngineMode::Run && self.preempt.is_some() {
            self.run_preempt(site, nrings, now, demand, ev);
        } else if self.mode == EngineMode::Run {
            self.late_starts(site, nrings, now, ev);
            self.decide_terminations(site, nrings, now, directive, demand, ev);
            self.cross_barrier(site, nrings, now, ev);
        } else if self.mode == EngineMode::Stopping {
            self.stop_greens(site, nrings, now, ev);
            if self.rings.iter().take(nrings).all(|r| r.interval == Interval::Idle) {
                self.mode = EngineMode::Stopped;
                self.mode_since = now;
            }
        }
        self.update_permissive(site, now, demand, ev);
        self.render(site, now)
    }

    /// Flashing yellow arrows (MUTCD 4D.18-4D.20): a protected/permissive left turn flashes while
    /// its opposing through is green, the planner allows it and no preemption runs; it ends with a
    /// steady yellow arrow of its own yellow time — at the latest together with the opposing
    /// through's yellow, so there is no "yellow trap" — then red clearance, which the opposing
    /// through's red clearance covers (see `terminate`). O(phases).
    fn update_permissive(&mut self, site: &Site, now: Instant, demand: &Demand, ev: &mut EventRing) {
        self.expire_permissive(site, now, ev);
        let greens = self.greens();
        let timing = self.timing_phases();
        let may_flash = self.mode == EngineMode::Run && self.preempt.is_none();
        for ph in site.phases() {
            let Some(o) = ph.permissive else { continue };
            let l = ph.id;
            let allowed = may_flash && demand.permissive.contains(l) && greens.contains(o) && !timing.contains(l);
            let param = u16::from(l.number());
            let Some(st) = self.permissive.get_mut(l.index()) else {
                continue;
            };
            *st = match *st {
                Permissive::Off if allowed => {
                    ev.push(now, code::OVERLAP_BEGIN_GREEN, param);
                    Permissive::Flashing(now)
                }
                Permissive::Flashing(_) if !allowed => {
                    ev.push(now, code::OVERLAP_BEGIN_YELLOW, param);
                    Permissive::Yellow(now)
                }
                other => other,
            };
        }
    }

    /// The timed part of the arrows' clearance (steady yellow arrow → red clearance → off). Runs
    /// first in a step as well, so a phase whose start waits for an arrow's clearance (the
    /// opposing through's stretched red clearance, or the left turn's own green after a lagging
    /// permissive period) sees it finished on the tick it finishes.
    fn expire_permissive(&mut self, site: &Site, now: Instant, ev: &mut EventRing) {
        for ph in site.phases().filter(|ph| ph.permissive.is_some()) {
            let param = u16::from(ph.id.number());
            let Some(st) = self.permissive.get_mut(ph.id.index()) else {
                continue;
            };
            match *st {
                Permissive::Yellow(t) if now.since(t) >= u64::from(ph.yellow_ms) => {
                    ev.push(now, code::OVERLAP_BEGIN_RED_CLEARANCE, param);
                    *st = Permissive::RedClear(now);
                }
                Permissive::RedClear(t) if now.since(t) >= u64::from(ph.red_clear_ms) => {
                    ev.push(now, code::OVERLAP_OFF, param);
                    *st = Permissive::Off;
                }
                _ => {}
            }
        }
    }

    /// Every flashing yellow arrow yielding to `o` is dark (its yellow and red clearance done).
    /// Takes the arrow states rather than `self` so a ring can be borrowed mutably meanwhile.
    /// Runs once per red clearance end: kept out of line so the per-tick timing code stays small.
    #[inline(never)]
    fn arrows_clear(permissive: &[Permissive; MAX_PHASES], site: &Site, o: PhaseId) -> bool {
        site.phases()
            .filter(|ph| ph.permissive == Some(o))
            .all(|ph| permissive.get(ph.id.index()).is_none_or(|st| *st == Permissive::Off))
    }

    /// When the permissive clearances of the left turns yielding to `o` end, if `o` ends now.
    fn permissive_clear_until(&self, site: &Site, o: PhaseId, now: Instant) -> Instant {
        let mut until = now;
        for ph in site.phases().filter(|ph| ph.permissive == Some(o)) {
            let (y, r) = (u64::from(ph.yellow_ms), u64::from(ph.red_clear_ms));
            let end = match self.permissive_state(ph.id) {
                Permissive::Off => now,
                Permissive::Flashing(_) => Instant(now.0 + y + r),
                Permissive::Yellow(t) => Instant(t.0 + y + r),
                Permissive::RedClear(t) => Instant(t.0 + r),
            };
            until = until.max(end);
        }
        until
    }

    /// Lock new calls (NEMA locking detector memory) and apply recalls.
    fn register_calls(
        &mut self,
        site: &Site,
        now: Instant,
        demand: &Demand,
        directive: &Directive,
        ev: &mut EventRing,
    ) {
        let greens = self.greens();
        for ph in site.phases() {
            let p = ph.id;
            let green = greens.contains(p);
            let recall_call = matches!(ph.recall, Recall::Min | Recall::Max | Recall::Ped)
                || matches!(directive, Directive::Fixed { .. });
            // A button pressed while this crossing shows WALK needs no new service (the pedestrian
            // may go now); pressed during flashing DON'T WALK it is kept for the next service
            // (MUTCD 4E.06). Pedestrian recall calls only while the phase is not green.
            let walking = self
                .rings
                .iter()
                .any(|r| r.phase == Some(p) && r.interval == Interval::Green && r.ped == PedInterval::Walk);
            let ped_recall = ph.recall == Recall::Ped || ph.ped.is_some_and(|pd| pd.recall);
            let ped_call = ph.ped.is_some() && ((demand.ped.contains(p) && !walking) || (ped_recall && !green));
            if ped_call && !self.ped_calls.contains(p) && demand.ped.contains(p) {
                ev.push(now, code::PED_CALL_REGISTERED, u16::from(p.number()));
            }
            if ped_call {
                self.ped_calls.insert(p);
            }
            let veh_call = demand.veh.contains(p) || demand.transit.contains(p) || recall_call || ped_call;
            if veh_call && !green && !self.calls.contains(p) {
                self.calls.insert(p);
                ev.push(now, code::PHASE_CALL_REGISTERED, u16::from(p.number()));
            }
        }
    }

    /// Advance the timers of ring `r`.
    fn time_ring(
        &mut self,
        site: &Site,
        r: usize,
        now: Instant,
        demand: &Demand,
        directive: &Directive,
        ev: &mut EventRing,
    ) {
        let calls = self.calls.union(self.ped_calls);
        // Calls that can only be served after a barrier crossing (another group, or a phase
        // already served in this visit) need every running green to end as well: they start the
        // max timer like a conflicting call, or a compatible phase with endless extensions would
        // hold the barrier forever.
        let crossing_needed = self.barrier_demand(site);
        let preempting = self.preempt.is_some();
        let entry = self.entry_def(site);
        let Some(ring) = self.rings.get_mut(r) else { return };
        let Some(p) = ring.phase else { return };
        let Some(ph) = site.phase(p) else { return };
        let param = u16::from(p.number());
        // During preempt entry a crossing being ended may clear in the preempt's shorter time.
        let ped_clear_limit = match entry {
            Some(d) if !d.dwell_phases.contains(p) => ped_clear_ms(site, p).min(u64::from(d.ped_clear_ms)),
            _ => ped_clear_ms(site, p),
        };
        match ring.interval {
            Interval::Idle => {}
            Interval::Green => {
                if demand.extend.contains(p) {
                    ring.last_actuation = now;
                }
                // Pedestrian intervals inside the green.
                match ring.ped {
                    PedInterval::Walk if now.since(ring.ped_since) >= ped_walk_ms(site, p) => {
                        ring.ped = PedInterval::Clearance;
                        ring.ped_since = now;
                        ev.push(now, code::PED_BEGIN_CLEARANCE, param);
                    }
                    PedInterval::Clearance if now.since(ring.ped_since) >= ped_clear_limit => {
                        ring.ped = PedInterval::DontWalk;
                        ring.ped_since = now;
                        ev.push(now, code::PED_BEGIN_DONT_WALK, param);
                    }
                    _ => {}
                }
                // Pedestrian recycle: a button pressed during a green that will last long enough
                // (resting, or before max-out/force-off) starts a walk now instead of a cycle later.
                if ring.ped == PedInterval::DontWalk && self.ped_calls.contains(p) && ring.end.is_none() && !preempting
                {
                    if let Some(pd) = ph.ped {
                        let service = u64::from(pd.service_ms());
                        let fits = match directive {
                            Directive::Fixed { green_ms } => {
                                let planned = u64::from(green_ms.get(p.index()).copied().unwrap_or(0));
                                now.since(ring.since) + service <= planned
                            }
                            Directive::Actuated | Directive::Adaptive { .. } => match ring.max_start {
                                None => true,
                                Some(ms) => now.since(ms) + service <= u64::from(ph.max_green_ms),
                            },
                        };
                        if fits {
                            ring.ped = PedInterval::Walk;
                            ring.ped_since = now;
                            self.ped_calls.remove(p);
                            ev.push(now, code::PED_BEGIN_WALK, param);
                        }
                    }
                }
                if !ring.min_done && now.since(ring.since) >= u64::from(ph.min_green_ms) {
                    ring.min_done = true;
                    ev.push(now, code::PHASE_MIN_COMPLETE, param);
                }
                if ring.max_start.is_none() && (conflicting(site, p, calls) || crossing_needed) {
                    ring.max_start = Some(now);
                }
            }
            Interval::Yellow => {
                if now.since(ring.since) >= u64::from(ph.yellow_ms) {
                    ev.push(now, code::PHASE_END_YELLOW, param);
                    ring.interval = Interval::RedClear;
                    ring.since = now;
                    ev.push(now, code::PHASE_BEGIN_RED_CLEARANCE, param);
                }
            }
            Interval::RedClear => {
                // The arrows yielding to this phase must have finished their own clearance on the
                // street (their state, advanced at the tick it actually ended) — not only by the
                // time foreseen when the phase ended, which a coarse or late tick can overrun.
                if now.since(ring.since) >= u64::from(ph.red_clear_ms)
                    && now >= ring.red_hold_until
                    && Engine::arrows_clear(&self.permissive, site, p)
                {
                    ev.push(now, code::PHASE_END_RED_CLEARANCE, param);
                    ev.push(now, code::PHASE_INACTIVE, param);
                    ring.interval = Interval::Idle;
                    ring.since = now;
                    let next = ring.next.take();
                    if let Some(q) = next {
                        if self.mode == EngineMode::Run && !self.crossing && !preempting && self.startable(site, r, q) {
                            self.start_green(site, r, q, now, ev);
                        }
                    }
                }
            }
        }
    }

    /// Whether phase `q` may start in ring `r` now: configured, in the ring and the active group,
    /// not yet served in this visit, and compatible with everything timing in the other rings.
    fn startable(&self, site: &Site, r: usize, q: PhaseId) -> bool {
        let in_ring = site.rings.get(r).is_some_and(|ring| ring.phases.contains(&q));
        let in_group = site.groups.get(self.group).is_some_and(|g| g.contains(q));
        if !in_ring || !in_group || self.served.contains(q) || site.phase(q).is_none() {
            return false;
        }
        // A left turn still clearing its flashing arrow starts its green arrow only once cleared.
        if self.permissive_state(q) != Permissive::Off {
            return false;
        }
        self.rings.iter().enumerate().all(|(i, other)| {
            i == r || other.interval == Interval::Idle || other.phase.is_none_or(|o| !site.conflicts_with(o, q))
        })
    }

    fn start_green(&mut self, site: &Site, r: usize, q: PhaseId, now: Instant, ev: &mut EventRing) {
        let calls = self.calls.union(self.ped_calls);
        let walk = self.ped_calls.contains(q) && site.phase(q).is_some_and(|ph| ph.ped.is_some());
        let Some(ring) = self.rings.get_mut(r) else { return };
        let param = u16::from(q.number());
        *ring = RingStatus {
            phase: Some(q),
            interval: Interval::Green,
            since: now,
            ped: PedInterval::DontWalk,
            ped_since: now,
            min_done: false,
            last_actuation: now,
            max_start: if conflicting(site, q, calls) { Some(now) } else { None },
            end: None,
            next: None,
            transit_hold: None,
            red_hold_until: now,
        };
        self.served.insert(q);
        self.transit_extended.remove(q);
        self.transit_early.remove(q);
        ev.push(now, code::PHASE_ON, param);
        ev.push(now, code::PHASE_BEGIN_GREEN, param);
        if self.calls.contains(q) {
            self.calls.remove(q);
            ev.push(now, code::PHASE_CALL_DROPPED, param);
        }
        if walk {
            ring.ped = PedInterval::Walk;
            self.ped_calls.remove(q);
            ev.push(now, code::PED_BEGIN_WALK, param);
        }
    }

    /// The next phase ring `r` would serve in the active group after `after`.
    fn next_in_group(&self, site: &Site, r: usize, after: Option<PhaseId>) -> Option<PhaseId> {
        let ring = site.rings.get(r)?;
        let group = *site.groups.get(self.group)?;
        let calls = self.calls.union(self.ped_calls);
        let n = ring.phases.len();
        let start = after
            .and_then(|a| ring.phases.iter().position(|x| *x == a))
            .map_or(0, |i| i + 1);
        (0..n)
            .filter_map(|k| ring.phases.get((start + k) % n).copied())
            .find(|q| Some(*q) != after && group.contains(*q) && calls.contains(*q) && !self.served.contains(*q))
    }

    /// Calls that need a barrier crossing: in another group, or already served in this visit.
    fn barrier_demand(&self, site: &Site) -> bool {
        let calls = self.calls.union(self.ped_calls);
        let group = site.groups.get(self.group).copied().unwrap_or(PhaseSet::EMPTY);
        let timing = self.timing_phases();
        !calls.difference(group).is_empty()
            || !calls
                .intersection(group)
                .intersection(self.served)
                .difference(timing)
                .is_empty()
    }

    fn timing_phases(&self) -> PhaseSet {
        let mut s = PhaseSet::EMPTY;
        for r in self.rings.iter() {
            if let (Some(p), false) = (r.phase, r.interval == Interval::Idle) {
                s.insert(p);
            }
        }
        s
    }

    /// An idle ring starts a phase that was called in the active group after the ring went idle.
    fn late_starts(&mut self, site: &Site, nrings: usize, now: Instant, ev: &mut EventRing) {
        if self.crossing || self.rings.iter().take(nrings).all(|r| r.interval == Interval::Idle) {
            return; // all idle: cross_barrier decides
        }
        // Not while another ring is clearing toward the barrier: the group is ending.
        let clearing_to_barrier = self
            .rings
            .iter()
            .take(nrings)
            .any(|r| matches!(r.interval, Interval::Yellow | Interval::RedClear) && r.next.is_none());
        if clearing_to_barrier {
            return;
        }
        for r in 0..nrings {
            if self.rings.get(r).is_some_and(|ring| ring.interval == Interval::Idle) {
                if let Some(q) = self.next_in_group(site, r, None) {
                    if self.startable(site, r, q) {
                        self.start_green(site, r, q, now, ev);
                    }
                }
            }
        }
    }

    /// Decide which greens end this tick.
    fn decide_terminations(
        &mut self,
        site: &Site,
        nrings: usize,
        now: Instant,
        directive: &Directive,
        demand: &Demand,
        ev: &mut EventRing,
    ) {
        let barrier_demand = self.barrier_demand(site);
        let transit = if site.transit.is_some() {
            demand.transit
        } else {
            PhaseSet::EMPTY
        };
        let tsp = site.transit;
        let any_call = !self.calls.union(self.ped_calls).is_empty();
        // Per ring: Some(reason) if its green may end now.
        let mut ready: [Option<EndReason>; MAX_RINGS] = [None; MAX_RINGS];
        let mut next: [Option<PhaseId>; MAX_RINGS] = [None; MAX_RINGS];
        for r in 0..nrings {
            let Some(ring) = self.rings.get(r).copied() else {
                continue;
            };
            let ring = &ring;
            let (Some(p), Interval::Green) = (ring.phase, ring.interval) else {
                continue;
            };
            let Some(ph) = site.phase(p) else { continue };
            let mut reason = ring.end.or_else(|| green_may_end(ring, ph, p, now, directive));
            if let Some(t) = tsp {
                // Transit priority (NTCIP 1211): hold the green for a checked-in bus up to the
                // extension limit past the point it would have ended (events 114)...
                if transit.contains(p) && ring.end.is_none() && reason.is_some() {
                    let hold = ring.transit_hold.unwrap_or(now);
                    if now.since(hold) < u64::from(t.max_extension_ms) {
                        if !self.transit_extended.contains(p) {
                            self.transit_extended.insert(p);
                            ev.push(now, code::TSP_EXTEND_GREEN, u16::from(p.number()));
                        }
                        if let Some(rm) = self.rings.get_mut(r) {
                            rm.transit_hold = Some(hold);
                        }
                        reason = None;
                    }
                }
                // ...or give an early green: a green conflicting with a waiting bus ends as soon as
                // its min green and pedestrian intervals allow (event 113).
                if t.early_green && reason.is_none() && ring.min_done && ring.ped == PedInterval::DontWalk {
                    let bus = transit.difference(PhaseSet::EMPTY.with(p));
                    if conflicting(site, p, bus) && !transit.contains(p) {
                        reason = Some(EndReason::ForceOff);
                        if let Some(b) = bus.iter().next() {
                            if !self.transit_early.contains(b) {
                                self.transit_early.insert(b);
                                ev.push(now, code::TSP_EARLY_GREEN, u16::from(b.number()));
                            }
                        }
                    }
                }
            }
            if let (Some(slot), Some(n)) = (ready.get_mut(r), next.get_mut(r)) {
                *slot = reason;
                *n = self.next_in_group(site, r, Some(p));
            }
        }
        // Rings that are at the barrier: idle, clearing with nothing after, or green ready with no
        // further phase in this group.
        let at_barrier = |r: usize, rings: &[RingStatus; MAX_RINGS]| -> bool {
            let Some(ring) = rings.get(r) else { return true };
            match ring.interval {
                Interval::Idle => true,
                Interval::Yellow | Interval::RedClear => ring.next.is_none(),
                Interval::Green => {
                    ready.get(r).copied().flatten().is_some() && next.get(r).copied().flatten().is_none()
                }
            }
        };
        let all_at_barrier = (0..nrings).all(|r| at_barrier(r, &self.rings));
        for r in 0..nrings {
            let (Some(reason), n) = (ready.get(r).copied().flatten(), next.get(r).copied().flatten()) else {
                continue;
            };
            let terminate = if n.is_some() {
                true // the next phase of this ring in this group is waiting
            } else if barrier_demand {
                all_at_barrier
            } else {
                // Nobody waits anywhere: rest in green, unless the site rests in red.
                site.rest_in_red && !any_call
            };
            if terminate {
                if n.is_none() && barrier_demand {
                    self.crossing = true;
                }
                self.terminate(site, r, reason, n, now, ev);
            } else if barrier_demand && n.is_none() {
                // Holding at the barrier for the other ring: latch the reason (NEMA: the phase stays
                // gapped out and does not re-extend).
                if let Some(ring) = self.rings.get_mut(r) {
                    ring.end = Some(reason);
                }
            }
        }
    }

    fn terminate(
        &mut self,
        site: &Site,
        r: usize,
        reason: EndReason,
        next: Option<PhaseId>,
        now: Instant,
        ev: &mut EventRing,
    ) {
        let Some(p) = self.rings.get(r).and_then(|ring| ring.phase) else {
            return;
        };
        if site.phase(p).is_none() {
            return;
        }
        let hold = self.permissive_clear_until(site, p, now);
        let Some(ring) = self.rings.get_mut(r) else { return };
        ring.red_hold_until = hold;
        let param = u16::from(p.number());
        ev.push(now, reason.event(), param);
        ev.push(now, code::PHASE_GREEN_TERMINATION, param);
        ev.push(now, code::PHASE_BEGIN_YELLOW, param);
        ring.interval = Interval::Yellow;
        ring.since = now;
        ring.end = Some(reason);
        ring.next = next;
    }

    /// Stopping: end each green as soon as min green and pedestrian intervals are complete.
    fn stop_greens(&mut self, site: &Site, nrings: usize, now: Instant, ev: &mut EventRing) {
        for r in 0..nrings {
            let Some(ring) = self.rings.get(r) else { continue };
            if ring.interval == Interval::Green && ring.min_done && ring.ped == PedInterval::DontWalk {
                self.terminate(site, r, EndReason::ForceOff, None, now, ev);
            }
        }
    }

    /// When every ring is idle, move to the next barrier group that has calls.
    fn cross_barrier(&mut self, site: &Site, nrings: usize, now: Instant, ev: &mut EventRing) {
        if !self.rings.iter().take(nrings).all(|r| r.interval == Interval::Idle) {
            return;
        }
        let calls = self.calls.union(self.ped_calls);
        if calls.is_empty() {
            self.crossing = false;
            return;
        }
        let ngroups = site.groups.len();
        let first_run = self.cycle_start.is_none() && self.served.is_empty();
        // Candidates in service order: the following groups, then this group again. On the very
        // first service the first group is tried first.
        let mut chosen = None;
        for k in 0..ngroups {
            let g = if first_run {
                k
            } else {
                (self.group + 1 + k) % ngroups.max(1)
            };
            if site
                .groups
                .get(g)
                .is_some_and(|set| !set.intersection(calls).is_empty())
            {
                chosen = Some(g);
                break;
            }
        }
        let Some(g) = chosen else { return };
        if !first_run {
            ev.push(
                now,
                code::BARRIER_TERMINATION,
                u16::try_from(self.group + 1).unwrap_or(0),
            );
        }
        if g <= self.group || first_run {
            // Back at (or before) the first group: a new cycle starts.
            if let Some(start) = self.cycle_start {
                self.last_cycle_ms = now.since_ms(start);
                self.cycles += 1;
            }
            self.cycle_start = Some(now);
        }
        self.group = g;
        self.served = PhaseSet::EMPTY;
        self.crossing = false;
        for r in 0..nrings {
            if let Some(q) = self.next_in_group(site, r, None) {
                if self.startable(site, r, q) {
                    self.start_green(site, r, q, now, ev);
                }
            }
        }
    }

    /// The preempt definition while in entry (for shortened pedestrian clearance).
    fn entry_def(&self, site: &Site) -> Option<PreemptDef> {
        match self.preempt {
            Some(PreemptRun {
                index,
                stage: PreemptStage::Entry,
                ..
            }) => site.preempts.get(index).copied(),
            _ => None,
        }
    }

    /// Preempt input edges (events 102/104) and the start of a preemption (105).
    fn update_preempt(&mut self, site: &Site, nrings: usize, now: Instant, demand: &Demand, ev: &mut EventRing) {
        let inputs = demand.preempt;
        let changed = inputs ^ self.preempt_inputs;
        for def in site.preempts.iter() {
            let bit = 1u8 << (def.number.saturating_sub(1) & 7);
            if changed & bit != 0 {
                let c = if inputs & bit != 0 {
                    code::PREEMPT_CALL_ON
                } else {
                    code::PREEMPT_CALL_OFF
                };
                ev.push(now, c, u16::from(def.number));
            }
        }
        self.preempt_inputs = inputs;
        if self.preempt.is_some() || self.mode != EngineMode::Run {
            return;
        }
        // Lowest input number wins (preempts are listed in any order in the file).
        let winner = site
            .preempts
            .iter()
            .enumerate()
            .filter(|(_, d)| inputs & (1u8 << (d.number.saturating_sub(1) & 7)) != 0)
            .min_by_key(|(_, d)| d.number);
        let Some((index, def)) = winner else { return };
        self.preempt = Some(PreemptRun {
            index,
            number: def.number,
            stage: PreemptStage::Entry,
            since: now,
            called_at: now,
        });
        self.crossing = false;
        ev.push(now, code::PREEMPT_ENTRY_STARTED, u16::from(def.number));
        // Planned next phases are cancelled; greens on the dwell phases stop any termination hold.
        for ring in self.rings.iter_mut().take(nrings) {
            ring.next = None;
            if ring.interval == Interval::Green && ring.phase.is_some_and(|p| def.dwell_phases.contains(p)) {
                ring.end = None;
            }
        }
    }

    /// Entry and dwell of the active preemption.
    fn run_preempt(&mut self, site: &Site, nrings: usize, now: Instant, demand: &Demand, ev: &mut EventRing) {
        let Some(run) = self.preempt else { return };
        let Some(def) = site.preempts.get(run.index).copied() else {
            self.preempt = None;
            return;
        };
        match run.stage {
            PreemptStage::Entry => {
                for r in 0..nrings {
                    let Some(ring) = self.rings.get_mut(r) else { continue };
                    ring.next = None;
                    let (Some(p), Interval::Green) = (ring.phase, ring.interval) else {
                        continue;
                    };
                    if def.dwell_phases.contains(p) {
                        continue;
                    }
                    // WALK is cut short into (the preempt's) pedestrian clearance (MUTCD 4E.06 allows
                    // shortening pedestrian intervals only for preemption).
                    if ring.ped == PedInterval::Walk {
                        ring.ped = PedInterval::Clearance;
                        ring.ped_since = now;
                        ev.push(now, code::PED_BEGIN_CLEARANCE, u16::from(p.number()));
                    }
                    let min = site.phase(p).map_or(0, |ph| ph.min_green_ms.min(def.min_green_ms));
                    if now.since(ring.since) >= u64::from(min) && ring.ped == PedInterval::DontWalk {
                        self.terminate(site, r, EndReason::ForceOff, None, now, ev);
                    }
                }
                // Start each dwell phase whose ring is idle once nothing conflicting is timing.
                let all_idle = self.rings.iter().take(nrings).all(|x| x.interval == Interval::Idle);
                let dwell_group = site
                    .groups
                    .iter()
                    .position(|g| g.intersection(def.dwell_phases) == def.dwell_phases);
                for r in 0..nrings {
                    let Some(q) = site
                        .rings
                        .get(r)
                        .and_then(|ring| ring.phases.iter().copied().find(|q| def.dwell_phases.contains(*q)))
                    else {
                        continue;
                    };
                    if self.rings.get(r).is_none_or(|x| x.interval != Interval::Idle) {
                        continue;
                    }
                    let in_group = site.groups.get(self.group).is_some_and(|g| g.contains(q));
                    if !in_group {
                        if !all_idle {
                            continue;
                        }
                        if let Some(g) = dwell_group {
                            ev.push(
                                now,
                                code::BARRIER_TERMINATION,
                                u16::try_from(self.group + 1).unwrap_or(0),
                            );
                            self.group = g;
                            self.served = PhaseSet::EMPTY;
                        }
                    }
                    let compatible = self.rings.iter().take(nrings).enumerate().all(|(i, o)| {
                        i == r || o.interval == Interval::Idle || o.phase.is_none_or(|op| !site.conflicts_with(op, q))
                    });
                    if compatible {
                        self.start_green(site, r, q, now, ev);
                        if let Some(ring) = self.rings.get_mut(r) {
                            // No walk during preemption; the pedestrian call waits for normal service.
                            if ring.ped == PedInterval::Walk {
                                ring.ped = PedInterval::DontWalk;
                                self.ped_calls.insert(q);
                            }
                        }
                    }
                }
                let greens = self.greens();
                let dwell_configured = def.dwell_phases.intersection(site.phase_set());
                if greens.intersection(dwell_configured) == dwell_configured {
                    self.preempt = Some(PreemptRun {
                        stage: PreemptStage::Dwell,
                        since: now,
                        ..run
                    });
                    self.preempts_served = self.preempts_served.saturating_add(1);
                    self.last_time_to_dwell_ms = now.since_ms(run.called_at);
                    ev.push(now, code::PREEMPT_BEGIN_DWELL, u16::from(def.number));
                }
            }
            PreemptStage::Dwell => {
                let bit = 1u8 << (def.number.saturating_sub(1) & 7);
                let input_on = demand.preempt & bit != 0;
                if !input_on && now.since(run.since) >= u64::from(def.dwell_ms) {
                    // Exit to normal operation: the dwell greens continue as ordinary greens whose
                    // min green is done; the max timer starts now, and the ring sequence resumes.
                    ev.push(now, code::PREEMPT_BEGIN_EXIT, u16::from(def.number));
                    self.preempt = None;
                    for ring in self.rings.iter_mut().take(nrings) {
                        if ring.interval == Interval::Green {
                            ring.min_done = true;
                            ring.last_actuation = now;
                            ring.max_start = Some(now);
                            ring.end = None;
                        }
                    }
                }
            }
        }
    }

    /// Transit check-in / check-out events (112/115).
    fn update_transit(&mut self, now: Instant, demand: &Demand, ev: &mut EventRing) {
        let on = demand.transit.difference(self.transit_last);
        let off = self.transit_last.difference(demand.transit);
        for p in on.iter() {
            ev.push(now, code::TSP_CHECK_IN, u16::from(p.number()));
        }
        for p in off.iter() {
            ev.push(now, code::TSP_CHECK_OUT, u16::from(p.number()));
        }
        self.transit_last = demand.transit;
    }

    /// The lamps for this tick.
    fn render(&self, site: &Site, now: Instant) -> OutputFrame {
        let mut f = OutputFrame::DARK;
        for ph in site.phases() {
            let i = ph.id.index();
            if let Some(v) = f.veh.get_mut(i) {
                *v = lamp::RED;
            }
            if ph.ped.is_some() {
                if let Some(v) = f.ped.get_mut(i) {
                    *v = ped_lamp::DONT_WALK;
                }
            }
        }
        for ring in self.rings.iter() {
            let Some(p) = ring.phase else { continue };
            let i = p.index();
            let bits = match ring.interval {
                Interval::Green => lamp::GREEN,
                Interval::Yellow => lamp::YELLOW,
                Interval::Idle | Interval::RedClear => lamp::RED,
            };
            if let Some(v) = f.veh.get_mut(i) {
                *v = bits;
            }
            if ring.interval == Interval::Green {
                let ped_bits = match ring.ped {
                    PedInterval::Walk => ped_lamp::WALK,
                    PedInterval::Clearance => {
                        if (now.since(ring.ped_since) / FLASH_HALF_PERIOD_MS).is_multiple_of(2) {
                            ped_lamp::DONT_WALK
                        } else {
                            0
                        }
                    }
                    PedInterval::DontWalk => ped_lamp::DONT_WALK,
                };
                if site.phase(p).is_some_and(|ph| ph.ped.is_some()) {
                    if let Some(v) = f.ped.get_mut(i) {
                        *v = ped_bits;
                    }
                }
            }
        }
        // Flashing yellow arrows: 1 Hz, lit first (MUTCD 4D.12 flashing rate); steady yellow arrow.
        for p in PhaseId::all() {
            let bits = match self.permissive_state(p) {
                Permissive::Flashing(t) if (now.since(t) / FLASH_HALF_PERIOD_MS).is_multiple_of(2) => lamp::FYA_LIT,
                Permissive::Flashing(_) => lamp::FYA_DARK,
                Permissive::Yellow(_) => lamp::YELLOW,
                Permissive::Off | Permissive::RedClear(_) => continue,
            };
            if let Some(v) = f.veh.get_mut(p.index()) {
                *v = bits;
            }
        }
        f
    }
}

/// Whether `p` conflicts with any phase in `calls`.
fn conflicting(site: &Site, p: PhaseId, calls: PhaseSet) -> bool {
    site.conflicts
        .get(p.index())
        .is_some_and(|c| !c.intersection(calls).is_empty())
}

fn ped_walk_ms(site: &Site, p: PhaseId) -> u64 {
    site.phase(p)
        .and_then(|ph| ph.ped)
        .map_or(0, |pd| u64::from(pd.walk_ms))
}

fn ped_clear_ms(site: &Site, p: PhaseId) -> u64 {
    site.phase(p)
        .and_then(|ph| ph.ped)
        .map_or(0, |pd| u64::from(pd.clearance_ms))
}

/// Whether the green of `p` may end now, and why. Min green and the pedestrian intervals are never
/// cut short (docs/safety.md 3).
fn green_may_end(
    ring: &RingStatus,
    ph: &crate::config::PhaseTiming,
    p: PhaseId,
    now: Instant,
    directive: &Directive,
) -> Option<EndReason> {
    if !ring.min_done || ring.ped != PedInterval::DontWalk {
        return None;
    }
    let green = now.since(ring.since);
    match directive {
        Directive::Fixed { green_ms } => {
            let planned = green_ms.get(p.index()).copied().unwrap_or(0);
            (green >= u64::from(planned)).then_some(EndReason::ForceOff)
        }
        Directive::Adaptive { end } => {
            if let Some(ms) = ring.max_start {
                if now.since(ms) >= u64::from(ph.max_green_ms) {
                    return Some(EndReason::MaxOut);
                }
            }
            end.contains(p).then_some(EndReason::GapOut)
        }
        Directive::Actuated => {
            if let Some(ms) = ring.max_start {
                if now.since(ms) >= u64::from(ph.max_green_ms) {
                    return Some(EndReason::MaxOut);
                }
            }
            if ph.recall != Recall::Max && now.since(ring.last_actuation) >= u64::from(ph.passage_ms) {
                return Some(EndReason::GapOut);
            }
            None
        }
    }
}
