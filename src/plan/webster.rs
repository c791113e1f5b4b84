//! Webster's fixed-time plan: the fail-safe timing (docs/safety.md 6).
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
//! goes negative) takes the maximum cycle.
//!
//! Protected/permissive lefts (flashing yellow arrow) first: a light one runs permissive-only and
//! leaves the cycle (green 0, [`WebsterPlan::permissive_only`]; its flow ratio over the permitted
//! saturation flow counts towards its opposing through's green), and one that keeps its arrow is
//! sized for the turners its flashing-arrow period leaves over ([`lefts`]; the site's
//! `fixed_time_lefts = "protected"` turns both off).
//!
//! The plan then respects the site's limits, in this order (NEMA TS2 phase timing: min and max
//! green bound every green, fixed time included):
//! 1. every green lies within [min green, max green]: a split above max green is cut to it, one
//!    below min green raised. Where the phase has a dynamic max (NTCIP 1202 v03
//!    `phaseDynamicMaxLimit`), its limit is the bound instead: the longest green the engineer lets
//!    the phase grow to under sustained demand, which is what a plan designed on measured demand
//!    states (a surging side street would otherwise be starved at its max green every cycle).
//!    Pedestrian service is not built into every cycle: the push buttons keep working when vehicle
//!    detection is lost, and a cycle in which somebody pressed lengthens
//!    that phase's green to walk + pedestrian change interval (the engine never ends a green before
//!    solid DON'T WALK, docs/safety.md 3). A split that would always carry the crossing made the
//!    fail-safe's cycle a third longer at the reference intersection, for people who are not there
//!    most cycles;
//! 2. a group lasts as long as its longest ring, but no longer than its shortest ring can run at max
//!    green, and within each group the rings reach the barrier together (the shorter ring's phases
//!    share the slack by `y`, up to their max greens);
//! 3. the cycle (sum of the groups) stays within [cycle_min, cycle_max]: minima that lengthen it
//!    past cycle_max are paid for by the other groups' time above their minima.
//!
//! Only when the minima alone exceed cycle_max does the cycle leave the range (minimum greens and
//! pedestrian intervals are never cut). Whenever the demand did not fit — oversaturated, C0 above
//! cycle_max, a split above max green — the plan says so in [`WebsterPlan::capped`].
//! Flows are range-checked first ([`check_flows`], [`MAX_FLOW_VPHPL`]).
//!
//! Pure and allocation-free; O(phases²) for at most [`MAX_PHASES`] phases.

mod cap;
mod fit;
mod flows;
pub mod lefts;

pub use cap::CapReason;
pub use flows::{check_flows, design_flows, FlowError, MAX_FLOW_VPHPL};

use crate::config::Site;
use crate::limits::{MAX_GROUPS, MAX_PHASES};
use crate::phase::{PhaseId, PhaseSet};
use fit::fit;

/// Flow ratio at and above which the intersection is taken as oversaturated.
pub const Y_OVERSATURATED: f32 = 0.95;

/// A computed fixed-time plan. All durations in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WebsterPlan {
    /// Webster's optimum before clamping, seconds (infinite when oversaturated).
    pub c0_s: f32,
    /// Cycle actually run: within the site's range unless the minima alone exceed cycle_max.
    pub cycle_ms: u32,
    /// Sum of the critical flow ratios.
    pub y_total: f32,
    /// Lost time on the critical path, ms.
    pub lost_ms: u32,
    /// Green (split) per phase index, ms, within [min green with pedestrian service, max green].
    /// Zero for unconfigured phases.
    pub green_ms: [u32; MAX_PHASES],
    /// Flow ratio per phase index.
    pub y: [f32; MAX_PHASES],
    /// Set when the demand did not fit the site's limits and the plan was capped.
    pub capped: Option<CapReason>,
    /// Protected lefts left out of the cycle: they run permissive-only on the flashing yellow
    /// arrow (green 0; `lefts`).
    pub permissive_only: PhaseSet,
}

