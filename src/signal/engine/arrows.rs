//! Flashing yellow arrows of protected/permissive left turns (MUTCD 4D.18-4D.20).
//!
//! A left turn with a `permissive` opposing through shows a flashing yellow arrow while that
//! through is green, the planner allows it and no preemption runs. It ends with a steady yellow
//! arrow of the left turn's own yellow time — at the latest together with the opposing through's
//! yellow, so there is no "yellow trap" — then its red clearance, which the opposing through's red
//! clearance covers (`ring.rs` holds the through's red until every arrow yielding to it is dark).
//! Indiana events 61 (flashing), 63 (steady yellow), 64 (red clearance), 65 (dark), parameter =
//! the left-turn phase. Cost: O(phases) per tick.

use crate::config::Site;
use crate::events::{code, EventRing};
use crate::limits::MAX_PHASES;
use crate::phase::{PhaseId, PhaseSet};
use crate::time::Instant;

/// State of a protected/permissive left turn's flashing yellow arrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permissive {
    Off,
    /// Flashing yellow arrow since.
    Flashing(Instant),
    /// Steady yellow arrow since (the permissive turn's change interval).
    Yellow(Instant),
    /// Red arrow, clearing, since.
    RedClear(Instant),
}

/// The arrows of every left turn, by phase.
#[derive(Clone, Debug)]
pub(super) struct ArrowState {
    arrows: [Permissive; MAX_PHASES],
    /// The left turns whose arrow is clearing (steady yellow or red clearance): the only ones
    /// `expire` has to look at, and usually none, so the per-tick check is one test.
    clearing: PhaseSet,
}

impl ArrowState {
    pub(super) const fn new() -> ArrowState {
        ArrowState {
            arrows: [Permissive::Off; MAX_PHASES],
            clearing: PhaseSet::EMPTY,
        }
    }

    /// Left turns showing a flashing or the following steady yellow arrow.
    pub(super) fn active(&self) -> PhaseSet {
        let mut s = PhaseSet::EMPTY;
        for p in PhaseId::all() {
            if matches!(
                self.arrows.get(p.index()),
                Some(Permissive::Flashing(_) | Permissive::Yellow(_))
            ) {
                s.insert(p);
            }
        }
        s
    }

    /// The arrow of left turn `p`.
    pub(super) fn state(&self, p: PhaseId) -> Permissive {
        self.arrows.get(p.index()).copied().unwrap_or(Permissive::Off)
    }

    /// Starts and ends the flashing: an arrow starts flashing when its turn is in `allowed`, its
    /// opposing through in `greens` and its own phase not in `timing` (it never flashes next to
    /// its own protected green arrow); a flashing arrow that is no longer allowed turns steady
    /// yellow.
    pub(super) fn update(
        &mut self,
        site: &Site,
        now: Instant,
        allowed: PhaseSet,
        greens: PhaseSet,
        timing: PhaseSet,
        ev: &mut EventRing,
    ) {
        for ph in site.phases() {
            let Some(o) = ph.permissive else { continue };
            let l = ph.id;
            let flash = allowed.contains(l) && greens.contains(o) && !timing.contains(l);
            let param = u16::from(l.number());
            let Some(st) = self.arrows.get_mut(l.index()) else {
                continue;
            };
            *st = match *st {
                Permissive::Off if flash => {
                    ev.push(now, code::OVERLAP_BEGIN_GREEN, param);
                    Permissive::Flashing(now)
                }
                Permissive::Flashing(_) if !flash => {
                    ev.push(now, code::OVERLAP_BEGIN_YELLOW, param);
                    self.clearing.insert(l);
                    Permissive::Yellow(now)
                }
                other => other,
            };
        }
    }

    /// The timed part of the arrows' clearance (steady yellow arrow → red clearance → off). Runs
    /// first in a step as well, so a phase whose start waits for an arrow's clearance (the
    /// opposing through's stretched red clearance, or the left turn's own green after a lagging
    /// permissive period) sees it finished on the tick it finishes.
    pub(super) fn expire(&mut self, site: &Site, now: Instant, ev: &mut EventRing) {
        for p in self.clearing.iter() {
            let Some(ph) = site.phase(p).filter(|ph| ph.permissive.is_some()) else {
                continue;
            };
            let param = u16::from(ph.id.number());
            let Some(st) = self.arrows.get_mut(ph.id.index()) else {
                continue;
            };
            match *st {
                Permissive::Yellow(t) if now.since(t) >= u64::from(ph.yellow_ms) => {
                    ev.push(now, code::OVERLAP_BEGIN_RED_CLEARANCE, param);
                    *st = Permissive::RedClear(now);
                }
                Permissive::RedClear(t) if now.since(t) >= u64::from(ph.red_clear_ms) => {
                    ev.push(now, code::OVERLAP_OFF, param);
                    *st = Permissive::Off;
                    self.clearing.remove(p);
                }
                _ => {}
            }
        }
    }

    /// Every flashing yellow arrow yielding to `o` is dark (its yellow and red clearance done).
    /// Runs once per red clearance end: kept out of line so the per-tick timing code stays small.
    #[inline(never)]
    pub(super) fn all_clear(&self, site: &Site, o: PhaseId) -> bool {
        site.phases()
            .filter(|ph| ph.permissive == Some(o))
            .all(|ph| self.arrows.get(ph.id.index()).is_none_or(|st| *st == Permissive::Off))
    }

