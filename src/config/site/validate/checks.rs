//! Cross-checks of a parsed site: the geometry (no two phases that may run together have crossing
//! or merging movements, MUTCD 4D.05) and the protected/permissive left turns against the
//! compatibility matrix (MUTCD 4D.17-4D.20).

use super::Validator;
use crate::config::diag::ConfigError;
use crate::config::file;
use crate::config::geometry;
use crate::config::site::PhaseTiming;
use crate::limits::{MAX_GROUPS, MAX_PHASES};
use crate::phase::{PhaseId, PhaseSet};
use core::ops::Range;
use toml::Spanned;

impl Validator<'_> {
    /// The geometric check: a flashing-yellow-arrow left yields to the through movement of the
    /// opposite leg, and no two phases that the rings and barriers let run together have movements
    /// that cross or merge, except a left turn that yields to the opposing leg (MUTCD 4D.17-4D.20).
    pub(super) fn check_geometry(
        &self,
        raw: &[Spanned<file::PhaseSection>],
        phases: &[Option<PhaseTiming>; MAX_PHASES],
        conflicts: &[PhaseSet; MAX_PHASES],
        groups: &heapless::Vec<PhaseSet, MAX_GROUPS>,
        barriers: Range<usize>,
    ) -> Result<(), ConfigError> {
        let get = |p: PhaseId| phases.get(p.index()).and_then(|x| x.as_ref());
        for sp in raw {
            let (Some(v), Ok(l)) = (
                &sp.get_ref().permissive,
                self.phase_id(&sp.get_ref().number, "phase.number"),
            ) else {
                continue;
            };
            let (Some(lt), Some(o)) = (get(l), get(l).and_then(|x| x.permissive)) else {
                continue;
            };
            let Some(ot) = get(o) else { continue };
            let (la, oa) = (lt.approach, ot.approach);
            if !la.movements.contains(geometry::Movement::Left)
                || oa.leg != la.leg.opposite()
                || !oa.movements.contains(geometry::Movement::Through)
            {
                return Err(self.err(
                    v.span(),
                    &format!("phase {l}.permissive"),
                    format!(
                        "phase {l} (approach {}) yields on a flashing yellow arrow to phase {o} (approach {}), but {o} is not the through movement of the opposite leg {} or {l} has no `left` movement",
                        la.leg,
                        oa.leg,
                        la.leg.opposite()
                    ),
                    "name the through phase of the opposite approach, and give the left-turn phase movements = [\"left\"]",
                ));
            }
        }
        // Report a through crossing a through first (the plainest mistake), else the first found.
        let mut found: Option<(&PhaseTiming, &PhaseTiming, geometry::Movement, geometry::Movement)> = None;
        for a in phases.iter().flatten() {
            for b in phases.iter().flatten().filter(|b| b.id.number() > a.id.number()) {
                if conflicts.get(a.id.index()).is_some_and(|c| c.contains(b.id)) {
                    continue;
                }
                let Some((ma, mb)) = geometry::first_conflict(
                    a.approach,
                    b.approach,
                    a.permissive == Some(b.id),
                    b.permissive == Some(a.id),
                ) else {
                    continue;
                };
                let throughs = ma == geometry::Movement::Through && mb == geometry::Movement::Through;
                let found_throughs =
                    found.is_some_and(|f| f.2 == geometry::Movement::Through && f.3 == geometry::Movement::Through);
                if found.is_none() || (throughs && !found_throughs) {
                    found = Some((a, b, ma, mb));
                }
            }
        }
        let Some((a, b, ma, mb)) = found else {
            return Ok(());
        };
        let group = groups.iter().position(|g| g.contains(a.id)).map_or(0, |g| g + 1);
        let how = if ma.exit(a.approach.leg) == mb.exit(b.approach.leg) {
            "merges with"
        } else {
            "crosses"
        };
        let line_of_phase = |p: PhaseId| {
            raw.iter()
                .find(|s| *s.get_ref().number.get_ref() == i64::from(p.number()))
                .map_or(0, |s| self.src.line(s.get_ref().number.span()))
        };
        Err(self.err(
            barriers,
            "structure.barriers",
            format!(
                "phases {} and {} may run together (barrier group {group}, different rings) but phase {}'s {ma} from {} {how} phase {}'s {mb} from {}",
                a.id, b.id, a.id, a.approach.leg, b.id, b.approach.leg
            ),
            format!(
                "put phases {} and {} in different barrier groups (or the same ring); or correct `approach`/`movements` of phase {} (line {}) or {} (line {}); a left turn that yields to the opposing traffic is `left_yield` or has `permissive = N`",
                a.id,
                b.id,
                a.id,
                line_of_phase(a.id),
                b.id,
                line_of_phase(b.id)
            ),
        ))
    }

    /// Checks each protected/permissive left turn against the compatibility matrix: it must
    /// conflict with the phase it yields to, every other phase it conflicts with must conflict with
    /// that phase too (so nothing else can be green while the arrow flashes), and its yellow may not
    /// outlast the opposing through's (the steady yellow arrow runs with it, MUTCD 4D.20).
    pub(super) fn check_permissive(
        &self,
        raw: &[Spanned<file::PhaseSection>],
        phases: &[Option<PhaseTiming>; MAX_PHASES],
        conflicts: &[PhaseSet; MAX_PHASES],
    ) -> Result<(), ConfigError> {
        for sp in raw {
            let Some(v) = &sp.get_ref().permissive else { continue };
            let Ok(l) = self.phase_id(&sp.get_ref().number, "phase.number") else {
                continue;
            };
            let field = format!("phase {l}.permissive");
            let o = self.phase_id(v, &field)?;
            let (Some(lt), Some(ot)) = (
                phases.get(l.index()).and_then(|x| x.as_ref()),
                phases.get(o.index()).and_then(|x| x.as_ref()),
            ) else {
                return Err(self.err(
                    v.span(),
                    &field,
                    format!("phase {l} yields to phase {o}, which is not configured"),
                    "name the opposing through phase, e.g. permissive = 2 for the southbound left (phase 1)",
                ));
            };
            let lc = conflicts.get(l.index()).copied().unwrap_or(PhaseSet::EMPTY);
            let oc = conflicts.get(o.index()).copied().unwrap_or(PhaseSet::EMPTY);
            if !lc.contains(o) {
                return Err(self.err(
                    v.span(),
                    &field,
                    format!("phase {l} does not conflict with phase {o}: there is nothing to yield to"),
                    "name the opposing through phase (the one in the same ring, e.g. 2 for 1)",
                ));
            }
            if let Some(x) = lc.difference(PhaseSet::EMPTY.with(o)).difference(oc).iter().next() {
                return Err(self.err(
                    v.span(),
                    &field,
                    format!(
                        "phase {x} conflicts with left turn {l} but may run with phase {o}: a flashing yellow arrow during {o} would show with {x}"
                    ),
                    "yield to the opposing through phase only, or make the two phases conflict",
                ));
            }
            if lt.ped.is_some() {
                return Err(self.err(
                    v.span(),
                    &field,
                    format!("phase {l} has a pedestrian crossing; a permissive left turn phase cannot carry one"),
                    "move the crossing to the through phase",
                ));
            }
            if lt.yellow_ms > ot.yellow_ms {
                return Err(self.err(
                    v.span(),
                    &field,
                    format!(
                        "left turn {l} has a {:.1} s yellow, longer than phase {o}'s {:.1} s: the yellow arrow after the flashing arrow runs with {o}'s yellow",
                        f64::from(lt.yellow_ms) / 1000.0,
                        f64::from(ot.yellow_ms) / 1000.0
                    ),
                    format!("set yellow_s of phase {o} to at least that of phase {l}"),
                ));
            }
        }
        Ok(())
    }
}
