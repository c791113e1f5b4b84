//! Seeded random fault injection for soak runs (`greenwave sim --faults SEED`).
//!
//! Two wrappers put faults between the simulated hardware and the loop, in the spirit of smoltcp's
//! `phy::FaultInjector`: the controller sees only what a faulty device would hand it and gets no
//! special cases (docs/conventions.md 6).
//!
//! - [`FaultySource`] wraps a detection source (`detect::source::Source`; the runtime also wraps
//!   the simulated street's detection with it): **camera stall** (the same snapshot again and again,
//!   so detection goes stale), **camera errors** (every other frame lost), and per-detector
//!   **stuck on**, **stuck off** and **chatter** (presence toggling every tick).
//! - [`FaultyRelays`] wraps relays in a [`FaultInjector`] and, at most once per run, welds a lamp
//!   on so the read-back differs from what was written (the monitor must latch flash).
//!
//! The schedule is drawn from the seed alone (SplitMix64), so a failing soak segment is replayed by
//! running it again with the printed seed. Every fault is logged when it starts. One fault at a
//! time per wrapper; gaps of 20-180 s simulated time, faults lasting 1-90 s. No allocation; O(1)
//! per tick plus O(detectors) while a detector fault is active.

use crate::detect::source::Source;
use crate::detect::DetectorSnapshot;
use crate::frame::{lamp, OutputFrame};
use crate::hal::sim::{FaultInjector, RelayFault};
use crate::hal::{HalError, Relays};
use crate::limits::{MAX_DETECTORS, MAX_PHASES};
use crate::sim::traffic::Rng;
use crate::time::Instant;

/// Shortest and longest gap between two detection faults, ms of simulated time.
pub const GAP_MS: (u64, u64) = (20_000, 180_000);
/// Shortest and longest detection fault, ms.
pub const LENGTH_MS: (u64, u64) = (1_000, 90_000);

/// One detection fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectionFault {
    /// The camera delivers nothing new: the last snapshot is repeated (detection goes stale).
    CameraStall,
    /// Every other frame is lost (capture errors).
    CameraErrors,
    /// Detector index stuck on (shorted loop, a static object in the zone).
    StuckOn(u8),
    /// Detector index stuck off (open loop, a covered lens).
    StuckOff(u8),
    /// Detector index toggling every tick.
    Chatter(u8),
}

impl core::fmt::Display for DetectionFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DetectionFault::CameraStall => f.write_str("camera stall"),
            DetectionFault::CameraErrors => f.write_str("camera errors (every other frame lost)"),
            DetectionFault::StuckOn(d) => write!(f, "detector {} stuck on", u16::from(*d) + 1),
            DetectionFault::StuckOff(d) => write!(f, "detector {} stuck off", u16::from(*d) + 1),
            DetectionFault::Chatter(d) => write!(f, "detector {} chatter", u16::from(*d) + 1),
        }
    }
}

fn between(rng: &mut Rng, (lo, hi): (u64, u64)) -> u64 {
    lo + rng.next_u64() % (hi - lo + 1)
}

/// A detection source with seeded random faults.
pub struct FaultySource<S> {
    pub inner: S,
    rng: Rng,
    /// Detector indices that exist (bit `i` = detector `i + 1`).
    detectors: u32,
    active: Option<(DetectionFault, u64)>,
    next_at_ms: u64,
    last: DetectorSnapshot,
    flip: bool,
    /// Faults started so far.
    pub injected: u64,
}

impl<S> FaultySource<S> {
    /// `detectors`: the configured detectors as a bit set (only those get detector faults).
    pub fn new(inner: S, seed: u64, detectors: u32) -> Self {
        let mut rng = Rng::new(seed ^ 0x00DE_7EC7);
        let next_at_ms = between(&mut rng, GAP_MS);
        FaultySource {
            inner,
            rng,
            detectors,
            active: None,
            next_at_ms,
            last: DetectorSnapshot::EMPTY,
            flip: false,
            injected: 0,
        }
    }

    fn draw(&mut self) -> DetectionFault {
        let n = self.detectors.count_ones();
        let pick = |rng: &mut Rng, set: u32| -> u8 {
            let k = rng.next_u64() % u64::from(set.count_ones().max(1));
            let mut seen = 0;
            for i in 0..MAX_DETECTORS as u8 {
                if set & (1 << i) != 0 {
                    if seen == k {
                        return i;
                    }
                    seen += 1;
                }
            }
            0
        };
        match (self.rng.next_u64() % 5, n) {
            (0, _) | (2..=4, 0) => DetectionFault::CameraStall,
            (1, _) => DetectionFault::CameraErrors,
            (2, _) => DetectionFault::StuckOn(pick(&mut self.rng, self.detectors)),
            (3, _) => DetectionFault::StuckOff(pick(&mut self.rng, self.detectors)),
            _ => DetectionFault::Chatter(pick(&mut self.rng, self.detectors)),
        }
    }

    /// The fault active now, if any.
    pub fn active(&self) -> Option<DetectionFault> {
        self.active.map(|(f, _)| f)
    }

    /// Ends the active fault and starts the next one when their time has come (call once per poll,
    /// before [`FaultySource::corrupt`]).
    pub fn schedule(&mut self, now: Instant) {
        if let Some((f, until)) = self.active {
            if now.0 >= until {
                log::info!("fault injection: {f} ends at {:.1} s", now.0 as f64 / 1000.0);
                self.active = None;
                self.next_at_ms = now.0 + between(&mut self.rng, GAP_MS);
            }
        }
        if self.active.is_none() && now.0 >= self.next_at_ms {
            let f = self.draw();
            let len = between(&mut self.rng, LENGTH_MS);
            log::info!(
                "fault injection: {f} from {:.1} s for {:.1} s",
                now.0 as f64 / 1000.0,
                len as f64 / 1000.0
            );
            self.active = Some((f, now.0 + len));
            self.injected += 1;
        }
    }

