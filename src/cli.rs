//! The `greenwave` command line as clap definitions: every command, option, help text and value
//! parser. `main.rs` runs what these parse; keeping them apart keeps `main.rs` to the flow
//! (docs/conventions.md 4).

use clap::{Args, Parser, Subcommand};
use greenwave::runtime::control_loop::Speed;
use std::path::PathBuf;

/// After every command's help: what the exit status means.
pub const EXIT_STATUS: &str = "\
Exit status: 0 success; 1 error: a bad file, option or value (an `error:` line on standard error);
2 usage: no command given; 3 `sim` completed but lost event rows or state saves (the summary says
what). Output to a pipe that closes early (`greenwave check … | head -1`) ends the command quietly
with status 0.";

/// greenwave — adaptive traffic-signal controller
#[derive(Parser)]
#[command(name = "greenwave", after_help = EXIT_STATUS, args_override_self = true)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Validate a site file; print derived timings and the Webster plan. Exit 1 on a bad file.
    Check(CheckArgs),
    /// Run the controller (engine, monitor, planner, loop) on the simulated intersection.
    ///
    /// The monitor uses the board file's [mmu] card (--board), else the card derived from
    /// geometry. With --speed FACTOR, controller time is the monotonic clock (x FACTOR), as on a
    /// board. Exit 0; 1 on bad options or files; 3 when the run completed but something was lost
    /// (event rows not written or dropped, a state file not saved): the summary says what.
    Sim(Box<SimArgs>),
    /// Run on a cabinet board: GPIO relays, inputs, watchdog, console, event log, state (board
    /// file).
    ///
    /// SIGHUP re-reads the site file (applied at the next all-red point; unchanged files and tick
    /// changes are not applied, and bursts of SIGHUP coalesce); SIGTERM/SIGINT stop cleanly.
    Run(RunArgs),
    /// Train the `learned` planner's Q-table in the built-in traffic model (volumes 0.6-1.6 x
    /// design).
    Train(TrainArgs),
    /// Timing diagram (rings, phases, pedestrians, detectors, preempt) from an event log.
    #[cfg(feature = "plot")]
    Plot(greenwave::plot::PlotOptions),
    /// Timing diagram from an event log: needs the `plot` feature, which this build (a board
    /// build) leaves out; it exits 1.
    #[cfg(not(feature = "plot"))]
    Plot(NoPlotArgs),
    /// Check an event log against the board's MMU card (`[mmu]`). Exit 1 on any finding.
    ///
    /// No conflicting channels green, yellow or WALK together, no yellow or red clearance below
    /// the card's minimum. With the run's counters (`events emitted`, `events ... logged, ...
    /// dropped` of the sim summary) also checks that no event was lost uncounted.
    Verify(VerifyArgs),
    /// Read a console PIN (4-12 digits) from standard input; print the salted hash for the site
    /// file's `[console] pin_hash`.
    PinHash,
    /// Offsets for a coordinated corridor by two-way bandwidth maximisation (MAXBAND idea):
    /// prints each intersection's offset and the outbound/inbound bandwidth.
    Offsets(OffsetsArgs),
    /// Draw a camera's zones (outline, number, detector, stop line in red) over a frame from a
    /// recorded clip or the camera itself, as a PNG.
    Zones(ZonesArgs),
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["frame", "device"]))]
pub struct ZonesArgs {
    /// Site file with the camera and its zones.
    #[arg(long, value_name = "FILE")]
    pub site: PathBuf,
    /// Camera number (1 = the first camera of the site file).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    pub camera: u8,
    /// Take the first frame of this YUV4MPEG2 clip (the camera's size).
    #[arg(long, value_name = "CLIP.y4m")]
    pub frame: Option<PathBuf>,
    /// Take a frame from this V4L2 camera (needs a build with `--features v4l2`).
    #[arg(long, value_name = "/dev/videoN")]
    pub device: Option<PathBuf>,
    /// Where to write the picture.
    #[arg(long, value_name = "zones.png")]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct OffsetsArgs {
    /// Corridor file: the intersections in order, distances, speeds, cycle, through greens.
    #[arg(long, value_name = "FILE")]
    pub corridor: PathBuf,
    /// Also write the offsets and bands as JSON to F.
    #[arg(long, value_name = "F")]
    pub json: Option<PathBuf>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Site file to validate.
    #[arg(long, value_name = "FILE")]
    pub site: PathBuf,
    /// Also validate a board file: it wires every phase and crossing of the site, and its [mmu]
    /// compatibility card permits everything the site's rings and barriers run together.
    #[arg(long, value_name = "BOARD.toml")]
    pub board: Option<String>,
    /// Print the [mmu] card derived from the phases' approaches and movements, to review and
    /// paste into the board file.
    #[arg(long)]
    pub print_card: bool,
}

