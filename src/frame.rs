//! The output frame: every lamp of the cabinet for one tick.
//!
//! This exact value is what the conflict monitor checks and what the relay driver writes, so the two
//! can never disagree about what the street saw. One byte per vehicle head (red, yellow, green bits,
//! and the flashing-yellow-arrow section of a protected/permissive left-turn head) and one per
//! pedestrian head (walk, don't walk bits); `Copy`, 16 bytes.

use crate::limits::MAX_PHASES;
use crate::phase::PhaseId;

/// Lamp bits of one vehicle signal head.
pub mod lamp {
    pub const RED: u8 = 1;
    pub const YELLOW: u8 = 2;
    pub const GREEN: u8 = 4;
    /// Flashing yellow arrow, lit half (MUTCD 4D.18-4D.20: permissive left turn, yield to
    /// oncoming traffic and pedestrians). Its own section of a four-section head.
    pub const FYA_LIT: u8 = 8;
    /// Flashing yellow arrow, dark half: no lamp is lit but the head is not dark — it is flashing.
    /// Not an output line; it tells the monitor and the relay read-back what the head is doing.
    pub const FYA_DARK: u8 = 16;
}

/// Lamp bits of one pedestrian signal head (MUTCD 4E: WALKING PERSON and UPRAISED HAND).
pub mod ped_lamp {
    pub const WALK: u8 = 1;
    pub const DONT_WALK: u8 = 2;
}

/// What a vehicle head shows, decoded from its lamp bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aspect {
    Red,
    Yellow,
    Green,
    /// Flashing yellow arrow: permissive left turn (either half of the flash).
    FlashingYellow,
    /// No lamp lit (a flashing head in its off half, or a failed head).
    Dark,
    /// More than one lamp lit: a dual indication, always a fault.
    Dual,
}

/// All lamps for one tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutputFrame {
    /// Per phase index: [`lamp`] bits.
    pub veh: [u8; MAX_PHASES],
    /// Per phase index: [`ped_lamp`] bits of the crossing served with that phase.
    pub ped: [u8; MAX_PHASES],
}

impl OutputFrame {
    /// Every vehicle head red, every pedestrian head solid don't walk.
    pub const ALL_RED: OutputFrame = OutputFrame {
        veh: [lamp::RED; MAX_PHASES],
        ped: [ped_lamp::DONT_WALK; MAX_PHASES],
    };
    /// Every lamp off (de-energised cabinet; the flash-transfer relay then flashes the heads).
    pub const DARK: OutputFrame = OutputFrame {
        veh: [0; MAX_PHASES],
        ped: [0; MAX_PHASES],
    };

    pub fn aspect(&self, p: PhaseId) -> Aspect {
        match self.veh[p.index()] {
            lamp::RED => Aspect::Red,
            lamp::YELLOW => Aspect::Yellow,
            lamp::GREEN => Aspect::Green,
            lamp::FYA_LIT | lamp::FYA_DARK => Aspect::FlashingYellow,
            0 => Aspect::Dark,
            _ => Aspect::Dual,
        }
    }

    pub fn set_aspect(&mut self, p: PhaseId, a: Aspect) {
        self.veh[p.index()] = match a {
            Aspect::Red => lamp::RED,
            Aspect::Yellow => lamp::YELLOW,
            Aspect::Green => lamp::GREEN,
            Aspect::FlashingYellow => lamp::FYA_LIT,
            Aspect::Dark => 0,
            Aspect::Dual => lamp::RED | lamp::GREEN,
        };
    }

    pub fn walk(&self, p: PhaseId) -> bool {
        self.ped[p.index()] & ped_lamp::WALK != 0
    }

    /// A phase whose head shows green, yellow or a flashing yellow arrow: vehicles may be in the
    /// intersection under it.
    pub fn veh_moving(&self, p: PhaseId) -> bool {
        self.veh[p.index()] & (lamp::GREEN | lamp::YELLOW | lamp::FYA_LIT | lamp::FYA_DARK) != 0
    }

    /// Compact text form for logs and fault records: per phase `R`, `Y`, `G`, `f` (flashing yellow
    /// arrow), `-` (dark), `!` (dual), then `|` and per crossing `W`, `D`, `-`, `!`.
    pub fn write_compact(&self, out: &mut impl core::fmt::Write) -> core::fmt::Result {
        for p in PhaseId::all() {
            out.write_char(match self.aspect(p) {
                Aspect::Red => 'R',
                Aspect::Yellow => 'Y',
                Aspect::Green => 'G',
                Aspect::FlashingYellow => 'f',
                Aspect::Dark => '-',
                Aspect::Dual => '!',
            })?;
        }
        out.write_char('|')?;
        for b in self.ped {
            out.write_char(match b {
                ped_lamp::WALK => 'W',
                ped_lamp::DONT_WALK => 'D',
                0 => '-',
                _ => '!',
            })?;
        }
        Ok(())
    }
}

impl core::fmt::Display for OutputFrame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.write_compact(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_form() {
        let mut f = OutputFrame::ALL_RED;
        f.set_aspect(PhaseId::new(2).unwrap(), Aspect::Green);
        f.ped[1] = ped_lamp::WALK;
        f.veh[3] = lamp::RED | lamp::YELLOW;
        assert_eq!(f.to_string(), "RGR!RRRR|DWDDDDDD");
        assert_eq!(f.aspect(PhaseId::new(4).unwrap()), Aspect::Dual);
        f.veh[3] = lamp::FYA_DARK;
        assert_eq!(f.aspect(PhaseId::new(4).unwrap()), Aspect::FlashingYellow);
        assert!(f.veh_moving(PhaseId::new(4).unwrap()));
        f.veh[3] = lamp::FYA_LIT | lamp::RED;
        assert_eq!(f.aspect(PhaseId::new(4).unwrap()), Aspect::Dual);
    }
}
