//! One ring's intervals (NEMA TS2 §3.5): calls, green, pedestrian intervals, yellow change and red
//! clearance.
//!
//! - **Calls** lock until served (NEMA locking detector memory); min/max recall place calls while
//!   not green; a pedestrian call also calls its vehicle phase.
//! - **Green**: min green (raised to walk + pedestrian clearance when a walk is served), extension
//!   by passage time per actuation, gap-out when no actuation for the passage time, max-out on the
//!   max timer that starts with the first conflicting call (or call waiting behind the barrier),
//!   force-off on a fixed-time plan's split ([`green_may_end`]; which greens actually end is
//!   decided across the rings in `barrier.rs`).
//! - **Dynamic max** (NTCIP 1202 v03 `phaseDynamicMaxLimit` / `phaseDynamicMaxStep`, NEMA TS 2
//!   "dynamic maximum"), where a phase configures it: after a phase maxes out twice in a row, and
//!   at every further successive max-out, its running max grows by one step up to the limit; after
//!   two successive gap-outs, and every further one, it shrinks by one step back towards the
//!   configured max green. A gap-out followed by a max-out (or the reverse) leaves it unchanged;
//!   force-offs do not count. Under sustained oversaturation of one movement the controller thus
//!   lengthens that green within the engineer's limit instead of cutting the same queue every cycle.
//! - **Pedestrians** (MUTCD 4E.06): WALK, then flashing DON'T WALK for the pedestrian clearance,
//!   then solid DON'T WALK — all inside the green, which cannot end before solid DON'T WALK; a
//!   button pressed during a green long enough for the crossing recycles the walk.
//! - **Change and clearance**: yellow change then red clearance of the phase's configured lengths
//!   (derived by the ITE formulas in `config::derive`), never shortened (docs/safety.md 2); the red
//!   clearance also covers the clearance of the flashing yellow arrows yielding to the phase.
//! - **Stop**: greens end as soon as their min green and pedestrian intervals allow.
//!
//! Cost: O(phases) per ring and tick.

use crate::config::{PhaseTiming, Recall, Site};
use crate::events::{code, EventRing};
use crate::phase::{PhaseId, PhaseSet};
use crate::time::Instant;

use super::{Demand, Directive, EndReason, Engine, EngineMode, Interval, PedInterval};

/// One ring's state, visible to status displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingStatus {
    /// The phase timing in this ring (also the last one served while `Idle`).
    pub phase: Option<PhaseId>,
    pub interval: Interval,
    pub since: Instant,
    pub ped: PedInterval,
    pub ped_since: Instant,
    /// The phase has reached its min green.
    pub min_done: bool,
    /// Time of the last extending actuation.
    pub last_actuation: Instant,
    /// Max timer start (first conflicting call during this green).
    pub max_start: Option<Instant>,
    /// The green has been told to end for this reason and is holding at the barrier.
    pub end: Option<EndReason>,
    /// Phase to start after this ring's red clearance (None: the ring goes idle / to the barrier).
    pub(super) next: Option<PhaseId>,
    /// Red clearance lasts at least until then: it covers the clearance of the permissive left
    /// turns that yielded to this phase.
    pub(super) red_hold_until: Instant,
}

impl RingStatus {
    /// The phase chosen to time next in this ring, once the running one has been told to end.
    pub fn next(&self) -> Option<PhaseId> {
        self.next
    }

    pub(super) const IDLE: RingStatus = RingStatus {
        phase: None,
        interval: Interval::Idle,
        since: Instant::ZERO,
        ped: PedInterval::DontWalk,
        ped_since: Instant::ZERO,
        min_done: false,
        last_actuation: Instant::ZERO,
        max_start: None,
        end: None,
        next: None,
        red_hold_until: Instant::ZERO,
    };
}

