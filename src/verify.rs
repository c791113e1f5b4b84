//! After-the-fact safety check of an event log against the cabinet's MMU card
//! (`greenwave verify`). It shares nothing with the timing engine or the monitor: its inputs are
//! the Indiana hi-res rows a run wrote and the board file's `[mmu]` card (the malfunction
//! management unit's programming card, NEMA TS2 §6, read by `config::board::mmu`), so
//! a bug in the timing engine cannot hide itself by agreeing with its own checker.
//!
//! From the phase events it rebuilds what every channel showed (channel = phase number; a
//! crossing's WALK is shown on the channel of the phase it runs with, like the monitor's rule):
//!
//! - green from 1 (begin green) to 8 (begin yellow), yellow from 8 to 10 (begin red clearance), red
//!   clearance from 10 to 11; WALK from 21 to 22;
//! - a flashing yellow arrow from overlap event 61 to 63, its steady yellow arrow from 63 to 64,
//!   its red clearance from 64 to 65;
//! - flash (173 with parameter 1) ends every interval: in flash nothing is green.
//!
//! and asserts, after all rows of one timestamp are applied:
//!
//! - **no conflict**: two channels both showing green, yellow or WALK must be a `permitted` pair;
//!   a flashing (or steady yellow) arrow of channel `a` may show with the green, yellow or WALK of
//!   `b` only if `[a, b]` is in `fya`;
//! - **no short clearance**: every yellow (8→10, 63→64) at least `min_yellow_s` of its channel and
//!   every red clearance (10→11, 64→65) at least `min_red_clear_s`. Timestamps have 0.1 s
//!   resolution, so an interval counts as short when even the log's rounding cannot explain it
//!   (measured + 0.1 s ≤ minimum). An interval cut by flash is not short: flash is the safe state.
//!
//! A run that lost rows (disk full; the loss is counted, see `--dropped`) has holes in its log
//! where intervals began and ended unseen. With [`Checker::resync_after_gaps`] a silence in the log
//! longer than the given gap marks every channel unknown until its next green, WALK, arrow or end
//! of red clearance, and unknown channels take part in no check; the resyncs are counted.
//!
//! A wall-clock step (alarm 174 with [`alarm::CLOCK_STEP`], `runtime::wallclock`) moves every later
//! timestamp by the step while the signal kept timing on the monotonic clock: an interval that spans
//! it cannot be measured from the log, so the step resyncs the same way (and is counted apart).
//!
//! Cost: O(rows × channels²) time, O(channels) memory; the log is streamed line by line.

use crate::events::csv::parse_timestamp;
use crate::events::{alarm, code};
use crate::phase::PhaseId;

/// Channels of the card: one per phase (`monitor::card`).
pub const CHANNELS: usize = crate::limits::MAX_PHASES;
/// Timestamp resolution of the log, ms.
pub const LOG_RESOLUTION_MS: i64 = 100;

/// Which kind of interval ended (`Checker::interval_ended`).
#[derive(Clone, Copy)]
enum Ended {
    Yellow,
    RedClear,
}

/// The part of the MMU card the checker needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MmuCard {
    /// `permitted[a][b]`: channels a + 1 and b + 1 may show together (symmetric).
    pub permitted: [[bool; CHANNELS]; CHANNELS],
    /// `fya[a][b]`: the flashing yellow arrow of channel a + 1 may show with the green of b + 1.
    pub fya: [[bool; CHANNELS]; CHANNELS],
    /// Minimum yellow per channel, ms (0 = not programmed).
    pub min_yellow_ms: [u32; CHANNELS],
    /// Minimum red clearance per channel, ms.
    pub min_red_clear_ms: [u32; CHANNELS],
}

