//! Board description: which GPIO line drives each signal-head relay, which lines carry the cabinet
//! inputs, and where the watchdog is (`board/<board>.toml`).
//!
//! Board differences are data, not code (STYLE.md 7): the same binary drives a Pi 4, a Pi 5 or an
//! RK3588 board from its board file. Loading validates everything a wiring mistake could break —
//! unknown phases, a line used twice, a missing lamp — and each error names the file, line and field
//! and says how to fix it. The result is a fixed-size [`Board`] (heapless inside).
//!
//! Wiring rule (NEMA TS2 / ITE cabinet practice): the flash-transfer relay is energised only while
//! the controller drives the heads; de-energised (controller off, crashed, reset by the watchdog),
//! the cabinet flasher drives the heads. So losing power or control always means flash.

pub mod file;

use crate::config::{ConfigError, Site};
use crate::hal::gpio::{Bias, Line};
use crate::limits::{DEVICE_PATH_LEN, GPIO_CHIPS, GPIO_LINES, NAME_LEN};
use crate::signal::frame::{lamp, ped_lamp};
use crate::signal::phase::PhaseId;
use file::LineSpec;
use std::path::Path;
use toml::Spanned;

/// Which GPIO backend drives the lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Linux GPIO character device, v2 uAPI (feature `gpio-cdev`): any board, expanders included.
    Cdev,
    /// rppal (feature `rpi`): the Raspberry Pi's own header, BCM numbering.
    Rpi,
}

/// What one output line switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputRole {
    /// One lamp ([`lamp`] bit) of a vehicle head.
    Veh { phase: PhaseId, lamp: u8 },
    /// One lamp ([`ped_lamp`] bit) of a pedestrian head.
    Ped { phase: PhaseId, lamp: u8 },
    /// The flash-transfer relay (energised = controller in control).
    FlashTransfer,
}

/// What one input line reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputRole {
    PedButton(PhaseId),
    /// Preempt input 1..=8.
    Preempt(u8),
    Door,
    Transit(PhaseId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLine {
    pub line: Line,
    pub role: OutputRole,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputLine {
    pub line: Line,
    pub role: InputRole,
}

/// The watchdog device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchdogSpec {
    pub device: heapless::String<DEVICE_PATH_LEN>,
    pub timeout_s: u32,
}

/// A validated board description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board {
    pub name: heapless::String<NAME_LEN>,
    pub backend: Backend,
    /// Chip names as written (label, `gpiochipN`, path or `i2c:BUS-ADDR`); `Line::chip` indexes this.
    pub chips: heapless::Vec<heapless::String<DEVICE_PATH_LEN>, GPIO_CHIPS>,
    /// Relay inputs are energised by a low line.
    pub outputs_active_low: bool,
    pub outputs: heapless::Vec<OutputLine, GPIO_LINES>,
    /// Contacts are active when the line is low.
    pub inputs_active_low: bool,
    pub input_bias: Bias,
    pub debounce_ms: u32,
    pub inputs: heapless::Vec<InputLine, GPIO_LINES>,
    pub watchdog: Option<WatchdogSpec>,
}

/// Longest accepted debounce: a button held shorter than this would be lost.
pub const MAX_DEBOUNCE_MS: i64 = 500;
/// Watchdog timeouts accepted (most drivers take 1..=60 s; longer means a long flash-less hang).
pub const WATCHDOG_TIMEOUT_S: core::ops::RangeInclusive<i64> = 1..=60;

