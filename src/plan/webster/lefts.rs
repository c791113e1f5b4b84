//! Which protected/permissive lefts the fixed-time plan may run permissive-only.
//!
//! A left-turn phase with a flashing yellow arrow (`permissive = N` in the site file) can serve its
//! turners in two ways: on its own protected green arrow, which costs every cycle the phase's
//! minimum green and its yellow and red clearance, or on the flashing yellow arrow while the
//! opposing through (phase N) is green, yielding to it. Actuated control skips the protected phase
//! whenever nobody is left waiting; fixed time cannot see that, so it must decide per plan. A light
//! left runs permissive-only (green 0 in the plan, never called by fixed time), which gives its
//! change and clearance time back to the cycle; a left is kept protected when either test fails:
//!
//! 1. **Exposure** — the cross-product guideline for left-turn phasing
//!    ([`cross_product_ok`]): left-turn flow × opposing flow (veh/h × veh/h) at most 50,000 against
//!    one opposing lane, 90,000 against two, 110,000 against three or more;
//! 2. **Capacity** — in the plan that leaves it out, the left's permissive capacity carries its
//!    flow at a degree of saturation of at most [`X_MAX`]. Turners go only in the part of the
//!    opposing green after the opposing queue has cleared, `g_u = g − r·v/(s − v)` per opposing
//!    lane (the queue that formed during the red `r` clears at `s − v`), at the permitted-left
//!    saturation flow of HCM 2016 ch. 31:
//!
//!    ```text
//!    s_p = v_o e^(−v_o t_cg / 3600) / (1 − e^(−v_o t_fh / 3600))      t_cg = 4.5 s, t_fh = 2.5 s
//!    c   = s_p · g_u / C + 2 · 3600 / C                                (2 sneakers per cycle)
//!    ```
//!
//!    where `v_o` is the opposing flow (veh/h, all its lanes).
//!
//! A left that keeps its arrow also turns on the flashing arrow: its protected phase is sized for
//! its flow less its permissive capacity in the plan ([`protected_residual`]).
//!
//! While the left is permissive-only, its flow ratio `q / s_p` counts towards the opposing through's
//! green (both are served by it). A site that wants every protected left every cycle sets
//! `fixed_time_lefts = "protected"`.

use super::{sat_per_lane, WebsterPlan};
use crate::config::Site;
use crate::limits::MAX_PHASES;
use crate::phase::{PhaseId, PhaseSet};
use crate::plan::adaptive::cross_product_ok;

/// Critical gap of a permitted left turn, s (HCM 2016 ch. 31).
pub const CRITICAL_GAP_S: f32 = 4.5;
/// Follow-up headway of a permitted left turn, s (HCM 2016 ch. 31).
pub const FOLLOW_UP_S: f32 = 2.5;
/// Left turners that clear at the end of the opposing green ("sneakers"), per cycle.
pub const SNEAKERS: f32 = 2.0;
/// Highest degree of saturation a permissive-only left may run at in a fixed-time plan. Below 1
/// because the plan cannot react: arrivals are random from cycle to cycle.
pub const X_MAX: f32 = 0.5;

fn flow(flows_vph: &[f32; MAX_PHASES], p: PhaseId) -> f32 {
    let q = flows_vph.get(p.index()).copied().unwrap_or(0.0);
    if q.is_finite() && q > 0.0 {
        q
    } else {
        0.0
    }
}

/// The flows with anything that is not a positive finite number as 0.
fn nonneg(flows_vph: &[f32; MAX_PHASES]) -> [f32; MAX_PHASES] {
    let mut f = [0.0; MAX_PHASES];
    for (i, q) in f.iter_mut().enumerate() {
        if let Some(p) = PhaseId::from_index(i) {
            *q = flow(flows_vph, p);
        }
    }
    f
}

