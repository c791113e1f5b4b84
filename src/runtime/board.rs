//! `greenwave run`: the controller on a real board — GPIO relays with read-back, debounced cabinet
//! inputs, the hardware watchdog under the supervisor, the serial console, the rotating event log
//! and persistent state — in real time (absolute 100 ms deadlines, memory locked, SCHED_FIFO when
//! permitted).
//!
//! This file only assembles: the board's relays, inputs, watchdog, console and detection sources
//! into a [`Cabinet`] and the loop's options, then `runtime::control_loop::run`.
//!
//! Detection is a list of sources (`detect::source::Source`) polled as one. Without cameras the
//! list is [`NoDetection`] alone: every detector `Unknown`, so the planner runs the Webster
//! fixed-time fail-safe (docs/safety.md 6); the cabinet inputs (push buttons, preempt, transit,
//! door) work from the start. Each configured camera (`[[camera]]`, `camera::set`) adds a
//! `camera::pipeline::CameraSource`: it reads the snapshot its detection thread publishes through
//! a lock-free hand-off and never blocks the loop. With cameras, the supervisor kicks the watchdog
//! only while every camera's detection thread is on time.
//!
//! Loop detectors (`[[input]] kind = "detector"`) are read with the other inputs; [`Cabinet`]
//! debounces and diagnoses them (`detect::loops`) and combines them with the sources' snapshot, so
//! a detector may be fed by a camera zone, a loop, or both.

use crate::camera::set::CameraSet;
use crate::config::camera::CameraConfig;
use crate::config::Site;
use crate::detect::loops::LoopDetectors;
use crate::detect::source::{poll_all, NoDetection, Source};
use crate::detect::DetectorSnapshot;
use crate::frame::OutputFrame;
use crate::hal::board::Board;
use crate::hal::gpio::{GpioInputs, GpioRelays};
use crate::hal::linux::bank::{LinuxBank, Role};
use crate::hal::linux::watchdog::LinuxWatchdog;
use crate::hal::mirror::MirrorRelays;
use crate::hal::{HalError, InputFrame, Inputs, Watchdog};
use crate::monitor::card::check_board;
use crate::runtime::console::ConsoleSetup;
use crate::runtime::control_loop::{run_with, unix_now_ms, ControlLoop, EventLogTarget, LoopOptions, Speed, Street};
use crate::runtime::realtime::{setup_realtime, Signals};
use crate::runtime::service::Services;
use crate::runtime::summary::RunSummary;
use crate::time::Instant;
use std::path::{Path, PathBuf};

/// A detection source of a board, owned by the loop for the whole run (the list is built at
/// start-up; polling it allocates nothing).
pub type BoardSource = Box<dyn Source + Send>;

/// The street as a cabinet sees it: debounced inputs, a list of detection sources with the cameras
/// behind them, and the loop detector channels wired to the inputs.
pub struct Cabinet<I: Inputs> {
    pub inputs: I,
    pub sources: Vec<BoardSource>,
    /// The board's `kind = "detector"` inputs (`LoopDetectors::new(board.loop_configs())`, in the
    /// order their levels arrive in `InputFrame::loops`); empty without any.
    pub loops: LoopDetectors,
    /// The site's `detector_stale_s`: a source snapshot older than this fails its own detectors
    /// and not the loops read this tick (`LoopDetectors::combine`).
    pub detector_stale_ms: u32,
    pub cameras: CameraSet,
}

impl<I: Inputs> Street for Cabinet<I> {
    fn read(&mut self, now: Instant, _shown: &OutputFrame) -> (DetectorSnapshot, InputFrame) {
        let mut det = poll_all(&mut self.sources, now);
        let inputs = self.inputs.read(now);
        if !self.loops.is_empty() {
            self.loops.update(now, inputs.loops);
            self.loops.combine(now, &mut det, self.detector_stale_ms);
        }
        (det, inputs)
    }

    fn loops(&self) -> Option<&LoopDetectors> {
        (!self.loops.is_empty()).then_some(&self.loops)
    }

    fn detection_on_time(&self, now: Instant, det: &DetectorSnapshot, stale_ms: u32) -> bool {
        if self.cameras.is_empty() {
            now.since(det.at) <= u64::from(stale_ms)
        } else {
            self.cameras.detection_on_time()
        }
    }

    fn take_alarm(&mut self) -> Option<u16> {
        self.cameras.take_alarm()
    }

    fn cameras(&self) -> Option<&CameraSet> {
        (!self.cameras.is_empty()).then_some(&self.cameras)
    }
}

/// The board's detection sources and the cameras feeding them: one source per configured camera
/// (its threads started here, every buffer allocated), or "no detection" without cameras (the
/// planner stays on the Webster fail-safe). `site_path` names the site file in errors.
pub fn detection_sources(
    _board: &Board,
    cameras: &[CameraConfig],
    site_path: &Path,
) -> Result<(Vec<BoardSource>, CameraSet), String> {
    if cameras.is_empty() {
        return Ok((vec![Box::new(NoDetection)], CameraSet::none()));
    }
    let (set, sources) = CameraSet::start(cameras, site_path)?;
    Ok((sources.into_iter().map(|s| Box::new(s) as BoardSource).collect(), set))
}