#[derive(Args)]
pub struct SimArgs {
    /// Site file.
    #[arg(long, value_name = "FILE")]
    pub site: PathBuf,
    /// Board file whose [mmu] card the monitor uses (it must fit the site).
    #[arg(long, value_name = "BOARD.toml")]
    pub board: Option<String>,
    /// Simulated seconds to run.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub duration: u64,
    /// `max` (as fast as possible) or a positive factor of real time (1 = real time).
    #[arg(long, value_name = "max|FACTOR", default_value = "max", value_parser = parse_speed, allow_negative_numbers = true)]
    pub speed: Speed,
    /// Seed of the simulated traffic.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Write the event log to FILE.csv (an existing non-empty file is refused without --append or
    /// --overwrite).
    #[arg(long, value_name = "FILE.csv")]
    pub events: Option<PathBuf>,
    /// Add to an existing --events file (appended rows follow the existing ones under its one
    /// header).
    #[arg(long, requires = "events", conflicts_with = "overwrite")]
    pub append: bool,
    /// Replace an existing --events file.
    #[arg(long, requires = "events")]
    pub overwrite: bool,
    /// Scale of the design volumes, 0..10.
    #[arg(long, value_name = "SCALE", default_value = "1.0", value_parser = parse_volumes, allow_negative_numbers = true)]
    pub volumes: f64,
    /// Planner instead of the site file's: actuated, adaptive, webster (or fixed), learned.
    #[arg(long, value_name = "PLANNER", value_parser = parse_planner_arg)]
    pub planner: Option<greenwave::config::PlannerKind>,
    /// Serve the serial console on TTY (e.g. one end of a socat pty pair).
    #[arg(long, value_name = "TTY")]
    pub console: Option<PathBuf>,
    /// Baud rate of the --console port.
    #[arg(long, value_name = "N", default_value_t = 115_200)]
    pub baud: u32,
    /// Keep learned flows, counters and fault history in DIR across runs.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The Q-table for `--planner learned` (from `greenwave train`).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Write each frame sent to the relays into FILE (for an outside recorder).
    #[arg(long, value_name = "FILE")]
    pub relay_mirror: Option<PathBuf>,
    /// Inject seeded random faults (camera stall and lost frames, detectors stuck on / stuck off /
    /// chattering, a welded relay seen by read-back); each is logged when it starts, and the
    /// summary ends with `faults injected N`. The same SEED replays them.
    #[arg(long, value_name = "SEED")]
    pub faults: Option<u64>,
    /// Rotating event log in DIR (as on a board; continues existing files).
    #[arg(long, value_name = "DIR")]
    pub event_dir: Option<PathBuf>,
    /// Serve NTCIP 1202 over SNMP on ADDR:PORT (README "Central management").
    #[arg(long, value_name = "ADDR:PORT")]
    pub snmp: Option<std::net::SocketAddr>,
    /// SNMPv2c read-only community for --snmp (without it SNMPv2c is off).
    #[arg(long, value_name = "NAME", requires = "snmp")]
    pub snmp_community: Option<String>,
    /// SNMPv3 users file for --snmp (SETs need an authPriv user from it).
    #[arg(long, value_name = "FILE", requires = "snmp")]
    pub snmp_users: Option<PathBuf>,
    /// Fleet telemetry to an MQTT broker (--mqtt …).
    #[command(flatten)]
    pub telemetry: Box<SimMqttArgs>,
}

