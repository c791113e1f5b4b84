//! Time-of-day schedule and coordination patterns of a site file: `[[pattern]]`, `[[day_plan]]`,
//! `[schedule]` and `[site] pattern`.
//!
//! A **pattern** (NTCIP 1202 coordination pattern) is a cycle length, an offset to a stated
//! reference point (the start of the coordinated phases' green or yellow), a split per phase
//! (green + yellow + red clearance, seconds), the coordinated phases (one per ring), the lagging
//! phases, and how to reach a new offset (short way or dwell). A **day plan** is a list of
//! `time → action` events; the **schedule** maps each weekday and holiday to a day plan. Actions:
//! `free` (the site's planner), `pattern N`, `fixed` (Webster fixed time), `flash`.
//!
//! Validation refuses a split shorter than the phase's min green plus its change interval (yellow
//! and red clearance, as the engine times them), or, for a phase with a crossing, shorter than walk
//! plus pedestrian clearance plus the change interval (the walk is served inside the split); rings
//! whose splits do not meet at the barriers; splits that do not add up to the cycle; coordinated
//! phases that are not one per ring in one barrier group with a common green.
//!
//! Everything is fixed size (`heapless`), so the validated site stays `Clone` without allocation.

use super::diag::{ConfigError, Source};
use super::site::PhaseTiming;
use super::Ring;
use crate::limits::{MAX_DAY_EVENTS, MAX_DAY_PLANS, MAX_GROUPS, MAX_HOLIDAYS, MAX_PATTERNS, MAX_PHASES, MAX_RINGS};
use crate::phase::{PhaseId, PhaseSet};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// `[[pattern]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSection {
    pub number: Spanned<i64>,
    pub cycle_s: Spanned<f64>,
    pub offset_s: Spanned<f64>,
    /// "green_start" (default) or "yellow_start".
    #[serde(default)]
    pub offset_ref: Option<Spanned<String>>,
    pub coordinated: Spanned<Vec<Spanned<i64>>>,
    /// Phase number (as a string key) → split, seconds (green + yellow + red clearance).
    pub splits: Spanned<BTreeMap<String, Spanned<f64>>>,
    #[serde(default)]
    pub lag: Option<Spanned<Vec<Spanned<i64>>>>,
    #[serde(default)]
    pub adaptive: bool,
    /// "short_way" (default) or "dwell".
    #[serde(default)]
    pub transition: Option<Spanned<String>>,
}

/// `[[day_plan]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayPlanSection {
    pub number: Spanned<i64>,
    pub events: Spanned<Vec<Spanned<DayEventSection>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayEventSection {
    /// Local time "HH:MM".
    pub at: Spanned<String>,
    pub action: Spanned<String>,
}

/// `[schedule]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSection {
    #[serde(default)]
    pub monday: Option<Spanned<i64>>,
    #[serde(default)]
    pub tuesday: Option<Spanned<i64>>,
    #[serde(default)]
    pub wednesday: Option<Spanned<i64>>,
    #[serde(default)]
    pub thursday: Option<Spanned<i64>>,
    #[serde(default)]
    pub friday: Option<Spanned<i64>>,
    #[serde(default)]
    pub saturday: Option<Spanned<i64>>,
    #[serde(default)]
    pub sunday: Option<Spanned<i64>>,
    /// Day plan of a weekday not listed.
    #[serde(default)]
    pub default: Option<Spanned<i64>>,
    #[serde(default)]
    pub holidays: Vec<Spanned<HolidaySection>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidaySection {
    /// "MM-DD" (every year) or "YYYY-MM-DD" (that day only).
    pub date: Spanned<String>,
    pub day_plan: Spanned<i64>,
}

/// The reference point of a pattern's offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetRef {
    /// Start of the coordinated phases' green.
    GreenStart,
    /// Start of the coordinated phases' yellow (end of their green).
    YellowStart,
}

