//! Cabinet inputs on GPIO lines: pedestrian push buttons, preempt contacts, transit check-in and the
//! cabinet door switch, debounced, as the engine's [`InputFrame`].
//!
//! Debounce rule: a line's new level counts only after it has held for `debounce_ms` without a
//! change (an integrating debouncer on sampled levels; mechanical contacts bounce for 1-20 ms, so 30
//! ms is the usual setting). The input is sampled once per tick, so the effective delay is the
//! debounce time rounded up to whole ticks; a press shorter than that is ignored as noise. State
//! is two bit sets and one timestamp per line — fixed size, no allocation.
//!
//! A failed read keeps the last debounced state (a flickering chip must not drop a preempt
//! mid-sequence or invent one) and is counted in [`GpioInputs::read_errors`] for status.

use crate::hal::board::{Board, InputRole};
use crate::hal::gpio::{GpioOpenError, Levels, LineRead};
use crate::hal::{InputFrame, Inputs};
use crate::limits::GPIO_LINES;
use crate::time::Instant;

/// Debounced inputs on lines `L`, opened with [`Board::input_lines`] in that order.
pub struct GpioInputs<L: LineRead> {
    lines: L,
    roles: heapless::Vec<InputRole, GPIO_LINES>,
    active_low: bool,
    debounce_ms: u64,
    /// Debounced state, bit set = active (pressed, preempt on, door open).
    stable: Levels,
    /// Last sampled state and when it started.
    candidate: Levels,
    since: [Instant; GPIO_LINES],
    /// Reads that failed (state held).
    pub read_errors: u64,
}

impl<L: LineRead> GpioInputs<L> {
    /// `lines` must hold exactly `board.input_lines()`, in order.
    pub fn new(board: &Board, lines: L) -> Result<GpioInputs<L>, GpioOpenError> {
        if lines.len() != board.inputs.len() {
            return Err(GpioOpenError::Unsupported(format!(
                "input request holds {} lines, the board file names {}",
                lines.len(),
                board.inputs.len()
            )));
        }
        Ok(GpioInputs {
            lines,
            roles: board.inputs.iter().map(|i| i.role).collect(),
            active_low: board.inputs_active_low,
            debounce_ms: u64::from(board.debounce_ms),
            stable: Levels(0),
            candidate: Levels(0),
            since: [Instant::ZERO; GPIO_LINES],
            read_errors: 0,
        })
    }

    /// Debounced state after sampling at `now` (bit set = active).
    fn sample(&mut self, now: Instant) -> Levels {
        let raw = match self.lines.read() {
            Ok(l) => l,
            Err(_) => {
                self.read_errors = self.read_errors.saturating_add(1);
                return self.stable;
            }
        };
        let mask = Levels::mask(self.roles.len());
        let active = Levels(if self.active_low { !raw.0 & mask } else { raw.0 & mask });
        for (i, since) in self.since.iter_mut().enumerate().take(self.roles.len()) {
            let a = active.get(i);
            if a != self.candidate.get(i) {
                self.candidate.set(i, a);
                *since = now;
            }
            if a != self.stable.get(i) && now.since(*since) >= self.debounce_ms {
                self.stable.set(i, a);
            }
        }
        self.stable
    }
}

impl<L: LineRead> Inputs for GpioInputs<L> {
    fn read(&mut self, now: Instant) -> InputFrame {
        let state = self.sample(now);
        let mut f = InputFrame::default();
        for (i, role) in self.roles.iter().enumerate() {
            if !state.get(i) {
                continue;
            }
            match *role {
                InputRole::PedButton(p) => f.ped_buttons.insert(p),
                InputRole::Transit(p) => f.transit.insert(p),
                InputRole::Door => f.door_open = true,
                InputRole::Preempt(n) => {
                    if (1..=8).contains(&n) {
                        f.preempt |= 1 << (n - 1);
                    }
                }
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::gpio::Line;
    use crate::hal::sim::gpio::{FakeGpio, FakeLines};
    use crate::signal::phase::PhaseId;

    const BOARD: &str = r#"
[board]
name = "t"
chip = "fake"
flash_transfer = 0
[inputs]
debounce_ms = 30
door = 10
ped_button = [{ phase = 2, line = 11 }, { phase = 4, line = 12 }]
preempt = [{ number = 2, line = 13 }]
transit = [{ phase = 6, line = 14 }]
"#;

    fn l(o: u32) -> Line {
        Line { chip: 0, offset: o }
    }

    fn setup() -> (FakeGpio, GpioInputs<FakeLines>) {
        let board = Board::parse(BOARD, "t.toml").unwrap();
        let g = FakeGpio::new();
        for o in 10..=14 {
            g.drive(l(o), true); // pull-ups: idle high
        }
        let lines = g.request_inputs(&board.input_lines()).unwrap();
        (g, GpioInputs::new(&board, lines).unwrap())
    }

    #[test]
    fn bounce_shorter_than_debounce_is_ignored_a_held_press_counts() {
        let (g, mut inp) = setup();
        let p2 = PhaseId::new(2).unwrap();
        assert_eq!(inp.read(Instant(0)), InputFrame::default());
        // Contact bounce: low 10 ms, high 10 ms, low 10 ms, high.
        for (t, level) in [
            (100, false),
            (110, true),
            (120, false),
            (130, true),
            (140, true),
            (200, true),
        ] {
            g.drive(l(11), level);
            assert!(!inp.read(Instant(t)).ped_buttons.contains(p2), "t={t}");
        }
        // A real press: low and held.
        g.drive(l(11), false);
        assert!(!inp.read(Instant(300)).ped_buttons.contains(p2));
        assert!(!inp.read(Instant(320)).ped_buttons.contains(p2));
        assert!(inp.read(Instant(330)).ped_buttons.contains(p2));
        // Release is debounced too.
        g.drive(l(11), true);
        assert!(inp.read(Instant(340)).ped_buttons.contains(p2));
        assert!(!inp.read(Instant(370)).ped_buttons.contains(p2));
    }

    #[test]
    fn roles_map_to_the_frame_and_read_errors_hold_state() {
        let (g, mut inp) = setup();
        for o in [10, 12, 13, 14] {
            g.drive(l(o), false);
        }
        inp.read(Instant(0));
        let f = inp.read(Instant(100));
        assert!(f.door_open);
        assert_eq!(f.preempt, 0b10, "preempt 2 is bit 1");
        assert!(f.ped_buttons.contains(PhaseId::new(4).unwrap()));
        assert!(!f.ped_buttons.contains(PhaseId::new(2).unwrap()));
        assert!(f.transit.contains(PhaseId::new(6).unwrap()));
        g.fail_io(true);
        for o in [10, 12, 13, 14] {
            g.drive(l(o), true);
        }
        assert_eq!(inp.read(Instant(500)), f, "state held while the chip fails");
        assert_eq!(inp.read_errors, 1);
        g.fail_io(false);
        inp.read(Instant(600));
        assert_eq!(inp.read(Instant(700)), InputFrame::default());
    }

    #[test]
    fn active_high_wiring_and_zero_debounce() {
        let text = BOARD.replace("debounce_ms = 30", "debounce_ms = 0\nactive_low = false");
        let board = Board::parse(&text, "t.toml").unwrap();
        let g = FakeGpio::new();
        let mut inp = GpioInputs::new(&board, g.request_inputs(&board.input_lines()).unwrap()).unwrap();
        assert_eq!(inp.read(Instant(0)), InputFrame::default());
        g.drive(l(10), true);
        assert!(inp.read(Instant(1)).door_open);
    }
}
