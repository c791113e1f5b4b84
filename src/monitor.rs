//! The conflict monitor: an independent check of the exact frame sent to the relays.
//!
//! A malfunction management unit (NEMA TS2 §6 MMU; Caltrans CMU) in software. It shares no code
//! and no state with the timing engine. Which channels may run together comes from the cabinet's
//! own compatibility card ([`card::MmuCard`], the board file's `[mmu]` section), never from the
//! site file the engine times: a typo in the site's barriers cannot also switch the check off.
//! The site gives only which heads exist, their flash colour, and its yellow and red clearance,
//! which count where they are longer than the card's minimum. The monitor remembers only what it
//! has seen on the frames themselves. Every tick it checks:
//!
//! - **conflict**: two configured channels that the card does not permit both showing green or
//!   yellow, or a WALK together with such a green/yellow/WALK (the MMU conflict fault, NEMA TS2 §6). The one
//!   exception is a flashing-yellow-arrow pair on the card: the arrow — and the steady yellow
//!   arrow that follows it — may show with the green/yellow/WALK of the opposing through channel
//!   it yields to (MUTCD 4D.18-4D.20), never with anything else;
//! - **permissive misuse**: a flashing yellow arrow on a channel the card has no fya pair for, or
//!   while the channel it yields to is not green (the arrow must end with its opposing through);
//! - **dual indication**: more than one lamp of a head lit, or WALK and DON'T WALK together;
//! - **walk without green**: a WALK while its vehicle phase is not green;
//! - **lamp on an unconfigured head**, or a configured vehicle head dark;
//! - **yellow skipped** (green or flashing yellow arrow straight to red, or green arrow straight
//!   to flashing yellow arrow) or **green after yellow** (also a flashing arrow after yellow);
//! - **short yellow**: yellow shorter than the larger of the site's change interval (ITE, ≥ 3 s)
//!   and the card's minimum;
//! - **short red clearance**: a green starting before every conflicting channel that went red has
//!   finished the larger of its configured and its card red clearance;
//! - **relay read-back** different from what was written (stuck or welded relay).
//!
//! A violation latches: the fault and the offending frame are recorded, and the output becomes the
//! flash pattern until an operator clears it. Cost: O(phases²) bit tests.

pub mod card;

use crate::config::{FlashColor, Site};
use crate::frame::{lamp, ped_lamp, Aspect, OutputFrame};
use crate::limits::{FAULT_HISTORY, MAX_PHASES};
use crate::phase::{PhaseId, PhaseSet};
use crate::time::Instant;
use card::MmuCard;

pub use crate::fault::{Fault, FaultKind};

/// Flash half period: 1 Hz, 50 % duty (MUTCD 4D.12: 50-60 flashes per minute, lit half the time).
pub const FLASH_HALF_PERIOD_MS: u64 = 500;

/// What the monitor keeps about a phase, learned from frames only.
#[derive(Clone, Copy, Debug)]
struct HeadMemory {
    aspect: Aspect,
    since: Instant,
    /// When the head last went yellow → red (start of its red clearance).
    red_since: Option<Instant>,
    /// The current yellow follows a flashing yellow arrow (the permissive turn's clearance).
    from_fya: bool,
}

impl HeadMemory {
    /// A head taken as red since `now` (start-up and operator clear).
    const fn red(now: Instant) -> HeadMemory {
        HeadMemory {
            aspect: Aspect::Red,
            since: now,
            red_since: None,
            from_fya: false,
        }
    }
}

/// The monitor. Fixed size; `check` never allocates.
#[derive(Clone, Debug)]
pub struct Monitor {
    configured: PhaseSet,
    with_ped: PhaseSet,
    conflicts: [PhaseSet; MAX_PHASES],
    min_yellow_ms: [u32; MAX_PHASES],
    min_red_clear_ms: [u32; MAX_PHASES],
    flash_color: [FlashColor; MAX_PHASES],
    /// Protected/permissive left turns: the phase each yields to.
    permissive: [Option<PhaseId>; MAX_PHASES],
    heads: [HeadMemory; MAX_PHASES],
    latched: Option<Fault>,
    history: heapless::HistoryBuf<Fault, FAULT_HISTORY>,
    faults_total: u32,
}

