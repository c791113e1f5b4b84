//! Saturation flow measured at the stop line, so the Webster fail-safe is timed for the traffic
//! this intersection really discharges rather than a design figure.
//!
//! Field method of HCM 6th ed. chapter 31 (saturation flow rate measurement): in a green that
//! starts over a standing queue, the first vehicles need longer to start (start-up lost time); from
//! the fourth vehicle's crossing on, the headways of the queued vehicles are the saturation
//! headway `h`, and the lane's saturation flow is `s = 3600 / h` veh/h. Here each detector of a
//! phase is a lane's stop-line counter:
//!
//! - a measurement starts when the phase turns green with presence on the detector (a vehicle
//!   waiting at the line);
//! - vehicles 1-4 are not measured; every later vehicle adds its headway to the previous one,
//!   while the headway stays at most [`MAX_SATURATED_HEADWAY_MS`] (a longer gap means the queue
//!   has discharged and arrivals, not saturation, set the pace — the measurement of that green
//!   ends there);
//! - a green with at least [`MIN_HEADWAYS`] such headways gives one sample per lane;
//! - **a green that stays saturated to its end** — it lasted at least [`MIN_FULL_GREEN_MS`] and a
//!   queue of more than one vehicle still stands on the lane when it ends (a camera zone or
//!   lane-area detector sees the queue; a loop alone cannot) — gives instead the lane's discharge
//!   over the whole green: `h = (g − l1) / n` for the `n` vehicles it counted in the green `g`,
//!   with HCM's start-up lost time `l1` = [`STARTUP_LOST_MS`]. The first rule stops at the first
//!   long gap; in a shared lane that gap is a turner waiting for a gap in the opposing flow or
//!   for people on the crosswalk with the queue held behind it, so the first rule measures only
//!   the through vehicles' headways (a shared side-street lane measured at 1,750-1,850 veh/h while
//!   it discharged about half of that). Over a green that never ran out of queue every such wait
//!   is in the count: this is the prevailing saturation flow of the lane with its turning and
//!   pedestrian effects (what HCM 6th ed. ch. 19's `f_LT`, `f_RT` and `f_Lpb`/`f_Rpb` model),
//!   which is what the Webster plan needs.
//!
//! - **a lane shared with left turns that yield on the circular green** (a phase with a
//!   `left_yield` movement) is measured by the whole-green rule only. Its first rule sees the
//!   through vehicles between two turners and nothing of the turners' waits, so the figure it gives
//!   is the through lane's, not the shared lane's: in SUMO's arterial surge the same side-street
//!   lane came out anywhere between 486 and 1,831 veh/h/ln after an hour, depending on whether its
//!   last greens had run out of queue, and the fail-safe planned on the high figures starved it.
//!   A shared lane whose greens never stay saturated to their end is not measured and keeps the
//!   design value (its greens have always cleared their queue).
//!
//! At each cycle boundary whose cycle had fully trusted detection, the phase's samples are averaged,
//! checked against [`SAT_MIN_VPHPL`]..=[`MAX_FLOW_VPHPL`] (outside is a counting fault, refused and
//! counted) and smoothed into the phase's measured saturation flow with the same weight as the
//! learned flows, so the plan follows the last trusted cycles. A phase never measured keeps the
//! site's design value (`saturation_flow_vphpl`).
//!
//! Fixed-size state; [`SaturationMeter::observe`] does constant work per detector and allocates
//! nothing.

use super::adaptive::QUEUED_VEHICLES;
use super::webster::MAX_FLOW_VPHPL;
use crate::config::geometry::Movement;
use crate::config::Site;
use crate::detect::{DetectorSnapshot, JAM_SPACING_M};
use crate::limits::{MAX_DETECTORS, MAX_PHASES};
use crate::phase::PhaseId;
use crate::signal::engine::{Engine, Interval};
use crate::time::Instant;

