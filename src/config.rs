//! Intersection (site) configuration: load, validate, derive.
//!
//! A site file (`board/sites/*.toml`) describes the ring-and-barrier structure (NEMA TS2), each
//! phase's timing limits and geometry, pedestrian crossings and detectors. Each vehicle phase
//! states its approach leg and movements ([`geometry`]); validation refuses a structure that lets
//! crossing or merging movements run together (the conflict diagram of MUTCD 4D.05), so a typo in
//! `barriers` is caught here as well as by the cabinet's compatibility card (`monitor::card`). Loading produces a
//! validated [`Site`] of fixed size (no heap inside), so the control loop can keep and swap it
//! without allocating. Yellow, red clearance and pedestrian clearance are derived by the ITE and
//! MUTCD formulas in [`derive`]; overrides are accepted only above the standards' floors.
//!
//! Every error names the file, the line and the field, and says how to fix it.

pub mod derive;
pub mod file;
pub mod geometry;

use crate::limits::{MAX_DETECTORS, MAX_GROUPS, MAX_PHASES, MAX_PREEMPTS, MAX_RINGS, NAME_LEN};
use crate::phase::{PhaseId, PhaseSet};
use core::ops::Range;
use std::path::Path;
use toml::Spanned;

/// Recall mode of a phase (NEMA TS2 3.5.5.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recall {
    None,
    /// A call is placed whenever the phase is not green; it is served at least for min green.
    Min,
    /// As Min, and the phase never gaps out: it times to max green.
    Max,
    /// A pedestrian call is placed every cycle (walk and pedestrian clearance are served).
    Ped,
}

/// Head colour shown in flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashColor {
    Red,
    Yellow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlannerKind {
    Actuated,
    Webster,
    /// Queue-aware actuated control from camera / area detection (`plan::adaptive`).
    Adaptive,
    /// A trained Q-table deciding green ends, deferring to `Adaptive` when not confident
    /// (`plan::learned`; the model file is given at start-up).
    Learned,
}

impl PlannerKind {
    pub const fn name(self) -> &'static str {
        match self {
            PlannerKind::Actuated => "actuated",
            PlannerKind::Webster => "webster",
            PlannerKind::Adaptive => "adaptive",
            PlannerKind::Learned => "learned",
        }
    }
}

/// Pedestrian crossing timed with a vehicle phase (NEMA pedestrian movement).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PedTiming {
    pub crossing_m: f32,
    pub walk_ms: u32,
    /// Flashing DON'T WALK (MUTCD 4E.06 pedestrian change interval).
    pub clearance_ms: u32,
    pub recall: bool,
    pub design_volume_pph: f32,
}

impl PedTiming {
    /// Walk plus pedestrian clearance: the shortest green that can serve a pedestrian call.
    pub const fn service_ms(&self) -> u32 {
        self.walk_ms + self.clearance_ms
    }
}

/// Validated timing of one vehicle phase. All durations in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseTiming {
    pub id: PhaseId,
    pub name: heapless::String<NAME_LEN>,
    pub min_green_ms: u32,
    pub max_green_ms: u32,
    /// Passage (vehicle extension, unit extension) time: the gap that ends an actuated green.
    pub passage_ms: u32,
    pub recall: Recall,
    pub yellow_ms: u32,
    pub red_clear_ms: u32,
    pub speed_kmh: f32,
    pub grade_pct: f32,
    pub crossing_width_m: f32,
    pub lanes: u8,
    pub design_volume_vph: f32,
    pub flash: FlashColor,
    pub ped: Option<PedTiming>,
    /// Protected/permissive left turn (flashing yellow arrow, MUTCD 4D.17-4D.20): the opposing
    /// through phase this left turn yields to. While that phase is green (and the planner allows
    /// it) the head shows a flashing yellow arrow; it ends with a steady yellow arrow, and the
    /// opposing through's red clearance is stretched to cover this head's clearance.
    pub permissive: Option<PhaseId>,
    /// The leg the phase's vehicles arrive on and the movements it serves ([`geometry`]).
    pub approach: geometry::Approach,
}

impl PhaseTiming {
    /// Shortest green this phase may show when it serves a pedestrian call as well.
    pub fn min_green_with_ped_ms(&self) -> u32 {
        match self.ped {
            Some(p) => self.min_green_ms.max(p.service_ms()),
            None => self.min_green_ms,
        }
    }
}