impl MmuCard {
    /// The checker's view of a validated card (the board file's `[mmu]`, `config::board::mmu`).
    pub fn from_card(card: &crate::config::board::MmuCardData) -> MmuCard {
        let mut out = MmuCard::default();
        for a in (1..=CHANNELS as u8).filter_map(PhaseId::new) {
            for b in (1..=CHANNELS as u8).filter_map(PhaseId::new) {
                out.permitted[a.index()][b.index()] = card.permits(a, b);
            }
            if let Some(o) = card.fya(a) {
                out.fya[a.index()][o.index()] = true;
            }
            out.min_yellow_ms[a.index()] = card.min_yellow_ms(a);
            out.min_red_clear_ms[a.index()] = card.min_red_clear_ms(a);
        }
        out
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Veh {
    #[default]
    Red,
    Green,
    Yellow {
        since: i64,
    },
    RedClear {
        since: i64,
    },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Arrow {
    #[default]
    Off,
    Flashing,
    Yellow {
        since: i64,
    },
    RedClear {
        since: i64,
    },
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub line: usize,
    pub unix_ms: i64,
    pub what: String,
}

/// Totals of a check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub rows: u64,
    pub conflicts: u64,
    pub short_yellows: u64,
    pub short_red_clears: u64,
    pub yellows: u64,
    pub red_clears: u64,
    pub alarms: u64,
    pub flashes: u64,
    /// Silences in the log after which every channel was unknown (lossy runs only).
    pub resyncs: u64,
    /// Wall-clock steps recorded in the log (each also resyncs).
    pub clock_steps: u64,
    /// Rows that do not parse (a cut last row of a killed run is allowed, see [`Checker::finish`]).
    pub bad_rows: u64,
    /// The first findings, for the message.
    pub findings: Vec<Finding>,
}

/// Findings kept verbatim (the counts go on).
pub const FINDINGS_KEPT: usize = 20;

/// Streaming checker: feed rows in log order, then [`Checker::finish`].
pub struct Checker<'a> {
    card: &'a MmuCard,
    veh: [Veh; CHANNELS],
    arrow: [Arrow; CHANNELS],
    walk: [bool; CHANNELS],
    batch_at: Option<i64>,
    batch_line: usize,
    last_bad_line: Option<usize>,
    resync_gap_ms: Option<i64>,
    unknown: [bool; CHANNELS],
    report: Report,
}

impl<'a> Checker<'a> {
    pub fn new(card: &'a MmuCard) -> Self {
        Checker {
            card,
            veh: [Veh::Red; CHANNELS],
            arrow: [Arrow::Off; CHANNELS],
            walk: [false; CHANNELS],
            batch_at: None,
            batch_line: 0,
            last_bad_line: None,
            resync_gap_ms: None,
            unknown: [false; CHANNELS],
            report: Report::default(),
        }
    }

    /// For a log known to have lost rows: after a silence of `gap_ms` or more, channels are unknown
    /// until an event says what they show (see the module docs).
    pub fn resync_after_gaps(mut self, gap_ms: i64) -> Self {
        self.resync_gap_ms = Some(gap_ms);
        self
    }

    fn find(&mut self, line: usize, unix_ms: i64, what: String) {
        if self.report.findings.len() < FINDINGS_KEPT {
            self.report.findings.push(Finding { line, unix_ms, what });
        }
    }

    /// One CSV line (`TimeStamp,DeviceId,EventId,Parameter`); the header and blank lines are skipped.
    pub fn line(&mut self, line_no: usize, text: &str) {
        let t = text.trim();
        if t.is_empty() || t.starts_with("TimeStamp") {
            return;
        }
        let mut f = t.split(',');
        let row = match (f.next(), f.next(), f.next(), f.next(), f.next()) {
            (Some(ts), Some(_), Some(c), Some(p), None) => {
                parse_timestamp(ts).zip(c.trim().parse::<u8>().ok().zip(p.trim().parse::<u16>().ok()))
            }
            _ => None,
        };
        let Some((at, (code, param))) = row else {
            self.report.bad_rows += 1;
            self.last_bad_line = Some(line_no);
            return;
        };
        self.report.rows += 1;
        if self.batch_at.is_some_and(|b| b != at) {
            self.check_batch();
            if let (Some(gap), Some(prev)) = (self.resync_gap_ms, self.batch_at) {
                if at - prev >= gap {
                    self.report.resyncs += 1;
                    self.forget();
                }
            }
        }
        if self.batch_at != Some(at) {
            self.batch_at = Some(at);
            self.batch_line = line_no;
        }
        self.event(line_no, at, code, param);
    }

    /// Every channel unknown until its next green, WALK, arrow or end of red clearance.
    fn forget(&mut self) {
        self.unknown = [true; CHANNELS];
        self.veh = [Veh::Red; CHANNELS];
        self.arrow = [Arrow::Off; CHANNELS];
        self.walk = [false; CHANNELS];
    }

