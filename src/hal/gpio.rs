//! Signal-head relays and cabinet inputs on GPIO lines, over a small [`GpioBank`] trait.
//!
//! [`GpioRelays`] turns each [`OutputFrame`] into line levels (one write per chip per tick, all
//! lamps of a chip change together), holds the flash-transfer relay energised, and reads the lines
//! back so the controller can compare what the street gets with what it meant (a mismatch latches
//! flash). [`GpioInputs`] samples push buttons, preempt contacts, transit receivers and the door
//! switch, debounced (a level must hold for `debounce_ms` before it counts), into an
//! [`InputFrame`]. Both are allocation-free after construction.
//!
//! Backends implement [`GpioBank`]: `hal::linux::gpiocdev` (feature `gpio-cdev`),
//! `hal::linux::rpi` (feature `rpi`), and the test twin `hal::sim::gpio::FakeGpio`.

use crate::frame::{lamp, ped_lamp, OutputFrame};
use crate::hal::board::{Board, InputKind, LineRef, MAX_CHIPS, MAX_INPUTS};
use crate::hal::{HalError, InputFrame, Inputs, Relays};
use crate::limits::MAX_PHASES;
use crate::phase::PhaseId;
use crate::time::Instant;

/// A set of GPIO chips, each with up to 64 lines, addressed by bit masks.
pub trait GpioBank {
    /// Drives the output lines in `mask` on `chip` to the levels in `levels` (bit = high).
    fn write(&mut self, chip: usize, mask: u64, levels: u64) -> Result<(), HalError>;
    /// Reads the levels of the lines in `mask` on `chip` (outputs read back their driven level).
    fn read(&mut self, chip: usize, mask: u64) -> Result<u64, HalError>;
}

fn bit(l: LineRef) -> u64 {
    1u64 << (l.offset & 63)
}

/// The lamp relays of a board.
pub struct GpioRelays<B: GpioBank> {
    bank: B,
    heads: [Option<crate::hal::board::HeadLines>; MAX_PHASES],
    peds: [Option<crate::hal::board::PedLines>; MAX_PHASES],
    flash_transfer: Option<LineRef>,
    active_low: bool,
    masks: [u64; MAX_CHIPS],
    nchips: usize,
    /// The frame last written (read-back needs it for the dark half of a flashing yellow arrow).
    last: OutputFrame,
}

impl<B: GpioBank> GpioRelays<B> {
    /// Takes the output lines of `board`; all lamps off and the flash-transfer relay released
    /// until the first frame is written.
    pub fn new(board: &Board, bank: B) -> Result<Self, HalError> {
        let mut masks = [0u64; MAX_CHIPS];
        let mut add = |l: LineRef| {
            if let Some(m) = masks.get_mut(usize::from(l.chip)) {
                *m |= bit(l);
            }
        };
        for h in board.heads.iter().flatten() {
            add(h.red);
            add(h.yellow);
            add(h.green);
            if let Some(f) = h.fya {
                add(f);
            }
        }
        for p in board.peds.iter().flatten() {
            add(p.walk);
            add(p.dont_walk);
        }
        if let Some(f) = board.flash_transfer {
            add(f);
        }
        let mut r = GpioRelays {
            bank,
            heads: board.heads,
            peds: board.peds,
            flash_transfer: board.flash_transfer,
            active_low: board.active_low,
            masks,
            nchips: board.chips.len().min(MAX_CHIPS),
            last: OutputFrame::DARK,
        };
        r.release()?;
        Ok(r)
    }

    pub fn bank(&self) -> &B {
        &self.bank
    }

    pub fn bank_mut(&mut self) -> &mut B {
        &mut self.bank
    }

