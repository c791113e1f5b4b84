//! The sequence across rings: ring order, barrier groups, which greens end, cycle length.
//!
//! - **Ring and barrier sequencing** (NEMA TS2 §3.5): each ring runs its phases in ring order
//!   within the active barrier group; the barrier is crossed only when every ring has finished its
//!   red clearance, so phases of different groups never time together. Uncalled phases are
//!   skipped; a phase is served at most once per group visit.
//! - **Terminations**: a green that may end (`ring.rs`, then transit priority) ends when its ring
//!   has a next phase in the group, or for a call behind the barrier once every ring is at the
//!   barrier. Without conflicting demand a phase rests in green (or in red when the site rests in
//!   red).
//! - **Dual-ring barrier hold**: a ring whose next service is across the barrier keeps its green
//!   until every other ring is ready to cross too, so both rings leave the barrier together and
//!   the waiting ring does not waste the time in red ("simultaneous gap-out").
//! - **Cycle**: a new cycle starts each time service returns to the first group; its length is
//!   the time between two such starts.
//!
//! Cost: O(rings × phases) per tick.

use crate::config::Site;
use crate::events::{code, EventRing};
use crate::limits::MAX_RINGS;
use crate::phase::{PhaseId, PhaseSet};
use crate::time::Instant;

use super::ring::{green_may_end, RingStatus};
use super::{Directive, EndReason, Engine, Interval, Permissive};

impl Engine {
    /// Whether phase `q` may start in ring `r` now: configured, in the ring and the active group,
    /// not yet served in this visit, and compatible with everything timing in the other rings.
    pub(super) fn startable(&self, site: &Site, r: usize, q: PhaseId) -> bool {
        let in_ring = site.rings.get(r).is_some_and(|ring| ring.phases.contains(&q));
        let in_group = site.groups.get(self.group).is_some_and(|g| g.contains(q));
        if !in_ring || !in_group || self.served.contains(q) || self.omit.contains(q) || site.phase(q).is_none() {
            return false;
        }
        // A left turn still clearing its flashing arrow starts its green arrow only once cleared.
        if self.arrows.state(q) != Permissive::Off {
            return false;
        }
        self.rings.iter().enumerate().all(|(i, other)| {
            i == r || other.interval == Interval::Idle || other.phase.is_none_or(|o| !site.conflicts_with(o, q))
        })
    }

    /// The next phase ring `r` would serve in the active group after `after`.
    pub(super) fn next_in_group(&self, site: &Site, r: usize, after: Option<PhaseId>) -> Option<PhaseId> {
        let ring = site.rings.get(r)?;
        let group = *site.groups.get(self.group)?;
        let calls = self.serviceable_calls();
        let n = ring.phases.len();
        let start = after
            .and_then(|a| ring.phases.iter().position(|x| *x == a))
            .map_or(0, |i| i + 1);
        (0..n)
            .filter_map(|k| ring.phases.get((start + k) % n).copied())
            .find(|q| Some(*q) != after && group.contains(*q) && calls.contains(*q) && !self.served.contains(*q))
    }

    /// Calls that need a barrier crossing: in another group, or already served in this visit.
    pub(super) fn barrier_demand(&self, site: &Site) -> bool {
        let calls = self.serviceable_calls();
        let group = site.groups.get(self.group).copied().unwrap_or(PhaseSet::EMPTY);
        let timing = self.timing_phases();
        !calls.difference(group).is_empty()
            || !calls
                .intersection(group)
                .intersection(self.served)
                .difference(timing)
                .is_empty()
    }

    /// Phases timing in some ring (green, yellow or red clearance).
    pub(super) fn timing_phases(&self) -> PhaseSet {
        let mut s = PhaseSet::EMPTY;
        for r in self.rings.iter() {
            if let (Some(p), false) = (r.phase, r.interval == Interval::Idle) {
                s.insert(p);
            }
        }
        s
    }

    /// An idle ring starts a phase that was called in the active group after the ring went idle.
    pub(super) fn late_starts(&mut self, site: &Site, nrings: usize, now: Instant, ev: &mut EventRing) {
        if self.crossing || self.rings.iter().take(nrings).all(|r| r.interval == Interval::Idle) {
            return; // all idle: cross_barrier decides
        }
        // Not while another ring is clearing toward the barrier: the group is ending.
        let clearing_to_barrier = self
            .rings
            .iter()
            .take(nrings)
            .any(|r| matches!(r.interval, Interval::Yellow | Interval::RedClear) && r.next.is_none());
        if clearing_to_barrier {
            return;
        }
        for r in 0..nrings {
            if self.rings.get(r).is_some_and(|ring| ring.interval == Interval::Idle) {
                if let Some(q) = self.next_in_group(site, r, None) {
                    if self.startable(site, r, q) {
                        self.start_green(site, r, q, now, ev);
                    }
                }
            }
        }
    }

