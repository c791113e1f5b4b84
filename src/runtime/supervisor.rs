//! Watchdog supervision: the hardware watchdog is kicked only while every part of the controller
//! reports on time (docs/safety.md 5).
//!
//! Each subsystem reports when it has done its work (the loop met its deadline, the relays were
//! written and read back, a fresh detection snapshot arrived). [`Supervisor::healthy`] is true only
//! if every enabled subsystem reported within its own deadline; otherwise the loop stops kicking and
//! the board resets into hardware flash. Pure and allocation-free.

use crate::time::Instant;

/// What is supervised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subsystem {
    /// The control loop ran its tick before its deadline.
    Loop = 0,
    /// Relays written and read back without error.
    Relays = 1,
    /// Detection delivered a fresh snapshot (camera / detector thread alive).
    Detection = 2,
}

pub const SUBSYSTEMS: usize = 3;

#[derive(Clone, Debug)]
pub struct Supervisor {
    deadline_ms: [u32; SUBSYSTEMS],
    enabled: [bool; SUBSYSTEMS],
    last_ok: [Option<Instant>; SUBSYSTEMS],
}

impl Supervisor {
    /// `tick_ms`: the loop period. The loop and relays must report every tick (with one tick of
    /// slack); detection within `detection_ms` (disabled when `None`: a board without cameras runs
    /// the Webster fail-safe and has nothing to supervise there).
    pub fn new(tick_ms: u32, detection_ms: Option<u32>) -> Supervisor {
        Supervisor {
            deadline_ms: [2 * tick_ms, 2 * tick_ms, detection_ms.unwrap_or(0)],
            enabled: [true, true, detection_ms.is_some()],
            last_ok: [None; SUBSYSTEMS],
        }
    }

    pub fn report(&mut self, s: Subsystem, now: Instant) {
        if let Some(t) = self.last_ok.get_mut(s as usize) {
            *t = Some(now);
        }
    }

    /// The first subsystem that is late, if any.
    pub fn late(&self, now: Instant) -> Option<Subsystem> {
        [Subsystem::Loop, Subsystem::Relays, Subsystem::Detection]
            .into_iter()
            .find(|s| {
                let i = *s as usize;
                let enabled = self.enabled.get(i).copied().unwrap_or(false);
                let deadline = u64::from(self.deadline_ms.get(i).copied().unwrap_or(0));
                enabled
                    && self
                        .last_ok
                        .get(i)
                        .copied()
                        .flatten()
                        .is_none_or(|t| now.since(t) > deadline)
            })
    }

    pub fn healthy(&self, now: Instant) -> bool {
        self.late(now).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kick_only_when_everyone_reports_in_time() {
        let mut s = Supervisor::new(100, Some(500));
        assert!(!s.healthy(Instant(0)), "nothing reported yet");
        s.report(Subsystem::Loop, Instant(0));
        s.report(Subsystem::Relays, Instant(0));
        assert_eq!(s.late(Instant(0)), Some(Subsystem::Detection));
        s.report(Subsystem::Detection, Instant(0));
        assert!(s.healthy(Instant(100)));
        // The camera thread hangs: after 500 ms no more kicks.
        s.report(Subsystem::Loop, Instant(600));
        s.report(Subsystem::Relays, Instant(600));
        assert_eq!(s.late(Instant(600)), Some(Subsystem::Detection));
        // A board without detection supervises loop and relays only.
        let mut s = Supervisor::new(100, None);
        s.report(Subsystem::Loop, Instant(0));
        s.report(Subsystem::Relays, Instant(0));
        assert!(s.healthy(Instant(200)));
        assert_eq!(s.late(Instant(201)), Some(Subsystem::Loop), "the loop stalled");
    }
}