    fn event(&mut self, line: usize, at: i64, ev: u8, param: u16) {
        let Some(c) = usize::from(param).checked_sub(1).filter(|c| *c < CHANNELS) else {
            if ev == code::FLASH_STATUS {
                self.flash(param == 1);
            } else if ev == code::ALARM {
                self.report.alarms += 1;
                if param == alarm::CLOCK_STEP {
                    self.report.clock_steps += 1;
                    self.report.resyncs += 1;
                    self.forget();
                }
            }
            return;
        };
        if matches!(
            ev,
            code::PHASE_BEGIN_GREEN
                | code::PHASE_END_RED_CLEARANCE
                | code::PED_BEGIN_WALK
                | code::OVERLAP_BEGIN_GREEN
                | code::OVERLAP_OFF
        ) {
            self.unknown[c] = false;
        }
        let min_y = i64::from(self.card.min_yellow_ms[c]);
        let min_r = i64::from(self.card.min_red_clear_ms[c]);
        match ev {
            code::PHASE_BEGIN_GREEN => self.veh[c] = Veh::Green,
            code::PHASE_BEGIN_YELLOW => self.veh[c] = Veh::Yellow { since: at },
            code::PHASE_BEGIN_RED_CLEARANCE => {
                if let Veh::Yellow { since } = self.veh[c] {
                    self.interval_ended(Ended::Yellow, line, at, since, min_y, param, "yellow");
                }
                self.veh[c] = Veh::RedClear { since: at };
            }
            code::PHASE_END_RED_CLEARANCE => {
                if let Veh::RedClear { since } = self.veh[c] {
                    self.interval_ended(Ended::RedClear, line, at, since, min_r, param, "red clearance");
                }
                self.veh[c] = Veh::Red;
            }
            code::PED_BEGIN_WALK => self.walk[c] = true,
            code::PED_BEGIN_CLEARANCE | code::PED_BEGIN_DONT_WALK => self.walk[c] = false,
            code::OVERLAP_BEGIN_GREEN => self.arrow[c] = Arrow::Flashing,
            code::OVERLAP_BEGIN_YELLOW => self.arrow[c] = Arrow::Yellow { since: at },
            code::OVERLAP_BEGIN_RED_CLEARANCE => {
                if let Arrow::Yellow { since } = self.arrow[c] {
                    self.interval_ended(Ended::Yellow, line, at, since, min_y, param, "arrow yellow");
                }
                self.arrow[c] = Arrow::RedClear { since: at };
            }
            code::OVERLAP_OFF => {
                if let Arrow::RedClear { since } = self.arrow[c] {
                    self.interval_ended(Ended::RedClear, line, at, since, min_r, param, "arrow red clearance");
                }
                self.arrow[c] = Arrow::Off;
            }
            code::FLASH_STATUS => self.flash(param == 1),
            code::ALARM => self.report.alarms += 1,
            _ => {}
        }
    }

    /// Counts a yellow or red clearance that ended at `at` after starting at `since`, and reports it
    /// when it was shorter than `min_ms` by more than the log's resolution.
    #[allow(clippy::too_many_arguments)]
    fn interval_ended(&mut self, kind: Ended, line: usize, at: i64, since: i64, min_ms: i64, param: u16, what: &str) {
        let (count, short) = match kind {
            Ended::Yellow => (&mut self.report.yellows, &mut self.report.short_yellows),
            Ended::RedClear => (&mut self.report.red_clears, &mut self.report.short_red_clears),
        };
        *count += 1;
        if at - since + LOG_RESOLUTION_MS <= min_ms {
            *short += 1;
            self.find(
                line,
                at,
                format!("channel {param}: {what} {} ms < minimum {min_ms} ms", at - since),
            );
        }
    }

    fn flash(&mut self, on: bool) {
        if on {
            self.report.flashes += 1;
            self.unknown = [false; CHANNELS];
            self.veh = [Veh::Red; CHANNELS];
            self.arrow = [Arrow::Off; CHANNELS];
            self.walk = [false; CHANNELS];
        }
    }

    /// Channels showing green/yellow/WALK (`moving`) and those showing only an arrow (`arrow`).
    fn check_batch(&mut self) {
        let Some(at) = self.batch_at else { return };
        let known = |c: usize| !self.unknown[c];
        let moving = |c: usize| known(c) && (matches!(self.veh[c], Veh::Green | Veh::Yellow { .. }) || self.walk[c]);
        let arrow = |c: usize| known(c) && matches!(self.arrow[c], Arrow::Flashing | Arrow::Yellow { .. });
        let mut found = Vec::new();
        for a in 0..CHANNELS {
            for b in 0..CHANNELS {
                if a == b {
                    continue;
                }
                // Each unordered pair of moving channels once; arrow pairs in both directions.
                let both_moving = a < b && moving(a) && moving(b) && !self.card.permitted[a][b];
                let arrow_with =
                    arrow(a) && !moving(a) && moving(b) && !self.card.fya[a][b] && !self.card.permitted[a][b];
                if both_moving {
                    found.push(format!("channels {} and {} green/yellow/walk together", a + 1, b + 1));
                } else if arrow_with {
                    found.push(format!(
                        "flashing yellow arrow {} with channel {} not on the card",
                        a + 1,
                        b + 1
                    ));
                }
            }
        }
        for f in found {
            self.report.conflicts += 1;
            self.find(self.batch_line, at, f);
        }
    }