/// A detector channel and the phase it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DetectorDef {
    pub number: u8,
    pub phase: PhaseId,
    pub call: bool,
    pub extend: bool,
}

/// An emergency-vehicle preempt (validated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreemptDef {
    /// Input number 1..=8 (bit `number - 1` of `InputFrame::preempt`); lower numbers win.
    pub number: u8,
    pub dwell_phases: PhaseSet,
    /// Shortest green of a phase ended for the preempt (never below 1 s; yellow and red clearance
    /// are never shortened).
    pub min_green_ms: u32,
    /// Shortest pedestrian clearance of a crossing ended for the preempt.
    pub ped_clear_ms: u32,
    pub dwell_ms: u32,
}

/// Transit signal priority limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransitDef {
    pub max_extension_ms: u32,
    pub early_green: bool,
}

/// One ring: its phase sequence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ring {
    pub phases: heapless::Vec<PhaseId, MAX_PHASES>,
}

/// The validated site. Fixed size; `Clone` does not allocate.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    pub name: heapless::String<NAME_LEN>,
    pub device_id: u16,
    pub tick_ms: u32,
    pub rest_in_red: bool,
    pub planner: PlannerKind,
    pub cycle_min_ms: u32,
    pub cycle_max_ms: u32,
    pub startup_red_ms: u32,
    pub saturation_flow_vphpl: f32,
    pub detector_stale_ms: u32,
    pub rings: heapless::Vec<Ring, MAX_RINGS>,
    /// Barrier groups in service order.
    pub groups: heapless::Vec<PhaseSet, MAX_GROUPS>,
    /// Compatibility matrix: `conflicts[i]` = phases that may never show green/yellow/walk with phase i.
    /// The engine times by it; the conflict monitor does not read it (it trusts the MMU card).
    pub conflicts: [PhaseSet; MAX_PHASES],
    pub phases: [Option<PhaseTiming>; MAX_PHASES],
    pub detectors: [Option<DetectorDef>; MAX_DETECTORS],
    pub preempts: heapless::Vec<PreemptDef, MAX_PREEMPTS>,
    /// Transit signal priority (None: disabled).
    pub transit: Option<TransitDef>,
}

impl Site {
    /// Configured phases.
    pub fn phase_set(&self) -> PhaseSet {
        let mut s = PhaseSet::EMPTY;
        for p in self.phases.iter().flatten() {
            s.insert(p.id);
        }
        s
    }

    pub fn phase(&self, p: PhaseId) -> Option<&PhaseTiming> {
        self.phases.get(p.index()).and_then(|o| o.as_ref())
    }

    pub fn phases(&self) -> impl Iterator<Item = &PhaseTiming> {
        self.phases.iter().flatten()
    }

    /// Change interval of phase `p` as the engine times it: yellow plus red clearance, the red
    /// clearance stretched to cover the steady yellow arrow and red clearance of the permissive left
    /// turns that yield to `p` (they end with it).
    pub fn change_ms(&self, p: PhaseId) -> u32 {
        let Some(ph) = self.phase(p) else { return 0 };
        let covered = self
            .phases()
            .filter(|l| l.permissive == Some(p))
            .map(|l| (l.yellow_ms + l.red_clear_ms).saturating_sub(ph.yellow_ms))
            .max()
            .unwrap_or(0);
        ph.yellow_ms + ph.red_clear_ms.max(covered)
    }

    pub fn conflicts_with(&self, a: PhaseId, b: PhaseId) -> bool {
        self.conflicts.get(a.index()).is_some_and(|row| row.contains(b))
    }

    /// The ring holding `p`.
    pub fn ring_of(&self, p: PhaseId) -> Option<usize> {
        self.rings.iter().position(|r| r.phases.contains(&p))
    }

    /// The barrier group holding `p`.
    pub fn group_of(&self, p: PhaseId) -> Option<usize> {
        self.groups.iter().position(|g| g.contains(p))
    }

    /// Phases with a pedestrian crossing.
    pub fn ped_phases(&self) -> PhaseSet {
        let mut s = PhaseSet::EMPTY;
        for p in self.phases().filter(|p| p.ped.is_some()) {
            s.insert(p.id);
        }
        s
    }

