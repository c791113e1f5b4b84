//! Serial maintenance console: what a technician with a laptop in the cabinet uses to see and
//! operate the controller.
//!
//! Bytes arrive from a non-blocking [`Serial`] port (a termios tty on the board, a pseudo-terminal
//! in tests); the [`line::LineEditor`] turns them into lines, [`command::parse`] into commands, and
//! the output is formatted with `core::fmt` into the fixed [`out::OutBuf`] and drained to the port
//! a piece per poll. Commands that change what the street sees are behind the PIN lock
//! ([`lock::PinLock`]); they are handed to the controller as [`view::Action`]s, so the safety rules
//! stay with the timing engine and the monitor (a console command can ask to clear flash, it cannot
//! force a conflicting green).
//!
//! Bound per poll: at most [`READ_MAX`] input bytes, one command's output (≤ `CONSOLE_OUT` bytes),
//! no heap allocation (proved by `tests/console_alloc.rs`), no blocking.

pub mod command;
pub mod line;
pub mod lock;
pub mod out;
pub mod view;

use crate::config::Recall;
use crate::events::{code, Event};
use crate::hal::{HalError, Serial};
use crate::limits::{CONSOLE_EVENTS, CONSOLE_LINE, CONSOLE_OUT, MAX_DETECTORS};
use crate::phase::PhaseId;
use crate::time::Instant;
use command::{Command, ParseError};
use core::fmt::Write;
use line::{LineEditor, LineEvent};
use lock::{PinHash, PinLock, Unlock};
use view::{Action, ConsoleTarget};

/// Input bytes handled per poll (at 115200 baud, 100 ms brings ~1150 bytes; a human types far less,
/// a paste is served over a few ticks).
pub const READ_MAX: usize = 256;

/// Console counters (shown by `stats`, kept for the status snapshot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsoleStats {
    pub bytes_in: u64,
    pub lines: u64,
    pub rejected_lines: u64,
    pub too_long: u64,
    pub wrong_pins: u64,
    pub truncated_outputs: u32,
}

/// Seconds with one decimal, from milliseconds: `12.3 s`.
struct Secs(u32);

impl core::fmt::Display for Secs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Formatted on the stack first so `{:>7}` pads the whole number.
        let mut s: heapless::String<16> = heapless::String::new();
        let tenths = self.0 / 100;
        let _ = write!(s, "{}.{}", tenths / 10, tenths % 10);
        f.pad(&s)
    }
}

/// A figure with its unit, or "n/a" when it is not known (never a made-up 0).
struct Figure<T>(Option<T>, &'static str);

impl<T: core::fmt::Display> core::fmt::Display for Figure<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            Some(v) => write!(f, "{v}{}", self.1),
            None => f.write_str("n/a"),
        }
    }
}

