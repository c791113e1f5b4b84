//! Webster's fixed-time plan: the fail-safe timing (DESIGN.md 5 rule 6).
//!
//! F. V. Webster, *Traffic Signal Settings*, Road Research Technical Paper 39, HMSO 1958:
//!
//! ```text
//!   C0 = (1.5 L + 5) / (1 - Y)          optimum cycle, seconds
//!   y_i = q_i / s_i                     flow ratio of a phase (demand / saturation flow)
//!   Y   = sum of critical y_i           L = lost time on the critical path
//!   g_i = (C - L) * y_i / Y             effective green split
//! ```
//!
//! For a NEMA dual-ring layout the critical path runs through each barrier group once: the group's
//! critical flow ratio is the largest ring sum of `y` in that group (HCM 2016 ch. 19, critical
//! lane groups for dual-ring control), and its lost time is that ring's sum of yellow + red
//! clearance (start-up lost time and the used part of the yellow, ~2 s each, cancel, HCM exhibit
//! 19-14). The cycle is clamped to the site's range, and `Y >= 0.95` (oversaturated: C0 explodes or
//! goes negative) takes the maximum cycle. Each phase then gets at least its min green, and a phase
//! with a crossing at least walk + pedestrian clearance; a group lengthened by those minima takes the
//! extra time, and within a group the shorter ring's slack is shared among its phases so both rings
//! reach the barrier together.
//!
//! Pure and allocation-free; O(phases).

use crate::config::Site;
use crate::limits::{MAX_GROUPS, MAX_PHASES};
use crate::signal::phase::PhaseId;

/// Flow ratio at and above which the intersection is taken as oversaturated.
pub const Y_OVERSATURATED: f32 = 0.95;

/// A computed fixed-time plan. All durations in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WebsterPlan {
    /// Webster's optimum before clamping, seconds (infinite when oversaturated).
    pub c0_s: f32,
    /// Cycle actually run, including the minima (may exceed the range when minima demand it).
    pub cycle_ms: u32,
    /// Sum of the critical flow ratios.
    pub y_total: f32,
    /// Lost time on the critical path, ms.
    pub lost_ms: u32,
    /// Green (split) per phase index, ms. Zero for unconfigured phases.
    pub green_ms: [u32; MAX_PHASES],
    /// Flow ratio per phase index.
    pub y: [f32; MAX_PHASES],
}

