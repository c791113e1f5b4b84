//! `greenwave-sumo`: greenwave against Eclipse SUMO.
//!
//! `greenwave-sumo help` (or `greenwave-sumo COMMAND --help`) lists the commands and their
//! options with defaults: `check`, `bench`, `run`, `transit`, `train`, `corridor`.
//! `check`, and `run` / `bench` with `--net`, work on the engineer's own SUMO net through the site
//! file's `[sumo]` table (`own.rs`, README "Evaluate your own intersection in SUMO").
//! `transit` runs each demand plus a bus line (`scenario::write_buses`) twice on the same seed,
//! transit priority off (the site without `[transit]`, no check-ins) and on (the site's
//! `[transit]` limits), and prints bus and car time loss for both.
//! Score = mean time loss + mean depart delay per vehicle (SUMO `--tripinfo-output`), the lower
//! the better; insertion delay counts because queues that spill back to the network edge stop
//! vehicles from entering at all.

use greenwave_sumo::{bridge, net, own, scenario, sumo};

use clap::{Args, Parser, Subcommand};
use greenwave::config::{parse_planner, PlannerKind, Site};
use greenwave::plan::webster;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const SITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../board/sites/nema8-4leg.toml");
/// The learned planner's table trained in SUMO (`greenwave-sumo train`, models/LEARNED.md).
const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/learned-nema8-sumo.postcard");

#[derive(Serialize)]
struct ControllerResult {
    name: String,
    vehicles: u64,
    mean_time_loss_s: f64,
    mean_depart_delay_s: f64,
    mean_waiting_s: f64,
    /// The longest any one vehicle stood, s (over several seeds: the longest in any of them).
    max_waiting_s: f64,
    score_s: f64,
    wall_s: f64,
    steps_per_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    greenwave: Option<bridge::BridgeReport>,
    /// Camera rows: share of zone-seconds where the camera's presence equals SUMO's truth.
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_agreement: Option<f64>,
}

#[derive(Serialize)]
struct ScenarioResult {
    name: String,
    controllers: Vec<ControllerResult>,
}

/// One seed's scenarios, when the bench ran on several.
#[derive(Serialize)]
struct SeedReport {
    seed: u64,
    scenarios: Vec<ScenarioResult>,
}

#[derive(Serialize)]
struct Report {
    /// The means over `seeds` (the one seed's rows when only one ran).
    scenarios: Vec<ScenarioResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    seeds: Vec<SeedReport>,
    /// Over several seeds: [`own::paired_vs_sumo`]'s comparisons, paired by seed. The reference
    /// scenarios have no `sumo webster` or `sumo nema` row, so here each greenwave row is held
    /// against the best SUMO row only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    paired: Vec<own::Paired>,
}

impl own::SeedRow for ControllerResult {
    fn name(&self) -> &str {
        &self.name
    }

    /// Means of the per-seed means; the longest wait of any seed; wall time totalled; camera
    /// presence agreement averaged.
    fn mean(rows: &[&ControllerResult]) -> ControllerResult {
        let mean = |f: fn(&ControllerResult) -> f64| own::field_mean(rows, f);
        let cameras: Vec<&ControllerResult> = rows
            .iter()
            .copied()
            .filter(|r| r.presence_agreement.is_some())
            .collect();
        ControllerResult {
            name: rows.first().map(|r| r.name.clone()).unwrap_or_default(),
            vehicles: mean(|r| r.vehicles as f64).round() as u64,
            mean_time_loss_s: mean(|r| r.mean_time_loss_s),
            mean_depart_delay_s: mean(|r| r.mean_depart_delay_s),
            mean_waiting_s: mean(|r| r.mean_waiting_s),
            max_waiting_s: rows.iter().map(|r| r.max_waiting_s).fold(0.0, f64::max),
            score_s: mean(|r| r.score_s),
            wall_s: rows.iter().map(|r| r.wall_s).sum(),
            steps_per_s: mean(|r| r.steps_per_s),
            greenwave: None,
            presence_agreement: (!cameras.is_empty())
                .then(|| own::field_mean(&cameras, |r| r.presence_agreement.unwrap_or(0.0))),
        }
    }

    fn score_s(&self) -> f64 {
        self.score_s
    }
}

impl own::SeedScenario for ScenarioResult {
    type Row = ControllerResult;
    fn name(&self) -> &str {
        &self.name
    }
    fn rows(&self) -> &[ControllerResult] {
        &self.controllers
    }
    fn with_rows(name: String, controllers: Vec<ControllerResult>) -> Self {
        ScenarioResult { name, controllers }
    }
}

/// greenwave against Eclipse SUMO: reference scenarios, benchmark, training
#[derive(Parser)]
#[command(name = "greenwave-sumo", args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Score greenwave's planners and SUMO's own controllers on the reference scenarios.
    ///
    /// Score = mean time loss + mean depart delay per vehicle, the lower the better.
    Bench(BenchArgs),
    /// One scenario with one greenwave planner.
    Run(RunArgs),
    /// Each demand plus a bus line, transit priority off and on (same seed): bus and car time
    /// loss for both.
    Transit(TransitArgs),
    /// Train the `learned` planner's Q-table in SUMO.
    Train(TrainArgs),
    /// Check a site's `[sumo]` mapping against a SUMO net: every link covered, detectors present,
    /// no conflicting greens.
    Check(CheckArgs),
    /// A five-signal arterial, one greenwave controller per signal: SUMO actuated and
    /// tlsCoordinator against greenwave adaptive, coordinated and adaptive coordinated.
    Corridor(CorridorArgs),
}

