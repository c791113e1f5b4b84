//! Emergency-vehicle preemption: entry, dwell and exit.
//!
//! A preempt input (optical or radio receiver contact) starts a preemption when the engine runs
//! and none is active; with several inputs the lowest preempt number wins. **Entry** ends the
//! conflicting service: planned next phases are cancelled, a WALK is cut short into pedestrian
//! clearance and greens end once the preempt's (shorter) min green allows — yellow and red
//! clearance are never shortened (docs/safety.md 3; MUTCD 4E.06 allows shortening pedestrian
//! intervals only for preemption). Then the dwell phases start, crossing the barrier to their
//! group if needed, without WALK. **Dwell** holds them green while the input is on and at least
//! the dwell time; the exit returns them to normal service as greens whose min green is done.
//! Indiana events 102/104 (input on/off), 105 (entry started), 107 (dwell), 111 (exit).
//! Cost: O(preempts + rings × phases) per tick.

use crate::config::{PreemptDef, Site};
use crate::events::{code, EventRing};
use crate::phase::PhaseSet;
use crate::time::Instant;

use super::{EndReason, Engine, Interval, PedInterval};

/// Stage of an emergency-vehicle preemption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreemptStage {
    /// Ending conflicting service (min green and pedestrian clearance may be shortened to the
    /// preempt's minimums; yellow and red clearance never are).
    Entry,
    /// The preempted approach's phases are green.
    Dwell,
}

/// An active preemption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreemptRun {
    /// Index into `Site::preempts`.
    pub index: usize,
    pub number: u8,
    pub stage: PreemptStage,
    pub since: Instant,
    /// When the call came in (time to green = dwell start − this).
    pub called_at: Instant,
}

/// Preempt inputs, the active preemption and its counters.
#[derive(Clone, Debug)]
pub(super) struct PreemptState {
    run: Option<PreemptRun>,
    /// The inputs of the last tick (for the on/off edges).
    inputs: u8,
    /// Completed preemptions and the last time to dwell green, ms.
    served: u32,
    last_time_to_dwell_ms: u32,
}

/// The input bit of preempt `def` (bit `i` = preempt `i + 1`).
const fn input_bit(def: &PreemptDef) -> u8 {
    1u8 << (def.number.saturating_sub(1) & 7)
}

impl PreemptState {
    pub(super) const fn new() -> PreemptState {
        PreemptState {
            run: None,
            inputs: 0,
            served: 0,
            last_time_to_dwell_ms: 0,
        }
    }

    pub(super) fn run(&self) -> Option<PreemptRun> {
        self.run
    }

    pub(super) fn stats(&self) -> (u32, u32) {
        (self.served, self.last_time_to_dwell_ms)
    }

    /// The preempt definition while in entry (for shortened pedestrian clearance).
    pub(super) fn entry_def(&self, site: &Site) -> Option<PreemptDef> {
        match self.run {
            Some(PreemptRun {
                index,
                stage: PreemptStage::Entry,
                ..
            }) => site.preempts.get(index).copied(),
            _ => None,
        }
    }

    /// Input edges (events 102/104).
    fn note_inputs(&mut self, site: &Site, now: Instant, inputs: u8, ev: &mut EventRing) {
        let changed = inputs ^ self.inputs;
        if changed == 0 {
            return;
        }
        for def in site.preempts.iter() {
            let bit = input_bit(def);
            if changed & bit != 0 {
                let c = if inputs & bit != 0 {
                    code::PREEMPT_CALL_ON
                } else {
                    code::PREEMPT_CALL_OFF
                };
                ev.push(now, c, u16::from(def.number));
            }
        }
        self.inputs = inputs;
    }

    /// Starts the preemption of the lowest-numbered input that is on (event 105), if any.
    fn begin(&mut self, site: &Site, now: Instant, inputs: u8, ev: &mut EventRing) -> Option<PreemptDef> {
        if inputs == 0 {
            return None;
        }
        // Lowest input number wins (preempts are listed in any order in the file).
        let (index, def) = site
            .preempts
            .iter()
            .enumerate()
            .filter(|(_, d)| inputs & input_bit(d) != 0)
            .min_by_key(|(_, d)| d.number)?;
        self.run = Some(PreemptRun {
            index,
            number: def.number,
            stage: PreemptStage::Entry,
            since: now,
            called_at: now,
        });
        ev.push(now, code::PREEMPT_ENTRY_STARTED, u16::from(def.number));
        Some(*def)
    }

