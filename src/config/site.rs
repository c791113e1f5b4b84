//! The site file (`board/sites/*.toml`): the validated [`Site`] and the types it is made of.
//!
//! A site describes the ring-and-barrier structure (NEMA TS2), each phase's timing limits and
//! geometry, pedestrian crossings and detectors. [`Site::parse`] validates it (`validate`) into a
//! value of fixed size (no heap inside), so the control loop can keep and swap it without
//! allocating. A `Site` is read-only: its data is reached through `Deref` and cannot be assigned,
//! so nothing can change a value after validation without validating again ([`Site::with_planner`],
//! [`Site::with_tick_ms`], [`Site::without_transit`]).
//!
//! ```
//! let site = greenwave::config::Site::load(std::path::Path::new("board/sites/nema8-4leg.toml")).unwrap();
//! assert_eq!(site.tick_ms, 100); // read through `Deref`
//! let site = site.with_tick_ms(50).unwrap(); // changed only by validating again
//! assert_eq!(site.tick_ms, 50);
//! ```
//!
//! ```compile_fail
//! let mut site = greenwave::config::Site::load(std::path::Path::new("board/sites/nema8-4leg.toml")).unwrap();
//! site.tick_ms = 125; // a validated site has no writable fields
//! ```
//!
//! ```compile_fail
//! let mut site = greenwave::config::Site::load(std::path::Path::new("board/sites/nema8-4leg.toml")).unwrap();
//! site.planner = greenwave::config::PlannerKind::Webster; // use `with_planner`
//! ```

mod validate;

use super::camera::CameraConfig;
use super::console::ConsoleConfig;
use super::diag::{ConfigError, Source, NO_SPAN};
use super::{file, geometry};
use crate::limits::{MAX_DETECTORS, MAX_GROUPS, MAX_PHASES, MAX_PREEMPTS, MAX_RINGS, NAME_LEN};
use crate::phase::{PhaseId, PhaseSet};
use std::path::Path;

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
    /// The calculated pedestrian clearance time (MUTCD 4E.06: the crossing at 1.07 m/s, or the
    /// site's longer `clearance_s`).
    pub clearance_ms: u32,
    /// Flashing DON'T WALK (MUTCD 4E.06 pedestrian change interval): the whole clearance time, or
    /// with `ped_clearance = "buffer"` the clearance time less the buffer interval that follows it
    /// (the phase's yellow change and red clearance, steady DON'T WALK), never below
    /// [`crate::config::derive::PED_CHANGE_MIN_MS`].
    pub change_ms: u32,
    pub recall: bool,
    pub design_volume_pph: f32,
}

impl PedTiming {
    /// Walk plus pedestrian change interval: the shortest green that can serve a pedestrian call.
    pub const fn service_ms(&self) -> u32 {
        self.walk_ms + self.change_ms
    }
}

/// Validated timing of one vehicle phase. All durations in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseTiming {
    pub id: PhaseId,
    pub name: heapless::String<NAME_LEN>,
    pub min_green_ms: u32,
    pub max_green_ms: u32,
    /// Dynamic max limit (NTCIP 1202 v03 `phaseDynamicMaxLimit`): how far the running max green may
    /// grow over `max_green_ms` after successive max-outs; equal to `max_green_ms` when off.
    pub dynamic_max_ms: u32,
    /// Dynamic max step (NTCIP 1202 v03 `phaseDynamicMaxStep`); 0 = dynamic max off.
    pub dynamic_step_ms: u32,
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

/// What a validated [`Site`] holds, read through `Deref` (`site.tick_ms`, `site.phases()`). Fixed
/// size; `Clone` does not allocate.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteData {
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
    /// IANA time zone for event-log timestamps; empty = the system's (/etc/localtime).
    pub time_zone: heapless::String<64>,
    /// Event-log timestamps in UTC instead of local time.
    pub event_time_utc: bool,
    /// The fixed-time plan runs every protected left every cycle (`fixed_time_lefts =
    /// "protected"`); otherwise a left with a permissive display may run permissive-only when its
    /// volume allows (`plan::webster`).
    pub fixed_time_protected_lefts: bool,
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
    /// Coordination patterns and the time-of-day schedule (empty: free operation at all times).
    pub coord: super::schedule::CoordConfig,
}

impl SiteData {
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
        change_ms(&self.phases, p)
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
}

/// [`SiteData::change_ms`] over a phase table (also used while validating, before the site exists).
pub(super) fn change_ms(phases: &[Option<PhaseTiming>; MAX_PHASES], p: PhaseId) -> u32 {
    let Some(ph) = phases.get(p.index()).and_then(|o| o.as_ref()) else {
        return 0;
    };
    let covered = phases
        .iter()
        .flatten()
        .filter(|l| l.permissive == Some(p))
        .map(|l| (l.yellow_ms + l.red_clear_ms).saturating_sub(ph.yellow_ms))
        .max()
        .unwrap_or(0);
    ph.yellow_ms + ph.red_clear_ms.max(covered)
}

