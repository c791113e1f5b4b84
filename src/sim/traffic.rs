//! A small traffic model of the intersection, so the whole loop runs without SUMO or cameras.
//!
//! One lane per configured detector (the site's detectors stand for stop-bar zones). Vehicles
//! arrive by a Poisson process at the phase's design volume × a scale, shared equally among the
//! phase's detectors (lanes). A lane discharges at the site's saturation flow (headway
//! 3600 / s seconds) while its phase is green and in the first 2 s of yellow, after a 2 s start-up
//! lost time when a queue was standing at green onset (HCM 2016 exhibit 19-14: l1 = 2 s, e = 2 s,
//! so effective green = displayed green). Delay of a vehicle = stop-line departure − arrival.
//!
//! Under a flashing yellow arrow a left-turn lane discharges at the permissive saturation flow of
//! HCM 2016 ch. 31 (gap acceptance in the opposing flow v_o at the opposing phase's design
//! volume × scale): s_p = v_o e^(−v_o t_c/3600) / (1 − e^(−v_o t_f/3600)), critical headway
//! t_c = 4.5 s, follow-up headway t_f = 2.5 s.
//!
//! Presence: a queue over the zone, or a vehicle passing it (0.7 s occupancy, a 5 m car over a
//! 5 m zone at 50 km/h). Pedestrian buttons are pressed by a Poisson process at the crossing's
//! design volume × scale. Queues are fixed-size; a full lane counts the vehicle as spilled back.
//!
//! Seeded (SplitMix64) so runs repeat exactly. No allocation; O(detectors) per step.

use crate::config::Site;
use crate::detect::{DetectorHealth, DetectorSnapshot};
use crate::frame::{Aspect, OutputFrame};
use crate::hal::InputFrame;
use crate::limits::{MAX_DETECTORS, MAX_PHASES};
use crate::phase::PhaseId;
use crate::time::Instant;

/// Vehicles a simulated lane can hold (~1 km of queue at 7 m per car).
pub const LANE_QUEUE: usize = 128;
/// Start-up lost time at green onset, ms (HCM l1).
pub const STARTUP_LOST_MS: u64 = 2_000;
/// Part of the yellow that vehicles still use, ms (HCM e).
pub const YELLOW_USED_MS: u64 = 2_000;
/// Zone occupancy of one passing vehicle, ms.
pub const OCCUPANCY_MS: u64 = 700;
pub use crate::detect::JAM_SPACING_M;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough for arrival processes.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Debug)]
struct Lane {
    phase: PhaseId,
    /// Arrivals per ms.
    rate: f64,
    queue: heapless::Deque<u64, LANE_QUEUE>,
    next_departure: u64,
    presence_until: u64,
    count: u16,
    /// Headway under a flashing yellow arrow (permissive left turn), ms; 0 if not permissive.
    permissive_headway_ms: u64,
}

/// Critical and follow-up headways of a permissive left turn, s (HCM 2016 ch. 31).
pub const PERMISSIVE_CRITICAL_S: f64 = 4.5;
pub const PERMISSIVE_FOLLOW_UP_S: f64 = 2.5;

/// Permissive saturation flow (veh/h) against an opposing flow of `vo` veh/h.
pub fn permissive_saturation_vph(vo: f64) -> f64 {
    if vo <= 0.0 {
        return 3600.0 / PERMISSIVE_FOLLOW_UP_S;
    }
    vo * (-vo * PERMISSIVE_CRITICAL_S / 3600.0).exp() / (1.0 - (-vo * PERMISSIVE_FOLLOW_UP_S / 3600.0).exp())
}

/// Totals of a simulation run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TrafficStats {
    pub arrived: u64,
    pub served: u64,
    /// Sum of delays of served vehicles, ms.
    pub delay_ms_total: u64,
    pub max_queue: usize,
    pub spilled: u64,
    pub ped_calls: u64,
    /// Vehicles still queued at the end.
    pub queued: u64,
}

impl TrafficStats {
    pub fn mean_delay_s(&self) -> f64 {
        if self.served == 0 {
            0.0
        } else {
            self.delay_ms_total as f64 / self.served as f64 / 1000.0
        }
    }
}

/// The simulated intersection's traffic.
pub struct SimTraffic {
    lanes: [Option<Lane>; MAX_DETECTORS],
    ped_rate: [f64; MAX_PHASES],
    headway_ms: u64,
    rng: Rng,
    last: Option<Instant>,
    /// Per phase: green onset and whether a queue stood then.
    onset: [(u64, bool); MAX_PHASES],
    last_aspect: [Aspect; MAX_PHASES],
    yellow_onset: [u64; MAX_PHASES],
    stats: TrafficStats,
    /// Per-detector health reported in the snapshot (tests set faults here).
    pub health: [DetectorHealth; MAX_DETECTORS],
}

