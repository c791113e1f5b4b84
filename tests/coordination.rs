//! Time-of-day schedules and coordination end to end, through `Controller::tick` and measured
//! from the frames it returns (and the events it logs), never from its internal state:
//!
//! - pattern, offset and schedule changes, clock steps of ±1 h and daylight saving both ways never
//!   shorten a min green, a walk, a pedestrian clearance, a yellow or a red clearance (checked per
//!   frame, with an independent conflict monitor on top), scheduled flash begins only after every
//!   clearance and ends through the start-up all red (property test over random demand, start
//!   times and clock steps);
//! - a simulated week of the example site's schedule (weekdays, weekend, a holiday, night flash)
//!   selects the right action at every boundary;
//! - in a coordinated run the coordinated phases' green starts land on the offset every cycle, and
//!   after an offset change the transition completes within a bounded number of cycles.

use greenwave::config::schedule::Action;
use greenwave::config::Site;
use greenwave::detect::{DetectorHealth, DetectorSet, DetectorSnapshot};
use greenwave::events::code;
use greenwave::frame::OutputFrame;
use greenwave::hal::InputFrame;
use greenwave::monitor::card::MmuCard;
use greenwave::monitor::Monitor;
use greenwave::phase::{PhaseId, PhaseSet};
use greenwave::plan::coord::CycleState;
use greenwave::runtime::controller::{Controller, ControllerMode};
use greenwave::signal::frame::Aspect;
use greenwave::time::Instant;
use proptest::prelude::*;

#[path = "support/frames.rs"]
mod frames;
use frames::all_red;

const COORDINATED: &str = include_str!("../board/sites/nema8-coordinated.toml");

fn p(n: u8) -> PhaseId {
    PhaseId::new(n).unwrap()
}

/// The example site with its `[[day_plan]]` and `[schedule]` replaced by `schedule` (TOML).
fn with_schedule(schedule: &str) -> Site {
    let a = COORDINATED.find("# --- Day plans").unwrap();
    let b = COORDINATED.find("[sumo]").unwrap();
    let text = format!("{}{schedule}\n{}", &COORDINATED[..a], &COORDINATED[b..]);
    Site::parse(&text, "coordinated-test.toml").unwrap()
}

/// Unix ms of a local time in America/New_York.
fn ny(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
    let z = jiff::tz::TimeZone::get("America/New_York").unwrap();
    jiff::civil::date(y, mo, d)
        .at(h, mi, 0, 0)
        .to_zoned(z)
        .unwrap()
        .timestamp()
        .as_millisecond()
}

/// Healthy detectors: `presence` bits (detector index) present this tick.
fn detection(site: &Site, at: Instant, presence: u32) -> DetectorSnapshot {
    let mut d = DetectorSnapshot::EMPTY;
    d.at = at;
    for (i, def) in site.detectors.iter().enumerate() {
        if def.is_some() {
            d.health[i] = DetectorHealth::Ok;
        }
    }
    d.presence = DetectorSet(presence);
    d
}

/// Interval lengths measured from the frames alone, and the flash rules.
struct Checker {
    monitor: Monitor,
    prev: OutputFrame,
    prev_flash: bool,
    green_since: [Option<u64>; 8],
    walk_since: [Option<u64>; 8],
    served_walk_at: [Option<u64>; 8],
    yellow_since: [Option<u64>; 8],
    /// When each head last turned red (end of its yellow); None: not green since start-up.
    red_since: [Option<u64>; 8],
    /// End of the last flash: all red must last the start-up time after it.
    flash_ended: Option<u64>,
    greens: u64,
    flashes: u64,
}

impl Checker {
    fn new(site: &Site) -> Checker {
        Checker {
            monitor: Monitor::new(site, &MmuCard::from_geometry(site), Instant(0)),
            prev: all_red(site),
            prev_flash: false,
            green_since: [None; 8],
            walk_since: [None; 8],
            served_walk_at: [None; 8],
            yellow_since: [None; 8],
            red_since: [None; 8],
            flash_ended: None,
            greens: 0,
            flashes: 0,
        }
    }

