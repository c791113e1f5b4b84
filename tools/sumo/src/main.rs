//! `greenwave-sumo`: greenwave against Eclipse SUMO.
//!
//! ```text
//! greenwave-sumo bench [--scenario NAME|all] [--json FILE] [--planners actuated,adaptive,...]
//!                      [--baselines static,actuated,delay_based,actuated_protected,actuated_permissive] [--seed N] [--out DIR]
//! greenwave-sumo run --scenario NAME [--planner P] [--events FILE.csv] [--preempt] [--transit]
//!                    [--drop-detection FROM:TO] [--seed N] [--out DIR]
//! greenwave-sumo train --out MODEL.postcard [--episodes N] [--scenarios LIST] [--seed N]
//!                      [--start MODEL] [--episode-s S] [--work DIR] [--jobs N] [--epsilon FIRST:LAST]
//! greenwave-sumo transit [--scenario NAME[,NAME..]] [--planner P[,P..]] [--headway S]
//!                        [--json FILE] [--seed N] [--out DIR]
//! ```
//! `bench`, `run` and `transit` take `--model FILE` for the `learned` planner's table (default
//! `models/learned-nema8.postcard`).
//! `transit` runs each demand plus a bus line (`scenario::write_buses`) twice on the same seed,
//! transit priority off (the site without `[transit]`, no check-ins) and on (the site's
//! `[transit]` limits), and prints bus and car time loss for both.
//! Score = mean time loss + mean depart delay per vehicle (SUMO `--tripinfo-output`), the lower
//! the better; insertion delay counts because queues that spill back to the network edge stop
//! vehicles from entering at all.

use greenwave_sumo::{bridge, scenario, sumo};

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
    score_s: f64,
    wall_s: f64,
    steps_per_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    greenwave: Option<bridge::BridgeReport>,
}

#[derive(Serialize)]
struct ScenarioResult {
    name: String,
    controllers: Vec<ControllerResult>,
}

#[derive(Serialize)]
struct Report {
    scenarios: Vec<ScenarioResult>,
}

struct Args {
    pairs: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Args {
    fn parse(args: &[String], valued: &[&str], switches: &[&str]) -> Result<Args, String> {
        let mut pairs = Vec::new();
        let mut flags = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if switches.contains(&a.as_str()) {
                flags.push(a.clone());
            } else if valued.contains(&a.as_str()) {
                let v = it.next().ok_or_else(|| format!("option `{a}` needs a value"))?;
                pairs.push((a.clone(), v.clone()));
            } else {
                return Err(format!("unknown option `{a}`"));
            }
        }
        Ok(Args { pairs, flags })
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }
    fn has(&self, k: &str) -> bool {
        self.flags.iter().any(|f| f == k)
    }
}