/// Computes the plan from per-phase flows (veh/h, by phase index). Use the site's design volumes
/// ([`design_flows`]) or flows measured over the last trusted cycles.
pub fn plan(site: &Site, flows_vph: &[f32; MAX_PHASES]) -> WebsterPlan {
    let mut y = [0.0f32; MAX_PHASES];
    for ph in site.phases() {
        let i = ph.id.index();
        let sat = site.saturation_flow_vphpl * f32::from(ph.lanes.max(1));
        let q = flows_vph.get(i).copied().unwrap_or(0.0);
        let q = if q.is_finite() && q > 0.0 { q } else { 0.0 };
        if let Some(v) = y.get_mut(i) {
            *v = if sat > 0.0 { q / sat } else { 0.0 };
        }
    }
    // Per group: critical ring (largest sum of y; ties → larger lost time) and its lost time.
    let mut group_y = [0.0f32; MAX_GROUPS];
    let mut group_lost_ms = [0u32; MAX_GROUPS];
    for (g, set) in site.groups.iter().enumerate() {
        let mut best: Option<(f32, u32)> = None;
        for ring in site.rings.iter() {
            let mut sum_y = 0.0;
            let mut lost = 0u32;
            for p in ring.phases.iter().filter(|p| set.contains(**p)) {
                if let Some(ph) = site.phase(*p) {
                    sum_y += y.get(p.index()).copied().unwrap_or(0.0);
                    lost += site.change_ms(ph.id);
                }
            }
            let better = match best {
                None => true,
                Some((by, bl)) => sum_y > by || (sum_y == by && lost > bl),
            };
            if better {
                best = Some((sum_y, lost));
            }
        }
        if let (Some((gy, gl)), Some(sy), Some(sl)) = (best, group_y.get_mut(g), group_lost_ms.get_mut(g)) {
            *sy = gy;
            *sl = gl;
        }
    }
    let y_total: f32 = group_y.iter().sum();
    let lost_ms: u32 = group_lost_ms.iter().sum();
    let lost_s = lost_ms as f32 / 1000.0;
    let c0_s = if y_total >= Y_OVERSATURATED {
        f32::INFINITY
    } else {
        (1.5 * lost_s + 5.0) / (1.0 - y_total)
    };
    let cmin = site.cycle_min_ms as f32 / 1000.0;
    let cmax = site.cycle_max_ms as f32 / 1000.0;
    let cycle_s = if c0_s.is_finite() { c0_s.clamp(cmin, cmax) } else { cmax };
    let effective_s = (cycle_s - lost_s).max(0.0);

    let mut green_ms = [0u32; MAX_PHASES];
    let ngroups = site.groups.len().min(MAX_GROUPS);
    let mut cycle_ms = 0u32;
    for g in 0..ngroups {
        let Some(set) = site.groups.get(g).copied() else {
            continue;
        };
        let gy = group_y.get(g).copied().unwrap_or(0.0);
        // The group's time (green + lost) on the critical ring.
        let group_green_s = if y_total > 0.0 {
            effective_s * gy / y_total
        } else {
            effective_s / ngroups as f32
        };
        let group_time_s = group_green_s + group_lost_ms.get(g).copied().unwrap_or(0) as f32 / 1000.0;
        // First pass: each ring shares the group time among its phases by y, then minima.
        let mut ring_total = [0u32; crate::limits::MAX_RINGS];
        for (r, ring) in site.rings.iter().enumerate() {
            let phases = || {
                ring.phases
                    .iter()
                    .filter(|p| set.contains(**p))
                    .filter_map(|p| site.phase(*p))
            };
            let lost: u32 = phases().map(|ph| site.change_ms(ph.id)).sum();
            let sum_y: f32 = phases().map(|ph| y.get(ph.id.index()).copied().unwrap_or(0.0)).sum();
            let n = phases().count().max(1) as f32;
            let ring_green_s = (group_time_s - lost as f32 / 1000.0).max(0.0);
            let mut total = lost;
            for ph in phases() {
                let i = ph.id.index();
                let share = if sum_y > 0.0 {
                    y.get(i).copied().unwrap_or(0.0) / sum_y
                } else {
                    1.0 / n
                };
                let g_ms = round_100(ring_green_s * share * 1000.0).max(ph.min_green_with_ped_ms());
                if let Some(v) = green_ms.get_mut(i) {
                    *v = g_ms;
                }
                total += g_ms;
            }
            if let Some(t) = ring_total.get_mut(r) {
                *t = total;
            }
        }
        // Second pass: the group lasts as long as its longest ring; shorter rings share the slack.
        let group_ms = ring_total.iter().copied().max().unwrap_or(0);
        for (r, ring) in site.rings.iter().enumerate() {
            let slack = group_ms.saturating_sub(ring_total.get(r).copied().unwrap_or(0));
            if slack == 0 {
                continue;
            }
            let members = || {
                ring.phases
                    .iter()
                    .filter(|p| set.contains(**p))
                    .filter(|p| site.phase(**p).is_some())
            };
            let sum_y: f32 = members().map(|p| y.get(p.index()).copied().unwrap_or(0.0)).sum();
            let n = members().count() as u32;
            let mut given = 0u32;
            let last = members().next_back();
            for p in members() {
                let i = p.index();
                let add = if Some(p) == last {
                    slack - given
                } else if sum_y > 0.0 {
                    round_100(slack as f32 * y.get(i).copied().unwrap_or(0.0) / sum_y).min(slack - given)
                } else {
                    (slack / n.max(1) / 100 * 100).min(slack - given)
                };
                given += add;
                if let Some(v) = green_ms.get_mut(i) {
                    *v += add;
                }
            }
        }
        cycle_ms += group_ms;
    }
    WebsterPlan {
        c0_s,
        cycle_ms,
        y_total,
        lost_ms,
        green_ms,
        y,
    }
}

/// The site's design volumes by phase index.
pub fn design_flows(site: &Site) -> [f32; MAX_PHASES] {
    let mut f = [0.0; MAX_PHASES];
    for ph in site.phases() {
        if let Some(v) = f.get_mut(ph.id.index()) {
            *v = ph.design_volume_vph;
        }
    }
    f
}

impl WebsterPlan {
    pub fn green(&self, p: PhaseId) -> u32 {
        self.green_ms.get(p.index()).copied().unwrap_or(0)
    }
}

