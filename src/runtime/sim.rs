//! The fixed-rate control loop, and `greenwave sim`: the real controller on simulated hardware.
//!
//! [`ControlLoop`] owns the controller and the hardware behind the `hal` traits and runs one tick
//! per call of [`ControlLoop::tick`]: read detection and inputs → `Controller::tick` → write the
//! relays → read them back → hand the events to the log → kick the watchdog if the tick was on
//! time and nothing failed. The board binary and `greenwave sim` share it; only the hardware and
//! the pacing differ. After construction it does not allocate (tested in `tests/no_alloc.rs`).
//!
//! Controller time: at `--speed max` it is simulated (tick count × tick length), so a simulation
//! is exactly repeatable. In real time (a board, `sim --speed F`) it is the monotonic clock read
//! at each wake-up (scaled by F), never a count of ticks: a wake-up cut short by a signal sleeps
//! again to its absolute deadline, and a late one is measured, counted as an overrun when it
//! misses a whole tick, and past [`STALL_LIMIT_MS`] latches flash. An interval therefore lasts at
//! least its configured length on the street whatever the process is sent.

use crate::config::Site;
use crate::console::controller::Bound;
use crate::console::lock::PinHash;
use crate::console::view::LoopStats as ConsoleLoopStats;
use crate::console::Console;
use crate::detect::DetectorSnapshot;
use crate::events::csv::WallClock;
use crate::events::single::OpenMode;
use crate::hal::linux::serial::TermiosSerial;
use crate::hal::mirror::MirrorRelays;
use crate::hal::sim::{SimRelays, SimWatchdog};
use crate::hal::{Clock, InputFrame, Relays, Watchdog};
use crate::monitor::card::MmuCard;
use crate::monitor::FaultKind;
use crate::runtime::controller::Controller;
use crate::runtime::latency::WakeLatency;
use crate::runtime::logger::{EventSink, LogHealth};
use crate::runtime::loss::LossWatch;
use crate::runtime::realtime::{MonotonicClock, Signals};
use crate::runtime::state::{StateHealth, StateKeeper, StateSnapshot};
use crate::runtime::supervisor::{Subsystem, Supervisor};
use crate::signal::frame::OutputFrame;
use crate::sim::traffic::{SimTraffic, TrafficStats};
use crate::time::Instant;
use std::path::PathBuf;

/// Where detector data and cabinet inputs come from each tick.
pub trait Source {
    /// Detection and inputs at `now`, given the lamps the street showed during the last tick.
    fn poll(&mut self, now: Instant, shown: &OutputFrame) -> (DetectorSnapshot, InputFrame);
    /// The simulated traffic's totals, when the source is a simulation.
    fn traffic_stats(&self) -> Option<TrafficStats> {
        None
    }
}

impl Source for SimTraffic {
    fn poll(&mut self, now: Instant, shown: &OutputFrame) -> (DetectorSnapshot, InputFrame) {
        self.step(now, shown)
    }
    fn traffic_stats(&self) -> Option<TrafficStats> {
        Some(self.stats())
    }
}

/// Longest a clean stop may take before the loop gives up waiting and latches flash (the longest
/// green end is min green + walk + pedestrian clearance + yellow + red clearance, well below this).
pub const STOP_LIMIT_MS: u64 = 120_000;

/// A real-time wake-up this late means the loop did not run for that long: detection, inputs and
/// relay read-back went unchecked. The controller latches flash rather than trust its timing
/// (the hardware watchdog, when configured, resets the board on a longer hang).
pub const STALL_LIMIT_MS: u64 = 2_000;

/// SIGHUPs closer together than this coalesce: the site file is read at most once per this
/// interval (the last request is still honoured), so a storm of signals cannot make the loop
/// re-read its configuration every tick.
pub const RELOAD_SPACING_MS: u64 = 1_000;

