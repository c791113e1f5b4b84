//! `greenwave` command line: thin by design (docs/conventions.md 4) — parse arguments, load and
//! validate the site, build the hardware, hand over to the runtime.

use clap::Parser;
use cli::{CheckArgs, Cli, Cmd, OffsetsArgs, RunArgs, SimArgs, TrainArgs, VerifyArgs, ZonesArgs};
use greenwave::config::Site;
use greenwave::plan::webster;
use greenwave::runtime::control_loop::{EventLogTarget, LoopOptions, Speed};
use greenwave::runtime::realtime::Signals;
use greenwave::runtime::sim::{run_sim, SimOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

mod cli;

/// Counts heap bytes in use so `sim` and `run` can report memory growth (`runtime::heap`).
#[global_allocator]
static HEAP: greenwave::runtime::heap::Counting = greenwave::runtime::heap::Counting;

/// Standard output closed under us (EPIPE): the command stops and the process exits quietly.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes one line to standard output for a command. `println!` panics (exit 101) when the write
/// fails; here a closed pipe (EPIPE: the reader has what it wanted, as `head -1` does) sets
/// [`STDOUT_CLOSED`] so `main` exits quietly with status 0 (SIGPIPE's 141 would fail a `pipefail`
/// pipeline that only wanted the first lines), and any other failure (ENOSPC on a full disk, EIO)
/// becomes the command's error: one line on standard error and status 1.
fn emit(args: std::fmt::Arguments) -> Result<(), String> {
    let mut so = std::io::stdout().lock();
    so.write_fmt(args)
        .and_then(|()| so.write_all(b"\n"))
        .map_err(stdout_error)
}

fn stdout_error(e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
    format!("cannot write to standard output: {e}")
}

/// `println!` for the command paths, through [`emit`]: returns the write error from the enclosing
/// function (which returns `Result<_, String>`).
macro_rules! out {
    () => {
        emit(format_args!(""))?
    };
    ($($arg:tt)*) => {
        emit(format_args!($($arg)*))?
    };
}

fn main() -> ExitCode {
    // Not `eprintln!`-based: a full disk under a redirected stderr must not panic the controller.
    greenwave::runtime::stderr_log::init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    let mut lossy = false;
    let result = match cli.cmd {
        Cmd::Check(a) => check(a),
        Cmd::Sim(a) => sim(*a).map(|end| lossy = matches!(end, SimEnd::Lossy)),
        #[cfg(feature = "plot")]
        Cmd::Plot(o) => greenwave::plot::plot(&o).and_then(|s| {
            out!("{s}");
            Ok(())
        }),
        #[cfg(not(feature = "plot"))]
        Cmd::Plot(_) => Err(NO_PLOT.into()),
        Cmd::PinHash => pin_hash(),
        Cmd::Train(a) => train(a),
        Cmd::Run(a) => run(a),
        Cmd::Verify(a) => verify(a),
        Cmd::Zones(a) => zones(a),
        Cmd::Offsets(a) => offsets(a),
    };
    // Anything still buffered is written now, where a failure can still be reported.
    let result = result.and_then(|()| std::io::stdout().flush().map_err(stdout_error));
    match result {
        Ok(()) if lossy => ExitCode::from(greenwave::runtime::summary::EXIT_LOSS),
        Ok(()) => ExitCode::SUCCESS,
        Err(_) if STDOUT_CLOSED.load(Ordering::Relaxed) => ExitCode::SUCCESS,
        Err(e) => {
            // Not `eprintln!`: it panics too when standard error is gone.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Why `greenwave plot` fails in a build without the `plot` feature (board builds), and what to do.
#[cfg(not(feature = "plot"))]
const NO_PLOT: &str = "this build has no timing-diagram support: rebuild with `--features plot`, or draw the \
                       diagram on a workstation from the board's event log";

/// What the argument parser stopped on. Help (`help`, `--help`, `-h`) goes to standard output
/// through [`emit`] (a closed pipe exits quietly, another write failure is status 1); no command
/// at all prints the help to standard error with status 2; a bad option or value prints the
/// parser's `error:` message and usage to standard error with status 1.
fn usage(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let text = e.render().to_string();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let shown = emit(format_args!("{}", text.trim_end()))
                .and_then(|()| std::io::stdout().flush().map_err(stdout_error));
            match shown {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) if STDOUT_CLOSED.load(Ordering::Relaxed) => ExitCode::SUCCESS,
                Err(err) => {
                    let _ = writeln!(std::io::stderr(), "error: {err}");
                    ExitCode::from(1)
                }
            }
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = write!(std::io::stderr(), "{text}");
            ExitCode::from(2)
        }
        _ => {
            let _ = write!(std::io::stderr(), "{text}");
            ExitCode::from(1)
        }
    }
}

/// How a `sim` run ended (the summary is printed either way).
enum SimEnd {
    Clean,
    /// Event rows or state saves were lost: exit status 3.
    Lossy,
}

fn load_site(path: PathBuf) -> Result<(PathBuf, Site), String> {
    let (path, cfg) = load_site_config(path)?;
    Ok((path, cfg.site))
}

/// `check --board`: the loop detector inputs, and the site detectors that nothing on this board
/// feeds (no loop, no camera zone): they read `unknown`, a failed detector to the planner.
fn loop_sources(
    board: &greenwave::hal::board::Board,
    site: &Site,
    cameras: &[greenwave::config::camera::CameraConfig],
) -> Result<(), String> {
    let mut line = String::new();
    for c in board.loop_configs() {
        line.push_str(&format!("{} {}", if line.is_empty() { "" } else { "," }, c.detector));
    }
    if line.is_empty() {
        out!("loop detectors: none");
    } else {
        out!(
            "loop detectors: {} inputs, feeding detectors{line}",
            board.loop_configs().len()
        );
    }
    let mut fed = greenwave::detect::loops::detectors_of(&board.loop_configs());
    for z in cameras.iter().flat_map(|c| c.zones.iter()) {
        fed.set(usize::from(z.detector.saturating_sub(1)), true);
    }
    let mut missing = String::new();
    for d in site.detectors.iter().flatten() {
        if !fed.contains(usize::from(d.number.saturating_sub(1))) {
            missing.push_str(&format!("{} {}", if missing.is_empty() { "" } else { "," }, d.number));
        }
    }
    if missing.is_empty() {
        out!("detector sources: every site detector has a loop or a camera zone");
    } else {
        out!(
            "detector sources: no loop or camera zone feeds detectors{missing} (they read `unknown`: a phase \
             with some of its detectors unfed runs on recall, one with none keeps the planner on the Webster \
             fail-safe)"
        );
    }
    Ok(())
}

/// The site file with every section it configures (site, console PIN, camera), read once.
fn load_site_config(path: PathBuf) -> Result<(PathBuf, greenwave::config::SiteConfig), String> {
    let cfg = greenwave::config::SiteConfig::load(&path).map_err(|e| e.to_string())?;
    Ok((path, cfg))
}

/// `check --board`: the `[mqtt]` telemetry, and a warning for each secret file that the group or
/// others may read.
fn mqtt_check(board: &greenwave::hal::board::Board, site: &Site) -> Result<(), String> {
    let Some(m) = &board.mqtt else {
        out!("mqtt: off (no [mqtt] table)");
        return Ok(());
    };
    out!(
        "mqtt: {} as {}, topics greenwave/{}/status|alarm|events, queue {} messages",
        m.url,
        greenwave::central::mqtt::client_id(m, site.device_id),
        site.device_id,
        m.queue
    );
    for (p, mode) in m.exposed_secrets() {
        out!(
            "warning: {} is readable by {} (mode {mode:03o}): chmod 600 {}",
            p.display(),
            if mode & 0o007 != 0 { "everyone" } else { "its group" },
            p.display()
        );
    }
    for p in [
        m.password_file.as_deref(),
        m.ca_file.as_deref(),
        m.client_cert.as_deref(),
        m.client_key.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        if !p.exists() {
            out!(
                "warning: {} does not exist (greenwave run will refuse to start)",
                p.display()
            );
        }
    }
    Ok(())
}

fn check(args: CheckArgs) -> Result<(), String> {
    // Everything `run` refuses, `check` refuses: every section of the site file is validated,
    // the console PIN hash and the camera zones included.
    let (path, cfg) = load_site_config(args.site)?;
    let site = &cfg.site;
    if args.print_card {
        out!(
            "{}",
            greenwave::monitor::card::MmuCard::from_geometry(site)
                .to_toml()
                .trim_end()
        );
        return Ok(());
    }
    let pin = console_pin(&cfg, &path);
    if let Some(b) = args.board.as_deref() {
        // The board file against this site: every phase and crossing wired, and the card permits
        // what the site runs together (before a cabinet sees it).
        let board = greenwave::hal::board::Board::load(std::path::Path::new(b)).map_err(|e| e.to_string())?;
        greenwave::monitor::card::check_board(&board, site, b).map_err(|e| format!("site {}: {e}", path.display()))?;
        out!("{b}: OK — board \"{}\" fits site \"{}\"", board.name, site.name);
        if let Some(users) = board.snmp.as_ref().and_then(|s| s.users.as_deref()) {
            // The SNMPv3 secrets file: valid where it exists (a workstation may not have it), and
            // readable by the service user alone.
            let users = std::path::Path::new(users);
            if users.exists() {
                greenwave::config::snmp::load_users(users).map_err(|e| e.to_string())?;
            }
            if let Some(w) = greenwave::config::snmp::secret_file_warning(users) {
                out!("warning: {w}");
            }
        }
        loop_sources(&board, site, &cfg.cameras)?;
        mqtt_check(&board, site)?;
    }
    out!(
        "{}: OK — site \"{}\", device {}, {} phases, {} detectors",
        path.display(),
        site.name,
        site.device_id,
        site.phases().count(),
        site.detectors.iter().flatten().count()
    );
    out!(
        "console PIN: {}",
        if pin.is_some() {
            "set in the site file's [console] pin_hash (mutating console commands need it)"
        } else {
            "not set (mutating console commands are disabled; add [console] pin_hash to the site file)"
        }
    );
    for c in &cfg.cameras {
        out!(
            "camera: {} {}x{} at {} fps, {} zones, {} detector",
            c.source,
            c.width,
            c.height,
            c.fps,
            c.zones.len(),
            c.detector.name()
        );
    }
    if cfg.cameras.is_empty() {
        out!("camera: none");
    }
    out!();
    out!("phase  name                  min   max  pass  yellow  red clr  walk  ped clr");
    for ph in site.phases() {
        let (walk, pclr) = match ph.ped {
            Some(p) => (
                format!("{:5.1}", p.walk_ms as f64 / 1000.0),
                format!("{:7.1}", p.clearance_ms as f64 / 1000.0),
            ),
            None => ("    -".into(), "      -".into()),
        };
        out!(
            "{:>5}  {:<20} {:5.1} {:5.1} {:5.1} {:7.1} {:8.1} {walk} {pclr}",
            ph.id.number(),
            ph.name.as_str(),
            ph.min_green_ms as f64 / 1000.0,
            ph.max_green_ms as f64 / 1000.0,
            ph.passage_ms as f64 / 1000.0,
            ph.yellow_ms as f64 / 1000.0,
            ph.red_clear_ms as f64 / 1000.0,
        );
    }
    for ph in site.phases() {
        let Some(pd) = ph.ped.filter(|pd| pd.change_ms < pd.clearance_ms) else {
            continue;
        };
        out!(
            "phase {}: pedestrian clearance {:.1} s = flashing DON'T WALK {:.1} s + buffer (yellow + red clearance, steady DON'T WALK) {:.1} s (MUTCD 4E.06)",
            ph.id.number(),
            pd.clearance_ms as f64 / 1000.0,
            pd.change_ms as f64 / 1000.0,
            (ph.yellow_ms + ph.red_clear_ms) as f64 / 1000.0,
        );
    }
    for ph in site.phases().filter(|ph| ph.dynamic_step_ms > 0) {
        out!(
            "phase {}: dynamic max {:.1} s up to {:.1} s in {:.1} s steps (successive max-outs raise it, gap-outs lower it)",
            ph.id.number(),
            ph.max_green_ms as f64 / 1000.0,
            ph.dynamic_max_ms as f64 / 1000.0,
            ph.dynamic_step_ms as f64 / 1000.0,
        );
    }
    let plan = webster::plan(site, &webster::design_flows(site));
    out!();
    let c0 = if plan.c0_s.is_finite() {
        format!("{:.1} s", plan.c0_s)
    } else {
        "oversaturated".into()
    };
    out!(
        "Webster plan (design volumes): Y = {:.3}, L = {:.1} s, C0 = {c0}, cycle run = {:.1} s",
        plan.y_total,
        plan.lost_ms as f64 / 1000.0,
        plan.cycle_ms as f64 / 1000.0
    );
    for ph in site.phases() {
        if plan.permissive_only.contains(ph.id) {
            out!(
                "  phase {} permissive-only: no green arrow in fixed time, the flashing yellow arrow runs with phase {}",
                ph.id.number(),
                ph.permissive.map_or(0, |o| o.number())
            );
            continue;
        }
        out!(
            "  phase {} green {:5.1} s  (y = {:.3})",
            ph.id.number(),
            plan.green(ph.id) as f64 / 1000.0,
            plan.y[ph.id.index()]
        );
    }
    if let Some(c) = plan.capped {
        out!("{c}");
    }
    // Protected/permissive left turns against the cross-product guideline (design volumes).
    let flows = webster::design_flows(site);
    for ph in site.phases() {
        let Some(o) = ph.permissive else { continue };
        let cp = flows[ph.id.index()] * flows[o.index()];
        let ok = greenwave::plan::adaptive::cross_product_ok(site, &flows, ph.id, o);
        out!(
            "permissive left {} yields to {}: cross product {:.0} {}",
            ph.id.number(),
            o.number(),
            cp,
            if ok {
                "within the guideline"
            } else {
                "ABOVE the protected-only guideline: consider removing `permissive`"
            }
        );
    }
    for line in greenwave::plan::schedule::describe(site) {
        out!("{line}");
    }
    Ok(())
}

fn sim(args: SimArgs) -> Result<SimEnd, String> {
    let mqtt = sim_mqtt(&args.telemetry)?;
    let events_mode = match (args.append, args.overwrite) {
        (true, _) => greenwave::events::single::OpenMode::Append,
        (_, true) => greenwave::events::single::OpenMode::Overwrite,
        _ => greenwave::events::single::OpenMode::New,
    };
    let (site_path, cfg) = load_site_config(args.site)?;
    let site = match args.planner {
        Some(p) => cfg.site.clone().with_planner(p),
        None => cfg.site.clone(),
    };
    let speed = args.speed;
    let console = match &args.console {
        None => None,
        Some(tty) => {
            let port = greenwave::hal::linux::serial::TermiosSerial::open(tty, args.baud).map_err(|e| e.to_string())?;
            Some(greenwave::runtime::console::ConsoleSetup {
                port,
                pin: console_pin(&cfg, &site_path),
            })
        }
    };
    let event_log = match (args.events, args.event_dir) {
        (Some(p), _) => Some(EventLogTarget::File(p, events_mode)),
        (None, Some(dir)) => Some(EventLogTarget::Dir(dir)),
        (None, None) => None,
    };
    let snmp = match args.snmp {
        None => None,
        Some(listen) => Some(greenwave::central::snmp::agent::AgentConfig::load(
            listen,
            args.snmp_community.as_deref(),
            args.snmp_users.as_deref(),
            greenwave::config::snmp::DEFAULT_RATE,
            greenwave::config::snmp::DEFAULT_BURST,
        )?),
    };
    let mut opts = SimOptions {
        seed: args.seed,
        volumes: args.volumes,
        relay_mirror: args.relay_mirror,
        run: LoopOptions {
            site_path,
            duration_s: Some(args.duration),
            speed,
            start_unix_ms: greenwave::runtime::control_loop::unix_now_ms(),
            event_log,
            state_dir: args.state_dir,
            console,
            model: None,
            planner_override: args.planner,
            reload_check: None,
            snmp,
            mqtt,
        },
    };
    opts.run.model = load_model(args.model.as_deref(), &site)?;
    let signals = Signals::register().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    if matches!(speed, Speed::Factor(_)) {
        greenwave::runtime::realtime::setup_realtime(50);
    }
    let card = sim_card(args.board.as_deref(), &opts.run.site_path, &site)?;
    let (summary, injected) = match args.faults {
        Some(seed) => {
            let (summary, injected) =
                greenwave::runtime::inject::run_sim_with_faults(&site, &card, &mut opts, &signals, seed)?;
            (summary, Some(injected))
        }
        None => (run_sim(&site, &card, &mut opts, &signals)?, None),
    };
    out!("{summary}");
    if let Some(n) = injected {
        out!("faults injected   {n}");
    }
    if let Some(EventLogTarget::File(p, _)) = &opts.run.event_log {
        out!("event log         {}", p.display());
    }
    if summary.lossy() {
        let _ = writeln!(
            std::io::stderr(),
            "greenwave: the run completed but event rows or state saves were lost (see the summary); exit {}",
            greenwave::runtime::summary::EXIT_LOSS
        );
        return Ok(SimEnd::Lossy);
    }
    Ok(SimEnd::Clean)
}

/// `greenwave sim --mqtt …`: the telemetry settings from the command line.
fn sim_mqtt(args: &cli::SimMqttArgs) -> Result<Option<greenwave::config::mqtt::MqttConfig>, String> {
    let Some(url) = &args.mqtt else { return Ok(None) };
    let mut c = greenwave::config::mqtt::MqttConfig::from_url(url)?;
    if !c.tls && (args.mqtt_ca.is_some() || args.mqtt_cert.is_some()) {
        return Err(format!("--mqtt {url}: certificates need an mqtts:// URL"));
    }
    c.ca_file = args.mqtt_ca.clone();
    c.username = args.mqtt_user.clone();
    c.password_file = args.mqtt_password_file.clone();
    c.client_cert = args.mqtt_cert.clone();
    c.client_key = args.mqtt_key.clone();
    c.client_id = args.mqtt_client_id.clone();
    if let Some(q) = args.mqtt_queue {
        c.queue = q as usize;
    }
    for (p, mode) in c.exposed_secrets() {
        log::warn!("{} is readable by others (mode {mode:03o}): chmod 600 it", p.display());
    }
    Ok(Some(c))
}

/// The monitor's compatibility card for `greenwave sim`: the board file's, which must fit the site,
/// or without a board the card derived from the site's approaches and movements.
fn sim_card(
    board: Option<&str>,
    site_path: &std::path::Path,
    site: &Site,
) -> Result<greenwave::monitor::card::MmuCard, String> {
    let Some(b) = board else {
        log::info!("monitor: no --board, using the [mmu] card derived from the site's approaches and movements");
        return Ok(greenwave::monitor::card::MmuCard::from_geometry(site));
    };
    let board = greenwave::hal::board::Board::load(std::path::Path::new(b)).map_err(|e| e.to_string())?;
    greenwave::monitor::card::check_board(&board, site, b).map_err(|e| format!("site {}: {e}", site_path.display()))
}

/// The console PIN hash of a validated site file (`[console] pin_hash`), if set.
fn console_pin(
    cfg: &greenwave::config::SiteConfig,
    site_path: &std::path::Path,
) -> Option<greenwave::console::lock::PinHash> {
    if cfg.console.pin.is_none() {
        log::warn!(
            "no `[console] pin_hash` in {}: mutating console commands are disabled",
            site_path.display()
        );
    }
    cfg.console.pin
}

/// `greenwave pin-hash`: salted, iterated SHA-256 of a PIN read from standard input.
fn pin_hash() -> Result<(), String> {
    use greenwave::console::command::{PIN_MAX, PIN_MIN};
    use greenwave::console::lock::{PinHash, DEFAULT_ITERATIONS};
    use std::io::{BufRead, Read};
    let mut pin = String::new();
    // Bounded: a PIN is at most PIN_MAX digits; a line without end (`< /dev/zero`) is cut here.
    std::io::stdin()
        .lock()
        .take(256)
        .read_line(&mut pin)
        .map_err(|e| format!("cannot read the PIN from standard input: {e}"))?;
    let pin = pin.trim();
    if !(PIN_MIN..=PIN_MAX).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the PIN must be {PIN_MIN} to {PIN_MAX} digits"));
    }
    let mut salt = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .map_err(|e| format!("cannot read /dev/urandom for the salt: {e}"))?;
    out!("{}", PinHash::derive(pin.as_bytes(), salt, DEFAULT_ITERATIONS));
    Ok(())
}