impl Monitor {
    /// Builds the monitor's own tables: concurrency and flashing yellow arrows from the card alone,
    /// the heads and intervals from the site (intervals never below the card's minima). All heads
    /// are taken as red since `now` (the controller starts in all red).
    pub fn new(site: &Site, card: &MmuCard, now: Instant) -> Monitor {
        let mut m = Monitor {
            configured: PhaseSet::EMPTY,
            with_ped: PhaseSet::EMPTY,
            conflicts: [PhaseSet::EMPTY; MAX_PHASES],
            min_yellow_ms: [0; MAX_PHASES],
            min_red_clear_ms: [0; MAX_PHASES],
            flash_color: [FlashColor::Red; MAX_PHASES],
            permissive: [None; MAX_PHASES],
            heads: [HeadMemory::red(now); MAX_PHASES],
            latched: None,
            history: heapless::HistoryBuf::new(),
            faults_total: 0,
        };
        for ph in site.phases() {
            let i = ph.id.index();
            m.configured.insert(ph.id);
            if ph.ped.is_some() {
                m.with_ped.insert(ph.id);
            }
            if let Some(slot) = m.permissive.get_mut(i) {
                *slot = card.fya(ph.id);
            }
            if let (Some(y), Some(r), Some(c)) = (
                m.min_yellow_ms.get_mut(i),
                m.min_red_clear_ms.get_mut(i),
                m.flash_color.get_mut(i),
            ) {
                *y = ph.yellow_ms.max(card.min_yellow_ms(ph.id));
                *r = ph.red_clear_ms.max(card.min_red_clear_ms(ph.id));
                *c = ph.flash;
            }
        }
        // Every pair of configured channels the card does not permit conflicts.
        for p in m.configured.iter() {
            if let Some(row) = m.conflicts.get_mut(p.index()) {
                *row = m.configured.without(p).difference(card.permitted(p));
            }
        }
        m
    }

    /// Continues the fault history, the total and a latched fault of the monitor this one replaces
    /// (a configuration reload). A latched fault stays latched: only the operator's clear ends
    /// flash (docs/safety.md 4), so a SIGHUP — a log-rotation tool's, say — cannot take a cabinet
    /// out of flash; a file fixed while in flash is in force when the operator clears. The heads
    /// and tables are this monitor's own, built from the new site and taken as all red.
    pub fn carry_history(&mut self, old: &Monitor) {
        self.history = old.history.clone();
        self.faults_total = old.faults_total;
        self.latched = old.latched;
    }

    pub fn latched(&self) -> Option<&Fault> {
        self.latched.as_ref()
    }

    /// Faults latched since start, oldest first (bounded).
    pub fn history(&self) -> impl Iterator<Item = &Fault> {
        self.history.oldest_ordered()
    }

    pub fn faults_total(&self) -> u32 {
        self.faults_total
    }

    /// Operator clear: unlatch. The heads are taken as red from `now` (the controller restarts in
    /// all red). Returns whether a fault was latched.
    pub fn clear(&mut self, now: Instant) -> bool {
        let was = self.latched.take().is_some();
        for h in self.heads.iter_mut() {
            *h = HeadMemory::red(now);
        }
        was
    }

    /// Latch a fault raised outside the frame checks (read-back, stop, controller fault).
    pub fn latch(&mut self, fault: Fault) {
        if self.latched.is_none() {
            self.latched = Some(fault);
            self.history.write(fault);
            self.faults_total = self.faults_total.saturating_add(1);
        }
    }

    /// Checks the frame about to be written. Returns the fault if this frame latched one. While
    /// latched, frames are not checked (the output is the flash pattern).
    pub fn check(&mut self, now: Instant, frame: &OutputFrame) -> Option<Fault> {
        if self.latched.is_some() {
            return None;
        }
        let found = self.find(now, frame);
        // Update the head memory from this frame (also when it is faulty: the history is what the
        // street saw, and the latch stops further checks anyway).
        for p in PhaseId::all() {
            let i = p.index();
            let new = frame.aspect(p);
            if let Some(h) = self.heads.get_mut(i) {
                if h.aspect != new {
                    if h.aspect == Aspect::Yellow && new == Aspect::Red {
                        h.red_since = Some(now);
                    }
                    h.from_fya = new == Aspect::Yellow && h.aspect == Aspect::FlashingYellow;
                    h.aspect = new;
                    h.since = now;
                }
            }
        }
        let fault = found.map(|(kind, a, b)| Fault {
            at: now,
            kind,
            a,
            b,
            frame: *frame,
        })?;
        self.latch(fault);
        Some(fault)
    }

