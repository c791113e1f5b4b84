//! One `[[phase]]` table: timing limits, the yellow and red clearance derived by the ITE formula or
//! overridden above the MUTCD 4D.26 floors, the pedestrian crossing (MUTCD 4E.06), and the approach
//! and movements the geometry check uses.

use super::Validator;
use crate::config::diag::ConfigError;
use crate::config::site::{FlashColor, PedTiming, PhaseTiming, Recall};
use crate::config::{derive, file, geometry};
use crate::phase::PhaseId;
use toml::Spanned;

impl Validator<'_> {
    pub(super) fn phase(
        &self,
        sp: &Spanned<file::PhaseSection>,
        default_flash: FlashColor,
        ped_buffer: bool,
    ) -> Result<PhaseTiming, ConfigError> {
        let p = sp.get_ref();
        let id = self.phase_id(&p.number, "phase.number")?;
        let f = |name: &str| format!("phase {id} {name}");
        let name = match &p.name {
            Some(n) => self.name(n, &f("name"))?,
            None => heapless::String::new(),
        };
        let min_green_ms = self.secs(&p.min_green_s, &f("min_green_s"), 2.0, 120.0)?;
        let max_green_ms = self.secs(&p.max_green_s, &f("max_green_s"), 2.0, 255.0)?;
        if max_green_ms < min_green_ms {
            return Err(self.err(
                p.max_green_s.span(),
                &f("max_green_s"),
                "max green is shorter than min green",
                "make max_green_s >= min_green_s",
            ));
        }
        let (dynamic_max_ms, dynamic_step_ms) = match (&p.dynamic_max_s, &p.dynamic_step_s) {
            (None, None) => (max_green_ms, 0),
            (Some(limit), Some(step)) => {
                let limit_ms = self.secs(limit, &f("dynamic_max_s"), 2.0, 255.0)?;
                let step_ms = self.secs(step, &f("dynamic_step_s"), 0.1, 60.0)?;
                if limit_ms <= max_green_ms {
                    return Err(self.err(
                        limit.span(),
                        &f("dynamic_max_s"),
                        "the dynamic max limit is not above max green",
                        "make dynamic_max_s longer than max_green_s, or remove both dynamic_* keys",
                    ));
                }
                if step_ms > limit_ms - max_green_ms {
                    return Err(self.err(
                        step.span(),
                        &f("dynamic_step_s"),
                        "the dynamic max step is larger than the room between max green and the limit",
                        "use a step of at most dynamic_max_s - max_green_s",
                    ));
                }
                (limit_ms, step_ms)
            }
            (Some(v), None) | (None, Some(v)) => {
                let key = if p.dynamic_max_s.is_some() {
                    "dynamic_max_s"
                } else {
                    "dynamic_step_s"
                };
                return Err(self.err(
                    v.span(),
                    &f(key),
                    "dynamic max needs both a limit and a step",
                    "give both dynamic_max_s and dynamic_step_s, or neither",
                ));
            }
        };
        let passage_ms = self.secs(&p.passage_s, &f("passage_s"), 0.0, 10.0)?;
        let recall = match p.recall.get_ref().as_str() {
            "none" => Recall::None,
            "min" => Recall::Min,
            "max" => Recall::Max,
            "ped" => Recall::Ped,
            other => {
                return Err(self.err(
                    p.recall.span(),
                    &f("recall"),
                    format!("unknown recall `{other}`"),
                    "use \"none\", \"min\", \"max\" or \"ped\"",
                ))
            }
        };
        let speed_kmh = self.number(&p.speed_kmh, &f("speed_kmh"), 10.0, 130.0)?;
        let grade_pct = self.number(&p.grade_pct, &f("grade_pct"), -10.0, 10.0)?;
        let crossing_width_m = self.number(&p.crossing_width_m, &f("crossing_width_m"), 3.0, 100.0)?;
        let lanes = u8::try_from(*p.lanes.get_ref())
            .ok()
            .filter(|l| (1..=8).contains(l))
            .ok_or_else(|| {
                self.err(
                    p.lanes.span(),
                    &f("lanes"),
                    "lane count out of range",
                    "use 1 to 8 lanes",
                )
            })?;
        let design_volume_vph = self.number(&p.design_volume_vph, &f("design_volume_vph"), 0.0, 4000.0)? as f32;

        let derived_yellow = derive::yellow_ms(speed_kmh, grade_pct);
        let yellow_ms = match &p.yellow_s {
            None => derived_yellow,
            Some(y) => {
                let ms = self.secs(y, &f("yellow_s"), 0.0, 10.0)?;
                if ms < derive::YELLOW_MIN_MS {
                    return Err(self.err(
                        y.span(),
                        &f("yellow_s"),
                        format!("yellow {} s is below the 3 s minimum (MUTCD 4D.26)", *y.get_ref()),
                        "use at least 3.0 s, or remove yellow_s to use the ITE value",
                    ));
                }
                if ms > derive::YELLOW_MAX_MS {
                    return Err(self.err(
                        y.span(),
                        &f("yellow_s"),
                        "yellow longer than 6 s (MUTCD 4D.26)",
                        "use at most 6.0 s",
                    ));
                }
                ms
            }
        };
        let derived_red = derive::red_clear_ms(crossing_width_m, speed_kmh);
        let red_clear_ms = match &p.red_clear_s {
            None => derived_red,
            Some(r) => {
                let ms = self.secs(r, &f("red_clear_s"), 0.0, 10.0)?;
                if ms < derive::RED_CLEAR_MIN_MS {
                    return Err(self.err(
                        r.span(),
                        &f("red_clear_s"),
                        "red clearance below 1.0 s",
                        "use at least 1.0 s, or remove red_clear_s to use the ITE value",
                    ));
                }
                if ms > derive::RED_CLEAR_MAX_MS {
                    return Err(self.err(
                        r.span(),
                        &f("red_clear_s"),
                        "red clearance longer than 6 s (MUTCD 4D.26)",
                        "use at most 6.0 s",
                    ));
                }
                ms
            }
        };
        let flash = match &p.flash {
            Some(v) => self.flash(v, &f("flash"))?,
            None => default_flash,
        };
        let ped = match &p.ped {
            None => None,
            Some(ps) => {
                let pd = ps.get_ref();
                let crossing_m = self.number(&pd.crossing_m, &f("ped.crossing_m"), 2.0, 100.0)?;
                let walk_ms = self.secs(&pd.walk_s, &f("ped.walk_s"), 0.0, 60.0)?;
                if walk_ms < derive::WALK_MIN_MS {
                    return Err(self.err(
                        pd.walk_s.span(),
                        &f("ped.walk_s"),
                        "walk below 7 s (MUTCD 4E.06)",
                        "use at least 7.0 s",
                    ));
                }
                let derived = derive::ped_clear_ms(crossing_m);
                let clearance_ms = match &pd.clearance_s {
                    None => derived,
                    Some(c) => {
                        let ms = self.secs(c, &f("ped.clearance_s"), 0.0, 120.0)?;
                        if ms < derived {
                            return Err(self.err(
                                c.span(),
                                &f("ped.clearance_s"),
                                format!(
                                    "pedestrian clearance below {:.1} s, the crossing at 1.07 m/s (MUTCD 4E.06)",
                                    derived as f64 / 1000.0
                                ),
                                "lengthen it or remove clearance_s to use the derived value",
                            ));
                        }
                        ms
                    }
                };
                let design_volume_pph =
                    self.number(&pd.design_volume_pph, &f("ped.design_volume_pph"), 0.0, 3600.0)? as f32;
                let change_ms = derive::ped_change_ms(clearance_ms, ped_buffer.then_some(yellow_ms + red_clear_ms));
                Some(PedTiming {
                    crossing_m: crossing_m as f32,
                    walk_ms,
                    clearance_ms,
                    change_ms,
                    recall: pd.recall,
                    design_volume_pph,
                })
            }
        };
        if let Some(pd) = &ped {
            if max_green_ms < pd.service_ms() {
                return Err(self.err(
                    p.max_green_s.span(),
                    &f("max_green_s"),
                    format!(
                        "max green {:.1} s cannot serve walk + pedestrian clearance {:.1} s",
                        max_green_ms as f64 / 1000.0,
                        pd.service_ms() as f64 / 1000.0
                    ),
                    "raise max_green_s",
                ));
            }
        }
        let recall = if ped.is_none() && recall == Recall::Ped {
            return Err(self.err(
                p.recall.span(),
                &f("recall"),
                "pedestrian recall on a phase without a crossing",
                "add a [phase.ped] table or use another recall",
            ));
        } else {
            recall
        };
        Ok(PhaseTiming {
            id,
            name,
            min_green_ms,
            max_green_ms,
            dynamic_max_ms,
            dynamic_step_ms,
            passage_ms,
            recall,
            yellow_ms,
            red_clear_ms,
            speed_kmh: speed_kmh as f32,
            grade_pct: grade_pct as f32,
            crossing_width_m: crossing_width_m as f32,
            lanes,
            design_volume_vph,
            flash,
            ped,
            permissive: match &p.permissive {
                Some(v) => Some(self.phase_id(v, &f("permissive"))?),
                None => None,
            },
            approach: self.approach(sp, id)?,
        })
    }

    /// The required `approach` and `movements` of a vehicle phase.
    fn approach(&self, sp: &Spanned<file::PhaseSection>, id: PhaseId) -> Result<geometry::Approach, ConfigError> {
        let p = sp.get_ref();
        let why = "the geometry check and the MMU card from `greenwave check --print-card` use it to find the movements that cross";
        let Some(a) = &p.approach else {
            return Err(self.err(
                p.number.span(),
                &format!("phase {id} approach"),
                format!("phase {id} has no `approach`"),
                format!("add approach = \"S\" (the leg its vehicles arrive on: N, NE, E, SE, S, SW, W or NW); {why}"),
            ));
        };
        let leg = geometry::Leg::parse(a.get_ref()).ok_or_else(|| {
            self.err(
                a.span(),
                &format!("phase {id} approach"),
                format!("unknown approach `{}`", a.get_ref()),
                "use a compass leg: N, NE, E, SE, S, SW, W or NW",
            )
        })?;
        let Some(ms) = &p.movements else {
            return Err(self.err(
                p.number.span(),
                &format!("phase {id} movements"),
                format!("phase {id} has no `movements`"),
                format!(
                    "add e.g. movements = [\"through\", \"right\"] (left, through, right, u-turn, left_yield); {why}"
                ),
            ));
        };
        let mut movements = geometry::Movements::EMPTY;
        for m in ms.get_ref() {
            let mv = geometry::Movement::parse(m.get_ref()).ok_or_else(|| {
                self.err(
                    m.span(),
                    &format!("phase {id} movements"),
                    format!("unknown movement `{}`", m.get_ref()),
                    "use \"left\", \"through\", \"right\", \"u-turn\" or \"left_yield\" (a left on a circular green that yields to opposing traffic)",
                )
            })?;
            if movements.contains(mv) {
                return Err(self.err(
                    m.span(),
                    &format!("phase {id} movements"),
                    format!("movement `{mv}` is listed twice"),
                    "list each movement once",
                ));
            }
            movements = movements.with(mv);
        }
        if movements.is_empty() {
            return Err(self.err(
                ms.span(),
                &format!("phase {id} movements"),
                "no movements",
                "list what the phase serves, e.g. [\"through\", \"right\"]",
            ));
        }
        if movements.contains(geometry::Movement::Left) && movements.contains(geometry::Movement::LeftYield) {
            return Err(self.err(
                ms.span(),
                &format!("phase {id} movements"),
                "both `left` (protected) and `left_yield` (yields to opposing traffic)",
                "keep one: `left` for a protected arrow (add `permissive = N` for a flashing yellow arrow), `left_yield` for a left on the circular green",
            ));
        }
        Ok(geometry::Approach { leg, movements })
    }
}