/// Short names of the Indiana event codes the engine emits (for `events`).
pub const fn event_name(c: u8) -> &'static str {
    match c {
        code::PHASE_ON => "phase on",
        code::PHASE_BEGIN_GREEN => "begin green",
        code::PHASE_CHECK => "phase check",
        code::PHASE_MIN_COMPLETE => "min complete",
        code::PHASE_GAP_OUT => "gap out",
        code::PHASE_MAX_OUT => "max out",
        code::PHASE_FORCE_OFF => "force off",
        code::PHASE_GREEN_TERMINATION => "green term",
        code::PHASE_BEGIN_YELLOW => "begin yellow",
        code::PHASE_END_YELLOW => "end yellow",
        code::PHASE_BEGIN_RED_CLEARANCE => "begin red clr",
        code::PHASE_END_RED_CLEARANCE => "end red clr",
        code::PHASE_INACTIVE => "phase inactive",
        code::PED_BEGIN_WALK => "begin walk",
        code::PED_BEGIN_CLEARANCE => "begin ped clr",
        code::PED_BEGIN_DONT_WALK => "begin dont walk",
        code::BARRIER_TERMINATION => "barrier",
        code::OVERLAP_BEGIN_GREEN => "fya flashing",
        code::OVERLAP_BEGIN_YELLOW => "fya yellow",
        code::OVERLAP_BEGIN_RED_CLEARANCE => "fya red clr",
        code::OVERLAP_OFF => "fya off",
        code::PHASE_HOLD_ACTIVE => "hold on",
        code::PHASE_HOLD_RELEASED => "hold off",
        code::PHASE_CALL_REGISTERED => "call on",
        code::PHASE_CALL_DROPPED => "call off",
        code::PED_CALL_REGISTERED => "ped call",
        code::PHASE_OMIT_ON => "omit on",
        code::PHASE_OMIT_OFF => "omit off",
        code::PED_OMIT_ON => "ped omit on",
        code::PED_OMIT_OFF => "ped omit off",
        code::DETECTOR_OFF => "det off",
        code::DETECTOR_ON => "det on",
        code::DETECTOR_RESTORED => "det restored",
        code::DETECTOR_FAULT_OTHER..=code::DETECTOR_FAULT_EXCESSIVE_CHANGE => "det fault",
        code::PED_DETECTOR_OFF => "ped det off",
        code::PED_DETECTOR_ON => "ped det on",
        code::PREEMPT_CALL_ON => "preempt call on",
        code::PREEMPT_CALL_OFF => "preempt call off",
        code::PREEMPT_ENTRY_STARTED => "preempt entry",
        code::PREEMPT_BEGIN_DWELL => "preempt dwell",
        code::PREEMPT_BEGIN_EXIT => "preempt exit",
        code::PATTERN_CHANGE => "pattern/mode change",
        code::CYCLE_LENGTH_CHANGE => "cycle change",
        code::OFFSET_LENGTH_CHANGE => "offset change",
        134..=149 => "split change",
        code::COORD_CYCLE_STATE => "coord cycle state",
        code::COORD_YIELD_POINT => "coord yield point",
        code::FLASH_STATUS => "flash",
        code::ALARM => "alarm",
        _ => "-",
    }
}

const HELP: &str = "\
commands (case-insensitive):
  help                 this list
  status               mode, cycle, planner, health, every phase's interval
  phases               phase table: interval, time in it, calls, min/max green, recall
  detectors            detector state, counts and health
  loops                loop detector inputs: contact, presence, count, health
  cameras              source, fps, drops, frame age, health, CPU/NPU per camera
  zones                presence, count, queue and health per camera zone
  faults               latched fault and fault history
  timing               yellow, red clearance, walk, ped clearance; the Webster plan
  events [N]           the last N hi-res events (default 10, at most 64)
  scenarios            scenario pool counters
  schedule             scheduled action, since when, next change; coordination pattern and cycle timer
  stats                loop ticks, overruns, worst tick, allocations, memory
  log level L          off|error|warn|info|debug|trace
  unlock PIN / lock    allow / forbid the commands below
  clear flash          leave a latched flash (the fault must be gone)
  set plan P           webster|actuated|adaptive
  preempt test N       run preempt input N through entry, dwell and exit
  recall P             place a vehicle call on phase P
  snapshot N           JPEG of camera N with its zones, into the state directory's snapshots/
";

/// The console: editor, lock, output buffer and recent events. Fixed size (~5 KB).
pub struct Console {
    editor: LineEditor<CONSOLE_LINE>,
    out: out::OutBuf<CONSOLE_OUT>,
    lock: PinLock,
    recent: heapless::HistoryBuf<Event, CONSOLE_EVENTS>,
    stats: ConsoleStats,
}

impl Console {
    /// `pin`: the configured PIN hash; `None` disables the mutating commands.
    pub fn new(pin: Option<PinHash>) -> Self {
        Console {
            editor: LineEditor::new(),
            out: out::OutBuf::new(),
            lock: PinLock::new(pin),
            recent: heapless::HistoryBuf::new(),
            stats: ConsoleStats::default(),
        }
    }

    /// Greeting and first prompt (call once when the port opens).
    pub fn start(&mut self, site_name: &str) {
        let _ = write!(self.out, "\ngreenwave console, {site_name}. Type `help`.\n");
        self.prompt();
    }

    /// Keeps an event for `events` (the runtime calls this while draining the event ring).
    pub fn record_event(&mut self, ev: &Event) {
        self.recent.write(*ev);
    }

    pub fn stats(&self) -> ConsoleStats {
        ConsoleStats {
            truncated_outputs: self.out.truncations(),
            ..self.stats
        }
    }

    /// Output not yet sent.
    pub fn pending_output(&self) -> &[u8] {
        self.out.pending()
    }