fn round_100(ms: f32) -> u32 {
    if ms.is_finite() && ms > 0.0 {
        ((ms / 100.0).round() as u32).saturating_mul(100)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::parse(include_str!("../../board/sites/nema8-4leg.toml"), "nema8-4leg.toml").unwrap()
    }

    /// Hand computation for board/sites/nema8-4leg.toml (50 km/h = 13.89 m/s):
    /// through phases: y = 510 / (2 × 1800) = 0.14167; lefts: y = 90 / 1800 = 0.05.
    /// Lost time per phase = yellow + red clearance: left 3.3 + 2.2 = 5.5 s ((24+6.1)/13.89 = 2.17
    /// → 2.2); through 3.3 + 1.9 s (red (20+6.1)/13.89 = 1.88 → 1.9), but the through's red
    /// clearance is stretched to cover the flashing-yellow-arrow left turn that yields to it
    /// (3.3 + 2.2 − 3.3 = 2.2 s), so 5.5 s too. Each group: ring sum y = 0.19167, lost 11.0 s.
    /// Y = 0.38333, L = 22.0 s. C0 = (1.5 × 22.0 + 5) / (1 − 0.38333) = 38.0 / 0.61667 = 61.62 s.
    #[test]
    fn webster_design_volumes_hand_computed() {
        let s = site();
        let p = plan(&s, &design_flows(&s));
        assert!((p.y_total - 0.38333).abs() < 1e-4, "Y = {}", p.y_total);
        assert_eq!(p.lost_ms, 22_000);
        assert!((p.c0_s - 61.62).abs() < 0.01, "C0 = {}", p.c0_s);
        // Group time at C = 61.62: green (61.62 − 22.0)/2 = 19.81 s per group; phase 1 gets
        // 19.81 × 0.05/0.19167 = 5.17 → 5.2 s; phase 2 would get 14.6 s but its crossing needs
        // walk 7 + clearance 16.4 = 23.4 s, so the group grows to 5.2 + 23.4 + 11.0 = 39.6 s.
        let p1 = PhaseId::new(1).unwrap();
        let p2 = PhaseId::new(2).unwrap();
        assert_eq!(p.green(p1), 5_200);
        assert_eq!(p.green(p2), 23_400);
        assert_eq!(p.cycle_ms, 2 * 39_600);
    }

    /// Oversaturation (Y ≥ 0.95) takes the maximum cycle.
    #[test]
    fn oversaturated_takes_max_cycle() {
        let s = site();
        let mut f = design_flows(&s);
        for v in f.iter_mut() {
            *v *= 3.0; // Y = 1.15
        }
        let p = plan(&s, &f);
        assert!(p.y_total >= Y_OVERSATURATED);
        assert!(p.c0_s.is_infinite());
        assert!(p.cycle_ms >= s.cycle_max_ms);
    }

    /// Light traffic: C0 below the minimum cycle is raised to it; splits follow y.
    /// Flows 50 vph on each through, 0 on lefts: y = 0.01389 per ring per group, Y = 0.02778,
    /// L = 22.0 s, C0 = 38.0 / 0.97222 = 39.09 s → clamped to 40 s.
    #[test]
    fn light_traffic_clamps_to_min_cycle() {
        let s = site();
        let mut f = [0.0; MAX_PHASES];
        for p in [2u8, 4, 6, 8] {
            f[PhaseId::new(p).unwrap().index()] = 50.0;
        }
        let p = plan(&s, &f);
        assert!((p.c0_s - 39.09).abs() < 0.01, "C0 = {}", p.c0_s);
        // Lefts get only their min green (5 s); throughs at least walk + ped clearance.
        assert_eq!(p.green(PhaseId::new(1).unwrap()), 5_000);
        assert!(p.green(PhaseId::new(2).unwrap()) >= 23_400);
    }

    /// Asymmetric rings: the shorter ring's phases absorb the slack so both reach the barrier
    /// together (green + lost per ring equal within each group).
    #[test]
    fn rings_balanced_at_barrier() {
        let s = site();
        let mut f = design_flows(&s);
        f[PhaseId::new(1).unwrap().index()] = 400.0;
        let p = plan(&s, &f);
        for set in s.groups.iter() {
            let mut totals = heapless::Vec::<u32, 4>::new();
            for ring in s.rings.iter() {
                let t: u32 = ring
                    .phases
                    .iter()
                    .filter(|x| set.contains(**x))
                    .map(|x| {
                        let ph = s.phase(*x).unwrap();
                        p.green(*x) + s.change_ms(ph.id)
                    })
                    .sum();
                totals.push(t).unwrap();
            }
            assert_eq!(totals[0], totals[1]);
        }
    }
}
