//! Planning: from detector data to the engine's demand and directive.
//!
//! Each tick the [`Planner`]
//! 1. judges the detection: a snapshot older than the site's `detector_stale_s`, or any configured
//!    detector whose health is not trusted, makes the detection untrusted;
//! 2. maps detectors to phase calls and extensions (NEMA detector channels: a detector may call,
//!    extend, or both) and logs detector on/off and health changes (Indiana 81/82, 83-88);
//! 3. chooses the directive: the configured planner (actuated or fixed time), but **fixed time on the
//!    Webster plan whenever detection is untrusted** (docs/safety.md 6), returning to actuated only
//!    after detection has been trusted for [`RECOVERY_MS`] (hysteresis, so a flickering camera does
//!    not toggle the plan); each switch is a pattern-change event (131);
//! 4. at every cycle boundary recomputes the Webster plan inside a scenario slot, from the flows
//!    counted over the cycle when detection was trusted all cycle long, else from the last trusted
//!    flows (initially the design volumes). Flows that cannot be traffic (not finite, negative, above
//!    [`webster::MAX_FLOW_VPHPL`] per lane) are refused whole, counted and logged, and the plan keeps
//!    the flows it had.
//!
//! Pure and allocation-free: O(detectors + phases) per tick.

pub mod adaptive;
pub mod coord;
pub mod hour;
pub mod learned;
pub mod saturation;
pub mod schedule;
pub mod webster;

use crate::config::{PlannerKind, Site};
use crate::detect::{DetectorHealth, DetectorSnapshot};
use crate::events::{code, EventRing};
use crate::limits::{MAX_DETECTORS, MAX_PHASES, SCENARIO_SLOTS};
use crate::phase::PhaseSet;
use crate::scenario::{PoolStats, ScenarioPool};
use crate::signal::engine::{Demand, Directive, Engine};
use crate::time::{Clock, Instant};
use adaptive::Adaptive;
use webster::WebsterPlan;

/// Whether a flow learned for phase `p` under site `a` measures the same traffic under site `b`:
/// flows are per phase, counted by the phase's detectors over its lanes, so the phase must be
/// configured in both with the same approach (leg and movements) and lanes, and the same detector
/// channels (numbers and inputs) must count it. Timings (greens, clearances) may differ.
pub fn same_traffic(a: &Site, b: &Site, p: crate::phase::PhaseId) -> bool {
    let (Some(pa), Some(pb)) = (a.phase(p), b.phase(p)) else {
        return false;
    };
    let counting = |d: &Option<crate::config::DetectorDef>| d.filter(|d| d.phase == p).map(|d| d.number);
    pa.approach == pb.approach
        && pa.lanes == pb.lanes
        && a.detectors
            .iter()
            .zip(b.detectors.iter())
            .all(|(x, y)| counting(x) == counting(y))
}

/// What the cabinet inputs ask of the planner this tick (the runtime reads them from the
/// hardware); the detectors' calls and extensions are the planner's own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CabinetCalls {
    /// Pedestrian push buttons, by the vehicle phase the crossing runs with.
    pub ped: PhaseSet,
    /// Preempt inputs active (bit `i` = preempt `i + 1`).
    pub preempt: u8,
    /// Transit priority requests, by the phase serving them.
    pub transit: PhaseSet,
}

/// Trusted detection needed before leaving the fail-safe plan, ms.
pub const RECOVERY_MS: u64 = 10_000;
/// Weight of the newest cycle in the learned flows (exponential smoothing).
pub const FLOW_SMOOTHING: f32 = 0.3;

/// What the planner is doing (pattern-change event 131 parameter = this number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanMode {
    /// Actuated from trusted detection.
    Actuated = 1,
    /// Fixed time on the Webster plan because the site (or an operator) asks for it.
    Webster = 2,
    /// Fixed time on the Webster plan because detection is missing or untrusted.
    Fallback = 3,
    /// Adaptive (queue-aware) from trusted area detection.
    Adaptive = 4,
    /// Actuated because some detectors failed: their phases are on constant call, the others
    /// actuate from the remaining detectors (adaptive needs every detector).
    Degraded = 5,
    /// The learned table decides where it is confident, adaptive elsewhere.
    Learned = 6,
}

