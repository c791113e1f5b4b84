//! The MMU compatibility card: what the cabinet permits, programmed apart from the timing file.
//!
//! A malfunction management unit (NEMA TS2 §6, the programming card; Caltrans CMU
//! datakey) holds its own list of channel pairs that may show green, yellow or WALK together, the
//! flashing-yellow-arrow channels and their opposing channels (MUTCD 4D.20), and per channel the
//! minimum yellow change and red clearance. The conflict monitor checks every frame against this
//! card alone, so a mistake in the site file (a typo in `barriers`) cannot also switch the check
//! off. Channel N is the vehicle head (and, for WALK, the pedestrian head) of phase N.
//!
//! The card is written in the board file's `[mmu]` section (`config::board::mmu`, the card's data);
//! [`check_board`] checks a board and a site against each other and builds the card. Tools without a cabinet
//! (the simulator, the SUMO bridge, tests) use [`MmuCard::from_geometry`], derived from each
//! phase's approach and movements (`config::geometry`), never from the rings and barriers.
//!
//! Fixed size and `Copy`; lookups are bit tests.

use crate::config::board::{Board, MmuCardData};
use crate::config::diag::ConfigError;
use crate::config::{geometry, Site};
use crate::phase::PhaseId;

/// The monitor's compatibility card: the board file's card data ([`MmuCardData`], read through
/// `Deref`) or one derived from the site's geometry ([`MmuCard::from_geometry`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmuCard(MmuCardData);

impl core::ops::Deref for MmuCard {
    type Target = MmuCardData;
    fn deref(&self) -> &MmuCardData {
        &self.0
    }
}

impl core::ops::DerefMut for MmuCard {
    fn deref_mut(&mut self) -> &mut MmuCardData {
        &mut self.0
    }
}

impl From<MmuCardData> for MmuCard {
    fn from(data: MmuCardData) -> MmuCard {
        MmuCard(data)
    }
}

/// Where a site does not fit a card (`MmuCard::check_site`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardMismatch {
    /// The site's rings and barriers let `a` and `b` run together (barrier group `group`, 1-based)
    /// but the card does not permit the pair.
    NotPermitted {
        a: PhaseId,
        b: PhaseId,
        group: usize,
    },
    /// Left turn `left` flashes a yellow arrow against `opposing`, which the card has no fya pair for.
    NoFya {
        left: PhaseId,
        opposing: PhaseId,
    },
    /// The card programs no minimum yellow / red clearance for a site phase.
    NoMinimum {
        phase: PhaseId,
        yellow: bool,
    },
    /// A site interval below the card's minimum.
    ShortYellow {
        phase: PhaseId,
        site_ms: u32,
        card_ms: u32,
    },
    ShortRedClear {
        phase: PhaseId,
        site_ms: u32,
        card_ms: u32,
    },
}

impl core::fmt::Display for CardMismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = |ms: u32| f64::from(ms) / 1000.0;
        match *self {
            CardMismatch::NotPermitted { a, b, group } => write!(
                f,
                "phases {a} and {b} may run together (barrier {group} of [structure]) but the [mmu] card does not permit channels {a}+{b}"
            ),
            CardMismatch::NoFya { left, opposing } => write!(
                f,
                "phase {left} has `permissive = {opposing}` (flashing yellow arrow) but the [mmu] card has no fya pair [{left}, {opposing}]"
            ),
            CardMismatch::NoMinimum { phase, yellow } => write!(
                f,
                "the [mmu] card programs no {} for channel {phase}",
                if yellow { "min_yellow_s" } else { "min_red_clear_s" }
            ),
            CardMismatch::ShortYellow { phase, site_ms, card_ms } => write!(
                f,
                "phase {phase} yellow {:.1} s is below the [mmu] card's minimum {:.1} s for channel {phase}",
                s(site_ms),
                s(card_ms)
            ),
            CardMismatch::ShortRedClear { phase, site_ms, card_ms } => write!(
                f,
                "phase {phase} red clearance {:.1} s is below the [mmu] card's minimum {:.1} s for channel {phase}",
                s(site_ms),
                s(card_ms)
            ),
        }
    }
}