/// How the controller reaches a new offset (NTCIP 1202 coordCorrectionMode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionMode {
    /// Lengthen (≤ 20 % of the cycle per cycle) or shorten (≤ 17 %, never below the coordinated
    /// phases' min green and pedestrian service) the cycle, whichever gets in step sooner.
    ShortWay,
    /// The coordinated phases dwell in green until the cycle is in step.
    Dwell,
}

/// One validated coordination pattern. Times in ms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pub number: u8,
    pub cycle_ms: u32,
    pub offset_ms: u32,
    pub offset_ref: OffsetRef,
    /// Coordinated phases in the order written (one per ring); the first is the reference phase.
    pub coordinated: heapless::Vec<PhaseId, MAX_RINGS>,
    /// Split per phase (index = phase index), 0 for an unconfigured phase.
    pub split_ms: [u32; MAX_PHASES],
    pub lag: PhaseSet,
    pub adaptive: bool,
    pub transition: TransitionMode,
}

impl Pattern {
    pub fn coordinated_set(&self) -> PhaseSet {
        let mut s = PhaseSet::EMPTY;
        for p in self.coordinated.iter() {
            s.insert(*p);
        }
        s
    }

    pub fn split(&self, p: PhaseId) -> u32 {
        self.split_ms.get(p.index()).copied().unwrap_or(0)
    }
}

/// What a schedule event selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The site's planner, uncoordinated.
    Free,
    /// Coordinated pattern N.
    Pattern(u8),
    /// Fixed time on the Webster plan.
    Fixed,
    /// Scheduled flash (entered after every clearance, left through the start-up all red).
    Flash,
}

impl core::fmt::Display for Action {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Action::Free => f.write_str("free"),
            Action::Pattern(n) => write!(f, "pattern {n}"),
            Action::Fixed => f.write_str("fixed"),
            Action::Flash => f.write_str("flash"),
        }
    }
}

/// Parses an action as written in a day plan.
pub fn parse_action(s: &str) -> Option<Action> {
    match s.trim() {
        "free" => Some(Action::Free),
        "fixed" => Some(Action::Fixed),
        "flash" => Some(Action::Flash),
        other => {
            let n = other.strip_prefix("pattern")?.trim();
            n.parse::<u8>().ok().filter(|n| *n >= 1).map(Action::Pattern)
        }
    }
}

/// One day-plan event: from `minute` (of the local day) on, `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayEvent {
    pub minute: u16,
    pub action: Action,
}

/// A day plan: its events sorted by time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayPlan {
    pub number: u8,
    pub events: heapless::Vec<DayEvent, MAX_DAY_EVENTS>,
}

/// A holiday: every year on `month-day` (`year` None) or on one date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holiday {
    pub year: Option<i16>,
    pub month: i8,
    pub day: i8,
    pub day_plan: u8,
}

/// The week and holiday calendar: day plan numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    /// Monday first.
    pub week: [Option<u8>; 7],
    pub default: Option<u8>,
    pub holidays: heapless::Vec<Holiday, MAX_HOLIDAYS>,
}

/// Everything the site file says about time of day and coordination.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoordConfig {
    pub patterns: heapless::Vec<Pattern, MAX_PATTERNS>,
    pub day_plans: heapless::Vec<DayPlan, MAX_DAY_PLANS>,
    /// `[schedule]`; None: no time-of-day schedule.
    pub calendar: Option<Calendar>,
    /// `[site] pattern = N`: run pattern N at all times (no `[schedule]`).
    pub fixed_pattern: Option<u8>,
}

impl CoordConfig {
    pub fn pattern(&self, n: u8) -> Option<&Pattern> {
        self.patterns.iter().find(|p| p.number == n)
    }

    pub fn day_plan(&self, n: u8) -> Option<&DayPlan> {
        self.day_plans.iter().find(|d| d.number == n)
    }

    /// Whether the controller runs anything but free operation at some time.
    pub fn active(&self) -> bool {
        self.calendar.is_some() || self.fixed_pattern.is_some()
    }
}

