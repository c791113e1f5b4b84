//! The flows of the last hour of trusted detection: the fixed-time plan's memory.
//!
//! The learned flows follow the last few trusted cycles (exponential smoothing). That is the right
//! picture of the traffic *now* for the planners that react every cycle, but a fixed-time plan has
//! to carry the traffic that comes after it too, and three cycles of counts are noisy: a Webster
//! plan designed on them takes every random burst for demand (a left turn counted at 341 veh/h
//! where 227 veh/h arrived), and when detection is lost in a lull, a cycle planned on the lull
//! overflows as soon as the demand rises again. A cycle that is too short costs far more delay
//! than one that is a little long (Webster's delay grows without bound as the degree of saturation
//! nears 1, and only linearly with the cycle).
//!
//! So the fixed-time plan is designed the way HCM 6th ed. ch. 19 sizes a signal, on 15-minute flow
//! rates: per phase, the larger of the **last hour's** flow and the flow of the **most recent
//! quarter hour** (the bin being filled once it covers [`RECENT_MS`], else the last completed
//! bin) — the hour keeps a lull from shortening the cycle, the quarter hour lets a rising peak
//! lengthen it ([`HourFlows::design`]). Until the first bin completes, the learned flows are all
//! there is, and they are used.
//!
//! The history counts vehicles per phase over bins of [`BIN_MS`] of *trusted* time (a cycle with
//! untrusted detection adds nothing, so a dead camera cannot age the memory) and keeps the last
//! [`BINS`] completed bins, so the hour rolls on in quarter-hour steps.
//!
//! Fixed size, no allocation; O(phases × bins) per cycle.

use crate::limits::MAX_PHASES;
use serde::{Deserialize, Serialize};

/// Trusted time per bin: 15 minutes (the HCM analysis period).
pub const BIN_MS: u32 = 15 * 60 * 1000;
/// Completed bins kept: one hour.
pub const BINS: usize = 4;
/// Trusted time after which the bin being filled stands for the most recent quarter hour.
pub const RECENT_MS: u32 = 5 * 60 * 1000;

/// Vehicles counted per phase over one bin of trusted time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bin {
    pub counts: [u32; MAX_PHASES],
    /// Trusted time the counts cover, ms.
    pub ms: u32,
}

impl Bin {
    /// Flow rate of phase index `i` over the bin, veh/h (0 for an empty bin).
    pub fn rate_vph(&self, i: usize) -> f32 {
        if self.ms == 0 {
            return 0.0;
        }
        self.counts.get(i).copied().unwrap_or(0) as f32 * 3_600_000.0 / self.ms as f32
    }
}

/// Kept across reboots in its own state file (`events::persist`): the Webster fail-safe after a
/// reboot is designed on no less than the hour's flows.
impl crate::events::persist::Record for HourFlows {
    const KIND: u16 = 5;
    const FILE: &'static str = "hourflows.bin";
}

/// Why a restored history was refused.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HourError {
    /// Bins that cannot have been written by [`HourFlows::record`] ([`HourFlows::is_consistent`]).
    Inconsistent,
    /// A bin's rate cannot be traffic.
    Flow(super::webster::FlowError),
}

impl core::fmt::Display for HourError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HourError::Inconsistent => write!(
                f,
                "the 15-minute bins are not consistent (more than {BINS}, or a bin not covering {} min)",
                BIN_MS / 60_000
            ),
            HourError::Flow(e) => write!(f, "the hour's flows: {e}"),
        }
    }
}

/// The last hour of trusted counts in 15-minute bins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourFlows {
    /// Completed bins, oldest first; `done` of them are valid.
    pub bins: [Bin; BINS],
    pub done: u8,
    /// The bin being filled.
    pub current: Bin,
}

impl HourFlows {
    /// Adds one trusted cycle's counts; the bin completes once it covers [`BIN_MS`].
    pub fn record(&mut self, counts: &[u32; MAX_PHASES], cycle_ms: u32) {
        for (c, n) in self.current.counts.iter_mut().zip(counts.iter()) {
            *c = c.saturating_add(*n);
        }
        self.current.ms = self.current.ms.saturating_add(cycle_ms);
        if self.current.ms < BIN_MS {
            return;
        }
        let done = usize::from(self.done).min(BINS);
        if done == BINS {
            self.bins.rotate_left(1);
            if let Some(last) = self.bins.last_mut() {
                *last = self.current;
            }
        } else if let Some(slot) = self.bins.get_mut(done) {
            *slot = self.current;
            self.done = (done + 1) as u8;
        }
        self.current = Bin::default();
    }

    /// The completed bins, oldest first.
    pub fn completed(&self) -> &[Bin] {
        self.bins.get(..usize::from(self.done).min(BINS)).unwrap_or(&[])
    }