    /// When the clearances of the arrows yielding to `o` end, if `o` ends now.
    pub(super) fn clear_until(&self, site: &Site, o: PhaseId, now: Instant) -> Instant {
        let mut until = now;
        for ph in site.phases().filter(|ph| ph.permissive == Some(o)) {
            let (y, r) = (u64::from(ph.yellow_ms), u64::from(ph.red_clear_ms));
            let end = match self.state(ph.id) {
                Permissive::Off => now,
                Permissive::Flashing(_) => Instant(now.0 + y + r),
                Permissive::Yellow(t) => Instant(t.0 + y + r),
                Permissive::RedClear(t) => Instant(t.0 + r),
            };
            until = until.max(end);
        }
        until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::parse(include_str!("../../../board/sites/nema8-4leg.toml"), "nema8-4leg.toml").unwrap()
    }

    fn p(n: u8) -> PhaseId {
        PhaseId::new(n).unwrap()
    }

    fn codes(ev: &mut EventRing) -> Vec<(u64, u8, u16)> {
        core::iter::from_fn(|| ev.pop())
            .map(|e| (e.at.0, e.code, e.param))
            .collect()
    }

    #[test]
    fn flashes_with_its_through_then_clears_in_yellow_and_red() {
        let site = site();
        let left = site.phase(p(1)).unwrap();
        let (y, r) = (u64::from(left.yellow_ms), u64::from(left.red_clear_ms));
        let mut a = ArrowState::new();
        let mut ev = EventRing::new();
        let allowed = PhaseSet::EMPTY.with(p(1));
        // Not while its own phase times, nor without its opposing through (2) green.
        a.update(
            &site,
            Instant(0),
            allowed,
            PhaseSet::EMPTY.with(p(2)),
            PhaseSet::EMPTY.with(p(1)),
            &mut ev,
        );
        a.update(
            &site,
            Instant(0),
            allowed,
            PhaseSet::EMPTY.with(p(6)),
            PhaseSet::EMPTY,
            &mut ev,
        );
        assert_eq!(a.state(p(1)), Permissive::Off);
        a.update(
            &site,
            Instant(1_000),
            allowed,
            PhaseSet::EMPTY.with(p(2)),
            PhaseSet::EMPTY,
            &mut ev,
        );
        assert_eq!(a.state(p(1)), Permissive::Flashing(Instant(1_000)));
        assert!(a.active().contains(p(1)));
        // The through ends: steady yellow arrow, then red clearance, then dark — each on time.
        a.update(
            &site,
            Instant(5_000),
            allowed,
            PhaseSet::EMPTY,
            PhaseSet::EMPTY,
            &mut ev,
        );
        assert_eq!(a.clear_until(&site, p(2), Instant(5_000)), Instant(5_000 + y + r));
        assert!(!a.all_clear(&site, p(2)));
        a.expire(&site, Instant(5_000 + y - 1), &mut ev);
        assert_eq!(a.state(p(1)), Permissive::Yellow(Instant(5_000)));
        a.expire(&site, Instant(5_000 + y), &mut ev);
        assert_eq!(a.state(p(1)), Permissive::RedClear(Instant(5_000 + y)));
        assert!(!a.active().contains(p(1)));
        a.expire(&site, Instant(5_000 + y + r), &mut ev);
        assert_eq!(a.state(p(1)), Permissive::Off);
        assert!(a.all_clear(&site, p(2)));
        assert_eq!(
            codes(&mut ev),
            vec![
                (1_000, code::OVERLAP_BEGIN_GREEN, 1),
                (5_000, code::OVERLAP_BEGIN_YELLOW, 1),
                (5_000 + y, code::OVERLAP_BEGIN_RED_CLEARANCE, 1),
                (5_000 + y + r, code::OVERLAP_OFF, 1),
            ]
        );
        // Nothing clearing: a later expire has nothing to do.
        a.expire(&site, Instant(60_000), &mut ev);
        assert!(ev.is_empty());
    }

    #[test]
    fn an_arrow_not_allowed_does_not_flash_and_a_clearing_one_does_not_restart() {
        let site = site();
        let mut a = ArrowState::new();
        let mut ev = EventRing::new();
        let greens = PhaseSet::EMPTY.with(p(2));
        a.update(&site, Instant(0), PhaseSet::EMPTY, greens, PhaseSet::EMPTY, &mut ev);
        assert_eq!(a.state(p(1)), Permissive::Off);
        a.update(
            &site,
            Instant(0),
            PhaseSet::EMPTY.with(p(1)),
            greens,
            PhaseSet::EMPTY,
            &mut ev,
        );
        a.update(&site, Instant(100), PhaseSet::EMPTY, greens, PhaseSet::EMPTY, &mut ev);
        assert_eq!(a.state(p(1)), Permissive::Yellow(Instant(100)));
        // Allowed again while its yellow runs: the change interval is not cut short.
        a.update(
            &site,
            Instant(200),
            PhaseSet::EMPTY.with(p(1)),
            greens,
            PhaseSet::EMPTY,
            &mut ev,
        );
        assert_eq!(a.state(p(1)), Permissive::Yellow(Instant(100)));
    }
}
