//! Why a plan is not Webster's: the record of where the demand did not fit the site's limits
//! (cycle above cycle_max, oversaturation, a split above max green, minima beyond cycle_max), and
//! its one-line explanation for the console and the log.

use super::Y_OVERSATURATED;
use crate::limits::MAX_PHASES;

/// Why a plan is not Webster's: the demand does not fit the site's limits. The plan still keeps
/// every green within [min green (with pedestrian service), max green] and the cycle within
/// [cycle_min, cycle_max] unless the minima alone exceed cycle_max (`minima_ms`). All in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapReason {
    /// The cycle the demand asked for when above cycle_max (Webster's C0, or the cycle the
    /// minimum greens lengthened it to); `u32::MAX` when oversaturated (no finite C0); 0 when the
    /// cycle was not capped.
    pub cycle_wanted_ms: u32,
    /// The site's cycle_max the cycle was capped to.
    pub cycle_max_ms: u32,
    /// Per phase index: the green Webster's split asked for, where it exceeded max green (else 0).
    pub green_wanted_ms: [u32; MAX_PHASES],
    /// Per phase index: the max green it was capped to (else 0).
    pub green_max_ms: [u32; MAX_PHASES],
    /// Per phase index: the cap was the phase's dynamic max limit (NTCIP 1202
    /// `phaseDynamicMaxLimit`) rather than its max green.
    pub green_cap_dynamic: [bool; MAX_PHASES],
    /// Minimum greens, pedestrian service and change intervals alone need this cycle, above
    /// cycle_max (0 when they fit). The minima win: they are never cut short.
    pub minima_ms: u32,
}

impl CapReason {
    pub(super) const NONE: CapReason = CapReason {
        cycle_wanted_ms: 0,
        cycle_max_ms: 0,
        green_wanted_ms: [0; MAX_PHASES],
        green_max_ms: [0; MAX_PHASES],
        green_cap_dynamic: [false; MAX_PHASES],
        minima_ms: 0,
    };

    pub(super) fn any(&self) -> bool {
        self.cycle_wanted_ms > 0 || self.minima_ms > 0 || self.green_wanted_ms.iter().any(|g| *g > 0)
    }
}

/// Seconds with one decimal from milliseconds, without floating point.
struct Tenths(u32);

impl core::fmt::Display for Tenths {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let t = self.0.saturating_add(50) / 100;
        if t.is_multiple_of(10) {
            write!(f, "{}", t / 10)
        } else {
            write!(f, "{}.{}", t / 10, t % 10)
        }
    }
}

impl core::fmt::Display for CapReason {
    /// e.g. `demand does not fit: Webster cycle 142.7 s capped to 120 s; phase 2 green 54.1 s
    /// capped to 45 s (max green)`; a phase with a dynamic max says `(dynamic max limit)`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("demand does not fit:")?;
        let mut sep = " ";
        if self.cycle_wanted_ms == u32::MAX {
            write!(
                f,
                "{sep}oversaturated (Y >= {Y_OVERSATURATED}), Webster cycle unbounded, capped to {} s",
                Tenths(self.cycle_max_ms)
            )?;
            sep = "; ";
        } else if self.cycle_wanted_ms > 0 {
            write!(
                f,
                "{sep}Webster cycle {} s capped to {} s",
                Tenths(self.cycle_wanted_ms),
                Tenths(self.cycle_max_ms)
            )?;
            sep = "; ";
        }
        let caps = self.green_wanted_ms.iter().zip(self.green_max_ms.iter());
        for (i, ((w, m), dynamic)) in caps.zip(self.green_cap_dynamic.iter()).enumerate() {
            if *w > 0 {
                let limit = if *dynamic { "dynamic max limit" } else { "max green" };
                write!(
                    f,
                    "{sep}phase {} green {} s capped to {} s ({limit})",
                    i + 1,
                    Tenths(*w),
                    Tenths(*m)
                )?;
                sep = "; ";
            }
        }
        if self.minima_ms > 0 {
            write!(
                f,
                "{sep}minimum greens and clearances need a {} s cycle (kept: minima are never cut)",
                Tenths(self.minima_ms)
            )?;
        }
        Ok(())
    }
}