/// The structure a pattern is checked against.
pub(super) struct Structure<'a> {
    pub rings: &'a heapless::Vec<Ring, MAX_RINGS>,
    pub groups: &'a heapless::Vec<PhaseSet, MAX_GROUPS>,
    pub phases: &'a [Option<PhaseTiming>; MAX_PHASES],
    /// Change interval per phase as the engine times it (`SiteData::change_ms`).
    pub change_ms: [u32; MAX_PHASES],
}

fn ms(src: &Source, v: &Spanned<f64>, field: &str, lo: f64, hi: f64) -> Result<u32, ConfigError> {
    let x = *v.get_ref();
    if !x.is_finite() || x < lo || x > hi {
        return Err(src.err(
            v.span(),
            field,
            format!("{x} s is out of range"),
            format!("use a value from {lo} to {hi} seconds"),
        ));
    }
    Ok(super::derive::ceil_ms(x))
}

fn phase_of(src: &Source, v: &Spanned<i64>, field: &str, st: &Structure) -> Result<PhaseId, ConfigError> {
    u8::try_from(*v.get_ref())
        .ok()
        .and_then(PhaseId::new)
        .filter(|p| st.phases.get(p.index()).is_some_and(Option::is_some))
        .ok_or_else(|| {
            src.err(
                v.span(),
                field,
                format!("phase {} is not configured", v.get_ref()),
                "name a phase that has a [[phase]] table",
            )
        })
}