    /// Decide which greens end this tick.
    pub(super) fn decide_terminations(
        &mut self,
        site: &Site,
        nrings: usize,
        now: Instant,
        directive: &Directive,
        ev: &mut EventRing,
    ) {
        let barrier_demand = self.barrier_demand(site);
        let any_call = !self.serviceable_calls().is_empty();
        // Per ring: Some(reason) if its green may end now.
        let mut ready: [Option<EndReason>; MAX_RINGS] = [None; MAX_RINGS];
        let mut next: [Option<PhaseId>; MAX_RINGS] = [None; MAX_RINGS];
        for r in 0..nrings {
            let Some(ring) = self.rings.get(r).copied() else {
                continue;
            };
            let ring = &ring;
            let (Some(p), Interval::Green) = (ring.phase, ring.interval) else {
                continue;
            };
            let Some(ph) = site.phase(p) else { continue };
            let max_ms = self.running_max_ms(site, p);
            let reason = ring.end.or_else(|| green_may_end(ring, ph, p, max_ms, now, directive));
            let reason = self.transit.end_reason(site, r, ring, reason, now, ev);
            let reason = self.central_end(ring, max_ms, p, now, reason);
            if let (Some(slot), Some(n)) = (ready.get_mut(r), next.get_mut(r)) {
                *slot = reason;
                *n = self.next_in_group(site, r, Some(p));
            }
        }
        // Rings that are at the barrier: idle, clearing with nothing after, or green ready with no
        // further phase in this group.
        let at_barrier = |r: usize, rings: &[RingStatus; MAX_RINGS]| -> bool {
            let Some(ring) = rings.get(r) else { return true };
            match ring.interval {
                Interval::Idle => true,
                Interval::Yellow | Interval::RedClear => ring.next.is_none(),
                Interval::Green => {
                    ready.get(r).copied().flatten().is_some() && next.get(r).copied().flatten().is_none()
                }
            }
        };
        let all_at_barrier = (0..nrings).all(|r| at_barrier(r, &self.rings));
        for r in 0..nrings {
            let (Some(reason), n) = (ready.get(r).copied().flatten(), next.get(r).copied().flatten()) else {
                continue;
            };
            let terminate = if n.is_some() {
                true // the next phase of this ring in this group is waiting
            } else if barrier_demand {
                all_at_barrier
            } else {
                // Nobody waits anywhere: rest in green, unless the site rests in red.
                site.rest_in_red && !any_call
            };
            if terminate {
                if n.is_none() && barrier_demand {
                    self.crossing = true;
                }
                self.terminate(site, r, reason, n, now, ev);
            } else if barrier_demand && n.is_none() {
                // Holding at the barrier for the other ring: latch the reason (NEMA: the phase stays
                // gapped out and does not re-extend).
                if let Some(ring) = self.rings.get_mut(r) {
                    ring.end = Some(reason);
                }
            }
        }
    }

    /// When every ring is idle, move to the next barrier group that has calls.
    pub(super) fn cross_barrier(&mut self, site: &Site, nrings: usize, now: Instant, ev: &mut EventRing) {
        if !self.rings.iter().take(nrings).all(|r| r.interval == Interval::Idle) {
            return;
        }
        let calls = self.serviceable_calls();
        if calls.is_empty() {
            self.crossing = false;
            return;
        }
        let ngroups = site.groups.len();
        let first_run = self.cycle_start.is_none() && self.served.is_empty();
        // Candidates in service order: the following groups, then this group again. On the very
        // first service the first group is tried first.
        let mut chosen = None;
        for k in 0..ngroups {
            let g = if first_run {
                k
            } else {
                (self.group + 1 + k) % ngroups.max(1)
            };
            if site
                .groups
                .get(g)
                .is_some_and(|set| !set.intersection(calls).is_empty())
            {
                chosen = Some(g);
                break;
            }
        }
        let Some(g) = chosen else { return };
        if !first_run {
            ev.push(
                now,
                code::BARRIER_TERMINATION,
                u16::try_from(self.group + 1).unwrap_or(0),
            );
        }
        if g <= self.group || first_run {
            // Back at (or before) the first group: a new cycle starts.
            if let Some(start) = self.cycle_start {
                self.last_cycle_ms = now.since_ms(start);
                self.cycles += 1;
            }
            self.cycle_start = Some(now);
        }
        self.group = g;
        self.served = PhaseSet::EMPTY;
        self.crossing = false;
        for r in 0..nrings {
            if let Some(q) = self.next_in_group(site, r, None) {
                if self.startable(site, r, q) {
                    self.start_green(site, r, q, now, ev);
                }
            }
        }
    }
}
