//! Console command parser: one line of text to a [`Command`]. Pure, allocation-free, total (every
//! input gives a command or a [`ParseError`]), so it is fuzzed (`fuzz/fuzz_targets/console_line.rs`).
//!
//! Words are separated by ASCII whitespace and matched case-insensitively, as technicians type
//! them on a laptop in a cabinet. Bound: O(line length).

use crate::config::PlannerKind;
use crate::phase::PhaseId;

/// Shortest and longest console PIN (digits).
pub const PIN_MIN: usize = 4;
pub const PIN_MAX: usize = 12;
/// Most events `events N` prints (the console keeps this many recent events).
pub const EVENTS_MAX: u8 = 64;
/// Preempt inputs a controller offers (NEMA TS2: 6).
pub const PREEMPTS: u8 = 6;

/// A PIN as typed (digits only, length checked by the parser).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    digits: [u8; PIN_MAX],
    len: u8,
}

impl Pin {
    pub fn as_bytes(&self) -> &[u8] {
        self.digits.get(..self.len as usize).unwrap_or(&[])
    }
}

impl core::fmt::Debug for Pin {
    // Never print a PIN, not even in a debug log.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// Severity threshold for `log level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub const fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Off => log::LevelFilter::Off,
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            LogLevel::Off => "off",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// A parsed console command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Blank line: print a new prompt.
    Empty,
    Help,
    Status,
    Phases,
    Detectors,
    Loops,
    /// Cameras: source, frame rate, drops, frame age, health, CPU/NPU.
    Cameras,
    /// Camera zones: presence, count, queue, health.
    Zones,
    Faults,
    Timing,
    Events(u8),
    Scenarios,
    /// The scheduled action, since when, the next change, the running pattern.
    Schedule,
    Stats,
    LogLevel(LogLevel),
    Unlock(Pin),
    Lock,
    /// Snapshot of camera N (1-based), written to the state directory.
    Snapshot(u8),
    // Mutating commands (need `unlock`):
    ClearFlash,
    SetPlan(PlannerKind),
    PreemptTest(u8),
    Recall(PhaseId),
}

impl Command {
    /// Whether the command changes what the street sees (and so needs an unlocked console).
    pub const fn mutating(&self) -> bool {
        matches!(
            self,
            Command::ClearFlash | Command::SetPlan(_) | Command::PreemptTest(_) | Command::Recall(_)
        )
    }
}

/// Why a line is not a command. The text tells the technician what to type instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    Unknown,
    /// The named argument is missing; the string is the usage line.
    Missing(&'static str),
    /// An argument has the wrong form; the string is the usage line.
    Bad(&'static str),
    /// More words than the command takes; the string is the usage line.
    Extra(&'static str),
    /// The command takes no arguments.
    NoArguments,
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseError::Unknown => f.write_str("unknown command; type `help` for the list"),
            ParseError::Missing(u) => write!(f, "missing argument; usage: {u}"),
            ParseError::Bad(u) => write!(f, "bad argument; usage: {u}"),
            ParseError::Extra(u) => write!(f, "too many arguments; usage: {u}"),
            ParseError::NoArguments => f.write_str("this command takes no arguments"),
        }
    }
}

const U_EVENTS: &str = "events [N]  (N = 1..64, default 10)";
const U_LOG: &str = "log level off|error|warn|info|debug|trace";
const U_UNLOCK: &str = "unlock PIN  (4 to 12 digits)";
const U_CLEAR: &str = "clear flash";
const U_PLAN: &str = "set plan webster|actuated|adaptive";
const U_PREEMPT: &str = "preempt test N  (N = 1..6)";
const U_RECALL: &str = "recall P  (P = phase 1..8)";
const U_SNAPSHOT: &str = "snapshot N  (N = camera 1..4)";
/// Cameras a controller serves.
pub const CAMERAS: u8 = 4;