#[derive(Args)]
struct CorridorArgs {
    /// Also write the report as JSON to F.
    #[arg(long, value_name = "F")]
    json: Option<PathBuf>,
    /// Write the time-space diagram of the `greenwave coordinated` run (SVG) to F.
    #[arg(long, value_name = "F.svg")]
    plot: Option<PathBuf>,
    /// Seconds of demand (the run lasts until every vehicle has arrived).
    #[arg(long, value_name = "N", default_value_t = 3600, value_parser = clap::value_parser!(u32).range(60..=14400))]
    seconds: u32,
    /// Seed of SUMO's traffic.
    #[arg(long, value_name = "N", default_value_t = 42)]
    seed: u64,
    /// Directory for the net, routes, site files and SUMO outputs [default: target/sumo-corridor].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct CheckArgs {
    /// The SUMO net (.net.xml).
    #[arg(long, value_name = "NET")]
    net: PathBuf,
    /// The site file with the `[sumo]` table.
    #[arg(long, value_name = "SITE")]
    site: PathBuf,
    /// Additional files with the detectors, comma-separated.
    #[arg(long, value_name = "A[,A..]", value_delimiter = ',')]
    additional: Vec<PathBuf>,
}

/// Options every simulation command takes.
#[derive(Args)]
struct Common {
    /// Seed of SUMO's traffic.
    #[arg(long, value_name = "N", default_value_t = 42)]
    seed: u64,
    /// Directory for the network, routes and SUMO outputs [default: target/sumo-bench].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The `learned` planner's table [default: models/learned-nema8-sumo.postcard].
    #[arg(long, value_name = "FILE")]
    model: Option<String>,
}

#[derive(Args)]
struct BenchArgs {
    /// Scenario names, comma-separated (balanced, unbalanced, peak, peak120, leftheavy), or `all`.
    #[arg(long, value_name = "NAME|all", default_value = "all")]
    scenario: String,
    /// Also write the report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
    /// greenwave planners to score, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = planner_arg,
          default_values = ["actuated", "adaptive", "learned", "webster"])]
    planners: Vec<PlannerKind>,
    /// SUMO's own controllers to score, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',',
          value_parser = ["static", "actuated", "delay_based", "actuated_protected", "actuated_permissive"],
          default_values = ["static", "actuated", "delay_based", "actuated_protected", "actuated_permissive"])]
    baselines: Vec<String>,
    /// With --net: SUMO's controllers to score, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = own::SUMO_CONTROLLERS,
          default_values = own::SUMO_CONTROLLERS)]
    controllers: Vec<String>,
    /// With --net: score `webster` without the warm-up (from the design volumes and design
    /// saturation flow, learning as it runs) instead of as the fail-safe after a warm-up.
    #[arg(long)]
    no_warmup: bool,
    /// Run the whole bench once per seed and add the table of the means: SUMO's traffic is
    /// random, one seed is one draw of each demand [default: --seed].
    #[arg(long, value_name = "N[,N..]", value_delimiter = ',', conflicts_with = "seed")]
    seeds: Vec<u64>,
    #[command(flatten)]
    own: own::OwnArgs,
    #[command(flatten)]
    camera: CameraArgs,
    #[command(flatten)]
    common: Common,
}

/// A run's file tag: one seed keeps the plain names; several name each run's files after their
/// seed.
fn seeded_tag(tag: String, seed: u64, multi: bool) -> String {
    if multi {
        format!("{tag}-seed{seed}")
    } else {
        tag
    }
}

impl BenchArgs {
    /// The seeds to run: `--seeds`, else the one `--seed`.
    fn seeds(&self) -> Vec<u64> {
        if self.seeds.is_empty() {
            vec![self.common.seed]
        } else {
            self.seeds.clone()
        }
    }
}

/// Cameras in the loop.
#[derive(Args)]
struct CameraArgs {
    /// Detect with each approach's camera rendered from SUMO's vehicles (greenwave's zone
    /// detection) instead of SUMO's detectors; `bench` adds a `greenwave <planner> camera` row.
    #[arg(long)]
    camera: bool,
    /// Light and weather of the rendered cameras.
    #[arg(long, value_name = "day|night|rain", default_value = "day", value_parser = ["day", "night", "rain"])]
    camera_conditions: String,
    /// Length of each camera zone from the stop line upstream, metres.
    #[arg(long, value_name = "M", default_value_t = greenwave_sumo::camera::ZONE_M)]
    camera_zone_m: f64,
}

impl CameraArgs {
    fn options(&self, seed: u64) -> Option<greenwave_sumo::camera::CameraOptions> {
        use greenwave_sumo::camera::{render::Conditions, CameraOptions};
        self.camera.then(|| CameraOptions {
            conditions: Conditions::parse(&self.camera_conditions).unwrap_or(Conditions::Day),
            seed,
            zone_m: self.camera_zone_m,
            ..CameraOptions::default()
        })
    }
}