    /// One poll from the control loop: read what is waiting, run complete lines, send output.
    pub fn poll<S: Serial + ?Sized, T: ConsoleTarget + ?Sized>(
        &mut self,
        port: &mut S,
        now: Instant,
        target: &mut T,
    ) -> Result<(), HalError> {
        let mut chunk = [0u8; 64];
        let mut budget = READ_MAX;
        self.tick(now);
        // Do not read more input while output is backed up: the technician (or a paste) waits.
        while budget > 0 && self.out.pending().len() < CONSOLE_OUT / 2 {
            let want = budget.min(chunk.len());
            let n = match port.read(chunk.get_mut(..want).unwrap_or(&mut [])) {
                Ok(n) => n,
                Err(HalError::WouldBlock) => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            budget = budget.saturating_sub(n);
            self.feed(chunk.get(..n).unwrap_or(&[]), now, target);
        }
        self.out.flush(port).map(|_| ())
    }

    /// Applies the idle relock; announces it.
    pub fn tick(&mut self, now: Instant) {
        if self.lock.poll(now) {
            let _ = self.out.write_str("\n[console locked after 10 min idle]\n");
            self.prompt();
        }
    }

    /// Handles input bytes (the pure part of [`Console::poll`]).
    pub fn feed<T: ConsoleTarget + ?Sized>(&mut self, bytes: &[u8], now: Instant, target: &mut T) {
        for &b in bytes {
            self.stats.bytes_in += 1;
            let ev = self.editor.feed(b, &mut self.out);
            match ev {
                None => {}
                Some(LineEvent::Cancelled) => self.prompt(),
                Some(LineEvent::TooLong) => {
                    self.stats.too_long += 1;
                    let _ = writeln!(
                        self.out,
                        "error: line longer than {CONSOLE_LINE} characters, discarded; nothing was run"
                    );
                    self.prompt();
                }
                Some(LineEvent::Line) => {
                    self.stats.lines += 1;
                    // Copy the line out of the editor so the command can borrow `self` mutably.
                    let mut line = [0u8; CONSOLE_LINE];
                    let text = self.editor.line();
                    let len = text.len().min(CONSOLE_LINE);
                    if let (Some(dst), Some(src)) = (line.get_mut(..len), text.as_bytes().get(..len)) {
                        dst.copy_from_slice(src);
                    }
                    self.editor.clear();
                    let text = core::str::from_utf8(line.get(..len).unwrap_or(&[])).unwrap_or("");
                    self.run_line(text, now, target);
                    self.out.end_block();
                    self.prompt();
                }
            }
        }
    }

    fn prompt(&mut self) {
        self.out.end_block();
        let _ = self.out.write_str(if self.lock.unlocked() {
            "greenwave# "
        } else {
            "greenwave> "
        });
    }

    fn run_line<T: ConsoleTarget + ?Sized>(&mut self, text: &str, now: Instant, target: &mut T) {
        let cmd = match command::parse(text) {
            Ok(c) => c,
            Err(e) => {
                self.stats.rejected_lines += 1;
                let word = text.split_ascii_whitespace().next().unwrap_or("");
                if e == ParseError::Unknown {
                    let _ = writeln!(self.out, "error: `{word}`: {e}");
                } else {
                    let _ = writeln!(self.out, "error: {word}: {e}");
                }
                return;
            }
        };
        let unlocked = self.lock.is_unlocked(now);
        self.lock.touch(now);
        if cmd.mutating() && !unlocked {
            self.stats.rejected_lines += 1;
            let _ = writeln!(self.out, "error: locked; `unlock PIN` first");
            return;
        }
        let o = &mut self.out;
        match cmd {
            Command::Empty => {}
            Command::Help => {
                let _ = o.write_str(HELP);
            }
            Command::Status => render_status(o, target),
            Command::Phases => render_phases(o, target),
            Command::Detectors => render_detectors(o, target),
            Command::Loops => render_loops(o, target, now),
            Command::Cameras => render_cameras(o, target),
            Command::Zones => render_zones(o, target),
            Command::Faults => render_faults(o, target),
            Command::Timing => render_timing(o, target),
            Command::Schedule => render_schedule(o, target),
            Command::Events(n) => {
                let n = (n as usize).min(self.recent.len());
                let _ = writeln!(o, "    time  code  param  event");
                for ev in self.recent.oldest_ordered().skip(self.recent.len() - n) {
                    let _ = writeln!(
                        o,
                        "{:>8}  {:>4}  {:>5}  {}",
                        Secs(ev.at.0.min(u32::MAX as u64) as u32),
                        ev.code,
                        ev.param,
                        event_name(ev.code)
                    );
                }
                if n == 0 {
                    let _ = writeln!(o, "(no events yet)");
                }
            }
            Command::Scenarios => {
                let s = target.scenarios();
                let _ = writeln!(
                    o,
                    "slots {}/{} in use  created {}  completed {}  failed {}  timed out {}",
                    s.in_use, s.capacity, s.created, s.completed, s.failed, s.timed_out
                );
            }
            Command::Stats => {
                let s = target.stats();
                let c = ConsoleStats {
                    truncated_outputs: o.truncations(),
                    ..self.stats
                };
                let _ = writeln!(
                    o,
                    "ticks {}  overruns {}  worst tick {} us",
                    s.ticks,
                    s.overruns,
                    s.worst_tick_ns / 1000
                );
                let _ = writeln!(
                    o,
                    "allocations after start-up {}  heap in use {}  rss {}",
                    Figure(s.allocations, ""),
                    Figure(s.heap_bytes, " B"),
                    Figure(s.rss_kb, " kB")
                );
                let _ = writeln!(o, "events dropped (ring full) {}", s.events_ring_dropped);
                render_storage(o, &s, true);
                render_snapshots(o, &s, true);
                if let Some(m) = s.mqtt {
                    let _ = writeln!(o, "mqtt: {m}");
                }
                let _ = writeln!(
                    o,
                    "console: lines {}  rejected {}  too long {}  wrong pins {}  truncated outputs {}",
                    c.lines, c.rejected_lines, c.too_long, c.wrong_pins, c.truncated_outputs
                );
            }
            Command::LogLevel(l) => {
                let _ = target.apply(Action::SetLogLevel(l.filter()), now);
                let _ = writeln!(o, "log level {}", l.name());
            }
            Command::Unlock(pin) => match self.lock.try_unlock(pin.as_bytes(), now) {
                Unlock::Unlocked => {
                    let _ = writeln!(o, "unlocked (locks again after 10 min idle or `lock`)");
                }
                Unlock::Wrong { remaining } => {
                    self.stats.wrong_pins += 1;
                    let tries = if remaining == 1 { "try" } else { "tries" };
                    let _ = writeln!(o, "error: wrong PIN; {remaining} {tries} left before a 60 s lockout");
                }
                Unlock::LockedOut { ms } => {
                    self.stats.wrong_pins += 1;
                    let _ = writeln!(o, "error: wrong PIN; console locked out for {} s", ms.div_ceil(1000));
                }
                Unlock::StillLockedOut { ms } => {
                    let _ = writeln!(
                        o,
                        "error: locked out after wrong PINs; try again in {} s",
                        ms.div_ceil(1000)
                    );
                }
                Unlock::NoPin => {
                    let _ = writeln!(
                        o,
                        "error: no console PIN is configured (site file `[console] pin_hash`)"
                    );
                }
            },
            Command::Snapshot(n) => match target.apply(Action::Snapshot(n), now) {
                Ok(()) => {
                    let _ = writeln!(
                        o,
                        "snapshot of camera {n} requested; it is written to snapshots/ in the state directory (`stats` counts them)"
                    );
                }
                Err(r) => {
                    let _ = writeln!(o, "refused: {r}");
                }
            },
            Command::Lock => {
                self.lock.lock();
                let _ = writeln!(o, "locked");
            }
            Command::ClearFlash | Command::SetPlan(_) | Command::PreemptTest(_) | Command::Recall(_) => {
                let action = match cmd {
                    Command::ClearFlash => Action::ClearFlash,
                    Command::SetPlan(k) => Action::SetPlan(k),
                    Command::PreemptTest(n) => Action::PreemptTest(n),
                    Command::Recall(p) => Action::Recall(p),
                    _ => return,
                };
                match target.apply(action, now) {
                    Ok(()) => {
                        let _ = writeln!(o, "ok");
                    }
                    Err(r) => {
                        let _ = writeln!(o, "refused: {r}");
                    }
                }
            }
        }
    }
}

fn recall_name(r: Recall) -> &'static str {
    match r {
        Recall::None => "none",
        Recall::Min => "min",
        Recall::Max => "max",
        Recall::Ped => "ped",
    }
}

