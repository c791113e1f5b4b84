//! `greenwave` command line: thin by design (docs/conventions.md 4) — parse arguments, load and
//! validate the site, build the hardware, hand over to the runtime.

use greenwave::config::Site;
use greenwave::plan::webster;
use greenwave::runtime::realtime::Signals;
use greenwave::runtime::sim::{run_sim, SimOptions, Speed};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Counts heap bytes in use so `sim` and `run` can report memory growth (`runtime::heap`).
#[global_allocator]
static HEAP: greenwave::runtime::heap::Counting = greenwave::runtime::heap::Counting;

const USAGE: &str = "\
greenwave — adaptive traffic-signal controller

USAGE:
  greenwave check --site FILE [--board BOARD.toml] [--print-card]
      Validate a site file; print derived timings and the Webster plan. Exit 1 on a bad file.
      --board: also validate a board file: it wires every phase and crossing of the site, and its
      [mmu] compatibility card permits everything the site's rings and barriers run together.
      --print-card: print the [mmu] card derived from the phases' approaches and movements, to
      review and paste into the board file.
  greenwave sim --site FILE [--board BOARD.toml] [--duration SECS] [--speed max|FACTOR] [--seed N]
                [--events FILE.csv] [--volumes SCALE] [--planner actuated|adaptive|webster]
      Run the controller (engine, monitor, planner, loop) on the simulated intersection.
      The monitor uses the board file's [mmu] card (--board), else the card derived from geometry.
      Defaults: --duration 3600 --speed max --seed 1 --volumes 1.0
      --console TTY [--baud N]: serve the serial console on TTY (e.g. one end of a socat pty pair).
      --state-dir DIR: keep learned flows, counters and fault history in DIR across runs.
      --model FILE: the Q-table for `--planner learned` (from `greenwave train`).
      --event-dir DIR: rotating event log in DIR (as on a board; continues existing files).
      --faults SEED: inject seeded random faults (camera stall and lost frames, detectors stuck
        on / stuck off / chattering, a welded relay seen by read-back); each is logged when it
        starts, and the summary ends with `faults injected N`. The same SEED replays them.
      --relay-mirror FILE: write each frame sent to the relays into FILE (for an outside recorder).
      With --speed FACTOR, controller time is the monotonic clock (x FACTOR), as on a board.
      --append | --overwrite: add to / replace an existing --events file (without either, a
      non-empty one is refused; appended rows follow the existing ones under its one header).
      Exit 0; 1 on bad options or files; 3 when the run completed but something was lost (event
      rows not written or dropped, a state file not saved): the summary says what.
  greenwave run --board BOARD.toml --site FILE [--duration SECS] [--relay-mirror FILE] [--model FILE]
      Run on a cabinet board: GPIO relays, inputs, watchdog, console, event log, state (board file).
      --model FILE: the Q-table for a site on the `learned` planner (from `greenwave train`).
      SIGHUP re-reads the site file (applied at the next all-red point; unchanged files and tick
      changes are not applied, and bursts of SIGHUP coalesce); SIGTERM/SIGINT stop cleanly.
  greenwave train --site FILE --out MODEL.postcard [--episodes N] [--seconds S] [--seed N]
      Train the `learned` planner's Q-table in the built-in traffic model (volumes 0.6-1.6 x design).
  greenwave plot --events FILE.csv --out FILE.svg|FILE.png [--from T --to T]
      Timing diagram (rings, phases, pedestrians, detectors, preempt) from an event log.
      Needs the `plot` feature (on by default; board builds leave it out and exit 1 here).
  greenwave verify --board BOARD.toml --events FILE.csv [--events FILE2.csv ...]
                   [--emitted N --dropped N --logged N] [--killed] [--resync-gap SECS]
      Check an event log against the board's MMU card (`[mmu]`): no conflicting channels green,
      yellow or WALK together, no yellow or red clearance below the card's minimum. With the run's
      counters (`events emitted`, `events ... logged, ... dropped` of the sim summary) also checks
      that no event was lost uncounted. --killed: the run was killed, its last row may be cut.
      --resync-gap: the run lost rows (counted); after SECS without a row, channels count as
      unknown until an event shows their state.
      Exit 1 on any finding.
  greenwave pin-hash
      Read a console PIN (4-12 digits) from standard input; print the salted hash for the site
      file's `[console] pin_hash`.
  greenwave help

