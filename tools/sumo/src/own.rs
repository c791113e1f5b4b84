//! The engineer's own intersection: `check`, `run` and `bench` on a SUMO net the tool did not
//! generate, through the site file's `[sumo]` mapping ([`crate::mapping`]).
//!
//! `bench` runs SUMO's own controllers on the same net at the same step length as greenwave:
//! `static` (the program the net has), `webster` (SUMO's `tools/tlsCycleAdaptation.py` timing from
//! the demand: Webster 1958), and `actuated`, `delay_based` and `nema` (netconvert rebuilding the
//! traffic light with `--tls.rebuild --tls.default-type`; a type netconvert cannot build for this
//! junction is reported and skipped), then greenwave's planners. Score = mean time loss + mean
//! depart delay per vehicle; people's mean time loss alongside.

use crate::bridge::{self, BridgeOptions, BridgeReport};
use crate::mapping::{self, SumoMap};
use crate::net::{self, TripSummary};
use crate::scenario::Files;
use crate::sumo::{self, SumoProcess};
use greenwave::config::{PlannerKind, Site};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// SUMO's controllers `bench` can run on an own net.
pub const SUMO_CONTROLLERS: [&str; 5] = ["static", "webster", "actuated", "delay_based", "nema"];

/// An own net: the net, its additional files (detectors among them) and the site file.
#[derive(Clone, Debug)]
pub struct OwnNet {
    pub net: PathBuf,
    pub additional: Vec<PathBuf>,
    pub site_file: PathBuf,
    pub site: Site,
    pub map: SumoMap,
}

impl OwnNet {
    pub fn load(net: &Path, additional: &[PathBuf], site_file: &Path) -> Result<OwnNet, String> {
        let site = Site::load(site_file).map_err(|e| e.to_string())?;
        let map = SumoMap::load(site_file)?;
        Ok(OwnNet {
            net: net.to_path_buf(),
            additional: additional.to_vec(),
            site_file: site_file.to_path_buf(),
            site,
            map,
        })
    }

    /// Checks the mapping against the net; a one-line summary when it fits.
    pub fn check(&self) -> Result<String, String> {
        let tls = mapping::check_files(&self.map, &self.site, &self.net, &self.additional)?;
        let crossings = tls.links.iter().filter(|l| l.crossing).count();
        Ok(format!(
            "{}: traffic light `{}` (junction `{}`), {} links ({} crossings), {} vehicle phases, {} pedestrian phases, {} detector channels, {} dark links: the mapping fits, no conflicting greens",
            self.site_file.display(),
            tls.id,
            tls.junction,
            tls.links.len(),
            crossings,
            self.map.phase.len(),
            self.map.ped.len(),
            self.map.detector.len(),
            self.map.dark_links.len()
        ))
    }

    fn files(&self, dir: &Path) -> Result<Files, String> {
        let mut add = self.additional.iter();
        let detectors = add
            .next()
            .cloned()
            .ok_or("give the detectors' additional file with --additional")?;
        Ok(Files {
            dir: dir.to_path_buf(),
            net: self.net.clone(),
            detectors,
            extra: add.cloned().collect(),
        })
    }
}

/// One row of the bench table / JSON: the reference bench's keys plus people and faults.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub vehicles: u64,
    pub mean_time_loss_s: f64,
    pub mean_depart_delay_s: f64,
    pub mean_waiting_s: f64,
    /// The longest any one vehicle stood (SUMO `waitingTime`), s; over several seeds the longest
    /// in any of them.
    pub max_waiting_s: f64,
    pub score_s: f64,
    pub wall_s: f64,
    pub steps_per_s: f64,
    pub persons: u64,
    pub ped_mean_time_loss_s: f64,
    /// The largest time loss of any one person, s; over several seeds the largest in any of them.
    pub ped_max_time_loss_s: f64,
    /// Conflict-monitor faults (greenwave rows; SUMO's controllers have no monitor).
    pub faults: u32,
    /// Vehicles SUMO teleported out of a deadlock (a vehicle stuck in the junction yielding to
    /// people and crossing traffic for its `--time-to-teleport`): their time loss is real, but it
    /// is the simulator's deadlock, so the row says how many.
    pub teleports: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greenwave: Option<BridgeReport>,
}