/// The board's watchdog, or none (a board file without `watchdog`).
pub enum BoardWatchdog {
    Linux(LinuxWatchdog),
    None,
}

impl Watchdog for BoardWatchdog {
    fn kick(&mut self) -> Result<(), HalError> {
        match self {
            BoardWatchdog::Linux(w) => w.kick(),
            BoardWatchdog::None => Ok(()),
        }
    }
    fn disarm(&mut self) -> Result<(), HalError> {
        match self {
            BoardWatchdog::Linux(w) => w.disarm(),
            BoardWatchdog::None => Ok(()),
        }
    }
}

/// Options of `greenwave run`.
pub struct RunOptions {
    pub board_path: PathBuf,
    pub site_path: PathBuf,
    /// Stop after this long (default: run until SIGTERM).
    pub duration_s: Option<u64>,
    pub console_pin: Option<crate::console::lock::PinHash>,
    /// Mirror every frame written to the relays into this file (`hal::mirror`).
    pub relay_mirror: Option<PathBuf>,
    /// Q-table for the learned planner (`--model`).
    pub model: Option<crate::plan::learned::QTable>,
    /// The site file's cameras (started with the loop; a reload does not restart them).
    pub cameras: Vec<CameraConfig>,
}

pub fn run_board(site: &Site, opts: RunOptions, signals: &Signals) -> Result<RunSummary, String> {
    let board = Board::load(&opts.board_path).map_err(|e| e.to_string())?;
    // The monitor trusts the board's [mmu] card alone; a board without one is refused here.
    let card = check_board(&board, site, &opts.board_path.display().to_string())
        .map_err(|e| format!("site {}: {e}", opts.site_path.display()))?;
    let relays = GpioRelays::new(&board, LinuxBank::open(&board, Role::Outputs)?)
        .map_err(|e| format!("cannot drive the relays: {e}"))?;
    let relays = match &opts.relay_mirror {
        Some(path) => MirrorRelays::to_file(relays, path)?,
        None => MirrorRelays::off(relays),
    };
    let inputs = GpioInputs::new(&board, LinuxBank::open(&board, Role::Inputs)?);
    let watchdog = match &board.watchdog {
        Some(p) => {
            let w = LinuxWatchdog::open(Path::new(p.as_str()), board.watchdog_timeout_s)?;
            log::info!("watchdog {p}: armed, timeout {} s", w.timeout_s());
            BoardWatchdog::Linux(w)
        }
        None => {
            log::warn!(
                "no watchdog in {}: a hung controller will not reset the board",
                opts.board_path.display()
            );
            BoardWatchdog::None
        }
    };
    let console = match &board.console {
        Some(tty) => match crate::hal::linux::serial::TermiosSerial::open(Path::new(tty.as_str()), board.baud) {
            Ok(port) => Some(ConsoleSetup {
                port,
                pin: opts.console_pin,
            }),
            // The console is for people; the signal runs without it.
            Err(e) => {
                log::error!("console {tty}: {e}; running without a console");
                None
            }
        },
        None => None,
    };
    let (locked, fifo) = setup_realtime(50);
    log::info!("real time: memory locked {locked}, SCHED_FIFO {fifo}");
    let (sources, cameras) = detection_sources(&board, &opts.cameras, &opts.site_path)?;
    let with_cameras = !cameras.is_empty();
    let snapshots = crate::camera::snapshot::service::start_for_cameras(
        Path::new(board.state_dir.as_str()),
        board.snapshot_budget_mib,
        &opts.cameras,
        cameras.rings(),
    );
    let street = Cabinet {
        inputs,
        sources,
        cameras,
        loops: LoopDetectors::new(board.loop_configs()),
        detector_stale_ms: site.detector_stale_ms,
    };
    let mut lp = ControlLoop::new(site, &card, relays, watchdog, street);
    if with_cameras {
        // Detection is supervised: every camera's detection thread must be on time at each tick.
        lp.supervisor = crate::runtime::supervisor::Supervisor::new(site.tick_ms, Some(2 * site.tick_ms));
    }
    let board_file = opts.board_path.display().to_string();
    let snmp = board
        .snmp
        .as_ref()
        .map(crate::central::snmp::agent::AgentConfig::from_board)
        .transpose()?;
    let mqtt = board.mqtt.clone();
    let mut run_opts = LoopOptions {
        site_path: opts.site_path,
        duration_s: opts.duration_s,
        speed: Speed::Factor(1.0),
        start_unix_ms: unix_now_ms(),
        event_log: Some(EventLogTarget::Dir(PathBuf::from(board.event_dir.as_str()))),
        state_dir: Some(PathBuf::from(board.state_dir.as_str())),
        console,
        model: opts.model,
        planner_override: None,
        reload_check: Some(Box::new(move |s: &Site| {
            check_board(&board, s, &board_file)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })),
        snmp,
        mqtt,
    };
    let mut services = Services::start(&mut lp, site, &mut run_opts)?;
    services.snapshots = snapshots;
    run_with(&mut lp, site, &mut run_opts, services, signals)
}