/// Validates `[[pattern]]`, `[[day_plan]]`, `[schedule]` and `[site] pattern`.
pub(super) fn validate(
    src: &Source,
    patterns: &[Spanned<PatternSection>],
    day_plans: &[Spanned<DayPlanSection>],
    schedule: Option<&Spanned<ScheduleSection>>,
    site_pattern: Option<&Spanned<i64>>,
    st: &Structure,
) -> Result<CoordConfig, ConfigError> {
    let mut out = CoordConfig::default();
    for sp in patterns {
        let p = pattern(src, sp, st)?;
        if out.pattern(p.number).is_some() {
            return Err(src.err(
                sp.get_ref().number.span(),
                "pattern.number",
                format!("pattern {} is defined twice", p.number),
                "give each [[pattern]] a distinct number",
            ));
        }
        if out.patterns.push(p).is_err() {
            return Err(src.err(
                sp.span(),
                "pattern",
                "too many patterns",
                format!("define at most {MAX_PATTERNS}"),
            ));
        }
    }
    for sp in day_plans {
        let d = sp.get_ref();
        let n = u8::try_from(*d.number.get_ref())
            .ok()
            .filter(|n| (1..=MAX_DAY_PLANS as u8).contains(n))
            .ok_or_else(|| {
                src.err(
                    d.number.span(),
                    "day_plan.number",
                    "day plan number out of range",
                    format!("number day plans 1 to {MAX_DAY_PLANS}"),
                )
            })?;
        if out.day_plan(n).is_some() {
            return Err(src.err(
                d.number.span(),
                "day_plan.number",
                format!("day plan {n} is defined twice"),
                "give each [[day_plan]] a distinct number",
            ));
        }
        let mut events: heapless::Vec<DayEvent, MAX_DAY_EVENTS> = heapless::Vec::new();
        for e in d.events.get_ref() {
            let e = e.get_ref();
            let minute = parse_hhmm(e.at.get_ref()).ok_or_else(|| {
                src.err(
                    e.at.span(),
                    "day_plan.events.at",
                    format!("`{}` is not a time of day", e.at.get_ref()),
                    "write the local time as \"HH:MM\" from \"00:00\" to \"23:59\"",
                )
            })?;
            let action = parse_action(e.action.get_ref()).ok_or_else(|| {
                src.err(
                    e.action.span(),
                    "day_plan.events.action",
                    format!("unknown action `{}`", e.action.get_ref()),
                    "use \"free\", \"pattern N\", \"fixed\" or \"flash\"",
                )
            })?;
            if let Action::Pattern(k) = action {
                if out.pattern(k).is_none() {
                    return Err(src.err(
                        e.action.span(),
                        "day_plan.events.action",
                        format!("pattern {k} is not defined"),
                        "define it with a [[pattern]] table or select another",
                    ));
                }
            }
            if events.iter().any(|x| x.minute == minute) {
                return Err(src.err(
                    e.at.span(),
                    "day_plan.events.at",
                    format!("two events at {}", e.at.get_ref()),
                    "give each event of a day plan its own time",
                ));
            }
            if events.push(DayEvent { minute, action }).is_err() {
                return Err(src.err(
                    e.at.span(),
                    "day_plan.events",
                    "too many events in one day plan",
                    format!("use at most {MAX_DAY_EVENTS}"),
                ));
            }
        }
        events.sort_unstable_by_key(|e| e.minute);
        if out.day_plans.push(DayPlan { number: n, events }).is_err() {
            return Err(src.err(
                sp.span(),
                "day_plan",
                "too many day plans",
                format!("define at most {MAX_DAY_PLANS}"),
            ));
        }
    }
    let plan_ref = |v: &Spanned<i64>, field: &str, out: &CoordConfig| -> Result<u8, ConfigError> {
        u8::try_from(*v.get_ref())
            .ok()
            .filter(|n| out.day_plan(*n).is_some())
            .ok_or_else(|| {
                src.err(
                    v.span(),
                    field,
                    format!("day plan {} is not defined", v.get_ref()),
                    "define it with a [[day_plan]] table",
                )
            })
    };
    if let Some(s) = schedule {
        let s = s.get_ref();
        let days = [
            (&s.monday, "schedule.monday"),
            (&s.tuesday, "schedule.tuesday"),
            (&s.wednesday, "schedule.wednesday"),
            (&s.thursday, "schedule.thursday"),
            (&s.friday, "schedule.friday"),
            (&s.saturday, "schedule.saturday"),
            (&s.sunday, "schedule.sunday"),
        ];
        let mut week = [None; 7];
        for (slot, (v, field)) in week.iter_mut().zip(days) {
            if let Some(v) = v {
                *slot = Some(plan_ref(v, field, &out)?);
            }
        }
        let default = match &s.default {
            Some(v) => Some(plan_ref(v, "schedule.default", &out)?),
            None => None,
        };
        let mut holidays = heapless::Vec::new();
        for h in &s.holidays {
            let h = h.get_ref();
            let (year, month, day) = parse_date(h.date.get_ref()).ok_or_else(|| {
                src.err(
                    h.date.span(),
                    "schedule.holidays.date",
                    format!("`{}` is not a date", h.date.get_ref()),
                    "write \"MM-DD\" (every year) or \"YYYY-MM-DD\" (one day)",
                )
            })?;
            let day_plan = plan_ref(&h.day_plan, "schedule.holidays.day_plan", &out)?;
            if holidays
                .push(Holiday {
                    year,
                    month,
                    day,
                    day_plan,
                })
                .is_err()
            {
                return Err(src.err(
                    h.date.span(),
                    "schedule.holidays",
                    "too many holidays",
                    format!("list at most {MAX_HOLIDAYS}"),
                ));
            }
        }
        out.calendar = Some(Calendar {
            week,
            default,
            holidays,
        });
    }
    if let Some(v) = site_pattern {
        if schedule.is_some() {
            return Err(src.err(
                v.span(),
                "site.pattern",
                "both [site] pattern and a [schedule] are given",
                "remove `pattern` from [site] (the schedule selects patterns) or remove the [schedule]",
            ));
        }
        let n = u8::try_from(*v.get_ref())
            .ok()
            .filter(|n| out.pattern(*n).is_some())
            .ok_or_else(|| {
                src.err(
                    v.span(),
                    "site.pattern",
                    format!("pattern {} is not defined", v.get_ref()),
                    "define it with a [[pattern]] table",
                )
            })?;
        out.fixed_pattern = Some(n);
    }
    Ok(out)
}