/// Loop counters. Every event the controller generated ends up in exactly one of: written, lost
/// (the write failed), dropped (the hand-off queue or the controller's ring was full), or — without
/// an event log — only shown on the console.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopStats {
    pub ticks: u64,
    pub overruns: u64,
    pub worst_tick_ns: u64,
    pub relay_errors: u64,
    pub watchdog_kicks: u64,
    /// Events the controller generated.
    pub events_generated: u64,
    /// Event rows on disk (counted once the write succeeded).
    pub events_logged: u64,
    /// Event rows lost because the write failed (disk full, I/O error, a log file not created).
    pub events_lost: u64,
    /// Bytes of the lost rows.
    pub log_bytes_lost: u64,
    pub log_write_errors: u64,
    /// Event log files that could not be created (rotation included).
    pub log_open_failures: u64,
    /// errno of the most recent event log failure (0 = none).
    pub log_errno: i32,
    /// Events dropped because the writer's hand-off queue was full.
    pub events_queue_dropped: u64,
    /// Events dropped because the controller's event ring was full.
    pub events_ring_dropped: u64,
    /// State file saves that succeeded / failed, snapshots skipped (writer behind).
    pub state_saves: u64,
    pub state_save_failures: u64,
    pub state_skipped: u64,
    /// errno of the most recent failed state save (0 = none).
    pub state_errno: i32,
    /// Alarms raised for write failures (one per episode).
    pub loss_alarms: u64,
    pub reloads: u64,
    pub reload_errors: u64,
    /// SIGHUPs that found the site file unchanged (nothing to hand over).
    pub reloads_unchanged: u64,
    /// Sleeps interrupted by a signal and resumed to their deadline.
    pub interrupted_sleeps: u64,
    /// Real-time wake-ups later than [`STALL_LIMIT_MS`].
    pub stalls: u64,
}

impl LoopStats {
    /// Events that did not reach a log that was configured: lost plus dropped.
    pub fn events_missing(&self) -> u64 {
        self.events_lost + self.events_queue_dropped + self.events_ring_dropped
    }

    fn take_log(&mut self, h: &LogHealth) {
        self.events_logged = h.rows_written;
        self.events_lost = h.rows_lost;
        self.log_bytes_lost = h.bytes_lost;
        self.log_write_errors = h.write_errors;
        self.log_open_failures = h.open_failures;
        self.log_errno = h.last_errno;
        self.events_queue_dropped = h.queue_dropped;
    }

    fn take_state(&mut self, h: &StateHealth) {
        self.state_saves = h.saves;
        self.state_save_failures = h.failures;
        self.state_skipped = h.skipped;
        self.state_errno = h.last_errno;
    }
}

/// Exit status of `greenwave sim` when the run completed but something was lost: event rows not
/// written (or dropped), or a state file not saved. The summary says what.
pub const EXIT_LOSS: u8 = 3;

/// A short reason for an errno in the summary.
fn reason(errno: i32) -> String {
    use std::io::ErrorKind;
    let e = std::io::Error::from_raw_os_error(errno);
    match e.kind() {
        ErrorKind::StorageFull => "disk full".into(),
        ErrorKind::FileTooLarge => "file too large".into(),
        ErrorKind::ReadOnlyFilesystem => "read-only file system".into(),
        _ => e.to_string(),
    }
}

/// One intersection's loop over hardware `R` (relays), `W` (watchdog), `S` (detection + inputs).
pub struct ControlLoop<R: Relays, W: Watchdog, S: Source> {
    pub controller: Controller,
    pub relays: R,
    pub watchdog: W,
    pub source: S,
    pub stats: LoopStats,
    /// The detector snapshot of the last tick (console `detectors`).
    pub last_det: DetectorSnapshot,
    shown: OutputFrame,
    now: Instant,
    stop_at: Option<Instant>,
    pending: Option<Box<Site>>,
    /// Decides whether the watchdog is kicked.
    pub supervisor: Supervisor,
    /// The cabinet's compatibility card: the monitor's permissions, kept across reloads.
    card: MmuCard,
}

