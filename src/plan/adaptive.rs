//! Adaptive green termination from queue and arrival data (camera zones, SUMO lane-area detectors).
//!
//! A loop detector only says "something is over me"; a camera zone over the last ~80 m of a lane
//! also says how many vehicles stand in the queue. This planner uses that to end each green at the
//! moment it stops being efficient, within the engine's safety envelope (min/max green, clearances,
//! pedestrians — enforced by the engine, not here):
//!
//! 1. **Queue clearance first** ("variable initial" in NEMA terms, but measured rather than counted):
//!    a green never ends while its lanes still hold a standing queue (`queue_m` > one vehicle).
//! 2. **Pressure-scaled passage** (volume-density gap reduction, NEMA TS2 3.5.3.3, driven by the
//!    measured waiting queues instead of a timer): once the queue is gone the green continues only
//!    while vehicles keep arriving closer than an allowed gap. That gap is the phase's passage time
//!    when nothing waits elsewhere and shrinks towards [`MIN_GAP_MS`] as the queue waiting on
//!    conflicting phases grows: `gap = passage × K / (K + waiting vehicles)`, K = [`PRESSURE_K`].
//!    Each second of green given to sparse arrivals costs the waiting vehicles one second each, so
//!    the tolerated gap falls as their number rises (the max-pressure idea of Varaiya 2013, applied
//!    to when a phase ends rather than which phase runs, so the ring sequence — and with it
//!    starvation freedom — stays the engine's).
//!
//! Why this and not full max-pressure phase selection: NEMA ring-and-barrier order is what drivers
//! and the conflict monitor expect, and skipping/reordering gains little at a single intersection
//! once wasted green (long gaps, unserved queues) is removed; the measured gain over gap-out
//! actuation comes from ending greens earlier under cross demand and never cutting a standing
//! queue. Measured against SUMO's controllers with `greenwave-sumo bench` (README).
//!
//! Why not a schedule over approaching vehicles (the Surtrac idea: hold a green while the vehicles
//! about to reach the stop line are worth more than the delay it costs the waiting ones): with the
//! moving vehicles inside the 80 m zone as the look-ahead, ending a green once
//! `waiting ≥ R × approaching` (R = 0.5, 1, 2, 4), alone or together with the gap rule, scored
//! within the seed spread of this rule on every reference demand (R = 2, four seeds: 1.00 / 0.90 /
//! 0.97 / 0.75 / 0.87 × SUMO actuated against 0.99 / 0.96 / 0.98 / 0.75 / 0.88 ×; balanced /
//! unbalanced / peak / peak120 / leftheavy). At 50 km/h the zone sees ~6 s ahead, not much beyond
//! the 3 s passage gap the advance loop already covers.
//!
//! 3. **Protected left turns on demand only** (with flashing-yellow-arrow heads): where the site
//!    lets a left turn go permissive, most turners find a gap in the opposing flow, and the
//!    protected phase — two change and clearance intervals (~10 s) for everybody else — is called
//!    only for a standing queue of [`PROTECTED_QUEUE`] vehicles or a turner waiting longer than
//!    [`PROTECTED_WAIT_MS`] — so where the opposing flow leaves no gaps the queue calls the
//!    protected phase every cycle, as a protected-only left would be served. This is where most of
//!    the gain in SUMO comes from: the lost time per cycle falls from four phase changes to two.
//!    Whether a left turn may be permissive at all is the engineer's design decision (the site's
//!    `permissive`); `greenwave check` applies the cross-product guideline ([`cross_product_ok`])
//!    to the design volumes. Switching it at run time from per-cycle counts was tried and made the
//!    left-turn mode flap with the count noise (balanced demand 12.9 s instead of 12.3 s).
//!
//! Fixed-size state, no allocation; O(detectors) per tick.

use crate::config::Site;
use crate::detect::{DetectorSnapshot, JAM_SPACING_M};
use crate::limits::{MAX_DETECTORS, MAX_PHASES, MAX_RINGS};
use crate::phase::{PhaseId, PhaseSet};
use crate::signal::engine::{Engine, Interval};
use crate::time::Instant;