fn train(args: TrainArgs) -> Result<(), String> {
    use greenwave::plan::learned::STATES;
    let (_, site) = load_site(args.site)?;
    let TrainArgs {
        out,
        episodes,
        seconds,
        seed,
        ..
    } = args;
    let run = greenwave::train::run(&site, episodes, seconds, seed);
    if let Some((e, f)) = run.first_fault {
        return Err(format!(
            "{} of {} training episodes ended in a monitor fault (first: episode {}, {f}); no table written",
            run.faulted,
            run.episodes,
            e + 1
        ));
    }
    let confident = greenwave::train::confident_states(&run.table);
    std::fs::write(&out, run.table.to_bytes()).map_err(|e| format!("{}: {e}", out.display()))?;
    out!(
        "{}: {} episodes of {} s, {} of {} states confident, 0 monitor faults",
        out.display(),
        run.table.episodes,
        seconds,
        confident,
        STATES
    );
    Ok(())
}

/// `--model FILE` of `sim` and `run`: the learned planner's Q-table, which that planner requires.
fn load_model(
    path: Option<&std::path::Path>,
    site: &greenwave::config::Site,
) -> Result<Option<greenwave::plan::learned::QTable>, String> {
    match path {
        Some(m) => greenwave::plan::learned::QTable::load(m)
            .map(Some)
            .map_err(|e| e.to_string()),
        None if site.planner == greenwave::config::PlannerKind::Learned => {
            Err("the learned planner needs `--model FILE` (make one with `greenwave train`)".into())
        }
        None => Ok(None),
    }
}

