//! The phase timing engine: NEMA TS2 dual-ring, barrier-synchronised actuated control.
//!
//! Pure logic (STYLE.md 1): [`Engine::step`] takes the time, the phase-level demand and the plan
//! directive, and returns the [`OutputFrame`] for this tick. It never reads a clock, never
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
//!   timer that starts with the first conflicting call, force-off on a fixed-time plan's split.
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

use crate::config::{Recall, Site};
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
        }
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
        self.register_calls(site, now, demand, directive, ev);
        for r in 0..nrings {
            self.time_ring(site, r, now, demand, directive, ev);
        }
        if self.mode == EngineMode::Run {
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
        self.render(site, now)
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
            let veh_call = demand.veh.contains(p) || recall_call || ped_call;
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
        let Some(ring) = self.rings.get_mut(r) else { return };
        let Some(p) = ring.phase else { return };
        let Some(ph) = site.phase(p) else { return };
        let param = u16::from(p.number());
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
                    PedInterval::Clearance if now.since(ring.ped_since) >= ped_clear_ms(site, p) => {
                        ring.ped = PedInterval::DontWalk;
                        ring.ped_since = now;
                        ev.push(now, code::PED_BEGIN_DONT_WALK, param);
                    }
                    _ => {}
                }
                // Pedestrian recycle: a button pressed during a green that will last long enough
                // (resting, or before max-out/force-off) starts a walk now instead of a cycle later.
                if ring.ped == PedInterval::DontWalk && self.ped_calls.contains(p) && ring.end.is_none() {
                    if let Some(pd) = ph.ped {
                        let service = u64::from(pd.service_ms());
                        let fits = match directive {
                            Directive::Fixed { green_ms } => {
                                let planned = u64::from(green_ms.get(p.index()).copied().unwrap_or(0));
                                now.since(ring.since) + service <= planned
                            }
                            Directive::Actuated => match ring.max_start {
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
                if ring.max_start.is_none() && conflicting(site, p, calls) {
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
                if now.since(ring.since) >= u64::from(ph.red_clear_ms) {
                    ev.push(now, code::PHASE_END_RED_CLEARANCE, param);
                    ev.push(now, code::PHASE_INACTIVE, param);
                    ring.interval = Interval::Idle;
                    ring.since = now;
                    let next = ring.next.take();
                    if let Some(q) = next {
                        if self.mode == EngineMode::Run && !self.crossing && self.startable(site, r, q) {
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
        };
        self.served.insert(q);
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
        ev: &mut EventRing,
    ) {
        let barrier_demand = self.barrier_demand(site);
        let any_call = !self.calls.union(self.ped_calls).is_empty();
        // Per ring: Some(reason) if its green may end now.
        let mut ready: [Option<EndReason>; MAX_RINGS] = [None; MAX_RINGS];
        let mut next: [Option<PhaseId>; MAX_RINGS] = [None; MAX_RINGS];
        for r in 0..nrings {
            let Some(ring) = self.rings.get(r) else { continue };
            let (Some(p), Interval::Green) = (ring.phase, ring.interval) else {
                continue;
            };
            let Some(ph) = site.phase(p) else { continue };
            let reason = ring.end.or_else(|| green_may_end(ring, ph, p, now, directive));
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
        let Some(ring) = self.rings.get_mut(r) else { return };
        let Some(p) = ring.phase else { return };
        if site.phase(p).is_none() {
            return;
        }
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
/// cut short (DESIGN.md 5 rule 3).
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