impl<R: Relays, W: Watchdog, S: Source> ControlLoop<R, W, S> {
    pub fn new(site: &Site, card: &MmuCard, relays: R, watchdog: W, source: S) -> Self {
        ControlLoop {
            controller: Controller::new(site, card, Instant::ZERO),
            relays,
            watchdog,
            source,
            stats: LoopStats::default(),
            last_det: DetectorSnapshot::EMPTY,
            shown: OutputFrame::ALL_RED,
            now: Instant::ZERO,
            stop_at: None,
            pending: None,
            supervisor: Supervisor::new(site.tick_ms, None),
            card: *card,
        }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// One tick at `now`. `on_time`: the previous deadline was met (only then is the watchdog
    /// kicked). Events stay in the controller's ring for the caller to drain.
    pub fn tick(&mut self, now: Instant, on_time: bool) {
        self.now = now;
        self.stats.ticks += 1;
        let (det, inputs) = self.source.poll(now, &self.shown);
        let frame = self.controller.tick(now, &det, &inputs);
        self.last_det = det;
        if on_time {
            self.supervisor.report(Subsystem::Loop, now);
        }
        if now.since(det.at) <= u64::from(self.controller.site().detector_stale_ms) {
            self.supervisor.report(Subsystem::Detection, now);
        }
        match self.relays.write(&frame) {
            Ok(()) => {
                let rb = self.relays.read_back();
                if rb.is_ok() {
                    self.supervisor.report(Subsystem::Relays, now);
                }
                self.controller.relay_feedback(now, rb);
            }
            Err(_) => {
                self.stats.relay_errors += 1;
                self.controller.external_fault(now, FaultKind::Controller);
            }
        }
        let healthy = self.supervisor.healthy(now);
        self.shown = frame;
        if let Some(at) = self.stop_at {
            if !self.controller.stopped() && now.since(at) > STOP_LIMIT_MS {
                self.controller.external_fault(now, FaultKind::Controller);
            }
        }
        if let Some(site) = self.pending.as_deref() {
            if self.controller.handover_ready() {
                // All red after every clearance: the new site's controller starts its own start-up
                // all red from here, and its monitor starts from the same all-red state.
                // What was learned and counted carries over (`Controller::handover_from`).
                let mut next = Controller::handover_from(&mut self.controller, site, &self.card, now);
                if self.stop_at.is_some() {
                    // A stop requested during the handover applies to the new controller, which is
                    // in its start-up all red and stops at once.
                    next.request_stop(now);
                }
                self.controller = next;
                self.pending = None;
                self.stats.reloads += 1;
            }
        }
        if healthy && self.watchdog.kick().is_ok() {
            self.stats.watchdog_kicks += 1;
        }
    }

    /// Clean stop: clearances run out, then flash.
    pub fn request_stop(&mut self) {
        if self.stop_at.is_none() {
            self.stop_at = Some(self.now);
            self.controller.request_stop(self.now);
        }
    }

    pub fn stopped(&self) -> bool {
        self.controller.stopped()
    }

    /// Whether a SIGHUP may be acted on now. Not while a handover is pending or the controller is
    /// still in a start-up all red: reload requests arriving then are held and coalesce into one,
    /// so a burst of SIGHUPs cannot keep the intersection in all red.
    pub fn reload_ready(&self) -> bool {
        self.pending.is_none()
            && self.stop_at.is_none()
            && self.controller.mode() != crate::runtime::controller::ControllerMode::Startup
    }

    /// Switch to a new, validated site at the next all-red point (SIGHUP reload). A site that asks
    /// for what the compatibility card forbids is refused (logged and counted); the old one runs on.
    pub fn reload(&mut self, site: Site) {
        if let Err(e) = self.card.check_site(&site) {
            log::error!("reload refused: site \"{}\": {e} (fix: {})", site.name, e.fix());
            self.stats.reload_errors += 1;
            return;
        }
        self.pending = Some(Box::new(site));
        self.controller.request_handover(self.now);
    }
}

/// How fast `greenwave sim` runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// As fast as the machine allows.
    Max,
    /// Real time × factor (1.0 = real time, as on a board).
    Factor(f64),
}

pub struct SimOptions {
    pub site_path: PathBuf,
    pub duration_s: u64,
    pub speed: Speed,
    pub seed: u64,
    pub events: Option<PathBuf>,
    pub volumes: f64,
    /// Unix time (ms) of simulated time zero, for event timestamps.
    pub start_unix_ms: i64,
    /// Serial console: an open port and the PIN hash for mutating commands.
    pub console: Option<ConsoleSetup>,
    /// Directory for persistent state (learned flows, counters, fault history).
    pub state_dir: Option<PathBuf>,
    /// Q-table for the learned planner.
    pub model: Option<crate::plan::learned::QTable>,
    /// Rotating event log directory (board runs; `events` takes precedence).
    pub event_dir: Option<PathBuf>,
    /// Mirror every frame written to the relays into this file (`hal::mirror`).
    pub relay_mirror: Option<PathBuf>,
    /// A planner chosen on the command line; it stays in force across SIGHUP reloads.
    pub planner_override: Option<crate::config::PlannerKind>,
    /// Further checks a reloaded site must pass (the board's wiring and MMU card on a cabinet).
    pub reload_check: Option<ReloadCheck>,
    /// What to do with an existing `events` file (refuse, append, overwrite).
    pub events_mode: OpenMode,
}

