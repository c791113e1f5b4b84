//! Board description (`board/<board>.toml`): which GPIO line drives which lamp relay, which lines
//! are cabinet inputs, and where the console tty and the watchdog are.
//!
//! Lines are `OFFSET` (on the first chip) or `"CHIP:OFFSET"` (chip index into `chips`), so a board
//! can combine the SoC's header GPIO with I/O expanders (e.g. two MCP23017 on I²C, which the kernel
//! exposes as further gpiochips). Each chip names its driver: `"cdev"` (Linux GPIO character
//! device, v2 uAPI, feature `gpio-cdev`) or `"rpi"` (Raspberry Pi SoC GPIO through rppal, feature
//! `rpi`). Validation rejects a line used twice, a line beyond 63, a chip that does not exist, and a
//! head for a phase the site does not have; errors name the file, line and field.
//!
//! Loop detectors are inputs too (`kind = "detector"`, [`LoopConfig`]): each feeds one site
//! detector (`channel`), at most one loop per detector, with debounce and diagnostic limits in
//! range; [`Board::check_detectors`] checks them against the site.
//!
//! The `[mmu]` section is the cabinet's compatibility card ([`mmu`]): the channel pairs that may run
//! together, the flashing-yellow-arrow pairs and the minimum intervals. The conflict monitor
//! (`monitor::card`) builds its card from it and trusts it instead of the site file; a board without
//! one is refused by `monitor::card::check_board` (so by `greenwave run` and `greenwave check
//! --board`); it can be produced from a reviewed site with `greenwave check --site S --print-card`.
//!
//! A validated [`Board`] is read-only (its data is reached through `Deref`); the hardware is built
//! from it in `hal` (`hal::gpio`, `hal::linux::bank`).
//!
//! ```compile_fail
//! let b = greenwave::config::board::Board::load(std::path::Path::new("board/rpi4.toml")).unwrap();
//! let mut b = b;
//! b.active_low = false; // a validated board has no writable fields
//! ```
//!
//! Wiring principle (NEMA TS2 / Caltrans 332 cabinets): the controller holds the flash-transfer
//! relay energised while it runs; a de-energised board (crash, watchdog reset, power loss, clean
//! stop) lets the relay fall back and the cabinet's flasher takes the heads.

mod file;
pub mod mmu;
mod parse;
#[cfg(test)]
mod tests;

use super::diag::{ConfigError, Source, NO_SPAN};
use super::Site;
use crate::limits::{MAX_PHASES, NAME_LEN};
use crate::phase::PhaseId;
pub use mmu::MmuCardData;
use std::path::Path;

/// A board-file error: the one configuration error type ([`ConfigError`]).
pub type BoardError = ConfigError;

/// GPIO chips one board may use.
pub const MAX_CHIPS: usize = 4;
/// Cabinet input lines: push buttons, preempt, transit and door (16) plus one loop detector per
/// detector channel.
pub const MAX_INPUTS: usize = 16 + MAX_LOOPS;
/// Loop detector inputs (one per detector channel).
pub const MAX_LOOPS: usize = crate::limits::MAX_DETECTORS;
/// Paths in a board file.
pub const PATH_LEN: usize = 64;

/// A GPIO line: chip index and offset on that chip (< 64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LineRef {
    pub chip: u8,
    pub offset: u8,
}

impl core::fmt::Display for LineRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.chip, self.offset)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChipDriver {
    Cdev,
    Rpi,
    /// In-memory lines (`hal::sim::gpio::FakeGpio`): dry runs of `greenwave run` on a host.
    Fake,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chip {
    pub path: heapless::String<PATH_LEN>,
    pub driver: ChipDriver,
}

/// Relay lines of one vehicle head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadLines {
    pub red: LineRef,
    pub yellow: LineRef,
    pub green: LineRef,
    /// The flashing-yellow-arrow section of a four-section left-turn head (MUTCD 4D.20), if any.
    pub fya: Option<LineRef>,
}

/// Relay lines of one pedestrian head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PedLines {
    pub walk: LineRef,
    pub dont_walk: LineRef,
}

/// One loop channel as configured (the board file's `[[input]] kind = "detector"`); run by
/// `detect::loops`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopConfig {
    /// Site detector number this channel feeds (1-based).
    pub detector: u8,
    /// A level must hold this long before it is believed.
    pub debounce_ms: u32,
    /// Longest believable presence; 0 = no check.
    pub max_presence_ms: u32,
    /// Longest believable time without an actuation; 0 = no check.
    pub no_activity_ms: u32,
    /// Most believable presence changes per minute; 0 = no check.
    pub max_changes_per_min: u16,
}

impl LoopConfig {
    /// Defaults a traffic engineer would start from: 50 ms debounce (contact bounce of a detector
    /// card's relay output), 5 min max presence, 30 min without activity, 120 changes per minute
    /// (two per second: faster than any lane can pass vehicles).
    pub const fn with_defaults(detector: u8) -> LoopConfig {
        LoopConfig {
            detector,
            debounce_ms: 50,
            max_presence_ms: 300_000,
            no_activity_ms: 1_800_000,
            max_changes_per_min: 120,
        }
    }
}