fn render_status<W: Write, T: ConsoleTarget + ?Sized>(o: &mut W, t: &T) {
    let s = t.status();
    let _ = write!(
        o,
        "mode {}  planner {}  cycle {} s",
        s.mode,
        s.planner.name(),
        Secs(s.cycle_ms)
    );
    match s.cycle_elapsed_ms {
        Some(at) => {
            let _ = writeln!(o, " (at {} s)", Secs(at));
        }
        None => {
            let _ = writeln!(o);
        }
    }
    let _ = writeln!(
        o,
        "detection {}  watchdog {}  fault {}",
        if s.detection_trusted {
            "trusted"
        } else {
            "UNTRUSTED (webster fallback)"
        },
        if s.watchdog_ok { "ok" } else { "NOT KICKED" },
        s.fault.unwrap_or("none")
    );
    let _ = writeln!(o, "phase  interval     for s  call");
    for p in t.site().phases() {
        if let Some(v) = t.phase(p.id) {
            let _ = writeln!(
                o,
                "{:>5}  {:<10} {:>7}  {}{}",
                p.id.number(),
                v.interval,
                Secs(v.since_ms),
                if v.called { "V" } else { "-" },
                if v.ped_called { "P" } else { "" }
            );
        }
    }
}

/// A local date and time, `2026-11-30 06:30`.
struct Civil(jiff::civil::DateTime);

