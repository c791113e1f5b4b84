//! The lamps of one tick: the [`OutputFrame`] the monitor checks and the relays show.
//!
//! Every configured vehicle head is red and every configured pedestrian head DON'T WALK unless its
//! ring times it: green or yellow, WALK or flashing DON'T WALK (1 Hz, lit first; MUTCD 4D.12 and
//! 4E.06). A left turn's flashing yellow arrow (1 Hz, lit first) or the steady yellow arrow that
//! ends it replaces its red. Cost: O(rings + phases) per tick, no allocation.

use crate::config::Site;
use crate::frame::{lamp, ped_lamp, OutputFrame};
use crate::phase::PhaseId;
use crate::time::Instant;

use super::{Engine, Interval, PedInterval, Permissive, FLASH_HALF_PERIOD_MS};

impl Engine {
    /// The lamps for this tick.
    pub(super) fn render(&self, site: &Site, now: Instant) -> OutputFrame {
        let mut f = OutputFrame::DARK;
        for ph in site.phases() {
            let i = ph.id.index();
            if let Some(v) = f.veh.get_mut(i) {
                *v = lamp::RED;
            }
            if ph.ped.is_some() {
                if let Some(v) = f.ped.get_mut(i) {
                    *v = ped_lamp::DONT_WALK;
                }
            }
        }
        for ring in self.rings.iter() {
            let Some(p) = ring.phase else { continue };
            let i = p.index();
            let bits = match ring.interval {
                Interval::Green => lamp::GREEN,
                Interval::Yellow => lamp::YELLOW,
                Interval::Idle | Interval::RedClear => lamp::RED,
            };
            if let Some(v) = f.veh.get_mut(i) {
                *v = bits;
            }
            if ring.interval == Interval::Green {
                let ped_bits = match ring.ped {
                    PedInterval::Walk => ped_lamp::WALK,
                    PedInterval::Clearance => {
                        if (now.since(ring.ped_since) / FLASH_HALF_PERIOD_MS).is_multiple_of(2) {
                            ped_lamp::DONT_WALK
                        } else {
                            0
                        }
                    }
                    PedInterval::DontWalk => ped_lamp::DONT_WALK,
                };
                if site.phase(p).is_some_and(|ph| ph.ped.is_some()) {
                    if let Some(v) = f.ped.get_mut(i) {
                        *v = ped_bits;
                    }
                }
            }
        }
        // Flashing yellow arrows: 1 Hz, lit first (MUTCD 4D.12 flashing rate); steady yellow arrow.
        for p in PhaseId::all() {
            let bits = match self.permissive_state(p) {
                Permissive::Flashing(t) if (now.since(t) / FLASH_HALF_PERIOD_MS).is_multiple_of(2) => lamp::FYA_LIT,
                Permissive::Flashing(_) => lamp::FYA_DARK,
                Permissive::Yellow(_) => lamp::YELLOW,
                Permissive::Off | Permissive::RedClear(_) => continue,
            };
            if let Some(v) = f.veh.get_mut(p.index()) {
                *v = bits;
            }
        }
        f
    }
}