/// Vehicles of a queue whose headways include start-up lost time and are not measured.
pub const STARTUP_VEHICLES: u16 = 4;
/// A headway longer than this ends the saturated part of a green (the queue has gone).
pub const MAX_SATURATED_HEADWAY_MS: u64 = 3_500;
/// Headways one green must give before it counts as a sample.
pub const MIN_HEADWAYS: u16 = 3;
/// A green this long that ends over a standing queue measures the lane's discharge over the whole
/// green.
pub const MIN_FULL_GREEN_MS: u64 = 20_000;
/// Start-up lost time of a green, ms (HCM 6th ed. ch. 19 default `l1`).
pub const STARTUP_LOST_MS: u64 = 2_000;
/// Trusted cycles with samples before a phase's measured figure replaces the design value: one
/// green is an anecdote (a single saturated green on a light side street is the one in which
/// somebody crossed in front of the first turner).
pub const MIN_CYCLES: u32 = 3;
/// Lowest believable saturation flow per lane, veh/h: a shared lane whose turners yield to heavy
/// opposing flow and to pedestrians still discharges several hundred vehicles an hour.
pub const SAT_MIN_VPHPL: f32 = 400.0;

/// One detector's measurement in the running green.
#[derive(Clone, Copy, Debug, Default)]
struct Lane {
    /// The green being measured (its start), if it started over a waiting vehicle.
    green: Option<Instant>,
    /// Vehicles crossed since the green started, while measuring headways.
    crossed: u16,
    /// Every vehicle crossed in the green.
    all: u16,
    last_cross: Instant,
    /// Sum and number of saturated headways in this green (vehicles after the start-up ones).
    sum_ms: u64,
    headways: u16,
    /// The queue has discharged: no more headways from this green.
    done: bool,
}

/// Measured saturation flow per phase.
#[derive(Clone, Debug)]
pub struct SaturationMeter {
    lanes: [Lane; MAX_DETECTORS],
    last_counts: [u16; MAX_DETECTORS],
    counts_valid: bool,
    /// Samples of this cycle per phase: sum of mean headways (ms) and how many.
    cycle_sum_ms: [f64; MAX_PHASES],
    cycle_n: [u32; MAX_PHASES],
    /// Smoothed measured saturation flow per lane, veh/h (0 = never measured).
    vphpl: [f32; MAX_PHASES],
    /// Cycles that updated each phase's figure.
    cycles: [u32; MAX_PHASES],
    rejected: u64,
}

impl Default for SaturationMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl SaturationMeter {
    pub fn new() -> SaturationMeter {
        SaturationMeter {
            lanes: [Lane::default(); MAX_DETECTORS],
            last_counts: [0; MAX_DETECTORS],
            counts_valid: false,
            cycle_sum_ms: [0.0; MAX_PHASES],
            cycle_n: [0; MAX_PHASES],
            vphpl: [0.0; MAX_PHASES],
            cycles: [0; MAX_PHASES],
            rejected: 0,
        }
    }

    /// Measured saturation flow per lane by phase index, veh/h; 0 where never measured.
    pub fn vphpl(&self) -> &[f32; MAX_PHASES] {
        &self.vphpl
    }

    /// Trusted cycles that measured each phase.
    pub fn cycles(&self) -> &[u32; MAX_PHASES] {
        &self.cycles
    }

    /// The figures the plan uses ([`for_plan`]).
    pub fn for_plan(&self) -> [f32; MAX_PHASES] {
        for_plan(&self.vphpl, &self.cycles)
    }

    /// Cycle figures refused as not traffic.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Restores figures kept from an earlier run (per phase; 0 = not measured). Values outside the
    /// believable range are refused whole.
    pub fn restore(&mut self, vphpl: &[f32; MAX_PHASES], cycles: &[u32; MAX_PHASES]) -> Result<(), f32> {
        if let Some(bad) = vphpl
            .iter()
            .find(|v| !(v.is_finite() && (**v == 0.0 || (SAT_MIN_VPHPL..=MAX_FLOW_VPHPL).contains(*v))))
        {
            self.rejected += 1;
            return Err(*bad);
        }
        self.vphpl = *vphpl;
        self.cycles = *cycles;
        Ok(())
    }