    /// Every dwell phase is green: the dwell begins (event 107).
    fn begin_dwell(&mut self, run: PreemptRun, now: Instant, ev: &mut EventRing) {
        self.run = Some(PreemptRun {
            stage: PreemptStage::Dwell,
            since: now,
            ..run
        });
        self.served = self.served.saturating_add(1);
        self.last_time_to_dwell_ms = now.since_ms(run.called_at);
        ev.push(now, code::PREEMPT_BEGIN_DWELL, u16::from(run.number));
    }
}

impl Engine {
    /// Preempt input edges and the start of a preemption.
    pub(super) fn update_preempt(
        &mut self,
        site: &Site,
        nrings: usize,
        now: Instant,
        demand: &super::Demand,
        ev: &mut EventRing,
    ) {
        self.preempt.note_inputs(site, now, demand.preempt, ev);
        if self.preempt.run.is_some() || self.mode != super::EngineMode::Run {
            return;
        }
        let Some(def) = self.preempt.begin(site, now, demand.preempt, ev) else {
            return;
        };
        self.crossing = false;
        // Planned next phases are cancelled; greens on the dwell phases stop any termination hold.
        for ring in self.rings.iter_mut().take(nrings) {
            ring.next = None;
            if ring.interval == Interval::Green && ring.phase.is_some_and(|p| def.dwell_phases.contains(p)) {
                ring.end = None;
            }
        }
    }

    /// Entry and dwell of the active preemption.
    pub(super) fn run_preempt(
        &mut self,
        site: &Site,
        nrings: usize,
        now: Instant,
        demand: &super::Demand,
        ev: &mut EventRing,
    ) {
        let Some(run) = self.preempt.run else { return };
        let Some(def) = site.preempts.get(run.index).copied() else {
            self.preempt.run = None;
            return;
        };
        match run.stage {
            PreemptStage::Entry => {
                self.preempt_entry(site, nrings, &def, now, ev);
                let greens = self.greens();
                let dwell_configured = def.dwell_phases.intersection(site.phase_set());
                if greens.intersection(dwell_configured) == dwell_configured {
                    self.preempt.begin_dwell(run, now, ev);
                }
            }
            PreemptStage::Dwell => {
                let input_on = demand.preempt & input_bit(&def) != 0;
                if !input_on && now.since(run.since) >= u64::from(def.dwell_ms) {
                    // Exit to normal operation: the dwell greens continue as ordinary greens whose
                    // min green is done; the max timer starts now, and the ring sequence resumes.
                    ev.push(now, code::PREEMPT_BEGIN_EXIT, u16::from(def.number));
                    self.preempt.run = None;
                    for ring in self.rings.iter_mut().take(nrings) {
                        if ring.interval == Interval::Green {
                            ring.min_done = true;
                            ring.last_actuation = now;
                            ring.max_start = Some(now);
                            ring.end = None;
                        }
                    }
                }
            }
        }
    }

