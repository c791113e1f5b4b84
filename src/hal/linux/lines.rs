//! Opens the board file's GPIO lines with the backend it names (`board.backend`), so the runtime
//! holds one concrete type whatever the board. A backend left out of the build is a clear start-up
//! error naming the cargo feature to enable.

use crate::hal::board::{Backend, Board};
use crate::hal::gpio::{GpioOpenError, Levels, LineRead, LineWrite};
use crate::hal::relays::{safe_levels, GpioRelays};
use crate::hal::HalError;

/// Lines of whichever backend the board file chose. Built once at start-up and owned by the driver,
/// so the size difference between backends costs nothing per tick.
#[allow(clippy::large_enum_variant)]
pub enum BoardLines {
    #[cfg(feature = "gpio-cdev")]
    Cdev(crate::hal::linux::cdev::CdevLines),
    #[cfg(feature = "rpi")]
    Rpi(crate::hal::linux::rpi::RpiLines),
    /// Keeps the type inhabited in builds without a GPIO backend (never constructed there).
    #[doc(hidden)]
    None(core::convert::Infallible),
}

fn missing(feature: &str) -> GpioOpenError {
    GpioOpenError::Unsupported(format!(
        "the board file uses backend `{feature}`, which this build does not include (fix: build with `--features {feature}`)"
    ))
}

/// Claims the relay output lines, de-energised (flash) from the first instant.
pub fn open_outputs(board: &Board) -> Result<BoardLines, GpioOpenError> {
    let lines = board.output_lines();
    let initial = safe_levels(board);
    match board.backend {
        #[cfg(feature = "gpio-cdev")]
        Backend::Cdev => crate::hal::linux::cdev::CdevLines::open(
            &board.chips,
            &lines,
            crate::hal::linux::cdev::Direction::Output(initial),
        )
        .map(BoardLines::Cdev),
        #[cfg(feature = "rpi")]
        Backend::Rpi => crate::hal::linux::rpi::RpiLines::open(&lines, initial, None).map(BoardLines::Rpi),
        #[allow(unreachable_patterns)]
        other => {
            let _ = (lines, initial);
            Err(missing(if other == Backend::Rpi { "rpi" } else { "gpio-cdev" }))
        }
    }
}

/// Claims the input lines.
pub fn open_inputs(board: &Board) -> Result<BoardLines, GpioOpenError> {
    let lines = board.input_lines();
    match board.backend {
        #[cfg(feature = "gpio-cdev")]
        Backend::Cdev => crate::hal::linux::cdev::CdevLines::open(
            &board.chips,
            &lines,
            crate::hal::linux::cdev::Direction::Input(board.input_bias),
        )
        .map(BoardLines::Cdev),
        #[cfg(feature = "rpi")]
        Backend::Rpi => {
            crate::hal::linux::rpi::RpiLines::open(&lines, Levels(0), Some(board.input_bias)).map(BoardLines::Rpi)
        }
        #[allow(unreachable_patterns)]
        other => {
            let _ = lines;
            Err(missing(if other == Backend::Rpi { "rpi" } else { "gpio-cdev" }))
        }
    }
}

/// The relay driver on the board's own lines.
pub fn open_relays(board: &Board) -> Result<GpioRelays<BoardLines>, GpioOpenError> {
    GpioRelays::new(board, open_outputs(board)?)
}

impl LineRead for BoardLines {
    fn len(&self) -> usize {
        match self {
            #[cfg(feature = "gpio-cdev")]
            BoardLines::Cdev(l) => l.len(),
            #[cfg(feature = "rpi")]
            BoardLines::Rpi(l) => l.len(),
            BoardLines::None(n) => match *n {},
        }
    }
    fn read(&mut self) -> Result<Levels, HalError> {
        match self {
            #[cfg(feature = "gpio-cdev")]
            BoardLines::Cdev(l) => l.read(),
            #[cfg(feature = "rpi")]
            BoardLines::Rpi(l) => l.read(),
            BoardLines::None(n) => match *n {},
        }
    }
}

impl LineWrite for BoardLines {
    fn write(&mut self, levels: Levels) -> Result<(), HalError> {
        let _ = &levels; // unused only in builds without a GPIO backend
        match self {
            #[cfg(feature = "gpio-cdev")]
            BoardLines::Cdev(l) => l.write(levels),
            #[cfg(feature = "rpi")]
            BoardLines::Rpi(l) => l.write(levels),
            BoardLines::None(n) => match *n {},
        }
    }
}

/// The debounced inputs on the board's own lines.
pub fn open_board_inputs(board: &Board) -> Result<crate::hal::inputs::GpioInputs<BoardLines>, GpioOpenError> {
    crate::hal::inputs::GpioInputs::new(board, open_inputs(board)?)
}