impl core::fmt::Display for Civil {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute()
        )
    }
}

fn render_schedule<W: Write, T: ConsoleTarget + ?Sized>(o: &mut W, t: &T) {
    let s = t.schedule();
    let site = t.site();
    let source = if s.calendar {
        "week calendar"
    } else if site.coord.fixed_pattern.is_some() {
        "[site] pattern"
    } else {
        "none (free operation)"
    };
    let zone = if site.time_zone.is_empty() {
        "system"
    } else {
        site.time_zone.as_str()
    };
    let _ = writeln!(o, "schedule  {source}, time zone {zone}");
    match s.local {
        Some(l) => {
            let _ = writeln!(o, "local     {}:{:02}", Civil(l), l.second());
        }
        None => {
            let _ = writeln!(o, "local     unknown (no wall clock yet)");
        }
    }
    let _ = write!(o, "action    {}", s.action);
    match s.since {
        Some(at) => {
            let _ = writeln!(o, " since {}", Civil(at));
        }
        None => {
            let _ = writeln!(o);
        }
    }
    if let Some(p) = s.pattern {
        let _ = write!(
            o,
            "pattern   {}: cycle {} s, offset {} s to {} of the coordinated phases, {}",
            p.number,
            Secs(p.cycle_ms),
            Secs(p.offset_ms),
            if p.yellow_start { "yellow start" } else { "green start" },
            s.state
        );
        match p.cycle_timer_s {
            Some(c) => {
                let _ = writeln!(o, ", cycle timer {c} s");
            }
            None => {
                let _ = writeln!(o);
            }
        }
    }
    match s.next {
        Some(n) => {
            let _ = writeln!(o, "next      {} at {}", n.action, Civil(n.at));
        }
        None => {
            let _ = writeln!(o, "next      no change scheduled");
        }
    }
}

fn render_phases<W: Write, T: ConsoleTarget + ?Sized>(o: &mut W, t: &T) {
    let _ = writeln!(
        o,
        "phase  name              interval     for s  call   min   max  recall  ped"
    );
    for p in t.site().phases() {
        let v = t.phase(p.id);
        let _ = writeln!(
            o,
            "{:>5}  {:<16}  {:<10} {:>7}  {:<4} {:>5} {:>5}  {:<6}  {}",
            p.id.number(),
            p.name.as_str(),
            v.map_or("-", |v| v.interval),
            Secs(v.map_or(0, |v| v.since_ms)),
            match v {
                Some(v) if v.called && v.ped_called => "V+P",
                Some(v) if v.called => "V",
                Some(v) if v.ped_called => "P",
                _ => "-",
            },
            Secs(p.min_green_ms),
            Secs(v.map_or(p.max_green_ms, |v| v.max_ms)),
            recall_name(p.recall),
            if p.ped.is_some() { "yes" } else { "no" }
        );
    }
}

