//! Event rows as ATSPM reads them: `TimeStamp,DeviceId,EventId,Parameter`, timestamps
//! `YYYY-MM-DD HH:MM:SS.f` at 0.1 s resolution (the Indiana logger's resolution).
//!
//! Formatting goes straight into a `core::fmt::Write`/`std::io::Write` sink: no intermediate
//! strings, so the writer can run after start-up without allocating.

use crate::events::Event;
use crate::time::Instant;

/// The header line, exactly as ATSPM's importers expect it.
pub const HEADER: &str = "TimeStamp,DeviceId,EventId,Parameter";

/// Wall-clock anchor: Unix time in milliseconds at controller `Instant(0)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallClock {
    pub unix_ms_at_zero: i64,
}

/// Civil date from days since 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date
/// Algorithms", `civil_from_days`): proleptic Gregorian, exact for any i64 day count we use.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date (inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Writes `YYYY-MM-DD HH:MM:SS.f` for a Unix time in milliseconds (truncated to 0.1 s).
pub fn write_timestamp(out: &mut impl core::fmt::Write, unix_ms: i64) -> core::fmt::Result {
    let days = unix_ms.div_euclid(86_400_000);
    let ms_of_day = unix_ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    let s = ms_of_day / 1000;
    write!(
        out,
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}.{}",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        (ms_of_day % 1000) / 100
    )
}

/// Writes one CSV row (with trailing `\n`).
pub fn write_row(out: &mut impl core::fmt::Write, clock: WallClock, device_id: u16, ev: &Event) -> core::fmt::Result {
    write_timestamp(out, clock.unix_ms_at_zero + ev.at.0 as i64)?;
    writeln!(out, ",{},{},{}", device_id, ev.code, ev.param)
}

/// Hand-offs of a new wall-clock anchor queued between the control thread and the log writer.
pub const REBASE_QUEUE: usize = 16;

/// From controller instant `from` on, the wall clock reads `unix_ms_at_zero + instant` (the
/// control thread saw the wall clock step or drift; `runtime::wallclock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rebase {
    pub from: Instant,
    pub unix_ms_at_zero: i64,
}

/// How the event-log writer turns controller instants into timestamps: a wall-clock anchor that
/// follows the control thread's readings of the wall clock (so a row carries the wall time of its
/// own event, not of the start of the run), shown in the controller's local time zone with its
/// daylight-saving rules (what ATSPM expects) or in UTC.
pub struct TimeBase {
    unix_ms_at_zero: i64,
    zone: Option<jiff::tz::TimeZone>,
    feed: Option<heapless::spsc::Consumer<'static, Rebase>>,
    offset_s: Option<i32>,
    /// Changes of the local UTC offset seen between rows (daylight saving time began or ended).
    pub offset_changes: u64,
}

impl From<WallClock> for TimeBase {
    /// A fixed anchor, timestamps in UTC.
    fn from(c: WallClock) -> TimeBase {
        TimeBase::new(c, None, None)
    }
}

impl TimeBase {
    /// `zone`: `None` for UTC. `feed`: anchors the control thread hands over while running.
    pub fn new(
        clock: WallClock,
        zone: Option<jiff::tz::TimeZone>,
        feed: Option<heapless::spsc::Consumer<'static, Rebase>>,
    ) -> TimeBase {
        TimeBase {
            unix_ms_at_zero: clock.unix_ms_at_zero,
            zone,
            feed,
            offset_s: None,
            offset_changes: 0,
        }
    }

    /// Unix time in ms of an event at `at` (anchors handed over up to `at` applied first).
    pub fn unix_ms(&mut self, at: Instant) -> i64 {
        if let Some(feed) = self.feed.as_mut() {
            while let Some(r) = feed.peek().copied() {
                if r.from > at {
                    break;
                }
                self.unix_ms_at_zero = r.unix_ms_at_zero;
                let _ = feed.dequeue();
            }
        }
        self.unix_ms_at_zero
            .saturating_add(i64::try_from(at.0).unwrap_or(i64::MAX))
    }