impl Row {
    fn new(name: String, s: &TripSummary, wall_s: f64) -> Row {
        Row {
            name,
            vehicles: s.vehicles,
            mean_time_loss_s: s.mean_time_loss_s,
            mean_depart_delay_s: s.mean_depart_delay_s,
            mean_waiting_s: s.mean_waiting_s,
            max_waiting_s: s.max_waiting_s,
            score_s: s.score_s(),
            wall_s,
            steps_per_s: 0.0,
            persons: s.persons,
            ped_mean_time_loss_s: s.ped_mean_time_loss_s,
            ped_max_time_loss_s: s.ped_max_time_loss_s,
            faults: 0,
            teleports: 0,
            greenwave: None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioRows {
    pub name: String,
    pub controllers: Vec<Row>,
}

/// One controller's row of a bench, averaged over seeds by [`mean_over_seeds`].
pub trait SeedRow: Sized {
    fn name(&self) -> &str;
    /// The row of the same controller over the seeds (`rows` is never empty).
    fn mean(rows: &[&Self]) -> Self;
    /// Mean time loss + mean depart delay per vehicle, s.
    fn score_s(&self) -> f64;
    /// People's mean time loss, s, where the bench has people.
    fn ped_loss_s(&self) -> Option<f64> {
        None
    }
}

/// One demand's rows of a bench.
pub trait SeedScenario: Sized {
    type Row: SeedRow;
    fn name(&self) -> &str;
    fn rows(&self) -> &[Self::Row];
    fn with_rows(name: String, rows: Vec<Self::Row>) -> Self;
}

/// The mean of the same bench over several seeds (each seed one draw of the random demand): per
/// demand and controller, in the first seed's order, the row [`SeedRow::mean`] makes of that
/// controller's rows. A row is kept only where every seed has it.
pub fn mean_over_seeds<S: SeedScenario>(per_seed: &[Vec<S>]) -> Vec<S> {
    let Some(first) = per_seed.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|scenario| {
            let rows = scenario
                .rows()
                .iter()
                .filter_map(|c| {
                    let same: Vec<&S::Row> = per_seed
                        .iter()
                        .filter_map(|run| {
                            run.iter()
                                .find(|s| s.name() == scenario.name())
                                .and_then(|s| s.rows().iter().find(|r| r.name() == c.name()))
                        })
                        .collect();
                    (same.len() == per_seed.len()).then(|| S::Row::mean(&same))
                })
                .collect();
            S::with_rows(scenario.name().to_string(), rows)
        })
        .collect()
}

/// Two-sided 95 % quantiles of Student's t for 1 to 30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// The two-sided 95 % quantile of Student's t with `df` degrees of freedom (`df` ≥ 1); above 30
/// the Cornish–Fisher expansion to the second order, z + (z³ + z) / 4ν + (5z⁵ + 16z³ + 3z) / 96ν²
/// (Abramowitz & Stegun 26.7.5), within 0.001 of the exact value there.
pub fn t95(df: usize) -> f64 {
    match T95.get(df.wrapping_sub(1)) {
        Some(t) => *t,
        None => {
            let z: f64 = 1.959_964;
            let v = df.max(1) as f64;
            z + (z.powi(3) + z) / (4.0 * v) + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
        }
    }
}

/// What a paired comparison compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Vehicles: mean time loss + mean depart delay.
    Score,
    /// People's mean time loss.
    People,
}

impl core::fmt::Display for Metric {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.pad(match self {
            Metric::Score => "score",
            Metric::People => "people",
        })
    }
}

/// One greenwave controller against a SUMO controller over the same seeds (the same demand draws):
/// the ratio of the two means with a 95 % interval from the paired per-seed differences.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Paired {
    pub scenario: String,
    pub controller: String,
    pub metric: Metric,
    pub against: String,
    pub seeds: usize,
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
}

/// The ratio of means `Σg / Σb` of paired per-seed values with its 95 % interval: Student's t on
/// the differences `g − b` (n − 1 degrees of freedom), divided by the baseline's mean. Pairing
/// removes what a seed's demand draw does to both controllers alike, which is most of the spread
/// between seeds. The lower end is held at 0 (a delay ratio is not negative). `None` for fewer
/// than two pairs or a baseline mean of zero.
pub fn paired_ratio(pairs: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    let n = pairs.len();
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let mean_g = pairs.iter().map(|p| p.0).sum::<f64>() / nf;
    let mean_b = pairs.iter().map(|p| p.1).sum::<f64>() / nf;
    if mean_b.abs() < 1e-9 {
        return None;
    }
    let mean_d = mean_g - mean_b;
    let var_d = pairs.iter().map(|p| (p.0 - p.1 - mean_d).powi(2)).sum::<f64>() / (nf - 1.0);
    let half = t95(n - 1) * (var_d / nf).sqrt() / mean_b;
    let ratio = mean_g / mean_b;
    Some((ratio, (ratio - half).max(0.0), ratio + half))
}