/// Real-time pacing at `factor` × real time: controller milliseconds ↔ monotonic nanoseconds.
#[derive(Clone, Copy, Debug)]
struct Pace {
    factor: f64,
}

impl Pace {
    fn new(factor: f64) -> Pace {
        Pace {
            factor: factor.max(1e-3),
        }
    }

    /// When controller time `t` falls, in monotonic nanoseconds since the loop started.
    fn wall_ns(&self, t: Instant) -> u64 {
        if self.factor == 1.0 {
            t.0.saturating_mul(1_000_000)
        } else {
            (t.0 as f64 * 1e6 / self.factor) as u64
        }
    }

    /// Controller time at `ns` monotonic nanoseconds since the loop started (whole ms, rounded
    /// down, so an interval timed on it is never longer in controller time than on the clock).
    fn controller_time(&self, ns: u64) -> Instant {
        if self.factor == 1.0 {
            Instant(ns / 1_000_000)
        } else {
            Instant((ns as f64 * self.factor / 1e6) as u64)
        }
    }
}

/// The monotonic clock on the paced controller time line: when work in a tick actually finished.
#[derive(Clone, Copy, Debug)]
struct PacedClock {
    mono: MonotonicClock,
    pace: Pace,
}

impl Clock for PacedClock {
    fn now(&self) -> Instant {
        self.pace.controller_time(self.mono.now_ns())
    }
}

/// Acts on a SIGHUP: re-reads the site file and hands over to it at the next all-red point if it
/// changed and can be applied; otherwise keeps the running configuration and says why.
fn reload<R: Relays, W: Watchdog, S: Source>(lp: &mut ControlLoop<R, W, S>, opts: &SimOptions) {
    let path = opts.site_path.display();
    let new = match Site::load(&opts.site_path) {
        Ok(s) => s,
        Err(e) => {
            lp.stats.reload_errors += 1;
            log::error!("reload rejected, keeping the running configuration: {e}");
            return;
        }
    };
    let new = match opts.planner_override {
        Some(p) => new.with_planner(p),
        None => new,
    };
    let running = lp.controller.site();
    if new == *running {
        lp.stats.reloads_unchanged += 1;
        // A storm of SIGHUPs would flood the log: say it at 1, 2, 4, 8 … times.
        let n = lp.stats.reloads_unchanged;
        if n.is_power_of_two() {
            log::info!("reload: {path} unchanged, nothing to apply ({n} so far)");
        }
        return;
    }
    if new.tick_ms != running.tick_ms {
        lp.stats.reload_errors += 1;
        log::error!(
            "reload rejected: {path} changes tick_ms from {} to {} ms; the loop period is fixed at start-up — \
             restart greenwave to apply it (keeping the running configuration)",
            running.tick_ms,
            new.tick_ms
        );
        return;
    }
    if let Some(check) = &opts.reload_check {
        if let Err(e) = check(&new) {
            lp.stats.reload_errors += 1;
            log::error!("reload rejected, keeping the running configuration: {e}");
            return;
        }
    }
    log::info!("reloading {path}");
    lp.reload(new);
}

/// Controller time between two state saves.
pub const STATE_SAVE_MS: u64 = 300_000;

/// A check a reloaded site must pass before it is applied.
pub type ReloadCheck = Box<dyn Fn(&Site) -> Result<(), String>>;

/// A serial console to serve from the loop.
pub struct ConsoleSetup {
    pub port: TermiosSerial,
    pub pin: Option<PinHash>,
}

impl core::fmt::Debug for ConsoleSetup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ConsoleSetup")
    }
}