impl Engine {
    /// Lock new calls (NEMA locking detector memory) and apply recalls.
    pub(super) fn register_calls(
        &mut self,
        site: &Site,
        now: Instant,
        demand: &Demand,
        directive: &Directive,
        ev: &mut EventRing,
    ) {
        // Greens, and the crossings showing WALK, in one pass over the rings.
        let (mut greens, mut walking) = (PhaseSet::EMPTY, PhaseSet::EMPTY);
        for r in self.rings.iter() {
            if let (Some(p), Interval::Green) = (r.phase, r.interval) {
                greens.insert(p);
                if r.ped == PedInterval::Walk {
                    walking.insert(p);
                }
            }
        }
        for ph in site.phases() {
            let p = ph.id;
            let green = greens.contains(p);
            // Fixed time calls every phase the plan gives time; a phase planned at 0 (a left the
            // plan runs permissive-only, `plan::webster::lefts`) is served only on a real call.
            let recall_call = matches!(ph.recall, Recall::Min | Recall::Max | Recall::Ped)
                || matches!(directive, Directive::Fixed { green_ms } if green_ms.get(p.index()).is_some_and(|g| *g > 0));
            // A button pressed while this crossing shows WALK needs no new service (the pedestrian
            // may go now); pressed during flashing DON'T WALK it is kept for the next service
            // (MUTCD 4E.06). Pedestrian recall calls only while the phase is not green.
            let walking = walking.contains(p);
            let ped_recall = ph.recall == Recall::Ped || ph.ped.is_some_and(|pd| pd.recall);
            let ped_call = ph.ped.is_some()
                && ((demand.ped.contains(p) && !walking) || (ped_recall && !green))
                && self.ped_call_allowed(p);
            if ped_call && !self.ped_calls.contains(p) && demand.ped.contains(p) {
                ev.push(now, code::PED_CALL_REGISTERED, u16::from(p.number()));
            }
            if ped_call {
                self.ped_calls.insert(p);
            }
            let veh_call = demand.veh.contains(p) || demand.transit.contains(p) || recall_call || ped_call;
            if veh_call && !green && !self.calls.contains(p) {
                self.calls.insert(p);
                ev.push(now, code::PHASE_CALL_REGISTERED, u16::from(p.number()));
            }
        }
    }

    /// Advance the timers of ring `r`.
    pub(super) fn time_ring(
        &mut self,
        site: &Site,
        r: usize,
        now: Instant,
        demand: &Demand,
        directive: &Directive,
        ev: &mut EventRing,
    ) {
        let calls = self.pending_calls();
        // Calls that can only be served after a barrier crossing (another group, or a phase
        // already served in this visit) need every running green to end as well: they start the
        // max timer like a conflicting call, or a compatible phase with endless extensions would
        // hold the barrier forever.
        let crossing_needed = self.barrier_demand(site);
        let preempting = self.preempt.run().is_some();
        let entry = self.preempt.entry_def(site);
        let running_max = self
            .rings
            .get(r)
            .and_then(|ring| ring.phase)
            .map_or(0, |p| self.running_max_ms(site, p));
        let Some(ring) = self.rings.get_mut(r) else { return };
        let Some(p) = ring.phase else { return };
        let Some(ph) = site.phase(p) else { return };
        let param = u16::from(p.number());
        // During preempt entry a crossing being ended may clear in the preempt's shorter time.
        let ped_clear_limit = match entry {
            Some(d) if !d.dwell_phases.contains(p) => ped_change_ms(site, p).min(u64::from(d.ped_clear_ms)),
            _ => ped_change_ms(site, p),
        };
        match ring.interval {
            Interval::Idle => {}
            Interval::Green => {
                if demand.extend.contains(p) {
                    ring.last_actuation = now;
                }
                // Pedestrian intervals inside the green.
                match ring.ped {
                    PedInterval::Walk if now.since(ring.ped_since) >= ped_walk_ms(site, p) => {
                        ring.ped = PedInterval::Clearance;
                        ring.ped_since = now;
                        ev.push(now, code::PED_BEGIN_CLEARANCE, param);
                    }
                    PedInterval::Clearance if now.since(ring.ped_since) >= ped_clear_limit => {
                        ring.ped = PedInterval::DontWalk;
                        ring.ped_since = now;
                        ev.push(now, code::PED_BEGIN_DONT_WALK, param);
                    }
                    _ => {}
                }
                // Pedestrian recycle: a button pressed during a green that will last long enough
                // (resting, or before max-out/force-off) starts a walk now instead of a cycle later.
                if ring.ped == PedInterval::DontWalk && self.ped_calls.contains(p) && ring.end.is_none() && !preempting
                {
                    if let Some(pd) = ph.ped {
                        let service = u64::from(pd.service_ms());
                        let fits = match directive {
                            Directive::Fixed { green_ms } => {
                                let planned = u64::from(green_ms.get(p.index()).copied().unwrap_or(0));
                                now.since(ring.since) + service <= planned
                            }
                            // Coordinated: only where the pattern leaves room before the force-off.
                            Directive::Coordinated { no_walk, .. } => !no_walk.contains(p),
                            Directive::Actuated | Directive::Adaptive { .. } => match ring.max_start {
                                None => true,
                                Some(ms) => now.since(ms) + service <= u64::from(running_max),
                            },
                        };
                        if fits {
                            ring.ped = PedInterval::Walk;
                            ring.ped_since = now;
                            self.ped_calls.remove(p);
                            ev.push(now, code::PED_BEGIN_WALK, param);
                        }
                    }
                }
                if !ring.min_done && now.since(ring.since) >= u64::from(ph.min_green_ms) {
                    ring.min_done = true;
                    ev.push(now, code::PHASE_MIN_COMPLETE, param);
                }
                if ring.max_start.is_none() && (conflicting(site, p, calls) || crossing_needed) {
                    ring.max_start = Some(now);
                }
            }
            Interval::Yellow => {
                if now.since(ring.since) >= u64::from(ph.yellow_ms) {
                    ev.push(now, code::PHASE_END_YELLOW, param);
                    ring.interval = Interval::RedClear;
                    ring.since = now;
                    ev.push(now, code::PHASE_BEGIN_RED_CLEARANCE, param);
                }
            }
            Interval::RedClear => {
                // The arrows yielding to this phase must have finished their own clearance on the
                // street (their state, advanced at the tick it actually ended) — not only by the
                // time foreseen when the phase ended, which a coarse or late tick can overrun.
                if now.since(ring.since) >= u64::from(ph.red_clear_ms)
                    && now >= ring.red_hold_until
                    && self.arrows.all_clear(site, p)
                {
                    ev.push(now, code::PHASE_END_RED_CLEARANCE, param);
                    ev.push(now, code::PHASE_INACTIVE, param);
                    ring.interval = Interval::Idle;
                    ring.since = now;
                    let next = ring.next.take();
                    if let Some(q) = next {
                        if self.mode == EngineMode::Run && !self.crossing && !preempting && self.startable(site, r, q) {
                            self.start_green(site, r, q, now, ev);
                        }
                    }
                }
            }
        }
    }