/// Every greenwave row of a multi-seed bench paired against the SUMO controller with the best mean
/// score of its demand (`score`); greenwave's `webster` (the fail-safe) also against SUMO's
/// Webster-timed program; and, where the bench has people and a `sumo nema` row, people's time
/// loss against NEMA's (`people`): the comparisons the bench's targets are set on.
pub fn paired_vs_sumo<S: SeedScenario>(per_seed: &[Vec<S>], means: &[S]) -> Vec<Paired> {
    let mut out = Vec::new();
    for scenario in means {
        let best = scenario
            .rows()
            .iter()
            .filter(|r| r.name().starts_with("sumo"))
            .min_by(|a, b| a.score_s().total_cmp(&b.score_s()));
        let nema = scenario.rows().iter().find(|r| r.name() == "sumo nema");
        let row = |run: &[S], name: &str| -> Option<(f64, Option<f64>)> {
            let r = run
                .iter()
                .find(|s| s.name() == scenario.name())?
                .rows()
                .iter()
                .find(|r| r.name() == name)?;
            Some((r.score_s(), r.ped_loss_s()))
        };
        let webster = scenario.rows().iter().find(|r| r.name().starts_with("sumo webster"));
        for g in scenario.rows().iter().filter(|r| r.name().starts_with("greenwave")) {
            // The fail-safe is also held against SUMO's Webster-timed program, where that is not
            // the best already.
            let fixed = webster
                .filter(|w| g.name().starts_with("greenwave webster") && best.is_some_and(|b| b.name() != w.name()));
            let comparisons = [(Metric::Score, best), (Metric::Score, fixed), (Metric::People, nema)];
            for (metric, against) in comparisons {
                let Some(against) = against else { continue };
                let pairs: Vec<(f64, f64)> = per_seed
                    .iter()
                    .filter_map(|run| {
                        let (gs, gp) = row(run, g.name())?;
                        let (bs, bp) = row(run, against.name())?;
                        match metric {
                            Metric::Score => Some((gs, bs)),
                            Metric::People => Some((gp?, bp?)),
                        }
                    })
                    .collect();
                if pairs.len() != per_seed.len() {
                    continue;
                }
                if let Some((ratio, low, high)) = paired_ratio(&pairs) {
                    out.push(Paired {
                        scenario: scenario.name().to_string(),
                        controller: g.name().to_string(),
                        metric,
                        against: against.name().to_string(),
                        seeds: pairs.len(),
                        ratio,
                        low,
                        high,
                    });
                }
            }
        }
    }
    out
}

/// Prints [`paired_vs_sumo`]'s comparisons under the table of the means.
pub fn print_paired(paired: &[Paired]) {
    if paired.is_empty() {
        return;
    }
    println!("paired over the seeds (ratio of means, 95 % interval from the per-seed differences):");
    for p in paired {
        println!(
            "{:<11} {:<32} {:<6} vs {:<34} {:.2}x [{:.2}, {:.2}]",
            p.scenario, p.controller, p.metric, p.against, p.ratio, p.low, p.high
        );
    }
}

/// The mean of the per-seed values of one field.
pub fn field_mean<R>(rows: &[&R], f: impl Fn(&R) -> f64) -> f64 {
    rows.iter().map(|r| f(r)).sum::<f64>() / rows.len().max(1) as f64
}

impl SeedRow for Row {
    fn name(&self) -> &str {
        &self.name
    }

    /// Means of the per-seed means (time loss, depart delay, waiting, score, people's time loss;
    /// vehicles and people rounded), the longest waits of any seed, total wall time, monitor
    /// faults and teleported vehicles.
    fn mean(rows: &[&Row]) -> Row {
        let mean = |f: fn(&Row) -> f64| field_mean(rows, f);
        Row {
            name: rows.first().map(|r| r.name.clone()).unwrap_or_default(),
            vehicles: mean(|r| r.vehicles as f64).round() as u64,
            mean_time_loss_s: mean(|r| r.mean_time_loss_s),
            mean_depart_delay_s: mean(|r| r.mean_depart_delay_s),
            mean_waiting_s: mean(|r| r.mean_waiting_s),
            max_waiting_s: rows.iter().map(|r| r.max_waiting_s).fold(0.0, f64::max),
            score_s: mean(|r| r.score_s),
            wall_s: rows.iter().map(|r| r.wall_s).sum(),
            steps_per_s: mean(|r| r.steps_per_s),
            persons: mean(|r| r.persons as f64).round() as u64,
            ped_mean_time_loss_s: mean(|r| r.ped_mean_time_loss_s),
            ped_max_time_loss_s: rows.iter().map(|r| r.ped_max_time_loss_s).fold(0.0, f64::max),
            faults: rows.iter().map(|r| r.faults).sum(),
            teleports: rows.iter().map(|r| r.teleports).sum(),
            greenwave: None,
        }
    }