/// Phases of one ring within one barrier group, in ring order (at most MAX_PHASES).
#[derive(Clone, Copy)]
struct RingGroup {
    n: usize,
    idx: [usize; MAX_PHASES],
    lo: [u32; MAX_PHASES],
    hi: [u32; MAX_PHASES],
    /// `hi` is the phase's dynamic max limit rather than its max green.
    dynamic: [bool; MAX_PHASES],
    y: [f32; MAX_PHASES],
    green: [u32; MAX_PHASES],
    lost_ms: u32,
}

impl RingGroup {
    fn total_ms(&self) -> u32 {
        self.lost_ms + self.green[..self.n].iter().sum::<u32>()
    }
    fn min_total_ms(&self) -> u32 {
        self.lost_ms + self.lo[..self.n].iter().sum::<u32>()
    }
    fn max_total_ms(&self) -> u32 {
        self.lost_ms + self.hi[..self.n].iter().sum::<u32>()
    }
}

/// Computes the plan from per-phase flows (veh/h, by phase index). Use the site's design volumes
/// ([`design_flows`]) or flows measured over the last trusted cycles. A flow that is not finite,
/// negative or above [`MAX_FLOW_VPHPL`] per lane counts as 0 or the limit (callers reject such flows
/// first with [`check_flows`]).
pub fn plan(site: &Site, flows_vph: &[f32; MAX_PHASES]) -> WebsterPlan {
    plan_with(site, flows_vph, &[0.0; MAX_PHASES])
}

/// As [`plan`], with saturation flows per lane measured at this intersection, by phase index
/// (`plan::saturation`); a phase with 0 (never measured) or a figure that cannot be traffic takes the
/// site's design value.
pub fn plan_with(site: &Site, flows_vph: &[f32; MAX_PHASES], sat_vphpl: &[f32; MAX_PHASES]) -> WebsterPlan {
    if site.fixed_time_protected_lefts {
        // Every protected left every cycle, sized for all its turners: the plan does not count on
        // the flashing yellow arrow at all.
        return plan_omitting(site, flows_vph, sat_vphpl, PhaseSet::EMPTY);
    }
    let mut omit = lefts::candidates(site, flows_vph);
    // Each round returns a left that the plan cannot carry to protected service: at most one round
    // per phase.
    let mut p = plan_omitting(site, flows_vph, sat_vphpl, omit);
    for _ in 0..MAX_PHASES {
        let short = lefts::short_of_capacity(site, flows_vph, sat_vphpl, &p, omit);
        if short.is_empty() {
            break;
        }
        omit = omit.difference(short);
        p = plan_omitting(site, flows_vph, sat_vphpl, omit);
    }
    // A protected left that also runs permissive (flashing yellow arrow while its opposing through
    // is green) needs protected time only for the turners its permissive period cannot carry
    // (HCM 2016 ch. 31, protected-permitted left turns): one more pass with those flows.
    let residual = lefts::protected_residual(site, flows_vph, sat_vphpl, &p, omit);
    if residual != *flows_vph {
        p = plan_omitting(site, &residual, sat_vphpl, omit);
    }
    p
}

/// Saturation flow per lane of phase index `i`: measured, else the site's design value.
pub(super) fn sat_per_lane(site: &Site, sat_vphpl: &[f32; MAX_PHASES], i: usize) -> f32 {
    let measured = sat_vphpl.get(i).copied().unwrap_or(0.0);
    if measured.is_finite() && (super::saturation::SAT_MIN_VPHPL..=MAX_FLOW_VPHPL).contains(&measured) {
        measured
    } else {
        site.saturation_flow_vphpl
    }
}