fn run(args: RunArgs) -> Result<(), String> {
    let (site_path, cfg) = load_site_config(args.site)?;
    let site = &cfg.site;
    let model = load_model(args.model.as_deref(), site)?;
    let signals = Signals::register().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let opts = greenwave::runtime::board::RunOptions {
        board_path: args.board,
        console_pin: console_pin(&cfg, &site_path),
        site_path,
        duration_s: args.duration,
        relay_mirror: args.relay_mirror,
        model,
        cameras: cfg.cameras.clone(),
    };
    let summary = greenwave::runtime::board::run_board(site, opts, &signals)?;
    out!("{summary}");
    Ok(())
}

/// `greenwave zones`: a camera's zones over a frame, as a PNG (`greenwave::camera::zone_map`).
fn zones(args: ZonesArgs) -> Result<(), String> {
    use greenwave::camera::zone_map::{draw_to_png, FrameSource};
    let (path, cfg) = load_site_config(args.site)?;
    let cam = cfg.cameras.get(usize::from(args.camera) - 1).ok_or_else(|| {
        format!(
            "{}: no camera {} (the site file has {}; cameras are numbered from 1 in file order)",
            path.display(),
            args.camera,
            cfg.cameras.len()
        )
    })?;
    let src = match (&args.frame, &args.device) {
        (Some(clip), _) => FrameSource::Clip(clip),
        (None, Some(dev)) => FrameSource::Device(dev),
        (None, None) => return Err("give --frame CLIP.y4m or --device /dev/videoN".into()),
    };
    let n = draw_to_png(cam, src, &args.out)?;
    out!(
        "{}: camera {} ({}x{}), {n} zones over the frame; stop lines in red",
        args.out.display(),
        args.camera,
        cam.width,
        cam.height
    );
    Ok(())
}

