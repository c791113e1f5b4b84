//! The time-of-day schedule: which action (free, a coordinated pattern, fixed time, flash) is in
//! force at a local date and time, since when, and what comes next.
//!
//! The calendar (`config::schedule::Calendar`) gives each date a day plan: a holiday's (a dated
//! holiday before a yearly one), else the weekday's, else the default. The action in force is
//! that of the day plan's last event at or before the time; before the first event of the day the
//! previous day's last event still holds (up to a week back); with no event at all, free.
//!
//! Pure, allocation-free, bounded: at most 8 days × [`MAX_DAY_EVENTS`] events are looked at.

use crate::config::schedule::{Action, CoordConfig, DayPlan};
use crate::limits::MAX_DAY_EVENTS;
use jiff::civil::{Date, DateTime, Weekday};

/// Days looked back for the action still in force, and ahead for the next change.
const HORIZON_DAYS: i32 = 8;

/// The action in force and when it started, local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InForce {
    pub action: Action,
    /// Local time the action's event fired (None: free since always, no event found).
    pub since: Option<DateTime>,
}

/// The next change of action, local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextChange {
    pub at: DateTime,
    pub action: Action,
}

/// The day plan for `date`.
pub fn day_plan_for(cfg: &CoordConfig, date: Date) -> Option<&DayPlan> {
    let cal = cfg.calendar.as_ref()?;
    let dated = cal
        .holidays
        .iter()
        .find(|h| h.year == Some(date.year()) && h.month == date.month() && h.day == date.day());
    let yearly = || {
        cal.holidays
            .iter()
            .find(|h| h.year.is_none() && h.month == date.month() && h.day == date.day())
    };
    let n = match dated.or_else(yearly) {
        Some(h) => Some(h.day_plan),
        None => {
            let i = match date.weekday() {
                Weekday::Monday => 0,
                Weekday::Tuesday => 1,
                Weekday::Wednesday => 2,
                Weekday::Thursday => 3,
                Weekday::Friday => 4,
                Weekday::Saturday => 5,
                Weekday::Sunday => 6,
            };
            cal.week.get(i).copied().flatten().or(cal.default)
        }
    }?;
    cfg.day_plan(n)
}

fn at_minute(date: Date, minute: u16) -> DateTime {
    let h = i8::try_from(minute / 60).unwrap_or(0);
    let m = i8::try_from(minute % 60).unwrap_or(0);
    date.at(h, m, 0, 0)
}

/// The action in force at local time `now` (`[site] pattern`: that pattern at all times; no
/// schedule: free).
pub fn in_force(cfg: &CoordConfig, now: DateTime) -> InForce {
    if let Some(n) = cfg.fixed_pattern {
        return InForce {
            action: Action::Pattern(n),
            since: None,
        };
    }
    let minute = u16::try_from(i32::from(now.hour()) * 60 + i32::from(now.minute())).unwrap_or(0);
    let mut date = now.date();
    for back in 0..HORIZON_DAYS {
        if let Some(plan) = day_plan_for(cfg, date) {
            let last = plan
                .events
                .iter()
                .take(MAX_DAY_EVENTS)
                .rev()
                .find(|e| back > 0 || e.minute <= minute);
            if let Some(e) = last {
                return InForce {
                    action: e.action,
                    since: Some(at_minute(date, e.minute)),
                };
            }
        }
        match date.yesterday() {
            Ok(d) => date = d,
            Err(_) => break,
        }
    }
    InForce {
        action: Action::Free,
        since: None,
    }
}

/// The first event after `now` whose action differs from the one in force (within a week).
pub fn next_change(cfg: &CoordConfig, now: DateTime) -> Option<NextChange> {
    if cfg.fixed_pattern.is_some() {
        return None;
    }
    let current = in_force(cfg, now).action;
    let minute = u16::try_from(i32::from(now.hour()) * 60 + i32::from(now.minute())).unwrap_or(0);
    let mut date = now.date();
    for ahead in 0..HORIZON_DAYS {
        if let Some(plan) = day_plan_for(cfg, date) {
            let next = plan
                .events
                .iter()
                .take(MAX_DAY_EVENTS)
                .filter(|e| ahead > 0 || e.minute > minute)
                .find(|e| e.action != current);
            if let Some(e) = next {
                return Some(NextChange {
                    at: at_minute(date, e.minute),
                    action: e.action,
                });
            }
        }
        match date.tomorrow() {
            Ok(d) => date = d,
            Err(_) => break,
        }
    }
    None
}