/// The plan with the protected lefts in `omit` left out of the cycle: each runs permissive-only on
/// its flashing yellow arrow while its opposing through is green, and that through's flow ratio is
/// the larger of its own and the left's over the permissive saturation flow (both are served by
/// the same green).
fn plan_omitting(
    site: &Site,
    flows_vph: &[f32; MAX_PHASES],
    sat_vphpl: &[f32; MAX_PHASES],
    omit: PhaseSet,
) -> WebsterPlan {
    let mut y = [0.0f32; MAX_PHASES];
    for ph in site.phases() {
        let i = ph.id.index();
        let lanes = f32::from(ph.lanes.max(1));
        let sat = sat_per_lane(site, sat_vphpl, i) * lanes;
        let q = flows_vph.get(i).copied().unwrap_or(0.0);
        let q = if q.is_finite() && q > 0.0 {
            q.min(MAX_FLOW_VPHPL * lanes)
        } else {
            0.0
        };
        if let Some(v) = y.get_mut(i) {
            *v = if sat.is_finite() && sat > 0.0 { q / sat } else { 0.0 };
        }
    }
    for l in omit.iter() {
        let Some(o) = site.phase(l).and_then(|ph| ph.permissive) else {
            continue;
        };
        let y_l = lefts::permissive_ratio(site, flows_vph, l, o);
        if let Some(v) = y.get_mut(l.index()) {
            *v = 0.0;
        }
        if let Some(v) = y.get_mut(o.index()) {
            *v = v.max(y_l);
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
            for p in ring.phases.iter().filter(|p| set.contains(**p) && !omit.contains(**p)) {
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
    let cmin_ms = site.cycle_min_ms;
    let cmax_ms = site.cycle_max_ms.max(cmin_ms);
    let cmin = cmin_ms as f32 / 1000.0;
    let cmax = cmax_ms as f32 / 1000.0;
    let cycle_s = if c0_s.is_finite() { c0_s.clamp(cmin, cmax) } else { cmax };
    let effective_s = (cycle_s - lost_s).max(0.0);
    let mut capped = CapReason::NONE;
    if !c0_s.is_finite() {
        capped.cycle_wanted_ms = u32::MAX;
    } else if c0_s > cmax {
        capped.cycle_wanted_ms = round_100(c0_s * 1000.0);
    }

    // Pass 1: Webster's split per ring, each green clamped to [min with pedestrians, max green];
    // the group lasts as long as its longest ring, within what every ring can show.
    let ngroups = site.groups.len().min(MAX_GROUPS);
    let nrings = site.rings.len().min(crate::limits::MAX_RINGS);
    let empty = RingGroup {
        n: 0,
        idx: [0; MAX_PHASES],
        lo: [0; MAX_PHASES],
        hi: [0; MAX_PHASES],
        dynamic: [false; MAX_PHASES],
        y: [0.0; MAX_PHASES],
        green: [0; MAX_PHASES],
        lost_ms: 0,
    };
    let mut rg = [[empty; crate::limits::MAX_RINGS]; MAX_GROUPS];
    let mut want_ms = [0u32; MAX_GROUPS];
    let mut lo_ms = [0u32; MAX_GROUPS];
    let mut hi_ms = [0u32; MAX_GROUPS];
    for (g, set) in site.groups.iter().enumerate().take(ngroups) {
        let gy = group_y.get(g).copied().unwrap_or(0.0);
        let group_green_s = if y_total > 0.0 {
            effective_s * gy / y_total
        } else {
            effective_s / ngroups as f32
        };
        let group_time_s = group_green_s + group_lost_ms.get(g).copied().unwrap_or(0) as f32 / 1000.0;
        let mut longest = 0u32;
        let mut lo_g = 0u32;
        let mut hi_g = u32::MAX;
        for (r, ring) in site.rings.iter().enumerate().take(nrings) {
            let Some(cell) = rg.get_mut(g).and_then(|row| row.get_mut(r)) else {
                continue;
            };
            for ph in ring
                .phases
                .iter()
                .filter(|p| set.contains(**p) && !omit.contains(**p))
                .filter_map(|p| site.phase(*p))
            {
                let k = cell.n;
                if k >= MAX_PHASES {
                    break;
                }
                let i = ph.id.index();
                cell.idx[k] = i;
                cell.lo[k] = ph.min_green_ms;
                cell.hi[k] = ph.max_green_ms.max(ph.dynamic_max_ms).max(cell.lo[k]);
                cell.dynamic[k] = ph.dynamic_max_ms > ph.max_green_ms.max(cell.lo[k]);
                cell.y[k] = y.get(i).copied().unwrap_or(0.0);
                cell.lost_ms += site.change_ms(ph.id);
                cell.n += 1;
            }
            if cell.n == 0 {
                continue;
            }
            let ring_green_s = (group_time_s - cell.lost_ms as f32 / 1000.0).max(0.0);
            let sum_y: f32 = cell.y[..cell.n].iter().sum();
            for k in 0..cell.n {
                let share = if sum_y > 0.0 {
                    cell.y[k] / sum_y
                } else {
                    1.0 / cell.n as f32
                };
                let g_ms = round_100(ring_green_s * share * 1000.0);
                if g_ms > cell.hi[k] {
                    if let (Some(w), Some(m), Some(d)) = (
                        capped.green_wanted_ms.get_mut(cell.idx[k]),
                        capped.green_max_ms.get_mut(cell.idx[k]),
                        capped.green_cap_dynamic.get_mut(cell.idx[k]),
                    ) {
                        *w = g_ms;
                        *m = cell.hi[k];
                        *d = cell.dynamic[k];
                    }
                }
                cell.green[k] = g_ms.clamp(cell.lo[k], cell.hi[k]);
            }
            longest = longest.max(cell.total_ms());
            lo_g = lo_g.max(cell.min_total_ms());
            hi_g = hi_g.min(cell.max_total_ms());
        }
        // A ring whose maxima end before another ring's minima waits at the barrier; a group
        // without phases takes no time.
        let hi_g = if hi_g == u32::MAX { lo_g } else { hi_g.max(lo_g) };
        if let (Some(w), Some(l), Some(h)) = (want_ms.get_mut(g), lo_ms.get_mut(g), hi_ms.get_mut(g)) {
            *w = longest.clamp(lo_g, hi_g);
            *l = lo_g;
            *h = hi_g;
        }
    }

    // Pass 2: the cycle within [cycle_min, cycle_max], each group within what its rings can show.
    let wanted: u32 = want_ms.iter().sum();
    let minima: u32 = lo_ms.iter().sum();
    let mut group_ms = want_ms;
    if wanted > cmax_ms {
        if capped.cycle_wanted_ms != u32::MAX {
            capped.cycle_wanted_ms = capped.cycle_wanted_ms.max(wanted);
        }
        if minima > cmax_ms {
            capped.minima_ms = minima;
        }
        fit(
            &mut group_ms[..ngroups],
            &lo_ms[..ngroups],
            &hi_ms[..ngroups],
            &group_y[..ngroups],
            cmax_ms,
        );
    } else if wanted < cmin_ms {
        fit(
            &mut group_ms[..ngroups],
            &lo_ms[..ngroups],
            &hi_ms[..ngroups],
            &group_y[..ngroups],
            cmin_ms,
        );
    }

    // Pass 3: every ring reaches the barrier with its group (the shorter ring's phases share the
    // slack by flow ratio, a longer one gives back time above its minima), within each phase's limits.
    let mut green_ms = [0u32; MAX_PHASES];
    let mut cycle_ms = 0u32;
    for (g, row) in rg.iter_mut().enumerate().take(ngroups) {
        let target = group_ms.get(g).copied().unwrap_or(0);
        let mut longest = 0u32;
        for cell in row.iter_mut().take(nrings).filter(|c| c.n > 0) {
            let n = cell.n;
            fit(
                &mut cell.green[..n],
                &cell.lo[..n],
                &cell.hi[..n],
                &cell.y[..n],
                target.saturating_sub(cell.lost_ms),
            );
            for k in 0..n {
                if let Some(v) = green_ms.get_mut(cell.idx[k]) {
                    *v = cell.green[k];
                }
            }
            longest = longest.max(cell.total_ms());
        }
        cycle_ms += longest;
    }
    capped.cycle_max_ms = cmax_ms;
    WebsterPlan {
        c0_s,
        cycle_ms,
        y_total,
        lost_ms,
        green_ms,
        y,
        capped: capped.any().then_some(capped),
        permissive_only: omit,
    }
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

    const NEMA8: &str = include_str!("../../board/sites/nema8-4leg.toml");

    /// The reference site with every protected left every cycle: Webster's arithmetic by hand.
    fn site() -> Site {
        Site::parse(&protected(NEMA8), "nema8-4leg.toml").unwrap()
    }

    fn protected(text: &str) -> String {
        text.replace(
            "flash = \"red\"\n",
            "flash = \"red\"\nfixed_time_lefts = \"protected\"\n",
        )
    }

    /// The reference site as shipped (`fixed_time_lefts` by volume).
    fn site_by_volume() -> Site {
        Site::parse(NEMA8, "nema8-4leg.toml").unwrap()
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
        // 19.81 × 0.05/0.19167 = 5.17 → 5.2 s, phase 2 19.81 × 0.14167/0.19167 = 14.64 → 14.6 s
        // (above its 10 s min green; a served crossing lengthens it to walk 7 + clearance 16.4 =
        // 23.4 s in that cycle, in the engine), so the group is 5.2 + 14.6 + 11.0 = 30.8 s.
        let p1 = PhaseId::new(1).unwrap();
        let p2 = PhaseId::new(2).unwrap();
        assert_eq!(p.green(p1), 5_200);
        assert_eq!(p.green(p2), 14_600);
        assert_eq!(p.cycle_ms, 2 * 30_800);
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
        // Lefts get only their min green (5 s); throughs at least their 10 s min green.
        assert_eq!(p.green(PhaseId::new(1).unwrap()), 5_000);
        assert!(p.green(PhaseId::new(2).unwrap()) >= 10_000);
        assert!(p.cycle_ms >= s.cycle_min_ms);
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

    /// Every configured phase's green within [min green, max green]; the cycle within
    /// [cycle_min, cycle_max] (the nema8 minima fit: 2 × (5 + 10 + 11) = 52 s ≤ 120 s).
    fn assert_within_limits(s: &Site, p: &WebsterPlan) {
        for ph in s.phases() {
            let g = p.green(ph.id);
            if p.permissive_only.contains(ph.id) {
                assert!(ph.permissive.is_some() && g == 0, "phase {}: {p:?}", ph.id.number());
                continue;
            }
            let hi = ph.max_green_ms.max(ph.dynamic_max_ms);
            assert!(
                (ph.min_green_ms..=hi).contains(&g),
                "phase {} green {g} outside [{}, {hi}]: {p:?}",
                ph.id.number(),
                ph.min_green_ms,
            );
        }
        assert!(
            (s.cycle_min_ms..=s.cycle_max_ms).contains(&p.cycle_ms),
            "cycle {} outside [{}, {}]: {p:?}",
            p.cycle_ms,
            s.cycle_min_ms,
            s.cycle_max_ms
        );
    }

    /// Design volumes × 1.5: Y = 0.575, C0 = 38.0 / 0.425 = 89.4 s; through 24.9 s, left 8.8 s —
    /// Webster's figures fit the limits, so the plan is not capped.
    #[test]
    fn design_volumes_x1_5_within_limits() {
        let s = site();
        let mut f = design_flows(&s);
        for v in f.iter_mut() {
            *v *= 1.5;
        }
        let p = plan(&s, &f);
        assert_within_limits(&s, &p);
        assert_eq!(p.green(PhaseId::new(2).unwrap()), 24_900);
        assert_eq!(p.green(PhaseId::new(1).unwrap()), 8_800);
        assert_eq!(p.cycle_ms, 89_400);
        assert_eq!(p.capped, None);
    }

    /// A directional peak (northbound left 400 veh/h, through 1500 veh/h on 2 lanes): y = 0.222 and
    /// 0.417, Y = 0.831, C0 = 224 s → 120 s; Webster's split gives the left 26.2 s (max 20) and the
    /// through 49.2 s (max 45), and ring 2 would have to wait 55.7 s of green at the barrier. The plan
    /// caps both phases, keeps ring 2 within its max greens, and the cycle within 120 s.
    #[test]
    fn directional_peak_capped_at_max_green() {
        let s = site();
        let mut f = design_flows(&s);
        f[0] = 400.0;
        f[1] = 1500.0;
        let p = plan(&s, &f);
        assert_within_limits(&s, &p);
        assert_eq!(p.green(PhaseId::new(1).unwrap()), 20_000);
        assert_eq!(p.green(PhaseId::new(2).unwrap()), 45_000);
        // Group 1 = 20 + 45 + 11 = 76 s on both rings; group 2 keeps its split 5.9 + 16.7 + 11.
        assert_eq!(p.green(PhaseId::new(4).unwrap()), 16_700);
        assert_eq!(p.cycle_ms, 76_000 + 33_600);
        let c = p.capped.expect("capped");
        assert_eq!(c.cycle_wanted_ms, 224_300);
        assert_eq!((c.green_wanted_ms[0], c.green_max_ms[0]), (26_200, 20_000));
        assert_eq!((c.green_wanted_ms[1], c.green_max_ms[1]), (49_200, 45_000));
        let text = c.to_string();
        assert!(
            text.starts_with("demand does not fit: Webster cycle 224.3 s capped to 120 s"),
            "{text}"
        );
        assert!(
            text.contains("phase 1 green 26.2 s capped to 20 s (max green)"),
            "{text}"
        );
        assert!(
            text.contains("phase 2 green 49.2 s capped to 45 s (max green)"),
            "{text}"
        );
    }

    /// The same peak where the throughs have a dynamic max up to 60 s. Group 1 keeps Webster's
    /// 26.2 + 49.2 + 11 = 86.4 s: ring 2 shares it by y (phase 5 19.7 s, phase 6 55.7 s, under 60 s
    /// now instead of cut to 45), and ring 1, whose phase 1 is cut to its 20 s max green (no dynamic
    /// max), gives the slack to phase 2: 86.4 − 11 − 20 = 55.4 s. Cycle 86.4 + 33.6 = 120 s.
    #[test]
    fn a_dynamic_max_limit_bounds_the_split_instead_of_max_green() {
        let text = protected(NEMA8).replace(
            "max_green_s = 45\n",
            "max_green_s = 45\ndynamic_max_s = 60\ndynamic_step_s = 5\n",
        );
        let s = Site::parse(&text, "nema8-4leg.toml").unwrap();
        assert_eq!(
            s.phase(PhaseId::new(2).unwrap()).map(|ph| ph.dynamic_max_ms),
            Some(60_000)
        );
        let mut f = design_flows(&s);
        f[0] = 400.0;
        f[1] = 1500.0;
        let p = plan(&s, &f);
        assert_within_limits(&s, &p);
        assert_eq!(p.green(PhaseId::new(2).unwrap()), 55_400);
        assert_eq!(p.green(PhaseId::new(1).unwrap()), 20_000);
        assert_eq!(p.cycle_ms, 86_400 + 33_600);
        assert_eq!(p.green(PhaseId::new(5).unwrap()), 19_700);
        assert_eq!(p.green(PhaseId::new(6).unwrap()), 55_700);
        let c = p.capped.expect("phase 1 still capped");
        assert_eq!((c.green_wanted_ms[1], c.green_max_ms[1]), (0, 0));
        assert!(!c.green_cap_dynamic[0], "phase 1 has no dynamic max");
        assert!(
            c.to_string()
                .contains("phase 1 green 26.2 s capped to 20 s (max green)"),
            "{c}"
        );
    }

    /// A split above the dynamic max limit is capped to the limit, and the plan's explanation
    /// names the limit it hit rather than max green.
    #[test]
    fn a_split_above_the_dynamic_max_limit_says_so() {
        let text = protected(NEMA8).replace(
            "max_green_s = 45\n",
            "max_green_s = 45\ndynamic_max_s = 50\ndynamic_step_s = 5\n",
        );
        let s = Site::parse(&text, "nema8-4leg.toml").unwrap();
        let mut f = design_flows(&s);
        f[0] = 400.0;
        f[1] = 1500.0;
        let p = plan(&s, &f);
        assert_within_limits(&s, &p);
        assert_eq!(p.green(PhaseId::new(6).unwrap()), 50_000);
        let c = p.capped.expect("capped");
        assert_eq!((c.green_wanted_ms[5], c.green_max_ms[5]), (55_700, 50_000));
        assert_eq!((c.green_cap_dynamic[5], c.green_cap_dynamic[0]), (true, false));
        let text = c.to_string();
        assert!(
            text.contains("phase 6 green 55.7 s capped to 50 s (dynamic max limit)"),
            "{text}"
        );
        assert!(
            text.contains("phase 1 green 26.2 s capped to 20 s (max green)"),
            "{text}"
        );
    }

    /// Oversaturation is reported, and the splits at the maximum cycle still fit max green.
    #[test]
    fn oversaturated_is_reported() {
        let s = site();
        let mut f = design_flows(&s);
        for v in f.iter_mut() {
            *v *= 3.0;
        }
        let p = plan(&s, &f);
        assert_within_limits(&s, &p);
        let c = p.capped.expect("capped");
        assert_eq!(c.cycle_wanted_ms, u32::MAX);
        assert!(c.to_string().contains("oversaturated"), "{c}");
    }

    /// Flows that cannot be traffic are refused whole (NaN, ±inf, negative, 1e12, above
    /// 3,000 veh/h per lane), and `plan` alone never lets them past its limits either.
    #[test]
    fn impossible_flows_rejected() {
        let s = site();
        assert_eq!(check_flows(&s, &design_flows(&s)), Ok(()));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1.0, 1e12, 6_000.1] {
            let mut f = design_flows(&s);
            f[1] = bad; // phase 2: 2 lanes, limit 6,000 veh/h
            let e = check_flows(&s, &f).expect_err("rejected");
            assert_eq!(e.phase, 2);
            assert_eq!(e.limit_vph, 6_000.0);
            assert_within_limits(&s, &plan(&s, &f));
        }
        let mut f = design_flows(&s);
        f[1] = 6_000.0;
        assert_eq!(check_flows(&s, &f), Ok(()));
    }

    fn flow() -> impl proptest::strategy::Strategy<Value = f32> {
        use proptest::prelude::*;
        prop_oneof![
            4 => 0.0f32..4_000.0,
            1 => Just(f32::NAN),
            1 => Just(f32::INFINITY),
            1 => Just(-5.0f32),
            1 => Just(1e12f32),
            1 => any::<f32>(),
        ]
    }

    /// With `fixed_time_lefts` by volume (the default), the design volumes' lefts (90 veh/h
    /// against 510: cross product 45,900 ≤ 90,000 for two opposing lanes) run permissive-only: green
    /// 0, and their change and clearance time goes back to the cycle. A heavy left (300 × 510 =
    /// 153,000) keeps its arrow. The site's "protected" keeps all four.
    #[test]
    fn light_lefts_run_permissive_only_and_heavy_ones_keep_their_arrow() {
        let s = site_by_volume();
        let f = design_flows(&s);
        let p = plan(&s, &f);
        let mut lefts = PhaseSet::EMPTY;
        for n in [1, 3, 5, 7] {
            lefts.insert(PhaseId::new(n).unwrap());
        }
        assert_eq!(p.permissive_only, lefts);
        for l in lefts.iter() {
            assert_eq!(p.green(l), 0);
        }
        // Only the throughs' change intervals are lost: 4 × 5.5 s.
        assert_eq!(p.lost_ms, 11_000);
        assert_within_limits(&s, &p);
        let all = plan(&site(), &f);
        assert!(all.permissive_only.is_empty());
        assert!(p.cycle_ms < all.cycle_ms, "{} vs {}", p.cycle_ms, all.cycle_ms);

        let mut heavy = f;
        heavy[0] = 300.0;
        let p = plan(&s, &heavy);
        assert!(!p.permissive_only.contains(PhaseId::new(1).unwrap()));
        assert!(p.green(PhaseId::new(1).unwrap()) >= 5_000);
        assert!(p.permissive_only.contains(PhaseId::new(5).unwrap()));
        assert_within_limits(&s, &p);
    }

    /// A left that passes the cross-product test but whose permissive period cannot carry it in
    /// the plan keeps its arrow. By hand, phase 1 (80 veh/h) against phase 2 (400 veh/h on 2
    /// lanes) in a 120 s cycle where 2 is green 10 s: the opposing queue of the 110 s red clears in
    /// 110 × 200 / (1800 − 200) = 13.75 s > 10 s, so only the 2 sneakers per cycle go (60 veh/h),
    /// and 80 > 0.5 × 60.
    #[test]
    fn a_left_short_of_permissive_capacity_keeps_its_arrow() {
        let s = site_by_volume();
        let mut f = design_flows(&s);
        f[0] = 80.0;
        f[1] = 400.0;
        let mut p = plan(&s, &f);
        p.cycle_ms = 120_000;
        p.green_ms[1] = 10_000;
        let l = PhaseId::new(1).unwrap();
        let o = PhaseId::new(2).unwrap();
        let cap = lefts::permissive_capacity_vph(&s, &f, &[0.0; MAX_PHASES], &p, l, o);
        assert!((cap - 60.0).abs() < 0.01, "{cap}");
        let mut omit = PhaseSet::EMPTY;
        omit.insert(l);
        assert_eq!(lefts::short_of_capacity(&s, &f, &[0.0; MAX_PHASES], &p, omit), omit);
        // With 30 s of opposing green the permissive period carries it.
        p.green_ms[1] = 30_000;
        assert!(lefts::short_of_capacity(&s, &f, &[0.0; MAX_PHASES], &p, omit).is_empty());
    }

    /// A protected left that also runs permissive is sized for the turners its flashing yellow
    /// arrow period leaves over: less protected time than the same left with the site's
    /// "protected" (which does not count on the flashing arrow), and never below its min green.
    #[test]
    fn protected_permissive_lefts_are_sized_for_what_the_arrow_leaves() {
        let mut f = design_flows(&site());
        for l in [0, 2, 4, 6] {
            f[l] = 300.0; // cross product 153,000: protected
        }
        let by_volume = plan(&site_by_volume(), &f);
        let all = plan(&site(), &f);
        assert!(by_volume.permissive_only.is_empty());
        for l in [1, 3, 5, 7] {
            let l = PhaseId::new(l).unwrap();
            assert!(by_volume.green(l) < all.green(l), "{l:?}: {by_volume:?} vs {all:?}");
            assert!(by_volume.green(l) >= 5_000);
        }
        assert!(by_volume.cycle_ms <= all.cycle_ms);
    }

    proptest::proptest! {
        /// Any flows at all: greens within [min, max], cycle within range, rings level at every
        /// barrier — on the reference site and on one with a 90 s maximum cycle (its minima,
        /// 78.8 s, still fit).
        #[test]
        fn any_flows_stay_within_limits(
            f in proptest::array::uniform8(flow()),
            short in proptest::bool::ANY,
            by_volume in proptest::bool::ANY,
        ) {
            let text = if by_volume { NEMA8.to_string() } else { protected(NEMA8) };
            let text = if short { text.replace("cycle_max_s = 120", "cycle_max_s = 90") } else { text };
            let s = Site::parse(&text, "site.toml").unwrap();
            let p = plan(&s, &f);
            assert_within_limits(&s, &p);
            for set in s.groups.iter() {
                let totals: heapless::Vec<u32, 4> = s
                    .rings
                    .iter()
                    .map(|ring| {
                        ring.phases
                            .iter()
                            .filter(|x| set.contains(**x) && !p.permissive_only.contains(**x))
                            .map(|x| p.green(*x) + s.change_ms(*x))
                            .sum()
                    })
                    .collect();
                proptest::prop_assert_eq!(totals[0], totals[1]);
            }
        }
    }
}