    /// One frame at `now`; `flash`: the controller reports flash for it.
    fn frame(&mut self, site: &Site, now: u64, f: &OutputFrame, flash: bool) -> Result<(), String> {
        if flash {
            if !self.prev_flash {
                self.flashes += 1;
                // Flash begins only after every green ran its yellow and red clearance.
                for ph in site.phases() {
                    let i = ph.id.index();
                    if self.prev.aspect(ph.id) != Aspect::Red {
                        return Err(format!(
                            "flash at {now} ms entered from {:?} on phase {}",
                            self.prev.aspect(ph.id),
                            ph.id
                        ));
                    }
                    if let Some(r) = self.red_since[i].filter(|r| now - r < u64::from(ph.red_clear_ms)) {
                        return Err(format!(
                            "flash at {now} ms cut the red clearance of phase {} (red for {} ms)",
                            ph.id,
                            now - r
                        ));
                    }
                }
            }
            self.prev_flash = true;
            return Ok(());
        }
        if self.prev_flash {
            self.flash_ended = Some(now);
            self.prev_flash = false;
            // The monitor sees the street all red from here (flash heads are not checked).
            self.monitor.clear(Instant(now));
            self.prev = all_red(site);
            self.red_since = [None; 8];
        }
        if let Some(fault) = self.monitor.check(Instant(now), f) {
            return Err(format!("monitor: {fault} at {now} ms"));
        }
        for ph in site.phases() {
            let q = ph.id;
            let i = q.index();
            let (was, is) = (self.prev.aspect(q), f.aspect(q));
            if is == Aspect::Green && was != Aspect::Green {
                if let Some(end) = self.flash_ended {
                    if now - end < u64::from(site.startup_red_ms) {
                        return Err(format!(
                            "phase {q} green {} ms after flash, before the start-up all red",
                            now - end
                        ));
                    }
                }
                self.green_since[i] = Some(now);
                self.greens += 1;
            }
            if was == Aspect::Green && is != Aspect::Green {
                let g = now - self.green_since[i].unwrap_or(0);
                if g < u64::from(ph.min_green_ms) {
                    return Err(format!(
                        "phase {q}: green {g} ms < min green {} at {now} ms",
                        ph.min_green_ms
                    ));
                }
                if let (Some(w), Some(pd)) = (self.served_walk_at[i], ph.ped) {
                    if now - w < u64::from(pd.service_ms()) {
                        return Err(format!(
                            "phase {q}: green ended {} ms after its walk began < walk + ped clearance {}",
                            now - w,
                            pd.service_ms()
                        ));
                    }
                }
                self.served_walk_at[i] = None;
            }
            if is == Aspect::Yellow && was != Aspect::Yellow {
                self.yellow_since[i] = Some(now);
            }
            if was == Aspect::Yellow && is != Aspect::Yellow {
                let y = now - self.yellow_since[i].unwrap_or(0);
                if y < u64::from(ph.yellow_ms) {
                    return Err(format!("phase {q}: yellow {y} ms < {} at {now} ms", ph.yellow_ms));
                }
                self.red_since[i] = Some(now);
            }
            if f.walk(q) && !self.prev.walk(q) {
                self.walk_since[i] = Some(now);
                self.served_walk_at[i] = Some(now);
            }
            if !f.walk(q) && self.prev.walk(q) {
                if let Some(pd) = ph.ped {
                    let w = now - self.walk_since[i].unwrap_or(0);
                    if w < u64::from(pd.walk_ms) {
                        return Err(format!("phase {q}: walk {w} ms < {} at {now} ms", pd.walk_ms));
                    }
                }
            }
        }
        self.prev = *f;
        Ok(())
    }
}

/// A day plan that changes the action every 10-20 minutes between 00:00 and 04:30 local.
const BUSY_SCHEDULE: &str = r#"
[[day_plan]]
number = 1
events = [
    { at = "00:00", action = "pattern 1" }, { at = "00:15", action = "pattern 2" },
    { at = "00:30", action = "pattern 3" }, { at = "00:45", action = "flash" },
    { at = "00:55", action = "pattern 1" }, { at = "01:10", action = "fixed" },
    { at = "01:25", action = "pattern 3" }, { at = "01:40", action = "free" },
    { at = "01:55", action = "pattern 2" }, { at = "02:10", action = "flash" },
    { at = "02:20", action = "fixed" }, { at = "02:35", action = "pattern 1" },
    { at = "02:50", action = "pattern 3" }, { at = "03:05", action = "pattern 2" },
    { at = "03:20", action = "flash" }, { at = "03:35", action = "pattern 1" },
]

[schedule]
default = 1
"#;

