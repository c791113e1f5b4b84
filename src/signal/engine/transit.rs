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
use crate::phase::{PhaseId, PhaseSet};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::engine::Interval;

    fn site() -> Site {
        Site::parse(include_str!("../../../board/sites/nema8-4leg.toml"), "nema8-4leg.toml").unwrap()
    }

    fn p(n: u8) -> PhaseId {
        PhaseId::new(n).unwrap()
    }

    fn green(q: PhaseId, min_done: bool) -> RingStatus {
        RingStatus {
            phase: Some(q),
            interval: Interval::Green,
            min_done,
            ..RingStatus::IDLE
        }
    }

    fn codes(ev: &mut EventRing) -> Vec<(u64, u8, u16)> {
        core::iter::from_fn(|| ev.pop())
            .map(|e| (e.at.0, e.code, e.param))
            .collect()
    }

    fn demand(transit: PhaseSet) -> Demand {
        Demand {
            transit,
            ..Demand::default()
        }
    }

    #[test]
    fn a_bus_holds_its_green_up_to_the_extension_limit_once_per_service() {
        let site = site();
        let limit = u64::from(site.transit.unwrap().max_extension_ms);
        let mut t = TransitState::new();
        let mut ev = EventRing::new();
        t.check_in_out(Instant(0), &demand(PhaseSet::EMPTY.with(p(2))), &mut ev);
        let ring = green(p(2), true);
        let gap = Some(EndReason::GapOut);
        assert_eq!(t.end_reason(&site, 0, &ring, gap, Instant(1_000), &mut ev), None);
        assert_eq!(
            t.end_reason(&site, 0, &ring, gap, Instant(1_000 + limit - 1), &mut ev),
            None
        );
        assert_eq!(t.end_reason(&site, 0, &ring, gap, Instant(1_000 + limit), &mut ev), gap);
        // A green that goes on anyway is not extended.
        assert_eq!(
            t.end_reason(&site, 0, &ring, None, Instant(1_000 + limit), &mut ev),
            None
        );
        // The next service of the phase may be held again.
        t.green_started(0, p(2));
        assert_eq!(t.end_reason(&site, 0, &ring, gap, Instant(90_000), &mut ev), None);
        t.check_in_out(Instant(91_000), &demand(PhaseSet::EMPTY), &mut ev);
        assert_eq!(
            codes(&mut ev),
            vec![
                (0, code::TSP_CHECK_IN, 2),
                (1_000, code::TSP_EXTEND_GREEN, 2),
                (90_000, code::TSP_EXTEND_GREEN, 2),
                (91_000, code::TSP_CHECK_OUT, 2),
            ]
        );
    }

    #[test]
    fn a_waiting_bus_ends_a_conflicting_green_only_after_its_min_green() {
        let site = site();
        let mut t = TransitState::new();
        let mut ev = EventRing::new();
        // A bus waits on phase 4 (crossing street) while phase 2 is green.
        t.check_in_out(Instant(0), &demand(PhaseSet::EMPTY.with(p(4))), &mut ev);
        let _ = codes(&mut ev);
        assert_eq!(
            t.end_reason(&site, 0, &green(p(2), false), None, Instant(100), &mut ev),
            None
        );
        let early = t.end_reason(&site, 0, &green(p(2), true), None, Instant(200), &mut ev);
        assert_eq!(early, Some(EndReason::ForceOff));
        // One early-green event per service of the bus's phase.
        let _ = t.end_reason(&site, 1, &green(p(6), true), None, Instant(200), &mut ev);
        assert_eq!(codes(&mut ev), vec![(200, code::TSP_EARLY_GREEN, 4)]);
        // A compatible green (phase 8 runs with 4) is not ended.
        assert_eq!(
            t.end_reason(&site, 1, &green(p(8), true), None, Instant(300), &mut ev),
            None
        );
    }
}