#[derive(Args)]
struct RunArgs {
    /// Scenario name.
    #[arg(long, value_name = "NAME", default_value = "balanced", value_parser = scenario_arg)]
    scenario: String,
    /// greenwave planner [default: the site file's].
    #[arg(long, value_name = "P", value_parser = planner_arg)]
    planner: Option<PlannerKind>,
    /// Write greenwave's event log to FILE.csv.
    #[arg(long, value_name = "FILE.csv")]
    events: Option<PathBuf>,
    /// Add emergency vehicles (preemption).
    #[arg(long)]
    preempt: bool,
    /// Add a bus line with transit priority.
    #[arg(long)]
    transit: bool,
    /// Drop all detection from FROM to TO (seconds).
    #[arg(long, value_name = "FROM:TO", value_parser = window_arg)]
    drop_detection: Option<(u64, u64)>,
    /// With --net: run the demand once under the site's planner with trusted detection first, then
    /// this run with detection lost from the start, on what the warm-up learned (the fail-safe as
    /// `bench` scores it).
    #[arg(long, requires = "net")]
    warmup: bool,
    /// Also write the result as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
    #[command(flatten)]
    own: own::OwnArgs,
    #[command(flatten)]
    camera: CameraArgs,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct TransitArgs {
    /// Scenario names, comma-separated.
    #[arg(long, value_name = "NAME[,NAME..]", value_delimiter = ',', value_parser = scenario_arg,
          default_value = "balanced")]
    scenario: Vec<String>,
    /// greenwave planners, comma-separated [default: the site file's].
    #[arg(long, value_name = "P[,P..]", value_delimiter = ',', value_parser = planner_arg)]
    planner: Vec<PlannerKind>,
    /// Seconds between buses on a line, at least 1.
    #[arg(long, value_name = "S", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    headway: u32,
    /// Also write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct TrainArgs {
    /// Where to write the Q-table (also the checkpoint while training).
    #[arg(long, value_name = "MODEL.postcard")]
    out: PathBuf,
    /// Training episodes in this run.
    #[arg(long, value_name = "N", default_value_t = 100)]
    episodes: u32,
    /// Scenario names, comma-separated (balanced, unbalanced, peak, peak120, leftheavy, smoke).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = scenario_arg,
          default_value = "balanced,unbalanced,peak")]
    scenarios: Vec<String>,
    /// Seed of the episodes.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Continue from this Q-table.
    #[arg(long, value_name = "MODEL")]
    start: Option<PathBuf>,
    /// Simulated seconds per episode.
    #[arg(long, value_name = "S", default_value_t = 1800)]
    episode_s: u32,
    /// Working directory for the episodes' SUMO files [default: target/sumo-train].
    #[arg(long, value_name = "DIR")]
    work: Option<PathBuf>,
    /// Episodes run in parallel.
    #[arg(long, value_name = "N", default_value_t = 1)]
    jobs: u32,
    /// Exploration rate at the first and the last episode, each in 0..1.
    #[arg(long, value_name = "FIRST:LAST", default_value = "0.2:0.05", value_parser = epsilon_arg)]
    epsilon: (f64, f64),
}

fn planner_arg(v: &str) -> Result<PlannerKind, String> {
    parse_planner(v).ok_or_else(|| "unknown planner (actuated, adaptive, webster, learned)".into())
}

fn scenario_arg(v: &str) -> Result<String, String> {
    match scenario::demand(v) {
        Some(_) => Ok(v.to_string()),
        None => Err("unknown scenario (balanced, unbalanced, peak, peak120, leftheavy, smoke)".into()),
    }
}

