//! Signal timeline from a hi-res event log: which interval every phase, pedestrian crossing,
//! detector and preempt was in, as spans of time. Pure (text in, spans out); the drawing is in
//! [`super`].
//!
//! Interval boundaries follow the Indiana enumeration: green from 1 (begin green) to 8 (begin
//! yellow), yellow to 9/10, red clearance from 10 to 11; walk from 21 to 22, pedestrian clearance
//! (flashing DON'T WALK) from 22 to 23; detector presence from 82 (on) to 81 (off); preempt from
//! 102 (call on) to 104 (call off); flash while 173 has parameter 1; a left turn's flashing yellow
//! arrow (the overlap numbered like the phase) from 61 to 63, its steady yellow arrow to 64, its
//! clearance to 65. A span still open at the end
//! of the window is drawn to the end; a span that began before the window is clipped to it.

use crate::events::csv::parse_timestamp;
use std::collections::BTreeMap;

/// What a span shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Green,
    /// Flashing yellow arrow (permissive left turn).
    Permissive,
    Yellow,
    RedClear,
    Walk,
    PedClear,
    Detector,
    Preempt,
    Flash,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Green,
        Kind::Permissive,
        Kind::Yellow,
        Kind::RedClear,
        Kind::Walk,
        Kind::PedClear,
        Kind::Detector,
        Kind::Preempt,
        Kind::Flash,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Kind::Green => "green",
            Kind::Permissive => "flashing yellow arrow",
            Kind::Yellow => "yellow",
            Kind::RedClear => "red clearance",
            Kind::Walk => "walk",
            Kind::PedClear => "ped clearance",
            Kind::Detector => "detector on",
            Kind::Preempt => "preempt",
            Kind::Flash => "flash",
        }
    }
}

/// A row of the diagram, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Row {
    Phase(u16),
    Ped(u16),
    Detector(u16),
    Preempt(u16),
    Flash,
}

impl core::fmt::Display for Row {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Row::Phase(p) => write!(f, "phase {p}"),
            Row::Ped(p) => write!(f, "ped {p}"),
            Row::Detector(d) => write!(f, "det {d}"),
            Row::Preempt(n) => write!(f, "preempt {n}"),
            Row::Flash => f.write_str("flash"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub row: Row,
    pub kind: Kind,
    /// Seconds from the window start.
    pub start_s: f64,
    pub end_s: f64,
}

/// The diagram's content.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    /// Unix ms of the window start (x = 0).
    pub start_unix_ms: i64,
    pub length_s: f64,
    pub rows: Vec<Row>,
    pub spans: Vec<Span>,
    pub events_in_window: usize,
}

/// A malformed log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A window bound: a full timestamp, or seconds from the first event of the log.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    Unix(i64),
    Offset(f64),
}

impl Bound {
    /// `YYYY-MM-DD HH:MM:SS[.f]` or a number of seconds.
    pub fn parse(s: &str) -> Option<Bound> {
        if let Some(ms) = parse_timestamp(s) {
            return Some(Bound::Unix(ms));
        }
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .map(Bound::Offset)
    }
    fn resolve(self, first_ms: i64) -> i64 {
        match self {
            Bound::Unix(ms) => ms,
            Bound::Offset(s) => first_ms + (s * 1000.0).round() as i64,
        }
    }
}

