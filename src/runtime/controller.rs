//! The controller: planner → timing engine → conflict monitor, one call per tick.
//!
//! [`Controller::tick`] is the whole control path for one intersection. It is pure (time and
//! inputs are arguments, the frame is the result), allocation-free and bounded, so it can run on
//! the board's real-time thread, in `greenwave sim`, and in the SUMO bridge unchanged.
//!
//! The monitor checks the exact frame the engine produced; if it latches a fault, the frame
//! returned (and written to the relays) is the flash pattern until an operator clears it. A clean
//! stop runs every green out through yellow and red clearance, then latches flash as well
//! (docs/safety.md 4).
//!
//! Offline training (`crate::train`, the SUMO harness) runs this same path: [`Controller::tick_with`]
//! lets a [`GreenPolicy`] take the green-end decisions of the adaptive and learned planners, and
//! everything else — calls, extensions, left turns, the engine's limits and the monitor — is what
//! every run uses. [`Controller::tick`] is `tick_with` and the planner's own decisions
//! ([`Planned`]), which compiles to the path without a policy.

use crate::config::schedule::Action;
use crate::config::{PlannerKind, Site};
use crate::detect::DetectorSnapshot;
use crate::events::{code, EventRing};
use crate::frame::OutputFrame;
use crate::hal::{Clock, HalError, InputFrame};
use crate::limits::MAX_RINGS;
use crate::monitor::card::MmuCard;
use crate::monitor::{Fault, FaultKind, Monitor};
use crate::phase::PhaseSet;
use crate::plan::adaptive::GreenObservation;
use crate::plan::coord::{Coordinator, CycleState, Seen};
use crate::plan::schedule::{self, NextChange};
use crate::plan::webster::WebsterPlan;
use crate::plan::{CabinetCalls, PlanMode, Planner};
use crate::scenario::PoolStats;
use crate::signal::engine::{Directive, Engine, EngineMode, PreemptStage, RingStatus};
use crate::time::Instant;

/// What the controller as a whole is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerMode {
    /// Start-up all red.
    Startup,
    Run,
    /// Clean stop in progress (clearances running out).
    Stopping,
    /// Flash latched (fault or stopped); see `Status::fault`.
    Flash,
}

impl ControllerMode {
    pub const fn name(self) -> &'static str {
        match self {
            ControllerMode::Startup => "startup all-red",
            ControllerMode::Run => "run",
            ControllerMode::Stopping => "stopping",
            ControllerMode::Flash => "FLASH",
        }
    }
}

/// A snapshot of everything a status display needs. `Copy`, fixed size.
#[derive(Clone, Copy, Debug)]
pub struct Status {
    pub now: Instant,
    pub mode: ControllerMode,
    pub planner: PlannerKind,
    pub plan_mode: PlanMode,
    pub detection_trusted: bool,
    /// Last complete cycle, ms (0 before the first).
    pub cycle_ms: u32,
    pub cycles: u64,
    /// Active barrier group (0-based).
    pub group: usize,
    pub rings: [RingStatus; MAX_RINGS],
    pub nrings: usize,
    pub calls: PhaseSet,
    pub ped_calls: PhaseSet,
    pub frame: OutputFrame,
    pub fault: Option<Fault>,
    pub faults_total: u32,
    pub plan: WebsterPlan,
    pub ticks: u64,
    pub events_total: u64,
    pub events_dropped: u64,
    pub scenarios: PoolStats,
    pub replans: u64,
    /// Flow sets the planner refused as not traffic (restored from storage or counted over a cycle).
    pub flows_rejected: u64,
    /// Running coordination pattern (NTCIP 1202 coordPatternStatus): 1-16, 0 free (or fixed
    /// time), 255 flash.
    pub pattern: u8,
    /// The cycle timer of the running pattern, s (None: not coordinated).
    pub cycle_timer_s: Option<u16>,
    /// Coordination cycle state (in step, transition, free).
    pub coord_state: CycleState,
    /// The scheduled action in force.
    pub schedule_action: Action,
    /// When it began, local time (None: at start-up, or free without any event).
    pub schedule_since: Option<jiff::civil::DateTime>,
    /// The next scheduled change, local time.
    pub next_change: Option<NextChange>,
}