impl CardMismatch {
    /// How to fix it.
    pub const fn fix(&self) -> &'static str {
        match self {
            CardMismatch::NotPermitted { .. } => {
                "correct the site's [structure] barriers/rings; only if the movements really may run together, add the pair to the card's `permitted` after review"
            }
            CardMismatch::NoFya { .. } => {
                "remove `permissive` from the site phase, or add the pair to the card's `fya` after review"
            }
            CardMismatch::NoMinimum { .. } => {
                "program the channel in min_yellow_s and min_red_clear_s (see `greenwave check --site S --print-card`)"
            }
            CardMismatch::ShortYellow { .. } | CardMismatch::ShortRedClear { .. } => {
                "lengthen the site's interval (yellow_s / red_clear_s) to at least the card's minimum"
            }
        }
    }
}

impl MmuCard {
    /// A card that permits nothing and programs no channel.
    pub const EMPTY: MmuCard = MmuCard(MmuCardData::EMPTY);

    /// The card a cabinet for `site` would carry, derived from the phases' approaches and
    /// movements: every pair whose movements neither cross nor merge (a yielding left excepted) is
    /// permitted; a site `permissive` becomes an fya pair where the geometry confirms a left turn
    /// against the through of the opposite leg; minima are the site's yellow and red clearance.
    /// The rings and barriers are not read.
    pub fn from_geometry(site: &Site) -> MmuCard {
        let mut card = MmuCard::EMPTY;
        for a in site.phases() {
            card.set_min_yellow_ms(a.id, a.yellow_ms);
            card.set_min_red_clear_ms(a.id, a.red_clear_ms);
            for b in site.phases().filter(|b| b.id.number() > a.id.number()) {
                if geometry::first_conflict(a.approach, b.approach, false, false).is_none() {
                    card.permit(a.id, b.id);
                }
            }
            if let Some(o) = a.permissive.and_then(|o| site.phase(o)) {
                let opposing_through = o.approach.leg == a.approach.leg.opposite()
                    && o.approach.movements.contains(geometry::Movement::Through);
                if a.approach.movements.contains(geometry::Movement::Left) && opposing_through {
                    card.set_fya(a.id, o.id);
                }
            }
        }
        card
    }

    /// Checks that the site never asks for what the card forbids: every pair the rings and
    /// barriers let run together is permitted, every flashing yellow arrow has its fya pair, and
    /// no yellow or red clearance is below the card's minimum.
    pub fn check_site(&self, site: &Site) -> Result<(), CardMismatch> {
        for a in site.phases() {
            for b in site.phases().filter(|b| b.id.number() > a.id.number()) {
                if !site.conflicts_with(a.id, b.id) && !self.permits(a.id, b.id) {
                    let group = site.group_of(a.id).map_or(0, |g| g + 1);
                    return Err(CardMismatch::NotPermitted {
                        a: a.id,
                        b: b.id,
                        group,
                    });
                }
            }
        }
        for p in site.phases() {
            if let Some(o) = p.permissive {
                if self.fya(p.id) != Some(o) {
                    return Err(CardMismatch::NoFya {
                        left: p.id,
                        opposing: o,
                    });
                }
            }
            let (y, r) = (self.min_yellow_ms(p.id), self.min_red_clear_ms(p.id));
            if y == 0 || r == 0 {
                return Err(CardMismatch::NoMinimum {
                    phase: p.id,
                    yellow: y == 0,
                });
            }
            if p.yellow_ms < y {
                return Err(CardMismatch::ShortYellow {
                    phase: p.id,
                    site_ms: p.yellow_ms,
                    card_ms: y,
                });
            }
            if p.red_clear_ms < r {
                return Err(CardMismatch::ShortRedClear {
                    phase: p.id,
                    site_ms: p.red_clear_ms,
                    card_ms: r,
                });
            }
        }
        Ok(())
    }
}

