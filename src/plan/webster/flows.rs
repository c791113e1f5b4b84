//! The flows a plan is computed from: the site's design volumes, and the range check every
//! measured or restored flow passes before it reaches the plan (a counter or storage fault is not
//! traffic).

use crate::config::Site;
use crate::limits::MAX_PHASES;
use crate::phase::PhaseId;

/// Highest flow accepted per lane, veh/h. HCM 6th ed. takes 1,900 pc/h/ln as the base saturation
/// flow of a signalised lane and 2,400 pc/h/ln as the capacity of a basic freeway lane; 3,000 veh/h
/// (a 1.2 s headway) is above what any lane can carry, so a larger figure is a counting or storage
/// fault, not traffic.
pub const MAX_FLOW_VPHPL: f32 = 3_000.0;

/// A flow that cannot be traffic (see [`check_flows`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowError {
    /// Phase number (NEMA 1..=8) or index + 1 for a flow given to an unconfigured phase.
    pub phase: u8,
    pub value_vph: f32,
    /// The phase's limit: [`MAX_FLOW_VPHPL`] × lanes.
    pub limit_vph: f32,
}

impl core::fmt::Display for FlowError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "phase {} flow {} veh/h is not within 0..={} veh/h ({} veh/h per lane)",
            self.phase, self.value_vph, self.limit_vph, MAX_FLOW_VPHPL
        )
    }
}

/// Accepts flows only if every value is finite, non-negative and at most [`MAX_FLOW_VPHPL`] per
/// lane of its phase (an unconfigured phase must be 0). Flows from a state file or a counter pass
/// here before they reach the plan.
pub fn check_flows(site: &Site, flows_vph: &[f32; MAX_PHASES]) -> Result<(), FlowError> {
    for (i, &q) in flows_vph.iter().enumerate() {
        let lanes = PhaseId::from_index(i)
            .and_then(|p| site.phase(p))
            .map_or(0, |ph| ph.lanes.max(1));
        let limit_vph = MAX_FLOW_VPHPL * f32::from(lanes);
        if !(q.is_finite() && (0.0..=limit_vph).contains(&q)) {
            return Err(FlowError {
                phase: u8::try_from(i + 1).unwrap_or(u8::MAX),
                value_vph: q,
                limit_vph,
            });
        }
    }
    Ok(())
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