    fn find(&self, now: Instant, f: &OutputFrame) -> Option<(FaultKind, Option<PhaseId>, Option<PhaseId>)> {
        let mut moving = PhaseSet::EMPTY; // green, yellow or flashing yellow arrow
        let mut walking = PhaseSet::EMPTY;
        // Heads in permissive mode: flashing yellow arrow, or the steady yellow that follows one.
        let mut permissive = PhaseSet::EMPTY;
        for p in PhaseId::all() {
            let i = p.index();
            let veh = f.veh.get(i).copied().unwrap_or(0);
            let ped = f.ped.get(i).copied().unwrap_or(0);
            if !self.configured.contains(p) {
                if veh != 0 || ped != 0 {
                    return Some((FaultKind::UnconfiguredHeadLit, Some(p), None));
                }
                continue;
            }
            match f.aspect(p) {
                Aspect::Dual => return Some((FaultKind::DualIndication, Some(p), None)),
                Aspect::Dark => return Some((FaultKind::DarkHead, Some(p), None)),
                Aspect::Green => moving.insert(p),
                Aspect::Yellow => {
                    moving.insert(p);
                    let h = self.heads.get(i);
                    if h.is_some_and(|h| {
                        h.aspect == Aspect::FlashingYellow || (h.aspect == Aspect::Yellow && h.from_fya)
                    }) {
                        permissive.insert(p);
                    }
                }
                Aspect::FlashingYellow => {
                    let opposing = self.permissive.get(i).copied().flatten();
                    if opposing.is_none_or(|o| f.aspect(o) != Aspect::Green) {
                        return Some((FaultKind::BadPermissive, Some(p), opposing));
                    }
                    moving.insert(p);
                    permissive.insert(p);
                }
                Aspect::Red => {}
            }
            if ped & !(ped_lamp::WALK | ped_lamp::DONT_WALK) != 0 || (ped != 0 && !self.with_ped.contains(p)) {
                return Some((FaultKind::UnconfiguredHeadLit, Some(p), None));
            }
            if ped == ped_lamp::WALK | ped_lamp::DONT_WALK {
                return Some((FaultKind::DualIndication, Some(p), None));
            }
            if ped & ped_lamp::WALK != 0 {
                if veh != lamp::GREEN {
                    return Some((FaultKind::WalkWithoutGreen, Some(p), None));
                }
                walking.insert(p);
            }
        }
        // Conflicts among moving vehicle heads and walks; a permissive left turn yields to its
        // opposing through (and that through's crossing) by law, so that one pair is allowed.
        let active = moving.union(walking);
        let yields_to = |a: PhaseId| {
            if permissive.contains(a) {
                self.permissive.get(a.index()).copied().flatten()
            } else {
                None
            }
        };
        for a in active.iter() {
            let row = self.conflicts.get(a.index()).copied().unwrap_or(PhaseSet::EMPTY);
            for b in row.intersection(active).iter() {
                if yields_to(a) == Some(b) || yields_to(b) == Some(a) {
                    continue;
                }
                return Some((FaultKind::Conflict, Some(a), Some(b)));
            }
        }
        // Transitions against what the street has seen.
        for p in self.configured.iter() {
            let i = p.index();
            let Some(h) = self.heads.get(i) else { continue };
            let new = f.aspect(p);
            match (h.aspect, new) {
                (Aspect::Green | Aspect::FlashingYellow, Aspect::Red) | (Aspect::Green, Aspect::FlashingYellow) => {
                    return Some((FaultKind::SkippedYellow, Some(p), None))
                }
                (Aspect::Yellow, Aspect::Green | Aspect::FlashingYellow) => {
                    return Some((FaultKind::YellowToGreen, Some(p), None))
                }
                (Aspect::Yellow, Aspect::Red) => {
                    let min = u64::from(self.min_yellow_ms.get(i).copied().unwrap_or(u32::MAX));
                    if now.since(h.since) < min {
                        return Some((FaultKind::ShortYellow, Some(p), None));
                    }
                }
                (Aspect::Red, Aspect::Green | Aspect::FlashingYellow) => {
                    let mut row = self.conflicts.get(i).copied().unwrap_or(PhaseSet::EMPTY);
                    if new == Aspect::FlashingYellow {
                        if let Some(o) = self.permissive.get(i).copied().flatten() {
                            row = row.without(o);
                        }
                    }
                    for c in row.intersection(self.configured).iter() {
                        let ci = c.index();
                        let Some(hc) = self.heads.get(ci) else { continue };
                        let need = u64::from(self.min_red_clear_ms.get(ci).copied().unwrap_or(u32::MAX));
                        if let Some(rs) = hc.red_since {
                            if now.since(rs) < need {
                                return Some((FaultKind::ShortRedClearance, Some(p), Some(c)));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The flash pattern for `now`: each configured head flashes its configured colour at 1 Hz,
    /// pedestrian heads dark (MUTCD 4D.12, 4E.06: pedestrian signals are dark in flash).
    pub fn flash_frame(&self, now: Instant) -> OutputFrame {
        let lit = (now.0 / FLASH_HALF_PERIOD_MS).is_multiple_of(2);
        let mut f = OutputFrame::DARK;
        if lit {
            for p in self.configured.iter() {
                let i = p.index();
                let bits = match self.flash_color.get(i) {
                    Some(FlashColor::Yellow) => lamp::YELLOW,
                    _ => lamp::RED,
                };
                if let Some(v) = f.veh.get_mut(i) {
                    *v = bits;
                }
            }
        }
        f
    }
}