EXIT STATUS:
  0 success, 1 error (one `error:` line on standard error), 2 usage, 3 `sim` completed but lost
  event rows or state saves (the summary says what). Output to a pipe that closes
  early (`greenwave check … | head -1`) ends the command quietly with status 0.
";

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        let _ = write!(std::io::stderr(), "{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let mut lossy = false;
    let result = match cmd.as_str() {
        "check" => check(rest),
        "sim" => sim(rest).map(|end| lossy = matches!(end, SimEnd::Lossy)),
        "plot" => plot(rest),
        "pin-hash" => pin_hash(),
        "train" => train(rest),
        "run" => run(rest),
        "verify" => verify(rest),
        "help" | "--help" | "-h" => help(),
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    // Anything still buffered is written now, where a failure can still be reported.
    let result = result.and_then(|()| std::io::stdout().flush().map_err(stdout_error));
    match result {
        Ok(()) if lossy => ExitCode::from(greenwave::runtime::sim::EXIT_LOSS),
        Ok(()) => ExitCode::SUCCESS,
        Err(_) if STDOUT_CLOSED.load(Ordering::Relaxed) => ExitCode::SUCCESS,
        Err(e) => {
            // Not `eprintln!`: it panics too when standard error is gone.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `greenwave plot`: the timing diagram of an event log (`greenwave::plot`).
#[cfg(feature = "plot")]
fn plot(args: &[String]) -> Result<(), String> {
    let summary = greenwave::plot::parse_args(args).and_then(|o| greenwave::plot::plot(&o))?;
    out!("{summary}");
    Ok(())
}

/// Why `greenwave plot` fails in a build without the `plot` feature (board builds), and what to do.
#[cfg(not(feature = "plot"))]
const NO_PLOT: &str = "this build has no timing-diagram support: rebuild with `--features plot`, or draw the \
                       diagram on a workstation from the board's event log";

/// `greenwave plot` in a build without the `plot` feature: exit 1 with [`NO_PLOT`], whatever the
/// arguments.
#[cfg(not(feature = "plot"))]
fn plot(_args: &[String]) -> Result<(), String> {
    Err(NO_PLOT.into())
}

fn help() -> Result<(), String> {
    out!("{}", USAGE.trim_end());
    Ok(())
}

/// How a `sim` run ended (the summary is printed either way).
enum SimEnd {
    Clean,
    /// Event rows or state saves were lost: exit status 3.
    Lossy,
}

/// Removes the value-less `switches` from `args`; returns which were given and the rest.
fn take_switches<'s>(args: &[String], switches: &[&'s str]) -> (Vec<&'s str>, Vec<String>) {
    let (on, rest): (Vec<&String>, Vec<&String>) = args.iter().partition(|a| switches.contains(&a.as_str()));
    let on = switches.iter().copied().filter(|s| on.iter().any(|a| a == s)).collect();
    (on, rest.into_iter().cloned().collect())
}

/// `--name value` pairs; every flag must be known and have a value.
struct Flags<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Flags<'a> {
    fn parse(args: &'a [String], known: &[&str]) -> Result<Flags<'a>, String> {
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if !known.contains(&a.as_str()) {
                return Err(format!("unknown option `{a}` (accepted: {})", known.join(" ")));
            }
            let v = it.next().ok_or_else(|| format!("option `{a}` needs a value"))?;
            pairs.push((a.as_str(), v.as_str()));
        }
        Ok(Flags { pairs })
    }
    fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("option `{name}`: `{v}` is not a valid number")),
        }
    }
}

fn load_site(flags: &Flags) -> Result<(PathBuf, Site), String> {
    let path = PathBuf::from(flags.get("--site").ok_or("missing `--site FILE`")?);
    let site = Site::load(&path).map_err(|e| e.to_string())?;
    Ok((path, site))
}