    /// The inner source's snapshot of this poll as the active fault makes it look.
    pub fn corrupt(&mut self, mut det: DetectorSnapshot) -> DetectorSnapshot {
        self.flip = !self.flip;
        match self.active() {
            None => {}
            Some(DetectionFault::CameraStall) => return self.last,
            Some(DetectionFault::CameraErrors) if self.flip => return self.last,
            Some(DetectionFault::CameraErrors) => {}
            Some(DetectionFault::StuckOn(d)) => det.presence.set(usize::from(d), true),
            Some(DetectionFault::StuckOff(d)) => {
                det.presence.set(usize::from(d), false);
                if let (Some(c), Some(prev)) =
                    (det.counts.get_mut(usize::from(d)), self.last.counts.get(usize::from(d)))
                {
                    *c = *prev;
                }
            }
            Some(DetectionFault::Chatter(d)) => {
                let i = usize::from(d);
                det.presence.set(i, self.flip);
                if self.flip {
                    if let Some(c) = det.counts.get_mut(i) {
                        *c = c.wrapping_add(1);
                    }
                }
            }
        }
        self.last = det;
        det
    }
}

impl<S: Source> Source for FaultySource<S> {
    fn poll(&mut self, now: Instant) -> DetectorSnapshot {
        self.schedule(now);
        let det = self.inner.poll(now);
        self.corrupt(det)
    }
}

/// Relays that, at most once in a run of `duration_ms`, weld one lamp on (read-back mismatch).
/// Time is counted in writes: the loop writes one frame per tick.
pub struct FaultyRelays<R: Relays> {
    pub inner: FaultInjector<R>,
    tick_ms: u64,
    writes: u64,
    weld: Option<(u64, usize)>,
    /// Faults started so far (0 or 1).
    pub injected: u64,
}

impl<R: Relays> FaultyRelays<R> {
    /// One weld with probability 1/3, in the last 40 % of the run (the monitor then latches flash
    /// for the rest of it, so detection faults get the time before).
    pub fn new(inner: R, seed: u64, duration_ms: u64, tick_ms: u64, phases: u16) -> Self {
        let mut rng = Rng::new(seed ^ 0x000E_1A75);
        let weld = (rng.next_u64().is_multiple_of(3) && phases != 0).then(|| {
            let at = duration_ms * 6 / 10 + rng.next_u64() % (duration_ms * 4 / 10).max(1);
            let n = u64::from(phases.count_ones());
            let k = rng.next_u64() % n;
            let phase = (0..MAX_PHASES)
                .filter(|i| phases & (1 << i) != 0)
                .nth(k as usize)
                .unwrap_or(0);
            (at, phase)
        });
        FaultyRelays {
            inner: FaultInjector {
                inner,
                fault: RelayFault::None,
            },
            tick_ms: tick_ms.max(1),
            writes: 0,
            weld,
            injected: 0,
        }
    }
}

impl<R: Relays> Relays for FaultyRelays<R> {
    fn write(&mut self, frame: &OutputFrame) -> Result<(), HalError> {
        let now_ms = self.writes * self.tick_ms;
        self.writes += 1;
        if let Some((at, phase)) = self.weld {
            if now_ms >= at && self.inner.fault == RelayFault::None {
                log::info!(
                    "fault injection: phase {} yellow relay welded on at {:.1} s (read-back mismatch)",
                    phase + 1,
                    now_ms as f64 / 1000.0
                );
                self.inner.fault = RelayFault::StuckOn {
                    phase,
                    bits: lamp::YELLOW,
                };
                self.injected += 1;
            }
        }
        self.inner.write(frame)
    }
    fn read_back(&mut self) -> Result<OutputFrame, HalError> {
        self.inner.read_back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::sim::SimRelays;

    struct Steady;
    impl Source for Steady {
        fn poll(&mut self, now: Instant) -> DetectorSnapshot {
            let mut d = DetectorSnapshot::EMPTY;
            d.at = now;
            d
        }
    }

    #[test]
    fn same_seed_same_faults_and_stall_goes_stale() {
        let run = |seed| {
            let mut s = FaultySource::new(Steady, seed, 0b1111);
            let mut log = Vec::new();
            let mut stale = 0;
            for k in 0..36_000u64 {
                let now = Instant(k * 100);
                let d = s.poll(now);
                if d.at != now {
                    stale += 1;
                }
                log.push(s.active());
            }
            (log, s.injected, stale)
        };
        let (a, na, stale) = run(7);
        assert_eq!(a, run(7).0);
        assert!(na >= 5, "an hour holds several faults, got {na}");
        assert!(stale > 0);
        assert_ne!(a, run(8).0);
    }

    #[test]
    fn weld_shows_in_read_back_only() {
        let seed = (0..100).find(|s| {
            FaultyRelays::new(SimRelays::default(), *s, 10_000, 100, 0xff)
                .weld
                .is_some()
        });
        let mut r = FaultyRelays::new(SimRelays::default(), seed.unwrap(), 10_000, 100, 0xff);
        let mut mismatch = false;
        for _ in 0..100 {
            r.write(&OutputFrame::ALL_RED).unwrap();
            mismatch |= r.read_back().unwrap() != OutputFrame::ALL_RED;
        }
        assert!(mismatch && r.injected == 1);
        assert_eq!(r.inner.inner.last, OutputFrame::ALL_RED);
    }
}