/// Everything a site file configures, validated from one reading of the file: the [`Site`], the
/// console's PIN ([`ConsoleConfig`]) and the cameras ([`CameraConfig`], none to four).
#[derive(Clone, Debug)]
pub struct SiteConfig {
    pub site: Site,
    pub console: ConsoleConfig,
    pub cameras: Vec<CameraConfig>,
}

impl SiteConfig {
    /// Reads and validates a site file.
    pub fn load(path: &Path) -> Result<SiteConfig, ConfigError> {
        let file = path.display().to_string();
        let text = file::read_text(path, crate::limits::CONFIG_FILE_MAX_BYTES)
            .map_err(|e| super::diag::unreadable(&file, "site file", e, "check the path and permissions"))?;
        SiteConfig::parse(&text, &file)
    }

    /// Parses and validates site TOML, every section; `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<SiteConfig, ConfigError> {
        let src = Source::new(text, file);
        let raw: file::SiteFile = toml::from_str(text).map_err(|e| src.toml(&e, "board/sites/nema8-4leg.toml"))?;
        let site = Site(validate::Validator { src }.site(&raw)?);
        let console = ConsoleConfig::from_section(src, raw.console.as_ref())?;
        let cameras = super::camera::cameras(src, raw.camera.as_ref(), &site)?;
        Ok(SiteConfig { site, console, cameras })
    }
}

/// The validated site: produced only by [`Site::parse`] / [`Site::load`] and the re-validating
/// `with_…` methods; read through `Deref` to [`SiteData`].
#[derive(Clone, Debug, PartialEq)]
pub struct Site(SiteData);

impl core::ops::Deref for Site {
    type Target = SiteData;
    fn deref(&self) -> &SiteData {
        &self.0
    }
}

impl Site {
    /// Reads and validates a site file (every section: [`SiteConfig::load`]).
    pub fn load(path: &Path) -> Result<Site, ConfigError> {
        SiteConfig::load(path).map(|c| c.site)
    }

    /// Parses and validates site TOML; `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<Site, ConfigError> {
        SiteConfig::parse(text, file).map(|c| c.site)
    }

    /// The same site run by another planner (`sim --planner`, training, the SUMO bridge). Every
    /// planner can run every valid site, so nothing needs validating again.
    pub fn with_planner(self, planner: PlannerKind) -> Site {
        Site(SiteData { planner, ..self.0 })
    }

    /// The same site with every protected left in its fixed-time plan every cycle, sized for all its
    /// turners (`fixed_time_lefts = "protected"`): a fixed-time program built on the site's full
    /// phase structure (SUMO's static baseline, a coordination pattern's splits).
    pub fn with_protected_lefts_in_fixed_time(self) -> Site {
        Site(SiteData {
            fixed_time_protected_lefts: true,
            ..self.0
        })
    }

    /// The same site on another control tick (the SUMO bridge steps at SUMO's step length). The
    /// tick is validated as in the file: a divisor of 1000 from 10 to 1000 ms that divides every
    /// interval the engine times.
    pub fn with_tick_ms(self, tick_ms: u32) -> Result<Site, ConfigError> {
        let file = format!("site \"{}\"", self.name);
        let v = validate::Validator {
            src: Source::new("", &file),
        };
        v.tick_ms(NO_SPAN, i64::from(tick_ms))?;
        v.tick_divides_intervals(NO_SPAN, tick_ms, &self.phases, &self.preempts, self.transit.as_ref())?;
        Ok(Site(SiteData { tick_ms, ..self.0 }))
    }

    /// The same site without transit signal priority (comparison runs with and without it).
    pub fn without_transit(self) -> Site {
        Site(SiteData {
            transit: None,
            ..self.0
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::parse(include_str!("../../board/sites/nema8-4leg.toml"), "nema8-4leg.toml").unwrap()
    }

    #[test]
    fn with_planner_changes_only_the_planner() {
        let s = site();
        let w = s.clone().with_planner(PlannerKind::Webster);
        assert_eq!(w.planner, PlannerKind::Webster);
        assert_eq!(w.clone().with_planner(s.planner), s);
    }

    #[test]
    fn with_tick_ms_validates_again() {
        let s = site();
        assert_eq!(s.clone().with_tick_ms(50).unwrap().tick_ms, 50);
        // 125 ms does not divide the 3.3 s yellows; 7 ms is not a divisor of 1000.
        let e = s.clone().with_tick_ms(125).unwrap_err();
        assert_eq!(e.field, "site.tick_ms");
        assert!(e.message.contains("does not divide"), "{e}");
        assert!(e.to_string().starts_with("site \"Main St & 1st Ave\""), "{e}");
        let e = s.with_tick_ms(7).unwrap_err();
        assert!(e.message.contains("unsupported tick"), "{e}");
    }

    #[test]
    fn without_transit_drops_only_transit() {
        let s = site();
        assert!(s.transit.is_some());
        let w = s.clone().without_transit();
        assert!(w.transit.is_none());
        assert_eq!(w.phases, s.phases);
    }
}
