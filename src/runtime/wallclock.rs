//! The wall clock beside the controller's monotonic time line.
//!
//! Every interval is timed on the monotonic clock (docs/safety.md): a wall-clock step cannot
//! lengthen or shorten a green, a yellow or a clearance. The wall clock only dates the event log.
//! In real time the control thread reads it once per tick ([`WallWatch::observe`]) and keeps the
//! anchor `unix_ms_at_zero = wall − controller time`:
//!
//! - a change of at least [`STEP_MS`] is a **clock step** (NTP stepped the clock, someone set the
//!   RTC or the date): logged, counted, and recorded in the event log as alarm 174 /
//!   [`alarm::CLOCK_STEP`] at the instant it was seen;
//! - a smaller drift of at least [`FOLLOW_MS`] (NTP slewing the clock, at most 0.5 ms/s) is
//!   followed silently;
//!
//! and hands each new anchor to the event-log writer ([`TimeBase`]), so every row carries the wall
//! time of its own event. The writer shows it in the site's time zone with its daylight-saving rules
//! (`[site] time_zone`, default the system's) or in UTC (`event_time = "utc"`).
//!
//! At `--speed max` (and any speed but real time) there is no wall clock to follow: rows are dated
//! start + controller time, so seeded runs repeat exactly.

use crate::config::Site;
use crate::events::csv::{Rebase, TimeBase, WallClock, REBASE_QUEUE};
use crate::events::{alarm, code, EventRing};
use crate::time::Instant;

/// A change of the wall-clock anchor at least this large is a clock step.
pub const STEP_MS: i64 = 1_000;
/// A drift at least this large is followed (handed to the event-log writer) without an alarm.
pub const FOLLOW_MS: i64 = 100;

type Queue = heapless::spsc::Queue<Rebase, REBASE_QUEUE>;

/// The control thread's watch on the wall clock. Constant work per call, no allocation.
pub struct WallWatch {
    unix_ms_at_zero: i64,
    /// Reads the wall clock, Unix ms (`CLOCK_REALTIME`; a stand-in in tests that step it).
    read: fn() -> i64,
    feed: heapless::spsc::Producer<'static, Rebase>,
    /// Clock steps seen.
    pub steps: u64,
    /// Anchors the writer could not take in time (its queue was full); the next one corrects it.
    pub rebases_lost: u64,
}

/// The time zone for event-log timestamps of `site`: its `time_zone`, else the system's; `None`
/// for UTC (`event_time = "utc"`, or no zone known). Start-up only (reads the tz database).
pub fn zone_of(site: &Site) -> Option<jiff::tz::TimeZone> {
    if site.event_time_utc {
        return None;
    }
    if site.time_zone.is_empty() {
        match jiff::tz::TimeZone::try_system() {
            Ok(z) => Some(z),
            Err(e) => {
                log::warn!("no system time zone ({e}): event timestamps are in UTC; set [site] time_zone");
                None
            }
        }
    } else {
        // Validated with the site file; a tz database that lost the zone since falls back to UTC.
        jiff::tz::TimeZone::get(site.time_zone.as_str())
            .inspect_err(|e| log::warn!("time zone {}: {e}; event timestamps are in UTC", site.time_zone))
            .ok()
    }
}

/// The watch and the writer's time base, sharing a fixed hand-off queue (allocated once, start-up
/// only). `unix_ms_at_zero`: the wall clock at controller instant 0.
pub fn time_base(unix_ms_at_zero: i64, zone: Option<jiff::tz::TimeZone>) -> (WallWatch, TimeBase) {
    let queue: &'static mut Queue = Box::leak(Box::new(Queue::new()));
    let (producer, consumer) = queue.split();
    (
        WallWatch {
            unix_ms_at_zero,
            read: crate::runtime::control_loop::unix_now_ms,
            feed: producer,
            steps: 0,
            rebases_lost: 0,
        },
        TimeBase::new(WallClock { unix_ms_at_zero }, zone, Some(consumer)),
    )
}

impl WallWatch {
    /// The same watch reading the wall clock through `read` (a test stepping a stand-in clock).
    pub fn with_reader(self, read: fn() -> i64) -> WallWatch {
        WallWatch { read, ..self }
    }

    /// Reads the wall clock at controller time `now` and takes it ([`WallWatch::observe`]).
    /// The wall time (Unix ms) of controller time zero, as last followed.
    pub fn unix_ms_at_zero(&self) -> i64 {
        self.unix_ms_at_zero
    }