/// Scheduled flash: entered once every green has run out through its clearances, left through
/// the start-up all red.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SchedFlash {
    Off,
    /// Greens running out (engine stopping).
    Entering,
    On,
    /// The schedule left flash while the greens were still running out: the engine restarts
    /// through its start-up all red once they have.
    Restart,
}

/// The time-of-day schedule as the controller runs it.
struct Scheduling {
    /// Wall-clock anchor: Unix ms at controller instant `.0`.
    wall: Option<(Instant, i64)>,
    /// The site's time zone (the system's when the site names none; UTC when unknown).
    zone: jiff::tz::TimeZone,
    coord: Coordinator,
    action: Action,
    since: Option<jiff::civil::DateTime>,
    flash: SchedFlash,
    /// The planner before a scheduled fixed-time plan.
    planner_before: Option<PlannerKind>,
    /// The latest action changes (local time, action), oldest first.
    history: heapless::Deque<(jiff::civil::DateTime, Action), SCHEDULE_HISTORY>,
    /// Action changes since start-up.
    changes: u64,
    /// A pattern commanded by central management (NTCIP 1202 `systemPatternControl`), in force
    /// over the schedule until it is withdrawn.
    commanded: Option<Action>,
}

/// Action changes kept for the run summary.
pub const SCHEDULE_HISTORY: usize = 16;

/// The time zone a schedule runs in: the site's, else the system's, else UTC. Start-up only.
fn schedule_zone(site: &Site) -> jiff::tz::TimeZone {
    let z = if site.time_zone.is_empty() {
        jiff::tz::TimeZone::try_system().ok()
    } else {
        jiff::tz::TimeZone::get(site.time_zone.as_str()).ok()
    };
    z.unwrap_or(jiff::tz::TimeZone::UTC)
}

impl Scheduling {
    fn new(site: &Site) -> Scheduling {
        Scheduling {
            wall: None,
            zone: if site.coord.active() || !site.coord.patterns.is_empty() {
                schedule_zone(site)
            } else {
                jiff::tz::TimeZone::UTC
            },
            coord: Coordinator::new(),
            action: Action::Free,
            since: None,
            flash: SchedFlash::Off,
            planner_before: None,
            history: heapless::Deque::new(),
            changes: 0,
            commanded: None,
        }
    }

    /// Local civil time at controller instant `now`, when the wall clock is known.
    fn local(&self, now: Instant) -> Option<jiff::civil::DateTime> {
        let (at, unix_ms) = self.wall?;
        let unix = unix_ms.saturating_add(i64::try_from(now.0).ok()? - i64::try_from(at.0).ok()?);
        let ts = jiff::Timestamp::from_millisecond(unix).ok()?;
        Some(self.zone.to_datetime(ts))
    }
}

/// Milliseconds since local midnight.
fn ms_of_day(t: jiff::civil::DateTime) -> u64 {
    let s = u64::try_from(i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())).unwrap_or(0);
    s * 1000 + u64::try_from(t.subsec_nanosecond() / 1_000_000).unwrap_or(0)
}

/// Who ends the running greens while the planner runs adaptive or learned. In operation the
/// planner decides ([`Planned`]); an offline trainer plugs in an exploring policy, so that what it
/// learns from is the whole control path: planner, timing engine, conflict monitor. The engine
/// still enforces min and max green, clearances and pedestrian intervals whatever the policy says,
/// and a fixed-time directive (Webster plan, fail-safe) is never handed to the policy.
pub trait GreenPolicy {
    /// Whether the policy is asked at all; `false` leaves the planner's decisions untouched and
    /// costs nothing per tick.
    const DECIDES: bool = true;

    /// The greens to end this tick. `greens`: the running greens as the planner observes them;
    /// `engine`: the engine as it ended the previous tick; `planned`: the planner's own end set.
    fn end_set(&mut self, now: Instant, engine: &Engine, greens: &[GreenObservation], planned: PhaseSet) -> PhaseSet;
}

/// The planner's own green-end decisions: the policy of every run outside training.
#[derive(Clone, Copy, Debug, Default)]
pub struct Planned;