/// What a cabinet input means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// Pedestrian push button for the crossing of this phase.
    Ped(PhaseId),
    /// Emergency preempt input number (1..=8).
    Preempt(u8),
    /// Transit priority request for this phase.
    Transit(PhaseId),
    /// Cabinet door switch (closed = door shut).
    Door,
    /// A loop detector card's output for one channel (contact closed = vehicle over the loop),
    /// with its debounce and diagnostics (run by `detect::loops`).
    Detector(LoopConfig),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputLine {
    pub kind: InputKind,
    pub line: LineRef,
    /// The input is active when the line reads low (switch to ground with a pull-up).
    pub active_low: bool,
    /// Line of its `[[input]]` table in the board file (0 when not from a file), for errors of
    /// checks against a site.
    pub file_line: usize,
}

/// What a validated [`Board`] holds, read through `Deref`. Fixed size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardData {
    pub name: heapless::String<NAME_LEN>,
    pub chips: heapless::Vec<Chip, MAX_CHIPS>,
    /// Relay outputs energise on a low level (most opto-isolated relay boards).
    pub active_low: bool,
    pub heads: [Option<HeadLines>; MAX_PHASES],
    pub peds: [Option<PedLines>; MAX_PHASES],
    /// Held energised while the controller runs (see the module docs).
    pub flash_transfer: Option<LineRef>,
    pub inputs: heapless::Vec<InputLine, MAX_INPUTS>,
    pub debounce_ms: u32,
    pub console: Option<heapless::String<PATH_LEN>>,
    pub baud: u32,
    pub watchdog: Option<heapless::String<PATH_LEN>>,
    pub watchdog_timeout_s: u32,
    pub event_dir: heapless::String<PATH_LEN>,
    pub state_dir: heapless::String<PATH_LEN>,
    /// Byte budget of the camera snapshots in `<state_dir>/snapshots`, MiB (oldest deleted first).
    pub snapshot_budget_mib: u32,
    /// The compatibility card (`[mmu]`), if the file has one.
    pub mmu: Option<MmuCardData>,
    /// Line of the `[mmu]` section (0 without one), for errors.
    pub mmu_line: usize,
    /// The NTCIP 1202 SNMP agent (`[snmp]`, `config::snmp`); none without the table.
    pub snmp: Option<crate::config::snmp::SnmpConfig>,
    /// Fleet telemetry (`[mqtt]`, `config::mqtt`); None: off.
    pub mqtt: Option<crate::config::mqtt::MqttConfig>,
}

/// A validated board: produced only by [`Board::parse`] / [`Board::load`]; read through `Deref` to
/// [`BoardData`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board(BoardData);

impl core::ops::Deref for Board {
    type Target = BoardData;
    fn deref(&self) -> &BoardData {
        &self.0
    }
}

impl Board {
    /// Reads and validates a board file, and checks that no GPIO chip is listed twice under two
    /// names of one device.
    pub fn load(path: &Path) -> Result<Board, BoardError> {
        let file = path.display().to_string();
        let text = super::file::read_text(path, crate::limits::CONFIG_FILE_MAX_BYTES)
            .map_err(|e| super::diag::unreadable(&file, "board file", e, "check the path (board/*.toml)"))?;
        let board = Board::parse(&text, &file)?;
        board.check_chip_identities(&text, &file)?;
        Ok(board)
    }