    /// Keeps the figures of phases that measure the same traffic on a reloaded site.
    pub fn carry(&mut self, old: &SaturationMeter, keep: impl Fn(PhaseId) -> bool) {
        self.rejected = old.rejected;
        for i in 0..MAX_PHASES {
            if PhaseId::from_index(i).is_some_and(&keep) {
                if let (Some(v), Some(o), Some(c), Some(oc)) = (
                    self.vphpl.get_mut(i),
                    old.vphpl.get(i),
                    self.cycles.get_mut(i),
                    old.cycles.get(i),
                ) {
                    *v = *o;
                    *c = *oc;
                }
            }
        }
    }

    /// Takes one tick: the snapshot (already judged fresh and trusted by the caller for the
    /// detectors it reads) and the engine as it ended the previous tick.
    pub fn observe(&mut self, site: &Site, now: Instant, det: &DetectorSnapshot, engine: &Engine, trusted: bool) {
        if !trusted {
            self.counts_valid = false;
            for l in self.lanes.iter_mut() {
                l.green = None;
            }
            return;
        }
        // The running greens, by phase index, read once for every detector.
        let mut green_since = [None; MAX_PHASES];
        for r in engine.rings().iter().filter(|r| r.interval == Interval::Green) {
            if let Some(slot) = r.phase.and_then(|p| green_since.get_mut(p.index())) {
                *slot = Some(r.since);
            }
        }
        for (i, d) in site.detectors.iter().enumerate() {
            let (Some(d), Some(lane)) = (d, self.lanes.get_mut(i)) else {
                continue;
            };
            let green_since = green_since.get(d.phase.index()).copied().flatten();
            let count = det.counts.get(i).copied().unwrap_or(0);
            let crossed = if self.counts_valid {
                count.wrapping_sub(self.last_counts.get(i).copied().unwrap_or(count))
            } else {
                0
            };
            let queue_m = det.queue_m.get(i).copied().unwrap_or(0.0);
            let queued = queue_m.is_finite() && queue_m / JAM_SPACING_M > QUEUED_VEHICLES;
            if lane.green != green_since {
                // The measured green ended (or another began): its sample, then a new measurement,
                // taken only if a vehicle waits at the line as the new green starts.
                if lane.green.is_some() {
                    let shared = site
                        .phase(d.phase)
                        .is_some_and(|ph| ph.approach.movements.contains(Movement::LeftYield));
                    finish(
                        lane,
                        now,
                        queued,
                        d.phase,
                        shared,
                        &mut self.cycle_sum_ms,
                        &mut self.cycle_n,
                    );
                }
                *lane = Lane::default();
                if let Some(since) = green_since {
                    if det.presence.contains(i) && now.since(since) <= 1_000 {
                        lane.green = Some(since);
                        lane.last_cross = since;
                    }
                }
            }
            if lane.green.is_some() {
                lane.all = lane.all.saturating_add(crossed);
            }
            lane.step(now, crossed);
        }
        self.last_counts = det.counts;
        self.counts_valid = true;
    }

    /// At a cycle boundary: folds this cycle's samples into the measured figures if the cycle had
    /// fully trusted detection, else drops them.
    pub fn cycle_boundary(&mut self, trusted: bool, weight: f32) {
        let sums = core::mem::replace(&mut self.cycle_sum_ms, [0.0; MAX_PHASES]);
        let ns = core::mem::replace(&mut self.cycle_n, [0; MAX_PHASES]);
        if !trusted {
            return;
        }
        for (i, (sum, n)) in sums.iter().zip(ns.iter()).enumerate() {
            if *n == 0 {
                continue;
            }
            let h_ms = sum / f64::from(*n);
            let s = if h_ms > 0.0 {
                (3_600_000.0 / h_ms) as f32
            } else {
                f32::INFINITY
            };
            if !(SAT_MIN_VPHPL..=MAX_FLOW_VPHPL).contains(&s) {
                self.rejected += 1;
                continue;
            }
            if let (Some(v), Some(c)) = (self.vphpl.get_mut(i), self.cycles.get_mut(i)) {
                *v = if *c == 0 { s } else { (1.0 - weight) * *v + weight * s };
                *c = c.saturating_add(1);
            }
        }
    }
}