    /// Civil time in ms (local, or UTC without a zone) of an event at `at`.
    pub fn civil_ms(&mut self, at: Instant) -> i64 {
        let unix = self.unix_ms(at);
        let Some(zone) = self.zone.as_ref() else { return unix };
        let off = jiff::Timestamp::from_millisecond(unix).map_or(0, |t| zone.to_offset(t).seconds());
        if let Some(was) = self.offset_s.filter(|o| *o != off) {
            self.offset_changes += 1;
            log::info!(
                "local time changed from UTC{:+.2} h to UTC{:+.2} h (daylight saving); event timestamps follow",
                f64::from(was) / 3600.0,
                f64::from(off) / 3600.0
            );
        }
        self.offset_s = Some(off);
        unix.saturating_add(i64::from(off) * 1000)
    }
}

/// Writes one CSV row (with trailing `\n`) with the timestamp `time` gives.
pub fn write_row_with(
    out: &mut impl core::fmt::Write,
    time: &mut TimeBase,
    device_id: u16,
    ev: &Event,
) -> core::fmt::Result {
    write_timestamp(out, time.civil_ms(ev.at))?;
    writeln!(out, ",{},{},{}", device_id, ev.code, ev.param)
}

/// Adapter so the `core::fmt` row writer can target any `std::io::Write` without a heap string.
pub struct IoFmt<'a, W: std::io::Write> {
    pub inner: &'a mut W,
    pub error: Option<std::io::Error>,
}

impl<W: std::io::Write> core::fmt::Write for IoFmt<'_, W> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.inner.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            core::fmt::Error
        })
    }
}

/// Writes one row to an `io::Write`.
pub fn write_row_io<W: std::io::Write>(w: &mut W, clock: WallClock, device_id: u16, ev: &Event) -> std::io::Result<()> {
    let mut a = IoFmt { inner: w, error: None };
    match write_row(&mut a, clock, device_id, ev) {
        Ok(()) => Ok(()),
        Err(_) => Err(a.error.take().unwrap_or_else(|| std::io::Error::other("format error"))),
    }
}

/// Parses a `YYYY-MM-DD HH:MM:SS[.f…]` timestamp back to Unix milliseconds (for the decoder,
/// the plotter and tests). `None` on any malformed field.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(' ')?;
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    // Four-digit years only: a larger one would overflow the millisecond count.
    if dp.next().is_some() || !(0..=9999).contains(&y) || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut tp = time.split(':');
    // Unsigned: a negative hour or minute is malformed, not a time before midnight.
    let h = i64::from(tp.next()?.parse::<u8>().ok()?);
    let mi = i64::from(tp.next()?.parse::<u8>().ok()?);
    let sec_s = tp.next()?;
    if tp.next().is_some() || h > 23 || mi > 59 {
        return None;
    }
    let (sec, frac_ms) = match sec_s.split_once('.') {
        Some((a, b)) => {
            let mut ms = 0i64;
            let mut scale = 100;
            for c in b.chars().take(3) {
                ms += c.to_digit(10)? as i64 * scale;
                scale /= 10;
            }
            (i64::from(a.parse::<u8>().ok()?), ms)
        }
        None => (i64::from(sec_s.parse::<u8>().ok()?), 0),
    };
    if sec > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400_000 + ((h * 60 + mi) * 60 + sec) * 1000 + frac_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;

    #[test]
    fn timestamps_match_known_dates() {
        let mut s = String::new();
        // 2026-01-01 00:00:00 UTC = 1767225600 s (date -d '2026-01-01 UTC' +%s).
        write_timestamp(&mut s, 1_767_225_600_000 + 3_723_450).unwrap();
        assert_eq!(s, "2026-01-01 01:02:03.4");
        assert_eq!(days_from_civil(2026, 1, 1), 1_767_225_600 / 86_400);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(
            parse_timestamp("2026-01-01 01:02:03.4"),
            Some(1_767_225_600_000 + 3_723_400)
        );
        assert_eq!(parse_timestamp("2026-13-01 01:02:03.4"), None);
        assert_eq!(parse_timestamp("garbage"), None);
        // Found by fuzz/fuzz_targets/event_log.rs: a huge year overflowed the millisecond count.
        assert_eq!(parse_timestamp("99999999999999-11-30 05:28:27.6"), None);
        assert_eq!(parse_timestamp("2026-11-30 -5:28:27.6"), None);
    }

    #[test]
    fn row_format() {
        let mut s = String::new();
        let clock = WallClock {
            unix_ms_at_zero: 1_767_225_600_000,
        };
        write_row(
            &mut s,
            clock,
            7,
            &Event {
                at: Instant(100),
                code: 1,
                param: 2,
            },
        )
        .unwrap();
        assert_eq!(s, "2026-01-01 00:00:00.1,7,1,2\n");
    }
}