    /// Logical on/off per line → levels, honouring active-low relay inputs.
    fn levels(&self, frame: &OutputFrame, energise_transfer: bool) -> [u64; MAX_CHIPS] {
        let mut on = [0u64; MAX_CHIPS];
        let mut set = |l: LineRef, v: bool| {
            if v {
                if let Some(m) = on.get_mut(usize::from(l.chip)) {
                    *m |= bit(l);
                }
            }
        };
        for p in PhaseId::all() {
            let i = p.index();
            let veh = frame.veh.get(i).copied().unwrap_or(0);
            let ped = frame.ped.get(i).copied().unwrap_or(0);
            if let Some(Some(h)) = self.heads.get(i) {
                set(h.red, veh & lamp::RED != 0);
                set(h.yellow, veh & lamp::YELLOW != 0);
                set(h.green, veh & lamp::GREEN != 0);
                if let Some(f) = h.fya {
                    set(f, veh & lamp::FYA_LIT != 0);
                }
            }
            if let Some(Some(w)) = self.peds.get(i) {
                set(w.walk, ped & ped_lamp::WALK != 0);
                set(w.dont_walk, ped & ped_lamp::DONT_WALK != 0);
            }
        }
        if let Some(f) = self.flash_transfer {
            set(f, energise_transfer);
        }
        if self.active_low {
            for (o, m) in on.iter_mut().zip(self.masks.iter()) {
                *o = !*o & m;
            }
        }
        on
    }

    fn put(&mut self, levels: &[u64; MAX_CHIPS]) -> Result<(), HalError> {
        for c in 0..self.nchips {
            let (m, l) = (
                self.masks.get(c).copied().unwrap_or(0),
                levels.get(c).copied().unwrap_or(0),
            );
            if m != 0 {
                self.bank.write(c, m, l)?;
            }
        }
        Ok(())
    }

    /// All lamps off and the flash-transfer relay released: the cabinet flasher takes over.
    pub fn release(&mut self) -> Result<(), HalError> {
        let levels = self.levels(&OutputFrame::DARK, false);
        self.put(&levels)
    }
}

impl<B: GpioBank> Relays for GpioRelays<B> {
    fn write(&mut self, frame: &OutputFrame) -> Result<(), HalError> {
        let levels = self.levels(frame, true);
        self.last = *frame;
        self.put(&levels)
    }

    fn read_back(&mut self) -> Result<OutputFrame, HalError> {
        let mut lv = [0u64; MAX_CHIPS];
        for c in 0..self.nchips {
            let m = self.masks.get(c).copied().unwrap_or(0);
            if m != 0 {
                let v = self.bank.read(c, m)?;
                if let Some(x) = lv.get_mut(c) {
                    *x = if self.active_low { !v & m } else { v & m };
                }
            }
        }
        let is_on = |l: LineRef| lv.get(usize::from(l.chip)).is_some_and(|m| m & bit(l) != 0);
        if let Some(f) = self.flash_transfer {
            if !is_on(f) {
                // The flash-transfer relay is not held: the cabinet is (or is about to be) in
                // hardware flash whatever the lamp lines say.
                return Err(HalError::BadData);
            }
        }
        let mut frame = OutputFrame::DARK;
        for p in PhaseId::all() {
            let i = p.index();
            if let (Some(Some(h)), Some(v)) = (self.heads.get(i), frame.veh.get_mut(i)) {
                *v = (u8::from(is_on(h.red)) * lamp::RED)
                    | (u8::from(is_on(h.yellow)) * lamp::YELLOW)
                    | (u8::from(is_on(h.green)) * lamp::GREEN)
                    | (u8::from(h.fya.is_some_and(is_on)) * lamp::FYA_LIT);
                // The dark half of a flashing yellow arrow has every line off, like a dark head:
                // read it back as written (the lit half checks the arrow's relay every second).
                if *v == 0 && h.fya.is_some() && self.last.veh.get(i) == Some(&lamp::FYA_DARK) {
                    *v = lamp::FYA_DARK;
                }
            }
            if let (Some(Some(w)), Some(v)) = (self.peds.get(i), frame.ped.get_mut(i)) {
                *v = (u8::from(is_on(w.walk)) * ped_lamp::WALK) | (u8::from(is_on(w.dont_walk)) * ped_lamp::DONT_WALK);
            }
        }
        Ok(frame)
    }
}

