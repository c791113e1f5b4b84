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
        let (mut demand, mut directive) =
            self.planner
                .tick(&self.site, now, det, &cabinet, &self.engine, &mut self.events);
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
        if self.monitor.latched().is_some() {
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
        }
    }
}
