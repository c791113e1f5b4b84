//! The board file's `[mmu]` section: the cabinet's compatibility card ([`MmuCardData`]), written
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

use super::parse::V;
use super::BoardError;
use crate::limits::MAX_PHASES;
use crate::phase::{PhaseId, PhaseSet};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

type Pairs = Spanned<Vec<Spanned<Vec<Spanned<i64>>>>>;
type Minima = Spanned<BTreeMap<String, Spanned<f64>>>;

/// The compatibility card as programmed in the board file (validated data; the conflict monitor
/// builds its `monitor::card::MmuCard` from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmuCardData {
    /// `permitted[i]`: channels that may show green/yellow/WALK with channel i (symmetric).
    permitted: [PhaseSet; MAX_PHASES],
    /// `fya[i]`: the channel whose green channel i's flashing yellow arrow may show with.
    fya: [Option<PhaseId>; MAX_PHASES],
    /// Per channel minimum yellow change, ms (0: not programmed).
    min_yellow_ms: [u32; MAX_PHASES],
    /// Per channel minimum red clearance, ms (0: not programmed).
    min_red_clear_ms: [u32; MAX_PHASES],
}

impl MmuCardData {
    /// A card that permits nothing and programs no channel.
    pub const EMPTY: MmuCardData = MmuCardData {
        permitted: [PhaseSet::EMPTY; MAX_PHASES],
        fya: [None; MAX_PHASES],
        min_yellow_ms: [0; MAX_PHASES],
        min_red_clear_ms: [0; MAX_PHASES],
    };

    /// Permits `a` and `b` together (both directions).
    pub fn permit(&mut self, a: PhaseId, b: PhaseId) {
        if let Some(r) = self.permitted.get_mut(a.index()) {
            r.insert(b);
        }
        if let Some(r) = self.permitted.get_mut(b.index()) {
            r.insert(a);
        }
    }

    /// The flashing yellow arrow of `left` may show with the green of `opposing`.
    pub fn set_fya(&mut self, left: PhaseId, opposing: PhaseId) {
        if let Some(s) = self.fya.get_mut(left.index()) {
            *s = Some(opposing);
        }
    }

    pub fn set_min_yellow_ms(&mut self, ch: PhaseId, ms: u32) {
        if let Some(s) = self.min_yellow_ms.get_mut(ch.index()) {
            *s = ms;
        }
    }

    pub fn set_min_red_clear_ms(&mut self, ch: PhaseId, ms: u32) {
        if let Some(s) = self.min_red_clear_ms.get_mut(ch.index()) {
            *s = ms;
        }
    }

    pub fn permits(&self, a: PhaseId, b: PhaseId) -> bool {
        self.permitted(a).contains(b)
    }

    /// Channels permitted with `a`.
    pub fn permitted(&self, a: PhaseId) -> PhaseSet {
        self.permitted.get(a.index()).copied().unwrap_or(PhaseSet::EMPTY)
    }

    /// The channel `left`'s flashing yellow arrow may show with, if any.
    pub fn fya(&self, left: PhaseId) -> Option<PhaseId> {
        self.fya.get(left.index()).copied().flatten()
    }

    pub fn min_yellow_ms(&self, ch: PhaseId) -> u32 {
        self.min_yellow_ms.get(ch.index()).copied().unwrap_or(0)
    }

    pub fn min_red_clear_ms(&self, ch: PhaseId) -> u32 {
        self.min_red_clear_ms.get(ch.index()).copied().unwrap_or(0)
    }

    /// The card as a board file `[mmu]` section (for `greenwave check --print-card`).
    pub fn to_toml(&self) -> String {
        use core::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "[mmu]");
        let _ = writeln!(
            s,
            "# Channel pairs the cabinet permits to show green/yellow/WALK together (compatibility card jumpers)."
        );
        let mut pairs = Vec::new();
        for a in PhaseId::all() {
            for b in self.permitted(a).iter().filter(|b| b.number() > a.number()) {
                pairs.push(format!("[{a}, {b}]"));
            }
        }
        let _ = writeln!(s, "permitted = [{}]", pairs.join(", "));
        let _ = writeln!(
            s,
            "# Flashing yellow arrow of the first channel may show with the green of the second (MUTCD 4D.20)."
        );
        let fya: Vec<String> = PhaseId::all()
            .filter_map(|a| self.fya(a).map(|b| format!("[{a}, {b}]")))
            .collect();
        let _ = writeln!(s, "fya = [{}]", fya.join(", "));
        let _ = writeln!(
            s,
            "# Per-channel minimum yellow change and red clearance, seconds (CMU datakey)."
        );
        let table = |f: &dyn Fn(PhaseId) -> u32| {
            let items: Vec<String> = PhaseId::all()
                .filter(|p| f(*p) > 0)
                .map(|p| format!("{p} = {:.1}", f64::from(f(p)) / 1000.0))
                .collect();
            format!("{{ {} }}", items.join(", "))
        };
        let _ = writeln!(s, "min_yellow_s = {}", table(&|p| self.min_yellow_ms(p)));
        let _ = writeln!(s, "min_red_clear_s = {}", table(&|p| self.min_red_clear_ms(p)));
        s
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MmuSection {
    permitted: Pairs,
    #[serde(default = "no_pairs")]
    fya: Pairs,
    min_yellow_s: Minima,
    min_red_clear_s: Minima,
}

fn no_pairs() -> Pairs {
    crate::config::diag::unspanned(Vec::new())
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

    pub(super) fn mmu(&self, sec: &MmuSection) -> Result<MmuCardData, BoardError> {
        let mut card = MmuCardData::EMPTY;
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