/// `greenwave sim --mqtt …`: fleet telemetry from the simulated intersection.
#[derive(Args)]
pub struct SimMqttArgs {
    /// Publish status, alarms and event batches to an MQTT broker: mqtts://HOST:PORT (TLS) or
    /// mqtt://HOST:PORT, topics greenwave/<site device id>/….
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    /// CA certificate (PEM) the --mqtt broker's certificate is checked against (default: the
    /// system's CA roots).
    #[arg(long, value_name = "FILE", requires = "mqtt")]
    pub mqtt_ca: Option<PathBuf>,
    /// MQTT username (with --mqtt-password-file).
    #[arg(long, value_name = "USER", requires = "mqtt")]
    pub mqtt_user: Option<String>,
    /// File whose first line is the MQTT password (keep it mode 0600).
    #[arg(long, value_name = "FILE", requires = "mqtt_user")]
    pub mqtt_password_file: Option<PathBuf>,
    /// Client certificate (PEM) for certificate authentication (with --mqtt-key).
    #[arg(long, value_name = "FILE", requires = "mqtt_key")]
    pub mqtt_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "mqtt_cert")]
    pub mqtt_key: Option<PathBuf>,
    /// Messages held while the broker is away (the oldest dropped beyond).
    #[arg(long, value_name = "N", requires = "mqtt", value_parser = clap::value_parser!(u32).range(10..=100_000))]
    pub mqtt_queue: Option<u32>,
    /// MQTT client id (default greenwave-<device id>).
    #[arg(long, value_name = "ID", requires = "mqtt")]
    pub mqtt_client_id: Option<String>,
}

#[derive(Args)]
pub struct RunArgs {
    /// Board file (GPIO lines, watchdog, console, event log, state, [mmu] card).
    #[arg(long, value_name = "BOARD.toml")]
    pub board: PathBuf,
    /// Site file.
    #[arg(long, value_name = "FILE")]
    pub site: PathBuf,
    /// Stop after SECS (default: run until SIGTERM/SIGINT).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// Write each frame sent to the relays into FILE (for an outside recorder).
    #[arg(long, value_name = "FILE")]
    pub relay_mirror: Option<PathBuf>,
    /// The Q-table for a site on the `learned` planner (from `greenwave train`).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

/// `plot`'s arguments in a build without the `plot` feature: accepted and ignored (it exits 1).
#[cfg(not(feature = "plot"))]
#[derive(Args)]
pub struct NoPlotArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub _rest: Vec<String>,
}

#[derive(Args)]
pub struct TrainArgs {
    /// Site file.
    #[arg(long, value_name = "FILE")]
    pub site: PathBuf,
    /// Where to write the Q-table.
    #[arg(long, value_name = "MODEL.postcard")]
    pub out: PathBuf,
    /// Training episodes.
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub episodes: u32,
    /// Simulated seconds per episode.
    #[arg(long, value_name = "S", default_value_t = 3600)]
    pub seconds: u64,
    /// Seed of the traffic and the exploration.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Board file whose [mmu] card the log is checked against.
    #[arg(long, value_name = "BOARD.toml")]
    pub board: String,
    /// Event log to check; repeat for the files of a rotated log.
    #[arg(long, value_name = "FILE.csv", required = true)]
    pub events: Vec<String>,
    /// The run's `events emitted` count (with --dropped).
    #[arg(long, value_name = "N", requires = "dropped")]
    pub emitted: Option<u64>,
    /// The run's dropped event count (with --emitted).
    #[arg(long, value_name = "N", requires = "emitted")]
    pub dropped: Option<u64>,
    /// The run's logged row count: the log must hold exactly that many rows.
    #[arg(long, value_name = "N")]
    pub logged: Option<u64>,
    /// The run was killed: its last row may be cut.
    #[arg(long)]
    pub killed: bool,
    /// The run lost rows (counted); after SECS without a row, channels count as unknown until an
    /// event shows their state.
    #[arg(long, value_name = "SECS", value_parser = parse_resync_gap, allow_negative_numbers = true)]
    pub resync_gap: Option<f64>,
}

pub fn parse_speed(v: &str) -> Result<Speed, String> {
    if v == "max" {
        return Ok(Speed::Max);
    }
    match v.parse::<f64>() {
        Ok(f) if f > 0.0 && f.is_finite() => Ok(Speed::Factor(f)),
        _ => Err("must be `max` or a positive factor (1 = real time)".into()),
    }
}

pub fn parse_volumes(v: &str) -> Result<f64, String> {
    let f: f64 = v.parse().map_err(|_| "not a number".to_string())?;
    if (0.0..=10.0).contains(&f) {
        Ok(f)
    } else {
        Err(format!("{f} is outside 0..10 (a scale of the design volumes)"))
    }
}

pub fn parse_planner_arg(v: &str) -> Result<greenwave::config::PlannerKind, String> {
    greenwave::config::parse_planner(v).ok_or_else(|| "not one of actuated, adaptive, webster, learned".into())
}

pub fn parse_resync_gap(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => Ok(s),
        _ => Err("not a positive number of seconds".into()),
    }
}