/// What `greenwave sim` prints at the end.
#[derive(Clone, Debug)]
pub struct SimSummary {
    pub simulated_s: f64,
    pub loop_stats: LoopStats,
    /// The simulated traffic (None on a board).
    pub traffic: Option<TrafficStats>,
    pub faults: u32,
    pub fault: Option<crate::monitor::Fault>,
    pub cycles: u64,
    pub last_cycle_ms: u32,
    pub plan_cycle_ms: u32,
    pub wall_s: f64,
    /// Wake-up latency of the real-time loop (None at `--speed max`).
    pub wake: Option<WakeLatency>,
    pub stopped_by_signal: bool,
    pub learned: crate::plan::learned::LearnedStats,
    /// The planner's scenario pool: planning cycles completed, failed, timed out.
    pub scenarios: crate::scenario::PoolStats,
    /// Heap in use after start-up and at the end of the loop, bytes (0 without the counting
    /// allocator, `runtime::heap`).
    pub heap_start_bytes: u64,
    pub heap_end_bytes: u64,
    /// An event log was written.
    pub event_log: bool,
    /// State was kept (`--state-dir`, or the board's state directory).
    pub state: bool,
}

impl SimSummary {
    /// Something was lost: event rows not written or dropped, or a state file not saved.
    pub fn lossy(&self) -> bool {
        let l = &self.loop_stats;
        (self.event_log && l.events_missing() > 0) || l.events_ring_dropped > 0 || l.state_save_failures > 0
    }
}

impl core::fmt::Display for SimSummary {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let l = &self.loop_stats;
        writeln!(
            f,
            "simulated time    {:.1} s ({:.2} s wall, {:.0}x real time)",
            self.simulated_s,
            self.wall_s,
            self.simulated_s / self.wall_s.max(1e-9)
        )?;
        writeln!(
            f,
            "ticks             {} ({} overruns, worst tick {:.1} us)",
            l.ticks,
            l.overruns,
            l.worst_tick_ns as f64 / 1000.0
        )?;
        if let Some(t) = &self.traffic {
            writeln!(
                f,
                "vehicles          {} arrived, {} served, {} still queued, {} spilled back",
                t.arrived, t.served, t.queued, t.spilled
            )?;
            writeln!(
                f,
                "mean delay        {:.1} s per served vehicle (model)",
                t.mean_delay_s()
            )?;
            writeln!(f, "pedestrian calls  {}", t.ped_calls)?;
        }
        writeln!(
            f,
            "cycles            {} (last {:.1} s, Webster plan {:.1} s)",
            self.cycles,
            self.last_cycle_ms as f64 / 1000.0,
            self.plan_cycle_ms as f64 / 1000.0
        )?;
        if self.heap_start_bytes > 0 {
            writeln!(
                f,
                "heap in use       {} B after start-up, {} B at the end (growth {} B)",
                self.heap_start_bytes,
                self.heap_end_bytes,
                self.heap_end_bytes as i64 - self.heap_start_bytes as i64
            )?;
        }
        write!(f, "events            {} generated", l.events_generated)?;
        if self.event_log {
            write!(f, ", {} written, {} lost", l.events_logged, l.events_lost)?;
            if l.events_lost > 0 || l.log_write_errors > 0 {
                write!(
                    f,
                    " ({}: {} write errors, {} bytes",
                    reason(l.log_errno),
                    l.log_write_errors,
                    l.log_bytes_lost
                )?;
                if l.log_open_failures > 0 {
                    write!(f, ", {} log files not created", l.log_open_failures)?;
                }
                write!(f, ")")?;
            }
            if l.events_queue_dropped > 0 {
                write!(f, ", {} dropped (log queue full)", l.events_queue_dropped)?;
            }
        } else {
            write!(f, " (no event log)")?;
        }
        if l.events_ring_dropped > 0 {
            write!(f, ", {} dropped (event ring full)", l.events_ring_dropped)?;
        }
        writeln!(f)?;
        if self.state {
            write!(
                f,
                "state saves       {} ok, {} failed",
                l.state_saves, l.state_save_failures
            )?;
            if l.state_save_failures > 0 {
                write!(f, " ({})", reason(l.state_errno))?;
            }
            if l.state_skipped > 0 {
                write!(f, ", {} snapshots skipped (writer behind)", l.state_skipped)?;
            }
            writeln!(f)?;
        }
        if l.loss_alarms > 0 {
            writeln!(f, "storage alarms    {} (event 174, not latching flash)", l.loss_alarms)?;
        }
        writeln!(
            f,
            "reloads           {} ({} rejected, {} unchanged)",
            l.reloads, l.reload_errors, l.reloads_unchanged
        )?;
        if let Some(w) = &self.wake {
            writeln!(f, "wake-up latency   {w}")?;
            writeln!(
                f,
                "signals           {} sleeps interrupted and resumed, {} stalls",
                l.interrupted_sleeps, l.stalls
            )?;
        }
        if self.learned.confident + self.learned.deferred > 0 {
            let n = (self.learned.confident + self.learned.deferred) as f64;
            writeln!(
                f,
                "learned planner   {:.0} % of decisions confident",
                self.learned.confident as f64 * 100.0 / n
            )?;
        }
        let sc = &self.scenarios;
        if sc.timed_out + sc.failed + sc.exhausted > 0 {
            writeln!(
                f,
                "planning cycles   {} completed, {} failed ({} timed out), {} without a free slot",
                sc.completed, sc.failed, sc.timed_out, sc.exhausted
            )?;
        }
        write!(f, "faults            {}", self.faults)?;
        if let Some(fault) = &self.fault {
            write!(f, " (flash latched: {fault})")?;
        }
        Ok(())
    }
}