    /// Reads and validates a site file.
    pub fn load(path: &Path) -> Result<Site, ConfigError> {
        let file = path.display().to_string();
        let text = self::file::read_text(path, crate::limits::CONFIG_FILE_MAX_BYTES).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            field: String::new(),
            message: format!("cannot read the site file: {e}"),
            fix: "check the path and permissions".into(),
        })?;
        Site::parse(&text, &file)
    }

    /// Parses and validates site TOML; `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<Site, ConfigError> {
        let raw: file::SiteFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            let msg = e.message().trim().to_string();
            let field = msg.split('`').nth(1).unwrap_or("").to_string();
            let fix = if msg.contains("missing field") {
                "add the field (see board/sites/nema8-4leg.toml for a complete example)".to_string()
            } else if msg.contains("unknown field") {
                "remove or correct the field name; the accepted names are listed in the message".to_string()
            } else {
                "correct the value's type or the TOML syntax".to_string()
            };
            ConfigError {
                file: file.into(),
                line,
                field,
                message: msg,
                fix,
            }
        })?;
        Validator { text, file }.site(raw)
    }
}

/// A configuration error with where it is and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based line; 0 when the error is not tied to a line.
    pub line: usize,
    pub field: String,
    pub message: String,
    pub fix: String,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, " line {}", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, ": `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)?;
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

struct Validator<'a> {
    text: &'a str,
    file: &'a str,
}

impl Validator<'_> {
    fn err(&self, span: Range<usize>, field: &str, message: impl Into<String>, fix: impl Into<String>) -> ConfigError {
        let line = if span.start == 0 && span.end == 0 {
            0
        } else {
            line_of(self.text, span.start)
        };
        ConfigError {
            file: self.file.into(),
            line,
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// Seconds in `[lo, hi]` to milliseconds.
    /// The engine times every interval in whole ticks: an interval that is not a multiple of the
    /// tick would end up to one tick late (never early), so the street would not show the timing
    /// the file states. Such a tick is refused, naming the first interval it does not divide.
    fn tick_divides_intervals(
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

    fn site(&self, raw: file::SiteFile) -> Result<Site, ConfigError> {
        let s = &raw.site;
        let name = self.name(&s.name, "site.name")?;
        let device_id = u16::try_from(*s.device_id.get_ref())
            .map_err(|_| self.err(s.device_id.span(), "site.device_id", "out of range", "use 0 to 65535"))?;
        let tick_ms = u32::try_from(*s.tick_ms.get_ref())
            .ok()
            .filter(|t| (10..=1000).contains(t) && 1000 % t == 0)
            .ok_or_else(|| {
                self.err(
                    s.tick_ms.span(),
                    "site.tick_ms",
                    "unsupported tick",
                    "use a divisor of 1000 from 10 to 1000 ms (100 is standard)",
                )
            })?;
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

        // Phases.
        let mut phases: [Option<PhaseTiming>; MAX_PHASES] = Default::default();
        if raw.phase.is_empty() {
            return Err(self.err(0..0, "phase", "no phases configured", "add [[phase]] tables"));
        }
        for sp in &raw.phase {
            let p = self.phase(sp, default_flash)?;
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

        Ok(Site {
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
            rings,
            groups,
            conflicts,
            phases,
            detectors,
            preempts,
            transit,
        })
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

    fn phase(&self, sp: &Spanned<file::PhaseSection>, default_flash: FlashColor) -> Result<PhaseTiming, ConfigError> {
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
                Some(PedTiming {
                    crossing_m: crossing_m as f32,
                    walk_ms,
                    clearance_ms,
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

    /// The geometric check: a flashing-yellow-arrow left yields to the through movement of the
    /// opposite leg, and no two phases that the rings and barriers let run together have movements
    /// that cross or merge, except a left turn that yields to the opposing leg (MUTCD 4D.17-4D.20).
    fn check_geometry(
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
                .map_or(0, |s| line_of(self.text, s.get_ref().number.span().start))
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
    fn check_permissive(
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

pub fn parse_planner(s: &str) -> Option<PlannerKind> {
    match s {
        "actuated" => Some(PlannerKind::Actuated),
        "webster" | "fixed" => Some(PlannerKind::Webster),
        "adaptive" => Some(PlannerKind::Adaptive),
        "learned" => Some(PlannerKind::Learned),
        _ => None,
    }
}