fn render_detectors<W: Write, T: ConsoleTarget + ?Sized>(o: &mut W, t: &T) {
    let d = t.detectors();
    let _ = writeln!(o, "det  phase  state  count  health");
    for (i, def) in t.site().detectors.iter().enumerate().take(MAX_DETECTORS) {
        let Some(def) = def else { continue };
        let _ = writeln!(
            o,
            "{:>3}  {:>5}  {:<5}  {:>5}  {}",
            def.number,
            def.phase.number(),
            if d.presence.contains(i) { "on" } else { "off" },
            d.counts.get(i).copied().unwrap_or(0),
            d.health.get(i).map_or("?", |h| h.name())
        );
    }
}

/// The cabinet's loop detector inputs: the contact as read, the debounced presence, the count,
/// the health and how long the presence has held.
fn render_loops<W: Write, T: ConsoleTarget + ?Sized>(o: &mut W, t: &T, now: Instant) {
    if t.loop_channel(0).is_none() {
        let _ = writeln!(o, "no loop detector inputs on this board");
        return;
    }
    let _ = writeln!(o, "loop  det  phase  contact  state  count  health     for");
    for i in 0..crate::detect::loops::MAX_LOOPS {
        let Some(l) = t.loop_channel(i) else { break };
        let phase = t
            .site()
            .detectors
            .get(usize::from(l.detector.saturating_sub(1)))
            .copied()
            .flatten()
            .map_or(0, |d| d.phase.number());
        let _ = writeln!(
            o,
            "{:>4}  {:>3}  {:>5}  {:<7}  {:<5}  {:>5}  {:<9}  {:>7} s",
            i + 1,
            l.detector,
            phase,
            if l.raw { "closed" } else { "open" },
            if l.present { "on" } else { "off" },
            l.count,
            l.health.name(),
            Secs(now.since_ms(l.changed_at)),
        );
    }
}

fn render_cameras<W: Write, T: ConsoleTarget + ?Sized>(o: &mut W, t: &T) {
    let _ = writeln!(o, "cam  fps    drops  age ms  health        detector  source");
    let mut any = false;
    for i in 0..crate::config::camera::MAX_CAMERAS {
        let Some(c) = t.camera(i) else { break };
        any = true;
        let _ = write!(o, "{:>3}  {:>5.1}  {:>5}  ", i + 1, c.fps, c.drops);
        let _ = match c.frame_age_ms {
            Some(a) => write!(o, "{:>6}", a.min(999_999)),
            None => write!(o, "{:>6}", "-"),
        };
        let _ = writeln!(o, "  {:<12}  {:<8}  {}", c.health, c.detector.name(), c.source);
        if let Some(why) = c.fallback {
            let _ = writeln!(o, "     npu asked, cpu serving: {why}");
        }
    }
    if !any {
        let _ = writeln!(o, "(no cameras configured)");
    }
}

fn render_zones<W: Write, T: ConsoleTarget + ?Sized>(o: &mut W, t: &T) {
    let d = t.detectors();
    let _ = writeln!(o, "cam  zone  det  presence  count  queue m  health");
    let mut any = false;
    for i in 0..crate::config::camera::MAX_CAMERAS {
        let Some(c) = t.camera(i) else { break };
        for (z, det) in c.zones.iter().enumerate() {
            any = true;
            let k = usize::from(det.saturating_sub(1));
            let _ = writeln!(
                o,
                "{:>3}  {:>4}  {:>3}  {:<8}  {:>5}  {:>7.1}  {}",
                i + 1,
                z + 1,
                det,
                if d.presence.contains(k) { "on" } else { "off" },
                d.counts.get(k).copied().unwrap_or(0),
                d.queue_m.get(k).copied().unwrap_or(0.0),
                d.health.get(k).map_or("?", |h| h.name())
            );
        }
    }
    if !any {
        let _ = writeln!(o, "(no camera zones configured)");
    }
}

