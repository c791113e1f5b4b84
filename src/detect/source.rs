//! Where detection comes from: a [`Source`] hands the control loop the newest [`DetectorSnapshot`]
//! it has, once per tick, and never makes the loop wait (docs/safety.md 6: missing or stale
//! detection degrades to the Webster fixed-time plan, never to a stop).
//!
//! Sources today: [`NoDetection`] (a board without cameras: every detector `Unknown`), the
//! simulated traffic model and SUMO's detectors (which also see the lamps, so the loop reads them
//! with the cabinet inputs), and the fault-injecting wrapper `sim::faults::FaultySource`.
//!
//! The seat for cameras: a camera source owns the control-thread end of a lock-free hand-off from
//! its detection thread (capture → frame ring → zone or NPU detector → snapshot). Its `poll` copies
//! the newest snapshot the detection thread published and returns it unchanged, with the `at` the
//! detection thread stamped: if that thread stalls, the same old snapshot keeps coming back and the
//! planner judges it stale by `at`; nothing in the loop blocks on the camera. Several cameras (or a
//! camera and loop detectors) are a list of sources polled as one ([`poll_all`]).
//!
//! Cost: `poll` is O(detectors) copying per source, no allocation.

use crate::detect::{DetectorHealth, DetectorSnapshot};
use crate::limits::MAX_DETECTORS;
use crate::time::Instant;

/// A source of detector data, polled by the control loop once per tick.
pub trait Source {
    /// The newest detection at `now`. Never blocks: a source with nothing new returns what it had
    /// (its `at` then ages and the planner stops trusting it).
    fn poll(&mut self, now: Instant) -> DetectorSnapshot;
}

impl<S: Source + ?Sized> Source for Box<S> {
    fn poll(&mut self, now: Instant) -> DetectorSnapshot {
        (**self).poll(now)
    }
}

/// No detection at all (a board before any camera is configured): every detector is `Unknown`,
/// so the planner runs the Webster fixed-time fail-safe. The snapshot is current (`at` = now):
/// "no detector" is a known state, not a stalled one.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoDetection;

impl Source for NoDetection {
    fn poll(&mut self, now: Instant) -> DetectorSnapshot {
        DetectorSnapshot {
            at: now,
            ..DetectorSnapshot::EMPTY
        }
    }
}

/// Polls every source of a list and combines their snapshots into one. One source: its snapshot
/// as it is. None: [`NoDetection`]. Several: each detector comes from the first source whose
/// reading of it is healthy, else from the first that reports it at all (health other than
/// `Unknown`; a camera reports `Unknown` for detectors outside its view), and the result is as old
/// as the oldest snapshot, so one stalled source makes the whole snapshot stale rather than
/// silently mixing old and new data. (A detector fed by both a loop and a camera zone is combined
/// by `detect::loops::merge`, which weighs what each is good at; this only picks a source.)
pub fn poll_all<S: Source>(sources: &mut [S], now: Instant) -> DetectorSnapshot {
    let mut iter = sources.iter_mut();
    let Some(first) = iter.next() else {
        return NoDetection.poll(now);
    };
    let mut acc = first.poll(now);
    for s in iter {
        merge(&mut acc, &s.poll(now));
    }
    acc
}

/// Takes `other`'s reading of each detector that `acc` does not report, or reports only as
/// failed while `other`'s is healthy; keeps the older `at`.
fn merge(acc: &mut DetectorSnapshot, other: &DetectorSnapshot) {
    for i in 0..MAX_DETECTORS {
        let (Some(mine), Some(theirs)) = (acc.health.get(i).copied(), other.health.get(i).copied()) else {
            continue;
        };
        let better = (mine == DetectorHealth::Unknown && theirs != DetectorHealth::Unknown)
            || (!mine.trusted() && theirs.trusted());
        if !better {
            continue;
        }
        acc.presence.set(i, other.presence.contains(i));
        if let (Some(c), Some(o)) = (acc.counts.get_mut(i), other.counts.get(i)) {
            *c = *o;
        }
        if let (Some(q), Some(o)) = (acc.queue_m.get_mut(i), other.queue_m.get(i)) {
            *q = *o;
        }
        if let Some(h) = acc.health.get_mut(i) {
            *h = theirs;
        }
    }
    acc.at = Instant(acc.at.0.min(other.at.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed snapshot stamped `age_ms` before each poll.
    struct Fixed {
        snap: DetectorSnapshot,
        age_ms: u64,
    }

    impl Source for Fixed {
        fn poll(&mut self, now: Instant) -> DetectorSnapshot {
            DetectorSnapshot {
                at: Instant(now.0.saturating_sub(self.age_ms)),
                ..self.snap
            }
        }
    }

    fn reporting(i: usize, on: bool, count: u16) -> DetectorSnapshot {
        let mut s = DetectorSnapshot::EMPTY;
        s.health[i] = DetectorHealth::Ok;
        s.presence.set(i, on);
        s.counts[i] = count;
        s
    }

    #[test]
    fn no_detection_is_current_and_unknown() {
        let s = NoDetection.poll(Instant(4_200));
        assert_eq!(s.at, Instant(4_200));
        assert!(s.health.iter().all(|h| *h == DetectorHealth::Unknown));
        assert_eq!(
            poll_all::<NoDetection>(&mut [], Instant(7)),
            NoDetection.poll(Instant(7))
        );
    }

    #[test]
    fn one_source_is_passed_through_unchanged() {
        let snap = reporting(3, true, 12);
        let mut list = [Fixed { snap, age_ms: 250 }];
        assert_eq!(
            poll_all(&mut list, Instant(1_000)),
            DetectorSnapshot {
                at: Instant(750),
                ..snap
            }
        );
    }

    #[test]
    fn several_sources_fill_their_own_detectors_and_the_oldest_sets_the_age() {
        let mut a = reporting(0, true, 5);
        a.health[1] = DetectorHealth::Unknown;
        let b = reporting(1, true, 9);
        let mut c = reporting(0, false, 77); // detector 1 again: the first source keeps it
        c.health[2] = DetectorHealth::Stale;
        c.health[4] = DetectorHealth::Ok; // detector 5: healthy here, failed in `a`
        c.counts[4] = 40;
        a.health[4] = DetectorHealth::StuckOn;
        a.presence.set(4, true);
        let mut list: [Box<dyn Source>; 3] = [
            Box::new(Fixed { snap: a, age_ms: 0 }),
            Box::new(Fixed { snap: b, age_ms: 400 }),
            Box::new(Fixed { snap: c, age_ms: 100 }),
        ];
        let s = poll_all(&mut list, Instant(1_000));
        assert_eq!(s.at, Instant(600), "as old as the stalest source");
        assert!(s.presence.contains(0) && s.counts[0] == 5, "first reporter wins");
        assert!(s.presence.contains(1) && s.counts[1] == 9);
        assert_eq!(s.health[2], DetectorHealth::Stale, "a failed reading beats none");
        assert_eq!(s.health[3], DetectorHealth::Unknown);
        assert_eq!(
            (s.health[4], s.presence.contains(4), s.counts[4]),
            (DetectorHealth::Ok, false, 40),
            "a healthy reading beats a failed one"
        );
    }
}