    fn score_s(&self) -> f64 {
        self.score_s
    }

    fn ped_loss_s(&self) -> Option<f64> {
        (self.persons > 0).then_some(self.ped_mean_time_loss_s)
    }
}

impl SeedScenario for ScenarioRows {
    type Row = Row;
    fn name(&self) -> &str {
        &self.name
    }
    fn rows(&self) -> &[Row] {
        &self.controllers
    }
    fn with_rows(name: String, controllers: Vec<Row>) -> Self {
        ScenarioRows { name, controllers }
    }
}

/// What a greenwave run on an own net takes besides the net.
#[derive(Clone, Debug, Default)]
pub struct RunSpec {
    pub routes: Vec<PathBuf>,
    pub planner: Option<PlannerKind>,
    pub model: Option<greenwave::plan::learned::QTable>,
    pub events: Option<PathBuf>,
    pub end_s: Option<u32>,
    pub step_s: f64,
    pub seed: u64,
    /// Start from this learned state ([`BridgeOptions::warm`]).
    pub warm: Option<bridge::WarmState>,
    /// Keep the learned state at this second ([`BridgeOptions::capture_at_s`]).
    pub capture_at_s: Option<f64>,
    /// Detection is lost for the whole run: the planner runs its fail-safe on what it learned.
    pub detection_lost: bool,
}

fn step_ms(step_s: f64) -> Result<u32, String> {
    let ms = (step_s * 1000.0).round();
    if !(1.0..=1000.0).contains(&ms) || (ms / 1000.0 - step_s).abs() > 1e-9 {
        return Err(format!(
            "step length {step_s} s: give whole milliseconds from 0.001 to 1"
        ));
    }
    Ok(ms as u32)
}

/// greenwave drives the own net (the mapping is checked first): the trip means, the people's
/// time loss and the bridge's report.
pub fn run_greenwave(home: &Path, own: &OwnNet, spec: &RunSpec, dir: &Path, tag: &str) -> Result<Row, String> {
    own.check()?;
    let files = own.files(dir)?;
    let opts = BridgeOptions {
        planner: spec.planner,
        model: spec.model.clone(),
        events: spec.events.clone(),
        step_ms: step_ms(spec.step_s)?,
        map: Some(own.map.clone()),
        end_s: spec.end_s,
        warm: spec.warm.clone(),
        capture_at_s: spec.capture_at_s,
        drop_detection: spec.detection_lost.then_some((0, u64::MAX)),
        ..BridgeOptions::default()
    };
    let (trip, rep) = bridge::run(home, &own.site, &files, &spec.routes, spec.seed, dir, tag, &opts)?;
    let s = net::read_trip_summary(&trip)?;
    let planner = spec.planner.unwrap_or(own.site.planner);
    let mut row = Row::new(format!("greenwave {}", planner.name()), &s, rep.wall_s);
    row.steps_per_s = rep.steps_per_s;
    row.faults = rep.faults;
    row.teleports = teleports(&dir.join(format!("{tag}.sumo.log")));
    row.greenwave = Some(rep);
    Ok(row)
}