/// The patterns, day plans and calendar of `site` as `greenwave check` prints them (start-up
/// tooling; allocates).
pub fn describe(site: &crate::config::Site) -> Vec<String> {
    use crate::config::schedule::{OffsetRef, TransitionMode};
    let c = &site.coord;
    let mut out = Vec::new();
    if !c.active() && c.patterns.is_empty() {
        return out;
    }
    let secs = |ms: u32| f64::from(ms) / 1000.0;
    for p in c.patterns.iter() {
        let coord: Vec<String> = p.coordinated.iter().map(|q| q.number().to_string()).collect();
        let splits: Vec<String> = site
            .phases()
            .map(|ph| format!("{}={:.0}", ph.id.number(), secs(p.split(ph.id))))
            .collect();
        out.push(format!(
            "pattern {}: cycle {:.0} s, offset {:.0} s to the {} of {}, splits {}{}{}, transition {}",
            p.number,
            secs(p.cycle_ms),
            secs(p.offset_ms),
            match p.offset_ref {
                OffsetRef::GreenStart => "green start",
                OffsetRef::YellowStart => "yellow start",
            },
            coord.join("+"),
            splits.join(" "),
            if p.lag.is_empty() {
                String::new()
            } else {
                format!(
                    ", lagging {}",
                    p.lag
                        .iter()
                        .map(|q| q.number().to_string())
                        .collect::<Vec<_>>()
                        .join("+")
                )
            },
            if p.adaptive { ", adaptive" } else { "" },
            match p.transition {
                TransitionMode::ShortWay => "short way",
                TransitionMode::Dwell => "dwell",
            }
        ));
    }
    for d in c.day_plans.iter() {
        let events: Vec<String> = d
            .events
            .iter()
            .map(|e| format!("{:02}:{:02} {}", e.minute / 60, e.minute % 60, e.action))
            .collect();
        out.push(format!("day plan {}: {}", d.number, events.join(", ")));
    }
    if let Some(cal) = &c.calendar {
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let week: Vec<String> = names
            .iter()
            .zip(cal.week.iter())
            .map(|(n, d)| match d.or(cal.default) {
                Some(k) => format!("{n} {k}"),
                None => format!("{n} free"),
            })
            .collect();
        let mut line = format!("schedule (day plans): {}", week.join(", "));
        for h in cal.holidays.iter() {
            match h.year {
                Some(y) => line.push_str(&format!("; {y:04}-{:02}-{:02} → {}", h.month, h.day, h.day_plan)),
                None => line.push_str(&format!("; {:02}-{:02} → {}", h.month, h.day, h.day_plan)),
            }
        }
        out.push(line);
    }
    if let Some(n) = c.fixed_pattern {
        out.push(format!("runs pattern {n} at all times ([site] pattern)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Site;

    fn site() -> Site {
        let base = include_str!("../../board/sites/nema8-4leg.toml");
        let extra = r#"
[[pattern]]
number = 1
cycle_s = 100
offset_s = 10
coordinated = [2, 6]
splits = { 1 = 15, 2 = 40, 3 = 15, 4 = 30, 5 = 15, 6 = 40, 7 = 15, 8 = 30 }

[[day_plan]]
number = 1
events = [ { at = "06:00", action = "pattern 1" }, { at = "20:00", action = "free" }, { at = "01:00", action = "flash" } ]

[[day_plan]]
number = 2
events = [ { at = "09:00", action = "fixed" } ]

[schedule]
saturday = 2
sunday = 2
default = 1
holidays = [ { date = "12-25", day_plan = 2 } ]
"#;
        Site::parse(&format!("{base}\n{extra}"), "coord.toml").unwrap()
    }

    #[test]
    fn the_action_carries_over_midnight_and_weekends() {
        let s = site();
        let c = &s.coord;
        // Monday 2026-11-30 00:30: Sunday's plan (fixed since 09:00) still holds.
        let t = jiff::civil::date(2026, 11, 30).at(0, 30, 0, 0);
        assert_eq!(in_force(c, t).action, Action::Fixed);
        assert_eq!(
            next_change(c, t),
            Some(NextChange {
                at: jiff::civil::date(2026, 11, 30).at(1, 0, 0, 0),
                action: Action::Flash
            })
        );
        let t = jiff::civil::date(2026, 11, 30).at(6, 0, 0, 0);
        assert_eq!(in_force(c, t).action, Action::Pattern(1));
        // Christmas (a Friday) runs the weekend plan.
        let t = jiff::civil::date(2026, 12, 25).at(10, 0, 0, 0);
        assert_eq!(in_force(c, t).action, Action::Fixed);
        assert_eq!(
            in_force(c, t).since,
            Some(jiff::civil::date(2026, 12, 25).at(9, 0, 0, 0))
        );
    }
}