fn main() -> ExitCode {
    let _ = simple_logger::SimpleLogger::new()
        .with_level(log::LevelFilter::Warn)
        .env()
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("bench") => bench(&args[1..]),
        Some("run") => run_one(&args[1..]),
        Some("transit") => transit(&args[1..]),
        Some("train") => train(&args[1..]),
        _ => Err("usage: greenwave-sumo bench [--scenario NAME|all] [--json FILE] [--planners LIST] [--baselines LIST] [--seed N] [--out DIR] [--model FILE]\n       greenwave-sumo run --scenario NAME [--planner P] [--events FILE.csv] [--preempt] [--transit] [--drop-detection FROM:TO] [--seed N] [--out DIR] [--model FILE]\n       greenwave-sumo train --out MODEL.postcard [--episodes N] [--scenarios LIST] [--seed N] [--start MODEL] [--episode-s S] [--work DIR] [--jobs N] [--epsilon FIRST:LAST]\n       greenwave-sumo transit [--scenario NAME[,NAME..]] [--planner P[,P..]] [--headway S] [--json FILE] [--seed N] [--out DIR]".into()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn out_dir(args: &Args) -> Result<PathBuf, String> {
    let d = PathBuf::from(
        args.get("--out")
            .unwrap_or(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/sumo-bench")),
    );
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

fn run_one(a: &[String]) -> Result<(), String> {
    let args = Args::parse(
        a,
        &[
            "--scenario",
            "--planner",
            "--events",
            "--drop-detection",
            "--seed",
            "--out",
            "--model",
        ],
        &["--preempt", "--transit"],
    )?;
    let home = sumo::sumo_home()?;
    let site = load_site()?;
    let name = args.get("--scenario").unwrap_or("balanced");
    let d = scenario::demand(name).ok_or_else(|| format!("unknown scenario `{name}`"))?;
    let dir = out_dir(&args)?;
    let files = scenario::build_network(&home, &dir.join("net"))?;
    let mut routes = vec![scenario::write_routes(&d, &dir)?];
    let planner = match args.get("--planner") {
        Some(p) => parse_planner(p).ok_or_else(|| format!("unknown planner `{p}`"))?,
        None => site.planner,
    };
    let mut opts = planner_opts(planner, args.get("--model"))?;
    opts.events = args.get("--events").map(PathBuf::from);
    opts.preempt = args.has("--preempt");
    if opts.preempt {
        routes.push(scenario::write_emergency(&dir, d.slice_s * d.slices.len() as u32)?);
    }
    opts.transit = args.has("--transit");
    if opts.transit {
        routes.push(scenario::write_buses(&dir, d.slice_s * d.slices.len() as u32, 300)?);
    }
    if let Some(w) = args.get("--drop-detection") {
        let (a, b) = w.split_once(':').ok_or("--drop-detection FROM:TO (seconds)")?;
        opts.drop_detection = Some((a.parse().map_err(|_| "bad FROM")?, b.parse().map_err(|_| "bad TO")?));
    }
    let seed: u64 = args.get("--seed").unwrap_or("42").parse().map_err(|_| "bad --seed")?;
    let (trip, report) = bridge::run(
        &home,
        &site,
        &files,
        &routes,
        seed,
        &dir,
        &format!("{name}-greenwave-{}", planner.name()),
        &opts,
    )?;
    let s = sumo::read_tripinfo(&trip)?;
    println!("scenario {name}, greenwave {}: {} vehicles, time loss {:.1} s, depart delay {:.1} s, waiting {:.1} s, score {:.1} s",
        planner.name(), s.vehicles, s.mean_time_loss_s, s.mean_depart_delay_s, s.mean_waiting_s, s.mean_time_loss_s + s.mean_depart_delay_s);
    println!(
        "  {} steps in {:.1} s ({:.0} steps/s), {} events, {} faults",
        report.steps, report.wall_s, report.steps_per_s, report.events, report.faults
    );
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
        if let (Ok(b), Ok(c)) = sumo::read_tripinfo_split(&trip, "bus_") {
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
        &format!("{},{}", files.detectors.display(), program.display()),
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

fn bench(a: &[String]) -> Result<(), String> {
    let args = Args::parse(
        a,
        &[
            "--scenario",
            "--json",
            "--planners",
            "--baselines",
            "--seed",
            "--out",
            "--model",
        ],
        &[],
    )?;
    let home = sumo::sumo_home()?;
    let site = load_site()?;
    let dir = out_dir(&args)?;
    let files = scenario::build_network(&home, &dir.join("net"))?;
    let links = scenario::links(&files.net)?;
    let seed: u64 = args.get("--seed").unwrap_or("42").parse().map_err(|_| "bad --seed")?;
    let which = args.get("--scenario").unwrap_or("all");
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
    let planners: Vec<PlannerKind> = args
        .get("--planners")
        .unwrap_or("actuated,adaptive,learned,webster")
        .split(',')
        .map(|p| parse_planner(p).ok_or_else(|| format!("unknown planner `{p}`")))
        .collect::<Result<_, _>>()?;
    let baselines: Vec<String> = args
        .get("--baselines")
        .unwrap_or("static,actuated,delay_based,actuated_protected,actuated_permissive")
        .split(',')
        .map(String::from)
        .collect();
    let mut report = Report { scenarios: Vec::new() };
    for d in &chosen {
        let routes = scenario::write_routes(d, &dir)?;
        let mut res = ScenarioResult {
            name: d.name.to_string(),
            controllers: Vec::new(),
        };
        // SUMO's own controllers on the same phase structure. The fixed-time one is timed by
        // Webster from this demand (fair); actuated / delay_based use the site's min/max greens.
        let plan = webster::plan(&site, &scenario::phase_flows(d));
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
        for b in &baselines {
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
            let tag = format!("{}-sumo-{b}", d.name);
            let (trip, wall) = run_baseline(&home, &files, &routes, &pf, seed, &dir, &tag)?;
            let s = sumo::read_tripinfo(&trip)?;
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
                score_s: s.mean_time_loss_s + s.mean_depart_delay_s,
                wall_s: wall,
                steps_per_s: 0.0,
                greenwave: None,
            });
        }
        for p in &planners {
            let opts = planner_opts(*p, args.get("--model"))?;
            let tag = format!("{}-greenwave-{}", d.name, p.name());
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
            let s = sumo::read_tripinfo(&trip)?;
            eprintln!(
                "{:<11} {:<26} score {:6.1} s  ({:.0} steps/s)",
                d.name,
                format!("greenwave {}", p.name()),
                s.mean_time_loss_s + s.mean_depart_delay_s,
                rep.steps_per_s
            );
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
            res.controllers.push(ControllerResult {
                name: format!("greenwave {}", p.name()),
                vehicles: s.vehicles,
                mean_time_loss_s: s.mean_time_loss_s,
                mean_depart_delay_s: s.mean_depart_delay_s,
                mean_waiting_s: s.mean_waiting_s,
                score_s: s.mean_time_loss_s + s.mean_depart_delay_s,
                wall_s: rep.wall_s,
                steps_per_s: rep.steps_per_s,
                greenwave: Some(rep),
            });
        }
        report.scenarios.push(res);
    }
    print_table(&report);
    if let Some(j) = args.get("--json") {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(j, text).map_err(|e| format!("{j}: {e}"))?;
    }
    Ok(())
}

fn print_table(r: &Report) {
    println!(
        "{:<11} {:<32} {:>8} {:>9} {:>9} {:>9} {:>8} {:>10}",
        "scenario", "controller", "vehicles", "timeloss", "depdelay", "waiting", "score", "vs actuated"
    );
    for s in &r.scenarios {
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

fn transit(a: &[String]) -> Result<(), String> {
    let args = Args::parse(
        a,
        &[
            "--scenario",
            "--planner",
            "--headway",
            "--json",
            "--seed",
            "--out",
            "--model",
        ],
        &[],
    )?;
    let home = sumo::sumo_home()?;
    let site = load_site()?;
    if site.transit.is_none() {
        return Err(format!("{SITE} has no [transit] table: nothing to compare"));
    }
    let dir = out_dir(&args)?;
    let files = scenario::build_network(&home, &dir.join("net"))?;
    let seed: u64 = args.get("--seed").unwrap_or("42").parse().map_err(|_| "bad --seed")?;
    let headway: u32 = args
        .get("--headway")
        .unwrap_or("300")
        .parse()
        .ok()
        .filter(|h| *h > 0)
        .ok_or("--headway S: seconds between buses on a line, at least 1")?;
    let demands = args
        .get("--scenario")
        .unwrap_or("balanced")
        .split(',')
        .map(|n| scenario::demand(n).ok_or_else(|| format!("unknown scenario `{n}`")))
        .collect::<Result<Vec<_>, _>>()?;
    let planners = args
        .get("--planner")
        .unwrap_or(site.planner.name())
        .split(',')
        .map(|p| parse_planner(p).ok_or_else(|| format!("unknown planner `{p}`")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut results = Vec::new();
    for d in &demands {
        let routes = vec![
            scenario::write_routes(d, &dir)?,
            scenario::write_buses(&dir, d.slice_s * d.slices.len() as u32, headway)?,
        ];
        for p in &planners {
            let mut runs = Vec::new();
            for on in [false, true] {
                let mut s = site.clone();
                if !on {
                    s.transit = None;
                }
                let mut opts = planner_opts(*p, args.get("--model"))?;
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
                let (bus, car) = sumo::read_tripinfo_split(&trip, "bus_");
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
    if let Some(j) = args.get("--json") {
        let text = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
        std::fs::write(j, text).map_err(|e| format!("{j}: {e}"))?;
    }
    Ok(())
}

/// `greenwave-sumo train`: the `learned` planner's Q-table trained in SUMO (see `train.rs`).
fn train(a: &[String]) -> Result<(), String> {
    use greenwave_sumo::train::{self, TrainOptions};
    let args = Args::parse(
        a,
        &[
            "--out",
            "--episodes",
            "--scenarios",
            "--seed",
            "--start",
            "--episode-s",
            "--work",
            "--jobs",
            "--epsilon",
        ],
        &[],
    )?;
    let out = PathBuf::from(args.get("--out").ok_or("missing `--out MODEL.postcard`")?);
    let home = sumo::sumo_home()?;
    let site = load_site()?;
    let names = args.get("--scenarios").unwrap_or("balanced,unbalanced,peak");
    let demands = names
        .split(',')
        .map(|n| {
            scenario::demand(n).ok_or_else(|| {
                format!("unknown scenario `{n}` (balanced, unbalanced, peak, peak120, leftheavy, smoke)")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let start = match args.get("--start") {
        Some(p) => Some(greenwave::plan::learned::QTable::load(Path::new(p)).map_err(|e| e.to_string())?),
        None => None,
    };
    let opts = TrainOptions {
        episodes: args
            .get("--episodes")
            .unwrap_or("100")
            .parse()
            .map_err(|_| "bad --episodes")?,
        demands,
        seed: args.get("--seed").unwrap_or("1").parse().map_err(|_| "bad --seed")?,
        episode_s: args
            .get("--episode-s")
            .unwrap_or("1800")
            .parse()
            .map_err(|_| "bad --episode-s")?,
        start,
        checkpoint: Some(out.clone()),
        jobs: args.get("--jobs").unwrap_or("1").parse().map_err(|_| "bad --jobs")?,
        epsilon: match args.get("--epsilon") {
            Some(e) => {
                let bad = || format!("bad --epsilon `{e}`: FIRST:LAST exploration rates in 0..1, e.g. 0.2:0.05");
                let (a, b) = e.split_once(':').ok_or_else(bad)?;
                let (a, b): (f64, f64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if !(0.0..=1.0).contains(&a) || !(0.0..=1.0).contains(&b) {
                    return Err(bad());
                }
                (a, b)
            }
            None => (0.2, 0.05),
        },
        ..TrainOptions::default()
    };
    let work = PathBuf::from(
        args.get("--work")
            .unwrap_or(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/sumo-train")),
    );
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