    /// Flow per phase index over the completed bins (the last hour), veh/h (0 before any bin
    /// completed).
    pub fn hour_vph(&self) -> [f32; MAX_PHASES] {
        let mut total = Bin::default();
        for b in self.completed() {
            for (t, c) in total.counts.iter_mut().zip(b.counts.iter()) {
                *t = t.saturating_add(*c);
            }
            total.ms = total.ms.saturating_add(b.ms);
        }
        let mut f = [0.0f32; MAX_PHASES];
        for (i, x) in f.iter_mut().enumerate() {
            *x = total.rate_vph(i);
        }
        f
    }

    /// The most recent quarter hour: the bin being filled once it covers [`RECENT_MS`], else the
    /// last completed bin (none before the first bin completes).
    pub fn recent(&self) -> Option<&Bin> {
        let last = self.completed().last()?;
        Some(if self.current.ms >= RECENT_MS {
            &self.current
        } else {
            last
        })
    }

    /// The flows a fixed-time plan is designed on: per phase, the larger of the flow of the last
    /// hour and that of the most recent quarter hour; the learned flows until a bin completes.
    pub fn design(&self, learned_vph: &[f32; MAX_PHASES]) -> [f32; MAX_PHASES] {
        let Some(recent) = self.recent() else {
            return *learned_vph;
        };
        let mut f = self.hour_vph();
        for (i, d) in f.iter_mut().enumerate() {
            let r = recent.rate_vph(i);
            if r > *d {
                *d = r;
            }
        }
        f
    }

    /// Whether a restored history is consistent: at most [`BINS`] completed bins, each covering at
    /// least [`BIN_MS`] (and at most a day, so a rate cannot come from a corrupt near-zero time),
    /// the current bin shorter than [`BIN_MS`].
    pub fn is_consistent(&self) -> bool {
        usize::from(self.done) <= BINS
            && self.completed().iter().all(|b| (BIN_MS..=86_400_000).contains(&b.ms))
            && self.current.ms < BIN_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(v: u32) -> [u32; MAX_PHASES] {
        let mut c = [0; MAX_PHASES];
        c[1] = v;
        c
    }

    /// 60 s cycles: 15 cycles make a bin. The hour's flow averages the completed bins; the plan
    /// never goes below it nor below the most recent quarter hour, and only the last hour is kept.
    #[test]
    fn the_plan_never_goes_below_the_last_hours_flow() {
        let mut h = HourFlows::default();
        // 10 veh per minute = 600 veh/h for 14 minutes: no bin complete yet, the learned flows
        // are all there is.
        for _ in 0..14 {
            h.record(&counts(10), 60_000);
        }
        assert_eq!(h.hour_vph()[1], 0.0);
        assert!(h.recent().is_none());
        assert_eq!(h.design(&counts_f(300.0))[1], 300.0);
        h.record(&counts(10), 60_000);
        assert_eq!(h.completed().len(), 1);
        assert!((h.hour_vph()[1] - 600.0).abs() < 0.01);
        // Once a bin has completed, a burst in the last few cycles (the learned flow) no longer
        // sizes the plan: the quarter hours do.
        assert!((h.design(&counts_f(1_000.0))[1] - 600.0).abs() < 0.01);
        // A busier quarter (15 veh/min = 900 veh/h): 4 minutes into it the last completed bin is
        // still the recent one, from 5 minutes on the busy bin being filled is.
        for _ in 0..4 {
            h.record(&counts(15), 60_000);
        }
        assert!((h.design(&counts_f(0.0))[1] - 600.0).abs() < 0.01);
        h.record(&counts(15), 60_000);
        assert!((h.design(&counts_f(0.0))[1] - 900.0).abs() < 0.01);
        for _ in 0..10 {
            h.record(&counts(15), 60_000);
        }
        // Then a lull (5 veh/min = 300 veh/h).
        for _ in 0..15 {
            h.record(&counts(5), 60_000);
        }
        assert!((h.hour_vph()[1] - 600.0).abs() < 0.01);
        // The lull's quarter hour (300) does not size the plan; the hour does.
        assert!((h.design(&counts_f(300.0))[1] - 600.0).abs() < 0.01);
        // Three more quiet quarters push the busy ones out of the hour.
        for _ in 0..45 {
            h.record(&counts(5), 60_000);
        }
        assert_eq!(h.completed().len(), BINS);
        assert!((h.hour_vph()[1] - 300.0).abs() < 0.01);
        assert!(h.is_consistent());
    }

    fn counts_f(v: f32) -> [f32; MAX_PHASES] {
        let mut c = [0.0; MAX_PHASES];
        c[1] = v;
        c
    }

    #[test]
    fn inconsistent_histories_are_recognised() {
        let mut h = HourFlows::default();
        assert!(h.is_consistent());
        h.done = 5;
        assert!(!h.is_consistent());
        h.done = 1;
        h.bins[0].ms = 10; // a rate from 10 ms could be anything
        assert!(!h.is_consistent());
        h.bins[0].ms = BIN_MS;
        h.current.ms = BIN_MS;
        assert!(!h.is_consistent());
        h.current.ms = 0;
        assert!(h.is_consistent());
    }
}