impl PlanMode {
    pub const fn name(self) -> &'static str {
        match self {
            PlanMode::Actuated => "actuated",
            PlanMode::Webster => "webster",
            PlanMode::Fallback => "webster (fail-safe: detection untrusted)",
            PlanMode::Adaptive => "adaptive",
            PlanMode::Degraded => "actuated (degraded: detector fault, failed phases on recall)",
            PlanMode::Learned => "learned (adaptive where not confident)",
        }
    }
}

/// How much of the detection the planner may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Stale snapshot, or a phase lost all its detectors: fixed time only.
    None,
    /// Some detectors failed but every detectorised phase keeps one.
    Partial,
    Full,
}

/// Context of one planning cycle (lives in a scenario slot).
#[derive(Clone, Copy, Debug, Default)]
pub struct PlanContext {
    pub flows_vph: [f32; MAX_PHASES],
    pub plan: Option<WebsterPlan>,
}

pub struct Planner {
    kind: PlannerKind,
    mode: PlanMode,
    plan: WebsterPlan,
    /// Flows the plan is computed from (learned or design), veh/h by phase index.
    flows_vph: [f32; MAX_PHASES],
    /// Vehicles counted per phase this cycle.
    cycle_counts: [u32; MAX_PHASES],
    cycle_start: Option<Instant>,
    cycle_trusted: bool,
    last_counts: [u16; MAX_DETECTORS],
    counts_valid: bool,
    last_presence: u32,
    last_health: [DetectorHealth; MAX_DETECTORS],
    detection_trusted: bool,
    /// Detection was lost at least once: returning needs the recovery time.
    lost_once: bool,
    ever_full: bool,
    trust: Trust,
    better_since: Option<Instant>,
    adaptive: Adaptive,
    /// The learned planner's table (boxed: ~4 KB, installed once at start-up).
    model: Option<Box<learned::QTable>>,
    learned_stats: learned::LearnedStats,
    pool: ScenarioPool<PlanContext, SCENARIO_SLOTS>,
    replans: u64,
    /// Flow sets refused by [`webster::check_flows`] (restored or measured).
    flows_rejected: u64,
    /// Saturation flows measured at the stop line for the Webster plan.
    saturation: saturation::SaturationMeter,
    /// The counts of the last hour of trusted detection: the Webster plan is designed on the
    /// larger of the hour's flows and the most recent quarter hour's (`hour`; the learned flows
    /// until a quarter hour has completed).
    hour: hour::HourFlows,
    /// A coordination pattern runs (`coord`): its own events (131 with the pattern number, 132
    /// with its cycle) stand, so the planner's mode and Webster-cycle changes are not logged.
    coordinated: bool,
}

impl Planner {
    pub fn new(site: &Site) -> Planner {
        let flows = webster::design_flows(site);
        let kind = site.planner;
        Planner {
            kind,
            mode: if kind == PlannerKind::Webster {
                PlanMode::Webster
            } else {
                PlanMode::Fallback
            },
            plan: webster::plan(site, &flows),
            flows_vph: flows,
            cycle_counts: [0; MAX_PHASES],
            cycle_start: None,
            cycle_trusted: false,
            last_counts: [0; MAX_DETECTORS],
            counts_valid: false,
            last_presence: 0,
            last_health: [DetectorHealth::Unknown; MAX_DETECTORS],
            detection_trusted: false,
            lost_once: false,
            ever_full: false,
            trust: Trust::None,
            better_since: None,
            adaptive: Adaptive::new(),
            model: None,
            learned_stats: learned::LearnedStats::default(),
            pool: ScenarioPool::new(),
            replans: 0,
            flows_rejected: 0,
            saturation: saturation::SaturationMeter::new(),
            hour: hour::HourFlows::default(),
            coordinated: false,
        }
    }

    /// The Webster plan from the learned flows, the flows of the last hour and the measured
    /// saturation flows.
    fn replan(&self, site: &Site) -> WebsterPlan {
        webster::plan_with(site, &self.hour.design(&self.flows_vph), &self.saturation.for_plan())
    }

    /// A coordination pattern runs (true) or not: see the `coordinated` field.
    pub fn set_coordinated(&mut self, on: bool) {
        self.coordinated = on;
    }

