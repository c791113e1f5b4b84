//! Phase numbers and sets of phases.
//!
//! NEMA TS2 numbers vehicle phases 1..=8; internally a phase is its index 0..8. A [`PhaseSet`] is a
//! bit set, so a whole compatibility-matrix row or a set of calls is one `Copy` word.

use crate::limits::MAX_PHASES;

/// A vehicle phase number, 1-based as printed on timing sheets (`PhaseId(2)` is NEMA phase 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct PhaseId(u8);

impl TryFrom<u8> for PhaseId {
    type Error = &'static str;
    fn try_from(n: u8) -> Result<PhaseId, Self::Error> {
        PhaseId::new(n).ok_or("phase number outside 1..=8")
    }
}

impl From<PhaseId> for u8 {
    fn from(p: PhaseId) -> u8 {
        p.0
    }
}

impl PhaseId {
    /// `Some` for 1..=MAX_PHASES.
    pub const fn new(number: u8) -> Option<PhaseId> {
        if number >= 1 && (number as usize) <= MAX_PHASES {
            Some(PhaseId(number))
        } else {
            None
        }
    }

    /// From a 0-based index; `None` when out of range.
    pub const fn from_index(index: usize) -> Option<PhaseId> {
        if index < MAX_PHASES {
            Some(PhaseId(index as u8 + 1))
        } else {
            None
        }
    }

    pub const fn number(self) -> u8 {
        self.0
    }

    pub const fn index(self) -> usize {
        self.0 as usize - 1
    }

    /// All phase ids 1..=MAX_PHASES.
    pub fn all() -> impl Iterator<Item = PhaseId> {
        (1..=MAX_PHASES as u8).map(PhaseId)
    }
}

impl core::fmt::Display for PhaseId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A set of phases as bits (bit `i` = phase index `i`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PhaseSet(pub u16);

impl PhaseSet {
    pub const EMPTY: PhaseSet = PhaseSet(0);

    pub const fn contains(self, p: PhaseId) -> bool {
        self.0 & (1 << p.index()) != 0
    }
    pub const fn with(self, p: PhaseId) -> PhaseSet {
        PhaseSet(self.0 | (1 << p.index()))
    }
    pub const fn without(self, p: PhaseId) -> PhaseSet {
        PhaseSet(self.0 & !(1 << p.index()))
    }
    pub fn insert(&mut self, p: PhaseId) {
        *self = self.with(p);
    }
    pub fn remove(&mut self, p: PhaseId) {
        *self = self.without(p);
    }
    pub fn set(&mut self, p: PhaseId, on: bool) {
        if on {
            self.insert(p)
        } else {
            self.remove(p)
        }
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub const fn union(self, o: PhaseSet) -> PhaseSet {
        PhaseSet(self.0 | o.0)
    }
    pub const fn intersection(self, o: PhaseSet) -> PhaseSet {
        PhaseSet(self.0 & o.0)
    }
    pub const fn difference(self, o: PhaseSet) -> PhaseSet {
        PhaseSet(self.0 & !o.0)
    }
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }
    /// The phases in the set in ascending order. Visits only the set bits (one `trailing_zeros`
    /// each), not every phase number; bits above `MAX_PHASES` are not phases and are skipped.
    pub fn iter(self) -> impl Iterator<Item = PhaseId> {
        const PHASE_BITS: u16 = ((1u32 << MAX_PHASES) - 1) as u16;
        let mut bits = self.0 & PHASE_BITS;
        core::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let index = bits.trailing_zeros() as u8;
            bits &= bits - 1;
            Some(PhaseId(index + 1))
        })
    }
}

impl core::fmt::Display for PhaseSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for p in self.iter() {
            if !first {
                f.write_str(",")?;
            }
            write!(f, "{p}")?;
            first = false;
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_sets() {
        assert!(PhaseId::new(0).is_none());
        assert!(PhaseId::new(9).is_none());
        let p2 = PhaseId::new(2).unwrap();
        let p6 = PhaseId::new(6).unwrap();
        assert_eq!(p2.index(), 1);
        let s = PhaseSet::EMPTY.with(p2).with(p6);
        assert!(s.contains(p6) && !s.contains(PhaseId::new(4).unwrap()));
        assert_eq!(s.len(), 2);
        assert_eq!(s.iter().map(|p| p.number()).collect::<Vec<_>>(), vec![2, 6]);
        assert_eq!(format!("{s}"), "2,6");
        assert_eq!(format!("{}", PhaseSet::EMPTY), "-");
        // Bits above the last phase are not phases.
        let high = PhaseSet(0xff00 | 0b1000_0001);
        assert_eq!(high.iter().map(|p| p.number()).collect::<Vec<_>>(), vec![1, 8]);
        assert!(PhaseSet(0xffff).iter().eq(PhaseId::all()));
    }
}
