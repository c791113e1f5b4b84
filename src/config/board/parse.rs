//! Validation of a board file: chips, lines (each used once), heads, inputs, devices and the
//! `[mmu]` section ([`super::mmu`]). The first error found is returned with its file, line, field
//! and fix.

use super::file::BoardFile;
use super::{
    lexical_path, BoardData, BoardError, Chip, ChipDriver, HeadLines, InputKind, InputLine, LineRef, LoopConfig,
    PedLines, MAX_CHIPS, MAX_INPUTS, MAX_LOOPS, PATH_LEN,
};
use crate::config::diag::Source;
use crate::limits::{MAX_PHASES, NAME_LEN};
use crate::phase::PhaseId;
use toml::Spanned;

/// The validator of one board file.
pub(super) struct V<'a> {
    pub(super) src: Source<'a>,
}

impl V<'_> {
    pub(super) fn err(
        &self,
        span: core::ops::Range<usize>,
        field: &str,
        msg: impl Into<String>,
        fix: impl Into<String>,
    ) -> BoardError {
        self.src.err(span, field, msg, fix)
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

    /// A whole number in `range`, or 0 when `zero_off` (the diagnostic is turned off); `default`
    /// when absent.
    fn limit(
        &self,
        v: &Option<Spanned<i64>>,
        field: &str,
        default: u32,
        range: core::ops::RangeInclusive<i64>,
        zero_off: bool,
        fix: &str,
    ) -> Result<u32, BoardError> {
        let Some(x) = v else { return Ok(default) };
        let n = *x.get_ref();
        if (zero_off && n == 0) || range.contains(&n) {
            return u32::try_from(n).map_err(|_| self.err(x.span(), field, "out of range", fix));
        }
        Err(self.err(x.span(), field, format!("{n} is out of range"), fix))
    }

    /// The channel and diagnostics of a `kind = "detector"` input. Limits keep the diagnostics
    /// meaningful: a vehicle may stand on a stop-bar loop through a whole red (so max presence is
    /// at least a minute), a quiet approach may see nothing for minutes at night (so no activity is
    /// at least a minute), and a saturated lane passes a vehicle every ~2 s, 60 changes a minute
    /// (so the chatter limit is above that). NTCIP 1202 sets max presence and no activity in
    /// minutes (0-255): the seconds here cover the same range.
    fn loop_config(&self, s: &super::file::InputSection) -> Result<LoopConfig, BoardError> {
        let ch = s.channel.as_ref().ok_or_else(|| {
            self.err(
                s.kind.span(),
                "input.channel",
                "a detector input needs `channel`",
                "add channel = N: the site detector number ([[detector]] number) this loop feeds",
            )
        })?;
        let detector = u8::try_from(*ch.get_ref())
            .ok()
            .filter(|d| (1..=MAX_LOOPS).contains(&usize::from(*d)))
            .ok_or_else(|| {
                self.err(
                    ch.span(),
                    "input.channel",
                    format!("detector {} does not exist", ch.get_ref()),
                    format!("detectors are 1 to {MAX_LOOPS}"),
                )
            })?;
        let d = LoopConfig::with_defaults(detector);
        const NTCIP_MAX_S: i64 = 255 * 60;
        let debounce_ms = self.limit(
            &s.debounce_ms,
            "input.debounce_ms",
            d.debounce_ms,
            0..=1000,
            false,
            "use 0 to 1000 ms (50 is typical for a detector card's output)",
        )?;
        let max_presence_s = self.limit(
            &s.max_presence_s,
            "input.max_presence_s",
            d.max_presence_ms / 1000,
            60..=NTCIP_MAX_S,
            true,
            "use 60 to 15300 s (300 is typical; a vehicle may wait on the loop through a whole red), or 0 to turn the check off",
        )?;
        let no_activity_s = self.limit(
            &s.no_activity_s,
            "input.no_activity_s",
            d.no_activity_ms / 1000,
            60..=NTCIP_MAX_S,
            true,
            "use 60 to 15300 s (1800 is typical; longer on a quiet approach), or 0 to turn the check off",
        )?;
        let max_changes = self.limit(
            &s.max_changes_per_min,
            "input.max_changes_per_min",
            u32::from(d.max_changes_per_min),
            61..=1200,
            true,
            "use 61 to 1200 (120 is typical; a saturated lane makes about 60 changes a minute), or 0 to turn the check off",
        )?;
        Ok(LoopConfig {
            detector,
            debounce_ms,
            max_presence_ms: max_presence_s * 1000,
            no_activity_ms: no_activity_s * 1000,
            max_changes_per_min: u16::try_from(max_changes).unwrap_or(u16::MAX),
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

pub(super) fn board(src: Source) -> Result<BoardData, BoardError> {
    let v = V { src };
    let raw: BoardFile = toml::from_str(src.text).map_err(|e| src.toml(&e, "board/rpi4.toml"))?;
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
        let driver =
            match c.driver.get_ref().as_str() {
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
    let flash_transfer =
        match &b.flash_transfer {
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
            "detector" => InputKind::Detector(v.loop_config(s)?),
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
                    "use ped, preempt, transit, door or detector",
                ))
            }
        };
        if !matches!(kind, InputKind::Detector(_)) {
            let loop_only = [
                (&s.channel, "input.channel"),
                (&s.debounce_ms, "input.debounce_ms"),
                (&s.max_presence_s, "input.max_presence_s"),
                (&s.no_activity_s, "input.no_activity_s"),
                (&s.max_changes_per_min, "input.max_changes_per_min"),
            ];
            if let Some((Some(x), field)) = loop_only.into_iter().find(|(x, _)| x.is_some()) {
                return Err(v.err(
                    x.span(),
                    field,
                    format!("a {} input takes no `{}`", s.kind.get_ref(), &field["input.".len()..]),
                    "remove it: only `kind = \"detector\"` inputs have a channel and loop diagnostics (the others use board.debounce_ms)",
                ));
            }
        }
        if let InputKind::Detector(c) = kind {
            let twice = inputs
                .iter()
                .any(|o: &InputLine| matches!(o.kind, InputKind::Detector(d) if d.detector == c.detector));
            if twice {
                let span = s.channel.as_ref().map_or(i.span(), |x| x.span());
                return Err(v.err(
                    span,
                    "input.channel",
                    format!("detector {} is fed by two loop inputs", c.detector),
                    "give each detector one input: loops that must call together are wired in series or parallel to one detector card channel",
                ));
            }
        }
        let line = claim(v.line(&s.line, "input.line", n)?, s.line.span(), "input.line")?;
        inputs
            .push(InputLine {
                kind,
                line,
                active_low: s.active_low,
                file_line: src.line(i.span()),
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
    let snapshot_budget_mib = u32::try_from(*b.snapshot_budget_mib.get_ref())
        .ok()
        .filter(|m| (1..=4096).contains(m))
        .ok_or_else(|| {
            v.err(
                b.snapshot_budget_mib.span(),
                "board.snapshot_budget_mib",
                "out of range",
                "use 1 to 4096 MiB (16 keeps a few hundred 640x480 snapshots)",
            )
        })?;
    let (card, mmu_line) = match &raw.mmu {
        Some(m) => (Some(v.mmu(m.get_ref())?), src.line(m.span())),
        None => (None, 0),
    };
    Ok(BoardData {
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
        snapshot_budget_mib,
        mmu: card,
        mmu_line,
        snmp: raw
            .snmp
            .as_ref()
            .map(|s| crate::config::snmp::SnmpConfig::from_section(src, s.get_ref()))
            .transpose()?,
        mqtt: raw
            .mqtt
            .as_ref()
            .map(|m| crate::config::mqtt::MqttConfig::from_section(src, m.get_ref()))
            .transpose()?,
    })
}
