//! The board file's `[mmu]` section: the cabinet's compatibility card ([`MmuCard`]), written
//! apart from the site file so that the conflict monitor does not trust the file it checks
//! (NEMA TS2 §6 programming card; Caltrans CMU datakey).
//!
//! ```toml
//! [mmu]
//! permitted = [[1, 5], [1, 6], [2, 5], [2, 6], [3, 7], [3, 8], [4, 7], [4, 8]]
//! fya = [[1, 2], [3, 4], [5, 6], [7, 8]]
//! min_yellow_s = { 1 = 3.3, 2 = 3.3, 3 = 3.3, 4 = 3.3, 5 = 3.3, 6 = 3.3, 7 = 3.3, 8 = 3.3 }
//! min_red_clear_s = { 1 = 2.2, 2 = 1.9, 3 = 2.2, 4 = 1.9, 5 = 2.2, 6 = 1.9, 7 = 2.2, 8 = 1.9 }
//! ```
//!
//! Validation rejects a pair listed twice (in either order), a channel paired with itself, a
//! channel outside 1..=`MAX_PHASES`, a left-turn channel with two fya pairs, and minima outside the
//! MUTCD 4D.26 ranges; errors name the file, line and field.

use super::{BoardError, V};
use crate::limits::MAX_PHASES;
use crate::monitor::card::MmuCard;
use crate::signal::phase::PhaseId;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

type Pairs = Spanned<Vec<Spanned<Vec<Spanned<i64>>>>>;
type Minima = Spanned<BTreeMap<String, Spanned<f64>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MmuSection {
    permitted: Pairs,
    #[serde(default = "no_pairs")]
    fya: Pairs,
    min_yellow_s: Minima,
    min_red_clear_s: Minima,
}

fn no_pairs() -> Pairs {
    Spanned::new(0..0, Vec::new())
}

impl V<'_> {
    fn channel(&self, v: &Spanned<i64>, field: &str) -> Result<PhaseId, BoardError> {
        u8::try_from(*v.get_ref()).ok().and_then(PhaseId::new).ok_or_else(|| {
            self.err(
                v.span(),
                field,
                format!("channel {} does not exist", v.get_ref()),
                format!("channels are 1 to {MAX_PHASES} (channel N is the head of phase N)"),
            )
        })
    }

    fn pair(&self, p: &Spanned<Vec<Spanned<i64>>>, field: &str) -> Result<(PhaseId, PhaseId), BoardError> {
        let [a, b] = p.get_ref().as_slice() else {
            return Err(self.err(
                p.span(),
                field,
                format!("{} channels in one pair", p.get_ref().len()),
                "write each pair as two channels, e.g. [2, 6]",
            ));
        };
        let (ca, cb) = (self.channel(a, field)?, self.channel(b, field)?);
        if ca == cb {
            return Err(self.err(
                p.span(),
                field,
                format!("channel {ca} is paired with itself"),
                "pair two different channels",
            ));
        }
        Ok((ca, cb))
    }

    fn minima(
        &self,
        m: &Minima,
        field: &str,
        lo: f64,
        hi: f64,
        mut set: impl FnMut(PhaseId, u32),
    ) -> Result<(), BoardError> {
        for (k, v) in m.get_ref() {
            let ch = k.parse::<u8>().ok().and_then(PhaseId::new).ok_or_else(|| {
                self.err(
                    m.span(),
                    field,
                    format!("`{k}` is not a channel"),
                    format!("key each minimum by its channel number 1 to {MAX_PHASES}, e.g. {{ 2 = 3.3 }}"),
                )
            })?;
            let s = *v.get_ref();
            if !s.is_finite() || s < lo || s > hi {
                return Err(self.err(
                    v.span(),
                    field,
                    format!("channel {ch}: {s} s is out of range"),
                    format!("use {lo} to {hi} s (MUTCD 4D.26)"),
                ));
            }
            set(ch, crate::config::derive::ceil_ms(s));
        }
        Ok(())
    }

    pub(super) fn mmu(&self, sec: &MmuSection) -> Result<MmuCard, BoardError> {
        let mut card = MmuCard::EMPTY;
        for p in sec.permitted.get_ref() {
            let (a, b) = self.pair(p, "mmu.permitted")?;
            if card.permits(a, b) {
                return Err(self.err(
                    p.span(),
                    "mmu.permitted",
                    format!("channels {a}+{b} are listed twice"),
                    "list each permitted pair once (the card is symmetric: [2, 6] also permits 6 with 2)",
                ));
            }
            card.permit(a, b);
        }
        for p in sec.fya.get_ref() {
            let (l, o) = self.pair(p, "mmu.fya")?;
            if let Some(prev) = card.fya(l) {
                return Err(self.err(
                    p.span(),
                    "mmu.fya",
                    format!("channel {l} already has the fya pair [{l}, {prev}]"),
                    "give each flashing-yellow-arrow channel one opposing channel",
                ));
            }
            card.set_fya(l, o);
        }
        self.minima(&sec.min_yellow_s, "mmu.min_yellow_s", 3.0, 6.0, |c, ms| {
            card.set_min_yellow_ms(c, ms)
        })?;
        self.minima(&sec.min_red_clear_s, "mmu.min_red_clear_s", 0.1, 6.0, |c, ms| {
            card.set_min_red_clear_ms(c, ms)
        })?;
        Ok(card)
    }
}
