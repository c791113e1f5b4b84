//! Watchdog supervisor: decides, each tick, whether the hardware watchdog may be kicked.
//!
//! Rule (DESIGN.md 5.5): kick only when the control loop met its deadline **and** every supervised
//! subsystem — camera capture, detector, relay outputs — reported within its own deadline. Anything
//! else withholds the kick; if that lasts for the watchdog timeout the board resets and the
//! de-energised flash-transfer relay flashes the intersection. A watchdog that is kicked by a
//! thread that is merely alive would hide a hung camera or a stuck relay driver; this one is kicked
//! only for a whole, healthy controller.
//!
//! A report means the subsystem's loop is turning — a capture thread that reports "no frame, device
//! gone" still reports. Bad or missing *data* degrades to the Webster plan (DESIGN.md 5.6) without a
//! reset; only a hung or dead thread, a late control loop or relays that fail their read-back stop
//! the kicks.
//!
//! The decision is pure ([`Supervisor::decide`]: time is an argument). Threads report through
//! [`Heartbeat`]s (one atomic each, lock-free); [`SupervisedWatchdog`] wraps any [`Watchdog`] so
//! the control loop's `kick` goes through the decision, and [`HeartbeatRelays`] wraps the relays
//! so each verified write reports. Cost: a few loads and compares per tick; no allocation.

use crate::hal::{Clock, HalError, Relays, Watchdog};
use crate::signal::frame::OutputFrame;
use crate::time::Instant;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Supervised subsystems.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subsystem {
    Camera = 0,
    Detector = 1,
    Relays = 2,
}

pub const SUBSYSTEMS: usize = 3;

impl Subsystem {
    pub const ALL: [Subsystem; SUBSYSTEMS] = [Subsystem::Camera, Subsystem::Detector, Subsystem::Relays];

    pub const fn name(self) -> &'static str {
        match self {
            Subsystem::Camera => "camera",
            Subsystem::Detector => "detector",
            Subsystem::Relays => "relays",
        }
    }
}

/// Why a kick was withheld.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Withhold {
    /// The control loop missed its deadline.
    LoopLate,
    /// A subsystem has not reported for `silent_ms` (longer than its deadline); `never` if it has
    /// not reported since start-up.
    Silent {
        subsystem: Subsystem,
        silent_ms: u64,
        never: bool,
    },
}

impl core::fmt::Display for Withhold {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Withhold::LoopLate => f.write_str("control loop missed its deadline"),
            Withhold::Silent {
                subsystem,
                silent_ms,
                never: false,
            } => write!(f, "{} silent for {silent_ms} ms", subsystem.name()),
            Withhold::Silent { subsystem, .. } => write!(f, "{} has not reported since start-up", subsystem.name()),
        }
    }
}

/// The kick decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Kick,
    Withhold(Withhold),
}

/// Per-subsystem deadlines and last reports.
#[derive(Clone, Copy, Debug)]
pub struct Supervisor {
    /// `None`: not supervised (absent on this build or board, e.g. no camera in simulation).
    deadline_ms: [Option<u32>; SUBSYSTEMS],
    last: [Option<Instant>; SUBSYSTEMS],
    started: Instant,
    /// Kicks withheld since start-up.
    pub withheld: u64,
    /// The most recent reason a kick was withheld.
    pub last_withhold: Option<Withhold>,
}

impl Supervisor {
    /// `deadline_ms[s]`: longest silence allowed from subsystem `s` (index = `Subsystem as usize`).
    /// A subsystem that never reports gets the same grace from `started`.
    pub fn new(started: Instant, deadline_ms: [Option<u32>; SUBSYSTEMS]) -> Supervisor {
        Supervisor {
            deadline_ms,
            last: [None; SUBSYSTEMS],
            started,
            withheld: 0,
            last_withhold: None,
        }
    }

    /// A subsystem reports it completed its work at `at`.
    pub fn report(&mut self, s: Subsystem, at: Instant) {
        if let Some(slot) = self.last.get_mut(s as usize) {
            if slot.is_none_or(|prev| at > prev) {
                *slot = Some(at);
            }
        }
    }

