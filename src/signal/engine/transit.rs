//! Transit signal priority (NTCIP 1211): a checked-in bus holds or brings forward its green.
//!
//! A request comes from a cabinet input (a checked-in bus) by the phase serving it
//! (`Demand::transit`); it also calls that phase. Where the site enables transit priority:
//! - **green extension**: a green the bus runs on is held past the point it would have ended (gap,
//!   max or force-off) for up to the site's extension limit, once per service (event 114);
//! - **early green**: a green conflicting with a waiting bus ends as soon as its min green and
//!   pedestrian intervals allow (event 113, parameter = the bus's phase).
//!
//! Check-in and check-out of a request are events 112 and 115. Min green and the pedestrian
//! intervals are never cut short for a bus (docs/safety.md 3), nor are yellow and red clearance
//! (docs/safety.md 2).
//! Cost: O(phases) per ring and tick.

use crate::config::Site;
use crate::events::{code, EventRing};
use crate::limits::MAX_RINGS;
use crate::signal::phase::{PhaseId, PhaseSet};
use crate::time::Instant;

use super::ring::{conflicting, RingStatus};
use super::{Demand, EndReason, PedInterval};

/// Transit requests and what they have been given.
#[derive(Clone, Debug)]
pub(super) struct TransitState {
    /// The bus requests by phase, as of the last `check_in_out` (this tick's, once it has run).
    requests: PhaseSet,
    /// Phases whose green got a transit extension / early green in this service (one each).
    extended: PhaseSet,
    early: PhaseSet,
    /// Per ring: when a transit extension began holding its green.
    hold: [Option<Instant>; MAX_RINGS],
}

impl TransitState {
    pub(super) const fn new() -> TransitState {
        TransitState {
            requests: PhaseSet::EMPTY,
            extended: PhaseSet::EMPTY,
            early: PhaseSet::EMPTY,
            hold: [None; MAX_RINGS],
        }
    }

    /// Transit check-in / check-out events (112/115).
    pub(super) fn check_in_out(&mut self, now: Instant, demand: &Demand, ev: &mut EventRing) {
        if demand.transit == self.requests {
            return;
        }
        let on = demand.transit.difference(self.requests);
        let off = self.requests.difference(demand.transit);
        for p in on.iter() {
            ev.push(now, code::TSP_CHECK_IN, u16::from(p.number()));
        }
        for p in off.iter() {
            ev.push(now, code::TSP_CHECK_OUT, u16::from(p.number()));
        }
        self.requests = demand.transit;
    }

    /// A new service of `q` starts in ring `r`: it may be extended and brought forward again.
    pub(super) fn green_started(&mut self, r: usize, q: PhaseId) {
        self.extended.remove(q);
        self.early.remove(q);
        if let Some(h) = self.hold.get_mut(r) {
            *h = None;
        }
    }

    /// Whether the green timing in ring `r` ends now, given the `reason` it would end for without
    /// transit priority (`None`: it goes on). Runs after this tick's `check_in_out`.
    pub(super) fn end_reason(
        &mut self,
        site: &Site,
        r: usize,
        ring: &RingStatus,
        mut reason: Option<EndReason>,
        now: Instant,
        ev: &mut EventRing,
    ) -> Option<EndReason> {
        let (Some(t), Some(p)) = (site.transit, ring.phase) else {
            return reason;
        };
        let requests = self.requests;
        // Extension: hold the green for a checked-in bus up to the extension limit.
        if requests.contains(p) && ring.end.is_none() && reason.is_some() {
            let hold = self.hold.get(r).copied().flatten().unwrap_or(now);
            if now.since(hold) < u64::from(t.max_extension_ms) {
                if !self.extended.contains(p) {
                    self.extended.insert(p);
                    ev.push(now, code::TSP_EXTEND_GREEN, u16::from(p.number()));
                }
                if let Some(h) = self.hold.get_mut(r) {
                    *h = Some(hold);
                }
                reason = None;
            }
        }
        // Early green: end a green that conflicts with a waiting bus.
        if t.early_green && reason.is_none() && ring.min_done && ring.ped == PedInterval::DontWalk {
            let bus = requests.difference(PhaseSet::EMPTY.with(p));
            if conflicting(site, p, bus) && !requests.contains(p) {
                reason = Some(EndReason::ForceOff);
                if let Some(b) = bus.iter().next() {
                    if !self.early.contains(b) {
                        self.early.insert(b);
                        ev.push(now, code::TSP_EARLY_GREEN, u16::from(b.number()));
                    }
                }
            }
        }
        reason
    }
}