impl<B: GpioBank> Drop for GpioRelays<B> {
    /// Safe state: lamps off, flash-transfer relay released (the cabinet flashes). Does not run on
    /// SIGKILL or power loss — the relay's spring and the watchdog cover those.
    fn drop(&mut self) {
        let _ = self.release();
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Debounce {
    raw: bool,
    since: Instant,
    stable: bool,
}

/// Debounced cabinet inputs.
pub struct GpioInputs<B: GpioBank> {
    bank: B,
    lines: heapless::Vec<crate::hal::board::InputLine, MAX_INPUTS>,
    state: [Debounce; MAX_INPUTS],
    masks: [u64; MAX_CHIPS],
    nchips: usize,
    debounce_ms: u32,
    /// Read errors (inputs then keep their last stable state).
    pub errors: u64,
    primed: bool,
}

impl<B: GpioBank> GpioInputs<B> {
    pub fn new(board: &Board, bank: B) -> Self {
        let mut masks = [0u64; MAX_CHIPS];
        for i in board.inputs.iter() {
            if let Some(m) = masks.get_mut(usize::from(i.line.chip)) {
                *m |= bit(i.line);
            }
        }
        GpioInputs {
            bank,
            lines: board.inputs.clone(),
            state: [Debounce::default(); MAX_INPUTS],
            masks,
            nchips: board.chips.len().min(MAX_CHIPS),
            debounce_ms: board.debounce_ms,
            errors: 0,
            primed: false,
        }
    }

    pub fn bank_mut(&mut self) -> &mut B {
        &mut self.bank
    }
}

impl<B: GpioBank> Inputs for GpioInputs<B> {
    fn read(&mut self, now: Instant) -> InputFrame {
        let mut levels = [0u64; MAX_CHIPS];
        let mut ok = true;
        for c in 0..self.nchips {
            let m = self.masks.get(c).copied().unwrap_or(0);
            if m != 0 {
                match self.bank.read(c, m) {
                    Ok(v) => {
                        if let Some(x) = levels.get_mut(c) {
                            *x = v;
                        }
                    }
                    Err(_) => ok = false,
                }
            }
        }
        if !ok {
            self.errors += 1;
        }
        let primed = self.primed;
        self.primed |= ok;
        let mut f = InputFrame::default();
        for (i, line) in self.lines.iter().enumerate() {
            let Some(st) = self.state.get_mut(i) else { continue };
            if ok {
                let high = levels
                    .get(usize::from(line.line.chip))
                    .is_some_and(|m| m & bit(line.line) != 0);
                let active = high != line.active_low;
                if active != st.raw {
                    st.raw = active;
                    st.since = now;
                }
                // The first reading is taken as it is (no history to debounce against).
                if !primed || now.since(st.since) >= u64::from(self.debounce_ms) {
                    st.stable = st.raw;
                }
            }
            if st.stable {
                match line.kind {
                    InputKind::Ped(p) => f.ped_buttons.insert(p),
                    InputKind::Transit(p) => f.transit.insert(p),
                    InputKind::Preempt(n) => f.preempt |= 1 << ((n - 1) & 7),
                    // The switch is closed (active) while the door is shut.
                    InputKind::Door => {}
                }
            } else if line.kind == InputKind::Door {
                f.door_open = true;
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::sim::gpio::FakeGpio;

    const BOARD: &str = r#"
[board]
name = "t"
chips = [{ path = "/dev/gpiochip0", driver = "cdev" }, { path = "/dev/gpiochip1", driver = "cdev" }]
active_low = true
flash_transfer = 20
debounce_ms = 30
[[head]]
phase = 2
red = 1
yellow = 2
green = 3
[[head]]
phase = 4
red = "1:1"
yellow = "1:2"
green = "1:3"
[[ped]]
phase = 2
walk = 4
dont_walk = 5
[[input]]
kind = "ped"
phase = 2
line = 10
[[input]]
kind = "preempt"
number = 2
line = 11
[[input]]
kind = "door"
line = 12
"#;

    fn board() -> Board {
        Board::parse(BOARD, "t.toml").unwrap()
    }

    #[test]
    fn frames_map_to_active_low_lines_and_read_back() {
        let b = board();
        let mut r = GpioRelays::new(&b, FakeGpio::new()).unwrap();
        // Released at start: every relay line high (off), flash transfer off.
        assert!(r.bank().level(0, 20));
        let mut f = OutputFrame::DARK;
        f.veh[1] = lamp::GREEN;
        f.veh[3] = lamp::RED;
        f.ped[1] = ped_lamp::WALK;
        r.write(&f).unwrap();
        assert!(!r.bank().level(0, 3), "green of 2 energised (low)");
        assert!(r.bank().level(0, 1) && r.bank().level(0, 2));
        assert!(!r.bank().level(1, 1), "red of 4 on chip 1");
        assert!(!r.bank().level(0, 4), "walk");
        assert!(!r.bank().level(0, 20), "flash transfer held");
        assert_eq!(r.read_back().unwrap(), f);
    }

    #[test]
    fn a_stuck_line_shows_in_the_read_back() {
        let b = board();
        let mut r = GpioRelays::new(&b, FakeGpio::new()).unwrap();
        r.bank_mut().stick(1, 3, false); // chip 1 line 3 (green of 4) welded low = on
        let mut f = OutputFrame::DARK;
        f.veh[1] = lamp::GREEN;
        f.veh[3] = lamp::RED;
        r.write(&f).unwrap();
        let back = r.read_back().unwrap();
        assert_ne!(back, f);
        assert_eq!(back.veh[3], lamp::RED | lamp::GREEN);
    }

    #[test]
    fn drop_releases_to_hardware_flash() {
        let b = board();
        let bank = FakeGpio::new();
        let probe = bank.clone();
        {
            let mut r = GpioRelays::new(&b, bank).unwrap();
            let mut f = OutputFrame::DARK;
            f.veh[1] = lamp::GREEN;
            r.write(&f).unwrap();
            assert!(!probe.level(0, 20));
        }
        assert!(probe.level(0, 20), "flash-transfer relay released on drop");
        assert!(probe.level(0, 3), "lamps off");
    }

    #[test]
    fn inputs_are_debounced() {
        let b = board();
        let bank = FakeGpio::new();
        let mut ins = GpioInputs::new(&b, bank.clone());
        // Pull-ups: idle high = inactive. Door switch closed (low) = shut.
        bank.set_input(0, 10, true);
        bank.set_input(0, 11, true);
        bank.set_input(0, 12, false);
        assert_eq!(ins.read(Instant(0)), InputFrame::default());
        // Ped button pressed (low) at 100 ms: counts only after 30 ms stable.
        bank.set_input(0, 10, false);
        assert!(ins.read(Instant(100)).ped_buttons.is_empty());
        assert!(ins.read(Instant(120)).ped_buttons.is_empty());
        assert!(ins.read(Instant(130)).ped_buttons.contains(PhaseId::new(2).unwrap()));
        // A 10 ms bounce on the preempt line is ignored.
        bank.set_input(0, 11, false);
        assert_eq!(ins.read(Instant(200)).preempt, 0);
        bank.set_input(0, 11, true);
        assert_eq!(ins.read(Instant(210)).preempt, 0);
        assert_eq!(ins.read(Instant(300)).preempt, 0);
        bank.set_input(0, 11, false);
        ins.read(Instant(400));
        assert_eq!(ins.read(Instant(440)).preempt, 0b10);
        // Door opened.
        bank.set_input(0, 12, true);
        ins.read(Instant(500));
        assert!(ins.read(Instant(540)).door_open);
    }
}