/// `greenwave verify`: the event log against the board's MMU card (`greenwave::verify`).
fn verify(args: VerifyArgs) -> Result<(), String> {
    use greenwave::verify::{Checker, MmuCard};
    use std::io::BufRead;
    let VerifyArgs {
        board,
        events,
        emitted,
        dropped,
        logged,
        killed,
        resync_gap,
    } = args;
    let resync_ms = resync_gap.map(|s| (s * 1000.0) as i64);
    let parsed = greenwave::hal::board::Board::load(std::path::Path::new(&board)).map_err(|e| e.to_string())?;
    let card =
        MmuCard::from_card(&parsed.mmu.ok_or_else(|| {
            format!("{board}: no [mmu] card (make one with `greenwave check --site SITE --print-card`)")
        })?);
    let mut failed = false;
    let mut rows = 0;
    let (mut conflicts, mut short_y, mut short_r) = (0, 0, 0);
    for path in &events {
        let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let mut checker = Checker::new(&card);
        if let Some(gap) = resync_ms {
            checker = checker.resync_after_gaps(gap);
        }
        let mut n = 0;
        for line in std::io::BufReader::new(file).split(b'\n') {
            let line = line.map_err(|e| format!("{path}: {e}"))?;
            n += 1;
            checker.line(n, &String::from_utf8_lossy(&line));
        }
        let r = checker.finish(n, killed);
        for f in &r.findings {
            let mut ts = String::new();
            let _ = greenwave::events::csv::write_timestamp(&mut ts, f.unix_ms);
            out!("{path}:{}: {ts}: {}", f.line, f.what);
        }
        if r.bad_rows > 0 {
            out!("{path}: {} rows do not parse", r.bad_rows);
            failed = true;
        }
        out!(
            "{path}: {} rows, {} yellows, {} red clearances, {} flashes, {} alarms, {} resyncs ({} wall-clock steps)",
            r.rows,
            r.yellows,
            r.red_clears,
            r.flashes,
            r.alarms,
            r.resyncs,
            r.clock_steps
        );
        rows += r.rows;
        conflicts += r.conflicts;
        short_y += r.short_yellows;
        short_r += r.short_red_clears;
    }
    // Losses: every event the engine emitted is either a row in the log or counted as dropped.
    let uncounted = match (emitted, dropped) {
        (Some(emitted), Some(dropped)) => {
            if let Some(l) = logged.filter(|l| *l != rows) {
                out!("the run counted {l} rows logged, the log holds {rows}");
                failed = true;
            }
            emitted.abs_diff(rows + dropped)
        }
        // The parser takes `--emitted` and `--dropped` only together.
        _ => 0,
    };
    out!(
        "verify: {rows} rows, {conflicts} conflicts, {short_y} short yellows, {short_r} short red clearances, {uncounted} uncounted losses"
    );
    if failed || conflicts + short_y + short_r + uncounted > 0 {
        return Err("the event log breaks the MMU card or loses events".into());
    }
    Ok(())
}

