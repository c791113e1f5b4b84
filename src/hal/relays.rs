//! Relay driver: writes the output frame to the signal-head relays over GPIO lines and reads every
//! line back.
//!
//! The exact frame the conflict monitor approved is turned into one set of line levels (lamp bits
//! per head through the board file's map, active-low applied) and written in one call, with the
//! flash-transfer relay energised. The read-back compares every line with what was written; any
//! difference (welded relay, shorted or stolen line, chip fault) is
//! [`HalError::ReadBackMismatch`], which the controller latches as a fault → flash (DESIGN.md 5.4).
//!
//! De-energised is the safe state: all lamp relays off and the flash-transfer relay released, so
//! the cabinet flasher takes the heads. Lines are claimed in that state and returned to it by
//! [`GpioRelays::release_to_flash`] and on `Drop` — but `Drop` does not run on SIGKILL, abort or
//! power loss: the watchdog and the flash-transfer wiring are the real safety net.
//!
//! Cost per tick: one write and one read of the line set (two ioctls with gpio-cdev), a loop over at
//! most [`GPIO_LINES`] roles; no allocation.

use crate::hal::board::{Board, OutputRole};
use crate::hal::gpio::{GpioOpenError, Levels, LineWrite};
use crate::hal::{HalError, Relays};
use crate::limits::GPIO_LINES;
use crate::signal::frame::OutputFrame;

/// Relays on GPIO lines `L`, opened with [`Board::output_lines`] in that order.
pub struct GpioRelays<L: LineWrite> {
    lines: L,
    roles: heapless::Vec<OutputRole, GPIO_LINES>,
    active_low: bool,
    written: OutputFrame,
    written_levels: Levels,
}

/// Physical levels that leave every relay de-energised (the state to claim lines in).
pub fn safe_levels(board: &Board) -> Levels {
    if board.outputs_active_low {
        Levels(Levels::mask(board.outputs.len()))
    } else {
        Levels(0)
    }
}

impl<L: LineWrite> GpioRelays<L> {
    /// `lines` must hold exactly `board.output_lines()`, in order, claimed at [`safe_levels`].
    pub fn new(board: &Board, lines: L) -> Result<GpioRelays<L>, GpioOpenError> {
        if lines.len() != board.outputs.len() {
            return Err(GpioOpenError::Unsupported(format!(
                "relay request holds {} lines, the board file names {}",
                lines.len(),
                board.outputs.len()
            )));
        }
        let roles = board.outputs.iter().map(|o| o.role).collect();
        Ok(GpioRelays {
            lines,
            roles,
            active_low: board.outputs_active_low,
            written: OutputFrame::DARK,
            written_levels: safe_levels(board),
        })
    }

    fn levels(&self, frame: &OutputFrame, in_control: bool) -> Levels {
        let mut lv = Levels(0);
        for (i, role) in self.roles.iter().enumerate() {
            let energise = in_control
                && match *role {
                    OutputRole::Veh { phase, lamp } => frame.veh.get(phase.index()).is_some_and(|b| b & lamp != 0),
                    OutputRole::Ped { phase, lamp } => frame.ped.get(phase.index()).is_some_and(|b| b & lamp != 0),
                    OutputRole::FlashTransfer => true,
                };
            lv.set(i, energise != self.active_low);
        }
        lv
    }

    /// The lamps `levels` show, starting from `base` for lamps that have no relay.
    fn frame_of(&self, levels: Levels, base: &OutputFrame) -> OutputFrame {
        let mut f = *base;
        for (i, role) in self.roles.iter().enumerate() {
            let on = levels.get(i) != self.active_low;
            let (slot, bit) = match *role {
                OutputRole::Veh { phase, lamp } => (f.veh.get_mut(phase.index()), lamp),
                OutputRole::Ped { phase, lamp } => (f.ped.get_mut(phase.index()), lamp),
                OutputRole::FlashTransfer => (None, 0),
            };
            if let Some(b) = slot {
                if on {
                    *b |= bit;
                } else {
                    *b &= !bit;
                }
            }
        }
        f
    }

    /// De-energise every relay: lamps off and the flash-transfer relay released, so the cabinet
    /// flasher drives the heads.
    pub fn release_to_flash(&mut self) -> Result<(), HalError> {
        let lv = self.levels(&OutputFrame::DARK, false);
        self.written = OutputFrame::DARK;
        self.written_levels = lv;
        self.lines.write(lv)
    }

    /// The lines, for tests and diagnostics.
    pub fn lines(&self) -> &L {
        &self.lines
    }
}

impl<L: LineWrite> Relays for GpioRelays<L> {
    fn write(&mut self, frame: &OutputFrame) -> Result<(), HalError> {
        let lv = self.levels(frame, true);
        self.lines.write(lv)?;
        self.written = *frame;
        self.written_levels = lv;
        Ok(())
    }