impl GreenPolicy for Planned {
    const DECIDES: bool = false;

    #[inline(always)]
    fn end_set(&mut self, _: Instant, _: &Engine, _: &[GreenObservation], planned: PhaseSet) -> PhaseSet {
        planned
    }
}

pub struct Controller {
    site: Site,
    engine: Engine,
    monitor: Monitor,
    planner: Planner,
    events: EventRing,
    last_frame: OutputFrame,
    last_cycles: u64,
    /// Cycles completed by the controllers this one took over from (configuration reloads).
    cycles_before: u64,
    ticks: u64,
    /// A configuration reload waits for all red (see `request_handover`).
    handover: bool,
    /// Time of the last tick.
    now: Instant,
    /// Operator calls (console `recall P`) for the next tick.
    operator_calls: PhaseSet,
    /// Pedestrian calls placed by central management, taken by the next tick.
    operator_ped_calls: PhaseSet,
    /// Console `preempt test N`: the input bit held until the given time.
    preempt_test: Option<(u8, Instant)>,
    /// When the planning work finished (see [`Controller::set_work_clock`]).
    work_clock: Option<Box<dyn Clock + Send>>,
    /// Schedule, coordination pattern timer and scheduled flash.
    sched: Scheduling,
    /// An operator or shutdown stop was requested (a scheduled flash is not one).
    stop_requested: bool,
}

/// How long `preempt test` holds the preempt input (the dwell then runs its own minimum).
pub const PREEMPT_TEST_MS: u32 = 5_000;

impl Controller {
    /// Builds the controller for `site`, monitored against the cabinet's compatibility `card`; it
    /// starts in all red (start-up interval).
    pub fn new(site: &Site, card: &MmuCard, now: Instant) -> Controller {
        let events = EventRing::new();
        Controller {
            site: site.clone(),
            engine: Engine::new(now),
            monitor: Monitor::new(site, card, now),
            planner: Planner::new(site),
            events,
            last_frame: OutputFrame::ALL_RED,
            last_cycles: 0,
            cycles_before: 0,
            ticks: 0,
            handover: false,
            now,
            operator_calls: PhaseSet::EMPTY,
            operator_ped_calls: PhaseSet::EMPTY,
            preempt_test: None,
            work_clock: None,
            sched: Scheduling::new(site),
            stop_requested: false,
        }
    }

    /// The wall-clock anchor: the wall clock read `unix_ms` (Unix ms) at controller instant `now`.
    /// The control loop calls it at start and whenever it follows or steps the wall clock; a
    /// simulation calls it once with its chosen epoch. The schedule and the coordination patterns
    /// run on local time in the site's time zone; a new anchor only moves their targets (nothing
    /// timing is ever shortened).
    pub fn set_wall(&mut self, now: Instant, unix_ms: i64) {
        self.sched.wall = Some((now, unix_ms));
    }

    /// Central management's pattern command: `Some(n)` runs pattern `n` over the schedule, `None`
    /// hands control back to the schedule (free where the site has none). Entered and left at the
    /// next tick exactly as a scheduled change is (a transition to the new offset, nothing
    /// shortened). False, and nothing changes, for a pattern the site does not define.
    pub fn command_pattern(&mut self, n: Option<u8>) -> bool {
        match n {
            Some(n) if self.site.coord.pattern(n).is_none() => false,
            Some(n) => {
                self.sched.commanded = Some(Action::Pattern(n));
                true
            }
            None => {
                self.sched.commanded = None;
                true
            }
        }
    }

    /// Local time at the last tick (None: the wall clock is not known).
    pub fn local_time(&self) -> Option<jiff::civil::DateTime> {
        self.sched.local(self.now)
    }

    /// A new engine in start-up all red (leaving scheduled flash); the cycle count goes on.
    fn restart_engine(&mut self, now: Instant) {
        self.cycles_before = self.cycles_before.saturating_add(self.engine.cycles());
        self.engine = Engine::new(now);
        self.last_cycles = 0;
    }