    /// Kick or not, at `now`. `loop_on_time`: the control loop met its last deadline.
    pub fn decide(&mut self, now: Instant, loop_on_time: bool) -> Verdict {
        let v = self.verdict(now, loop_on_time);
        if let Verdict::Withhold(w) = v {
            self.withheld = self.withheld.saturating_add(1);
            self.last_withhold = Some(w);
        }
        v
    }

    fn verdict(&self, now: Instant, loop_on_time: bool) -> Verdict {
        if !loop_on_time {
            return Verdict::Withhold(Withhold::LoopLate);
        }
        for s in Subsystem::ALL {
            let i = s as usize;
            let Some(Some(deadline)) = self.deadline_ms.get(i).copied() else {
                continue;
            };
            let last = self.last.get(i).copied().flatten();
            let silent_ms = now.since(last.unwrap_or(self.started));
            if silent_ms > u64::from(deadline) {
                return Verdict::Withhold(Withhold::Silent {
                    subsystem: s,
                    silent_ms,
                    never: last.is_none(),
                });
            }
        }
        Verdict::Kick
    }
}

/// A subsystem's report channel: the time (ms + 1; 0 = never) of its last completed unit of work.
/// Clones share the same cell; `beat` is one relaxed store, safe from any thread.
#[derive(Clone, Debug, Default)]
pub struct Heartbeat(Arc<AtomicU64>);

impl Heartbeat {
    pub fn new() -> Heartbeat {
        Heartbeat::default()
    }
    pub fn beat(&self, at: Instant) {
        self.0.store(at.0.saturating_add(1), Ordering::Release);
    }
    pub fn last(&self) -> Option<Instant> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            v => Some(Instant(v - 1)),
        }
    }
}

/// A watchdog kicked only when the [`Supervisor`] agrees. The control loop calls `kick` after an
/// on-time tick; this wrapper then checks every heartbeat and withholds the kick (returning
/// `HalError::Unavailable`, so the loop does not count it) while any subsystem is silent.
pub struct SupervisedWatchdog<W: Watchdog, C: Clock> {
    pub inner: W,
    pub supervisor: Supervisor,
    beats: [Option<Heartbeat>; SUBSYSTEMS],
    clock: C,
}

impl<W: Watchdog, C: Clock> SupervisedWatchdog<W, C> {
    /// `beats[s]` reports subsystem `s`; a subsystem without a heartbeat must have no deadline.
    pub fn new(inner: W, supervisor: Supervisor, beats: [Option<Heartbeat>; SUBSYSTEMS], clock: C) -> Self {
        SupervisedWatchdog {
            inner,
            supervisor,
            beats,
            clock,
        }
    }
}

impl<W: Watchdog, C: Clock> Watchdog for SupervisedWatchdog<W, C> {
    fn kick(&mut self) -> Result<(), HalError> {
        let now = self.clock.now();
        for (s, b) in Subsystem::ALL.iter().zip(self.beats.iter()) {
            if let Some(at) = b.as_ref().and_then(Heartbeat::last) {
                self.supervisor.report(*s, at);
            }
        }
        match self.supervisor.decide(now, true) {
            Verdict::Kick => self.inner.kick(),
            Verdict::Withhold(_) => Err(HalError::Unavailable),
        }
    }
    fn disarm(&mut self) -> Result<(), HalError> {
        self.inner.disarm()
    }
}

/// Relays that beat a heartbeat after every write whose read-back matched.
pub struct HeartbeatRelays<R: Relays, C: Clock> {
    pub inner: R,
    beat: Heartbeat,
    clock: C,
}

impl<R: Relays, C: Clock> HeartbeatRelays<R, C> {
    pub fn new(inner: R, beat: Heartbeat, clock: C) -> Self {
        HeartbeatRelays { inner, beat, clock }
    }
}