/// Builds the timeline of `[from, to)` from CSV text (`TimeStamp,DeviceId,EventId,Parameter`).
pub fn parse(text: &str, from: Option<Bound>, to: Option<Bound>) -> Result<Timeline, ParseError> {
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.starts_with("TimeStamp")) {
            continue;
        }
        let err = |m: &str| ParseError {
            line: i + 1,
            message: format!("{m}: {line:?}"),
        };
        let mut f = line.split(',');
        let (Some(ts), Some(_dev), Some(code), Some(param), None) = (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            return Err(err("expected 4 fields TimeStamp,DeviceId,EventId,Parameter"));
        };
        let at = parse_timestamp(ts).ok_or_else(|| err("bad timestamp (want YYYY-MM-DD HH:MM:SS.f)"))?;
        let code: u16 = code.trim().parse().map_err(|_| err("bad EventId"))?;
        let param: u16 = param.trim().parse().map_err(|_| err("bad Parameter"))?;
        events.push((at, code, param));
    }
    // Loggers write in time order, but a merged log may not be; a stable sort keeps same-time order.
    events.sort_by_key(|e| e.0);
    let Some(first) = events.first().map(|e| e.0) else {
        return Err(ParseError {
            line: 0,
            message: "the log holds no events".into(),
        });
    };
    let last = events.last().map_or(first, |e| e.0);
    let start = from.map_or(first, |b| b.resolve(first));
    let end = to.map_or(last, |b| b.resolve(first));
    if end <= start {
        return Err(ParseError {
            line: 0,
            message: "the time window is empty (--to must be after --from)".into(),
        });
    }
    let sec = |ms: i64| (ms.clamp(start, end) - start) as f64 / 1000.0;

    let mut open: BTreeMap<Row, (Kind, i64)> = BTreeMap::new();
    let mut spans = Vec::new();
    let mut rows = std::collections::BTreeSet::new();
    let close = |open: &mut BTreeMap<Row, (Kind, i64)>, row: Row, at: i64, spans: &mut Vec<Span>| {
        if let Some((kind, t0)) = open.remove(&row) {
            if at > start && t0 < end {
                spans.push(Span {
                    row,
                    kind,
                    start_s: sec(t0),
                    end_s: sec(at),
                });
            }
        }
    };
    let mut in_window = 0;
    for &(at, code, p) in &events {
        if at >= end {
            break;
        }
        if at >= start {
            in_window += 1;
        }
        let (row, next) = match code {
            1 => (Row::Phase(p), Some(Kind::Green)),
            8 => (Row::Phase(p), Some(Kind::Yellow)),
            9 | 11 | 12 => (Row::Phase(p), None),
            10 => (Row::Phase(p), Some(Kind::RedClear)),
            21 => (Row::Ped(p), Some(Kind::Walk)),
            22 => (Row::Ped(p), Some(Kind::PedClear)),
            23 => (Row::Ped(p), None),
            82 => (Row::Detector(p), Some(Kind::Detector)),
            81 => (Row::Detector(p), None),
            102 => (Row::Preempt(p), Some(Kind::Preempt)),
            104 => (Row::Preempt(p), None),
            173 => (Row::Flash, (p == 1).then_some(Kind::Flash)),
            61 => (Row::Phase(p), Some(Kind::Permissive)),
            63 => (Row::Phase(p), Some(Kind::Yellow)),
            64 => (Row::Phase(p), Some(Kind::RedClear)),
            65 => (Row::Phase(p), None),
            _ => continue,
        };
        // Event 9 (end yellow) only closes a yellow; 11 only a red clearance.
        let closes = match (code, open.get(&row)) {
            (9, Some((k, _))) => *k == Kind::Yellow,
            (11, Some((k, _))) => *k == Kind::RedClear,
            _ => true,
        };
        if closes {
            close(&mut open, row, at, &mut spans);
        }
        if let Some(kind) = next {
            open.insert(row, (kind, at));
        }
        if at >= start || next.is_some() {
            rows.insert(row);
        }
    }
    let still_open: Vec<Row> = open.keys().copied().collect();
    for row in still_open {
        close(&mut open, row, end, &mut spans);
    }
    Ok(Timeline {
        start_unix_ms: start,
        length_s: (end - start) as f64 / 1000.0,
        rows: rows.into_iter().collect(),
        spans,
        events_in_window: in_window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "TimeStamp,DeviceId,EventId,Parameter
2026-01-01 00:00:00.0,1,1,2
2026-01-01 00:00:00.0,1,21,2
2026-01-01 00:00:02.0,1,82,3
2026-01-01 00:00:03.5,1,81,3
2026-01-01 00:00:07.0,1,22,2
2026-01-01 00:00:20.0,1,23,2
2026-01-01 00:00:20.0,1,8,2
2026-01-01 00:00:23.3,1,9,2
2026-01-01 00:00:23.3,1,10,2
2026-01-01 00:00:25.2,1,11,2
2026-01-01 00:00:26.0,1,102,1
2026-01-01 00:00:01.0,1,61,1
2026-01-01 00:00:20.0,1,63,1
2026-01-01 00:00:23.3,1,64,1
2026-01-01 00:00:25.5,1,65,1
";

    #[test]
    fn intervals_from_events() {
        let t = parse(LOG, None, Some(Bound::Offset(30.0))).unwrap();
        let got: Vec<(Row, Kind, f64, f64)> = t.spans.iter().map(|s| (s.row, s.kind, s.start_s, s.end_s)).collect();
        assert!(got.contains(&(Row::Phase(2), Kind::Green, 0.0, 20.0)));
        assert!(got.contains(&(Row::Phase(2), Kind::Yellow, 20.0, 23.3)));
        assert!(got.contains(&(Row::Phase(2), Kind::RedClear, 23.3, 25.2)));
        assert!(got.contains(&(Row::Ped(2), Kind::Walk, 0.0, 7.0)));
        assert!(got.contains(&(Row::Ped(2), Kind::PedClear, 7.0, 20.0)));
        assert!(got.contains(&(Row::Detector(3), Kind::Detector, 2.0, 3.5)));
        // Still active at the window end: drawn to the end.
        assert!(got.contains(&(Row::Preempt(1), Kind::Preempt, 26.0, 30.0)));
        // Left turn 1's flashing yellow arrow, its steady yellow arrow and clearance.
        assert!(got.contains(&(Row::Phase(1), Kind::Permissive, 1.0, 20.0)));
        assert!(got.contains(&(Row::Phase(1), Kind::Yellow, 20.0, 23.3)));
        assert!(got.contains(&(Row::Phase(1), Kind::RedClear, 23.3, 25.5)));
        assert_eq!(got.len(), 10);
        assert_eq!(
            t.rows,
            vec![
                Row::Phase(1),
                Row::Phase(2),
                Row::Ped(2),
                Row::Detector(3),
                Row::Preempt(1)
            ]
        );
    }

    #[test]
    fn window_clips_and_errors_name_the_line() {
        let t = parse(LOG, Some(Bound::Offset(10.0)), Some(Bound::Offset(21.0))).unwrap();
        let green = t.spans.iter().find(|s| s.kind == Kind::Green).unwrap();
        assert_eq!((green.start_s, green.end_s), (0.0, 10.0));
        assert!(t.spans.iter().all(|s| s.start_s >= 0.0 && s.end_s <= 11.0));
        let e = parse(
            "TimeStamp,DeviceId,EventId,Parameter\n2026-01-01 00:00:00.0,1,1\n",
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse(LOG, Some(Bound::Offset(5.0)), Some(Bound::Offset(5.0))).is_err());
    }
}