/// The warm-up before a fail-safe run ([`RunSpec::warm`]): `spec`'s demand runs once under the
/// site's planner (adaptive if the site runs Webster) with trusted detection, the learned state is
/// kept as it stands when the demand ends, and `spec` becomes a run from that state with detection
/// lost from the start.
pub fn warm_up(
    home: &Path,
    own: &OwnNet,
    spec: &mut RunSpec,
    model: Option<greenwave::plan::learned::QTable>,
    dir: &Path,
    name: &str,
) -> Result<(), String> {
    let planner = match own.site.planner {
        PlannerKind::Webster => PlannerKind::Adaptive,
        other => other,
    };
    let w = RunSpec {
        routes: spec.routes.clone(),
        planner: Some(planner),
        model,
        events: None,
        end_s: spec.end_s,
        step_s: spec.step_s,
        seed: spec.seed,
        warm: None,
        capture_at_s: Some(demand_end_s(&spec.routes)?),
        detection_lost: false,
    };
    let row = run_greenwave(home, own, &w, dir, &format!("{name}-warmup"))?;
    let state = row.greenwave.as_ref().and_then(|r| r.warm.clone());
    eprintln!(
        "{name:<11} warm-up ({}, trusted detection until {:.0} s): {}",
        planner.name(),
        w.capture_at_s.unwrap_or(0.0),
        state.as_ref().map_or("nothing learned".to_string(), |s| {
            let per_phase = |v: &[f32], unit: &str| {
                own.site
                    .phases()
                    .map(|ph| format!("{} {:.0}", ph.id.number(), v.get(ph.id.index()).copied().unwrap_or(0.0)))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + unit
            };
            let design = s.hour.design(&s.flows_vph);
            let sat = greenwave::plan::saturation::for_plan(&s.saturation_vphpl, &s.saturation_cycles);
            let plan = greenwave::plan::webster::plan_with(&own.site, &design, &sat);
            let greens: Vec<f32> = plan.green_ms.iter().map(|g| *g as f32).collect();
            format!(
                "flows {}; flows of the last hour {}; saturation flows measured {}; \
                 the fail-safe plan: designed on {}, cycle {:.1} s, greens {}",
                per_phase(&s.flows_vph, " veh/h"),
                per_phase(&s.hour.hour_vph(), " veh/h"),
                per_phase(&s.saturation_vphpl, " veh/h/lane (0 = design value)"),
                per_phase(&design, " veh/h"),
                plan.cycle_ms as f32 / 1000.0,
                per_phase(&greens.iter().map(|g| g / 1000.0).collect::<Vec<_>>(), " s")
            )
        })
    );
    spec.warm = state;
    spec.detection_lost = true;
    Ok(())
}

/// The last second at which the demand in `routes` still sends a vehicle or person: the latest
/// `end` of a `flow` / `personFlow` and `depart` of a `vehicle`, `trip` or `person`.
pub fn demand_end_s(routes: &[PathBuf]) -> Result<f64, String> {
    let mut end: Option<f64> = None;
    for r in routes {
        let text = std::fs::read_to_string(r).map_err(|e| format!("{}: {e}", r.display()))?;
        let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: {e}", r.display()))?;
        for n in doc.descendants().filter(|n| n.is_element()) {
            let attr = match n.tag_name().name() {
                "flow" | "personFlow" => "end",
                "vehicle" | "trip" | "person" => "depart",
                _ => continue,
            };
            if let Some(t) = n.attribute(attr).and_then(|v| v.parse::<f64>().ok()) {
                end = Some(end.map_or(t, |e: f64| e.max(t)));
            }
        }
    }
    end.ok_or_else(|| "the demand has no timed flow, vehicle, trip or person".to_string())
}

/// Vehicles SUMO teleported in a run, from its log (0 when the log cannot be read).
pub fn teleports(log: &Path) -> u64 {
    std::fs::read_to_string(log)
        .map(|t| t.lines().filter(|l| l.contains("Teleporting vehicle")).count() as u64)
        .unwrap_or(0)
}