fn window_arg(v: &str) -> Result<(u64, u64), String> {
    let bad = || "want FROM:TO, seconds".to_string();
    let (a, b) = v.split_once(':').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

fn epsilon_arg(v: &str) -> Result<(f64, f64), String> {
    let bad = || "FIRST:LAST exploration rates in 0..1, e.g. 0.2:0.05".to_string();
    let (a, b) = v.split_once(':').ok_or_else(bad)?;
    let (a, b): (f64, f64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if !(0.0..=1.0).contains(&a) || !(0.0..=1.0).contains(&b) {
        return Err(bad());
    }
    Ok((a, b))
}

fn main() -> ExitCode {
    let _ = simple_logger::SimpleLogger::new()
        .with_level(log::LevelFilter::Warn)
        .env()
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help goes to standard output with status 0; a usage error (or no command) to
            // standard error with status 1, as every other error.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let r = match cli.cmd {
        Cmd::Bench(a) => bench(a),
        Cmd::Run(a) => run_one(a),
        Cmd::Transit(a) => transit(a),
        Cmd::Train(a) => train(a),
        Cmd::Check(a) => own::OwnNet::load(&a.net, &a.additional, &a.site)
            .and_then(|o| o.check())
            .map(|line| println!("{line}")),
        Cmd::Corridor(a) => corridor(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `greenwave-sumo corridor` (see `corridor.rs`).
fn corridor(args: CorridorArgs) -> Result<(), String> {
    use greenwave_sumo::corridor;
    let home = sumo::sumo_home()?;
    let dir = args
        .out
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/sumo-corridor")));
    let opts = corridor::CorridorOptions {
        seconds: args.seconds,
        seed: args.seed,
        dir,
        plot: args.plot,
    };
    let report = corridor::run(&home, &opts)?;
    corridor::print_table(&report);
    if let Some(j) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(j, text).map_err(|e| format!("{}: {e}", j.display()))?;
    }
    let faults: u32 = report
        .scenarios
        .iter()
        .flat_map(|s| &s.controllers)
        .map(|c| c.faults)
        .sum();
    if faults > 0 {
        return Err(format!("{faults} monitor faults"));
    }
    Ok(())
}

fn out_dir(args: &Common) -> Result<PathBuf, String> {
    let d = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/sumo-bench")));
    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    Ok(d)
}

fn load_site() -> Result<Site, String> {
    Site::load(Path::new(SITE)).map_err(|e| e.to_string())
}

fn planner_opts(p: PlannerKind, model: Option<&str>) -> Result<bridge::BridgeOptions, String> {
    let model = if p == PlannerKind::Learned {
        let path = model.unwrap_or(MODEL);
        Some(greenwave::plan::learned::QTable::load(Path::new(path)).map_err(|e| e.to_string())?)
    } else {
        None
    };
    Ok(bridge::BridgeOptions {
        planner: Some(p),
        model,
        ..Default::default()
    })
}

fn run_one(args: RunArgs) -> Result<(), String> {
    if args.own.net.is_some() {
        return run_own(args);
    }
    let home = sumo::sumo_home()?;
    let site = load_site()?;
    let name = args.scenario.as_str();
    let d = scenario::demand(name).ok_or_else(|| format!("unknown scenario `{name}`"))?;
    let dir = out_dir(&args.common)?;
    let files = scenario::build_network(&home, &dir.join("net"))?;
    let mut routes = vec![scenario::write_routes(&d, &dir)?];
    let planner = args.planner.unwrap_or(site.planner);
    let mut opts = planner_opts(planner, args.common.model.as_deref())?;
    opts.events = args.events.clone();
    opts.preempt = args.preempt;
    if opts.preempt {
        routes.push(scenario::write_emergency(&dir, d.slice_s * d.slices.len() as u32)?);
    }
    opts.transit = args.transit;
    if opts.transit {
        routes.push(scenario::write_buses(&dir, d.slice_s * d.slices.len() as u32, 300)?);
    }
    opts.drop_detection = args.drop_detection;
    let seed = args.common.seed;
    opts.camera = args.camera.options(seed);
    let (trip, report) = bridge::run(
        &home,
        &site,
        &files,
        &routes,
        seed,
        &dir,
        &format!(
            "{name}-greenwave-{}{}",
            planner.name(),
            if opts.camera.is_some() { "-camera" } else { "" }
        ),
        &opts,
    )?;
    let s = net::read_trip_summary(&trip)?;
    println!("scenario {name}, greenwave {}: {} vehicles, time loss {:.1} s, depart delay {:.1} s, waiting {:.1} s, score {:.1} s",
        planner.name(), s.vehicles, s.mean_time_loss_s, s.mean_depart_delay_s, s.mean_waiting_s, s.mean_time_loss_s + s.mean_depart_delay_s);
    println!(
        "  {} steps in {:.1} s ({:.0} steps/s), {} events, {} faults",
        report.steps, report.wall_s, report.steps_per_s, report.events, report.faults
    );
    if let Some(c) = &report.camera {
        println!(
            "  cameras ({}, {}x{} at {} fps): presence agreement {:.1} % of zone-seconds (missed {:.1} %, false {:.1} %), {:.2} ms render + {:.2} ms detection per frame",
            c.conditions, c.width, c.height, c.fps, 100.0 * c.presence_agreement, 100.0 * c.missed, 100.0 * c.false_presence, c.render_ms, c.detect_ms
        );
        let zones: Vec<String> = c
            .zone_agreement
            .iter()
            .map(|(d, a)| format!("{d}: {:.1}", 100.0 * a))
            .collect();
        println!("  per detector (%): {}", zones.join(", "));
    }
    for (t, m) in &report.mode_changes {
        println!("  {t:7.1} s  planner mode: {m}");
    }
    if s.emergency > 0 {
        let n = report.ev_time_to_green_s.len().max(1) as f64;
        let mean = report.ev_time_to_green_s.iter().sum::<f64>() / n;
        let max = report.ev_time_to_green_s.iter().copied().fold(0.0, f64::max);
        println!(
            "  emergency vehicles: {} (time loss {:.1} s); entering approach → green: mean {mean:.1} s, max {max:.1} s",
            s.emergency, s.emergency_time_loss_s
        );
    }
    if opts.transit {
        if let (Ok(b), Ok(c)) = net::read_trip_summary_split(&trip, "bus_") {
            let e = report.tsp_events;
            println!(
                "  buses: {} (time loss {:.1} s), cars: {} (time loss {:.1} s); TSP check-ins {}, early greens {}, extensions {}",
                b.vehicles, b.mean_time_loss_s, c.vehicles, c.mean_time_loss_s, e[0], e[1], e[2]
            );
        }
    }
    if report.faults > 0 {
        return Err(format!("{} monitor faults", report.faults));
    }
    Ok(())
}

/// Runs SUMO alone with a program file (its own controller).
fn run_baseline(
    home: &Path,
    files: &scenario::Files,
    routes: &Path,
    program: &Path,
    seed: u64,
    dir: &Path,
    tag: &str,
) -> Result<(PathBuf, f64), String> {
    let trip = dir.join(format!("{tag}.tripinfo.xml"));
    let mut args = sumo::run_args(
        &files.net,
        &routes.display().to_string(),
        &format!("{},{}", files.additional_arg(), program.display()),
        0.1,
        seed,
        &trip,
    );
    args.extend(["--end".to_string(), "14400".to_string()]);
    let start = std::time::Instant::now();
    let mut p = sumo::SumoProcess::spawn(home, &args, &dir.join(format!("{tag}.sumo.log")))?;
    p.wait(std::time::Duration::from_secs(600))?;
    Ok((trip, start.elapsed().as_secs_f64()))
}

fn bench(args: BenchArgs) -> Result<(), String> {
    if args.own.net.is_some() {
        return bench_own(args);
    }
    let home = sumo::sumo_home()?;
    let site = load_site()?;
    let dir = out_dir(&args.common)?;
    let files = scenario::build_network(&home, &dir.join("net"))?;
    // The site's [sumo] mapping against the generated net before anything runs.
    greenwave_sumo::mapping::check_files(
        &greenwave_sumo::mapping::SumoMap::reference()?,
        &site,
        &files.net,
        &files.additional(),
    )?;
    let links = scenario::links(&files.net)?;
    let which = args.scenario.as_str();
    let all = scenario::demands();
    let chosen: Vec<_> = if which == "all" {
        all.into_iter().collect()
    } else {
        let names: Vec<&str> = which.split(',').collect();
        let v: Vec<_> = all.into_iter().filter(|d| names.contains(&d.name)).collect();
        if v.is_empty() {
            return Err(format!(
                "unknown scenario `{which}` (balanced, unbalanced, peak, peak120, leftheavy, all)"
            ));
        }
        v
    };
    let planners = &args.planners;
    let baselines = &args.baselines;
    let seeds = args.seeds();
    let multi = seeds.len() > 1;
    let mut per_seed = Vec::new();
    for &seed in &seeds {
        if multi {
            eprintln!("seed {seed}");
        }
        let seeded = |tag: String| seeded_tag(tag, seed, multi);
        let mut report = Vec::new();
        for d in &chosen {
            let routes = scenario::write_routes(d, &dir)?;
            let mut res = ScenarioResult {
                name: d.name.to_string(),
                controllers: Vec::new(),
            };
            // SUMO's own controllers on the same phase structure. The fixed-time one is timed by
            // Webster from this demand (fair); actuated / delay_based use the site's min/max greens.
            // The static program keeps the site's phase structure: every protected left every cycle.
            let plan = webster::plan(
                &site.clone().with_protected_lefts_in_fixed_time(),
                &scenario::phase_flows(d),
            );
            let mut green = [0.0; 8];
            let mut min = [0.0; 8];
            let mut maxg = [0.0; 8];
            let mut yellow = [0.0; 8];
            let mut red = [0.0; 8];
            let mut perm = [None; 8];
            for ph in site.phases() {
                let i = ph.id.index();
                perm[i] = ph.permissive.map(|o| o.number());
                green[i] = f64::from(plan.green_ms[i]) / 1000.0;
                min[i] = f64::from(ph.min_green_ms) / 1000.0;
                maxg[i] = f64::from(ph.max_green_ms) / 1000.0;
                yellow[i] = f64::from(ph.yellow_ms) / 1000.0;
                red[i] = f64::from(ph.red_clear_ms) / 1000.0;
            }
            // SUMO's controllers run the site's heads: protected/permissive left turns where the site
            // has flashing-yellow-arrow heads.
            let site_lefts = if perm.iter().any(Option::is_some) {
                scenario::Lefts::ProtectedPermissive(perm)
            } else {
                scenario::Lefts::Protected
            };
            for b in baselines {
                let prog = match b.as_str() {
                "static" => scenario::program(&links, "static", site_lefts, &green, &min, &yellow, &red),
                "actuated" | "delay_based" => scenario::program(&links, b, site_lefts, &maxg, &min, &yellow, &red),
                "actuated_protected" => scenario::program(
                    &links,
                    "actuated",
                    scenario::Lefts::Protected,
                    &maxg,
                    &min,
                    &yellow,
                    &red,
                ),
                "actuated_permissive" => scenario::program(
                    &links,
                    "actuated",
                    scenario::Lefts::PermissiveOnly(perm),
                    &maxg,
                    &min,
                    &yellow,
                    &red,
                ),
                other => {
                    return Err(format!(
                        "unknown baseline `{other}` (static, actuated, delay_based, actuated_protected, actuated_permissive)"
                    ))
                }
            };
                let pf = dir.join(format!("{}-{b}.add.xml", d.name));
                std::fs::write(&pf, prog).map_err(|e| e.to_string())?;
                let tag = seeded(format!("{}-sumo-{b}", d.name));
                let (trip, wall) = run_baseline(&home, &files, &routes, &pf, seed, &dir, &tag)?;
                let s = net::read_trip_summary(&trip)?;
                let name = match b.as_str() {
                    "static" => "sumo static (Webster)".to_string(),
                    "actuated_protected" => "sumo actuated, protected lefts".to_string(),
                    "actuated_permissive" => "sumo actuated, permissive lefts".to_string(),
                    _ => format!("sumo {b}"),
                };
                eprintln!(
                    "{:<11} {:<26} score {:6.1} s",
                    d.name,
                    name,
                    s.mean_time_loss_s + s.mean_depart_delay_s
                );
                res.controllers.push(ControllerResult {
                    name,
                    vehicles: s.vehicles,
                    mean_time_loss_s: s.mean_time_loss_s,
                    mean_depart_delay_s: s.mean_depart_delay_s,
                    mean_waiting_s: s.mean_waiting_s,
                    max_waiting_s: s.max_waiting_s,
                    score_s: s.mean_time_loss_s + s.mean_depart_delay_s,
                    wall_s: wall,
                    steps_per_s: 0.0,
                    greenwave: None,
                    presence_agreement: None,
                });
            }
            let variants: &[bool] = if args.camera.camera { &[false, true] } else { &[false] };
            for (p, cam) in planners.iter().flat_map(|p| variants.iter().map(move |c| (p, *c))) {
                let mut opts = planner_opts(*p, args.common.model.as_deref())?;
                let suffix = if cam { " camera" } else { "" };
                if cam {
                    opts.camera = args.camera.options(seed);
                }
                let tag = seeded(format!("{}-greenwave-{}{}", d.name, p.name(), suffix.replace(' ', "-")));
                let (trip, rep) = bridge::run(
                    &home,
                    &site,
                    &files,
                    std::slice::from_ref(&routes),
                    seed,
                    &dir,
                    &tag,
                    &opts,
                )?;
                let s = net::read_trip_summary(&trip)?;
                eprintln!(
                    "{:<11} {:<26} score {:6.1} s  ({:.0} steps/s)",
                    d.name,
                    format!("greenwave {}{suffix}", p.name()),
                    s.mean_time_loss_s + s.mean_depart_delay_s,
                    rep.steps_per_s
                );
                if let Some(c) = &rep.camera {
                    eprintln!(
                        "{:<11} {:<26} cameras ({}) presence agreement {:.1} %",
                        d.name,
                        "",
                        c.conditions,
                        100.0 * c.presence_agreement
                    );
                }
                if *p == PlannerKind::Learned {
                    let n = (rep.learned_confident + rep.learned_deferred).max(1);
                    eprintln!(
                        "{:<11} {:<26} table decided {:.0} % of {} green-ticks (adaptive the rest)",
                        d.name,
                        "",
                        100.0 * rep.learned_confident as f64 / n as f64,
                        rep.learned_confident + rep.learned_deferred
                    );
                }
                if rep.faults > 0 {
                    return Err(format!("{tag}: {} monitor faults", rep.faults));
                }
                let presence_agreement = rep.camera.as_ref().map(|c| c.presence_agreement);
                res.controllers.push(ControllerResult {
                    name: format!("greenwave {}{suffix}", p.name()),
                    vehicles: s.vehicles,
                    mean_time_loss_s: s.mean_time_loss_s,
                    mean_depart_delay_s: s.mean_depart_delay_s,
                    mean_waiting_s: s.mean_waiting_s,
                    max_waiting_s: s.max_waiting_s,
                    score_s: s.mean_time_loss_s + s.mean_depart_delay_s,
                    wall_s: rep.wall_s,
                    steps_per_s: rep.steps_per_s,
                    greenwave: Some(rep),
                    presence_agreement,
                });
            }
            report.push(res);
        }
        if multi {
            println!("seed {seed}");
        }
        print_table(&report);
        per_seed.push(report);
    }
    let report = if multi {
        let scenarios = own::mean_over_seeds(&per_seed);
        let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
        println!("mean over seeds {}", list.join(", "));
        print_table(&scenarios);
        print_longest(&scenarios);
        let paired = own::paired_vs_sumo(&per_seed, &scenarios);
        own::print_paired(&paired);
        Report {
            scenarios,
            paired,
            seeds: seeds
                .iter()
                .zip(per_seed)
                .map(|(&seed, scenarios)| SeedReport { seed, scenarios })
                .collect(),
        }
    } else {
        if let Some(one) = per_seed.first() {
            print_longest(one);
        }
        Report {
            scenarios: per_seed.into_iter().next().unwrap_or_default(),
            seeds: Vec::new(),
            paired: Vec::new(),
        }
    };
    if let Some(j) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(j, text).map_err(|e| format!("{j}: {e}"))?;
    }
    Ok(())
}

fn print_table(r: &[ScenarioResult]) {
    println!(
        "{:<11} {:<32} {:>8} {:>9} {:>9} {:>9} {:>8} {:>10}",
        "scenario", "controller", "vehicles", "timeloss", "depdelay", "waiting", "score", "vs actuated"
    );
    for s in r {
        let base = s
            .controllers
            .iter()
            .find(|c| c.name == "sumo actuated")
            .map(|c| c.score_s);
        for c in &s.controllers {
            let ratio = base.map(|b| format!("{:.2}x", c.score_s / b)).unwrap_or_default();
            println!(
                "{:<11} {:<32} {:>8} {:>8.1}s {:>8.1}s {:>8.1}s {:>7.1}s {:>10}",
                s.name,
                c.name,
                c.vehicles,
                c.mean_time_loss_s,
                c.mean_depart_delay_s,
                c.mean_waiting_s,
                c.score_s,
                ratio
            );
        }
    }
}

/// The longest any one vehicle stood per demand and controller (over several seeds, in any of
/// them): what a mean hides when one approach is starved.
fn print_longest(r: &[ScenarioResult]) {
    println!("{:<11} {:<32} {:>14}", "scenario", "controller", "longest stand");
    for s in r {
        for c in &s.controllers {
            println!("{:<11} {:<32} {:>13.1}s", s.name, c.name, c.max_waiting_s);
        }
    }
}

/// Bus and car trip means of one run.
#[derive(Serialize)]
struct TransitRun {
    buses: u64,
    bus_time_loss_s: f64,
    cars: u64,
    car_time_loss_s: f64,
    car_depart_delay_s: f64,
    /// Events 112 check-in, 113 early green, 114 green extension, 115 check-out.
    tsp_events: [u64; 4],
}

#[derive(Serialize)]
struct TransitResult {
    scenario: String,
    planner: String,
    headway_s: u32,
    off: TransitRun,
    on: TransitRun,
}

fn transit(args: TransitArgs) -> Result<(), String> {
    let home = sumo::sumo_home()?;
    let site = load_site()?;
    if site.transit.is_none() {
        return Err(format!("{SITE} has no [transit] table: nothing to compare"));
    }
    let dir = out_dir(&args.common)?;
    let files = scenario::build_network(&home, &dir.join("net"))?;
    let seed = args.common.seed;
    let headway = args.headway;
    let demands = args
        .scenario
        .iter()
        .map(|n| scenario::demand(n).ok_or_else(|| format!("unknown scenario `{n}`")))
        .collect::<Result<Vec<_>, _>>()?;
    let planners = if args.planner.is_empty() {
        vec![site.planner]
    } else {
        args.planner.clone()
    };
    let mut results = Vec::new();
    for d in &demands {
        let routes = vec![
            scenario::write_routes(d, &dir)?,
            scenario::write_buses(&dir, d.slice_s * d.slices.len() as u32, headway)?,
        ];
        for p in &planners {
            let mut runs = Vec::new();
            for on in [false, true] {
                let s = if on {
                    site.clone()
                } else {
                    site.clone().without_transit()
                };
                let mut opts = planner_opts(*p, args.common.model.as_deref())?;
                opts.transit = on;
                let tag = format!(
                    "{}-greenwave-{}-tsp-{}",
                    d.name,
                    p.name(),
                    if on { "on" } else { "off" }
                );
                let (trip, rep) = bridge::run(&home, &s, &files, &routes, seed, &dir, &tag, &opts)?;
                if rep.faults > 0 {
                    return Err(format!("{tag}: {} monitor faults", rep.faults));
                }
                let (bus, car) = net::read_trip_summary_split(&trip, "bus_");
                let (bus, car) = (bus?, car?);
                runs.push(TransitRun {
                    buses: bus.vehicles,
                    bus_time_loss_s: bus.mean_time_loss_s,
                    cars: car.vehicles,
                    car_time_loss_s: car.mean_time_loss_s,
                    car_depart_delay_s: car.mean_depart_delay_s,
                    tsp_events: rep.tsp_events,
                });
            }
            let (Some(on), Some(off)) = (runs.pop(), runs.pop()) else {
                return Err("internal: two runs expected".into());
            };
            results.push(TransitResult {
                scenario: d.name.to_string(),
                planner: p.name().to_string(),
                headway_s: headway,
                off,
                on,
            });
        }
    }
    println!(
        "{:<11} {:<9} {:>5} {:>14} {:>14} {:>8} {:>14} {:>14} {:>8} {:>17}",
        "scenario",
        "planner",
        "buses",
        "bus loss off",
        "bus loss on",
        "change",
        "car loss off",
        "car loss on",
        "change",
        "TSP 112/113/114"
    );
    let pct = |off: f64, on: f64| {
        if off > 0.0 {
            format!("{:+.0}%", 100.0 * (on - off) / off)
        } else {
            String::new()
        }
    };
    for r in &results {
        println!(
            "{:<11} {:<9} {:>5} {:>13.1}s {:>13.1}s {:>8} {:>13.1}s {:>13.1}s {:>8} {:>17}",
            r.scenario,
            r.planner,
            r.on.buses,
            r.off.bus_time_loss_s,
            r.on.bus_time_loss_s,
            pct(r.off.bus_time_loss_s, r.on.bus_time_loss_s),
            r.off.car_time_loss_s,
            r.on.car_time_loss_s,
            pct(r.off.car_time_loss_s, r.on.car_time_loss_s),
            format!("{}/{}/{}", r.on.tsp_events[0], r.on.tsp_events[1], r.on.tsp_events[2]),
        );
    }
    if let Some(j) = &args.json {
        let text = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
        std::fs::write(j, text).map_err(|e| format!("{j}: {e}"))?;
    }
    Ok(())
}

/// `greenwave-sumo train`: the `learned` planner's Q-table trained in SUMO (see `train.rs`).
fn train(args: TrainArgs) -> Result<(), String> {
    use greenwave_sumo::train::{self, TrainOptions};
    let out = args.out;
    let home = sumo::sumo_home()?;
    let site = load_site()?;
    let names = args.scenarios.join(",");
    let demands = args
        .scenarios
        .iter()
        .map(|n| {
            scenario::demand(n).ok_or_else(|| {
                format!("unknown scenario `{n}` (balanced, unbalanced, peak, peak120, leftheavy, smoke)")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let start = match &args.start {
        Some(p) => Some(greenwave::plan::learned::QTable::load(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let opts = TrainOptions {
        episodes: args.episodes,
        demands,
        seed: args.seed,
        episode_s: args.episode_s,
        start,
        checkpoint: Some(out.clone()),
        jobs: args.jobs,
        epsilon: args.epsilon,
        ..TrainOptions::default()
    };
    let work = args
        .work
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/sumo-train")));
    let t0 = std::time::Instant::now();
    let table = train::train(&home, &site, &opts, &work, |r| {
        eprintln!(
            "episode {:4} {:<10} seed {:6} from {:4} s  eps {:.3}  decisions {:5} (table {:5})  waiting {:5.1} veh  {:4.1} s",
            r.index, r.demand, r.seed, r.begin_s, r.epsilon, r.decisions, r.from_table, r.mean_waiting, r.wall_s
        );
    })?;
    train::save(&table, &out)?;
    println!(
        "{}: {} episodes ({} this run) of {} s on {names}, {} samples, {} of {} states confident, {:.0} s wall",
        out.display(),
        table.episodes,
        opts.episodes,
        opts.episode_s,
        train::samples(&table),
        train::confident_states(&table),
        greenwave::plan::learned::STATES,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn own_net(a: &own::OwnArgs) -> Result<own::OwnNet, String> {
    let (Some(net), Some(site)) = (&a.net, &a.site) else {
        return Err("an own net needs --net and --site".into());
    };
    own::OwnNet::load(net, &a.additional, site)
}

fn own_spec(
    a: &own::OwnArgs,
    routes: Vec<PathBuf>,
    planner: PlannerKind,
    model: Option<&str>,
    seed: u64,
) -> Result<own::RunSpec, String> {
    Ok(own::RunSpec {
        routes,
        planner: Some(planner),
        model: planner_opts(planner, model)?.model,
        events: None,
        end_s: a.end,
        step_s: a.step_length,
        seed,
        warm: None,
        capture_at_s: None,
        detection_lost: false,
    })
}

/// `run --net`: greenwave on the engineer's own net.
fn run_own(args: RunArgs) -> Result<(), String> {
    let home = sumo::sumo_home()?;
    let net = own_net(&args.own)?;
    let routes: Vec<PathBuf> = args.own.demands()?.into_iter().flat_map(|(_, r)| r).collect();
    let dir = out_dir(&args.common)?;
    let planner = args.planner.unwrap_or(net.site.planner);
    let mut spec = own_spec(
        &args.own,
        routes,
        planner,
        args.common.model.as_deref(),
        args.common.seed,
    )?;
    spec.events = args.events.clone();
    if args.warmup {
        let model = planner_opts(net.site.planner, args.common.model.as_deref())?.model;
        own::warm_up(&home, &net, &mut spec, model, &dir, "own")?;
    }
    let tag = format!("own-greenwave-{}", planner.name());
    let row = own::run_greenwave(&home, &net, &spec, &dir, &tag)?;
    println!(
        "greenwave {}: {} vehicles, time loss {:.1} s, depart delay {:.1} s, waiting {:.1} s, score {:.1} s; {} people, time loss {:.1} s; {} monitor faults",
        planner.name(), row.vehicles, row.mean_time_loss_s, row.mean_depart_delay_s, row.mean_waiting_s, row.score_s,
        row.persons, row.ped_mean_time_loss_s, row.faults
    );
    println!(
        "  longest stand of one vehicle {:.1} s, largest time loss of one person {:.1} s",
        row.max_waiting_s, row.ped_max_time_loss_s
    );
    if let Some(r) = &row.greenwave {
        println!(
            "  {} steps in {:.1} s ({:.0} steps/s), {} events, {} pedestrian button presses",
            r.steps, r.wall_s, r.steps_per_s, r.events, r.ped_presses
        );
    }
    if let Some(j) = &args.json {
        let text = serde_json::to_string_pretty(&row).map_err(|e| e.to_string())?;
        std::fs::write(j, text).map_err(|e| format!("{j}: {e}"))?;
    }
    if row.faults > 0 {
        return Err(format!("{} monitor faults", row.faults));
    }
    Ok(())
}

/// `bench --net`: SUMO's own controllers and greenwave's planners on the engineer's own net.
fn bench_own(args: BenchArgs) -> Result<(), String> {
    let home = sumo::sumo_home()?;
    let net = own_net(&args.own)?;
    eprintln!("{}", net.check()?);
    let dir = out_dir(&args.common)?;
    // The learned planner's table is trained on the reference site: not run here unless asked.
    let default_planners = [
        PlannerKind::Actuated,
        PlannerKind::Adaptive,
        PlannerKind::Learned,
        PlannerKind::Webster,
    ];
    let planners: Vec<PlannerKind> = if args.planners == default_planners {
        vec![PlannerKind::Actuated, PlannerKind::Adaptive, PlannerKind::Webster]
    } else {
        args.planners.clone()
    };
    let seeds = args.seeds();
    let multi = seeds.len() > 1;
    let mut per_seed = Vec::new();
    for &seed in &seeds {
        if multi {
            eprintln!("seed {seed}");
        }
        let seeded = |tag: String| seeded_tag(tag, seed, multi);
        let mut scenarios = Vec::new();
        for (name, routes) in args.own.demands()? {
            let mut rows = own::ScenarioRows {
                name: name.clone(),
                controllers: Vec::new(),
            };
            let spec = own_spec(&args.own, routes, PlannerKind::Actuated, None, seed)?;
            for c in &args.controllers {
                let tag = seeded(format!("{name}-sumo-{c}"));
                match own::run_sumo_controller(&home, &net, c, &spec, &dir, &tag)? {
                    Some(row) => {
                        eprintln!(
                            "{name:<11} {:<34} score {:6.1} s  people {:5.1} s",
                            row.name, row.score_s, row.ped_mean_time_loss_s
                        );
                        rows.controllers.push(row);
                    }
                    None => eprintln!("{name:<11} sumo {c}: netconvert cannot build it for this junction, skipped"),
                }
            }
            for p in &planners {
                let mut spec = own_spec(&args.own, spec.routes.clone(), *p, args.common.model.as_deref(), seed)?;
                let tag = seeded(format!("{name}-greenwave-{}", p.name()));
                let warm = *p == PlannerKind::Webster && !args.no_warmup;
                if warm {
                    let model = planner_opts(net.site.planner, args.common.model.as_deref())?.model;
                    own::warm_up(&home, &net, &mut spec, model, &dir, &seeded(name.clone()))?;
                }
                let mut row = own::run_greenwave(&home, &net, &spec, &dir, &tag)?;
                if warm {
                    row.name = "greenwave webster (fail-safe after warm-up)".to_string();
                }
                eprintln!(
                    "{name:<11} {:<34} score {:6.1} s  people {:5.1} s  ({:.0} steps/s)",
                    row.name, row.score_s, row.ped_mean_time_loss_s, row.steps_per_s
                );
                if row.faults > 0 {
                    return Err(format!("{tag}: {} monitor faults", row.faults));
                }
                rows.controllers.push(row);
            }
            scenarios.push(rows);
        }
        if multi {
            println!("seed {seed}");
        }
        own::print_table(&scenarios);
        per_seed.push(scenarios);
    }
    // Several seeds: the means; one seed: its rows as they are (with greenwave's run reports).
    let mean = if multi {
        own::mean_over_seeds(&per_seed)
    } else {
        per_seed.first().cloned().unwrap_or_default()
    };
    if multi {
        let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
        println!("mean over seeds {}", list.join(", "));
        own::print_table(&mean);
    }
    own::print_longest(&mean);
    let paired = if multi {
        own::paired_vs_sumo(&per_seed, &mean)
    } else {
        Vec::new()
    };
    own::print_paired(&paired);
    if let Some(j) = &args.json {
        #[derive(Serialize)]
        struct SeedRows<'a> {
            seed: u64,
            scenarios: &'a [own::ScenarioRows],
        }
        #[derive(Serialize)]
        struct OwnReport<'a> {
            /// The means over `seeds` (the one seed's rows when only one ran).
            scenarios: &'a [own::ScenarioRows],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            seeds: Vec<SeedRows<'a>>,
            /// Over several seeds: [`own::paired_vs_sumo`]'s comparisons (each greenwave row
            /// against the best SUMO row, the fail-safe also against SUMO's Webster program, people
            /// against SUMO NEMA), paired by seed.
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            paired: &'a [own::Paired],
        }
        let report = OwnReport {
            scenarios: &mean,
            paired: &paired,
            seeds: if multi {
                seeds
                    .iter()
                    .zip(&per_seed)
                    .map(|(&seed, scenarios)| SeedRows { seed, scenarios })
                    .collect()
            } else {
                Vec::new()
            },
        };
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(j, text).map_err(|e| format!("{j}: {e}"))?;
    }
    Ok(())
}