#[derive(Clone, Debug)]
struct Segment {
    ticks: u16,
    presence: u32,
    ped: u8,
    /// Clock step at the segment start: 0 none, 1 +1 h, 2 −1 h, 3 +`small_s`, 4 −`small_s`.
    step: u8,
    small_s: u16,
}

fn segment() -> impl Strategy<Value = Segment> {
    (50u16..3000, any::<u32>(), any::<u8>(), 0u8..8, 1u16..600).prop_map(|(ticks, presence, ped, step, small_s)| {
        Segment {
            ticks,
            presence,
            ped,
            step,
            small_s,
        }
    })
}

/// Longest a controller out of flash may go without a green: the start-up all red, then the
/// min-recall phases (2 and 6) of the coordinated site.
const OUT_OF_FLASH_GREEN_MS: u64 = 30_000;

fn run_schedule(site: &Site, start_unix_ms: i64, segments: &[Segment]) -> Result<(u64, u64, u64), TestCaseError> {
    let mut ctl = Controller::new(site, &MmuCard::from_geometry(site), Instant(0));
    let mut anchor = start_unix_ms;
    ctl.set_wall(Instant(0), anchor);
    let mut check = Checker::new(site);
    let tick = u64::from(site.tick_ms);
    let mut k = 0u64;
    let mut changes = 0u64;
    // Since when (tick, greens counted then) the controller has been out of flash.
    let mut out_of_flash: Option<(u64, u64)> = None;
    for s in segments {
        let now = Instant(k * tick);
        match s.step {
            1 => anchor += 3_600_000,
            2 => anchor -= 3_600_000,
            3 => anchor += i64::from(s.small_s) * 1000,
            4 => anchor -= i64::from(s.small_s) * 1000,
            _ => {}
        }
        ctl.set_wall(now, anchor + i64::try_from(now.0).unwrap());
        for _ in 0..s.ticks {
            let now = Instant(k * tick);
            let det = detection(site, now, s.presence & 0x0fff);
            let inputs = InputFrame {
                ped_buttons: PhaseSet(u16::from(s.ped) & site.ped_phases().0),
                ..InputFrame::default()
            };
            let f = ctl.tick(now, &det, &inputs);
            let flash = ctl.mode() == ControllerMode::Flash;
            check
                .frame(site, now.0, &f, flash)
                .map_err(|e| TestCaseError::fail(format!("{e} (pattern {:?})", ctl.status().pattern)))?;
            prop_assert!(ctl.status().fault.is_none(), "fault latched: {:?}", ctl.status().fault);
            // Out of flash, the start-up all red is followed by the min-recall phases' greens: a
            // run that leaves flash for longer than OUT_OF_FLASH_GREEN_MS shows a green (a run the
            // schedule keeps in flash shows none, and may not).
            if flash {
                out_of_flash = None;
            } else {
                let (k0, g0) = *out_of_flash.get_or_insert((k, check.greens));
                prop_assert!(
                    check.greens > g0 || (k - k0) * tick < OUT_OF_FLASH_GREEN_MS,
                    "no green {} ms after leaving flash (pattern {:?})",
                    (k - k0) * tick,
                    ctl.status().pattern
                );
            }
            while let Some(ev) = ctl.events_mut().pop() {
                if ev.code == code::PATTERN_CHANGE {
                    changes += 1;
                }
            }
            k += 1;
        }
    }
    Ok((changes, check.greens, check.flashes))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]
    /// Random demand, start times and clock steps (±1 h and smaller) across a schedule that keeps
    /// changing pattern, offset, cycle, free, fixed time and flash.
    #[test]
    fn schedule_and_transitions_never_shorten_an_interval(
        start_min in 0i64..240,
        segments in prop::collection::vec(segment(), 4..24),
    ) {
        let site = with_schedule(BUSY_SCHEDULE);
        let start = ny(2026, 11, 30, 0, 0) + start_min * 60_000;
        run_schedule(&site, start, &segments)?;
    }
}

/// A clock stepped back into the schedule's flash (found by the property test above): the
/// controller leaves flash for 4 s before 03:20 flashes again, too short for the start-up all red
/// to end, so the run shows no green — and must not be failed for it.
#[test]
fn a_clock_stepped_back_into_flash_runs_no_green_and_shortens_nothing() {
    let site = with_schedule(BUSY_SCHEDULE);
    let seg = |ticks, presence, ped, step, small_s| Segment {
        ticks,
        presence,
        ped,
        step,
        small_s,
    };
    let segments = [
        seg(1106, 0, 0, 3, 1),
        seg(1039, 1734, 191, 7, 272),
        seg(1725, 3_758_378_998, 203, 4, 468),
        seg(1840, 2_304_372_124, 183, 4, 344),
    ];
    let (_, greens, flashes) = run_schedule(&site, ny(2026, 11, 30, 3, 27), &segments).unwrap();
    assert_eq!(greens, 0);
    assert!(flashes > 0);
}