impl<R: Relays, C: Clock> Relays for HeartbeatRelays<R, C> {
    fn write(&mut self, frame: &OutputFrame) -> Result<(), HalError> {
        self.inner.write(frame)
    }
    fn read_back(&mut self) -> Result<OutputFrame, HalError> {
        let r = self.inner.read_back();
        if r.is_ok() {
            self.beat.beat(self.clock.now());
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::sim::{ManualClock, SimRelays, SimWatchdog};

    const DEADLINES: [Option<u32>; SUBSYSTEMS] = [Some(500), Some(1000), Some(300)];

    fn all_report(s: &mut Supervisor, at: u64) {
        for x in Subsystem::ALL {
            s.report(x, Instant(at));
        }
    }

    #[test]
    fn kicks_only_when_loop_and_every_subsystem_are_on_time() {
        let mut s = Supervisor::new(Instant(0), DEADLINES);
        all_report(&mut s, 100);
        assert_eq!(s.decide(Instant(200), true), Verdict::Kick);
        assert_eq!(s.decide(Instant(200), false), Verdict::Withhold(Withhold::LoopLate));
        // Relays last reported at 100, deadline 300: at 401 they are late.
        assert_eq!(s.decide(Instant(400), true), Verdict::Kick);
        assert_eq!(
            s.decide(Instant(401), true),
            Verdict::Withhold(Withhold::Silent {
                subsystem: Subsystem::Relays,
                silent_ms: 301,
                never: false
            })
        );
        s.report(Subsystem::Relays, Instant(401));
        // Camera (deadline 500) is next to go silent; the detector still has time.
        assert!(matches!(
            s.decide(Instant(601), true),
            Verdict::Withhold(Withhold::Silent {
                subsystem: Subsystem::Camera,
                ..
            })
        ));
        assert_eq!(s.withheld, 3);
        assert!(s
            .last_withhold
            .unwrap()
            .to_string()
            .contains("camera silent for 501 ms"));
    }

    #[test]
    fn never_reporting_is_caught_after_its_grace_and_absent_subsystems_are_ignored() {
        let mut s = Supervisor::new(Instant(1000), [None, None, Some(300)]);
        assert_eq!(s.decide(Instant(1300), true), Verdict::Kick, "grace from start-up");
        let v = s.decide(Instant(1301), true);
        assert!(
            matches!(v, Verdict::Withhold(Withhold::Silent { never: true, .. })),
            "{v:?}"
        );
        // A stale report (older than the newest) does not move time backwards.
        s.report(Subsystem::Relays, Instant(1300));
        s.report(Subsystem::Relays, Instant(1200));
        assert_eq!(s.decide(Instant(1600), true), Verdict::Kick);
    }

    #[test]
    fn wrappers_route_heartbeats_into_the_kick() {
        let clock = std::rc::Rc::new(ManualClock::new(Instant(0)));
        struct Rc(std::rc::Rc<ManualClock>);
        impl Clock for Rc {
            fn now(&self) -> Instant {
                self.0.now()
            }
        }
        let relay_beat = Heartbeat::new();
        let camera = Heartbeat::new();
        let mut relays = HeartbeatRelays::new(SimRelays::default(), relay_beat.clone(), Rc(clock.clone()));
        let sup = Supervisor::new(Instant(0), [Some(500), None, Some(300)]);
        let mut wd = SupervisedWatchdog::new(
            SimWatchdog::default(),
            sup,
            [Some(camera.clone()), None, Some(relay_beat.clone())],
            Rc(clock.clone()),
        );
        for t in (100..=2000).step_by(100) {
            clock.set(Instant(t));
            relays.write(&OutputFrame::ALL_RED).unwrap();
            relays.read_back().unwrap();
            if t < 1000 {
                camera.beat(Instant(t)); // the camera thread hangs at 1 s
            }
            let kicked = wd.kick().is_ok();
            assert_eq!(kicked, t <= 1400, "t={t}");
        }
        assert_eq!(wd.inner.kicks, 14);
        assert_eq!(relay_beat.last(), Some(Instant(2000)));
    }
}
