//! The fixed-rate control loop shared by `greenwave sim` and `greenwave run` (the board).
//!
//! [`ControlLoop`] owns the controller and the hardware behind the `hal` traits and runs one tick
//! per call of [`ControlLoop::tick`]: read the street (detection and cabinet inputs) →
//! `Controller::tick` → write the relays → read them back → kick the watchdog if the tick was on
//! time and every supervised part reported (`runtime::supervisor`). [`run`] is the loop around it:
//! pacing, signals, SIGHUP reloads, and the services of `runtime::service` and `runtime::console`
//! (event log, state keeper, console), with one [`LoopStats`] kept up to date for the console's
//! `stats` and the end-of-run summary. `runtime::sim` and `runtime::board` only assemble the
//! hardware and the sources and call [`run`]. After construction the loop does not allocate
//! (tested in `tests/no_alloc.rs`).
//!
//! Controller time: at [`Speed::Max`] it is simulated (tick count × tick length), so a simulation
//! is exactly repeatable. In real time (a board, `sim --speed F`) it is the monotonic clock read
//! at each wake-up (scaled by F), never a count of ticks: a wake-up cut short by a signal sleeps
//! again to its absolute deadline, and a late one is measured, counted as an overrun when it
//! misses a whole tick, and past [`STALL_LIMIT_MS`] latches flash. An interval therefore lasts at
//! least its configured length on the street whatever the process is sent.

use crate::config::Site;
use crate::detect::loops::LoopDetectors;
use crate::detect::DetectorSnapshot;
use crate::events::single::OpenMode;
use crate::frame::OutputFrame;
use crate::hal::linux::serial::TermiosSerial;
use crate::hal::{InputFrame, Relays, Watchdog};
use crate::monitor::card::MmuCard;
use crate::monitor::FaultKind;
use crate::runtime::console::{Bound, ConsoleSetup};
use crate::runtime::controller::Controller;
use crate::runtime::latency::WakeLatency;
use crate::runtime::logger::LogHealth;
use crate::runtime::loss::LossWatch;
pub use crate::runtime::pace::Speed;
use crate::runtime::pace::{Pace, PacedClock};
use crate::runtime::realtime::{MonotonicClock, Signals};
use crate::runtime::service::Services;
use crate::runtime::state::{StateHealth, StateSnapshot};
use crate::runtime::summary::RunSummary;
use crate::runtime::supervisor::{Subsystem, Supervisor};
use crate::sim::traffic::TrafficStats;
use crate::stats::LoopStats;
use crate::time::Instant;
use std::path::PathBuf;