    /// Two chip paths spelled differently may name one device (a symlink such as
    /// `/dev/gpiochip-header` → `/dev/gpiochip0`, or `/sys/…` vs `/dev/…`): compare what the paths
    /// resolve to — the device number of a character device, else file system and inode — for every
    /// chip whose path exists on this machine (a workstation checking a board file has no
    /// `/dev/gpiochip*`; `run` opens the devices and fails on a missing one anyway).
    pub fn check_chip_identities(&self, text: &str, file: &str) -> Result<(), BoardError> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let mut seen: heapless::Vec<(usize, (u64, u64)), MAX_CHIPS> = heapless::Vec::new();
        for (i, c) in self.chips.iter().enumerate() {
            if c.driver != ChipDriver::Cdev {
                continue;
            }
            let Ok(m) = std::fs::metadata(c.path.as_str()) else {
                continue;
            };
            let id = if m.file_type().is_char_device() {
                (u64::MAX, m.rdev())
            } else {
                (m.dev(), m.ino())
            };
            if let Some((j, _)) = seen.iter().find(|(_, other)| *other == id) {
                return Err(Source::new(text, file).err(
                    NO_SPAN,
                    "board.chips",
                    format!(
                        "chip {i} (`{}`) and chip {j} (`{}`) are the same device",
                        c.path,
                        self.chips.get(*j).map_or("", |e| e.path.as_str())
                    ),
                    "list each GPIO chip once; two entries for one chip would let two relays share a physical line",
                ));
            }
            let _ = seen.push((i, id));
        }
        Ok(())
    }

    /// Parses and validates board TOML; `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<Board, BoardError> {
        parse::board(Source::new(text, file)).map(Board)
    }

    /// Checks the wiring against a site: every configured phase has a head (with a flashing-yellow-
    /// arrow section for a permissive left turn), every crossing a pedestrian head, and nothing is
    /// wired for phases the site lacks. The `[mmu]` card is checked by `monitor::card::check_board`.
    pub fn check_heads(&self, site: &Site, file: &str) -> Result<(), BoardError> {
        let e = |msg: String, fix: &str| ConfigError::whole(file, "head/ped", msg, fix);
        for p in PhaseId::all() {
            let ph = site.phase(p);
            let head = self.heads.get(p.index()).copied().flatten();
            let ped = self.peds.get(p.index()).copied().flatten();
            match (ph, head) {
                (Some(_), None) => {
                    return Err(e(
                        format!("site phase {p} has no [[head]] on this board"),
                        "wire a head for every site phase",
                    ))
                }
                (None, Some(_)) => {
                    return Err(e(
                        format!("[[head]] for phase {p}, which the site does not have"),
                        "remove it or use the matching site",
                    ))
                }
                _ => {}
            }
            if ph.is_some_and(|x| x.permissive.is_some()) && head.is_some_and(|h| h.fya.is_none()) {
                return Err(e(
                    format!("site phase {p} is a protected/permissive left turn, but its [[head]] has no `fya` line"),
                    "wire the flashing-yellow-arrow section: fya = \"CHIP:OFFSET\"",
                ));
            }
            if ph.is_some_and(|x| x.ped.is_some()) && ped.is_none() {
                return Err(e(
                    format!("site phase {p} has a crossing but no [[ped]] head"),
                    "wire the pedestrian head",
                ));
            }
        }
        Ok(())
    }
}

impl BoardData {
    /// The loop detector channels, in the order of their `[[input]]` tables (bit `i` of
    /// `InputFrame::loops` is the `i`-th).
    pub fn loop_configs(&self) -> heapless::Vec<LoopConfig, MAX_LOOPS> {
        let mut v = heapless::Vec::new();
        for i in &self.inputs {
            if let InputKind::Detector(c) = i.kind {
                // Parsing refuses more loops than `MAX_LOOPS` (one per detector channel).
                let _ = v.push(c);
            }
        }
        v
    }
}

impl Board {
    /// Checks the loop detector inputs against a site: each feeds a detector the site configures,
    /// with a max presence no shorter than the site's longest cycle.
    /// (Site detectors with no loop are not an error: a camera zone may feed them, and without any
    /// source they read `unknown`, which the planner treats as a failed detector.)
    pub fn check_detectors(&self, site: &Site, file: &str) -> Result<(), BoardError> {
        for i in &self.inputs {
            let InputKind::Detector(c) = i.kind else { continue };
            let known = site
                .detectors
                .get(usize::from(c.detector.saturating_sub(1)))
                .is_some_and(|d| d.is_some());
            if !known {
                return Err(ConfigError {
                    file: file.into(),
                    line: i.file_line,
                    field: "input.channel".into(),
                    message: format!(
                        "loop input on line {} feeds detector {}, which site \"{}\" does not have",
                        i.line, c.detector, site.name
                    ),
                    fix: "use a detector number of the site's [[detector]] tables, or add the detector to the site"
                        .into(),
                });
            }
            // A vehicle may stand on a stop-bar loop through a whole red, which is shorter than
            // the longest cycle: a shorter max presence would call a queue a shorted loop.
            if c.max_presence_ms != 0 && c.max_presence_ms < site.cycle_max_ms {
                return Err(ConfigError {
                    file: file.into(),
                    line: i.file_line,
                    field: "input.max_presence_s".into(),
                    message: format!(
                        "loop of detector {}: max presence {} s is shorter than the site's longest cycle ({} s)",
                        c.detector,
                        c.max_presence_ms / 1000,
                        site.cycle_max_ms / 1000
                    ),
                    fix: format!(
                        "use at least {} s (a vehicle may wait on the loop through a whole red), or 0 to turn the check off",
                        site.cycle_max_ms.div_ceil(1000)
                    ),
                });
            }
        }
        Ok(())
    }
}

/// A path with `.`, empty and `..` components resolved lexically (no file system access), so
/// `/dev//gpiochip0` and `/dev/../dev/gpiochip0` compare equal to `/dev/gpiochip0`.
fn lexical_path(p: &str) -> heapless::Vec<&str, 32> {
    let mut parts: heapless::Vec<&str, 32> = heapless::Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => {
                let _ = parts.push(c);
            }
        }
    }
    parts
}
