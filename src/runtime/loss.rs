//! Loud loss: write failures of the event log and of the state files become controller alarms.
//!
//! The writer threads count every row and every state file they could not write ([`super::logger`],
//! [`super::state`]) and publish the counters through atomics. Once per tick the loop hands them
//! to [`LossWatch::check`], which pushes one hi-res alarm event (code 174, [`crate::events::alarm`])
//! when a failure episode starts — not one per failed row — so a technician sees it in the console
//! `events`, and in the log itself once space returns. Flash is not latched: a lost log row does
//! not make the street unsafe.
//!
//! Cost: a few comparisons per tick; no allocation, no lock.

use crate::events::{alarm, code, EventRing};
use crate::time::Instant;

/// One kind of failure: an episode starts with the first failure after a time without failures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Episode {
    active: bool,
    failures: u64,
}

impl Episode {
    /// `failing`: the last attempt failed; `failures`: failures so far. True when an episode starts
    /// (including a failure that already cleared since the last check).
    fn starts(&mut self, failing: bool, failures: u64) -> bool {
        let new = failures > self.failures;
        let start = !self.active && (failing || new);
        self.active = failing;
        self.failures = failures;
        start
    }
}

/// Watches the event log and the state writer for failure episodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossWatch {
    log: Episode,
    state: Episode,
    /// Alarms raised so far.
    pub alarms: u64,
}

impl LossWatch {
    pub const fn new() -> LossWatch {
        LossWatch {
            log: Episode {
                active: false,
                failures: 0,
            },
            state: Episode {
                active: false,
                failures: 0,
            },
            alarms: 0,
        }
    }

    /// Checks the current counters: `log` = (writes failing now, write errors so far), `state` =
    /// (saves failing now, failed saves so far). Pushes an alarm event into `events` when an
    /// episode starts.
    pub fn check(
        &mut self,
        now: Instant,
        events: &mut EventRing,
        log: Option<(bool, u64)>,
        state: Option<(bool, u64)>,
    ) {
        if let Some((failing, errors)) = log {
            if self.log.starts(failing, errors) {
                events.push(now, code::ALARM, alarm::EVENT_LOG_WRITE);
                self.alarms += 1;
            }
        }
        if let Some((failing, failures)) = state {
            if self.state.starts(failing, failures) {
                events.push(now, code::ALARM, alarm::STATE_SAVE);
                self.alarms += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarms(r: &mut EventRing) -> Vec<u16> {
        let mut v = Vec::new();
        while let Some(e) = r.pop() {
            assert_eq!(e.code, code::ALARM);
            v.push(e.param);
        }
        v
    }

    #[test]
    fn one_alarm_per_episode() {
        let mut w = LossWatch::new();
        let mut r = EventRing::new();
        w.check(Instant(0), &mut r, Some((false, 0)), Some((false, 0)));
        assert!(alarms(&mut r).is_empty());
        // A long disk-full episode: many failed writes, one alarm.
        for k in 1..100 {
            w.check(Instant(k * 100), &mut r, Some((true, k)), Some((false, 0)));
        }
        assert_eq!(alarms(&mut r), [alarm::EVENT_LOG_WRITE]);
        // Space returns, then the disk fills again: a second episode.
        w.check(Instant(10_000), &mut r, Some((false, 99)), Some((false, 0)));
        w.check(Instant(10_100), &mut r, Some((true, 100)), Some((false, 0)));
        assert_eq!(alarms(&mut r), [alarm::EVENT_LOG_WRITE]);
        // A failure that cleared between two ticks still raises one.
        w.check(Instant(10_200), &mut r, Some((false, 100)), Some((false, 1)));
        assert_eq!(alarms(&mut r), [alarm::STATE_SAVE]);
        assert_eq!(w.alarms, 3);
    }
}