fn join(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs one of SUMO's own controllers ([`SUMO_CONTROLLERS`]) on the own net. `Ok(None)` when
/// netconvert cannot build that controller for this junction.
pub fn run_sumo_controller(
    home: &Path,
    own: &OwnNet,
    kind: &str,
    spec: &RunSpec,
    dir: &Path,
    tag: &str,
) -> Result<Option<Row>, String> {
    let mut net = own.net.clone();
    let mut additional = own.additional.clone();
    let name;
    match kind {
        "static" => name = "sumo static (net's program)".to_string(),
        "webster" => {
            // tlsCycleAdaptation.py counts `<vehicle>`s with routes: duarouter expands the
            // demand's flows into routed vehicles first (its own draw of the same rates).
            let routed = dir.join(format!("{tag}.vehicles.rou.xml"));
            let out = Command::new(home.join("bin/duarouter"))
                .arg("-n")
                .arg(&own.net)
                .arg("-r")
                .arg(join(&spec.routes))
                .arg("-o")
                .arg(&routed)
                .args(["--seed", &spec.seed.to_string(), "--no-step-log", "true"])
                .env("SUMO_HOME", home)
                .output()
                .map_err(|e| format!("cannot run duarouter: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "duarouter failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            let prog = dir.join(format!("{tag}.add.xml"));
            crate::sumo::run_tool(
                home,
                Command::new("python3")
                    .arg(home.join("tools/tlsCycleAdaptation.py"))
                    .arg("-n")
                    .arg(&own.net)
                    .arg("-r")
                    .arg(&routed)
                    .arg("-o")
                    .arg(&prog),
                "tlsCycleAdaptation.py",
            )?;
            let text = std::fs::read_to_string(&prog).map_err(|e| format!("{}: {e}", prog.display()))?;
            if !text.contains("<tlLogic") {
                return Err(format!(
                    "tlsCycleAdaptation.py wrote no program for `{}` ({}): no vehicle of the demand passes it?",
                    own.map.tls,
                    prog.display()
                ));
            }
            additional.push(prog);
            name = "sumo webster (tlsCycleAdaptation)".to_string();
        }
        "actuated" | "delay_based" | "nema" => {
            let t = if kind == "nema" { "NEMA" } else { kind };
            let rebuilt = dir.join(format!("{tag}.net.xml"));
            let out = Command::new(home.join("bin/netconvert"))
                .arg("-s")
                .arg(&own.net)
                .args(["--tls.rebuild", "--tls.default-type", t, "-o"])
                .arg(&rebuilt)
                .env("SUMO_HOME", home)
                .output()
                .map_err(|e| format!("cannot run netconvert: {e}"))?;
            if !out.status.success() {
                log::warn!(
                    "netconvert cannot build a {t} program for this junction: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                return Ok(None);
            }
            net = rebuilt;
            name = format!("sumo {kind}");
        }
        other => {
            return Err(format!(
                "unknown SUMO controller `{other}` ({})",
                SUMO_CONTROLLERS.join(", ")
            ))
        }
    }
    let trip = dir.join(format!("{tag}.tripinfo.xml"));
    let mut args = sumo::run_args(
        &net,
        &join(&spec.routes),
        &join(&additional),
        spec.step_s,
        spec.seed,
        &trip,
    );
    if let Some(e) = spec.end_s {
        args.extend(["--end".to_string(), e.to_string()]);
    }
    let start = std::time::Instant::now();
    let mut p = SumoProcess::spawn(home, &args, &dir.join(format!("{tag}.sumo.log")))?;
    p.wait(std::time::Duration::from_secs(1800))?;
    let s = net::read_trip_summary(&trip)?;
    let mut row = Row::new(name, &s, start.elapsed().as_secs_f64());
    row.teleports = teleports(&dir.join(format!("{tag}.sumo.log")));
    Ok(Some(row))
}

/// The bench table: the reference bench's columns plus people.
pub fn print_table(scenarios: &[ScenarioRows]) {
    println!(
        "{:<11} {:<44} {:>8} {:>9} {:>9} {:>9} {:>8} {:>7} {:>9} {:>8} {:>5}",
        "scenario",
        "controller",
        "vehicles",
        "timeloss",
        "depdelay",
        "waiting",
        "score",
        "persons",
        "ped loss",
        "vs best",
        "tele"
    );
    for s in scenarios {
        let best = s
            .controllers
            .iter()
            .filter(|c| c.name.starts_with("sumo"))
            .map(|c| c.score_s)
            .fold(f64::INFINITY, f64::min);
        for c in &s.controllers {
            let ratio = if best.is_finite() {
                format!("{:.2}x", c.score_s / best)
            } else {
                String::new()
            };
            println!(
                "{:<11} {:<44} {:>8} {:>8.1}s {:>8.1}s {:>8.1}s {:>7.1}s {:>7} {:>8.1}s {:>8} {:>5}",
                s.name,
                c.name,
                c.vehicles,
                c.mean_time_loss_s,
                c.mean_depart_delay_s,
                c.mean_waiting_s,
                c.score_s,
                c.persons,
                c.ped_mean_time_loss_s,
                ratio,
                c.teleports
            );
        }
    }
}

/// The longest single waits behind the table's means: a controller that starves one approach or
/// one crosswalk can keep a good mean, so the bench shows the longest any one vehicle stood
/// (SUMO `waitingTime`) and the largest time loss of any one person, per demand and controller.
pub fn print_longest(scenarios: &[ScenarioRows]) {
    println!(
        "{:<11} {:<44} {:>14} {:>14}",
        "scenario", "controller", "longest stand", "longest person"
    );
    for s in scenarios {
        for c in &s.controllers {
            let person = if c.persons > 0 {
                format!("{:.1}s", c.ped_max_time_loss_s)
            } else {
                "-".to_string()
            };
            println!(
                "{:<11} {:<44} {:>13.1}s {:>14}",
                s.name, c.name, c.max_waiting_s, person
            );
        }
    }
}

/// The command-line options of an own net (`run`, `bench`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct OwnArgs {
    /// Your own SUMO net (.net.xml): the site file's `[sumo]` table maps its traffic light.
    #[arg(long, value_name = "NET", requires = "site")]
    pub net: Option<PathBuf>,
    /// Routes (vehicles and people) of one demand, comma-separated; `bench`: repeat the option
    /// for more demands.
    #[arg(long, value_name = "R[,R..]", requires = "net")]
    pub routes: Vec<String>,
    /// Additional files, comma-separated, the detectors among them.
    #[arg(long, value_name = "A[,A..]", value_delimiter = ',', requires = "net")]
    pub additional: Vec<PathBuf>,
    /// The site file with the `[sumo]` table for --net (the reference scenarios use
    /// board/sites/nema8-4leg.toml).
    #[arg(long, value_name = "SITE", requires = "net")]
    pub site: Option<PathBuf>,
    /// Stop at this simulated second [default: when every vehicle and person has arrived].
    #[arg(long, value_name = "S", requires = "net")]
    pub end: Option<u32>,
    /// SUMO's step length in seconds; greenwave ticks at it and SUMO's controllers run at it.
    #[arg(long, value_name = "S", default_value_t = 0.1, requires = "net")]
    pub step_length: f64,
}

impl OwnArgs {
    /// The demands: one per `--routes` option, each a list of files.
    pub fn demands(&self) -> Result<Vec<(String, Vec<PathBuf>)>, String> {
        if self.routes.is_empty() {
            return Err("give the demand with --routes R[,R..]".into());
        }
        Ok(self
            .routes
            .iter()
            .map(|r| {
                let files: Vec<PathBuf> = r.split(',').filter(|s| !s.is_empty()).map(PathBuf::from).collect();
                let name = files
                    .first()
                    .and_then(|f| f.file_name())
                    .map(|f| f.to_string_lossy().split('.').next().unwrap_or_default().to_string())
                    .unwrap_or_default();
                (name, files)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, score_s: f64, people_s: f64, teleports: u64) -> Row {
        Row {
            name: name.to_string(),
            vehicles: 100,
            mean_time_loss_s: score_s - 1.0,
            mean_depart_delay_s: 1.0,
            mean_waiting_s: score_s / 2.0,
            max_waiting_s: score_s * 3.0,
            score_s,
            wall_s: 2.0,
            steps_per_s: 3000.0,
            persons: 10,
            ped_mean_time_loss_s: people_s,
            ped_max_time_loss_s: people_s * 2.0,
            faults: 0,
            teleports,
            greenwave: None,
        }
    }

    fn run(rows: Vec<Row>) -> Vec<ScenarioRows> {
        vec![ScenarioRows {
            name: "surge".into(),
            controllers: rows,
        }]
    }

    #[test]
    fn the_mean_over_seeds_averages_each_controller_and_totals_the_teleports() {
        let per_seed = vec![
            run(vec![
                row("sumo webster", 80.0, 30.0, 0),
                row("greenwave adaptive", 40.0, 34.0, 1),
            ]),
            // Another order, and a row only this seed has.
            run(vec![
                row("greenwave adaptive", 110.0, 42.0, 2),
                row("sumo webster", 74.0, 36.0, 0),
                row("sumo nema", 90.0, 30.0, 0),
            ]),
        ];
        let mean = mean_over_seeds(&per_seed);
        let s = mean.first().expect("one demand");
        let names: Vec<&str> = s.controllers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sumo webster", "greenwave adaptive"]);
        let gw = s.controllers.get(1).expect("greenwave row");
        assert!((gw.score_s - 75.0).abs() < 1e-9);
        assert!((gw.mean_time_loss_s - 74.0).abs() < 1e-9);
        assert!((gw.ped_mean_time_loss_s - 38.0).abs() < 1e-9);
        // The longest waits are the longest of any seed, not a mean: 3 x 110 s and 2 x 42 s.
        assert!((gw.max_waiting_s - 330.0).abs() < 1e-9);
        assert!((gw.ped_max_time_loss_s - 84.0).abs() < 1e-9);
        assert_eq!(gw.teleports, 3);
        assert!((gw.wall_s - 4.0).abs() < 1e-9);
        let sumo = s.controllers.first().expect("sumo row");
        assert!((sumo.score_s - 77.0).abs() < 1e-9);
        assert!(mean_over_seeds::<ScenarioRows>(&[]).is_empty());
    }

    #[test]
    fn the_paired_interval_is_students_t_on_the_per_seed_differences() {
        // g = 40, 50, 60 against b = 80, 70, 90: ratio 50 / 80; differences −40, −20, −30 with
        // standard deviation 10, so the half width is t(2) · 10 / √3 / 80 = 4.303 · 5.7735 / 80.
        let (ratio, low, high) = paired_ratio(&[(40.0, 80.0), (50.0, 70.0), (60.0, 90.0)]).expect("three pairs");
        assert!((ratio - 0.625).abs() < 1e-12);
        let half = 4.303 * 10.0 / 3f64.sqrt() / 80.0;
        assert!((low - (0.625 - half)).abs() < 1e-12 && (high - (0.625 + half)).abs() < 1e-12);
        // A seed that is hard for both controllers alike widens nothing: equal differences give a
        // zero-width interval however far apart the seeds are.
        let (ratio, low, high) = paired_ratio(&[(40.0, 50.0), (90.0, 100.0), (140.0, 150.0)]).expect("pairs");
        assert!((ratio - 0.9).abs() < 1e-12 && (high - low).abs() < 1e-12);
        assert_eq!(paired_ratio(&[(40.0, 80.0)]), None, "one seed has no spread to measure");
        let (_, low, _) = paired_ratio(&[(10.0, 80.0), (90.0, 70.0)]).expect("pairs");
        assert_eq!(low, 0.0, "a wide interval stops at zero");
        assert_eq!(paired_ratio(&[(1.0, 0.0), (1.0, 0.0)]), None);
        // Tabled and approximated quantiles of t.
        assert!((t95(1) - 12.706).abs() < 1e-9 && (t95(30) - 2.042).abs() < 1e-9);
        assert!((t95(31) - 2.0395).abs() < 0.001 && (t95(120) - 1.9799).abs() < 0.001);
    }

    #[test]
    fn greenwave_is_paired_against_the_best_sumo_mean_and_against_nema_for_people() {
        let per_seed = vec![
            run(vec![
                row("sumo webster", 80.0, 36.0, 0),
                row("sumo nema", 110.0, 30.0, 0),
                row("greenwave adaptive", 40.0, 34.0, 0),
            ]),
            run(vec![
                row("sumo webster", 70.0, 34.0, 0),
                row("sumo nema", 60.0, 31.0, 0),
                row("greenwave adaptive", 50.0, 35.0, 0),
            ]),
        ];
        let mean = mean_over_seeds(&per_seed);
        let paired = paired_vs_sumo(&per_seed, &mean);
        assert_eq!(paired.len(), 2, "{paired:?}");
        let score = paired.iter().find(|p| p.metric == Metric::Score).expect("score");
        // Best on the mean: webster 75 against NEMA 85, although NEMA wins seed 1.
        assert_eq!(score.against, "sumo webster");
        assert_eq!((score.controller.as_str(), score.seeds), ("greenwave adaptive", 2));
        assert!((score.ratio - 45.0 / 75.0).abs() < 1e-12);
        // Differences −40 and −20: half width t(1) · 10 / 75.
        assert!((score.high - score.ratio - 12.706 * 10.0 / 75.0).abs() < 1e-9);
        let people = paired.iter().find(|p| p.metric == Metric::People).expect("people");
        assert_eq!(people.against, "sumo nema");
        assert!((people.ratio - 34.5 / 30.5).abs() < 1e-12);
        // The fail-safe against SUMO's Webster program as well as against the best.
        let mut with_failsafe = per_seed.clone();
        for (run, (nema, failsafe)) in with_failsafe.iter_mut().zip([(50.0, 90.0), (60.0, 80.0)]) {
            for s in run.iter_mut() {
                s.controllers.retain(|c| c.name != "sumo nema");
                s.controllers.push(row("sumo nema", nema, 30.0, 0));
                s.controllers.push(row("greenwave webster", failsafe, 40.0, 0));
            }
        }
        let paired = paired_vs_sumo(&with_failsafe, &mean_over_seeds(&with_failsafe));
        let failsafe: Vec<(&str, f64)> = paired
            .iter()
            .filter(|p| p.controller == "greenwave webster" && p.metric == Metric::Score)
            .map(|p| (p.against.as_str(), p.ratio))
            .collect();
        assert_eq!(failsafe, [("sumo nema", 85.0 / 55.0), ("sumo webster", 85.0 / 75.0)]);
        assert!(paired
            .iter()
            .filter(|p| p.controller == "greenwave adaptive")
            .all(|p| p.against != "sumo webster"));
        // Without a NEMA row there is no people comparison; a greenwave row a seed lacks is not
        // paired at all.
        let mut no_nema = per_seed.clone();
        for run in &mut no_nema {
            for s in run.iter_mut() {
                s.controllers.retain(|c| c.name != "sumo nema");
            }
        }
        if let Some(s) = no_nema.get_mut(1).and_then(|r| r.first_mut()) {
            s.controllers.push(row("greenwave actuated", 60.0, 40.0, 0));
        }
        let paired = paired_vs_sumo(&no_nema, &mean_over_seeds(&no_nema));
        assert_eq!(paired.len(), 1, "{paired:?}");
        assert_eq!(paired.first().map(|p| p.metric), Some(Metric::Score));
    }
}
