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
//! The `[mmu]` section is the cabinet's compatibility card ([`mmu`], `monitor::card`): the channel
//! pairs that may run together, the flashing-yellow-arrow pairs and the minimum intervals. The
//! conflict monitor trusts it instead of the site file. A board without one is refused by
//! [`Board::check_site`] (so by `greenwave run` and `greenwave check --board`); it can be produced
//! from a reviewed site with `greenwave check --site S --print-card`.
//!
//! Wiring principle (NEMA TS2 / Caltrans 332 cabinets): the controller holds the flash-transfer
//! relay energised while it runs; a de-energised board (crash, watchdog reset, power loss, clean
//! stop) lets the relay fall back and the cabinet's flasher takes the heads.

mod mmu;

use crate::limits::{MAX_PHASES, NAME_LEN};
use crate::monitor::card::MmuCard;
use crate::signal::phase::PhaseId;
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// GPIO chips one board may use.
pub const MAX_CHIPS: usize = 4;
/// Cabinet input lines.
pub const MAX_INPUTS: usize = 16;
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputLine {
    pub kind: InputKind,
    pub line: LineRef,
    /// The input is active when the line reads low (switch to ground with a pull-up).
    pub active_low: bool,
}

/// A validated board. Fixed size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board {
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
    /// The compatibility card (`[mmu]`), if the file has one.
    pub mmu: Option<MmuCard>,
    /// Line of the `[mmu]` section (0 without one), for errors.
    pub mmu_line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BoardFile {
    board: Spanned<BoardSection>,
    #[serde(default)]
    head: Vec<Spanned<HeadSection>>,
    #[serde(default)]
    ped: Vec<Spanned<PedSection>>,
    #[serde(default)]
    input: Vec<Spanned<InputSection>>,
    #[serde(default)]
    mmu: Option<Spanned<mmu::MmuSection>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChipSection {
    path: Spanned<String>,
    driver: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BoardSection {
    name: Spanned<String>,
    chips: Spanned<Vec<ChipSection>>,
    #[serde(default)]
    active_low: bool,
    flash_transfer: Option<Spanned<toml::Value>>,
    #[serde(default = "default_debounce")]
    debounce_ms: Spanned<i64>,
    console: Option<Spanned<String>>,
    #[serde(default = "default_baud")]
    baud: Spanned<i64>,
    watchdog: Option<Spanned<String>>,
    #[serde(default = "default_wd_timeout")]
    watchdog_timeout_s: Spanned<i64>,
    #[serde(default = "default_event_dir")]
    event_dir: Spanned<String>,
    #[serde(default = "default_state_dir")]
    state_dir: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadSection {
    phase: Spanned<i64>,
    red: Spanned<toml::Value>,
    yellow: Spanned<toml::Value>,
    green: Spanned<toml::Value>,
    #[serde(default)]
    fya: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PedSection {
    phase: Spanned<i64>,
    walk: Spanned<toml::Value>,
    dont_walk: Spanned<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSection {
    kind: Spanned<String>,
    #[serde(default)]
    phase: Option<Spanned<i64>>,
    #[serde(default)]
    number: Option<Spanned<i64>>,
    line: Spanned<toml::Value>,
    #[serde(default = "yes")]
    active_low: bool,
}

fn sp<T>(v: T) -> Spanned<T> {
    Spanned::new(0..0, v)
}
fn default_debounce() -> Spanned<i64> {
    sp(30)
}
fn default_baud() -> Spanned<i64> {
    sp(115_200)
}
fn default_wd_timeout() -> Spanned<i64> {
    sp(10)
}
fn default_event_dir() -> Spanned<String> {
    sp("/var/log/greenwave".into())
}
fn default_state_dir() -> Spanned<String> {
    sp("/var/lib/greenwave".into())
}
fn yes() -> bool {
    true
}

/// A board-file error: file, line, field, message and fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
    pub fix: String,
}

impl core::fmt::Display for BoardError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} line {}: `{}`: {} (fix: {})",
            self.file, self.line, self.field, self.message, self.fix
        )
    }
}

struct V<'a> {
    text: &'a str,
    file: &'a str,
}