/// Checks a board against a site and returns the monitor's card: the wiring fits the site
/// ([`Board::check_heads`]), the board has an `[mmu]` card, and the site asks for nothing the card
/// forbids (concurrency its rings and barriers allow, flashing yellow arrows, yellow and red
/// clearance below the card's minima). `file` names the board file in errors.
pub fn check_board(board: &Board, site: &Site, file: &str) -> Result<MmuCard, ConfigError> {
    board.check_heads(site, file)?;
    let Some(data) = board.mmu else {
        return Err(ConfigError::whole(
            file,
            "mmu",
            format!(
                "board \"{}\" has no [mmu] compatibility card: the conflict monitor checks every frame against the cabinet's own list of channels that may run together, never against the site file",
                board.name
            ),
            "run `greenwave check --site SITE --print-card`, review the printed [mmu] section against the intersection drawing, and paste it into the board file",
        ));
    };
    let card = MmuCard::from(data);
    card.check_site(site).map_err(|e| {
        let field = match e {
            CardMismatch::NotPermitted { .. } => "mmu.permitted",
            CardMismatch::NoFya { .. } => "mmu.fya",
            CardMismatch::ShortYellow { .. } => "mmu.min_yellow_s",
            CardMismatch::NoMinimum { yellow: true, .. } => "mmu.min_yellow_s",
            _ => "mmu.min_red_clear_s",
        };
        ConfigError {
            file: file.into(),
            line: board.mmu_line,
            field: field.into(),
            message: format!("site \"{}\": {e} of board \"{}\"", site.name, board.name),
            fix: e.fix().into(),
        }
    })?;
    Ok(card)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn site() -> Site {
        Site::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/board/sites/nema8-4leg.toml"
        )))
        .unwrap()
    }

    fn p(n: u8) -> PhaseId {
        PhaseId::new(n).unwrap()
    }

    #[test]
    fn geometry_card_of_the_reference_site_is_the_dual_ring() {
        let card = MmuCard::from_geometry(&site());
        for a in 1..=8u8 {
            for b in 1..=8u8 {
                let expect = a != b
                    && [(1, 5), (1, 6), (2, 5), (2, 6), (3, 7), (3, 8), (4, 7), (4, 8)]
                        .iter()
                        .any(|&(x, y)| (x, y) == (a, b) || (y, x) == (a, b));
                assert_eq!(card.permits(p(a), p(b)), expect, "{a}+{b}");
            }
        }
        assert_eq!(card.fya(p(1)), Some(p(2)));
        assert_eq!(card.fya(p(7)), Some(p(8)));
        assert_eq!(card.fya(p(2)), None);
        assert_eq!(card.min_yellow_ms(p(2)), 3_300);
        assert_eq!(card.min_red_clear_ms(p(1)), 2_200);
        card.check_site(&site()).unwrap();
    }

    #[test]
    fn check_site_names_what_the_card_forbids() {
        let s = site();
        let mut card = MmuCard::from_geometry(&s);
        card.set_min_yellow_ms(p(4), 4_000);
        let e = card.check_site(&s).unwrap_err();
        assert_eq!(
            e,
            CardMismatch::ShortYellow {
                phase: p(4),
                site_ms: 3_300,
                card_ms: 4_000
            }
        );
        let geo = MmuCard::from_geometry(&s);
        let mut card = MmuCard::EMPTY;
        for a in PhaseId::all() {
            for b in geo.permitted(a).iter() {
                card.permit(a, b);
            }
            card.set_min_yellow_ms(a, geo.min_yellow_ms(a));
            card.set_min_red_clear_ms(a, geo.min_red_clear_ms(a));
        }
        assert!(card.check_site(&s).unwrap_err().to_string().contains("fya pair [1, 2]"));
    }

    #[test]
    fn printed_card_lists_pairs_and_minima() {
        let t = MmuCard::from_geometry(&site()).to_toml();
        assert!(
            t.contains("permitted = [[1, 5], [1, 6], [2, 5], [2, 6], [3, 7], [3, 8], [4, 7], [4, 8]]"),
            "{t}"
        );
        assert!(t.contains("fya = [[1, 2], [3, 4], [5, 6], [7, 8]]"), "{t}");
        assert!(t.contains("min_red_clear_s = { 1 = 2.2, 2 = 1.9"), "{t}");
    }

    /// Every shipped board file parses and fits the shipped 8-phase site.
    #[test]
    fn shipped_boards_fit_the_reference_site() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/board");
        for b in ["rpi4", "rpi5", "rock5b", "orangepi5", "host-fake"] {
            let path = format!("{root}/{b}.toml");
            let board = Board::load(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
            check_board(&board, &site(), &path).unwrap_or_else(|e| panic!("{e}"));
            assert!(board.flash_transfer.is_some(), "{b}: flash-transfer relay");
            assert_eq!(board.inputs.len(), 9, "{b}");
        }
    }
}
