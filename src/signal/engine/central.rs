//! Central phase control: the NTCIP 1202 phase control group (`phaseControlGroupPhaseOmit`,
//! `…PedOmit`, `…Hold`, `…ForceOff`) as a traffic management centre sets it, applied inside the
//! engine's safety envelope (docs/safety.md 3):
//!
//! - **Omit**: a phase's calls are not served while omitted (its locked calls wait); a phase already
//!   timing is never cut, it runs its green, yellow and red clearance as usual.
//! - **Pedestrian omit**: no new pedestrian call (button or recall) is registered on the phase; a
//!   WALK already shown runs its full walk and clearance.
//! - **Hold**: a held green does not gap out (nor end at a planner's force-off point), but its max
//!   timer still runs: a hold never keeps a green past its max green.
//! - **Force-off**: a green ends at the earliest legal point — after its min green and the
//!   pedestrian intervals, never before.
//!
//! Each change is logged per phase with the Indiana hi-res codes 41/42 (hold on/released), 46/47
//! (phase omit on/off) and 48/49 (pedestrian omit on/off); a force-off shows as the green's end
//! reason (code 6).

use crate::events::{code, EventRing};
use crate::phase::{PhaseId, PhaseSet};
use crate::time::Instant;

use super::ring::RingStatus;
use super::{EndReason, Engine, PedInterval};

/// One kind of central phase control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhaseControl {
    Omit,
    PedOmit,
    Hold,
    ForceOff,
}

/// The phase control sets in force.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseControls {
    pub omit: PhaseSet,
    pub ped_omit: PhaseSet,
    pub hold: PhaseSet,
    pub force_off: PhaseSet,
}

impl Engine {
    /// The central phase controls in force.
    pub fn phase_controls(&self) -> PhaseControls {
        self.central
    }

    /// Replaces the set of phases under control `kind` and logs each phase that changed.
    pub fn set_phase_control(&mut self, kind: PhaseControl, phases: PhaseSet, now: Instant, ev: &mut EventRing) {
        let (slot, on, off) = match kind {
            PhaseControl::Omit => (
                &mut self.central.omit,
                Some(code::PHASE_OMIT_ON),
                Some(code::PHASE_OMIT_OFF),
            ),
            PhaseControl::PedOmit => (
                &mut self.central.ped_omit,
                Some(code::PED_OMIT_ON),
                Some(code::PED_OMIT_OFF),
            ),
            PhaseControl::Hold => (
                &mut self.central.hold,
                Some(code::PHASE_HOLD_ACTIVE),
                Some(code::PHASE_HOLD_RELEASED),
            ),
            // A force-off is seen when it acts: the green ends with code 6.
            PhaseControl::ForceOff => (&mut self.central.force_off, None, None),
        };
        let old = *slot;
        *slot = phases;
        for p in PhaseId::all() {
            let code = match (old.contains(p), phases.contains(p)) {
                (false, true) => on,
                (true, false) => off,
                _ => None,
            };
            if let Some(c) = code {
                ev.push(now, c, u16::from(p.number()));
            }
        }
    }

    /// Locked calls the sequence may serve: every call but those of omitted phases.
    pub(super) fn pending_calls(&self) -> PhaseSet {
        self.calls.union(self.ped_calls).difference(self.central.omit)
    }

    /// Whether a pedestrian call on `p` may be registered (not under pedestrian omit).
    pub(super) fn ped_call_allowed(&self, p: PhaseId) -> bool {
        !self.central.ped_omit.contains(p)
    }

    /// The end of green `p` in `ring` with central control applied to `reason` (what the plan and
    /// the detectors decided): a hold keeps the green unless its max is reached, a force-off ends
    /// it as soon as min green and the pedestrian intervals allow. `max_ms`: the phase's running
    /// max green.
    pub(super) fn central_end(
        &self,
        ring: &RingStatus,
        max_ms: u32,
        p: PhaseId,
        now: Instant,
        reason: Option<EndReason>,
    ) -> Option<EndReason> {
        if ring.end.is_some() {
            return reason; // already decided: the ring is waiting at the barrier
        }
        let legal = ring.min_done && ring.ped == PedInterval::DontWalk;
        let maxed = ring.max_start.is_some_and(|ms| now.since(ms) >= u64::from(max_ms));
        if self.central.hold.contains(p) {
            return if legal && maxed { Some(EndReason::MaxOut) } else { None };
        }
        if self.central.force_off.contains(p) && legal && reason.is_none() {
            return Some(EndReason::ForceOff);
        }
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_logs_each_phase_once() {
        let mut e = Engine::new(Instant(0));
        let mut ev = EventRing::new();
        let p2 = PhaseId::new(2).unwrap();
        let p6 = PhaseId::new(6).unwrap();
        e.set_phase_control(
            PhaseControl::Hold,
            PhaseSet::EMPTY.with(p2).with(p6),
            Instant(5),
            &mut ev,
        );
        e.set_phase_control(PhaseControl::Hold, PhaseSet::EMPTY.with(p6), Instant(9), &mut ev);
        let got: Vec<(u8, u16)> = ev.iter().map(|e| (e.code, e.param)).collect();
        assert_eq!(
            got,
            [
                (code::PHASE_HOLD_ACTIVE, 2),
                (code::PHASE_HOLD_ACTIVE, 6),
                (code::PHASE_HOLD_RELEASED, 2)
            ]
        );
        assert_eq!(e.phase_controls().hold, PhaseSet::EMPTY.with(p6));
    }
}
