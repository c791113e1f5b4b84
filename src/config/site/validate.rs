//! Validation of a site file: every value in range, the ring-and-barrier structure consistent,
//! the compatibility matrix derived, and the cross-checks ([`checks`]: geometry, permissive left
//! turns; [`phase`]: one phase's timing by the ITE and MUTCD rules). The first error found is
//! returned with its file, line, field and fix ([`crate::config::diag`]).

mod checks;
mod phase;

use super::{parse_planner, DetectorDef, FlashColor, PhaseTiming, PreemptDef, Ring, SiteData, TransitDef};
use crate::config::diag::{ConfigError, Source, NO_SPAN};
use crate::config::{derive, file};
use crate::limits::{MAX_DETECTORS, MAX_GROUPS, MAX_PHASES, MAX_PREEMPTS, MAX_RINGS, NAME_LEN};
use crate::phase::{PhaseId, PhaseSet};
use core::ops::Range;
use toml::Spanned;

pub(super) struct Validator<'a> {
    pub(super) src: Source<'a>,
}

impl Validator<'_> {
    fn err(&self, span: Range<usize>, field: &str, message: impl Into<String>, fix: impl Into<String>) -> ConfigError {
        self.src.err(span, field, message, fix)
    }

    /// The engine times every interval in whole ticks: an interval that is not a multiple of the
    /// tick would end up to one tick late (never early), so the street would not show the timing
    /// the file states. Such a tick is refused, naming the first interval it does not divide.
    pub(super) fn tick_divides_intervals(
        &self,
        span: core::ops::Range<usize>,
        tick_ms: u32,
        phases: &[Option<PhaseTiming>; MAX_PHASES],
        preempts: &[PreemptDef],
        transit: Option<&TransitDef>,
    ) -> Result<(), ConfigError> {
        let mut intervals: heapless::Vec<(u32, heapless::String<48>), 96> = heapless::Vec::new();
        let mut add = |ms: u32, what: core::fmt::Arguments| {
            let mut name = heapless::String::new();
            let _ = core::fmt::Write::write_fmt(&mut name, what);
            let _ = intervals.push((ms, name));
        };
        for ph in phases.iter().flatten() {
            let n = ph.id.number();
            add(ph.min_green_ms, format_args!("phase {n} min green"));
            add(ph.max_green_ms, format_args!("phase {n} max green"));
            add(ph.passage_ms, format_args!("phase {n} passage"));
            add(ph.yellow_ms, format_args!("phase {n} yellow"));
            add(ph.red_clear_ms, format_args!("phase {n} red clearance"));
            if let Some(pd) = &ph.ped {
                add(pd.walk_ms, format_args!("phase {n} walk"));
                add(pd.clearance_ms, format_args!("phase {n} pedestrian clearance"));
                add(pd.change_ms, format_args!("phase {n} flashing DON'T WALK"));
            }
        }
        for pr in preempts {
            let n = pr.number;
            add(pr.min_green_ms, format_args!("preempt {n} min green"));
            add(pr.ped_clear_ms, format_args!("preempt {n} pedestrian clearance"));
            add(pr.dwell_ms, format_args!("preempt {n} dwell"));
        }
        if let Some(t) = transit {
            add(t.max_extension_ms, format_args!("transit max extension"));
        }
        match intervals.iter().find(|(ms, _)| ms % tick_ms != 0) {
            None => Ok(()),
            Some((ms, what)) => Err(self.err(
                span,
                "site.tick_ms",
                format!(
                    "{tick_ms} ms does not divide the {what} ({:.3} s): the engine would time it as {:.3} s",
                    f64::from(*ms) / 1000.0,
                    f64::from(ms.div_ceil(tick_ms) * tick_ms) / 1000.0
                ),
                format!("use a tick that divides every interval (100 ms always does), or set the {what} to a multiple of {tick_ms} ms"),
            )),
        }
    }

    /// Seconds in `[lo, hi]` to milliseconds.
    /// The control tick: a divisor of 1000 ms from 10 to 1000 ms.
    pub(super) fn tick_ms(&self, span: Range<usize>, tick: i64) -> Result<u32, ConfigError> {
        u32::try_from(tick)
            .ok()
            .filter(|t| (10..=1000).contains(t) && 1000 % t == 0)
            .ok_or_else(|| {
                self.err(
                    span,
                    "site.tick_ms",
                    "unsupported tick",
                    "use a divisor of 1000 from 10 to 1000 ms (100 is standard)",
                )
            })
    }

    fn secs(&self, v: &Spanned<f64>, field: &str, lo: f64, hi: f64) -> Result<u32, ConfigError> {
        let x = *v.get_ref();
        if !x.is_finite() || x < lo || x > hi {
            return Err(self.err(
                v.span(),
                field,
                format!("{x} s is out of range"),
                format!("use a value from {lo} to {hi} seconds"),
            ));
        }
        Ok(derive::ceil_ms(x))
    }

    fn number(&self, v: &Spanned<f64>, field: &str, lo: f64, hi: f64) -> Result<f64, ConfigError> {
        let x = *v.get_ref();
        if !x.is_finite() || x < lo || x > hi {
            return Err(self.err(
                v.span(),
                field,
                format!("{x} is out of range"),
                format!("use a value from {lo} to {hi}"),
            ));
        }
        Ok(x)
    }

    fn phase_id(&self, v: &Spanned<i64>, field: &str) -> Result<PhaseId, ConfigError> {
        u8::try_from(*v.get_ref()).ok().and_then(PhaseId::new).ok_or_else(|| {
            self.err(
                v.span(),
                field,
                format!("phase {} does not exist", v.get_ref()),
                format!("phases are numbered 1 to {MAX_PHASES} (NEMA)"),
            )
        })
    }

    fn name(&self, v: &Spanned<String>, field: &str) -> Result<heapless::String<NAME_LEN>, ConfigError> {
        heapless::String::try_from(v.get_ref().as_str()).map_err(|_| {
            self.err(
                v.span(),
                field,
                "name is too long",
                format!("use at most {NAME_LEN} bytes"),
            )
        })
    }

    /// A two-way keyword: absent or `words[0]` is false, `words[1]` true; anything else is refused
    /// as an unknown `what`.
    fn either(
        &self,
        v: &Option<Spanned<String>>,
        field: &str,
        words: [&str; 2],
        what: &str,
        fix: &str,
    ) -> Result<bool, ConfigError> {
        let Some(v) = v else { return Ok(false) };
        match v.get_ref().as_str() {
            w if w == words[0] => Ok(false),
            w if w == words[1] => Ok(true),
            other => Err(self.err(v.span(), field, format!("unknown {what} `{other}`"), fix)),
        }
    }

    fn flash(&self, v: &Spanned<String>, field: &str) -> Result<FlashColor, ConfigError> {
        match v.get_ref().as_str() {
            "red" => Ok(FlashColor::Red),
            "yellow" => Ok(FlashColor::Yellow),
            other => Err(self.err(
                v.span(),
                field,
                format!("unknown flash colour `{other}`"),
                "use \"red\" or \"yellow\"",
            )),
        }
    }

    pub(super) fn site(&self, raw: &file::SiteFile) -> Result<SiteData, ConfigError> {
        let s = &raw.site;
        let name = self.name(&s.name, "site.name")?;
        let device_id = u16::try_from(*s.device_id.get_ref())
            .map_err(|_| self.err(s.device_id.span(), "site.device_id", "out of range", "use 0 to 65535"))?;
        let tick_ms = self.tick_ms(s.tick_ms.span(), *s.tick_ms.get_ref())?;
        let rest_in_red = match s.rest.get_ref().as_str() {
            "green" => false,
            "red" => true,
            other => {
                return Err(self.err(
                    s.rest.span(),
                    "site.rest",
                    format!("unknown rest mode `{other}`"),
                    "use \"green\" or \"red\"",
                ))
            }
        };
        let planner = parse_planner(s.planner.get_ref()).ok_or_else(|| {
            self.err(
                s.planner.span(),
                "site.planner",
                format!("unknown planner `{}`", s.planner.get_ref()),
                "use \"actuated\", \"adaptive\", \"learned\" or \"webster\"",
            )
        })?;
        let cycle_min_ms = self.secs(&s.cycle_min_s, "site.cycle_min_s", 20.0, 300.0)?;
        let cycle_max_ms = self.secs(&s.cycle_max_s, "site.cycle_max_s", 20.0, 300.0)?;
        if cycle_max_ms < cycle_min_ms {
            return Err(self.err(
                s.cycle_max_s.span(),
                "site.cycle_max_s",
                "shorter than cycle_min_s",
                "make cycle_max_s >= cycle_min_s",
            ));
        }
        let startup_red_ms = self.secs(&s.startup_red_s, "site.startup_red_s", 2.0, 30.0)?;
        let saturation_flow_vphpl =
            self.number(&s.saturation_flow_vphpl, "site.saturation_flow_vphpl", 600.0, 2400.0)? as f32;
        let default_flash = self.flash(&s.flash, "site.flash")?;
        let detector_stale_ms = self.secs(&s.detector_stale_s, "site.detector_stale_s", 0.2, 60.0)?;
        let time_zone = match &s.time_zone {
            None => heapless::String::new(),
            Some(z) => {
                let name = z.get_ref().as_str();
                let fix = "use an IANA time zone name such as \"America/Chicago\" or \"Europe/Berlin\" (see /usr/share/zoneinfo), or leave it out to use the system's";
                if jiff::tz::TimeZone::get(name).is_err() {
                    return Err(self.err(z.span(), "site.time_zone", format!("unknown time zone `{name}`"), fix));
                }
                heapless::String::try_from(name)
                    .map_err(|_| self.err(z.span(), "site.time_zone", "time zone name too long", fix))?
            }
        };
        let ped_buffer = self.either(
            &s.ped_clearance,
            "site.ped_clearance",
            ["green", "buffer"],
            "pedestrian clearance placement",
            "use \"green\" (all of it flashing DON'T WALK in the green) or \"buffer\" (the yellow and red clearance count towards it, MUTCD 4E.06)",
        )?;
        let fixed_time_protected_lefts = self.either(
            &s.fixed_time_lefts,
            "site.fixed_time_lefts",
            ["by-volume", "protected"],
            "fixed-time left-turn mode",
            "use \"by-volume\" (a light left with a flashing yellow arrow runs permissive-only in the fixed-time plan) or \"protected\" (every protected left every cycle)",
        )?;
        let event_time_utc = self.either(
            &s.event_time,
            "site.event_time",
            ["local", "utc"],
            "event time",
            "use \"local\" (the controller's local time, what ATSPM expects) or \"utc\"",
        )?;

        // Phases.
        let mut phases: [Option<PhaseTiming>; MAX_PHASES] = Default::default();
        if raw.phase.is_empty() {
            return Err(self.err(NO_SPAN, "phase", "no phases configured", "add [[phase]] tables"));
        }
        for sp in &raw.phase {
            let p = self.phase(sp, default_flash, ped_buffer)?;
            let slot = &mut phases[p.id.index()];
            if slot.is_some() {
                return Err(self.err(
                    sp.get_ref().number.span(),
                    "phase.number",
                    format!("phase {} is defined twice", p.id),
                    "give each [[phase]] a distinct number",
                ));
            }
            *slot = Some(p);
        }
        let defined = {
            let mut s = PhaseSet::EMPTY;
            for p in phases.iter().flatten() {
                s.insert(p.id);
            }
            s
        };

        // Structure: rings and barriers.
        let st = raw.structure.get_ref();
        let mut rings: heapless::Vec<Ring, MAX_RINGS> = heapless::Vec::new();
        let mut in_rings = PhaseSet::EMPTY;
        if st.rings.get_ref().is_empty() {
            return Err(self.err(
                st.rings.span(),
                "structure.rings",
                "no rings",
                "list each ring's phase sequence, e.g. [[1, 2, 3, 4], [5, 6, 7, 8]]",
            ));
        }
        for r in st.rings.get_ref() {
            let mut ring = Ring::default();
            for v in r {
                let p = self.phase_id(v, "structure.rings")?;
                if !defined.contains(p) {
                    return Err(self.err(
                        v.span(),
                        "structure.rings",
                        format!("phase {p} is in a ring but has no [[phase]] table"),
                        "add a [[phase]] with that number or remove it from the ring",
                    ));
                }
                if in_rings.contains(p) {
                    return Err(self.err(
                        v.span(),
                        "structure.rings",
                        format!("phase {p} appears twice in the rings"),
                        "each phase belongs to exactly one ring, once",
                    ));
                }
                in_rings.insert(p);
                let _ = ring.phases.push(p);
            }
            if ring.phases.is_empty() {
                return Err(self.err(
                    st.rings.span(),
                    "structure.rings",
                    "empty ring",
                    "remove the empty ring",
                ));
            }
            rings.push(ring).map_err(|_| {
                self.err(
                    st.rings.span(),
                    "structure.rings",
                    "too many rings",
                    format!("use at most {MAX_RINGS} rings"),
                )
            })?;
        }
        if let Some(p) = defined.difference(in_rings).iter().next() {
            return Err(self.err(
                st.rings.span(),
                "structure.rings",
                format!("phase {p} is defined but in no ring"),
                "add it to a ring sequence",
            ));
        }
        let mut groups: heapless::Vec<PhaseSet, MAX_GROUPS> = heapless::Vec::new();
        let mut in_groups = PhaseSet::EMPTY;
        for g in st.barriers.get_ref() {
            let mut set = PhaseSet::EMPTY;
            for v in g {
                let p = self.phase_id(v, "structure.barriers")?;
                if !defined.contains(p) {
                    return Err(self.err(
                        v.span(),
                        "structure.barriers",
                        format!("phase {p} is in a barrier group but has no [[phase]] table"),
                        "add the phase or remove it from the barrier group",
                    ));
                }
                if in_groups.contains(p) {
                    return Err(self.err(
                        v.span(),
                        "structure.barriers",
                        format!("phase {p} is in two barrier groups"),
                        "each phase belongs to exactly one barrier group",
                    ));
                }
                in_groups.insert(p);
                set.insert(p);
            }
            if set.is_empty() {
                return Err(self.err(
                    st.barriers.span(),
                    "structure.barriers",
                    "empty barrier group",
                    "remove it",
                ));
            }
            groups.push(set).map_err(|_| {
                self.err(
                    st.barriers.span(),
                    "structure.barriers",
                    "too many barrier groups",
                    format!("use at most {MAX_GROUPS}"),
                )
            })?;
        }
        if let Some(p) = defined.difference(in_groups).iter().next() {
            return Err(self.err(
                st.barriers.span(),
                "structure.barriers",
                format!("phase {p} is in no barrier group"),
                "add it to the barrier group it runs in",
            ));
        }
        // Within a ring the phases of one barrier group must be contiguous and the groups must come in
        // the barrier order: otherwise the ring would have to cross a barrier twice in one cycle.
        for (ri, ring) in rings.iter().enumerate() {
            let mut last_group = 0usize;
            for p in ring.phases.iter() {
                let g = groups.iter().position(|g| g.contains(*p)).unwrap_or(0);
                if g < last_group {
                    return Err(self.err(
                        st.rings.span(),
                        "structure.rings",
                        format!("ring {} runs phase {p} (barrier group {}) after a phase of barrier group {}: the ring order contradicts the barrier order", ri + 1, g + 1, last_group + 1),
                        "order each ring's phases by barrier group, e.g. rings [[1,2,3,4],[5,6,7,8]] with barriers [[1,2,5,6],[3,4,7,8]]",
                    ));
                }
                last_group = g;
            }
        }
        // Compatibility: phases in different rings and the same barrier group may run together;
        // everything else conflicts.
        let mut conflicts = [PhaseSet::EMPTY; MAX_PHASES];
        for a in defined.iter() {
            for b in defined.iter() {
                if a == b {
                    continue;
                }
                let same_ring = rings.iter().any(|r| r.phases.contains(&a) && r.phases.contains(&b));
                let same_group = groups.iter().any(|g| g.contains(a) && g.contains(b));
                if same_ring || !same_group {
                    conflicts[a.index()].insert(b);
                }
            }
        }
        for pair in st.conflicts.get_ref() {
            if pair.len() != 2 {
                return Err(self.err(
                    st.conflicts.span(),
                    "structure.conflicts",
                    "each conflict is a pair of phases",
                    "write pairs like [[2, 8]]",
                ));
            }
            let a = self.phase_id(&pair[0], "structure.conflicts")?;
            let b = self.phase_id(&pair[1], "structure.conflicts")?;
            if a == b || !defined.contains(a) || !defined.contains(b) {
                return Err(self.err(
                    pair[0].span(),
                    "structure.conflicts",
                    format!("bad conflict pair {a}-{b}"),
                    "name two different configured phases",
                ));
            }
            conflicts[a.index()].insert(b);
            conflicts[b.index()].insert(a);
        }

        // Detectors.
        let mut detectors: [Option<DetectorDef>; MAX_DETECTORS] = [None; MAX_DETECTORS];
        for sd in &raw.detector {
            let d = sd.get_ref();
            let n = *d.number.get_ref();
            if n < 1 || n > MAX_DETECTORS as i64 {
                return Err(self.err(
                    d.number.span(),
                    "detector.number",
                    format!("detector {n} is out of range"),
                    format!("number detectors 1 to {MAX_DETECTORS}"),
                ));
            }
            let phase = self.phase_id(&d.phase, "detector.phase")?;
            if !defined.contains(phase) {
                return Err(self.err(
                    d.phase.span(),
                    "detector.phase",
                    format!("detector {n} serves unknown phase {phase}"),
                    "map it to a configured phase",
                ));
            }
            let slot = &mut detectors[n as usize - 1];
            if slot.is_some() {
                return Err(self.err(
                    d.number.span(),
                    "detector.number",
                    format!("detector {n} is defined twice"),
                    "give each [[detector]] a distinct number",
                ));
            }
            *slot = Some(DetectorDef {
                number: n as u8,
                phase,
                call: d.call,
                extend: d.extend,
            });
        }

        self.check_permissive(&raw.phase, &phases, &conflicts)?;
        self.check_geometry(
            &raw.phase,
            &phases,
            &conflicts,
            &groups,
            raw.structure.get_ref().barriers.span(),
        )?;
        let preempts = self.preempts(&raw.preempt, &defined, &groups, &conflicts, &phases)?;
        let transit = match &raw.transit {
            None => None,
            Some(t) => {
                let t = t.get_ref();
                Some(TransitDef {
                    max_extension_ms: self.secs(&t.max_extension_s, "transit.max_extension_s", 0.0, 60.0)?,
                    early_green: t.early_green,
                })
            }
        };

        self.tick_divides_intervals(s.tick_ms.span(), tick_ms, &phases, &preempts, transit.as_ref())?;
        let coord = self.coord(raw, &rings, &groups, &phases)?;

        Ok(SiteData {
            name,
            device_id,
            tick_ms,
            rest_in_red,
            planner,
            cycle_min_ms,
            cycle_max_ms,
            startup_red_ms,
            saturation_flow_vphpl,
            detector_stale_ms,
            time_zone,
            event_time_utc,
            fixed_time_protected_lefts,
            rings,
            groups,
            conflicts,
            phases,
            detectors,
            preempts,
            transit,
            coord,
        })
    }

    /// `[[pattern]]`, `[[day_plan]]`, `[schedule]` and `[site] pattern` against the structure.
    fn coord(
        &self,
        raw: &file::SiteFile,
        rings: &heapless::Vec<Ring, MAX_RINGS>,
        groups: &heapless::Vec<PhaseSet, MAX_GROUPS>,
        phases: &[Option<PhaseTiming>; MAX_PHASES],
    ) -> Result<crate::config::schedule::CoordConfig, ConfigError> {
        if raw.pattern.is_empty() && raw.day_plan.is_empty() && raw.schedule.is_none() && raw.site.pattern.is_none() {
            return Ok(crate::config::schedule::CoordConfig::default());
        }
        // The change intervals as the engine times them (`SiteData::change_ms`).
        let mut change_ms = [0u32; MAX_PHASES];
        for (i, c) in change_ms.iter_mut().enumerate() {
            if let Some(p) = PhaseId::from_index(i) {
                *c = super::change_ms(phases, p);
            }
        }
        let st = crate::config::schedule::Structure {
            rings,
            groups,
            phases,
            change_ms,
        };
        crate::config::schedule::validate(
            &self.src,
            &raw.pattern,
            &raw.day_plan,
            raw.schedule.as_ref(),
            raw.site.pattern.as_ref(),
            &st,
        )
    }

    fn preempts(
        &self,
        raw: &[Spanned<file::PreemptSection>],
        defined: &PhaseSet,
        groups: &heapless::Vec<PhaseSet, MAX_GROUPS>,
        conflicts: &[PhaseSet; MAX_PHASES],
        phases: &[Option<PhaseTiming>; MAX_PHASES],
    ) -> Result<heapless::Vec<PreemptDef, MAX_PREEMPTS>, ConfigError> {
        let mut out: heapless::Vec<PreemptDef, MAX_PREEMPTS> = heapless::Vec::new();
        for sp in raw {
            let p = sp.get_ref();
            let n = *p.number.get_ref();
            if !(1..=8).contains(&n) || out.iter().any(|d| i64::from(d.number) == n) {
                return Err(self.err(
                    p.number.span(),
                    "preempt.number",
                    format!("preempt {n} is out of range or defined twice"),
                    "number preempt inputs 1 to 8, each once",
                ));
            }
            let mut dwell = PhaseSet::EMPTY;
            for v in p.dwell_phases.get_ref() {
                let q = self.phase_id(v, "preempt.dwell_phases")?;
                if !defined.contains(q) {
                    return Err(self.err(
                        v.span(),
                        "preempt.dwell_phases",
                        format!("phase {q} is not configured"),
                        "name configured phases",
                    ));
                }
                if conflicts
                    .get(q.index())
                    .is_some_and(|c| !c.intersection(dwell).is_empty())
                {
                    return Err(self.err(
                        v.span(),
                        "preempt.dwell_phases",
                        format!("phase {q} conflicts with another dwell phase"),
                        "dwell phases must be able to show green together (e.g. [2, 5]: a through and its leading left)",
                    ));
                }
                dwell.insert(q);
            }
            if dwell.is_empty() || !groups.iter().any(|g| g.intersection(dwell) == dwell) {
                return Err(self.err(
                    p.dwell_phases.span(),
                    "preempt.dwell_phases",
                    "dwell phases must be non-empty and in one barrier group",
                    "list the phases serving the emergency vehicle's approach, e.g. [2, 5]",
                ));
            }
            let min_green_ms = self.secs(&p.min_green_s, "preempt.min_green_s", 1.0, 60.0)?;
            let ped_clear_ms = match &p.ped_clearance_s {
                Some(v) => self.secs(v, "preempt.ped_clearance_s", 0.0, 60.0)?,
                // Without a setting the full pedestrian clearance is kept (MUTCD 4E.06 allows
                // shortening it only for preemption, and only where the agency decides so).
                None => phases
                    .iter()
                    .flatten()
                    .filter_map(|ph| ph.ped.map(|pd| pd.clearance_ms))
                    .max()
                    .unwrap_or(0),
            };
            let dwell_ms = self.secs(&p.dwell_s, "preempt.dwell_s", 1.0, 600.0)?;
            out.push(PreemptDef {
                number: n as u8,
                dwell_phases: dwell,
                min_green_ms,
                ped_clear_ms,
                dwell_ms,
            })
            .map_err(|_| {
                self.err(
                    p.number.span(),
                    "preempt",
                    "too many preempts",
                    format!("use at most {MAX_PREEMPTS}"),
                )
            })?;
        }
        Ok(out)
    }
}