    /// The planner for `site` replacing `old` (planning for `old_site`) at a configuration reload:
    /// it starts like [`Planner::new`] (fail-safe until detection is judged) but keeps what was
    /// learned and counted. The Q-table moves over; the learned flows carry over phase by phase
    /// where the flow still means the same traffic ([`same_traffic`]: the phase is configured in
    /// both, on the same approach and lanes, counted by the same detectors), other phases take the
    /// new site's design volume; flows the new site refuses leave the design volumes whole. The
    /// replan, refusal and learned-decision counters and the scenario pool's counters continue.
    pub fn handover_from(old: &mut Planner, old_site: &Site, site: &Site) -> Planner {
        let mut p = Planner::new(site);
        p.model = old.model.take();
        p.learned_stats = old.learned_stats;
        p.replans = old.replans;
        p.flows_rejected = old.flows_rejected;
        p.pool.carry_stats(old.pool.stats());
        p.saturation
            .carry(&old.saturation, |id| same_traffic(old_site, site, id));
        let mut flows = p.flows_vph;
        for ph in site.phases() {
            if same_traffic(old_site, site, ph.id) {
                if let (Some(f), Some(o)) = (flows.get_mut(ph.id.index()), old.flows_vph.get(ph.id.index())) {
                    *f = *o;
                }
            }
        }
        if flows != p.flows_vph && webster::check_flows(site, &flows).is_ok() {
            p.flows_vph = flows;
        }
        // The hour's counts carry over for the phases that count the same traffic; the others
        // start again.
        let mut history = old.hour;
        for b in history.bins.iter_mut().chain(core::iter::once(&mut history.current)) {
            for (i, c) in b.counts.iter_mut().enumerate() {
                let same = crate::phase::PhaseId::from_index(i).is_some_and(|id| same_traffic(old_site, site, id));
                if !same {
                    *c = 0;
                }
            }
        }
        if webster::check_flows(site, &history.hour_vph()).is_ok() {
            p.hour = history;
        }
        p.plan = p.replan(site);
        p
    }

    pub fn mode(&self) -> PlanMode {
        self.mode
    }

    pub fn kind(&self) -> PlannerKind {
        self.kind
    }

    pub fn set_kind(&mut self, kind: PlannerKind) {
        self.kind = kind;
    }

    pub fn plan(&self) -> &WebsterPlan {
        &self.plan
    }

    pub fn flows_vph(&self) -> &[f32; MAX_PHASES] {
        &self.flows_vph
    }

    /// Restore learned flows (e.g. from persistent storage after a reboot) and replan. Flows that
    /// cannot be traffic are refused whole (counted, logged at WARN): the planner keeps its flows.
    pub fn set_flows(&mut self, site: &Site, flows_vph: &[f32; MAX_PHASES]) -> Result<(), webster::FlowError> {
        if let Err(e) = webster::check_flows(site, flows_vph) {
            self.flows_rejected += 1;
            log::warn!("restored flows refused, the plan keeps its flows: {e}");
            return Err(e);
        }
        self.flows_vph = *flows_vph;
        self.plan = self.replan(site);
        Ok(())
    }

    /// The last hour's counts in 15-minute bins (`hour`).
    pub fn hour(&self) -> &hour::HourFlows {
        &self.hour
    }

    /// Restores the last hour's counts kept from an earlier run, and replans. A history that is not
    /// consistent, or whose rates cannot be traffic, is refused whole (counted, logged at WARN).
    pub fn set_hour(&mut self, site: &Site, history: &hour::HourFlows) -> Result<(), hour::HourError> {
        let checked = if history.is_consistent() {
            webster::check_flows(site, &history.hour_vph()).map_err(hour::HourError::Flow)
        } else {
            Err(hour::HourError::Inconsistent)
        };
        if let Err(e) = checked {
            self.flows_rejected += 1;
            log::warn!("restored hourly flows refused, the plan keeps its flows: {e}");
            return Err(e);
        }
        self.hour = *history;
        self.plan = self.replan(site);
        Ok(())
    }

    /// The stop-line saturation flow measurement (figures per phase, cycles, refusals).
    pub fn saturation(&self) -> &saturation::SaturationMeter {
        &self.saturation
    }

    /// Restores measured saturation flows (per lane, by phase index; 0 = never measured) kept from
    /// an earlier run, and replans. Figures that cannot be traffic are refused whole (counted, logged
    /// at WARN).
    pub fn set_saturation(
        &mut self,
        site: &Site,
        vphpl: &[f32; MAX_PHASES],
        cycles: &[u32; MAX_PHASES],
    ) -> Result<(), f32> {
        if let Err(bad) = self.saturation.restore(vphpl, cycles) {
            log::warn!("restored saturation flows refused ({bad} veh/h per lane), the design value stays");
            return Err(bad);
        }
        self.plan = self.replan(site);
        Ok(())
    }