fn check(args: &[String]) -> Result<(), String> {
    let print_card = args.iter().any(|a| a == "--print-card");
    let args: Vec<String> = args.iter().filter(|a| *a != "--print-card").cloned().collect();
    let flags = Flags::parse(&args, &["--site", "--board"])?;
    let (path, site) = load_site(&flags)?;
    if print_card {
        out!(
            "{}",
            greenwave::monitor::card::MmuCard::from_geometry(&site)
                .to_toml()
                .trim_end()
        );
        return Ok(());
    }
    // Everything `run` refuses, `check` refuses: the console PIN hash is read here too.
    let pin = console_pin(&path)?;
    if let Some(b) = flags.get("--board") {
        // The board file against this site: every phase and crossing wired, and the card permits
        // what the site runs together (before a cabinet sees it).
        let board = greenwave::hal::board::Board::load(std::path::Path::new(b)).map_err(|e| e.to_string())?;
        board
            .check_site(&site, b)
            .map_err(|e| format!("site {}: {e}", path.display()))?;
        out!("{b}: OK — board \"{}\" fits site \"{}\"", board.name, site.name);
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
            "set (mutating console commands need it)"
        } else {
            "not set (mutating console commands are disabled)"
        }
    );
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
    let plan = webster::plan(&site, &webster::design_flows(&site));
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
    let flows = webster::design_flows(&site);
    for ph in site.phases() {
        let Some(o) = ph.permissive else { continue };
        let cp = flows[ph.id.index()] * flows[o.index()];
        let ok = greenwave::plan::adaptive::cross_product_ok(&site, &flows, ph.id, o);
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
    Ok(())
}