/// Shortest tolerated gap between arrivals once the queue is served, ms. Measured in SUMO with
/// protected-only left turns: 1 s ended heavy left-turn greens too early (left-heavy demand: 1.20x
/// SUMO actuated's delay), 2 s kept every reference demand below SUMO actuated, 2.5 s gave back the
/// gain on the through-heavy demands. With flashing-yellow-arrow lefts 1.5 s and 2.5 s score within
/// 0.3 s of 2 s on every demand.
pub const MIN_GAP_MS: u32 = 2000;
/// Waiting vehicles at which the tolerated gap halves.
pub const PRESSURE_K: f32 = 6.0;
/// A lane counts as queued above this many standing vehicles.
pub const QUEUED_VEHICLES: f32 = 1.0;
/// Standing left-turn vehicles that call the protected phase after the permissive period. In SUMO
/// (balanced / unbalanced / peak): 1 vehicle → 16.8 / 16.2 / 15.5 s per vehicle, 2 → 12.4 / 13.0 /
/// 12.4 s, 3 → 11.9 / 12.7 / 12.2 s; 3 lengthens the worst left-turn wait, 2 is kept.
pub const PROTECTED_QUEUE: f32 = 2.0;
/// A left turner waiting this long calls the protected phase whatever the queue (no starvation
/// where the opposing flow leaves no gap for a single vehicle).
pub const PROTECTED_WAIT_MS: u64 = 60_000;
/// Cross products (left-turn veh/h × opposing veh/h) above which protected-only left-turn phasing
/// is recommended, by number of opposing lanes 1, 2, 3+ (the cross-product guideline of the FHWA
/// Traffic Signal Timing Manual, FHWA-HOP-08-024, ch. 4): beyond them the opposing flow leaves
/// too few safe gaps for permissive turns.
pub const CROSS_PRODUCT_LIMIT: [f32; 3] = [50_000.0, 90_000.0, 110_000.0];

/// Whether left turn `l` passes the cross-product guideline against opposing phase `o` at the
/// flows `flows_vph` (veh/h by phase index).
pub fn cross_product_ok(site: &Site, flows_vph: &[f32; MAX_PHASES], l: PhaseId, o: PhaseId) -> bool {
    let left = flows_vph.get(l.index()).copied().unwrap_or(0.0);
    let opposing = flows_vph.get(o.index()).copied().unwrap_or(0.0);
    let lanes = site.phase(o).map_or(1, |ph| ph.lanes).clamp(1, 3);
    let limit = CROSS_PRODUCT_LIMIT
        .get(usize::from(lanes) - 1)
        .copied()
        .unwrap_or(50_000.0);
    left * opposing <= limit
}

#[derive(Clone, Debug)]
pub struct Adaptive {
    last_actuation: [Instant; MAX_DETECTORS],
    last_counts: [u16; MAX_DETECTORS],
    primed: bool,
    /// Since when a left turner has been waiting (presence while its phase is not green).
    left_waiting_since: [Option<Instant>; MAX_PHASES],
}

impl Default for Adaptive {
    fn default() -> Self {
        Self::new()
    }
}

impl Adaptive {
    pub const fn new() -> Adaptive {
        Adaptive {
            last_actuation: [Instant::ZERO; MAX_DETECTORS],
            last_counts: [0; MAX_DETECTORS],
            primed: false,
            left_waiting_since: [None; MAX_PHASES],
        }
    }

    /// Whether the protected phase of left turn `l` should be called now: `waiting` = a vehicle
    /// is detected while the phase is not green, `queue` = standing vehicles on its lanes.
    pub fn protected_needed(&mut self, l: PhaseId, now: Instant, waiting: bool, queue: f32) -> bool {
        let Some(since) = self.left_waiting_since.get_mut(l.index()) else {
            return waiting;
        };
        if !waiting {
            *since = None;
            return false;
        }
        let t = *since.get_or_insert(now);
        queue >= PROTECTED_QUEUE || now.since(t) >= PROTECTED_WAIT_MS
    }