    /// Ends the log. `cut_tail_ok`: a killed run may leave its last row cut off; that one bad row
    /// is then not counted.
    pub fn finish(mut self, last_line: usize, cut_tail_ok: bool) -> Report {
        self.check_batch();
        if cut_tail_ok && self.last_bad_line == Some(last_line) {
            self.report.bad_rows -= 1;
        }
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_card() -> MmuCard {
        let p = |n| PhaseId::new(n).unwrap();
        let mut c = crate::monitor::card::MmuCard::EMPTY;
        for (a, b) in [(2, 6), (2, 5), (1, 6), (1, 5), (4, 8)] {
            c.permit(p(a), p(b));
        }
        c.set_fya(p(1), p(2));
        for n in 1..=8 {
            c.set_min_yellow_ms(p(n), 3000);
        }
        c.set_min_red_clear_ms(p(2), 1500);
        c.set_min_red_clear_ms(p(6), 1500);
        MmuCard::from_card(&c)
    }

    fn check(rows: &[(i64, u8, u16)]) -> Report {
        let card = test_card();
        let mut c = Checker::new(&card);
        let base = 1_767_225_600_000i64;
        let mut n = 1;
        c.line(n, "TimeStamp,DeviceId,EventId,Parameter");
        for (t, code, p) in rows {
            let mut s = String::new();
            crate::events::csv::write_timestamp(&mut s, base + t).unwrap();
            n += 1;
            c.line(n, &format!("{s},1,{code},{p}"));
        }
        c.finish(n, false)
    }

    #[test]
    fn card_converts() {
        let card = test_card();
        assert!(card.permitted[1][5] && card.permitted[5][1] && !card.permitted[1][3]);
        assert!(card.fya[0][1] && !card.fya[1][0]);
        assert_eq!(card.min_yellow_ms[7], 3000);
        assert_eq!((card.min_red_clear_ms[1], card.min_red_clear_ms[0]), (1500, 0));
    }

    #[test]
    fn clean_cycle_passes_and_conflicts_are_found() {
        let ok = check(&[
            (0, 1, 2),
            (0, 1, 6),
            (0, 61, 1),
            (10_000, 8, 2),
            (13_000, 10, 2),
            (14_500, 11, 2),
        ]);
        assert_eq!(
            (ok.conflicts, ok.short_yellows, ok.short_red_clears, ok.rows),
            (0, 0, 0, 6)
        );
        let bad = check(&[(0, 1, 2), (0, 1, 4)]);
        assert_eq!(bad.conflicts, 1);
        // An arrow with a channel not on the fya list, and a WALK against a conflicting green.
        assert_eq!(check(&[(0, 1, 4), (0, 61, 1)]).conflicts, 1);
        assert_eq!(check(&[(0, 1, 2), (100, 21, 4)]).conflicts, 1);
        // Flash ends everything.
        assert_eq!(check(&[(0, 1, 2), (100, 173, 1), (200, 1, 4)]).conflicts, 0);
    }

    #[test]
    fn a_silence_resyncs_a_lossy_log() {
        let card = test_card();
        let rows = [(0, 1, 2), (60_000, 1, 4), (60_000, 1, 8)];
        let run = |resync: bool| {
            let mut c = Checker::new(&card);
            if resync {
                c = c.resync_after_gaps(30_000);
            }
            for (i, (t, code, p)) in rows.iter().enumerate() {
                let mut s = String::new();
                crate::events::csv::write_timestamp(&mut s, 1_767_225_600_000 + t).unwrap();
                c.line(i + 1, &format!("{s},1,{code},{p}"));
            }
            c.finish(rows.len(), false)
        };
        assert_eq!(run(false).conflicts, 2);
        let r = run(true);
        assert_eq!((r.conflicts, r.resyncs), (0, 1));
    }

    #[test]
    fn short_clearances_are_found() {
        let r = check(&[(0, 1, 2), (10_000, 8, 2), (12_900, 10, 2), (14_300, 11, 2)]);
        assert_eq!((r.short_yellows, r.short_red_clears), (1, 1));
        let arrow = check(&[(0, 61, 1), (0, 1, 2), (5_000, 63, 1), (7_000, 64, 1), (8_000, 65, 1)]);
        assert_eq!(arrow.short_yellows, 1);
    }
}