/// Daylight saving time both ways (America/New_York): spring forward at 02:00 EST and fall back at
/// 02:00 EDT, with the schedule changing right around the hour that is skipped or repeated.
#[test]
fn daylight_saving_changes_shorten_nothing() {
    let dst = r#"
[[day_plan]]
number = 1
events = [
    { at = "00:30", action = "pattern 1" }, { at = "01:30", action = "pattern 3" },
    { at = "02:30", action = "pattern 2" }, { at = "03:10", action = "flash" },
    { at = "03:20", action = "pattern 1" },
]

[schedule]
default = 1
"#;
    let site = with_schedule(dst);
    let segments: Vec<Segment> = (0..40)
        .map(|i| Segment {
            ticks: 2_000,
            presence: 0x0a5a_5a5a_u32.rotate_left(i),
            ped: 0x55u8.rotate_left(i),
            step: 0,
            small_s: 0,
        })
        .collect();
    // Spring: 00:40 EST to 03:53 EDT — pattern 1, 3, then 2 (02:30 is skipped: in force at 03:00
    // EDT), flash at 03:10, pattern 1 at 03:20.
    let (changes, greens, flashes) = run_schedule(&site, ny(2026, 3, 8, 0, 40), &segments).unwrap();
    assert!(changes >= 5, "{changes} pattern changes");
    assert!(greens > 50 && flashes == 1, "{greens} greens, {flashes} flashes");
    // Fall: 00:40 EDT to 01:53 EST — pattern 1, 3 at 01:30 EDT, back to 1 when 02:00 EDT becomes
    // 01:00 EST, and 3 again at 01:30 EST.
    let (changes, greens, flashes) = run_schedule(&site, ny(2026, 11, 1, 0, 40), &segments).unwrap();
    assert!(changes >= 4, "{changes} pattern changes");
    assert!(greens > 50 && flashes == 0, "{greens} greens, {flashes} flashes");
}

/// The checker itself is not blind: a yellow cut short in the frames fails it.
#[test]
fn the_checker_catches_a_short_yellow_and_an_early_flash() {
    let site = with_schedule(BUSY_SCHEDULE);
    let mut c = Checker::new(&site);
    let mut f = all_red(&site);
    c.frame(&site, 0, &f, false).unwrap();
    f.set_aspect(p(2), Aspect::Green);
    f.set_aspect(p(6), Aspect::Green);
    c.frame(&site, 5_000, &f, false).unwrap();
    f.set_aspect(p(2), Aspect::Yellow);
    f.set_aspect(p(6), Aspect::Yellow);
    c.frame(&site, 20_000, &f, false).unwrap();
    f.set_aspect(p(2), Aspect::Red);
    f.set_aspect(p(6), Aspect::Red);
    let e = c.frame(&site, 21_000, &f, false).unwrap_err();
    assert!(e.contains("yellow"), "{e}");
    // Flash while a head has just turned red (red clearance not run).
    let mut c = Checker::new(&site);
    let mut f = all_red(&site);
    c.frame(&site, 0, &f, false).unwrap();
    f.set_aspect(p(4), Aspect::Green);
    c.frame(&site, 5_000, &f, false).unwrap();
    f.set_aspect(p(4), Aspect::Yellow);
    c.frame(&site, 20_000, &f, false).unwrap();
    f.set_aspect(p(4), Aspect::Red);
    c.frame(&site, 24_000, &f, false).unwrap();
    let e = c.frame(&site, 24_100, &OutputFrame::DARK, true).unwrap_err();
    assert!(e.contains("red clearance"), "{e}");
}