    pub(super) fn start_green(&mut self, site: &Site, r: usize, q: PhaseId, now: Instant, ev: &mut EventRing) {
        let calls = self.calls.union(self.ped_calls);
        let walk =
            self.ped_calls.contains(q) && !self.no_walk.contains(q) && site.phase(q).is_some_and(|ph| ph.ped.is_some());
        let Some(ring) = self.rings.get_mut(r) else { return };
        let param = u16::from(q.number());
        *ring = RingStatus {
            phase: Some(q),
            interval: Interval::Green,
            since: now,
            ped: PedInterval::DontWalk,
            ped_since: now,
            min_done: false,
            last_actuation: now,
            max_start: if conflicting(site, q, calls) { Some(now) } else { None },
            end: None,
            next: None,
            red_hold_until: now,
        };
        self.served.insert(q);
        self.transit.green_started(r, q);
        ev.push(now, code::PHASE_ON, param);
        ev.push(now, code::PHASE_BEGIN_GREEN, param);
        if self.calls.contains(q) {
            self.calls.remove(q);
            ev.push(now, code::PHASE_CALL_DROPPED, param);
        }
        if walk {
            ring.ped = PedInterval::Walk;
            self.ped_calls.remove(q);
            ev.push(now, code::PED_BEGIN_WALK, param);
        }
    }

    pub(super) fn terminate(
        &mut self,
        site: &Site,
        r: usize,
        reason: EndReason,
        next: Option<PhaseId>,
        now: Instant,
        ev: &mut EventRing,
    ) {
        let Some(p) = self.rings.get(r).and_then(|ring| ring.phase) else {
            return;
        };
        if site.phase(p).is_none() {
            return;
        }
        let hold = self.arrows.clear_until(site, p, now);
        self.dynamic_max(site, p, reason);
        let Some(ring) = self.rings.get_mut(r) else { return };
        ring.red_hold_until = hold;
        let param = u16::from(p.number());
        ev.push(now, reason.event(), param);
        ev.push(now, code::PHASE_GREEN_TERMINATION, param);
        ev.push(now, code::PHASE_BEGIN_YELLOW, param);
        ring.interval = Interval::Yellow;
        ring.since = now;
        ring.end = Some(reason);
        ring.next = next;
    }