/// "HH:MM" → minute of the day.
pub fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// "MM-DD" or "YYYY-MM-DD" (checked against the calendar: "02-29" is accepted every year and
/// simply does not occur in common years).
pub fn parse_date(s: &str) -> Option<(Option<i16>, i8, i8)> {
    let parts: Vec<&str> = s.trim().split('-').collect();
    let (year, md) = match parts.as_slice() {
        [m, d] => (None, (*m, *d)),
        [y, m, d] if y.len() == 4 => (Some(y.parse::<i16>().ok()?), (*m, *d)),
        _ => return None,
    };
    let (m, d) = (md.0.parse::<i8>().ok()?, md.1.parse::<i8>().ok()?);
    jiff::civil::Date::new(year.unwrap_or(2024), m, d).ok()?;
    Some((year, m, d))
}

fn pattern(src: &Source, sp: &Spanned<PatternSection>, st: &Structure) -> Result<Pattern, ConfigError> {
    let p = sp.get_ref();
    let number = u8::try_from(*p.number.get_ref())
        .ok()
        .filter(|n| (1..=MAX_PATTERNS as u8).contains(n))
        .ok_or_else(|| {
            src.err(
                p.number.span(),
                "pattern.number",
                "pattern number out of range",
                format!("number patterns 1 to {MAX_PATTERNS}"),
            )
        })?;
    let cycle_ms = ms(src, &p.cycle_s, "pattern.cycle_s", 30.0, 255.0)?;
    let offset_ms = ms(src, &p.offset_s, "pattern.offset_s", 0.0, 255.0)?;
    if offset_ms >= cycle_ms {
        return Err(src.err(
            p.offset_s.span(),
            "pattern.offset_s",
            "the offset is not shorter than the cycle",
            "use an offset from 0 to cycle_s - 1",
        ));
    }
    let offset_ref = match p.offset_ref.as_ref().map(|s| s.get_ref().as_str()) {
        None | Some("green_start") => OffsetRef::GreenStart,
        Some("yellow_start") => OffsetRef::YellowStart,
        Some(other) => {
            return Err(src.err(
                p.offset_ref.as_ref().map_or(sp.span(), Spanned::span),
                "pattern.offset_ref",
                format!("unknown offset reference `{other}`"),
                "use \"green_start\" or \"yellow_start\"",
            ))
        }
    };
    let transition = match p.transition.as_ref().map(|s| s.get_ref().as_str()) {
        None | Some("short_way") => TransitionMode::ShortWay,
        Some("dwell") => TransitionMode::Dwell,
        Some(other) => {
            return Err(src.err(
                p.transition.as_ref().map_or(sp.span(), Spanned::span),
                "pattern.transition",
                format!("unknown transition `{other}`"),
                "use \"short_way\" or \"dwell\"",
            ))
        }
    };
    // Splits: every configured phase, each long enough for its min green (or its crossing) and
    // its change interval.
    let mut split_ms = [0u32; MAX_PHASES];
    for (k, v) in p.splits.get_ref() {
        let q = k
            .trim()
            .parse::<u8>()
            .ok()
            .and_then(PhaseId::new)
            .filter(|q| st.phases.get(q.index()).is_some_and(Option::is_some))
            .ok_or_else(|| {
                src.err(
                    v.span(),
                    "pattern.splits",
                    format!("phase {k} is not configured"),
                    "give splits for configured phases only",
                )
            })?;
        if let Some(slot) = split_ms.get_mut(q.index()) {
            *slot = ms(src, v, "pattern.splits", 1.0, 255.0)?;
        }
    }
    for ph in st.phases.iter().flatten() {
        let i = ph.id.index();
        let split = split_ms.get(i).copied().unwrap_or(0);
        let change = st.change_ms.get(i).copied().unwrap_or(0);
        if split == 0 {
            return Err(src.err(
                p.splits.span(),
                "pattern.splits",
                format!("no split for phase {}", ph.id.number()),
                "give every configured phase a split (seconds of green + yellow + red clearance)",
            ));
        }
        let (need, what) = match ph.ped {
            Some(pd) if pd.service_ms() > ph.min_green_ms => (pd.service_ms() + change, "walk + pedestrian clearance"),
            _ => (ph.min_green_ms + change, "min green"),
        };
        if split < need {
            return Err(src.err(
                p.splits.span(),
                "pattern.splits",
                format!(
                    "phase {} split {:.1} s is shorter than its {what} + yellow + red clearance ({:.1} s)",
                    ph.id.number(),
                    f64::from(split) / 1000.0,
                    f64::from(need) / 1000.0
                ),
                format!(
                    "give phase {} a split of at least {:.1} s",
                    ph.id.number(),
                    f64::from(need) / 1000.0
                ),
            ));
        }
    }
    // Barrier alignment: in each barrier group every ring that has phases there takes the same time.
    let mut total = 0u32;
    for (g, set) in st.groups.iter().enumerate() {
        let mut len = None;
        for ring in st.rings.iter() {
            let sum: u32 = ring
                .phases
                .iter()
                .filter(|q| set.contains(**q))
                .map(|q| split_ms.get(q.index()).copied().unwrap_or(0))
                .sum();
            if sum == 0 {
                continue;
            }
            match len {
                None => len = Some(sum),
                Some(l) if l != sum => {
                    return Err(src.err(
                        p.splits.span(),
                        "pattern.splits",
                        format!(
                            "the rings' splits in barrier group {} add up to {:.1} s and {:.1} s",
                            g + 1,
                            f64::from(l) / 1000.0,
                            f64::from(sum) / 1000.0
                        ),
                        "make every ring's splits between two barriers add up to the same time",
                    ))
                }
                Some(_) => {}
            }
        }
        total += len.unwrap_or(0);
    }
    if total != cycle_ms {
        return Err(src.err(
            p.splits.span(),
            "pattern.splits",
            format!(
                "the splits add up to {:.1} s per ring, the cycle is {:.1} s",
                f64::from(total) / 1000.0,
                f64::from(cycle_ms) / 1000.0
            ),
            "make the splits of each ring add up to cycle_s",
        ));
    }
    let mut coordinated: heapless::Vec<PhaseId, MAX_RINGS> = heapless::Vec::new();
    for v in p.coordinated.get_ref() {
        let q = phase_of(src, v, "pattern.coordinated", st)?;
        let ring = st.rings.iter().position(|r| r.phases.contains(&q));
        let dup = coordinated
            .iter()
            .any(|c| st.rings.iter().position(|r| r.phases.contains(c)) == ring);
        if dup || coordinated.push(q).is_err() {
            return Err(src.err(
                v.span(),
                "pattern.coordinated",
                "two coordinated phases in one ring",
                "name one coordinated phase per ring",
            ));
        }
    }
    let rings_with_phases = st.rings.iter().filter(|r| !r.phases.is_empty()).count();
    if coordinated.len() != rings_with_phases {
        return Err(src.err(
            p.coordinated.span(),
            "pattern.coordinated",
            format!("{} coordinated phases for {rings_with_phases} rings", coordinated.len()),
            "name one coordinated phase per ring (e.g. [2, 6])",
        ));
    }
    let group_of = |q: PhaseId| st.groups.iter().position(|g| g.contains(q));
    if coordinated
        .iter()
        .any(|c| group_of(*c) != coordinated.first().and_then(|f| group_of(*f)))
    {
        return Err(src.err(
            p.coordinated.span(),
            "pattern.coordinated",
            "the coordinated phases are in different barrier groups",
            "coordinate phases that run together (e.g. the two arterial throughs 2 and 6)",
        ));
    }
    let mut lag = PhaseSet::EMPTY;
    if let Some(l) = &p.lag {
        for v in l.get_ref() {
            lag.insert(phase_of(src, v, "pattern.lag", st)?);
        }
    }
    let pat = Pattern {
        number,
        cycle_ms,
        offset_ms,
        offset_ref,
        coordinated,
        split_ms,
        lag,
        adaptive: p.adaptive,
        transition,
    };
    // The coordinated phases must be green together for a while: the transition lengthens or
    // shortens the cycle in that common green.
    let layout = crate::config::schedule::layout(&pat, st.rings, st.groups, &st.change_ms);
    if layout.common_green_ms() < 1_000 {
        return Err(src.err(
            p.coordinated.span(),
            "pattern.coordinated",
            "the coordinated phases are never green together (lead/lag and splits)",
            "change `lag` or the splits so that the coordinated phases share some green",
        ));
    }
    Ok(pat)
}