    /// Applies a change of the scheduled action at `now`.
    fn apply_action(
        &mut self,
        action: Action,
        local: jiff::civil::DateTime,
        since: Option<jiff::civil::DateTime>,
        now: Instant,
    ) {
        let old = self.sched.action;
        self.sched.action = action;
        self.sched.since = since;
        self.sched.changes += 1;
        if self.sched.history.is_full() {
            let _ = self.sched.history.pop_front();
        }
        let _ = self.sched.history.push_back((local, action));
        if old == Action::Flash && self.sched.flash != SchedFlash::Off {
            // Leave flash through the start-up all red; greens still running out finish first.
            if self.sched.flash == SchedFlash::On {
                self.events.push(now, code::FLASH_STATUS, 0);
            }
            if self.engine.mode() == EngineMode::Stopped {
                self.sched.flash = SchedFlash::Off;
                self.restart_engine(now);
            } else {
                self.sched.flash = SchedFlash::Restart;
            }
        }
        if old == Action::Fixed {
            if let Some(k) = self.sched.planner_before.take() {
                self.planner.set_kind(k);
            }
        }
        self.planner.set_coordinated(matches!(action, Action::Pattern(_)));
        match action {
            Action::Pattern(n) => {
                if let Some(p) = self.site.coord.pattern(n) {
                    self.sched
                        .coord
                        .start(&self.site, p, now, ms_of_day(local), &mut self.events);
                }
            }
            Action::Free | Action::Fixed | Action::Flash => {
                self.sched.coord.stop(now, &mut self.events);
                let param = if action == Action::Flash { 255 } else { 0 };
                self.events.push(now, code::PATTERN_CHANGE, param);
                if action == Action::Fixed {
                    self.sched.planner_before = Some(self.planner.kind());
                    self.planner.set_kind(PlannerKind::Webster);
                }
                if action == Action::Flash {
                    // Every green runs out through its yellow and red clearance first.
                    // (A stop already under way, or done, simply continues.)
                    self.engine.request_stop(now);
                    self.sched.flash = SchedFlash::Entering;
                }
            }
        }
    }

    /// The clock, on the controller's time line, that tells when the planning at a cycle boundary
    /// actually finished, so a plan computed too slowly for its deadline is counted as timed out
    /// and not used (`scenario`). Real-time loops install their monotonic clock; without one
    /// (simulated time) planning takes no time.
    pub fn set_work_clock(&mut self, clock: Box<dyn Clock + Send>) {
        self.work_clock = Some(clock);
    }

    /// The controller for `site` taking over from `old` at a configuration reload (SIGHUP), once
    /// `old` reached its handover point. Like [`Controller::new`] it starts in all red with an
    /// engine and a monitor built from the new site (the monitor takes every head as red from
    /// `now`), but what was learned and counted continues instead of starting over:
    /// - the planner's Q-table, its learned flows where they still measure the same traffic, and
    ///   its counters ([`Planner::handover_from`]);
    /// - the monitor's fault history and total (the latch does not carry: the new controller runs
    ///   its start-up all red);
    /// - tick and cycle counts, and the event ring with its pending events and counters;
    /// - the work clock ([`Controller::set_work_clock`]).
    ///
    /// So the next state save writes the state of the whole run, not of the time since the reload.
    pub fn handover_from(old: &mut Controller, site: &Site, card: &MmuCard, now: Instant) -> Controller {
        let mut next = Controller::new(site, card, now);
        next.planner = Planner::handover_from(&mut old.planner, &old.site, site);
        next.monitor.carry_history(&old.monitor);
        next.events = core::mem::take(&mut old.events);
        next.ticks = old.ticks;
        next.cycles_before = old.cycles_before.saturating_add(old.engine.cycles());
        next.work_clock = old.work_clock.take();
        next.sched.wall = old.sched.wall;
        next
    }

    pub fn site(&self) -> &Site {
        &self.site
    }

    pub fn events_mut(&mut self) -> &mut EventRing {
        &mut self.events
    }

    pub fn events(&self) -> &EventRing {
        &self.events
    }

    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    pub fn planner(&self) -> &Planner {
        &self.planner
    }