/// The event log and state file counters; `always`: also when nothing was lost (for `stats`).
fn render_storage<W: Write>(o: &mut W, s: &crate::stats::LoopStats, always: bool) {
    if !always && !s.storage_fault() {
        return;
    }
    if s.event_log {
        let _ = write!(
            o,
            "event log: written {}  lost {} ({} bytes)  queue full {}",
            s.events_logged, s.events_lost, s.log_bytes_lost, s.events_queue_dropped
        );
        if s.log_failing {
            let _ = write!(o, "  FAILING (errno {})", s.log_errno);
        } else if s.log_errno != 0 {
            let _ = write!(o, "  (last error errno {})", s.log_errno);
        }
        let _ = writeln!(o);
    } else if always {
        let _ = writeln!(o, "event log: none");
    }
    if s.state {
        let _ = writeln!(
            o,
            "state saves: ok {}  failed {}{}",
            s.state_saves,
            s.state_save_failures,
            if s.state_failing { "  FAILING" } else { "" }
        );
    }
}

/// The snapshot writer's counters; `always`: also when none failed (for `stats`).
fn render_snapshots<W: Write>(o: &mut W, s: &crate::stats::LoopStats, always: bool) {
    let Some(h) = s.snapshots else { return };
    if !always && h.failed == 0 && h.dropped == 0 {
        return;
    }
    let _ = write!(
        o,
        "snapshots: written {}  failed {}  dropped (writer behind) {}  no frame {}",
        h.written, h.failed, h.dropped, h.no_frame
    );
    match (h.failing, h.last_fault) {
        (true, Some(f)) => {
            let _ = write!(o, "  FAILING ({})", f.name());
        }
        (true, None) => {
            let _ = write!(o, "  FAILING");
        }
        (false, Some(f)) => {
            let _ = write!(o, "  (last failure: {})", f.name());
        }
        (false, None) => {}
    }
    let _ = writeln!(o);
}

fn render_faults<W: Write, T: ConsoleTarget + ?Sized>(o: &mut W, t: &T) {
    let s = t.status();
    let _ = writeln!(o, "latched: {}", s.fault.unwrap_or("none"));
    let _ = writeln!(o, "    time  fault                   param  latched");
    let mut any = false;
    for i in 0..crate::limits::FAULT_HISTORY {
        let Some(f) = t.fault(i) else { break };
        any = true;
        let _ = writeln!(
            o,
            "{:>8}  {:<22}  {:>5}  {}",
            Secs(f.at.0.min(u32::MAX as u64) as u32),
            f.name,
            f.param,
            if f.latched { "yes" } else { "no" }
        );
    }
    if !any {
        let _ = writeln!(o, "(no faults recorded)");
    }
    // Storage faults do not latch flash, but they are faults: shown here when anything was lost.
    render_storage(o, &t.stats(), false);
    render_snapshots(o, &t.stats(), false);
}

fn render_timing<W: Write, T: ConsoleTarget + ?Sized>(o: &mut W, t: &T) {
    let _ = writeln!(o, "phase  yellow  red clr    walk  ped clr  passage");
    for p in t.site().phases() {
        let (walk, clr) = p.ped.map_or((0, 0), |x| (x.walk_ms, x.clearance_ms));
        let _ = writeln!(
            o,
            "{:>5}  {:>6}  {:>7}  {:>6}  {:>7}  {:>7}",
            p.id.number(),
            Secs(p.yellow_ms),
            Secs(p.red_clear_ms),
            Secs(walk),
            Secs(clr),
            Secs(p.passage_ms)
        );
    }
    let plan = t.plan();
    let _ = write!(
        o,
        "webster plan ({}): cycle {} s; splits",
        plan.source,
        Secs(plan.cycle_ms)
    );
    for (i, ms) in plan.split_ms.iter().enumerate() {
        if *ms > 0 {
            let _ = write!(o, " {}:{}", PhaseId::from_index(i).map_or(0, |p| p.number()), Secs(*ms));
        }
    }
    if !plan.permissive_only.is_empty() {
        let _ = write!(o, "; flashing arrow only:");
        for p in plan.permissive_only.iter() {
            let _ = write!(o, " {}", p.number());
        }
    }
    let _ = writeln!(o);
    if let Some(c) = plan.capped {
        let _ = writeln!(o, "{c}");
    }
}