    /// Dynamic max bookkeeping at the end of a green of `p` (module docs).
    fn dynamic_max(&mut self, site: &Site, p: PhaseId, reason: EndReason) {
        let Some(ph) = site.phase(p) else { return };
        let running = self.running_max_ms(site, p);
        let (Some(streak), Some(max)) = (
            self.max_streak.get_mut(p.index()),
            self.running_max_ms.get_mut(p.index()),
        ) else {
            return;
        };
        *streak = match reason {
            EndReason::MaxOut => (*streak).max(0).saturating_add(1),
            EndReason::GapOut => (*streak).min(0).saturating_sub(1),
            EndReason::ForceOff => *streak,
        };
        if ph.dynamic_step_ms == 0 {
            return;
        }
        if *streak >= 2 {
            *max = running.saturating_add(ph.dynamic_step_ms).min(ph.dynamic_max_ms);
        } else if *streak <= -2 {
            *max = running.saturating_sub(ph.dynamic_step_ms).max(ph.max_green_ms);
        }
    }

    /// The running max green of `p`: its configured max green, or under dynamic max the value the
    /// successive max-outs and gap-outs have moved it to (module docs), always within the site's
    /// current [max green, dynamic max limit] — a reloaded site with a lower limit, or without
    /// dynamic max, bounds it at once.
    pub fn running_max_ms(&self, site: &Site, p: PhaseId) -> u32 {
        let Some(ph) = site.phase(p) else { return 0 };
        match self.running_max_ms.get(p.index()).copied() {
            Some(ms) if ms > 0 && ph.dynamic_step_ms > 0 => ms.clamp(ph.max_green_ms, ph.dynamic_max_ms),
            _ => ph.max_green_ms,
        }
    }

    /// Stopping: end each green as soon as min green and pedestrian intervals are complete.
    pub(super) fn stop_greens(&mut self, site: &Site, nrings: usize, now: Instant, ev: &mut EventRing) {
        for r in 0..nrings {
            let Some(ring) = self.rings.get(r) else { continue };
            if ring.interval == Interval::Green && ring.min_done && ring.ped == PedInterval::DontWalk {
                self.terminate(site, r, EndReason::ForceOff, None, now, ev);
            }
        }
    }
}

/// Whether `p` conflicts with any phase in `calls`.
pub(super) fn conflicting(site: &Site, p: PhaseId, calls: PhaseSet) -> bool {
    site.conflicts
        .get(p.index())
        .is_some_and(|c| !c.intersection(calls).is_empty())
}

fn ped_walk_ms(site: &Site, p: PhaseId) -> u64 {
    site.phase(p)
        .and_then(|ph| ph.ped)
        .map_or(0, |pd| u64::from(pd.walk_ms))
}

fn ped_change_ms(site: &Site, p: PhaseId) -> u64 {
    site.phase(p)
        .and_then(|ph| ph.ped)
        .map_or(0, |pd| u64::from(pd.change_ms))
}

/// Whether the green of `p` may end now, and why. Min green and the pedestrian intervals are never
/// cut short (docs/safety.md 3).
pub(super) fn green_may_end(
    ring: &RingStatus,
    ph: &PhaseTiming,
    p: PhaseId,
    max_ms: u32,
    now: Instant,
    directive: &Directive,
) -> Option<EndReason> {
    if !ring.min_done || ring.ped != PedInterval::DontWalk {
        return None;
    }
    let green = now.since(ring.since);
    match directive {
        Directive::Fixed { green_ms } => {
            let planned = green_ms.get(p.index()).copied().unwrap_or(0);
            (green >= u64::from(planned)).then_some(EndReason::ForceOff)
        }
        Directive::Adaptive { end } => {
            if let Some(ms) = ring.max_start {
                if now.since(ms) >= u64::from(max_ms) {
                    return Some(EndReason::MaxOut);
                }
            }
            end.contains(p).then_some(EndReason::GapOut)
        }
        Directive::Coordinated { force_off, gap_out, .. } => {
            if force_off.contains(p) {
                Some(EndReason::ForceOff)
            } else {
                gap_out.contains(p).then_some(EndReason::GapOut)
            }
        }
        Directive::Actuated => {
            if let Some(ms) = ring.max_start {
                if now.since(ms) >= u64::from(max_ms) {
                    return Some(EndReason::MaxOut);
                }
            }
            if ph.recall != Recall::Max && now.since(ring.last_actuation) >= u64::from(ph.passage_ms) {
                return Some(EndReason::GapOut);
            }
            None
        }
    }
}