/// Runs `greenwave sim`.
pub fn run_sim(site: &Site, card: &MmuCard, opts: &mut SimOptions, signals: &Signals) -> Result<SimSummary, String> {
    let traffic = SimTraffic::new(site, opts.volumes, opts.seed);
    let relays = match &opts.relay_mirror {
        Some(path) => MirrorRelays::to_file(SimRelays::default(), path)?,
        None => MirrorRelays::off(SimRelays::default()),
    };
    let mut lp = ControlLoop::new(site, card, relays, SimWatchdog::default(), traffic);
    drive(&mut lp, site, opts, signals)
}

/// Runs a control loop until the duration ends or a stop signal has run its course: paces it
/// (`opts.speed`), serves the console, logs events, saves state, reloads on SIGHUP. Shared by
/// `greenwave sim` and `greenwave run` (the board).
pub fn drive<R: Relays, W: Watchdog, S: Source>(
    lp: &mut ControlLoop<R, W, S>,
    site: &Site,
    opts: &mut SimOptions,
    signals: &Signals,
) -> Result<SimSummary, String> {
    let mut console = opts.console.take().map(|c| {
        let mut con = Console::new(c.pin);
        con.start(site.name.as_str());
        (con, c.port)
    });
    if let Some(m) = opts.model.take() {
        lp.controller.planner_mut().set_model(m);
    }
    let clock = WallClock {
        unix_ms_at_zero: opts.start_unix_ms,
    };
    let mut sink = match (&opts.events, &opts.event_dir) {
        (Some(p), _) => Some(EventSink::create(p, opts.events_mode, site.device_id, clock)?),
        (None, Some(dir)) => Some(EventSink::create_rotating(dir, site.device_id, clock)?),
        (None, None) => None,
    };
    let mut state = match &opts.state_dir {
        None => None,
        Some(dir) => {
            let (keeper, loaded) = StateKeeper::start(dir)?;
            for (level, line) in &loaded.report {
                log::log!(*level, "state {}: {line}", dir.display());
            }
            // Refused flows (not traffic: logged by the planner) count no learned cycles.
            let mut prior_cycles = loaded.flows.cycles;
            if prior_cycles > 0 {
                if lp
                    .controller
                    .planner_mut()
                    .set_flows(site, &loaded.flows.flows_vph)
                    .is_ok()
                {
                    log::info!("Webster fail-safe plan seeded from {prior_cycles} learned cycles");
                } else {
                    prior_cycles = 0;
                }
            }
            Some((keeper, loaded.counters, prior_cycles))
        }
    };
    let mut last_save = Instant::ZERO;
    let mut loss = LossWatch::new();
    let mut last_faults = 0;
    let tick_ms = u64::from(site.tick_ms.max(1));
    let duration_ms = opts.duration_s.saturating_mul(1000);
    let mono = MonotonicClock::new();
    let pace = match opts.speed {
        Speed::Max => None,
        Speed::Factor(f) => Some(Pace::new(f)),
    };
    if let Some(pace) = pace {
        lp.controller.set_work_clock(Box::new(PacedClock { mono, pace }));
    }
    let mut wake = WakeLatency::default();
    let wall_start = std::time::Instant::now();
    let mut on_time = true;
    let mut k: u64 = 0;
    let mut now = Instant::ZERO;
    let mut stopped_by_signal = false;
    // The thread handle is created on first use (a few bytes); create it now so the heap measured
    // after start-up is the heap of the whole run.
    let _ = std::thread::current();
    // Likewise the heap after start-up is the most of a few samples: a worker thread caught between
    // freeing one buffer and taking the next must not make the run look as if it grew.
    let mut heap_start_bytes = crate::runtime::heap::in_use_bytes();
    if heap_start_bytes > 0 {
        for _ in 0..4 {
            std::thread::sleep(std::time::Duration::from_millis(2));
            heap_start_bytes = heap_start_bytes.max(crate::runtime::heap::in_use_bytes());
        }
    }
    // The console's `stats`: the process's allocations since here and its resident size (the
    // file is opened now, each sample reads it into a stack buffer).
    let mut rss = crate::runtime::rss::RssReader::open();
    let heap_installed = crate::runtime::heap::installed();
    let allocations_start = crate::runtime::heap::allocations();
    let mut reload_wanted = false;
    let mut last_reload: Option<Instant> = None;
    loop {
        if now.0 >= duration_ms && lp.stop_at.is_none() {
            if pace.is_none() {
                break;
            }
            // On the street the run ends like SIGTERM: clearances run out, then flash — never a
            // yellow cut off by releasing the relays.
            lp.request_stop();
        }
        if signals.stop_requested() && lp.stop_at.is_none() {
            stopped_by_signal = true;
            lp.request_stop();
        }
        reload_wanted |= signals.take_reload();
        if reload_wanted && lp.reload_ready() && last_reload.is_none_or(|t| now.since(t) >= RELOAD_SPACING_MS) {
            reload_wanted = false;
            last_reload = Some(now);
            reload(lp, opts);
        }
        let t0 = mono.now_ns();
        lp.tick(now, on_time);
        let log_health = sink.as_ref().map(EventSink::health);
        let state_health = state.as_ref().map(|(keeper, ..)| keeper.health());
        loss.check(
            now,
            lp.controller.events_mut(),
            log_health.map(|h| (h.failing, h.write_errors)),
            state_health.map(|h| (h.failing, h.failures)),
        );
        let wait = pace.is_none();
        while let Some(ev) = lp.controller.events_mut().pop() {
            lp.stats.events_generated += 1;
            if let Some((con, _)) = console.as_mut() {
                con.record_event(&ev);
            }
            if let Some(s) = sink.as_mut() {
                s.send(ev, wait);
            }
        }
        if let Some((con, port)) = console.as_mut() {
            let log = log_health.unwrap_or_default();
            let st = state_health.unwrap_or_default();
            let stats = ConsoleLoopStats {
                ticks: lp.stats.ticks,
                overruns: lp.stats.overruns,
                worst_tick_us: u32::try_from(lp.stats.worst_tick_ns / 1000).unwrap_or(u32::MAX),
                allocations: heap_installed
                    .then(|| crate::runtime::heap::allocations().saturating_sub(allocations_start)),
                heap_bytes: heap_installed.then(crate::runtime::heap::in_use_bytes),
                rss_kb: rss.sample(mono.now_ns() / 1_000_000),
                events_dropped: lp.controller.events().dropped(),
                event_log: log_health.is_some(),
                log_rows_written: log.rows_written,
                log_rows_lost: log.rows_lost,
                log_bytes_lost: log.bytes_lost,
                log_queue_dropped: log.queue_dropped,
                log_errno: log.last_errno,
                log_failing: log.failing,
                state: state_health.is_some(),
                state_saves: st.saves,
                state_save_failures: st.failures,
                state_failing: st.failing,
            };
            let det = lp.last_det;
            let mut bound = Bound {
                controller: &mut lp.controller,
                detectors: &det,
                stats,
                watchdog_ok: on_time,
                now,
            };
            // A console I/O error (cable pulled) must never stop the controller.
            let _ = con.poll(port, now, &mut bound);
        }
        if let Some((keeper, base, prior)) = state.as_mut() {
            let faults = lp.controller.monitor().faults_total();
            if now.since(last_save) >= STATE_SAVE_MS || faults != last_faults {
                last_save = now;
                last_faults = faults;
                let unix_s = (opts.start_unix_ms + now.0 as i64) / 1000;
                keeper.offer(StateSnapshot::of(&lp.controller, base, *prior, unix_s));
            }
        }
        let work = mono.now_ns().saturating_sub(t0);
        lp.stats.worst_tick_ns = lp.stats.worst_tick_ns.max(work);
        if lp.stop_at.is_some() && lp.stopped() {
            break;
        }
        match &pace {
            // Simulated time: exactly repeatable.
            None => {
                k += 1;
                now = Instant(k * tick_ms);
            }
            Some(pace) => {
                // Sleep to the next tick boundary after the time just run, then take the clock as
                // controller time. Missed boundaries are skipped, never run in a burst.
                let next = Instant((now.0 / tick_ms + 1) * tick_ms);
                let deadline_ns = pace.wall_ns(next);
                lp.stats.interrupted_sleeps += u64::from(mono.sleep_until_ns(deadline_ns));
                let woke_ns = mono.now_ns();
                let late_ns = woke_ns.saturating_sub(deadline_ns);
                wake.record(late_ns);
                now = now.max(pace.controller_time(woke_ns));
                on_time = now.since(next) < tick_ms;
                if !on_time {
                    lp.stats.overruns += 1;
                }
                if late_ns > STALL_LIMIT_MS * 1_000_000 {
                    lp.stats.stalls += 1;
                    log::error!(
                        "control loop stalled {} ms (limit {STALL_LIMIT_MS} ms): latching flash",
                        late_ns / 1_000_000
                    );
                    lp.controller.external_fault(now, FaultKind::Controller);
                }
            }
        }
    }
    // The event-log writer and the state keeper may hold a passing allocation at any instant; a
    // leak stays, so the least of a few samples is the heap the run kept (a leak shows however the
    // samples fall, since it only grows).
    let mut heap_end_bytes = crate::runtime::heap::in_use_bytes();
    for _ in 0..4 {
        if heap_end_bytes <= heap_start_bytes {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        heap_end_bytes = heap_end_bytes.min(crate::runtime::heap::in_use_bytes());
    }
    let kept_state = state.is_some();
    if let Some((mut keeper, base, prior)) = state.take() {
        let unix_s = (opts.start_unix_ms + lp.now().0 as i64) / 1000;
        keeper.offer_wait(StateSnapshot::of(&lp.controller, &base, prior, unix_s));
        let h = keeper.finish();
        if h.failing {
            log::error!("the last state save failed: learned flows may be older than this run");
        }
        lp.stats.take_state(&h);
        // A run faster than the writer: its failures may show only now; the alarm still goes to the log.
        loss.check(
            lp.now(),
            lp.controller.events_mut(),
            None,
            Some((h.failing, h.failures)),
        );
    }
    // Events still in the ring (the last tick's, a final alarm) go to the log too.
    while let Some(ev) = lp.controller.events_mut().pop() {
        lp.stats.events_generated += 1;
        if let Some(s) = sink.as_mut() {
            s.send(ev, true);
        }
    }
    lp.stats.events_ring_dropped = lp.controller.events().dropped();
    lp.stats.events_generated += lp.stats.events_ring_dropped;
    let event_log = sink.is_some();
    if let Some(s) = sink.take() {
        // Never an error: what could not be written is counted, and the state was saved regardless.
        let h = s.finish();
        lp.stats.take_log(&h);
    }
    lp.stats.loss_alarms = loss.alarms;
    let _ = lp.watchdog.disarm();
    let status = lp.controller.status();
    Ok(SimSummary {
        simulated_s: lp.now().0 as f64 / 1000.0,
        loop_stats: lp.stats,
        traffic: lp.source.traffic_stats(),
        // A clean stop latches flash too; it is not a fault.
        faults: status.faults_total - u32::from(status.fault.is_some_and(|f| f.kind == FaultKind::Stopped)),
        fault: status.fault,
        cycles: status.cycles,
        last_cycle_ms: status.cycle_ms,
        plan_cycle_ms: status.plan.cycle_ms,
        wall_s: wall_start.elapsed().as_secs_f64(),
        wake: pace.map(|_| wake),
        stopped_by_signal,
        learned: lp.controller.planner().learned_stats(),
        scenarios: status.scenarios,
        heap_start_bytes,
        heap_end_bytes,
        event_log,
        state: kept_state,
    })
}