/// Measured figures by phase index as the plan uses them: 0 (the design value) for a phase
/// measured in fewer than [`MIN_CYCLES`] trusted cycles.
pub fn for_plan(vphpl: &[f32; MAX_PHASES], cycles: &[u32; MAX_PHASES]) -> [f32; MAX_PHASES] {
    let mut out = [0.0; MAX_PHASES];
    for ((o, v), c) in out.iter_mut().zip(vphpl.iter()).zip(cycles.iter()) {
        if *c >= MIN_CYCLES {
            *o = *v;
        }
    }
    out
}

impl Lane {
    /// One tick of a measured green: `crossed` vehicles crossed the counter since the last tick.
    /// Headways are measured from the fifth vehicle on, until the first gap over
    /// [`MAX_SATURATED_HEADWAY_MS`].
    fn step(&mut self, now: Instant, crossed: u16) {
        if self.green.is_none() || self.done {
            return;
        }
        if crossed > 0 {
            // Vehicles that crossed within this tick share its time evenly.
            let span = now.since(self.last_cross);
            let each = span / u64::from(crossed);
            for _ in 0..crossed.min(64) {
                self.crossed = self.crossed.saturating_add(1);
                if self.crossed > STARTUP_VEHICLES {
                    if each > MAX_SATURATED_HEADWAY_MS {
                        self.done = true;
                        break;
                    }
                    self.sum_ms += each;
                    self.headways = self.headways.saturating_add(1);
                }
            }
            self.last_cross = now;
        } else if now.since(self.last_cross) > MAX_SATURATED_HEADWAY_MS {
            self.done = self.crossed > 0;
        }
    }

    /// The mean saturated headway of the green that ends at `end`, ms, if it gives a sample:
    /// over the whole green if a queue still stands on the lane as it ends (`queued`), else from
    /// the headways before the first long gap — except on a lane `shared` with yielding left
    /// turns, where only the whole green tells (module doc).
    fn sample_ms(&self, end: Instant, queued: bool, shared: bool) -> Option<f64> {
        let g = end.since(self.green?);
        if queued && g >= MIN_FULL_GREEN_MS && self.all > 0 {
            return Some((g - STARTUP_LOST_MS) as f64 / f64::from(self.all));
        }
        (!shared && self.headways >= MIN_HEADWAYS).then(|| self.sum_ms as f64 / f64::from(self.headways))
    }
}