    /// Record actuations: presence, or a vehicle counted since the last snapshot.
    pub fn observe(&mut self, now: Instant, det: &DetectorSnapshot) {
        for i in 0..MAX_DETECTORS {
            let counted = self.primed && det.counts.get(i) != self.last_counts.get(i);
            if det.presence.contains(i) || counted {
                if let Some(t) = self.last_actuation.get_mut(i) {
                    *t = now;
                }
            }
        }
        self.last_counts = det.counts;
        self.primed = true;
    }

    /// Standing vehicles per phase (the longest lane queue), from the snapshot.
    pub fn queues(site: &Site, det: &DetectorSnapshot) -> [f32; MAX_PHASES] {
        let mut q = [0.0f32; MAX_PHASES];
        for (i, d) in site.detectors.iter().enumerate() {
            let Some(d) = d else { continue };
            let v = det.queue_m.get(i).copied().unwrap_or(0.0);
            let v = if v.is_finite() && v > 0.0 {
                v / JAM_SPACING_M
            } else {
                0.0
            };
            if let Some(slot) = q.get_mut(d.phase.index()) {
                *slot = slot.max(v);
            }
        }
        q
    }

    /// What the planner sees about each running green this tick.
    pub fn observe_greens(
        &self,
        site: &Site,
        now: Instant,
        det: &DetectorSnapshot,
        engine: &Engine,
    ) -> heapless::Vec<GreenObservation, MAX_RINGS> {
        let queues = Self::queues(site, det);
        let calls = engine.calls().union(engine.ped_calls());
        let mut out = heapless::Vec::new();
        for ring in engine.rings().iter() {
            let (Some(p), Interval::Green) = (ring.phase, ring.interval) else {
                continue;
            };
            let Some(ph) = site.phase(p) else { continue };
            let own_queue = queues.get(p.index()).copied().unwrap_or(0.0);
            // Vehicles waiting on phases this green holds red (a called phase counts at least one).
            let conflicts = site.conflicts.get(p.index()).copied().unwrap_or(PhaseSet::EMPTY);
            let waiting: f32 = conflicts
                .intersection(calls)
                .iter()
                .map(|q| queues.get(q.index()).copied().unwrap_or(0.0).max(1.0))
                .sum();
            let last = site
                .detectors
                .iter()
                .enumerate()
                .filter(|(_, d)| d.is_some_and(|d| d.phase == p))
                .filter_map(|(i, _)| self.last_actuation.get(i).copied())
                .max()
                .unwrap_or(Instant::ZERO)
                .max(ring.since);
            let gap_ms = now.since_ms(last);
            let tolerated_ms = (ph.passage_ms as f32 * PRESSURE_K / (PRESSURE_K + waiting)).max(MIN_GAP_MS as f32);
            let _ = out.push(GreenObservation {
                phase: p,
                own_queue,
                waiting,
                gap_ms,
                elapsed_ms: now.since_ms(ring.since),
                max_green_ms: ph.max_green_ms,
                adaptive_end: own_queue <= QUEUED_VEHICLES && gap_ms as f32 >= tolerated_ms,
            });
        }
        out
    }

    /// Phases whose green should end now.
    pub fn end_set(&self, site: &Site, now: Instant, det: &DetectorSnapshot, engine: &Engine) -> PhaseSet {
        let mut end = PhaseSet::EMPTY;
        for o in self
            .observe_greens(site, now, det, engine)
            .iter()
            .filter(|o| o.adaptive_end)
        {
            end.insert(o.phase);
        }
        end
    }
}

/// One running green as the planners see it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GreenObservation {
    pub phase: crate::phase::PhaseId,
    /// Standing vehicles on the phase's longest lane queue.
    pub own_queue: f32,
    /// Vehicles waiting on called conflicting phases.
    pub waiting: f32,
    /// Time since the last actuation on the phase's lanes.
    pub gap_ms: u32,
    pub elapsed_ms: u32,
    pub max_green_ms: u32,
    /// The adaptive rule's decision.
    pub adaptive_end: bool,
}
