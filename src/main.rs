//! `greenwave` command line: thin by design (STYLE.md 4) — parse arguments, load and validate the
//! site, build the hardware, hand over to the runtime.

use greenwave::config::Site;
use greenwave::plan::webster;
use greenwave::runtime::realtime::Signals;
use greenwave::runtime::sim::{run_sim, SimOptions, Speed};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
greenwave — adaptive traffic-signal controller

USAGE:
  greenwave check --site FILE
      Validate a site file; print derived timings and the Webster plan. Exit 1 on a bad file.
  greenwave sim --site FILE [--duration SECS] [--speed max|FACTOR] [--seed N]
                [--events FILE.csv] [--volumes SCALE] [--planner actuated|adaptive|webster]
      Run the controller (engine, monitor, planner, loop) on the simulated intersection.
      Defaults: --duration 3600 --speed max --seed 1 --volumes 1.0
  greenwave help
";

fn main() -> ExitCode {
    let _ = simple_logger::SimpleLogger::new()
        .with_level(log::LevelFilter::Info)
        .env()
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "check" => check(rest),
        "sim" => sim(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
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
    let flags = Flags::parse(args, &["--site"])?;
    let (path, site) = load_site(&flags)?;
    println!(
        "{}: OK — site \"{}\", device {}, {} phases, {} detectors",
        path.display(),
        site.name,
        site.device_id,
        site.phases().count(),
        site.detectors.iter().flatten().count()
    );
    println!();
    println!("phase  name                  min   max  pass  yellow  red clr  walk  ped clr");
    for ph in site.phases() {
        let (walk, pclr) = match ph.ped {
            Some(p) => (
                format!("{:5.1}", p.walk_ms as f64 / 1000.0),
                format!("{:7.1}", p.clearance_ms as f64 / 1000.0),
            ),
            None => ("    -".into(), "      -".into()),
        };
        println!(
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
    println!();
    let c0 = if plan.c0_s.is_finite() {
        format!("{:.1} s", plan.c0_s)
    } else {
        "oversaturated".into()
    };
    println!(
        "Webster plan (design volumes): Y = {:.3}, L = {:.1} s, C0 = {c0}, cycle run = {:.1} s",
        plan.y_total,
        plan.lost_ms as f64 / 1000.0,
        plan.cycle_ms as f64 / 1000.0
    );
    for ph in site.phases() {
        println!(
            "  phase {} green {:5.1} s  (y = {:.3})",
            ph.id.number(),
            plan.green(ph.id) as f64 / 1000.0,
            plan.y[ph.id.index()]
        );
    }
    Ok(())
}

fn sim(args: &[String]) -> Result<(), String> {
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
    let opts = SimOptions {
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
    };
    let signals = Signals::register().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    if matches!(speed, Speed::Factor(_)) {
        greenwave::runtime::realtime::setup_realtime(50);
    }
    let summary = run_sim(&site, &opts, &signals)?;
    println!("{summary}");
    if let Some(p) = &opts.events {
        println!("event log         {}", p.display());
    }
    Ok(())
}