    /// Entry: end the conflicting greens, then start each dwell phase whose ring is idle once
    /// nothing conflicting is timing.
    fn preempt_entry(&mut self, site: &Site, nrings: usize, def: &PreemptDef, now: Instant, ev: &mut EventRing) {
        for r in 0..nrings {
            let Some(ring) = self.rings.get_mut(r) else { continue };
            ring.next = None;
            let (Some(p), Interval::Green) = (ring.phase, ring.interval) else {
                continue;
            };
            if def.dwell_phases.contains(p) {
                continue;
            }
            // WALK is cut short into (the preempt's) pedestrian clearance.
            if ring.ped == PedInterval::Walk {
                ring.ped = PedInterval::Clearance;
                ring.ped_since = now;
                ev.push(now, code::PED_BEGIN_CLEARANCE, u16::from(p.number()));
            }
            let min = site.phase(p).map_or(0, |ph| ph.min_green_ms.min(def.min_green_ms));
            if now.since(ring.since) >= u64::from(min) && ring.ped == PedInterval::DontWalk {
                self.terminate(site, r, EndReason::ForceOff, None, now, ev);
            }
        }
        let all_idle = self.rings.iter().take(nrings).all(|x| x.interval == Interval::Idle);
        let dwell_group = site
            .groups
            .iter()
            .position(|g| g.intersection(def.dwell_phases) == def.dwell_phases);
        for r in 0..nrings {
            let Some(q) = site
                .rings
                .get(r)
                .and_then(|ring| ring.phases.iter().copied().find(|q| def.dwell_phases.contains(*q)))
            else {
                continue;
            };
            if self.rings.get(r).is_none_or(|x| x.interval != Interval::Idle) {
                continue;
            }
            let in_group = site.groups.get(self.group).is_some_and(|g| g.contains(q));
            if !in_group {
                if !all_idle {
                    continue;
                }
                if let Some(g) = dwell_group {
                    ev.push(
                        now,
                        code::BARRIER_TERMINATION,
                        u16::try_from(self.group + 1).unwrap_or(0),
                    );
                    self.group = g;
                    self.served = PhaseSet::EMPTY;
                }
            }
            let compatible = self.rings.iter().take(nrings).enumerate().all(|(i, o)| {
                i == r || o.interval == Interval::Idle || o.phase.is_none_or(|op| !site.conflicts_with(op, q))
            });
            if compatible {
                self.start_green(site, r, q, now, ev);
                if let Some(ring) = self.rings.get_mut(r) {
                    // No walk during preemption; the pedestrian call waits for normal service.
                    if ring.ped == PedInterval::Walk {
                        ring.ped = PedInterval::DontWalk;
                        self.ped_calls.insert(q);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::parse(include_str!("../../../board/sites/nema8-4leg.toml"), "nema8-4leg.toml").unwrap()
    }

    fn codes(ev: &mut EventRing) -> Vec<(u64, u8, u16)> {
        core::iter::from_fn(|| ev.pop())
            .map(|e| (e.at.0, e.code, e.param))
            .collect()
    }

    #[test]
    fn input_edges_are_logged_and_the_lowest_number_wins() {
        let site = site();
        let mut s = PreemptState::new();
        let mut ev = EventRing::new();
        s.note_inputs(&site, Instant(0), 0, &mut ev);
        assert!(s.begin(&site, Instant(0), 0, &mut ev).is_none());
        assert!(ev.is_empty());
        // Preempts 3 and 2 come on together: 2 wins.
        s.note_inputs(&site, Instant(100), 0b0110, &mut ev);
        let def = s.begin(&site, Instant(100), 0b0110, &mut ev).unwrap();
        assert_eq!(def.number, 2);
        let run = s.run().unwrap();
        assert_eq!(
            (run.number, run.stage, run.called_at),
            (2, PreemptStage::Entry, Instant(100))
        );
        assert_eq!(s.entry_def(&site).map(|d| d.number), Some(2));
        // Unchanged inputs log nothing; preempt 3 going off logs its edge.
        s.note_inputs(&site, Instant(200), 0b0110, &mut ev);
        s.note_inputs(&site, Instant(300), 0b0010, &mut ev);
        assert_eq!(
            codes(&mut ev),
            vec![
                (100, code::PREEMPT_CALL_ON, 2),
                (100, code::PREEMPT_CALL_ON, 3),
                (100, code::PREEMPT_ENTRY_STARTED, 2),
                (300, code::PREEMPT_CALL_OFF, 3),
            ]
        );
        s.begin_dwell(run, Instant(4_100), &mut ev);
        assert_eq!(s.run().map(|r| r.stage), Some(PreemptStage::Dwell));
        assert!(s.entry_def(&site).is_none());
        assert_eq!(s.stats(), (1, 4_000));
        assert_eq!(codes(&mut ev), vec![(4_100, code::PREEMPT_BEGIN_DWELL, 2)]);
    }
}