fn eq(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

fn small_number(word: &str) -> Option<u8> {
    // `u8::from_str` accepts a leading '+'; a console number is plain digits.
    if word.is_empty() || word.len() > 3 || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

/// Parses one line.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let mut words = line.split_ascii_whitespace();
    let Some(first) = words.next() else {
        return Ok(Command::Empty);
    };
    let arg1 = words.next();
    let arg2 = words.next();
    let more = words.next().is_some();
    // Commands without arguments.
    let bare = |c: Command| {
        if arg1.is_some() {
            Err(ParseError::NoArguments)
        } else {
            Ok(c)
        }
    };
    let cmd = match first {
        w if eq(w, "help") || w == "?" => bare(Command::Help)?,
        w if eq(w, "status") => bare(Command::Status)?,
        w if eq(w, "phases") => bare(Command::Phases)?,
        w if eq(w, "detectors") => bare(Command::Detectors)?,
        w if eq(w, "loops") => bare(Command::Loops)?,
        w if eq(w, "cameras") => bare(Command::Cameras)?,
        w if eq(w, "zones") => bare(Command::Zones)?,
        w if eq(w, "faults") => bare(Command::Faults)?,
        w if eq(w, "timing") => bare(Command::Timing)?,
        w if eq(w, "scenarios") => bare(Command::Scenarios)?,
        w if eq(w, "schedule") => bare(Command::Schedule)?,
        w if eq(w, "stats") => bare(Command::Stats)?,
        w if eq(w, "lock") => bare(Command::Lock)?,
        w if eq(w, "events") => {
            if arg2.is_some() {
                return Err(ParseError::Extra(U_EVENTS));
            }
            match arg1 {
                None => Command::Events(10),
                Some(a) => match small_number(a) {
                    Some(n) if (1..=EVENTS_MAX).contains(&n) => Command::Events(n),
                    _ => return Err(ParseError::Bad(U_EVENTS)),
                },
            }
        }
        w if eq(w, "log") => {
            match arg1 {
                Some(a) if eq(a, "level") => {}
                Some(_) => return Err(ParseError::Bad(U_LOG)),
                None => return Err(ParseError::Missing(U_LOG)),
            }
            let level = arg2.ok_or(ParseError::Missing(U_LOG))?;
            let l = [
                ("off", LogLevel::Off),
                ("error", LogLevel::Error),
                ("warn", LogLevel::Warn),
                ("info", LogLevel::Info),
                ("debug", LogLevel::Debug),
                ("trace", LogLevel::Trace),
            ]
            .into_iter()
            .find(|(n, _)| eq(level, n))
            .map(|(_, l)| l)
            .ok_or(ParseError::Bad(U_LOG))?;
            return if more {
                Err(ParseError::Extra(U_LOG))
            } else {
                Ok(Command::LogLevel(l))
            };
        }
        w if eq(w, "unlock") => {
            let a = arg1.ok_or(ParseError::Missing(U_UNLOCK))?;
            if arg2.is_some() {
                return Err(ParseError::Extra(U_UNLOCK));
            }
            if !(PIN_MIN..=PIN_MAX).contains(&a.len()) || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseError::Bad(U_UNLOCK));
            }
            let mut pin = Pin {
                digits: [0; PIN_MAX],
                len: 0,
            };
            for (slot, b) in pin.digits.iter_mut().zip(a.bytes()) {
                *slot = b;
                pin.len += 1;
            }
            Command::Unlock(pin)
        }
        w if eq(w, "clear") => match arg1 {
            Some(a) if eq(a, "flash") && arg2.is_none() => Command::ClearFlash,
            Some(a) if eq(a, "flash") => return Err(ParseError::Extra(U_CLEAR)),
            Some(_) => return Err(ParseError::Bad(U_CLEAR)),
            None => return Err(ParseError::Missing(U_CLEAR)),
        },
        w if eq(w, "set") => {
            match arg1 {
                Some(a) if eq(a, "plan") => {}
                Some(_) => return Err(ParseError::Bad(U_PLAN)),
                None => return Err(ParseError::Missing(U_PLAN)),
            }
            let kind = match arg2 {
                Some(k) if eq(k, "webster") => PlannerKind::Webster,
                Some(k) if eq(k, "actuated") => PlannerKind::Actuated,
                Some(k) if eq(k, "adaptive") => PlannerKind::Adaptive,
                Some(_) => return Err(ParseError::Bad(U_PLAN)),
                None => return Err(ParseError::Missing(U_PLAN)),
            };
            return if more {
                Err(ParseError::Extra(U_PLAN))
            } else {
                Ok(Command::SetPlan(kind))
            };
        }
        w if eq(w, "preempt") => {
            match arg1 {
                Some(a) if eq(a, "test") => {}
                Some(_) => return Err(ParseError::Bad(U_PREEMPT)),
                None => return Err(ParseError::Missing(U_PREEMPT)),
            }
            let n = match arg2 {
                Some(a) => small_number(a)
                    .filter(|n| (1..=PREEMPTS).contains(n))
                    .ok_or(ParseError::Bad(U_PREEMPT))?,
                None => return Err(ParseError::Missing(U_PREEMPT)),
            };
            return if more {
                Err(ParseError::Extra(U_PREEMPT))
            } else {
                Ok(Command::PreemptTest(n))
            };
        }
        w if eq(w, "recall") => {
            let a = arg1.ok_or(ParseError::Missing(U_RECALL))?;
            if arg2.is_some() {
                return Err(ParseError::Extra(U_RECALL));
            }
            Command::Recall(
                small_number(a)
                    .and_then(PhaseId::new)
                    .ok_or(ParseError::Bad(U_RECALL))?,
            )
        }
        w if eq(w, "snapshot") => {
            let a = arg1.ok_or(ParseError::Missing(U_SNAPSHOT))?;
            if arg2.is_some() {
                return Err(ParseError::Extra(U_SNAPSHOT));
            }
            Command::Snapshot(
                small_number(a)
                    .filter(|n| (1..=CAMERAS).contains(n))
                    .ok_or(ParseError::Bad(U_SNAPSHOT))?,
            )
        }
        _ => return Err(ParseError::Unknown),
    };
    if more {
        // Only `events`, `unlock`, `recall` and `snapshot` (one argument) get here; they checked
        // `arg2` already.
        return Err(ParseError::NoArguments);
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(parse(""), Ok(Command::Empty));
        assert_eq!(parse("   "), Ok(Command::Empty));
        assert_eq!(parse("STATUS"), Ok(Command::Status));
        assert_eq!(parse(" events  5 "), Ok(Command::Events(5)));
        assert_eq!(parse("events"), Ok(Command::Events(10)));
        assert_eq!(parse("events 0"), Err(ParseError::Bad(U_EVENTS)));
        assert_eq!(parse("events +5"), Err(ParseError::Bad(U_EVENTS)));
        assert_eq!(parse("events 65"), Err(ParseError::Bad(U_EVENTS)));
        assert_eq!(parse("log level debug"), Ok(Command::LogLevel(LogLevel::Debug)));
        assert_eq!(parse("log level loud"), Err(ParseError::Bad(U_LOG)));
        assert_eq!(parse("set plan Webster"), Ok(Command::SetPlan(PlannerKind::Webster)));
        assert_eq!(parse("set plan"), Err(ParseError::Missing(U_PLAN)));
        assert_eq!(parse("set plan adaptive"), Ok(Command::SetPlan(PlannerKind::Adaptive)));
        assert_eq!(parse("preempt test 2"), Ok(Command::PreemptTest(2)));
        assert_eq!(parse("preempt test 7"), Err(ParseError::Bad(U_PREEMPT)));
        assert_eq!(parse("recall 4"), Ok(Command::Recall(PhaseId::new(4).unwrap())));
        assert_eq!(parse("recall 9"), Err(ParseError::Bad(U_RECALL)));
        assert_eq!(parse("clear flash now"), Err(ParseError::Extra(U_CLEAR)));
        assert_eq!(parse("help me"), Err(ParseError::NoArguments));
        assert_eq!(parse("reboot"), Err(ParseError::Unknown));
        assert!(parse("clear flash").unwrap().mutating());
        assert!(!parse("status").unwrap().mutating());
        assert_eq!(parse("Snapshot 2"), Ok(Command::Snapshot(2)));
        assert!(
            !parse("snapshot 1").unwrap().mutating(),
            "a snapshot changes nothing on the street"
        );
        assert_eq!(parse("snapshot"), Err(ParseError::Missing(U_SNAPSHOT)));
        assert_eq!(parse("snapshot 0"), Err(ParseError::Bad(U_SNAPSHOT)));
        assert_eq!(parse("snapshot 5"), Err(ParseError::Bad(U_SNAPSHOT)));
        assert_eq!(parse("snapshot 1 2"), Err(ParseError::Extra(U_SNAPSHOT)));
    }

    #[test]
    fn pins() {
        match parse("unlock 012345") {
            Ok(Command::Unlock(p)) => assert_eq!(p.as_bytes(), b"012345"),
            other => panic!("{other:?}"),
        }
        assert_eq!(parse("unlock 123"), Err(ParseError::Bad(U_UNLOCK)));
        assert_eq!(parse("unlock 1234567890123"), Err(ParseError::Bad(U_UNLOCK)));
        assert_eq!(parse("unlock 12a4"), Err(ParseError::Bad(U_UNLOCK)));
        assert_eq!(format!("{:?}", parse("unlock 1234")), "Ok(Unlock(Pin(****)))");
    }
}