/// Where each phase's split lies in the cycle: ring by ring, barrier group by barrier group in
/// service order, phases in ring order with the lagging ones after the others of their group.
/// Position 0 is the start of the first barrier group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub cycle_ms: u32,
    /// Start of each phase's split.
    pub start_ms: [u32; MAX_PHASES],
    /// End of each phase's green (its force-off point): split end − change interval.
    pub force_off_ms: [u32; MAX_PHASES],
    /// Start of each barrier group.
    pub group_start_ms: [u32; MAX_GROUPS],
    /// Coordinated phase of each ring (ring index).
    pub coord: [Option<PhaseId>; MAX_RINGS],
    /// Pattern position of the offset's reference point.
    pub reference_ms: u32,
}

impl Layout {
    /// Where the coordinated phases are all green: [latest green start, earliest force-off).
    pub fn common_green(&self) -> (u32, u32) {
        let mut lo = 0;
        let mut hi = u32::MAX;
        for c in self.coord.iter().flatten() {
            lo = lo.max(self.start_ms.get(c.index()).copied().unwrap_or(0));
            hi = hi.min(self.force_off_ms.get(c.index()).copied().unwrap_or(0));
        }
        (lo, hi.max(lo))
    }

    pub fn common_green_ms(&self) -> u32 {
        let (lo, hi) = self.common_green();
        hi - lo
    }
}