    pub fn planner_mut(&mut self) -> &mut Planner {
        &mut self.planner
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// One control tick. Returns the frame to write to the relays.
    #[inline]
    pub fn tick(&mut self, now: Instant, det: &DetectorSnapshot, inputs: &InputFrame) -> OutputFrame {
        self.tick_with(now, det, inputs, &mut Planned)
    }

    /// One control tick with `policy` ending the greens where the planner runs adaptive or
    /// learned (offline training); otherwise exactly [`Controller::tick`].
    pub fn tick_with<P: GreenPolicy>(
        &mut self,
        now: Instant,
        det: &DetectorSnapshot,
        inputs: &InputFrame,
        policy: &mut P,
    ) -> OutputFrame {
        self.ticks = self.ticks.wrapping_add(1);
        self.now = now;
        if self.monitor.latched().is_some() {
            self.last_frame = self.monitor.flash_frame(now);
            return self.last_frame;
        }
        // What the cabinet inputs ask of the planner.
        let mut cabinet = CabinetCalls {
            ped: inputs.ped_buttons,
            preempt: inputs.preempt,
            transit: inputs.transit,
        };
        if let Some((bit, until)) = self.preempt_test {
            // Held for the test time, and on through the entry so the test always sees the dwell
            // (bounded: an entry never lasts a minute).
            let entering = self.engine.preempt().is_some_and(|p| p.stage == PreemptStage::Entry);
            if now < until || (entering && now.since(until) < 60_000) {
                cabinet.preempt |= bit;
            } else {
                self.preempt_test = None;
            }
        }
        // The time-of-day schedule (only for a site that has one).
        let local = if self.site.coord.active() || self.sched.commanded.is_some() || self.sched.action != Action::Free {
            self.sched.local(now)
        } else {
            None
        };
        if let Some(t) = local {
            let due = schedule::in_force(&self.site.coord, t);
            let want = self.sched.commanded.unwrap_or(due.action);
            if want != self.sched.action && !self.stop_requested && !self.handover {
                self.apply_action(want, t, due.since, now);
            } else {
                self.sched.since = due.since;
            }
        }
        let (mut demand, mut directive) =
            self.planner
                .tick(&self.site, now, det, &cabinet, &self.engine, &mut self.events);
        if self.sched.coord.pattern().is_some() {
            if self.planner.mode() == PlanMode::Fallback {
                // Detection untrusted: every phase is served its split (coordinated fixed time).
                demand.veh = demand.veh.union(self.site.phase_set());
            }
            let adaptive_end = if self.sched.coord.adaptive() {
                self.planner.adaptive_end(&self.site, now, det, &self.engine)
            } else {
                PhaseSet::EMPTY
            };
            let seen = Seen {
                local_ms: local.map(ms_of_day),
                adaptive_end,
            };
            if let Some(d) = self
                .sched
                .coord
                .tick(&self.site, now, seen, &self.engine, &mut demand, &mut self.events)
            {
                directive = d;
            }
        }
        if P::DECIDES {
            if let Directive::Adaptive { end } = &mut directive {
                let greens = self.planner.observe_greens(&self.site, now, det, &self.engine);
                *end = policy.end_set(now, &self.engine, &greens, *end);
            }
        }
        demand.veh = demand.veh.union(self.operator_calls);
        self.operator_calls = PhaseSet::EMPTY;
        demand.ped = demand.ped.union(self.operator_ped_calls);
        self.operator_ped_calls = PhaseSet::EMPTY;
        let frame = self.engine.step(&self.site, now, &demand, &directive, &mut self.events);
        if self.engine.cycles() != self.last_cycles {
            self.last_cycles = self.engine.cycles();
            self.planner.cycle_boundary(
                &self.site,
                now,
                self.site.tick_ms,
                &mut self.events,
                self.work_clock.as_deref().map(|c| c as &dyn Clock),
            );
        }
        if let Some(fault) = self.monitor.check(now, &frame) {
            self.on_fault(now, fault.kind);
            self.last_frame = self.monitor.flash_frame(now);
            return self.last_frame;
        }
        let scheduled = !self.handover && !self.stop_requested;
        if self.engine.mode() == EngineMode::Stopped && self.sched.flash == SchedFlash::Restart && scheduled {
            // Left flash before it began: the greens have run out, restart through all red.
            self.sched.flash = SchedFlash::Off;
            self.restart_engine(now);
            self.last_frame = frame;
            return frame;
        }
        if self.engine.mode() == EngineMode::Stopped && self.sched.flash != SchedFlash::Off && scheduled {
            // Scheduled flash, entered after every clearance.
            if self.sched.flash == SchedFlash::Entering {
                self.sched.flash = SchedFlash::On;
                self.events.push(now, code::FLASH_STATUS, 1);
            }
            self.last_frame = self.monitor.flash_frame(now);
            return self.last_frame;
        }
        if self.engine.mode() == EngineMode::Stopped && self.handover {
            // All red after every clearance: a new controller may take over from here.
            self.last_frame = frame;
            return frame;
        }
        if self.engine.mode() == EngineMode::Stopped {
            self.monitor.latch(Fault {
                at: now,
                kind: FaultKind::Stopped,
                a: None,
                b: None,
                frame,
            });
            self.on_fault(now, FaultKind::Stopped);
            self.last_frame = self.monitor.flash_frame(now);
            return self.last_frame;
        }
        self.last_frame = frame;
        frame
    }

    fn on_fault(&mut self, now: Instant, kind: FaultKind) {
        if kind != FaultKind::Stopped {
            self.events.push(now, code::ALARM, kind.number());
        }
        self.events.push(now, code::FLASH_STATUS, 1);
    }

    /// Relay read-back after writing the frame `tick` returned: a mismatch or an unreadable relay
    /// bank latches flash.
    pub fn relay_feedback(&mut self, now: Instant, read_back: Result<OutputFrame, HalError>) {
        if self.monitor.latched().is_some() {
            return;
        }
        let kind = match read_back {
            Ok(f) if f == self.last_frame => return,
            Ok(_) => FaultKind::RelayReadBack,
            Err(_) => FaultKind::Controller,
        };
        let frame = read_back.unwrap_or(self.last_frame);
        self.monitor.latch(Fault {
            at: now,
            kind,
            a: None,
            b: None,
            frame,
        });
        self.on_fault(now, kind);
    }

    /// Latch a controller fault from outside the control path (e.g. relays unwritable).
    pub fn external_fault(&mut self, now: Instant, kind: FaultKind) {
        if self.monitor.latched().is_none() {
            self.monitor.latch(Fault {
                at: now,
                kind,
                a: None,
                b: None,
                frame: self.last_frame,
            });
            self.on_fault(now, kind);
        }
    }

    /// Operator clear of a latched flash: restart from start-up all red. Returns whether a fault was
    /// latched. A stopped controller stays stopped.
    pub fn clear_flash(&mut self, now: Instant) -> bool {
        match self.monitor.latched() {
            None => false,
            Some(f) if f.kind == FaultKind::Stopped => false,
            Some(_) => {
                self.monitor.clear(now);
                self.engine = Engine::new(now);
                self.last_cycles = 0;
                self.events.push(now, code::FLASH_STATUS, 0);
                true
            }
        }
    }

    /// Clean stop: no new service; greens run out through yellow and red clearance; then flash.
    pub fn request_stop(&mut self, now: Instant) {
        self.stop_requested = true;
        self.engine.request_stop(now);
    }

    /// Reload: run every green out through its clearances to all red, then hold all red so a
    /// controller built from the new site can start (its start-up all red follows seamlessly).
    pub fn request_handover(&mut self, now: Instant) {
        self.handover = true;
        self.engine.request_stop(now);
    }

    /// The handover point is reached (all red, nothing timing), or the controller is in flash.
    pub fn handover_ready(&self) -> bool {
        self.monitor.latched().is_some() || (self.handover && self.engine.mode() == EngineMode::Stopped)
    }

    /// Whether a requested stop has completed (or the controller is in flash anyway).
    pub fn stopped(&self) -> bool {
        self.monitor.latched().is_some()
    }

    /// Operator call on a configured phase (console `recall P`): a locking vehicle call, served in
    /// turn like a detector's. Returns false for an unconfigured phase.
    pub fn operator_call(&mut self, p: crate::phase::PhaseId) -> bool {
        if self.site.phase(p).is_none() {
            return false;
        }
        self.operator_calls.insert(p);
        true
    }

    /// Pedestrian call on a configured crossing (central management), as if its button had been
    /// pressed. Returns false for a phase without a crossing.
    pub fn operator_ped_call(&mut self, p: crate::phase::PhaseId) -> bool {
        if self.site.phase(p).is_none_or(|t| t.ped.is_none()) {
            return false;
        }
        self.operator_ped_calls.insert(p);
        true
    }

    /// Central phase control (NTCIP 1202 phase control group): replaces the phases under `kind`,
    /// applied by the engine within its safety envelope. False if a phase is not configured.
    pub fn set_phase_control(
        &mut self,
        kind: crate::signal::engine::PhaseControl,
        phases: PhaseSet,
        now: Instant,
    ) -> bool {
        if phases.iter().any(|p| self.site.phase(p).is_none()) {
            return false;
        }
        self.engine.set_phase_control(kind, phases, now, &mut self.events);
        true
    }

    /// Console `preempt test N`: hold preempt input `number` for [`PREEMPT_TEST_MS`], exercising
    /// entry, dwell and exit exactly as a real call would. False if the preempt is not configured
    /// or the controller is not running normally.
    pub fn preempt_test(&mut self, number: u8, now: Instant) -> bool {
        let configured = self.site.preempts.iter().any(|d| d.number == number);
        if !configured || self.monitor.latched().is_some() || self.engine.mode() != EngineMode::Run {
            return false;
        }
        self.preempt_test = Some((1u8 << ((number - 1) & 7), now.plus_ms(PREEMPT_TEST_MS)));
        true
    }

    pub fn set_planner(&mut self, kind: PlannerKind) {
        self.planner.set_kind(kind);
    }

    pub fn mode(&self) -> ControllerMode {
        if self.monitor.latched().is_some() || self.sched.flash == SchedFlash::On {
            ControllerMode::Flash
        } else {
            match self.engine.mode() {
                EngineMode::Startup => ControllerMode::Startup,
                EngineMode::Run => ControllerMode::Run,
                EngineMode::Stopping | EngineMode::Stopped => ControllerMode::Stopping,
            }
        }
    }

    pub fn status(&self) -> Status {
        let mode = self.mode();
        Status {
            now: self.now,
            mode,
            planner: self.planner.kind(),
            plan_mode: self.planner.mode(),
            detection_trusted: self.planner.detection_trusted(),
            cycle_ms: self.engine.last_cycle_ms(),
            cycles: self.cycles_before.saturating_add(self.engine.cycles()),
            group: self.engine.group(),
            rings: *self.engine.rings(),
            nrings: self.site.rings.len(),
            calls: self.engine.calls(),
            ped_calls: self.engine.ped_calls(),
            frame: self.last_frame,
            fault: self.monitor.latched().copied(),
            faults_total: self.monitor.faults_total(),
            plan: *self.planner.plan(),
            ticks: self.ticks,
            events_total: self.events.total(),
            events_dropped: self.events.dropped(),
            scenarios: self.planner.pool_stats(),
            replans: self.planner.replans(),
            flows_rejected: self.planner.flows_rejected(),
            pattern: match (self.sched.action, self.sched.coord.pattern()) {
                (Action::Flash, _) => 255,
                (_, Some(n)) => n,
                _ => 0,
            },
            cycle_timer_s: self
                .sched
                .coord
                .cycle_timer_ms()
                .map(|ms| u16::try_from(ms / 1000).unwrap_or(u16::MAX)),
            coord_state: self.sched.coord.state(),
            schedule_action: self.sched.action,
            schedule_since: self.sched.since,
            next_change: if self.site.coord.active() {
                self.local_time()
                    .and_then(|t| schedule::next_change(&self.site.coord, t))
            } else {
                None
            },
        }
    }

    /// The latest scheduled action changes (local time, action; at most [`SCHEDULE_HISTORY`]) and
    /// the number since start-up.
    pub fn schedule_history(&self) -> (impl Iterator<Item = &(jiff::civil::DateTime, Action)>, u64) {
        (self.sched.history.iter(), self.sched.changes)
    }

    /// The pattern timer (cycle state, transitions).
    pub fn coordinator(&self) -> &Coordinator {
        &self.sched.coord
    }
}