/// A week of the example site's schedule (Monday 2026-11-23 to Sunday 2026-11-29, Thursday
/// 2026-11-26 a holiday on the weekend plan): the action in force is checked one minute before
/// and one minute after every scheduled boundary, the 131 events name the same actions at the
/// boundaries, and every flash begins only after the clearances (frames).
#[test]
fn a_week_of_the_example_schedule() {
    let site = Site::parse(COORDINATED, "nema8-coordinated.toml").unwrap();
    let weekday: &[(i8, i8, Action)] = &[
        (1, 0, Action::Flash),
        (5, 0, Action::Fixed),
        (6, 30, Action::Pattern(1)),
        (9, 30, Action::Pattern(2)),
        (15, 30, Action::Pattern(3)),
        (19, 0, Action::Free),
    ];
    let weekend: &[(i8, i8, Action)] = &[(2, 0, Action::Flash), (6, 0, Action::Free)];
    // Expected boundaries, local time, in order.
    let mut expected: Vec<(i64, Action)> = Vec::new();
    for day in 23..=29i8 {
        let plan = if matches!(day, 26 | 28 | 29) { weekend } else { weekday };
        for &(h, m, a) in plan {
            expected.push((ny(2026, 11, day, h, m), a));
        }
    }
    let start = ny(2026, 11, 23, 0, 0);
    let end = ny(2026, 11, 30, 0, 0);
    let mut ctl = Controller::new(&site, &MmuCard::from_geometry(&site), Instant(0));
    ctl.set_wall(Instant(0), start);
    let mut check = Checker::new(&site);
    let tick = u64::from(site.tick_ms);
    let ticks = u64::try_from(end - start).unwrap() / tick;
    let mut logged: Vec<(i64, u16)> = Vec::new();
    let mut probes = expected.iter().flat_map(|(t, _)| [t - 60_000, t + 60_000]).peekable();
    let mut checked = 0;
    for k in 0..ticks {
        let now = Instant(k * tick);
        let unix = start + i64::try_from(now.0).unwrap();
        // Steady traffic on every approach, a pedestrian now and then.
        let det = detection(&site, now, if (k / 37) % 3 == 0 { 0x0fff } else { 0x0555 });
        let inputs = InputFrame {
            ped_buttons: if k % 900 == 0 { PhaseSet(0xaa) } else { PhaseSet::EMPTY },
            ..InputFrame::default()
        };
        let f = ctl.tick(now, &det, &inputs);
        check
            .frame(&site, now.0, &f, ctl.mode() == ControllerMode::Flash)
            .unwrap();
        while let Some(ev) = ctl.events_mut().pop() {
            if ev.code == code::PATTERN_CHANGE {
                logged.push((start + i64::try_from(ev.at.0).unwrap(), ev.param));
            }
        }
        while probes.peek().is_some_and(|t| *t == unix) {
            let t = probes.next().unwrap();
            // The action in force at `t`: the last expected boundary at or before it (Sunday's last
            // before the first Monday boundary).
            let want = expected
                .iter()
                .rev()
                .find(|(b, _)| *b <= t)
                .map_or(Action::Free, |(_, a)| *a);
            let st = ctl.status();
            assert_eq!(
                st.schedule_action,
                want,
                "at {}",
                jiff::Timestamp::from_millisecond(t).unwrap()
            );
            let want_pattern = match want {
                Action::Pattern(n) => n,
                Action::Flash => 255,
                _ => 0,
            };
            assert_eq!(st.pattern, want_pattern);
            if let Action::Pattern(_) = want {
                assert!(st.cycle_timer_s.is_some());
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * expected.len());
    // Every boundary logged 131 at its minute with the action's number (the first, Monday 01:00,
    // follows the free start).
    for (t, a) in &expected {
        let want = match a {
            Action::Pattern(n) => u16::from(*n),
            Action::Flash => 255,
            _ => 0,
        };
        assert!(
            logged.iter().any(|(at, param)| at == t && *param == want),
            "no 131/{want} at {}",
            jiff::Timestamp::from_millisecond(*t).unwrap()
        );
    }
    assert_eq!(check.flashes, 7, "one night flash per night");
}

/// An event's controller time and the wall clock's Unix ms at it.
type Stamp = (u64, i64);

/// Green starts of `phase` (event 1) as local-cycle-timer positions, ms, in a run of `ticks`
/// ticks from `start`; `step` moves the wall clock at `step_at` (ms of the run).
fn coordinated_run(
    site: &Site,
    start: i64,
    ticks: u64,
    step_at: u64,
    step_ms: i64,
    phase: u8,
) -> (Vec<Stamp>, Vec<(u64, u16)>) {
    let mut ctl = Controller::new(site, &MmuCard::from_geometry(site), Instant(0));
    ctl.set_wall(Instant(0), start);
    let mut check = Checker::new(site);
    let tick = u64::from(site.tick_ms);
    let mut greens = Vec::new();
    let mut states = Vec::new();
    let mut anchor = start;
    for k in 0..ticks {
        let now = Instant(k * tick);
        if now.0 == step_at {
            anchor += step_ms;
            ctl.set_wall(Instant(0), anchor);
        }
        // Every detector occupied: every phase called and extending to its force-off.
        let det = detection(site, now, 0x0fff);
        let f = ctl.tick(now, &det, &InputFrame::default());
        check.frame(site, now.0, &f, false).unwrap();
        while let Some(ev) = ctl.events_mut().pop() {
            if ev.code == code::PHASE_BEGIN_GREEN && ev.param == u16::from(phase) {
                greens.push((ev.at.0, anchor + i64::try_from(ev.at.0).unwrap()));
            }
            if ev.code == code::COORD_CYCLE_STATE {
                states.push((ev.at.0, ev.param));
            }
        }
    }
    (greens, states)
}

/// Position of a Unix time in the local cycle (America/New_York, sync at local midnight), ms.
fn cycle_timer(unix_ms: i64, cycle_ms: i64) -> i64 {
    let z = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let t = jiff::Timestamp::from_millisecond(unix_ms).unwrap().to_zoned(z);
    let ms_of_day = i64::from(t.hour()) * 3_600_000
        + i64::from(t.minute()) * 60_000
        + i64::from(t.second()) * 1000
        + i64::from(t.millisecond());
    ms_of_day.rem_euclid(cycle_ms)
}

fn fixed_pattern_site(pattern: u8) -> Site {
    let a = COORDINATED.find("# --- Day plans").unwrap();
    let b = COORDINATED.find("[sumo]").unwrap();
    let text = format!("{}{}", &COORDINATED[..a], &COORDINATED[b..]).replace(
        "time_zone = \"America/New_York\"\n",
        &format!("time_zone = \"America/New_York\"\npattern = {pattern}\n"),
    );
    Site::parse(&text, "fixed-pattern.toml").unwrap()
}

/// Pattern 1 (90 s, offset 12 s to the green start of 2 and 6): once in step, phase 2's green
/// starts where the local cycle timer reads the offset, every cycle (±1 tick). A +37 s clock step
/// then moves the target: the short-way transition lengthens the cycle by at most 20 % per cycle,
/// is back in step within 4 cycles, and the green starts land on the offset again.
#[test]
fn coordinated_greens_land_on_the_offset_and_a_new_offset_is_reached() {
    let site = fixed_pattern_site(1);
    let (cycle, offset) = (90_000i64, 12_000i64);
    let start = ny(2026, 11, 30, 10, 0) + 1_234;
    let step_at = 1_800_000;
    let (greens, states) = coordinated_run(&site, start, 3_600_000 / 100, step_at, 37_000, 2);
    let tick = i64::from(site.tick_ms);
    let off = |unix: i64| {
        let d = (cycle_timer(unix, cycle) - offset).rem_euclid(cycle);
        d.min(cycle - d)
    };
    // In step from the first full cycle on (the position starts at the target).
    let before: Vec<_> = greens.iter().filter(|(at, _)| *at > 200_000 && *at < step_at).collect();
    assert!(before.len() >= 17, "{} green starts", before.len());
    for (at, unix) in &before {
        assert!(
            off(*unix) <= tick,
            "green start at {at} ms is {} ms off the offset",
            off(*unix)
        );
    }
    // The transition: lengthening (add), then in step again within 4 cycles of the step.
    let add = states
        .iter()
        .find(|(at, s)| *at >= step_at && *s == CycleState::Add as u16);
    let back = states
        .iter()
        .find(|(at, s)| *at > step_at && *s == CycleState::InStep as u16);
    let (Some(add), Some(back)) = (add, back) else {
        panic!("no transition and return in step: {states:?}");
    };
    assert!(back.0 > add.0);
    assert!(
        back.0 - step_at <= 4 * 90_000 + 90_000,
        "in step {} ms after the step",
        back.0 - step_at
    );
    // Cycles between green starts during the transition: at most 20 % longer, never shorter.
    let during: Vec<_> = greens
        .iter()
        .filter(|(at, _)| *at >= step_at - 90_000 && *at <= back.0 + 90_000)
        .collect();
    for w in during.windows(2) {
        let len = i64::try_from(w[1].0 - w[0].0).unwrap();
        assert!(
            len <= cycle * 120 / 100 + tick,
            "cycle of {len} ms during the transition"
        );
    }
    let after: Vec<_> = greens.iter().filter(|(at, _)| *at > back.0 + 90_000).collect();
    assert!(after.len() >= 10);
    for (at, unix) in &after {
        assert!(
            off(*unix) <= tick,
            "green start at {at} ms is {} ms off the new target",
            off(*unix)
        );
    }
}

/// Pattern 3 transitions by dwell and refers its offset to the yellow start: after a −25 s clock
/// step the coordinated phases dwell in green until in step, and the yellow of phase 2 then starts
/// where the local cycle timer reads the offset (55 s), every cycle.
#[test]
fn a_dwell_transition_and_the_yellow_start_reference() {
    let site = fixed_pattern_site(3);
    let (cycle, offset) = (100_000i64, 55_000i64);
    let start = ny(2026, 11, 30, 16, 0) + 777;
    let step_at = 1_200_000;
    let mut ctl = Controller::new(&site, &MmuCard::from_geometry(&site), Instant(0));
    ctl.set_wall(Instant(0), start);
    let mut check = Checker::new(&site);
    let mut yellows = Vec::new();
    let mut states = Vec::new();
    let mut anchor = start;
    for k in 0..36_000u64 {
        let now = Instant(k * 100);
        if now.0 == step_at {
            anchor -= 25_000;
            ctl.set_wall(Instant(0), anchor);
        }
        let det = detection(&site, now, 0x0fff);
        let f = ctl.tick(now, &det, &InputFrame::default());
        check.frame(&site, now.0, &f, false).unwrap();
        while let Some(ev) = ctl.events_mut().pop() {
            if ev.code == code::PHASE_BEGIN_YELLOW && ev.param == 2 {
                yellows.push((ev.at.0, anchor + i64::try_from(ev.at.0).unwrap()));
            }
            if ev.code == code::COORD_CYCLE_STATE {
                states.push((ev.at.0, ev.param));
            }
        }
    }
    let off = |unix: i64| {
        let d = (cycle_timer(unix, cycle) - offset).rem_euclid(cycle);
        d.min(cycle - d)
    };
    let dwell = states
        .iter()
        .find(|(at, s)| *at >= step_at && *s == CycleState::Dwell as u16);
    let back = states
        .iter()
        .find(|(at, s)| *at > step_at && *s == CycleState::InStep as u16);
    assert!(dwell.is_some() && back.is_some(), "{states:?}");
    let back = back.unwrap().0;
    assert!(
        back - step_at <= 2 * 100_000,
        "dwell ended {} ms after the step",
        back - step_at
    );
    for (at, unix) in yellows
        .iter()
        .filter(|(at, _)| (200_000..step_at).contains(at) || *at > back + 100_000)
    {
        assert!(
            off(*unix) <= 100,
            "yellow at {at} ms is {} ms off the offset",
            off(*unix)
        );
    }
}

/// `greenwave check` refuses what coordination cannot run, naming the line and the fix.
#[test]
fn the_check_refuses_unworkable_patterns_and_schedules() {
    let bad = |from: &str, to: &str, field: &str, words: &str| {
        assert!(COORDINATED.contains(from), "{from}");
        let e = Site::parse(&COORDINATED.replacen(from, to, 1), "bad.toml").unwrap_err();
        assert_eq!(e.field, field, "{e}");
        assert!(e.message.contains(words), "{e}");
        assert!(e.line > 0 && !e.fix.is_empty(), "{e}");
    };
    let p1 = "splits = { 1 = 12, 2 = 36, 3 = 12, 4 = 30, 5 = 12, 6 = 36, 7 = 12, 8 = 30 }";
    // Phase 4's crossing needs walk 7 + ped clearance 16.4 + yellow and red clearance.
    bad(
        p1,
        "splits = { 1 = 12, 2 = 36, 3 = 14, 4 = 28, 5 = 12, 6 = 36, 7 = 14, 8 = 28 }",
        "pattern.splits",
        "walk + pedestrian clearance",
    );
    // A left turn shorter than its min green + change interval.
    bad(
        p1,
        "splits = { 1 = 8, 2 = 40, 3 = 12, 4 = 30, 5 = 8, 6 = 40, 7 = 12, 8 = 30 }",
        "pattern.splits",
        "min green",
    );
    // The rings do not meet at the barrier.
    bad(
        p1,
        "splits = { 1 = 12, 2 = 36, 3 = 12, 4 = 30, 5 = 14, 6 = 36, 7 = 11, 8 = 29 }",
        "pattern.splits",
        "barrier group 1",
    );
    // Splits that do not fill the cycle.
    bad(
        p1,
        "splits = { 1 = 12, 2 = 36, 3 = 12, 4 = 31, 5 = 12, 6 = 36, 7 = 12, 8 = 31 }",
        "pattern.splits",
        "the cycle is 90.0 s",
    );
    bad(
        "coordinated = [2, 6]",
        "coordinated = [2]",
        "pattern.coordinated",
        "1 coordinated phases for 2 rings",
    );
    bad(
        "coordinated = [2, 6]",
        "coordinated = [2, 4]",
        "pattern.coordinated",
        "two coordinated phases in one ring",
    );
    bad(
        "offset_s = 12",
        "offset_s = 95",
        "pattern.offset_s",
        "not shorter than the cycle",
    );
    bad(
        "{ at = \"06:30\", action = \"pattern 1\" }",
        "{ at = \"06:30\", action = \"pattern 9\" }",
        "day_plan.events.action",
        "pattern 9 is not defined",
    );
    bad(
        "{ at = \"06:30\", action = \"pattern 1\" }",
        "{ at = \"6:30\", action = \"pattern 1\" }",
        "day_plan.events.at",
        "not a time of day",
    );
    bad(
        "saturday = 2",
        "saturday = 7",
        "schedule.saturday",
        "day plan 7 is not defined",
    );
    bad(
        "{ date = \"07-04\", day_plan = 2 }",
        "{ date = \"02-30\", day_plan = 2 }",
        "schedule.holidays.date",
        "not a date",
    );
    bad(
        "time_zone = \"America/New_York\"\n",
        "time_zone = \"America/New_York\"\npattern = 1\n",
        "site.pattern",
        "both [site] pattern and a [schedule]",
    );
}

/// Omits never starve a phase: left turns called at random moments (the vehicle waits on its
/// stop-bar detector until served) in pattern 1 are served within two cycles, whatever part of the
/// cycle the call arrives in, and every through phase still gets its green every cycle.
#[test]
fn a_call_outside_its_window_waits_at_most_for_the_next_cycle() {
    let site = fixed_pattern_site(1);
    let mut ctl = Controller::new(&site, &MmuCard::from_geometry(&site), Instant(0));
    ctl.set_wall(Instant(0), ny(2026, 11, 30, 10, 0));
    let mut check = Checker::new(&site);
    // Detector index of each left turn's stop bar, and the left turn.
    let lefts = [(0usize, 1u8), (3, 3), (6, 5), (9, 7)];
    let mut waiting: [Option<u64>; 4] = [None; 4];
    let mut worst = [0u64; 4];
    let mut served = [0u32; 4];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for k in 0..72_000u64 {
        let now = Instant(k * 100);
        let mut presence = if (k / 50) % 2 == 0 { 0b1001_1011_0110u32 } else { 0 };
        for (j, (det, _)) in lefts.iter().enumerate() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            if waiting[j].is_none() && seed.is_multiple_of(900) && now.0 > 60_000 {
                waiting[j] = Some(now.0);
            }
            if waiting[j].is_some() {
                presence |= 1 << det;
            }
        }
        let f = ctl.tick(now, &detection(&site, now, presence), &InputFrame::default());
        check.frame(&site, now.0, &f, false).unwrap();
        while ctl.events_mut().pop().is_some() {}
        for (j, (_, phase)) in lefts.iter().enumerate() {
            if f.aspect(p(*phase)) == Aspect::Green {
                if let Some(since) = waiting[j].take() {
                    worst[j] = worst[j].max(now.0 - since);
                    served[j] += 1;
                }
            }
        }
    }
    for (j, (_, phase)) in lefts.iter().enumerate() {
        assert!(served[j] >= 5, "left {phase} served {} times", served[j]);
        assert!(worst[j] <= 2 * 90_000, "left {phase} waited {} ms", worst[j]);
    }
    // 80 cycles of 90 s: the four throughs each cycle, and the left turns.
    assert!(check.greens > 4 * 78, "{} greens in two hours", check.greens);
}