impl V<'_> {
    fn err(
        &self,
        span: core::ops::Range<usize>,
        field: &str,
        msg: impl Into<String>,
        fix: impl Into<String>,
    ) -> BoardError {
        BoardError {
            file: self.file.into(),
            line: self.line_of(span),
            field: field.into(),
            message: msg.into(),
            fix: fix.into(),
        }
    }

    /// 1-based line of a span (0 for a default value without a span): newlines before it + 1, also
    /// right for a span at the start of a line.
    fn line_of(&self, span: core::ops::Range<usize>) -> usize {
        if span.start == 0 && span.end == 0 {
            return 0;
        }
        let end = span.start.min(self.text.len());
        self.text.bytes().take(end).filter(|&b| b == b'\n').count() + 1
    }

    fn path(&self, v: &Spanned<String>, field: &str) -> Result<heapless::String<PATH_LEN>, BoardError> {
        heapless::String::try_from(v.get_ref().as_str()).map_err(|_| {
            self.err(
                v.span(),
                field,
                "path too long",
                format!("use at most {PATH_LEN} bytes"),
            )
        })
    }

    fn line(&self, v: &Spanned<toml::Value>, field: &str, nchips: usize) -> Result<LineRef, BoardError> {
        let bad = || {
            self.err(
                v.span(),
                field,
                format!("`{}` is not a GPIO line", v.get_ref()),
                "write OFFSET (first chip) or \"CHIP:OFFSET\", e.g. 17 or \"1:4\"",
            )
        };
        let (chip, offset) = match v.get_ref() {
            toml::Value::Integer(o) => (0i64, *o),
            toml::Value::String(s) => {
                let (c, o) = s.split_once(':').ok_or_else(bad)?;
                (
                    c.trim().parse().map_err(|_| bad())?,
                    o.trim().parse().map_err(|_| bad())?,
                )
            }
            _ => return Err(bad()),
        };
        if chip < 0 || chip as usize >= nchips {
            return Err(self.err(
                v.span(),
                field,
                format!("chip {chip} is not in `board.chips` ({nchips} listed)"),
                "list the chip in board.chips or correct the index",
            ));
        }
        if !(0..64).contains(&offset) {
            return Err(self.err(
                v.span(),
                field,
                format!("line offset {offset} is out of range"),
                "GPIO offsets are 0 to 63",
            ));
        }
        Ok(LineRef {
            chip: chip as u8,
            offset: offset as u8,
        })
    }

    fn phase(&self, v: &Spanned<i64>, field: &str) -> Result<PhaseId, BoardError> {
        u8::try_from(*v.get_ref()).ok().and_then(PhaseId::new).ok_or_else(|| {
            self.err(
                v.span(),
                field,
                format!("phase {} does not exist", v.get_ref()),
                format!("phases are 1 to {MAX_PHASES}"),
            )
        })
    }
}