    pub fn observe_now(&mut self, now: Instant, ev: &mut EventRing) -> Option<i64> {
        let unix_ms = (self.read)();
        self.observe(now, unix_ms, ev)
    }

    /// Takes the wall clock `unix_ms` read at controller time `now`. Returns the step in ms when
    /// the clock stepped (the alarm is pushed into `ev`).
    pub fn observe(&mut self, now: Instant, unix_ms: i64, ev: &mut EventRing) -> Option<i64> {
        let anchor = unix_ms.saturating_sub(i64::try_from(now.0).unwrap_or(i64::MAX));
        let change = anchor.saturating_sub(self.unix_ms_at_zero);
        if change.abs() < FOLLOW_MS {
            return None;
        }
        self.unix_ms_at_zero = anchor;
        if self
            .feed
            .enqueue(Rebase {
                from: now,
                unix_ms_at_zero: anchor,
            })
            .is_err()
        {
            self.rebases_lost += 1;
        }
        if change.abs() < STEP_MS {
            return None;
        }
        self.steps += 1;
        ev.push(now, code::ALARM, alarm::CLOCK_STEP);
        log::warn!(
            "wall clock stepped {:+.1} s (NTP step or clock set): event timestamps follow it; signal timing is unaffected (monotonic clock)",
            change as f64 / 1000.0
        );
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_time(tb: &mut TimeBase, at: u64) -> String {
        let mut s = String::new();
        crate::events::csv::write_timestamp(&mut s, tb.civil_ms(Instant(at))).unwrap();
        s
    }

    #[test]
    fn a_step_dates_later_rows_with_the_new_clock_and_is_an_alarm() {
        // 2026-03-01 12:00:00 UTC at instant 0.
        let t0 = 1_772_366_400_000;
        let (mut watch, mut tb) = time_base(t0, None);
        let mut ev = EventRing::new();
        assert_eq!(watch.observe(Instant(1_000), t0 + 1_000, &mut ev), None);
        // NTP slews 50 ms: followed silently only from 100 ms on.
        assert_eq!(watch.observe(Instant(2_000), t0 + 2_050, &mut ev), None);
        assert_eq!(watch.observe(Instant(3_000), t0 + 3_150, &mut ev), None);
        assert!(ev.pop().is_none());
        // The RTC is set one hour back at 10 s.
        assert_eq!(
            watch.observe(Instant(10_000), t0 + 10_150 - 3_600_000, &mut ev),
            Some(-3_600_000)
        );
        let alarm = ev.pop().unwrap();
        assert_eq!(
            (alarm.at, alarm.code, alarm.param),
            (Instant(10_000), code::ALARM, alarm::CLOCK_STEP)
        );
        assert_eq!(watch.steps, 1);
        // The writer dates each row by the anchor in force at its own instant.
        assert_eq!(row_time(&mut tb, 2_500), "2026-03-01 12:00:02.5");
        assert_eq!(row_time(&mut tb, 9_900), "2026-03-01 12:00:10.0");
        assert_eq!(row_time(&mut tb, 10_000), "2026-03-01 11:00:10.1");
    }

    #[test]
    fn local_time_follows_daylight_saving_both_ways() {
        let zone = jiff::tz::TimeZone::get("America/Chicago").unwrap();
        // 2026-03-08 07:59:00 UTC = 01:59 CST; DST begins at 08:00 UTC (02:00 CST → 03:00 CDT).
        let t0 = 1_772_956_740_000;
        let (_, mut tb) = time_base(t0, Some(zone.clone()));
        assert_eq!(row_time(&mut tb, 0), "2026-03-08 01:59:00.0");
        assert_eq!(row_time(&mut tb, 120_000), "2026-03-08 03:01:00.0");
        assert_eq!(tb.offset_changes, 1);
        // 2026-11-01 06:59:00 UTC = 01:59 CDT; DST ends at 07:00 UTC (02:00 CDT → 01:00 CST).
        let t1 = 1_793_516_340_000;
        let (_, mut tb) = time_base(t1, Some(zone));
        assert_eq!(row_time(&mut tb, 0), "2026-11-01 01:59:00.0");
        assert_eq!(row_time(&mut tb, 120_000), "2026-11-01 01:01:00.0");
        assert_eq!(tb.offset_changes, 1);
    }
}