impl SimTraffic {
    /// Traffic at the site's design volumes × `scale`, seeded by `seed`.
    pub fn new(site: &Site, scale: f64, seed: u64) -> SimTraffic {
        let mut lanes: [Option<Lane>; MAX_DETECTORS] = core::array::from_fn(|_| None);
        let mut health = [DetectorHealth::Unknown; MAX_DETECTORS];
        for (i, d) in site.detectors.iter().enumerate() {
            let Some(d) = d else { continue };
            let Some(ph) = site.phase(d.phase) else { continue };
            let n = site
                .detectors
                .iter()
                .flatten()
                .filter(|x| x.phase == d.phase)
                .count()
                .max(1);
            let vph = f64::from(ph.design_volume_vph) * scale.max(0.0) / n as f64;
            let permissive_headway_ms = match ph.permissive.and_then(|o| site.phase(o)) {
                Some(o) => {
                    let vo = f64::from(o.design_volume_vph) * scale.max(0.0);
                    (3_600_000.0 / permissive_saturation_vph(vo).max(1.0)) as u64
                }
                None => 0,
            };
            if let (Some(l), Some(h)) = (lanes.get_mut(i), health.get_mut(i)) {
                *l = Some(Lane {
                    phase: d.phase,
                    rate: vph / 3_600_000.0,
                    queue: heapless::Deque::new(),
                    next_departure: 0,
                    presence_until: 0,
                    count: 0,
                    permissive_headway_ms,
                });
                *h = DetectorHealth::Ok;
            }
        }
        let mut ped_rate = [0.0; MAX_PHASES];
        for ph in site.phases() {
            if let (Some(pd), Some(r)) = (ph.ped, ped_rate.get_mut(ph.id.index())) {
                *r = f64::from(pd.design_volume_pph) * scale.max(0.0) / 3_600_000.0;
            }
        }
        let s = f64::from(site.saturation_flow_vphpl).max(1.0);
        SimTraffic {
            lanes,
            ped_rate,
            headway_ms: (3_600_000.0 / s) as u64,
            rng: Rng::new(seed),
            last: None,
            onset: [(0, false); MAX_PHASES],
            last_aspect: [Aspect::Red; MAX_PHASES],
            yellow_onset: [0; MAX_PHASES],
            stats: TrafficStats::default(),
            health,
        }
    }

    pub fn stats(&self) -> TrafficStats {
        let mut s = self.stats;
        s.queued = self.lanes.iter().flatten().map(|l| l.queue.len() as u64).sum();
        s
    }

    /// Advances the model to `now` under the lamps of `frame` (what the street showed since the
    /// last step) and returns what the detectors and push buttons report.
    pub fn step(&mut self, now: Instant, frame: &OutputFrame) -> (DetectorSnapshot, InputFrame) {
        let dt = self.last.map_or(0, |l| now.since(l));
        self.last = Some(now);
        let t = now.0;
        // Green onsets.
        for p in PhaseId::all() {
            let i = p.index();
            let a = frame.aspect(p);
            let queued = self.lanes.iter().flatten().any(|l| l.phase == p && !l.queue.is_empty());
            if let (Some(last), Some(on)) = (self.last_aspect.get_mut(i), self.onset.get_mut(i)) {
                if a == Aspect::Green && *last != Aspect::Green {
                    *on = (t, queued);
                }
                if a == Aspect::Yellow && *last != Aspect::Yellow {
                    if let Some(y) = self.yellow_onset.get_mut(i) {
                        *y = t;
                    }
                }
                *last = a;
            }
        }
        let mut snap = DetectorSnapshot {
            at: now,
            health: self.health,
            ..DetectorSnapshot::EMPTY
        };
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            let Some(lane) = lane else { continue };
            // Arrival (at most one per step: 100 ms steps, ≤ 0.3 veh/s per lane).
            if self.rng.unit() < lane.rate * dt as f64 {
                self.stats.arrived += 1;
                if lane.queue.push_back(t).is_err() {
                    self.stats.spilled += 1;
                }
            }
            let pi = lane.phase.index();
            let (onset, queued_at_onset) = self.onset.get(pi).copied().unwrap_or((0, false));
            let aspect = frame.aspect(lane.phase);
            let moving = match aspect {
                Aspect::Green => !queued_at_onset || t >= onset + STARTUP_LOST_MS,
                Aspect::Yellow => t < self.yellow_onset.get(pi).copied().unwrap_or(0) + YELLOW_USED_MS,
                Aspect::FlashingYellow => lane.permissive_headway_ms > 0,
                _ => false,
            };
            if moving && t >= lane.next_departure {
                if let Some(arr) = lane.queue.pop_front() {
                    self.stats.served += 1;
                    self.stats.delay_ms_total += t.saturating_sub(arr);
                    lane.count = lane.count.wrapping_add(1);
                    lane.next_departure = t + if aspect == Aspect::FlashingYellow {
                        lane.permissive_headway_ms
                    } else {
                        self.headway_ms
                    };
                    lane.presence_until = t + OCCUPANCY_MS;
                }
            }
            self.stats.max_queue = self.stats.max_queue.max(lane.queue.len());
            let present = !lane.queue.is_empty() || t < lane.presence_until;
            snap.presence.set(
                i,
                present && self.health.get(i).is_some_and(|h| *h != DetectorHealth::StuckOff),
            );
            if let (Some(c), Some(q)) = (snap.counts.get_mut(i), snap.queue_m.get_mut(i)) {
                *c = lane.count;
                *q = lane.queue.len() as f32 * JAM_SPACING_M;
            }
        }
        let mut inputs = InputFrame::default();
        for p in PhaseId::all() {
            let r = self.ped_rate.get(p.index()).copied().unwrap_or(0.0);
            if r > 0.0 && self.rng.unit() < r * dt as f64 {
                inputs.ped_buttons.insert(p);
                self.stats.ped_calls += 1;
            }
        }
        (snap, inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HCM 2016 ch. 31 permissive saturation flow: 3600 / t_f with no opposing flow; against 510
    /// veh/h, 510 e^(−0.6375) / (1 − e^(−0.35417)) = 269.6 / 0.2983 = 904 veh/h; falls as the
    /// opposing flow grows.
    #[test]
    fn permissive_saturation_flow() {
        assert!((permissive_saturation_vph(0.0) - 1440.0).abs() < 1e-9);
        assert!((permissive_saturation_vph(510.0) - 903.9).abs() < 0.1);
        let mut last = f64::MAX;
        for vo in (0..2000).step_by(100) {
            let s = permissive_saturation_vph(f64::from(vo));
            assert!(s < last);
            last = s;
        }
    }
}