    /// Flow sets refused (restored from storage or measured over a cycle) since start-up.
    pub fn flows_rejected(&self) -> u64 {
        self.flows_rejected
    }

    pub fn detection_trusted(&self) -> bool {
        self.detection_trusted
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    pub fn replans(&self) -> u64 {
        self.replans
    }

    /// One planning tick: the engine's demand and directive, from the detection and what the
    /// cabinet inputs ask (`cabinet`). `engine` is the engine as it ended the previous tick (the
    /// adaptive planner reads which greens are running).
    pub fn tick(
        &mut self,
        site: &Site,
        now: Instant,
        det: &DetectorSnapshot,
        cabinet: &CabinetCalls,
        engine: &Engine,
        ev: &mut EventRing,
    ) -> (Demand, Directive) {
        let fresh = now.since(det.at) <= u64::from(site.detector_stale_ms);
        let mut demand = Demand {
            ped: cabinet.ped,
            preempt: cabinet.preempt,
            transit: cabinet.transit,
            ..Demand::default()
        };
        let mut with_detectors = PhaseSet::EMPTY;
        let mut with_trusted = PhaseSet::EMPTY;
        let mut with_failed = PhaseSet::EMPTY;
        for (i, d) in site.detectors.iter().enumerate() {
            let Some(d) = d else { continue };
            let param = u16::from(d.number);
            with_detectors.insert(d.phase);
            let health = if fresh {
                det.health.get(i).copied().unwrap_or_default()
            } else {
                DetectorHealth::Stale
            };
            if let Some(last) = self.last_health.get_mut(i) {
                if *last != health {
                    ev.push(now, health.event_code(), param);
                    *last = health;
                }
            }
            if !health.trusted() {
                with_failed.insert(d.phase);
                continue;
            }
            with_trusted.insert(d.phase);
            let on = det.presence.contains(i);
            let was = self.last_presence & (1 << i) != 0;
            if on != was {
                ev.push(now, if on { code::DETECTOR_ON } else { code::DETECTOR_OFF }, param);
            }
            if on {
                if d.call {
                    demand.veh.insert(d.phase);
                }
                if d.extend {
                    demand.extend.insert(d.phase);
                }
            }
            // Vehicle counts (wrapping u16 counters) for the learned flows.
            let c = det.counts.get(i).copied().unwrap_or(0);
            if self.counts_valid {
                let prev = self.last_counts.get(i).copied().unwrap_or(c);
                let n = u32::from(c.wrapping_sub(prev));
                if let Some(slot) = self.cycle_counts.get_mut(d.phase.index()) {
                    *slot = slot.saturating_add(n);
                }
            }
        }
        if fresh {
            self.last_presence = det.presence.0;
            self.last_counts = det.counts;
            self.counts_valid = true;
            self.adaptive.observe(now, det);
        } else {
            self.last_presence = 0;
            self.counts_valid = false;
        }
        // How much of the detection can be used.
        let raw = if !fresh || with_detectors.is_empty() || with_trusted != with_detectors {
            Trust::None
        } else if with_failed.is_empty() {
            Trust::Full
        } else {
            Trust::Partial
        };
        if raw != Trust::Full {
            self.cycle_trusted = false;
        }
        self.saturation.observe(site, now, det, engine, raw == Trust::Full);
        // Downgrade at once; upgrade only after RECOVERY_MS at the better level (after the first
        // loss: at start-up trusted data is used as soon as it arrives).
        if raw <= self.trust {
            self.trust = raw;
            self.better_since = None;
        } else {
            let since = *self.better_since.get_or_insert(now);
            if !self.lost_once || now.since(since) >= RECOVERY_MS {
                self.trust = raw;
                self.better_since = None;
            }
        }
        if self.trust < Trust::Full && self.ever_full {
            self.lost_once = true;
        }
        if self.trust == Trust::Full {
            self.ever_full = true;
        }
        self.detection_trusted = self.trust != Trust::None;
        let mode = match (self.kind, self.trust) {
            (PlannerKind::Webster, _) => PlanMode::Webster,
            (_, Trust::None) => PlanMode::Fallback,
            (PlannerKind::Actuated, Trust::Full) => PlanMode::Actuated,
            (PlannerKind::Adaptive, Trust::Full) => PlanMode::Adaptive,
            (PlannerKind::Learned, Trust::Full) if self.model.is_some() => PlanMode::Learned,
            (PlannerKind::Learned, Trust::Full) => PlanMode::Adaptive,
            (_, Trust::Partial) => PlanMode::Degraded,
        };
        if mode != self.mode {
            self.mode = mode;
            if !self.coordinated {
                ev.push(now, code::PATTERN_CHANGE, mode as u16);
            }
        }
        if mode == PlanMode::Degraded {
            // A phase whose detector failed is called every cycle (NEMA: detector fault → recall).
            demand.veh = demand.veh.union(with_failed);
        }
        self.left_turns(site, now, det, engine, with_failed, &mut demand);
        let directive = match mode {
            PlanMode::Actuated | PlanMode::Degraded => Directive::Actuated,
            PlanMode::Adaptive => Directive::Adaptive {
                end: self.adaptive.end_set(site, now, det, engine),
            },
            PlanMode::Learned => Directive::Adaptive {
                end: self.learned_end_set(site, now, det, engine),
            },
            PlanMode::Webster | PlanMode::Fallback => Directive::Fixed {
                green_ms: self.plan.green_ms,
            },
        };
        (demand, directive)
    }

    /// Protected/permissive left turns (flashing yellow arrow): every planner lets them run
    /// permissive (the site decides which may). While the arrow flashes the left-turn
    /// detectors place no call for the protected phase (NEMA practice for FYA: the turners may go
    /// now). Afterwards the actuated planner calls the protected phase for any vehicle left waiting;
    /// the adaptive ones only for a standing queue or a long wait (see
    /// [`adaptive::Adaptive::protected_needed`]), since a protected phase costs the whole
    /// intersection its change and clearance intervals. A failed detector's phase keeps its recall.
    fn left_turns(
        &mut self,
        site: &Site,
        now: Instant,
        det: &DetectorSnapshot,
        engine: &Engine,
        failed: PhaseSet,
        demand: &mut Demand,
    ) {
        let flashing = engine.permissive_active();
        let greens = engine.greens();
        let adaptive = matches!(self.mode, PlanMode::Adaptive | PlanMode::Learned);
        let queues = adaptive.then(|| Adaptive::queues(site, det));
        for ph in site.phases().filter(|ph| ph.permissive.is_some()) {
            let l = ph.id;
            demand.permissive.insert(l);
            if failed.contains(l) {
                continue;
            }
            let needed = match &queues {
                Some(q) => {
                    let queue = q.get(l.index()).copied().unwrap_or(0.0);
                    let waiting = demand.veh.contains(l) && !greens.contains(l);
                    self.adaptive.protected_needed(l, now, waiting, queue)
                }
                None => true,
            };
            if flashing.contains(l) || !needed {
                demand.veh.remove(l);
            }
        }
    }

    /// The learned table's decision for each running green; the adaptive rule where the table is
    /// not confident.
    fn learned_end_set(&mut self, site: &Site, now: Instant, det: &DetectorSnapshot, engine: &Engine) -> PhaseSet {
        let mut end = PhaseSet::EMPTY;
        for o in self.adaptive.observe_greens(site, now, det, engine).iter() {
            let decision = self.model.as_ref().map(|t| t.decide(learned::state(o)));
            let stop = match decision {
                Some((a, true)) => {
                    self.learned_stats.confident += 1;
                    a == learned::END
                }
                _ => {
                    self.learned_stats.deferred += 1;
                    o.adaptive_end
                }
            };
            if stop {
                end.insert(o.phase);
            }
        }
        end
    }

    /// The running greens as the adaptive and learned planners see them this tick (after
    /// [`Planner::tick`] observed the snapshot).
    pub fn observe_greens(
        &self,
        site: &Site,
        now: Instant,
        det: &DetectorSnapshot,
        engine: &Engine,
    ) -> heapless::Vec<adaptive::GreenObservation, { crate::limits::MAX_RINGS }> {
        self.adaptive.observe_greens(site, now, det, engine)
    }

    /// The adaptive rule's green-end decisions for this tick (an adaptive coordination pattern
    /// ends its greens by it; `coord`).
    pub fn adaptive_end(&self, site: &Site, now: Instant, det: &DetectorSnapshot, engine: &Engine) -> PhaseSet {
        self.adaptive.end_set(site, now, det, engine)
    }

    /// The learned planner's table, when one is installed.
    pub fn model(&self) -> Option<&learned::QTable> {
        self.model.as_deref()
    }

    /// Installs a trained table for the `learned` planner.
    pub fn set_model(&mut self, table: learned::QTable) {
        self.model = Some(Box::new(table));
    }

    /// How often the learned table was confident enough to decide.
    pub fn learned_stats(&self) -> learned::LearnedStats {
        self.learned_stats
    }

    /// Called at every cycle boundary (the engine started the first barrier group again): learn the
    /// cycle's flows if detection was trusted throughout, and recompute the Webster plan in a
    /// scenario slot that must finish within `budget_ms` of `now`.
    ///
    /// `clock` tells when the planning work actually finished (the runtime's monotonic clock, on
    /// the controller's time line); a plan finished past the deadline is counted as timed out and
    /// not used (the old plan stays). Without a clock (simulated time, where no work takes time)
    /// the work finishes at `now`.
    pub fn cycle_boundary(
        &mut self,
        site: &Site,
        now: Instant,
        budget_ms: u32,
        ev: &mut EventRing,
        clock: Option<&dyn Clock>,
    ) {
        let start = self.cycle_start.replace(now);
        let trusted = core::mem::replace(&mut self.cycle_trusted, true);
        let counts = core::mem::replace(&mut self.cycle_counts, [0; MAX_PHASES]);
        let Some(start) = start else { return };
        let cycle_ms = now.since(start);
        self.saturation
            .cycle_boundary(trusted && cycle_ms >= 10_000, FLOW_SMOOTHING);
        if !trusted || cycle_ms < 10_000 {
            return; // keep the last trusted flows
        }
        let mut measured = [0.0f32; MAX_PHASES];
        for (m, c) in measured.iter_mut().zip(counts.iter()) {
            *m = *c as f32 * 3_600_000.0 / cycle_ms as f32;
        }
        // A counter fault (a jump of a wrapping counter, a chattering detector) is not traffic.
        if let Err(e) = webster::check_flows(site, &measured) {
            self.flows_rejected += 1;
            log::warn!("measured flows refused, the plan keeps its flows: {e}");
            return;
        }
        self.hour.record(&counts, u32::try_from(cycle_ms).unwrap_or(u32::MAX));
        let old = self.flows_vph;
        let Some(mut guard) = self.pool.acquire(now.plus_ms(budget_ms), |ctx| {
            for ((f, o), m) in ctx.flows_vph.iter_mut().zip(old.iter()).zip(measured.iter()) {
                *f = (1.0 - FLOW_SMOOTHING) * o + FLOW_SMOOTHING * m;
            }
            ctx.plan = None;
        }) else {
            return; // exhaustion is counted by the pool; the old plan stays
        };
        guard.start();
        let sat = self.saturation.for_plan();
        let result = guard.ctx().map(|mut ctx| {
            let p = webster::plan_with(site, &self.hour.design(&ctx.flows_vph), &sat);
            ctx.plan = Some(p);
            (ctx.flows_vph, p)
        });
        // The plan computation is pure and short; the deadline guards against a slow board.
        let finished = clock.map_or(now, |c| c.now().max(now));
        if guard.complete(finished) {
            if let Some((flows, p)) = result {
                if p.cycle_ms / 1000 != self.plan.cycle_ms / 1000 && !self.coordinated {
                    ev.push(
                        now,
                        code::CYCLE_LENGTH_CHANGE,
                        u16::try_from(p.cycle_ms / 1000).unwrap_or(u16::MAX),
                    );
                }
                self.flows_vph = flows;
                self.plan = p;
                self.replans += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::PhaseId;

    fn site() -> Site {
        Site::parse(include_str!("../board/sites/nema8-4leg.toml"), "nema8-4leg.toml").unwrap()
    }

    /// Restored flows that cannot be traffic are refused whole: the plan and flows stay the design
    /// ones, and the refusal is counted. Good flows replan.
    #[test]
    fn set_flows_refuses_what_cannot_be_traffic() {
        let s = site();
        let mut p = Planner::new(&s);
        let design = *p.plan();
        for bad in [f32::NAN, f32::INFINITY, -1.0, 1e12] {
            let mut f = webster::design_flows(&s);
            f[3] = bad;
            assert!(p.set_flows(&s, &f).is_err());
            assert_eq!(*p.plan(), design);
            assert_eq!(*p.flows_vph(), webster::design_flows(&s));
        }
        assert_eq!(p.flows_rejected(), 4);
        let mut f = webster::design_flows(&s);
        f[1] = 1_000.0;
        assert_eq!(p.set_flows(&s, &f), Ok(()));
        assert_ne!(*p.plan(), design);
        assert_eq!(p.flows_rejected(), 4);
    }

    /// A planning cycle that finishes after its deadline (a slow board: the clock read when the
    /// work is done is past the budget) is counted as timed out and failed, and its plan is not
    /// used; one that finishes in time is completed and replans.
    #[test]
    fn a_late_planning_cycle_times_out() {
        /// A clock the test sets by hand.
        struct ManualClock(core::cell::Cell<Instant>);
        impl ManualClock {
            fn set(&self, at: Instant) {
                self.0.set(at);
            }
        }
        impl Clock for ManualClock {
            fn now(&self) -> Instant {
                self.0.get()
            }
        }
        let s = site();
        let mut p = Planner::new(&s);
        let mut ev = EventRing::new();
        let clock = ManualClock(core::cell::Cell::new(Instant(0)));
        // The first boundary starts the measured cycle; the next ones end a trusted 60 s cycle.
        p.cycle_boundary(&s, Instant(0), 100, &mut ev, Some(&clock));
        clock.set(Instant(60_000 + 101));
        p.cycle_boundary(&s, Instant(60_000), 100, &mut ev, Some(&clock));
        let st = p.pool_stats();
        assert_eq!((st.created, st.timed_out, st.failed, st.completed), (1, 1, 1, 0));
        assert_eq!(p.replans(), 0, "a late plan is not used");
        assert_eq!(*p.flows_vph(), webster::design_flows(&s));
        clock.set(Instant(120_000 + 100));
        p.cycle_boundary(&s, Instant(120_000), 100, &mut ev, Some(&clock));
        let st = p.pool_stats();
        assert_eq!((st.created, st.timed_out, st.completed), (2, 1, 1));
        assert_eq!(p.replans(), 1);
        // Without a clock the work finishes at the boundary: never late.
        p.cycle_boundary(&s, Instant(180_000), 100, &mut ev, None);
        assert_eq!(p.pool_stats().timed_out, 1);
        assert_eq!(p.replans(), 2);
    }

    /// Detection lost in a lull after a busy quarter hour: the learned flows have followed the
    /// lull, but the fail-safe plan is designed on no less than the last hour's flows, so its cycle
    /// carries the busy traffic when it returns. The hour's counts survive a restore.
    #[test]
    fn the_fail_safe_plan_keeps_the_last_hours_flows_through_a_lull() {
        let s = site();
        let mut p = Planner::new(&s);
        let mut ev = EventRing::new();
        let mut t = 0u64;
        p.cycle_boundary(&s, Instant(t), 100, &mut ev, None);
        // 15 trusted 60 s cycles at 900 veh/h on each through phase (15 per cycle), 90 on lefts.
        let busy = [2u32, 15, 2, 15, 2, 15, 2, 15];
        let lull = [0u32, 3, 0, 3, 0, 3, 0, 3];
        for counts in core::iter::repeat_n(busy, 15).chain(core::iter::repeat_n(lull, 10)) {
            p.cycle_counts = counts;
            t += 60_000;
            p.cycle_boundary(&s, Instant(t), 100, &mut ev, None);
        }
        assert_eq!(p.hour().completed().len(), 1);
        let through = PhaseId::new(2).unwrap().index();
        assert!(p.flows_vph()[through] < 300.0, "learned: {:?}", p.flows_vph());
        assert!((p.hour().hour_vph()[through] - 900.0).abs() < 1.0);
        // The plan's flow ratio for the through is the hour's 900 veh/h over 2 × 1800.
        assert!((p.plan().y[through] - 0.25).abs() < 1e-3, "{:?}", p.plan());
        let kept = *p.plan();
        // After a reboot: learned flows and the hour restored give the same plan.
        let mut q = Planner::new(&s);
        q.set_flows(&s, p.flows_vph()).unwrap();
        q.set_hour(&s, p.hour()).unwrap();
        assert_eq!(*q.plan(), kept);
        // A history that cannot have been recorded is refused whole and counted.
        let mut bad = *p.hour();
        bad.bins[0].ms = 5;
        assert_eq!(q.set_hour(&s, &bad), Err(hour::HourError::Inconsistent));
        assert_eq!(q.flows_rejected(), 1);
        assert_eq!(*q.plan(), kept);
    }
}