/// `greenwave offsets`: corridor offsets by two-way bandwidth maximisation (`greenwave::offsets`).
fn offsets(args: OffsetsArgs) -> Result<(), String> {
    use greenwave::offsets::{solve, CorridorFile};
    let file = CorridorFile::load(&args.corridor)?;
    let k = file.corridor()?;
    let s = solve(&k);
    let h = &file.corridor;
    let c = k.cycle_s;
    out!(
        "{}: {} intersections, cycle {c} s, offsets on a {} s grid ({} search nodes)",
        if h.name.is_empty() {
            args.corridor.display().to_string()
        } else {
            h.name.clone()
        },
        k.t_out.len(),
        k.resolution_s,
        s.nodes
    );
    out!(
        "  #  intersection            offset_s  {:>10}  {:>10}",
        format!("{} green", h.outbound),
        format!("{} green", h.inbound)
    );
    for (i, x) in file.intersections.iter().enumerate() {
        out!(
            "{:>3}  {:<24} {:>7.1}  {:>9.1}s  {:>9.1}s",
            i + 1,
            x.name,
            s.offsets[i],
            x.green_out_s,
            x.green_in_s
        );
    }
    let b = s.bands;
    out!(
        "{} bandwidth {:.1} s ({:.0} % of the cycle)",
        h.outbound,
        b.outbound_s,
        100.0 * b.outbound_s / c
    );
    out!(
        "{} bandwidth {:.1} s ({:.0} % of the cycle)",
        h.inbound,
        b.inbound_s,
        100.0 * b.inbound_s / c
    );
    out!("offset = start of the outbound through green, seconds after intersection 1's (modulo the cycle)");
    if let Some(path) = &args.json {
        let j = serde_json::json!({
            "corridor": h.name,
            "cycle_s": c,
            "resolution_s": k.resolution_s,
            "intersections": file.intersections.iter().zip(&s.offsets).map(|(x, o)| serde_json::json!({
                "name": x.name, "offset_s": o, "green_out_s": x.green_out_s, "green_in_s": x.green_in_s,
                "internal_offset_s": x.internal_offset_s,
            })).collect::<Vec<_>>(),
            "outbound_bandwidth_s": b.outbound_s,
            "inbound_bandwidth_s": b.inbound_s,
            "outbound_share": b.outbound_s / c,
            "inbound_share": b.inbound_s / c,
            "outbound_band_start_s": b.outbound_start_s,
            "inbound_band_start_s": b.inbound_start_s,
        });
        let text = serde_json::to_string_pretty(&j).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