/// The [`Layout`] of `pat` on the site's rings and barrier groups; `change_ms` per phase index.
pub fn layout(
    pat: &Pattern,
    rings: &heapless::Vec<Ring, MAX_RINGS>,
    groups: &heapless::Vec<PhaseSet, MAX_GROUPS>,
    change_ms: &[u32; MAX_PHASES],
) -> Layout {
    let mut l = Layout {
        cycle_ms: pat.cycle_ms,
        start_ms: [0; MAX_PHASES],
        force_off_ms: [0; MAX_PHASES],
        group_start_ms: [0; MAX_GROUPS],
        coord: [None; MAX_RINGS],
        reference_ms: 0,
    };
    let mut at = 0u32;
    for (g, set) in groups.iter().enumerate() {
        if let Some(s) = l.group_start_ms.get_mut(g) {
            *s = at;
        }
        let mut group_len = 0;
        for ring in rings.iter() {
            let mut t = at;
            // Leading phases (ring order) first, then the lagging ones.
            for lagging in [false, true] {
                for q in ring
                    .phases
                    .iter()
                    .filter(|q| set.contains(**q) && pat.lag.contains(**q) == lagging)
                {
                    let i = q.index();
                    let split = pat.split_ms.get(i).copied().unwrap_or(0);
                    let change = change_ms.get(i).copied().unwrap_or(0);
                    if let (Some(s), Some(f)) = (l.start_ms.get_mut(i), l.force_off_ms.get_mut(i)) {
                        *s = t;
                        *f = t + split.saturating_sub(change);
                    }
                    t += split;
                }
            }
            group_len = group_len.max(t - at);
        }
        at += group_len;
    }
    for (r, ring) in rings.iter().enumerate() {
        if let Some(slot) = l.coord.get_mut(r) {
            *slot = pat.coordinated.iter().copied().find(|c| ring.phases.contains(c));
        }
    }
    if let Some(c) = pat.coordinated.first() {
        let i = c.index();
        l.reference_ms = match pat.offset_ref {
            OffsetRef::GreenStart => l.start_ms.get(i).copied().unwrap_or(0),
            OffsetRef::YellowStart => l.force_off_ms.get(i).copied().unwrap_or(0),
        };
    }
    l
}