/// What the loop reads from the intersection each tick: detection and the cabinet inputs.
///
/// On a board this is the cabinet's debounced inputs plus a list of detection sources
/// (`detect::source::Source`; `runtime::board::Cabinet`). The simulated traffic model and SUMO are
/// a street of their own: their vehicles react to the lamps, so they are handed the frame the
/// street showed during the last tick, and they press the push buttons themselves.
pub trait Street {
    /// Detection and inputs at `now`, given the lamps the street showed during the last tick.
    /// Never blocks.
    fn read(&mut self, now: Instant, shown: &OutputFrame) -> (DetectorSnapshot, InputFrame);
    /// The simulated traffic's totals, when the street is a simulation.
    fn traffic_stats(&self) -> Option<TrafficStats> {
        None
    }
    /// The cabinet's loop detector channels, when it has any (console `loops`).
    fn loops(&self) -> Option<&LoopDetectors> {
        None
    }
    /// Whether detection is on time at `now` (the supervisor's condition for kicking the
    /// watchdog, docs/safety.md 5), given this tick's snapshot `det`. By default: the snapshot is
    /// no older than `stale_ms`. A board with cameras asks its detection threads instead.
    fn detection_on_time(&self, now: Instant, det: &DetectorSnapshot, stale_ms: u32) -> bool {
        now.since(det.at) <= u64::from(stale_ms)
    }
    /// An alarm the street raises for the event log (`events::alarm`), at most one per call.
    fn take_alarm(&mut self) -> Option<u16> {
        None
    }
    /// The street's cameras, for the console.
    fn cameras(&self) -> Option<&crate::camera::set::CameraSet> {
        None
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

/// Controller time between two state saves.
pub const STATE_SAVE_MS: u64 = 300_000;

/// One intersection's loop over hardware `R` (relays), `W` (watchdog), `S` (detection + inputs).
pub struct ControlLoop<R: Relays, W: Watchdog, S: Street> {
    pub controller: Controller,
    pub relays: R,
    pub watchdog: W,
    pub street: S,
    pub stats: LoopStats,
    /// The detector snapshot of the last tick (console `detectors`).
    pub last_det: DetectorSnapshot,
    /// The cabinet inputs of the last tick (central management's preempt and door status).
    pub last_inputs: InputFrame,
    shown: OutputFrame,
    now: Instant,
    stop_at: Option<Instant>,
    pending: Option<Box<Site>>,
    /// Decides whether the watchdog is kicked.
    pub supervisor: Supervisor,
    /// The cabinet's compatibility card: the monitor's permissions, kept across reloads.
    card: MmuCard,
}

impl<R: Relays, W: Watchdog, S: Street> ControlLoop<R, W, S> {
    pub fn new(site: &Site, card: &MmuCard, relays: R, watchdog: W, street: S) -> Self {
        ControlLoop {
            controller: Controller::new(site, card, Instant::ZERO),
            relays,
            watchdog,
            street,
            stats: LoopStats::default(),
            last_det: DetectorSnapshot::EMPTY,
            last_inputs: InputFrame::default(),
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
        let (det, inputs) = self.street.read(now, &self.shown);
        let frame = self.controller.tick(now, &det, &inputs);
        self.last_det = det;
        self.last_inputs = inputs;
        if on_time {
            self.supervisor.report(Subsystem::Loop, now);
        }
        if self
            .street
            .detection_on_time(now, &det, self.controller.site().detector_stale_ms)
        {
            self.supervisor.report(Subsystem::Detection, now);
        }
        if let Some(a) = self.street.take_alarm() {
            self.controller.events_mut().push(now, crate::events::code::ALARM, a);
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

/// Where the event log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventLogTarget {
    /// One file, and what to do if it exists (refuse, append, overwrite).
    File(PathBuf, OpenMode),
    /// Rotating files in a directory, continuing existing ones (a board's log).
    Dir(PathBuf),
}

/// A check a reloaded site must pass before it is applied.
pub type ReloadCheck = Box<dyn Fn(&Site) -> Result<(), String>>;

/// How [`run`] runs: what a board and a simulation both decide.
pub struct LoopOptions {
    /// The site file, re-read on SIGHUP.
    pub site_path: PathBuf,
    /// Stop after this long (None: until SIGTERM/SIGINT).
    pub duration_s: Option<u64>,
    pub speed: Speed,
    /// Unix time (ms) of controller time zero, for event timestamps.
    pub start_unix_ms: i64,
    /// The event log, if any.
    pub event_log: Option<EventLogTarget>,
    /// Directory for persistent state (learned flows, counters, fault history).
    pub state_dir: Option<PathBuf>,
    /// Serial console: an open port and the PIN hash for mutating commands.
    pub console: Option<ConsoleSetup<TermiosSerial>>,
    /// Q-table for the learned planner.
    pub model: Option<crate::plan::learned::QTable>,
    /// A planner chosen on the command line; it stays in force across SIGHUP reloads.
    pub planner_override: Option<crate::config::PlannerKind>,
    /// Further checks a reloaded site must pass (the board's wiring and MMU card on a cabinet).
    pub reload_check: Option<ReloadCheck>,
    /// The NTCIP 1202 SNMP agent to start with the loop (`central::snmp`), if any.
    pub snmp: Option<crate::central::snmp::agent::AgentConfig>,
    /// Fleet telemetry to an MQTT broker (`central::mqtt`); None: off.
    pub mqtt: Option<crate::config::mqtt::MqttConfig>,
}

/// The current Unix time in ms (0 if the clock is before 1970), for [`LoopOptions::start_unix_ms`].
pub fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Acts on a SIGHUP: re-reads the site file and hands over to it at the next all-red point if it
/// changed and can be applied; otherwise keeps the running configuration and says why.
fn reload<R: Relays, W: Watchdog, S: Street>(lp: &mut ControlLoop<R, W, S>, opts: &LoopOptions) {
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

/// The event log's counters into the loop's.
fn take_log(stats: &mut LoopStats, h: &LogHealth) {
    stats.events_logged = h.rows_written;
    stats.events_lost = h.rows_lost;
    stats.log_bytes_lost = h.bytes_lost;
    stats.log_write_errors = h.write_errors;
    stats.log_open_failures = h.open_failures;
    stats.log_errno = h.last_errno;
    stats.log_failing = h.failing;
    stats.events_queue_dropped = h.queue_dropped;
}

/// The state keeper's counters into the loop's.
fn take_state(stats: &mut LoopStats, h: &StateHealth) {
    stats.state_saves = h.saves;
    stats.state_save_failures = h.failures;
    stats.state_skipped = h.skipped;
    stats.state_errno = h.last_errno;
    stats.state_failing = h.failing;
}

/// Runs a control loop until the duration ends or a stop signal has run its course: paces it
/// (`opts.speed`), serves the console, logs events, saves state, reloads on SIGHUP. Shared by
/// `greenwave sim` and `greenwave run` (the board). Starts the services `opts` asks for
/// ([`Services::start`]) and runs [`run_with`] them.
pub fn run<R: Relays, W: Watchdog, S: Street>(
    lp: &mut ControlLoop<R, W, S>,
    site: &Site,
    opts: &mut LoopOptions,
    signals: &Signals,
) -> Result<RunSummary, String> {
    let services = Services::start(lp, site, opts)?;
    run_with(lp, site, opts, services, signals)
}

/// [`run`] with services already started (or stand-ins for them).
pub fn run_with<R: Relays, W: Watchdog, S: Street>(
    lp: &mut ControlLoop<R, W, S>,
    site: &Site,
    opts: &mut LoopOptions,
    services: Services,
    signals: &Signals,
) -> Result<RunSummary, String> {
    let Services {
        mut console,
        events: mut sink,
        mut state,
        mut snapshots,
        mut wall,
        mut central,
    } = services;
    if let Some(m) = opts.model.take() {
        lp.controller.planner_mut().set_model(m);
    }
    lp.stats.event_log = sink.is_some();
    lp.stats.state = state.is_some();
    let mut last_save = Instant::ZERO;
    let mut loss = LossWatch::new();
    let mut last_faults = 0;
    let tick_ms = u64::from(site.tick_ms.max(1));
    let duration_ms = opts.duration_s.map_or(u64::MAX, |s| s.saturating_mul(1000));
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
    // The schedule and coordination patterns run on the wall clock (controller time 0 = start).
    lp.controller.set_wall(Instant::ZERO, opts.start_unix_ms);
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
        let log_health = sink.as_ref().map(|s| s.health());
        let state_health = state.as_ref().map(|s| s.store.health());
        loss.check(
            now,
            lp.controller.events_mut(),
            log_health.map(|h| (h.failing, h.write_errors)),
            state_health.map(|h| (h.failing, h.failures)),
        );
        let wait = pace.is_none();
        let unix_zero = wall.as_ref().map_or(opts.start_unix_ms, |w| w.unix_ms_at_zero());
        while let Some(ev) = lp.controller.events_mut().pop() {
            lp.stats.events_generated += 1;
            if let Some(con) = console.as_mut() {
                con.record_event(&ev);
            }
            central.offer_event(&ev, unix_zero);
            if let Some(s) = snapshots.as_mut() {
                s.on_event(&ev);
            }
            if let Some(s) = sink.as_mut() {
                s.send(ev, wait);
            }
        }
        lp.stats.snapshots = snapshots.as_ref().map(|s| s.health());
        lp.stats.mqtt = central.mqtt.as_ref().map(|m| m.health());
        if let Some(h) = &log_health {
            take_log(&mut lp.stats, h);
        }
        if let Some(h) = &state_health {
            take_state(&mut lp.stats, h);
        }
        lp.stats.events_ring_dropped = lp.controller.events().dropped();
        if let Some(con) = console.as_mut() {
            lp.stats.allocations =
                heap_installed.then(|| crate::runtime::heap::allocations().saturating_sub(allocations_start));
            lp.stats.heap_bytes = heap_installed.then(crate::runtime::heap::in_use_bytes);
            lp.stats.rss_kb = rss.sample(mono.now_ns() / 1_000_000);
            let det = lp.last_det;
            let mut bound = Bound {
                controller: &mut lp.controller,
                cameras: lp.street.cameras(),
                detectors: &det,
                loops: lp.street.loops(),
                stats: lp.stats,
                watchdog_ok: on_time,
                now,
                snapshots: snapshots.as_mut(),
            };
            con.serve(now, &mut bound);
        }
        if !central.is_empty() {
            let unix_ms = unix_zero.saturating_add(now.0 as i64);
            central.publish(
                &lp.controller,
                &lp.last_det,
                &lp.last_inputs,
                &lp.stats,
                on_time,
                unix_ms,
            );
            let det = lp.last_det;
            let mut bound = Bound {
                controller: &mut lp.controller,
                cameras: lp.street.cameras(),
                detectors: &det,
                loops: lp.street.loops(),
                stats: lp.stats,
                watchdog_ok: on_time,
                now,
                snapshots: snapshots.as_mut(),
            };
            central.serve(&mut bound, now);
        }
        if let Some(kept) = state.as_mut() {
            let faults = lp.controller.monitor().faults_total();
            if now.since(last_save) >= STATE_SAVE_MS || faults != last_faults {
                last_save = now;
                last_faults = faults;
                let unix_s = (opts.start_unix_ms + now.0 as i64) / 1000;
                kept.store
                    .offer(StateSnapshot::of(&lp.controller, &kept.base, kept.prior_cycles, unix_s));
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
                if let Some(w) = wall.as_mut() {
                    if w.observe_now(now, lp.controller.events_mut()).is_some() {
                        lp.stats.clock_steps += 1;
                    }
                    lp.controller.set_wall(Instant::ZERO, w.unix_ms_at_zero());
                }
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
    if let Some(mut kept) = state.take() {
        let unix_s = (opts.start_unix_ms + lp.now().0 as i64) / 1000;
        kept.store
            .offer_wait(StateSnapshot::of(&lp.controller, &kept.base, kept.prior_cycles, unix_s));
        let h = kept.store.finish();
        if h.failing {
            log::error!("the last state save failed: learned flows may be older than this run");
        }
        take_state(&mut lp.stats, &h);
        // A run faster than the writer: its failures may show only now; the alarm still goes to the log.
        loss.check(
            lp.now(),
            lp.controller.events_mut(),
            None,
            Some((h.failing, h.failures)),
        );
    }
    // Events still in the ring (the last tick's, a final alarm) go to the log too.
    let unix_zero = wall.as_ref().map_or(opts.start_unix_ms, |w| w.unix_ms_at_zero());
    while let Some(ev) = lp.controller.events_mut().pop() {
        lp.stats.events_generated += 1;
        central.offer_event(&ev, unix_zero);
        if let Some(s) = sink.as_mut() {
            s.send(ev, true);
        }
    }
    lp.stats.events_ring_dropped = lp.controller.events().dropped();
    lp.stats.events_generated += lp.stats.events_ring_dropped;
    if let Some(s) = sink.take() {
        // Never an error: what could not be written is counted, and the state was saved regardless.
        let h = s.finish();
        take_log(&mut lp.stats, &h);
    }
    lp.stats.loss_alarms = loss.alarms;
    if let Some(s) = snapshots.take() {
        lp.stats.snapshots = Some(s.finish());
    }
    if let Some(m) = central.mqtt.take() {
        lp.stats.mqtt = Some(m.finish());
    }
    let _ = lp.watchdog.disarm();
    let status = lp.controller.status();
    Ok(RunSummary {
        simulated_s: lp.now().0 as f64 / 1000.0,
        loop_stats: lp.stats,
        traffic: lp.street.traffic_stats(),
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
        schedule: lp.controller.site().coord.active().then(|| {
            let (latest, changes) = lp.controller.schedule_history();
            crate::runtime::summary::ScheduleSummary {
                changes,
                latest: latest.copied().collect(),
                transitions: lp.controller.coordinator().transitions,
            }
        }),
    })
}