/// Ends a green's measurement at `end`: a lane that gives a sample adds it to its phase's.
fn finish(
    lane: &Lane,
    end: Instant,
    queued: bool,
    phase: PhaseId,
    shared: bool,
    sums: &mut [f64; MAX_PHASES],
    ns: &mut [u32; MAX_PHASES],
) {
    if let (Some(h), Some(s), Some(n)) = (
        lane.sample_ms(end, queued, shared),
        sums.get_mut(phase.index()),
        ns.get_mut(phase.index()),
    ) {
        *s += h;
        *n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_refuses_figures_that_cannot_be_traffic() {
        let mut m = SaturationMeter::new();
        let mut v = [0.0; MAX_PHASES];
        v[1] = 1_650.0;
        assert!(m.restore(&v, &[0, 12, 0, 0, 0, 0, 0, 0]).is_ok());
        assert_eq!(m.vphpl()[1], 1_650.0);
        v[2] = 90_000.0;
        assert_eq!(m.restore(&v, &[0; MAX_PHASES]), Err(90_000.0));
        v[2] = f32::NAN;
        assert!(m.restore(&v, &[0; MAX_PHASES]).is_err());
        assert_eq!(m.rejected(), 2);
        assert_eq!(m.vphpl()[1], 1_650.0, "a refused set leaves the figures as they were");
    }

    /// A shared lane's green: 4 start-up vehicles, then through vehicles at 2 s with a turner
    /// holding the queue for 10 s as every 5th. `queued_at_end`: whether the queue still stands
    /// as the green ends, 40 s after it began.
    fn shared_lane_green(queued_at_end: bool) -> Option<f64> {
        shared_lane_green_as(queued_at_end, false)
    }

    /// As [`shared_lane_green`], on a lane the site declares shared with yielding left turns
    /// (`shared`) or not.
    fn shared_lane_green_as(queued_at_end: bool, shared: bool) -> Option<f64> {
        let mut lane = Lane {
            green: Some(Instant::ZERO),
            last_cross: Instant::ZERO,
            ..Lane::default()
        };
        let mut t = 0u64;
        let mut k = 0u32;
        while t < 40_000 {
            k += 1;
            let h = if k <= 4 {
                2_500
            } else if (k - 4).is_multiple_of(5) {
                10_000
            } else {
                2_000
            };
            if t + h > 40_000 {
                break;
            }
            // 100 ms ticks through the gap, then the crossing (what `observe` does per lane).
            for tick in (t + 100..t + h).step_by(100) {
                lane.step(Instant(tick), 0);
            }
            t += h;
            lane.all = lane.all.saturating_add(1);
            lane.step(Instant(t), 1);
        }
        lane.sample_ms(Instant(40_000), queued_at_end, shared)
    }

    #[test]
    fn a_green_saturated_to_its_end_measures_the_shared_lanes_discharge() {
        // Over the whole green: 13 vehicles crossed in 40 s (4 at 2.5 s, then 2-s headways and a
        // 10-s wait as every 5th). h = (40 − 2) / 13 = 2.923 s: 1,232 veh/h/ln, what the lane
        // carried.
        let full = shared_lane_green(true).unwrap();
        assert!((full - 38_000.0 / 13.0).abs() < 1.0, "{full}");
        // The queue had gone at the end: the headway rule, which stops at the first long gap and
        // sees only the through vehicles' 2 s (1,800 veh/h/ln).
        assert_eq!(shared_lane_green(false), Some(2_000.0));
    }

    #[test]
    fn a_lane_shared_with_yielding_lefts_is_measured_over_saturated_greens_only() {
        // Saturated to its end: the same whole-green figure as on any lane.
        let full = shared_lane_green_as(true, true).unwrap();
        assert!((full - 38_000.0 / 13.0).abs() < 1.0, "{full}");
        // The queue had gone: the through vehicles' 2 s headways are not the lane's discharge,
        // so the green gives no sample instead of 1,800 veh/h/ln.
        assert_eq!(shared_lane_green_as(false, true), None);
    }

    /// Through the meter and a real engine: the arterial site's side street (phase 4, one lane)
    /// gets a green over a standing queue; 14 vehicles cross, 4 at 2.5 s then 2 s apart, and the
    /// queue is gone before the green ends. Declared without yielding lefts, the lane measures its
    /// 2 s headways (1,800 veh/h/ln); declared `left_yield`, as the site has it, it gives nothing.
    #[test]
    fn the_meter_asks_the_site_which_lanes_are_shared() {
        use crate::events::EventRing;
        use crate::phase::PhaseSet;
        use crate::signal::engine::{Demand, Directive};
        let text = include_str!("../../board/sites/arterial-minor.toml");
        let shared = "movements = [\"left_yield\", \"through\", \"right\"]";
        assert!(text.contains(shared));
        let through_only = text.replacen(shared, "movements = [\"through\", \"right\"]", 1);
        let four = PhaseId::new(4).unwrap();
        for (text, expect) in [(text.to_string(), 0.0), (through_only, 1_800.0)] {
            let site = Site::parse(&text, "arterial-minor.toml").unwrap();
            let det_i = site
                .detectors
                .iter()
                .position(|d| d.is_some_and(|d| d.phase == four))
                .unwrap();
            let mut m = SaturationMeter::new();
            let mut engine = Engine::new(Instant::ZERO);
            let mut ev = EventRing::new();
            let mut det = DetectorSnapshot::default();
            let mut crossed = 0u16;
            let mut next: Option<u64> = None;
            for k in 0..1_200u64 {
                let now = Instant(k * 100);
                let green = engine
                    .rings()
                    .iter()
                    .any(|r| r.phase == Some(four) && r.interval == Interval::Green);
                if green && next.is_none() {
                    next = Some(now.0 + 2_500);
                }
                if next.is_some_and(|t| now.0 >= t) && crossed < 14 {
                    crossed += 1;
                    next = Some(now.0 + if crossed < 4 { 2_500 } else { 2_000 });
                }
                det.counts[det_i] = crossed;
                det.presence.set(det_i, crossed < 14);
                m.observe(&site, now, &det, &engine, true);
                let mut calls = PhaseSet::EMPTY;
                if crossed < 14 {
                    calls.insert(four);
                }
                let demand = Demand {
                    veh: calls,
                    extend: calls,
                    ..Demand::default()
                };
                engine.step(&site, now, &demand, &Directive::Actuated, &mut ev);
                while ev.pop().is_some() {}
            }
            assert_eq!(crossed, 14, "the queue discharged in the green");
            m.cycle_boundary(true, 1.0);
            assert!(
                (m.vphpl()[four.index()] - expect).abs() < 1.0,
                "{}",
                m.vphpl()[four.index()]
            );
        }
    }

    #[test]
    fn a_figure_from_fewer_than_three_cycles_is_not_planned_on() {
        let mut m = SaturationMeter::new();
        m.cycle_sum_ms[3] = 4_500.0; // 800 veh/h/ln from one saturated green
        m.cycle_n[3] = 1;
        m.cycle_boundary(true, 0.2);
        assert_eq!(m.vphpl()[3], 800.0);
        assert_eq!(m.for_plan()[3], 0.0, "the design value until three cycles measured it");
        for _ in 0..2 {
            m.cycle_sum_ms[3] = 4_500.0;
            m.cycle_n[3] = 1;
            m.cycle_boundary(true, 0.2);
        }
        assert_eq!(m.for_plan()[3], 800.0);
    }

    #[test]
    fn cycle_figures_are_smoothed_and_checked() {
        let mut m = SaturationMeter::new();
        // Two lanes of phase 2 gave mean headways of 2.0 s and 2.4 s.
        m.cycle_sum_ms[1] = 2_000.0 + 2_400.0;
        m.cycle_n[1] = 2;
        m.cycle_boundary(true, 0.2);
        assert!((m.vphpl()[1] - 1_636.36).abs() < 0.1, "{}", m.vphpl()[1]);
        // An untrusted cycle changes nothing.
        m.cycle_sum_ms[1] = 3_000.0;
        m.cycle_n[1] = 1;
        m.cycle_boundary(false, 0.2);
        assert!((m.vphpl()[1] - 1_636.36).abs() < 0.1);
        // 0.5 s headways (7,200 veh/h) are a counting fault.
        m.cycle_sum_ms[1] = 500.0;
        m.cycle_n[1] = 1;
        m.cycle_boundary(true, 0.2);
        assert_eq!(m.rejected(), 1);
        assert_eq!(m.cycles()[1], 1);
        // 3.0 s headways (1,200 veh/h) move the figure by the weight.
        m.cycle_sum_ms[1] = 3_000.0;
        m.cycle_n[1] = 1;
        m.cycle_boundary(true, 0.2);
        assert!((m.vphpl()[1] - (0.8 * 1_636.36 + 0.2 * 1_200.0)).abs() < 0.1);
    }
}