    /// The frame if every line reads back as written; otherwise `ReadBackMismatch` with the lamps
    /// the lines show. A released flash-transfer relay (the flasher has the heads) reads as a dark
    /// frame.
    fn read_back(&mut self) -> Result<OutputFrame, HalError> {
        let got = self.lines.read()?;
        let mask = Levels::mask(self.roles.len());
        if got.0 & mask == self.written_levels.0 & mask {
            return Ok(self.written);
        }
        let ftr_lost = self.roles.iter().enumerate().any(|(i, r)| {
            *r == OutputRole::FlashTransfer && got.get(i) != self.written_levels.get(i) && got.get(i) == self.active_low
        });
        let read = if ftr_lost {
            OutputFrame::DARK
        } else {
            self.frame_of(got, &self.written)
        };
        Err(HalError::ReadBackMismatch {
            wrote: self.written,
            read,
        })
    }
}

impl<L: LineWrite> Drop for GpioRelays<L> {
    fn drop(&mut self) {
        let _ = self.release_to_flash();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::gpio::Line;
    use crate::hal::sim::gpio::{FakeGpio, FakeLines};
    use crate::signal::frame::{lamp, ped_lamp, Aspect};
    use crate::signal::phase::PhaseId;

    const BOARD: &str = r#"
[board]
name = "t"
chip = "fake"
active_low = true
flash_transfer = 0
[[head]]
phase = 2
red = 1
yellow = 2
green = 3
[[head]]
phase = 4
red = 4
yellow = 5
green = 6
[[ped]]
phase = 2
walk = 7
dont_walk = 8
"#;

    fn setup() -> (FakeGpio, Board, GpioRelays<FakeLines>) {
        let board = Board::parse(BOARD, "t.toml").unwrap();
        let gpio = FakeGpio::new();
        let lines = gpio
            .request_outputs(&board.output_lines(), safe_levels(&board))
            .unwrap();
        let relays = GpioRelays::new(&board, lines).unwrap();
        (gpio, board, relays)
    }

    fn l(offset: u32) -> Line {
        Line { chip: 0, offset }
    }

    fn p(n: u8) -> PhaseId {
        PhaseId::new(n).unwrap()
    }

    /// Active-low: an energised relay is a low line.
    fn energised(g: &FakeGpio, offset: u32) -> bool {
        !g.level(l(offset))
    }

    #[test]
    fn claimed_de_energised_and_writes_the_frame_active_low() {
        let (g, _b, mut r) = setup();
        assert!((0..=8).all(|o| !energised(&g, o)), "claimed in flash state");
        let mut f = OutputFrame::ALL_RED;
        f.set_aspect(p(2), Aspect::Green);
        f.ped[1] = ped_lamp::WALK;
        r.write(&f).unwrap();
        let on: Vec<u32> = (0..=8).filter(|&o| energised(&g, o)).collect();
        // flash transfer, phase 2 green, phase 4 red, walk
        assert_eq!(on, [0, 3, 4, 7]);
        assert_eq!(r.read_back(), Ok(f));
    }

    #[test]
    fn stuck_relay_is_a_read_back_mismatch_naming_the_lamp() {
        let (g, _b, mut r) = setup();
        let f = OutputFrame::ALL_RED;
        r.write(&f).unwrap();
        g.stick(l(6), Some(false)); // phase 4 green relay welded on (line held low)
        r.write(&f).unwrap();
        match r.read_back() {
            Err(HalError::ReadBackMismatch { wrote, read }) => {
                assert_eq!(wrote, f);
                assert_eq!(read.veh[3], lamp::RED | lamp::GREEN);
                assert_eq!(read.aspect(p(4)), Aspect::Dual);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lost_flash_transfer_reads_dark_and_chip_errors_pass_through() {
        let (g, _b, mut r) = setup();
        g.stick(l(0), Some(true)); // released
        r.write(&OutputFrame::ALL_RED).unwrap();
        assert_eq!(
            r.read_back(),
            Err(HalError::ReadBackMismatch {
                wrote: OutputFrame::ALL_RED,
                read: OutputFrame::DARK
            })
        );
        g.fail_io(true);
        assert_eq!(r.write(&OutputFrame::ALL_RED), Err(HalError::Os(nix::libc::EIO)));
        assert!(r.read_back().is_err());
    }

    #[test]
    fn drop_releases_to_flash() {
        let (g, _b, mut r) = setup();
        r.write(&OutputFrame::ALL_RED).unwrap();
        assert!(energised(&g, 0));
        drop(r);
        assert!((0..=8).all(|o| !energised(&g, o)));
        assert!(!g.claimed(l(0)));
    }

    #[test]
    fn request_must_match_the_board() {
        let board = Board::parse(BOARD, "t.toml").unwrap();
        let g = FakeGpio::new();
        let lines = g.request_outputs(&[l(0), l(1)], Levels(0)).unwrap();
        assert!(GpioRelays::new(&board, lines).is_err());
    }
}