impl Board {
    /// Reads and validates a board file.
    pub fn load(path: &Path) -> Result<Board, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            field: String::new(),
            message: format!("cannot read the board file: {e}"),
            fix: "check the path and permissions (board files live in board/)".into(),
        })?;
        Board::parse(&text, &file)
    }

    /// Parses and validates board TOML; `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<Board, ConfigError> {
        let raw: file::BoardFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            let msg = e.message().trim().to_string();
            let field = msg.split('`').nth(1).unwrap_or("").to_string();
            let fix = if msg.contains("missing field") {
                "add the field (see board/rpi4.toml for a complete, commented example)"
            } else if msg.contains("unknown field") {
                "remove or correct the field name; the accepted names are listed in the message"
            } else if msg.contains("untagged") {
                "a line is a number (offset on the board chip) or a string \"CHIP:OFFSET\" or \"GPIO3_C3\""
            } else {
                "correct the value's type or the TOML syntax"
            };
            ConfigError {
                file: file.into(),
                line,
                field,
                message: msg,
                fix: fix.into(),
            }
        })?;
        Parser {
            text,
            file,
            chips: heapless::Vec::new(),
            used: Vec::new(),
        }
        .board(raw)
    }

    /// Lines of the relay outputs, in [`Board::outputs`] order.
    pub fn output_lines(&self) -> heapless::Vec<Line, GPIO_LINES> {
        self.outputs.iter().map(|o| o.line).collect()
    }

    /// Lines of the inputs, in [`Board::inputs`] order.
    pub fn input_lines(&self) -> heapless::Vec<Line, GPIO_LINES> {
        self.inputs.iter().map(|i| i.line).collect()
    }

    /// Checks that this board can show every signal of `site`: each site phase has a vehicle head
    /// and each pedestrian crossing a pedestrian head. Extra heads are allowed (they show what the
    /// frame says for an unused phase: dark).
    pub fn check_site(&self, site: &Site, board_file: &str) -> Result<(), ConfigError> {
        let err = |message: String, fix: String| ConfigError {
            file: board_file.into(),
            line: 0,
            field: String::new(),
            message,
            fix,
        };
        for p in site.phases() {
            for (bit, name) in [(lamp::RED, "red"), (lamp::YELLOW, "yellow"), (lamp::GREEN, "green")] {
                let wired = self
                    .outputs
                    .iter()
                    .any(|o| o.role == OutputRole::Veh { phase: p.id, lamp: bit });
                if !wired {
                    return Err(err(
                        format!("site phase {} has no {name} relay line", p.id.number()),
                        format!(
                            "add a [[head]] with phase = {} and red/yellow/green lines",
                            p.id.number()
                        ),
                    ));
                }
            }
        }
        for p in site.ped_phases().iter() {
            for bit in [ped_lamp::WALK, ped_lamp::DONT_WALK] {
                if !self
                    .outputs
                    .iter()
                    .any(|o| o.role == OutputRole::Ped { phase: p, lamp: bit })
                {
                    return Err(err(
                        format!(
                            "site phase {} has a pedestrian crossing but no pedestrian head",
                            p.number()
                        ),
                        format!("add a [[ped]] with phase = {} and walk/dont_walk lines", p.number()),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes().iter().take(end).filter(|&&b| b == b'\n').count() + 1
}

struct Parser<'a> {
    text: &'a str,
    file: &'a str,
    chips: heapless::Vec<heapless::String<DEVICE_PATH_LEN>, GPIO_CHIPS>,
    /// Lines seen so far with the field that used them, for "already used by" errors.
    used: Vec<(Line, String)>,
}

impl Parser<'_> {
    fn err(
        &self,
        span: core::ops::Range<usize>,
        field: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.file.into(),
            line: if span.start == 0 && span.end == 0 {
                0
            } else {
                line_of(self.text, span.start)
            },
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    fn chip(&mut self, name: &str, span: core::ops::Range<usize>, field: &str) -> Result<u8, ConfigError> {
        if let Some(i) = self.chips.iter().position(|c| c.as_str() == name) {
            return u8::try_from(i).map_err(|_| self.err(span, field, "too many chips", ""));
        }
        let s = heapless::String::try_from(name).map_err(|_| {
            self.err(
                span.clone(),
                field,
                format!("chip name `{name}` is too long"),
                format!("use at most {DEVICE_PATH_LEN} bytes"),
            )
        })?;
        self.chips.push(s).map_err(|_| {
            self.err(
                span.clone(),
                field,
                format!("more than {GPIO_CHIPS} GPIO chips"),
                "drive the relays from fewer chips",
            )
        })?;
        u8::try_from(self.chips.len() - 1).map_err(|_| self.err(span, field, "too many chips", ""))
    }

    fn line(&mut self, spec: &Spanned<LineSpec>, field: &str, role: String) -> Result<Line, ConfigError> {
        let span = spec.span();
        let bad = |p: &Self, what: &str| {
            p.err(
                span.clone(),
                field,
                format!("`{what}` is not a GPIO line"),
                "write a number (offset on the board chip), \"CHIP:OFFSET\" (\"i2c:1-0020:5\", \"gpiochip4:11\") or a Rockchip pin \"GPIO3_C3\"",
            )
        };
        let line = match spec.get_ref() {
            LineSpec::Offset(n) => {
                let offset = u32::try_from(*n).map_err(|_| bad(self, &n.to_string()))?;
                Line { chip: 0, offset }
            }
            LineSpec::Named(s) => {
                if let Some((bank, offset)) = rockchip_pin(s) {
                    let chip = self.chip(&format!("gpio{bank}"), span.clone(), field)?;
                    Line { chip, offset }
                } else if let Some((chip, off)) = s.rsplit_once(':') {
                    let offset: u32 = off.trim().parse().map_err(|_| bad(self, s))?;
                    if chip.is_empty() {
                        return Err(bad(self, s));
                    }
                    let chip = self.chip(chip, span.clone(), field)?;
                    Line { chip, offset }
                } else {
                    return Err(bad(self, s));
                }
            }
        };
        if line.offset > 1023 {
            return Err(bad(self, &line.offset.to_string()));
        }
        if let Some((_, other)) = self.used.iter().find(|(l, _)| *l == line) {
            let chip = self
                .chips
                .get(usize::from(line.chip))
                .map(|c| c.as_str())
                .unwrap_or("?");
            return Err(self.err(
                span,
                field,
                format!("{role} uses line {}:{}, already used by {other}", chip, line.offset),
                "give every relay and input its own GPIO line",
            ));
        }
        self.used.push((line, role));
        Ok(line)
    }

    fn phase(&self, v: &Spanned<i64>, field: &str) -> Result<PhaseId, ConfigError> {
        u8::try_from(*v.get_ref()).ok().and_then(PhaseId::new).ok_or_else(|| {
            self.err(
                v.span(),
                field,
                format!("phase {} does not exist", v.get_ref()),
                "phases are numbered 1 to 8 (NEMA)",
            )
        })
    }

    fn board(mut self, raw: file::BoardFile) -> Result<Board, ConfigError> {
        let b = &raw.board;
        let name = heapless::String::try_from(b.name.get_ref().as_str()).map_err(|_| {
            self.err(
                b.name.span(),
                "board.name",
                "name is too long",
                format!("use at most {NAME_LEN} bytes"),
            )
        })?;
        let backend = match b.backend.get_ref().as_str() {
            "gpio-cdev" => Backend::Cdev,
            "rpi" => Backend::Rpi,
            other => {
                return Err(self.err(
                    b.backend.span(),
                    "board.backend",
                    format!("unknown backend `{other}`"),
                    "use \"gpio-cdev\" (any Linux board) or \"rpi\" (Raspberry Pi header through rppal)",
                ))
            }
        };
        if b.chip.get_ref().is_empty() {
            return Err(self.err(
                b.chip.span(),
                "board.chip",
                "empty chip name",
                "name the GPIO chip of bare offsets",
            ));
        }
        // The default chip is index 0, so bare offsets resolve to it.
        self.chip(b.chip.get_ref(), b.chip.span(), "board.chip")?;

        let mut outputs: heapless::Vec<OutputLine, GPIO_LINES> = heapless::Vec::new();
        let full = |p: &Self, span: core::ops::Range<usize>| {
            p.err(
                span,
                "",
                format!("more than {GPIO_LINES} output lines"),
                "split the cabinet over fewer heads",
            )
        };
        let ftr = self.line(
            &b.flash_transfer,
            "board.flash_transfer",
            "the flash-transfer relay".into(),
        )?;
        outputs
            .push(OutputLine {
                line: ftr,
                role: OutputRole::FlashTransfer,
            })
            .map_err(|_| full(&self, b.flash_transfer.span()))?;

        let mut heads_seen = 0u16;
        for h in &raw.head {
            let phase = self.phase(&h.get_ref().phase, "head.phase")?;
            if heads_seen & (1 << phase.index()) != 0 {
                return Err(self.err(
                    h.get_ref().phase.span(),
                    "head.phase",
                    format!("phase {} has two vehicle heads", phase.number()),
                    "wire heads of one phase in parallel to one set of relays; list each phase once",
                ));
            }
            heads_seen |= 1 << phase.index();
            let n = phase.number();
            for (spec, bit, field) in [
                (&h.get_ref().red, lamp::RED, "head.red"),
                (&h.get_ref().yellow, lamp::YELLOW, "head.yellow"),
                (&h.get_ref().green, lamp::GREEN, "head.green"),
            ] {
                let role = format!("phase {n} {}", field.trim_start_matches("head."));
                let line = self.line(spec, field, role)?;
                outputs
                    .push(OutputLine {
                        line,
                        role: OutputRole::Veh { phase, lamp: bit },
                    })
                    .map_err(|_| full(&self, h.span()))?;
            }
        }
        let mut peds_seen = 0u16;
        for h in &raw.ped {
            let phase = self.phase(&h.get_ref().phase, "ped.phase")?;
            if peds_seen & (1 << phase.index()) != 0 {
                return Err(self.err(
                    h.get_ref().phase.span(),
                    "ped.phase",
                    format!("phase {} has two pedestrian heads", phase.number()),
                    "list each crossing once",
                ));
            }
            peds_seen |= 1 << phase.index();
            let n = phase.number();
            for (spec, bit, field) in [
                (&h.get_ref().walk, ped_lamp::WALK, "ped.walk"),
                (&h.get_ref().dont_walk, ped_lamp::DONT_WALK, "ped.dont_walk"),
            ] {
                let role = format!("phase {n} pedestrian {}", field.trim_start_matches("ped."));
                let line = self.line(spec, field, role)?;
                outputs
                    .push(OutputLine {
                        line,
                        role: OutputRole::Ped { phase, lamp: bit },
                    })
                    .map_err(|_| full(&self, h.span()))?;
            }
        }

        let mut inputs: heapless::Vec<InputLine, GPIO_LINES> = heapless::Vec::new();
        let (mut inputs_active_low, mut input_bias, mut debounce_ms) = (true, Bias::Off, 30u32);
        if let Some(sec) = &raw.inputs {
            let s = sec.get_ref();
            inputs_active_low = s.active_low;
            input_bias = match s.bias.get_ref().as_str() {
                "off" => Bias::Off,
                "pull-up" => Bias::PullUp,
                "pull-down" => Bias::PullDown,
                other => {
                    return Err(self.err(
                        s.bias.span(),
                        "inputs.bias",
                        format!("unknown bias `{other}`"),
                        "use \"off\" (external resistors), \"pull-up\" or \"pull-down\"",
                    ))
                }
            };
            let d = *s.debounce_ms.get_ref();
            if !(0..=MAX_DEBOUNCE_MS).contains(&d) {
                return Err(self.err(
                    s.debounce_ms.span(),
                    "inputs.debounce_ms",
                    format!("debounce {d} ms is out of range"),
                    format!("use 0 to {MAX_DEBOUNCE_MS} ms (contacts bounce for 1-20 ms; 30 is typical)"),
                ));
            }
            debounce_ms = u32::try_from(d).unwrap_or(30);
            let infull = |p: &Self, span: core::ops::Range<usize>| {
                p.err(
                    span,
                    "",
                    format!("more than {GPIO_LINES} input lines"),
                    "use fewer inputs",
                )
            };
            if let Some(door) = &s.door {
                let line = self.line(door, "inputs.door", "the door switch".into())?;
                inputs
                    .push(InputLine {
                        line,
                        role: InputRole::Door,
                    })
                    .map_err(|_| infull(&self, door.span()))?;
            }
            for b in &s.ped_button {
                let phase = self.phase(&b.get_ref().phase, "inputs.ped_button.phase")?;
                let role = format!("the phase {} push button", phase.number());
                let line = self.line(&b.get_ref().line, "inputs.ped_button.line", role)?;
                inputs
                    .push(InputLine {
                        line,
                        role: InputRole::PedButton(phase),
                    })
                    .map_err(|_| infull(&self, b.span()))?;
            }
            for b in &s.preempt {
                let n = *b.get_ref().number.get_ref();
                let number = u8::try_from(n).ok().filter(|n| (1..=8).contains(n)).ok_or_else(|| {
                    self.err(
                        b.get_ref().number.span(),
                        "inputs.preempt.number",
                        format!("preempt {n} does not exist"),
                        "preempt inputs are numbered 1 to 8",
                    )
                })?;
                let line = self.line(&b.get_ref().line, "inputs.preempt.line", format!("preempt {number}"))?;
                inputs
                    .push(InputLine {
                        line,
                        role: InputRole::Preempt(number),
                    })
                    .map_err(|_| infull(&self, b.span()))?;
            }
            for b in &s.transit {
                let phase = self.phase(&b.get_ref().phase, "inputs.transit.phase")?;
                let role = format!("the phase {} transit input", phase.number());
                let line = self.line(&b.get_ref().line, "inputs.transit.line", role)?;
                inputs
                    .push(InputLine {
                        line,
                        role: InputRole::Transit(phase),
                    })
                    .map_err(|_| infull(&self, b.span()))?;
            }
        }

        let watchdog = match &raw.watchdog {
            None => None,
            Some(w) => {
                let w = w.get_ref();
                let device = heapless::String::try_from(w.device.get_ref().as_str()).map_err(|_| {
                    self.err(
                        w.device.span(),
                        "watchdog.device",
                        "path is too long",
                        format!("use at most {DEVICE_PATH_LEN} bytes"),
                    )
                })?;
                let t = *w.timeout_s.get_ref();
                if !WATCHDOG_TIMEOUT_S.contains(&t) {
                    return Err(self.err(
                        w.timeout_s.span(),
                        "watchdog.timeout_s",
                        format!("watchdog timeout {t} s is out of range"),
                        "use 1 to 60 s; 10 s is usual (several missed ticks, yet a short dark period)",
                    ));
                }
                Some(WatchdogSpec {
                    device,
                    timeout_s: u32::try_from(t).unwrap_or(10),
                })
            }
        };

        if backend == Backend::Rpi && self.chips.len() > 1 {
            return Err(self.err(
                b.backend.span(),
                "board.backend",
                "the rpi backend drives only the Pi's own header, but lines name other chips",
                "use backend = \"gpio-cdev\" for expanders and multi-chip boards",
            ));
        }

        Ok(Board {
            name,
            backend,
            chips: self.chips,
            outputs_active_low: b.active_low,
            outputs,
            inputs_active_low,
            input_bias,
            debounce_ms,
            inputs,
            watchdog,
        })
    }
}

/// Rockchip pin names: `GPIO<bank>_<group><pin>` with group A-D and pin 0-7; offset = group × 8 + pin
/// on chip `gpio<bank>` (the RK3588 TRM's naming; the kernel labels the banks `gpio0`..`gpio4`).
pub fn rockchip_pin(s: &str) -> Option<(u8, u32)> {
    let rest = s.strip_prefix("GPIO")?;
    let (bank, pin) = rest.split_once('_')?;
    let bank: u8 = bank.parse().ok().filter(|b| *b <= 9)?;
    let mut cs = pin.chars();
    let group = cs.next()?;
    let idx = cs.next()?.to_digit(10)?;
    if cs.next().is_some() || idx > 7 {
        return None;
    }
    let g = match group {
        'A' => 0,
        'B' => 1,
        'C' => 2,
        'D' => 3,
        _ => return None,
    };
    Some((bank, g * 8 + idx))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
[board]
name = "test"
chip = "gpiochip0"
active_low = true
flash_transfer = 4

[[head]]
phase = 2
red = 5
yellow = 6
green = "i2c:1-0020:7"

[[ped]]
phase = 2
walk = "GPIO3_C3"
dont_walk = 26

[inputs]
door = 16
ped_button = [{ phase = 2, line = 20 }]
preempt = [{ number = 1, line = 21 }]

[watchdog]
timeout_s = 15
"#;

    #[test]
    fn parses_lines_chips_and_roles() {
        let b = Board::parse(MIN, "test.toml").unwrap();
        assert_eq!(
            b.chips.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            ["gpiochip0", "i2c:1-0020", "gpio3"]
        );
        assert_eq!(b.outputs.len(), 6);
        assert_eq!(b.outputs[0].role, OutputRole::FlashTransfer);
        assert_eq!(b.outputs[3].line, Line { chip: 1, offset: 7 });
        let p2 = PhaseId::new(2).unwrap();
        assert_eq!(
            b.outputs[3].role,
            OutputRole::Veh {
                phase: p2,
                lamp: lamp::GREEN
            }
        );
        assert_eq!(b.outputs[4].line, Line { chip: 2, offset: 19 });
        assert_eq!(b.inputs.len(), 3);
        assert_eq!(b.inputs[2].role, InputRole::Preempt(1));
        assert_eq!(
            b.watchdog.as_ref().map(|w| (w.device.as_str(), w.timeout_s)),
            Some(("/dev/watchdog", 15))
        );
        assert!(b.outputs_active_low && b.inputs_active_low);
        assert_eq!(b.debounce_ms, 30);
    }

    #[test]
    fn a_line_used_twice_names_both_uses_and_the_line() {
        let text = MIN.replace("dont_walk = 26", "dont_walk = 6");
        let e = Board::parse(&text, "b.toml").unwrap_err();
        assert_eq!(e.line, 17);
        assert_eq!(e.field, "ped.dont_walk");
        assert!(e.to_string().contains("already used by phase 2 yellow"), "{e}");
    }

    #[test]
    fn bad_inputs_are_named() {
        let cases = [
            (
                MIN.replace("phase = 2\nred", "phase = 9\nred"),
                "head.phase",
                "phase 9 does not exist",
            ),
            (
                MIN.replace("walk = \"GPIO3_C3\"", "walk = \"GPIO3_E3\""),
                "ped.walk",
                "not a GPIO line",
            ),
            (
                MIN.replace("timeout_s = 15", "timeout_s = 600"),
                "watchdog.timeout_s",
                "out of range",
            ),
            (
                MIN.replace("number = 1", "number = 9"),
                "inputs.preempt.number",
                "preempt 9",
            ),
            (
                MIN.replace("name = \"test\"", "name = \"test\"\nbackend = \"rpi\""),
                "board.backend",
                "other chips",
            ),
            (
                MIN.replace("active_low = true", "active_lo = true"),
                "active_lo",
                "unknown field",
            ),
        ];
        for (text, field, msg) in cases {
            let e = Board::parse(&text, "b.toml").unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.to_string().contains(msg), "{e}");
            assert!(e.line > 0, "{e}");
        }
    }

    #[test]
    fn rockchip_names() {
        assert_eq!(rockchip_pin("GPIO0_A0"), Some((0, 0)));
        assert_eq!(rockchip_pin("GPIO4_D7"), Some((4, 31)));
        assert_eq!(rockchip_pin("GPIO4_D8"), None);
        assert_eq!(rockchip_pin("gpio4_D1"), None);
    }

    #[test]
    fn shipped_board_files_load_and_fit_the_example_site() {
        let site = Site::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/board/sites/nema8-4leg.toml"
        )))
        .unwrap();
        for name in ["rpi4", "rpi5", "rock5b", "orangepi5"] {
            let path = format!("{}/board/{name}.toml", env!("CARGO_MANIFEST_DIR"));
            let b = Board::load(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
            b.check_site(&site, &path).unwrap_or_else(|e| panic!("{e}"));
            assert!(b.watchdog.is_some(), "{name}");
        }
    }
}