fn sim(args: &[String]) -> Result<SimEnd, String> {
    let (switches, args) = take_switches(args, &["--append", "--overwrite"]);
    let events_mode = match switches.as_slice() {
        [] => greenwave::events::single::OpenMode::New,
        ["--append"] => greenwave::events::single::OpenMode::Append,
        ["--overwrite"] => greenwave::events::single::OpenMode::Overwrite,
        _ => return Err("`--append` and `--overwrite` exclude each other".into()),
    };
    let args = &args[..];
    let flags = Flags::parse(
        args,
        &[
            "--site",
            "--duration",
            "--speed",
            "--seed",
            "--events",
            "--volumes",
            "--planner",
            "--console",
            "--baud",
            "--state-dir",
            "--model",
            "--event-dir",
            "--faults",
            "--relay-mirror",
            "--board",
        ],
    )?;
    let (site_path, mut site) = load_site(&flags)?;
    if let Some(p) = flags.get("--planner") {
        site.planner = greenwave::config::parse_planner(p)
            .ok_or_else(|| format!("option `--planner`: `{p}` is not one of actuated, adaptive, webster"))?;
    }
    let speed = match flags.get("--speed").unwrap_or("max") {
        "max" => Speed::Max,
        v => match v.parse::<f64>() {
            Ok(f) if f > 0.0 && f.is_finite() => Speed::Factor(f),
            _ => {
                return Err(format!(
                    "option `--speed`: `{v}` must be `max` or a positive factor (1 = real time)"
                ))
            }
        },
    };
    let volumes: f64 = flags.num("--volumes", 1.0)?;
    if !(0.0..=10.0).contains(&volumes) {
        return Err(format!(
            "option `--volumes`: {volumes} is outside 0..10 (a scale of the design volumes)"
        ));
    }
    let console = match flags.get("--console") {
        None => None,
        Some(tty) => {
            let baud: u32 = flags.num("--baud", 115_200)?;
            let port = greenwave::hal::linux::serial::TermiosSerial::open(std::path::Path::new(tty), baud)
                .map_err(|e| e.to_string())?;
            Some(greenwave::runtime::sim::ConsoleSetup {
                port,
                pin: console_pin(&site_path)?,
            })
        }
    };
    let mut opts = SimOptions {
        site_path,
        duration_s: flags.num("--duration", 3600)?,
        speed,
        seed: flags.num("--seed", 1)?,
        events: flags.get("--events").map(PathBuf::from),
        volumes,
        start_unix_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
        console,
        state_dir: flags.get("--state-dir").map(PathBuf::from),
        model: None,
        event_dir: flags.get("--event-dir").map(PathBuf::from),
        relay_mirror: flags.get("--relay-mirror").map(PathBuf::from),
        planner_override: flags.get("--planner").and_then(greenwave::config::parse_planner),
        reload_check: None,
        events_mode,
    };
    if opts.events.is_none() && !switches.is_empty() {
        return Err(format!("`{}` needs `--events FILE.csv`", switches.join(" ")));
    }
    opts.model = load_model(flags.get("--model"), &site)?;
    let signals = Signals::register().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    if matches!(speed, Speed::Factor(_)) {
        greenwave::runtime::realtime::setup_realtime(50);
    }
    let card = sim_card(flags.get("--board"), &opts.site_path, &site)?;
    let (summary, injected) = match flags.get("--faults") {
        Some(_) => {
            let seed: u64 = flags.num("--faults", 0)?;
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
    if let Some(p) = &opts.events {
        out!("event log         {}", p.display());
    }
    if summary.lossy() {
        let _ = writeln!(
            std::io::stderr(),
            "greenwave: the run completed but event rows or state saves were lost (see the summary); exit {}",
            greenwave::runtime::sim::EXIT_LOSS
        );
        return Ok(SimEnd::Lossy);
    }
    Ok(SimEnd::Clean)
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
    board
        .check_site(site, b)
        .map_err(|e| format!("site {}: {e}", site_path.display()))?;
    board.mmu.ok_or_else(|| format!("{b}: no [mmu] card"))
}

/// The console PIN hash from the site file's `[console] pin_hash`, if set.
fn console_pin(site_path: &std::path::Path) -> Result<Option<greenwave::console::lock::PinHash>, String> {
    let text = greenwave::config::file::read_text(site_path, greenwave::limits::CONFIG_FILE_MAX_BYTES)
        .map_err(|e| format!("{}: {e}", site_path.display()))?;
    let value: toml::Value = toml::from_str(&text).map_err(|e| format!("{}: {e}", site_path.display()))?;
    let Some(hash) = value.get("console").and_then(|c| c.get("pin_hash")) else {
        log::warn!(
            "no `[console] pin_hash` in {}: mutating console commands are disabled",
            site_path.display()
        );
        return Ok(None);
    };
    let hash = hash.as_str().ok_or_else(|| {
        format!(
            "{}: `console.pin_hash` must be a string (make one with `greenwave pin-hash`)",
            site_path.display()
        )
    })?;
    greenwave::console::lock::PinHash::parse(hash)
        .map(Some)
        .map_err(|e| format!("{}: `console.pin_hash`: {e}", site_path.display()))
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

fn train(args: &[String]) -> Result<(), String> {
    use greenwave::plan::learned::{train, QTable};
    let flags = Flags::parse(args, &["--site", "--out", "--episodes", "--seconds", "--seed"])?;
    let (_, site) = load_site(&flags)?;
    let out = PathBuf::from(flags.get("--out").ok_or("missing `--out MODEL.postcard`")?);
    let episodes: u32 = flags.num("--episodes", 60)?;
    let seconds: u64 = flags.num("--seconds", 3600)?;
    let seed: u64 = flags.num("--seed", 1)?;
    let mut trainer = train::Trainer::new(QTable::default(), 0.3, seed, site.tick_ms);
    let mut rng = greenwave::hal::sim::traffic::Rng::new(seed ^ 0x5eed);
    for e in 0..episodes {
        // Exploration decays from 30 % to 5 % over the run.
        trainer.epsilon = 0.3 - 0.25 * f64::from(e) / f64::from(episodes.max(1));
        let volumes = 0.6 + rng.unit();
        train::episode(
            &site,
            &mut trainer,
            volumes,
            seconds,
            seed.wrapping_add(u64::from(e) * 7919),
        );
    }
    let confident = (0..greenwave::plan::learned::STATES)
        .filter(|s| trainer.table.decide(*s).1)
        .count();
    std::fs::write(&out, trainer.table.to_bytes()).map_err(|e| format!("{}: {e}", out.display()))?;
    out!(
        "{}: {} episodes of {} s, {} of {} states confident",
        out.display(),
        trainer.table.episodes,
        seconds,
        confident,
        greenwave::plan::learned::STATES
    );
    Ok(())
}

/// `--model FILE` of `sim` and `run`: the learned planner's Q-table, which that planner requires.
fn load_model(
    path: Option<&str>,
    site: &greenwave::config::Site,
) -> Result<Option<greenwave::plan::learned::QTable>, String> {
    match path {
        Some(m) => greenwave::plan::learned::QTable::load(std::path::Path::new(m))
            .map(Some)
            .map_err(|e| e.to_string()),
        None if site.planner == greenwave::config::PlannerKind::Learned => {
            Err("the learned planner needs `--model FILE` (make one with `greenwave train`)".into())
        }
        None => Ok(None),
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let flags = Flags::parse(args, &["--board", "--site", "--duration", "--relay-mirror", "--model"])?;
    let (site_path, site) = load_site(&flags)?;
    let board_path = PathBuf::from(flags.get("--board").ok_or("missing `--board BOARD.toml`")?);
    let duration_s = match flags.get("--duration") {
        Some(_) => Some(flags.num("--duration", 0u64)?),
        None => None,
    };
    let model = load_model(flags.get("--model"), &site)?;
    let signals = Signals::register().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let opts = greenwave::runtime::board::RunOptions {
        board_path,
        console_pin: console_pin(&site_path)?,
        site_path,
        duration_s,
        relay_mirror: flags.get("--relay-mirror").map(PathBuf::from),
        model,
    };
    let summary = greenwave::runtime::board::run_board(&site, opts, &signals)?;
    out!("{summary}");
    Ok(())
}

/// `greenwave verify`: the event log against the board's MMU card (`greenwave::verify`).
fn verify(args: &[String]) -> Result<(), String> {
    use greenwave::verify::{Checker, MmuCard};
    use std::io::BufRead;
    let mut board = None;
    let mut events = Vec::new();
    let mut counts: [Option<u64>; 3] = [None; 3];
    let mut killed = false;
    let mut resync_ms = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("option `{a}` needs a value"));
        let num = |v: &String| {
            v.parse::<u64>()
                .map_err(|_| format!("option `{a}`: `{v}` is not a count"))
        };
        match a.as_str() {
            "--board" => board = Some(value()?.clone()),
            "--events" => events.push(value()?.clone()),
            "--emitted" => counts[0] = Some(num(value()?)?),
            "--dropped" => counts[1] = Some(num(value()?)?),
            "--logged" => counts[2] = Some(num(value()?)?),
            "--killed" => killed = true,
            "--resync-gap" => {
                let v = value()?;
                match v.parse::<f64>() {
                    Ok(s) if s > 0.0 && s.is_finite() => resync_ms = Some((s * 1000.0) as i64),
                    _ => {
                        return Err(format!(
                            "option `--resync-gap`: `{v}` is not a positive number of seconds"
                        ))
                    }
                }
            }
            _ => {
                return Err(format!(
                "unknown option `{a}` (accepted: --board --events --emitted --dropped --logged --killed --resync-gap)"
            ))
            }
        }
    }
    let board = board.ok_or("missing `--board BOARD.toml`")?;
    if events.is_empty() {
        return Err("missing `--events FILE.csv`".into());
    }
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
            "{path}: {} rows, {} yellows, {} red clearances, {} flashes, {} alarms, {} resyncs",
            r.rows,
            r.yellows,
            r.red_clears,
            r.flashes,
            r.alarms,
            r.resyncs
        );
        rows += r.rows;
        conflicts += r.conflicts;
        short_y += r.short_yellows;
        short_r += r.short_red_clears;
    }
    // Losses: every event the engine emitted is either a row in the log or counted as dropped.
    let uncounted = match counts {
        [Some(emitted), Some(dropped), logged] => {
            if let Some(l) = logged.filter(|l| *l != rows) {
                out!("the run counted {l} rows logged, the log holds {rows}");
                failed = true;
            }
            emitted.abs_diff(rows + dropped)
        }
        [None, None, _] => 0,
        _ => return Err("`--emitted` and `--dropped` go together".into()),
    };
    out!(
        "verify: {rows} rows, {conflicts} conflicts, {short_y} short yellows, {short_r} short red clearances, {uncounted} uncounted losses"
    );
    if failed || conflicts + short_y + short_r + uncounted > 0 {
        return Err("the event log breaks the MMU card or loses events".into());
    }
    Ok(())
}