impl Board {
    pub fn load(path: &Path) -> Result<Board, BoardError> {
        let file = path.display().to_string();
        let text =
            crate::config::file::read_text(path, crate::limits::CONFIG_FILE_MAX_BYTES).map_err(|e| BoardError {
                file: file.clone(),
                line: 0,
                field: String::new(),
                message: format!("cannot read the board file: {e}"),
                fix: "check the path (board/*.toml)".into(),
            })?;
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
                let v = V { text, file };
                return Err(v.err(
                    0..0,
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

    pub fn parse(text: &str, file: &str) -> Result<Board, BoardError> {
        let v = V { text, file };
        let raw: BoardFile = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let msg = e.message().trim().to_string();
            let field = msg.split('`').nth(1).unwrap_or("").to_string();
            v.err(span, &field, msg, "see board/rpi4.toml for a complete board file")
        })?;
        let b = raw.board.get_ref();
        let name = heapless::String::try_from(b.name.get_ref().as_str()).map_err(|_| {
            v.err(
                b.name.span(),
                "board.name",
                "name too long",
                format!("at most {NAME_LEN} bytes"),
            )
        })?;
        let mut chips = heapless::Vec::new();
        for c in b.chips.get_ref() {
            let driver = match c.driver.get_ref().as_str() {
                "cdev" => ChipDriver::Cdev,
                "rpi" => ChipDriver::Rpi,
                "fake" => ChipDriver::Fake,
                other => return Err(v.err(
                    c.driver.span(),
                    "board.chips.driver",
                    format!("unknown driver `{other}`"),
                    "use \"cdev\" (GPIO character device), \"rpi\" (Raspberry Pi SoC via rppal) or \"fake\" (dry run)",
                )),
            };
            chips
                .push(Chip {
                    path: v.path(&c.path, "board.chips.path")?,
                    driver,
                })
                .map_err(|_| {
                    v.err(
                        b.chips.span(),
                        "board.chips",
                        "too many chips",
                        format!("at most {MAX_CHIPS}"),
                    )
                })?;
        }
        for (i, c) in chips.iter().enumerate() {
            let earlier = chips.iter().take(i).position(|e: &Chip| {
                (c.driver == ChipDriver::Rpi && e.driver == ChipDriver::Rpi)
                    || (c.driver == e.driver && lexical_path(c.path.as_str()) == lexical_path(e.path.as_str()))
            });
            if let Some(j) = earlier {
                return Err(v.err(
                    b.chips.span(),
                    "board.chips",
                    format!(
                        "chip {i} (`{}`) is chip {j} (`{}`) again",
                        c.path,
                        chips.get(j).map_or("", |e: &Chip| e.path.as_str())
                    ),
                    "list each GPIO chip once; two entries for one chip would let two relays share a physical line",
                ));
            }
        }
        if chips.is_empty() {
            return Err(v.err(
                b.chips.span(),
                "board.chips",
                "no GPIO chip",
                "list at least one chip, e.g. [{ path = \"/dev/gpiochip0\", driver = \"cdev\" }]",
            ));
        }
        let n = chips.len();
        let mut used: heapless::Vec<LineRef, 128> = heapless::Vec::new();
        let mut claim = |l: LineRef, span: core::ops::Range<usize>, field: &str| -> Result<LineRef, BoardError> {
            if used.contains(&l) {
                return Err(v.err(
                    span,
                    field,
                    format!("line {l} is used twice"),
                    "give every relay and input its own line",
                ));
            }
            let _ = used.push(l);
            Ok(l)
        };
        let mut heads = [None; MAX_PHASES];
        for h in &raw.head {
            let h = h.get_ref();
            let p = v.phase(&h.phase, "head.phase")?;
            let slot = heads
                .get_mut(p.index())
                .ok_or_else(|| v.err(h.phase.span(), "head.phase", "bad phase", ""))?;
            if slot.is_some() {
                return Err(v.err(
                    h.phase.span(),
                    "head.phase",
                    format!("phase {p} has two heads"),
                    "one [[head]] per phase",
                ));
            }
            *slot = Some(HeadLines {
                red: claim(v.line(&h.red, "head.red", n)?, h.red.span(), "head.red")?,
                yellow: claim(v.line(&h.yellow, "head.yellow", n)?, h.yellow.span(), "head.yellow")?,
                green: claim(v.line(&h.green, "head.green", n)?, h.green.span(), "head.green")?,
                fya: match &h.fya {
                    Some(f) => Some(claim(v.line(f, "head.fya", n)?, f.span(), "head.fya")?),
                    None => None,
                },
            });
        }
        let mut peds = [None; MAX_PHASES];
        for h in &raw.ped {
            let h = h.get_ref();
            let p = v.phase(&h.phase, "ped.phase")?;
            let slot = peds
                .get_mut(p.index())
                .ok_or_else(|| v.err(h.phase.span(), "ped.phase", "bad phase", ""))?;
            if slot.is_some() {
                return Err(v.err(
                    h.phase.span(),
                    "ped.phase",
                    format!("phase {p} has two pedestrian heads"),
                    "one [[ped]] per phase",
                ));
            }
            *slot = Some(PedLines {
                walk: claim(v.line(&h.walk, "ped.walk", n)?, h.walk.span(), "ped.walk")?,
                dont_walk: claim(
                    v.line(&h.dont_walk, "ped.dont_walk", n)?,
                    h.dont_walk.span(),
                    "ped.dont_walk",
                )?,
            });
        }
        // The wiring principle (module docs) depends on this relay: without it a crash, a watchdog
        // reset or a clean stop leaves the heads dark instead of handing them to the flasher.
        let flash_transfer = match &b.flash_transfer {
            Some(l) => Some(claim(
                v.line(l, "board.flash_transfer", n)?,
                l.span(),
                "board.flash_transfer",
            )?),
            None => return Err(v.err(
                raw.board.span(),
                "board.flash_transfer",
                "no flash-transfer relay",
                "add `flash_transfer = LINE`: the line that holds the cabinet's flash-transfer relay energised while \
                     greenwave runs (released, the cabinet flasher takes the heads)",
            )),
        };
        let mut inputs = heapless::Vec::new();
        for i in &raw.input {
            let s = i.get_ref();
            let need_phase = |field: &str| -> Result<PhaseId, BoardError> {
                let p = s
                    .phase
                    .as_ref()
                    .ok_or_else(|| v.err(s.kind.span(), field, "this input needs `phase`", "add phase = N"))?;
                v.phase(p, field)
            };
            let kind = match s.kind.get_ref().as_str() {
                "ped" => InputKind::Ped(need_phase("input.phase")?),
                "transit" => InputKind::Transit(need_phase("input.phase")?),
                "door" => InputKind::Door,
                "preempt" => {
                    let num = s.number.as_ref().ok_or_else(|| {
                        v.err(
                            s.kind.span(),
                            "input.number",
                            "a preempt input needs `number`",
                            "add number = 1..8",
                        )
                    })?;
                    let k = u8::try_from(*num.get_ref())
                        .ok()
                        .filter(|k| (1..=8).contains(k))
                        .ok_or_else(|| {
                            v.err(
                                num.span(),
                                "input.number",
                                format!("preempt {} is out of range", num.get_ref()),
                                "use 1 to 8",
                            )
                        })?;
                    InputKind::Preempt(k)
                }
                other => {
                    return Err(v.err(
                        s.kind.span(),
                        "input.kind",
                        format!("unknown input kind `{other}`"),
                        "use ped, preempt, transit or door",
                    ))
                }
            };
            let line = claim(v.line(&s.line, "input.line", n)?, s.line.span(), "input.line")?;
            inputs
                .push(InputLine {
                    kind,
                    line,
                    active_low: s.active_low,
                })
                .map_err(|_| v.err(i.span(), "input", "too many inputs", format!("at most {MAX_INPUTS}")))?;
        }
        let debounce_ms = u32::try_from(*b.debounce_ms.get_ref())
            .ok()
            .filter(|d| *d <= 1000)
            .ok_or_else(|| {
                v.err(
                    b.debounce_ms.span(),
                    "board.debounce_ms",
                    "out of range",
                    "use 0 to 1000 ms (30 is typical for push buttons)",
                )
            })?;
        let baud = u32::try_from(*b.baud.get_ref())
            .map_err(|_| v.err(b.baud.span(), "board.baud", "out of range", "e.g. 115200"))?;
        let watchdog_timeout_s = u32::try_from(*b.watchdog_timeout_s.get_ref())
            .ok()
            .filter(|t| (1..=600).contains(t))
            .ok_or_else(|| {
                v.err(
                    b.watchdog_timeout_s.span(),
                    "board.watchdog_timeout_s",
                    "out of range",
                    "use 1 to 600 s (10 is typical)",
                )
            })?;
        let (card, mmu_line) = match &raw.mmu {
            Some(m) => (Some(v.mmu(m.get_ref())?), v.line_of(m.span())),
            None => (None, 0),
        };
        Ok(Board {
            name,
            chips,
            active_low: b.active_low,
            heads,
            peds,
            flash_transfer,
            inputs,
            debounce_ms,
            console: b.console.as_ref().map(|c| v.path(c, "board.console")).transpose()?,
            baud,
            watchdog: b.watchdog.as_ref().map(|c| v.path(c, "board.watchdog")).transpose()?,
            watchdog_timeout_s,
            event_dir: v.path(&b.event_dir, "board.event_dir")?,
            state_dir: v.path(&b.state_dir, "board.state_dir")?,
            mmu: card,
            mmu_line,
        })
    }

    /// Checks the board against a site: every configured phase has a head, every crossing a
    /// pedestrian head, and nothing is wired for phases the site lacks; the board has an `[mmu]`
    /// card, and the site asks for nothing the card forbids (concurrency its rings and barriers
    /// allow, flashing yellow arrows, yellow and red clearance below the card's minima).
    pub fn check_site(&self, site: &crate::config::Site, file: &str) -> Result<(), BoardError> {
        self.check_heads(site, file)?;
        let Some(card) = &self.mmu else {
            return Err(BoardError {
                file: file.into(),
                line: 0,
                field: "mmu".into(),
                message: format!(
                    "board \"{}\" has no [mmu] compatibility card: the conflict monitor checks every frame against the cabinet's own list of channels that may run together, never against the site file",
                    self.name
                ),
                fix: "run `greenwave check --site SITE --print-card`, review the printed [mmu] section against the intersection drawing, and paste it into the board file".into(),
            });
        };
        card.check_site(site).map_err(|e| {
            let field = match e {
                crate::monitor::card::CardMismatch::NotPermitted { .. } => "mmu.permitted",
                crate::monitor::card::CardMismatch::NoFya { .. } => "mmu.fya",
                crate::monitor::card::CardMismatch::ShortYellow { .. } => "mmu.min_yellow_s",
                crate::monitor::card::CardMismatch::NoMinimum { yellow: true, .. } => "mmu.min_yellow_s",
                _ => "mmu.min_red_clear_s",
            };
            BoardError {
                file: file.into(),
                line: self.mmu_line,
                field: field.into(),
                message: format!("site \"{}\": {e} of board \"{}\"", site.name, self.name),
                fix: e.fix().into(),
            }
        })
    }

    fn check_heads(&self, site: &crate::config::Site, file: &str) -> Result<(), BoardError> {
        let e = |msg: String, fix: &str| BoardError {
            file: file.into(),
            line: 0,
            field: "head/ped".into(),
            message: msg,
            fix: fix.into(),
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"
[board]
name = "test"
chips = [{ path = "/dev/gpiochip0", driver = "cdev" }, { path = "/dev/gpiochip1", driver = "cdev" }]
active_low = true
flash_transfer = "1:15"

[[head]]
phase = 2
red = 1
yellow = 2
green = "1:3"

[[ped]]
phase = 2
walk = 4
dont_walk = 5

[[input]]
kind = "ped"
phase = 2
line = 6

[[input]]
kind = "preempt"
number = 1
line = 7
"#;

    #[test]
    fn a_board_without_a_flash_transfer_relay_is_refused() {
        let text = MINI.replace("flash_transfer = \"1:15\"\n", "");
        let e = Board::parse(&text, "b.toml").unwrap_err().to_string();
        assert!(
            e.contains("board.flash_transfer") && e.contains("no flash-transfer relay"),
            "{e}"
        );
    }

    #[test]
    fn one_chip_listed_twice_is_refused_however_spelled() {
        for second in ["/dev/gpiochip0", "/dev//gpiochip0", "/dev/../dev/./gpiochip0"] {
            let text = MINI.replace("/dev/gpiochip1", second);
            let e = Board::parse(&text, "b.toml").unwrap_err().to_string();
            assert!(e.contains("board.chips") && e.contains("again"), "{second}: {e}");
        }
    }

    #[test]
    fn two_paths_to_one_device_are_refused() {
        // A symlink to an existing file stands in for /dev/gpiochipN (absent on a host).
        let dir = std::env::temp_dir().join(format!("greenwave-board-id-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let (real, link) = (dir.join("gpiochip0"), dir.join("gpiochip-header"));
        std::fs::write(&real, b"").expect("file");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let text = MINI
            .replace("/dev/gpiochip0", &real.display().to_string())
            .replace("/dev/gpiochip1", &link.display().to_string());
        let path = dir.join("b.toml");
        std::fs::write(&path, text).expect("board file");
        let e = Board::load(&path).unwrap_err().to_string();
        assert!(e.contains("are the same device"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn parses_lines_on_several_chips() {
        let b = Board::parse(MINI, "b.toml").unwrap();
        let h = b.heads[1].unwrap();
        assert_eq!(h.green, LineRef { chip: 1, offset: 3 });
        assert_eq!(b.flash_transfer, Some(LineRef { chip: 1, offset: 15 }));
        assert_eq!(b.inputs.len(), 2);
        assert_eq!(b.inputs[1].kind, InputKind::Preempt(1));
        assert_eq!(b.debounce_ms, 30);
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = Board::parse(&MINI.replace("walk = 4", "walk = 2"), "b.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("b.toml line 16") && e.contains("ped.walk") && e.contains("used twice"),
            "{e}"
        );
        let e = Board::parse(&MINI.replace("green = \"1:3\"", "green = \"5:3\""), "b.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("head.green") && e.contains("chip 5"), "{e}");
        let e = Board::parse(&MINI.replace("red = 1", "red = 99"), "b.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("head.red") && e.contains("out of range"), "{e}");
        let e = Board::parse(&MINI.replace("kind = \"ped\"", "kind = \"bell\""), "b.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("input.kind"), "{e}");
        let e = Board::parse(&MINI.replace("driver = \"cdev\" },", "driver = \"sysfs\" },"), "b.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("board.chips.driver"), "{e}");
    }
}

#[cfg(test)]
mod card_tests {
    use super::*;

    const CARD: &str = r#"
[board]
name = "card"
chips = [{ path = "/dev/gpiochip0", driver = "cdev" }]
flash_transfer = 4

[mmu]
permitted = [[1, 5], [2, 6]]
fya = [[1, 2]]
min_yellow_s = { 1 = 3.0, 2 = 3.3 }
min_red_clear_s = { 1 = 1.0, 2 = 1.9 }
"#;

    fn err(text: &str) -> BoardError {
        Board::parse(text, "card.toml").unwrap_err()
    }

    #[test]
    fn card_parses_symmetric() {
        let b = Board::parse(CARD, "card.toml").unwrap();
        let c = b.mmu.unwrap();
        let p = |n| PhaseId::new(n).unwrap();
        assert!(c.permits(p(5), p(1)) && c.permits(p(2), p(6)) && !c.permits(p(1), p(2)));
        assert_eq!(c.fya(p(1)), Some(p(2)));
        assert_eq!(c.min_yellow_ms(p(2)), 3_300);
        assert_eq!(c.min_red_clear_ms(p(1)), 1_000);
        assert_eq!(b.mmu_line, 7);
    }

    #[test]
    fn card_errors_name_line_and_field() {
        let e = err(&CARD.replace("[[1, 5], [2, 6]]", "[[1, 5],\n  [5, 1]]"));
        assert_eq!((e.line, e.field.as_str()), (9, "mmu.permitted"), "{e}");
        assert!(e.message.contains("channels 5+1 are listed twice"), "{e}");
        let e = err(&CARD.replace("[[1, 5], [2, 6]]", "[[3, 3]]"));
        assert_eq!((e.line, e.field.as_str()), (8, "mmu.permitted"), "{e}");
        assert!(e.message.contains("channel 3 is paired with itself"), "{e}");
        let e = err(&CARD.replace("[[1, 5], [2, 6]]", "[[1, 9]]"));
        assert_eq!((e.line, e.field.as_str()), (8, "mmu.permitted"), "{e}");
        assert!(e.message.contains("channel 9 does not exist"), "{e}");
        let e = err(&CARD.replace("[[1, 5], [2, 6]]", "[[1, 5, 6]]"));
        assert!(e.message.contains("3 channels in one pair"), "{e}");
        let e = err(&CARD.replace("fya = [[1, 2]]", "fya = [[1, 2], [1, 6]]"));
        assert_eq!((e.line, e.field.as_str()), (9, "mmu.fya"), "{e}");
        assert!(e.message.contains("already has the fya pair [1, 2]"), "{e}");
        let e = err(&CARD.replace("{ 1 = 3.0, 2 = 3.3 }", "{ 1 = 3.0, 2 = 2.5 }"));
        assert_eq!((e.line, e.field.as_str()), (10, "mmu.min_yellow_s"), "{e}");
        assert!(e.message.contains("channel 2: 2.5 s is out of range"), "{e}");
        let e = err(&CARD.replace("{ 1 = 1.0, 2 = 1.9 }", "{ 1 = 1.0, 12 = 1.9 }"));
        assert_eq!((e.line, e.field.as_str()), (11, "mmu.min_red_clear_s"), "{e}");
        let e = err(&CARD.replace("fya = [[1, 2]]", "fya = [[1, 2]]\njumpers = 3"));
        assert!(e.to_string().contains("jumpers"), "{e}");
        let e = err(&CARD.replace("permitted = [[1, 5], [2, 6]]\n", ""));
        assert!(e.to_string().contains("permitted"), "{e}");
    }
}

#[cfg(test)]
mod shipped {
    use super::*;

    /// Every shipped board file parses and fits the shipped 8-phase site.
    #[test]
    fn shipped_boards_fit_the_reference_site() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/board");
        let site = crate::config::Site::load(Path::new(&format!("{root}/sites/nema8-4leg.toml"))).unwrap();
        for b in ["rpi4", "rpi5", "rock5b", "orangepi5", "host-fake"] {
            let path = format!("{root}/{b}.toml");
            let board = Board::load(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
            board.check_site(&site, &path).unwrap_or_else(|e| panic!("{e}"));
            assert!(board.flash_transfer.is_some(), "{b}: flash-transfer relay");
            assert_eq!(board.inputs.len(), 9, "{b}");
        }
    }
}