/// Permitted-left saturation flow per lane against an opposing flow of `v_o` veh/h.
pub fn permitted_saturation_vphpl(v_o: f32) -> f32 {
    let v = v_o.max(0.0);
    if v < 1.0 {
        return 3600.0 / FOLLOW_UP_S;
    }
    let num = v * (-v * CRITICAL_GAP_S / 3600.0).exp();
    let den = 1.0 - (-v * FOLLOW_UP_S / 3600.0).exp();
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// Lefts that pass the exposure test (1): a left-turn phase with a permissive display whose
/// opposing phase is configured.
pub fn candidates(site: &Site, flows_vph: &[f32; MAX_PHASES]) -> PhaseSet {
    let mut set = PhaseSet::EMPTY;
    for ph in site.phases() {
        let Some(o) = ph.permissive else { continue };
        if site.phase(o).is_some() && cross_product_ok(site, &nonneg(flows_vph), ph.id, o) {
            set.insert(ph.id);
        }
    }
    set
}

/// Flow ratio of left `l` served permissive-only while `o` is green.
pub fn permissive_ratio(site: &Site, flows_vph: &[f32; MAX_PHASES], l: PhaseId, o: PhaseId) -> f32 {
    let lanes = f32::from(site.phase(l).map_or(1, |ph| ph.lanes.max(1)));
    let s = permitted_saturation_vphpl(flow(flows_vph, o)) * lanes;
    if s > 0.0 {
        flow(flows_vph, l) / s
    } else {
        f32::INFINITY
    }
}

/// Permissive capacity of left `l` (veh/h) in `plan`, served while `o` is green.
pub fn permissive_capacity_vph(
    site: &Site,
    flows_vph: &[f32; MAX_PHASES],
    sat_vphpl: &[f32; MAX_PHASES],
    plan: &WebsterPlan,
    l: PhaseId,
    o: PhaseId,
) -> f32 {
    let (Some(left), Some(opp)) = (site.phase(l), site.phase(o)) else {
        return 0.0;
    };
    let c = plan.cycle_ms as f32 / 1000.0;
    if c <= 0.0 {
        return 0.0;
    }
    let g = plan.green(o) as f32 / 1000.0;
    let r = (c - g).max(0.0);
    let v_o = flow(flows_vph, o);
    let v = v_o / f32::from(opp.lanes.max(1));
    let s = sat_per_lane(site, sat_vphpl, o.index());
    if v >= s {
        return 0.0; // the opposing queue never clears
    }
    let queue_clear = r * v / (s - v);
    let unsaturated = (g - queue_clear).max(0.0);
    permitted_saturation_vphpl(v_o) * f32::from(left.lanes.max(1)) * unsaturated / c + SNEAKERS * 3600.0 / c
}

/// Of the lefts `omit` that `plan` runs permissive-only, those whose flow exceeds [`X_MAX`] of
/// their permissive capacity (test 2).
pub fn short_of_capacity(
    site: &Site,
    flows_vph: &[f32; MAX_PHASES],
    sat_vphpl: &[f32; MAX_PHASES],
    plan: &WebsterPlan,
    omit: PhaseSet,
) -> PhaseSet {
    let mut short = PhaseSet::EMPTY;
    for l in omit.iter() {
        let Some(o) = site.phase(l).and_then(|ph| ph.permissive) else {
            short.insert(l);
            continue;
        };
        let cap = permissive_capacity_vph(site, flows_vph, sat_vphpl, plan, l, o);
        if flow(flows_vph, l) > X_MAX * cap {
            short.insert(l);
        }
    }
    short
}

/// The flows with each protected/permissive left (one with a permissive display that `plan` keeps
/// protected, i.e. not in `omit`) reduced by its permissive capacity in `plan`: HCM 2016 ch. 31
/// credits the permitted period of a protected-permitted left in full. Unlike a permissive-only
/// left (held to [`X_MAX`]), a turner the flashing period does not carry still has the arrow of
/// the next cycle. The others are unchanged.
pub fn protected_residual(
    site: &Site,
    flows_vph: &[f32; MAX_PHASES],
    sat_vphpl: &[f32; MAX_PHASES],
    plan: &WebsterPlan,
    omit: PhaseSet,
) -> [f32; MAX_PHASES] {
    let mut out = *flows_vph;
    for ph in site.phases().filter(|ph| !omit.contains(ph.id)) {
        let Some(o) = ph.permissive else { continue };
        let cap = permissive_capacity_vph(site, flows_vph, sat_vphpl, plan, ph.id, o);
        if let Some(q) = out.get_mut(ph.id.index()) {
            *q = (flow(flows_vph, ph.id) - cap).max(0.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HCM's permitted-left saturation flow: 3600 / t_fh with no opposing traffic, falling as the
    /// opposing flow grows. Hand-computed at 510 veh/h: 510 · e^(−0.6375) / (1 − e^(−0.35417)) =
    /// 510 · 0.52862 / 0.29824 = 904 veh/h.
    #[test]
    fn permitted_saturation_flow_hand_computed() {
        assert!((permitted_saturation_vphpl(0.0) - 1440.0).abs() < 0.1);
        assert!((permitted_saturation_vphpl(510.0) - 904.0).abs() < 1.0);
        assert!(permitted_saturation_vphpl(1_500.0) < permitted_saturation_vphpl(510.0));
    }
}
