//! Training the `learned` planner's Q-table in SUMO (`greenwave-sumo train`).
//!
//! The learning rule is the one of `greenwave train` ([`Trainer`]: Monte-Carlo control, every
//! second each running green past its min green and pedestrian intervals takes an ε-greedy
//! END/HOLD decision, the sampled return of (state, action) is minus the mean number of waiting
//! vehicles over the next [`HORIZON_MS`]); the traffic is SUMO's instead of the built-in model, so
//! the table learns the queue discharge, car following and detector behaviour it is measured in.
//! Per SUMO step, as in the bridge: the frame goes out as the TLS state, every site detector is
//! read (E1 arrivals, E2 halting and jam length → a `DetectorSnapshot`), SUMO steps; then
//! greenwave's [`Controller`] ticks with the trainer as its green policy
//! ([`Controller::tick_with`]): the adaptive planner's calls and extensions, the trainer's green
//! ends, the timing engine, and the conflict monitor on every frame — any fault aborts training,
//! because a table must never be learned around an unsafe controller.
//!
//! Two deliberate differences from the built-in trainer:
//! - **Behaviour policy = deployed policy** ([`Behaviour::Deployed`]). Where the table is not yet
//!   confident, the exploiting choice is the adaptive rule (what the `learned` planner defers to in
//!   operation), so the sampled returns are those of the policy that will run: training is policy
//!   improvement over `adaptive`.
//! - **Reward from the whole approach.** The state is what the controller sees (E2 zones over the
//!   last 80 m); the reward counts the halting vehicles on the full 300 m approach lanes, because an
//!   80 m zone saturates at ~11 vehicles per lane and would not penalise a longer queue. The reward
//!   is used offline only.
//!
//! Episodes are windows of `episode_s` (default 1,800 s) of one demand, starting at a random
//! 10-minute boundary of its hour with an empty network, rotating over the demands with a new SUMO
//! seed each: half-hour windows give twice the demand/seed variety per wall-clock second of a full
//! hour, cover every slice of the peak profile, and still hold ~28 decision minutes with a complete
//! 60 s horizon. Cost: one TraCI round trip per 100 ms step, ~4-8 s wall per 1,800 s episode.
//! Offline tooling: it allocates freely.

use crate::bridge::{link_state_char, DetectorReader};
use crate::scenario::{self, Demand, Link, DETECTOR_LANES};
use crate::sumo::{free_port, run_args, SumoProcess};
use crate::traci::{self, Batch, Client};
use greenwave::config::{PlannerKind, Site};
use greenwave::hal::InputFrame;
use greenwave::monitor::card::MmuCard;
use greenwave::plan::learned::{self, QTable};
use greenwave::runtime::Controller;
use greenwave::signal::frame::OutputFrame;
use greenwave::sim::traffic::Rng;
use greenwave::time::Instant;
use greenwave::train::{Behaviour, Trainer, HORIZON_MS};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// TraCI lane domain (get): the reward reads whole approach lanes.
const GET_LANE: u8 = 0xA3;
/// Episode windows start on these boundaries of the demand hour (the peak demand's slice length).
pub const WINDOW_STEP_S: u32 = 600;

/// What to train on.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub episodes: u32,
    pub demands: Vec<Demand>,
    pub seed: u64,
    /// Simulated seconds per episode (capped at the demand's length).
    pub episode_s: u32,
    /// Exploration rate at the first and the last episode (linear in between).
    pub epsilon: (f64, f64),
    /// Continue from this table instead of an empty one.
    pub start: Option<QTable>,
    /// Write the table here every [`TrainOptions::checkpoint_every`] episodes (and at the end).
    pub checkpoint: Option<PathBuf>,
    pub checkpoint_every: u32,
    /// Episodes run in parallel (one SUMO each).
    pub jobs: u32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            episodes: 100,
            demands: Vec::new(),
            seed: 1,
            episode_s: 1800,
            epsilon: (0.2, 0.05),
            start: None,
            checkpoint: None,
            checkpoint_every: 10,
            jobs: 1,
        }
    }
}

/// One finished episode.
#[derive(Clone, Debug)]
pub struct EpisodeReport {
    pub index: u32,
    pub demand: String,
    pub seed: u64,
    pub begin_s: u32,
    pub seconds: u32,
    pub epsilon: f64,
    /// END/HOLD decisions taken.
    pub decisions: u64,
    /// Of those, the choice a confident table makes (explored choices that agree included).
    pub from_table: u64,
    /// Mean halting vehicles on the approaches over the episode.
    pub mean_waiting: f64,
    pub wall_s: f64,
}

/// The links of junction `C` and the routes per demand, written once for a training run.
pub struct Setup {
    pub files: scenario::Files,
    pub links: Vec<Link>,
    pub routes: Vec<PathBuf>,
}

impl Setup {
    pub fn new(home: &Path, dir: &Path, demands: &[Demand]) -> Result<Setup, String> {
        let files = scenario::build_network(home, &dir.join("net"))?;
        let links = scenario::links(&files.net)?;
        let routes = demands
            .iter()
            .map(|d| scenario::write_routes(d, dir))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Setup { files, links, routes })
    }
}

/// Trains for `opts.episodes` episodes; `progress` sees each one. Returns the table.
pub fn train(
    home: &Path,
    site: &Site,
    opts: &TrainOptions,
    dir: &Path,
    mut progress: impl FnMut(&EpisodeReport),
) -> Result<QTable, String> {
    if opts.demands.is_empty() {
        return Err("no demand to train on: give --scenarios".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let setup = Setup::new(home, dir, &opts.demands)?;
    let mut table = opts.start.clone().unwrap_or_default();
    let mut rng = Rng::new(opts.seed ^ 0x7261_696e);
    let n = opts.episodes.max(1);
    let jobs = opts.jobs.max(1);
    let mut e = 0;
    while e < opts.episodes {
        // A round: up to `jobs` episodes in parallel, each with its own trainer on a copy of the
        // table, merged afterwards (the table changes between rounds, not within one).
        let mut plans = Vec::new();
        for j in 0..jobs.min(opts.episodes - e) {
            let idx = e + j;
            let k = idx as usize % opts.demands.len();
            let (Some(d), Some(routes)) = (opts.demands.get(k), setup.routes.get(k)) else {
                continue;
            };
            let total_s = d.slice_s.saturating_mul(d.slices.len() as u32);
            let seconds = opts.episode_s.min(total_s);
            let windows = (total_s - seconds) / WINDOW_STEP_S + 1;
            let begin_s = ((rng.unit() * f64::from(windows)) as u32).min(windows - 1) * WINDOW_STEP_S;
            let frac = if n > 1 { f64::from(idx) / f64::from(n - 1) } else { 0.0 };
            let epsilon = opts.epsilon.0 + (opts.epsilon.1 - opts.epsilon.0) * frac;
            let seed = opts.seed.wrapping_add(u64::from(idx).wrapping_mul(7919));
            let trainer = Trainer::new(table.clone(), epsilon, seed ^ 0x5eed, site.tick_ms, Behaviour::Deployed);
            plans.push((idx, d.name, routes.as_path(), begin_s, seconds, seed, trainer, j));
        }
        let done: Vec<Result<(EpisodeReport, QTable), String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = plans
                .into_iter()
                .map(|(idx, name, routes, begin_s, seconds, seed, mut trainer, j)| {
                    let setup = &setup;
                    scope.spawn(move || {
                        let tag = format!("train-{j}");
                        let mut r = episode(
                            home,
                            site,
                            setup,
                            routes,
                            begin_s,
                            seconds,
                            seed,
                            &mut trainer,
                            dir,
                            &tag,
                        )?;
                        r.index = idx;
                        r.demand = name.to_string();
                        r.epsilon = trainer.epsilon;
                        Ok((r, trainer.table))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("a training episode panicked".into())))
                .collect()
        });
        let base = table.clone();
        for d in done {
            let (r, learned) = d?;
            merge(&mut table, &base, &learned);
            progress(&r);
            e += 1;
            if let Some(p) = &opts.checkpoint {
                if e % opts.checkpoint_every.max(1) == 0 {
                    save(&table, p)?;
                }
            }
        }
    }
    Ok(table)
}

/// Adds what `learned` sampled on top of `base` (both running means per entry) into `into`, which
/// started as `base` too: per entry, sums and counts of the new samples are added, so merging the
/// tables of parallel episodes gives the same means as learning their samples one after another.
pub fn merge(into: &mut QTable, base: &QTable, learned: &QTable) {
    for i in 0..learned::STATES * learned::ACTIONS {
        let (Some(v0), Some(q0), Some(v1), Some(q1)) = (
            base.visits.get(i),
            base.q.get(i),
            learned.visits.get(i),
            learned.q.get(i),
        ) else {
            continue;
        };
        let new_n = v1.saturating_sub(*v0);
        if new_n == 0 {
            continue;
        }
        let new_sum = f64::from(*q1) * f64::from(*v1) - f64::from(*q0) * f64::from(*v0);
        if let (Some(v), Some(q)) = (into.visits.get_mut(i), into.q.get_mut(i)) {
            let n = v.saturating_add(new_n);
            *q = ((f64::from(*q) * f64::from(*v) + new_sum) / f64::from(n.max(1))) as f32;
            *v = n;
        }
    }
    into.episodes = into
        .episodes
        .saturating_add(learned.episodes.saturating_sub(base.episodes));
}

/// Writes a table (postcard, the format `QTable::load` reads) via a temporary file, so an
/// interrupted run never leaves a truncated model.
pub fn save(table: &QTable, path: &Path) -> Result<(), String> {
    let tmp = path.with_extension("postcard.tmp");
    std::fs::write(&tmp, table.to_bytes()).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// One episode: SUMO on `routes` from `begin_s` for `seconds`, greenwave's controller with the
/// trainer deciding green ends. Learns from it (`Trainer::finish_episode`) when it completes.
#[allow(clippy::too_many_arguments)]
pub fn episode(
    home: &Path,
    site: &Site,
    setup: &Setup,
    routes: &Path,
    begin_s: u32,
    seconds: u32,
    seed: u64,
    trainer: &mut Trainer,
    dir: &Path,
    tag: &str,
) -> Result<EpisodeReport, String> {
    let step_ms = u64::from(site.tick_ms.max(1));
    let planner_site = site.clone().with_planner(PlannerKind::Adaptive);
    let port = free_port()?;
    let mut args = run_args(
        &setup.files.net,
        &routes.display().to_string(),
        &setup.files.detectors.display().to_string(),
        step_ms as f64 / 1000.0,
        seed,
        &dir.join(format!("{tag}.tripinfo.xml")),
    );
    args.extend([
        "--begin".to_string(),
        begin_s.to_string(),
        "--remote-port".to_string(),
        port.to_string(),
    ]);
    let mut sumo = SumoProcess::spawn(home, &args, &dir.join(format!("{tag}.sumo.log")))?;
    let mut client = Client::connect(port, Duration::from_secs(20), || sumo.check_alive())?;
    let mut detectors = DetectorReader::new();
    let mut ctl = Controller::new(&planner_site, &MmuCard::from_geometry(site), Instant::ZERO);
    let mut frame = OutputFrame::ALL_RED;
    let (decided, from_table) = (trainer.decided, trainer.from_table);
    let mut report = EpisodeReport {
        index: 0,
        demand: String::new(),
        seed,
        begin_s,
        seconds,
        epsilon: trainer.epsilon,
        decisions: 0,
        from_table: 0,
        mean_waiting: 0.0,
        wall_s: 0.0,
    };
    let mut waiting_sum = 0.0f64;
    let start = std::time::Instant::now();
    let steps = u64::from(seconds) * 1000 / step_ms;
    let mut batch = Batch::new();
    for j in 0..steps {
        let state = scenario::state_string(&setup.links, |p| link_state_char(site, &frame, p, false));
        batch.clear();
        batch.set_string(traci::SET_TLS, traci::VAR_TLS_STATE, "C", &state);
        detectors.request(&mut batch);
        for lane in DETECTOR_LANES {
            batch.get(GET_LANE, traci::VAR_LAST_STEP_HALTING, lane);
        }
        batch.step(0.0);
        let (resp, _) = client.exchange(&batch).map_err(|e| {
            std::thread::sleep(Duration::from_millis(300));
            match sumo.check_alive() {
                Err(dead) => dead,
                Ok(()) => e.to_string(),
            }
        })?;
        // Replies are those of the state the previous step left (one step of sensing lag, as in
        // the bridge); responses: the TLS set has none, then 3 per detector lane, then the lanes.
        let now = Instant(j * step_ms);
        let det = detectors.snapshot(&resp, now);
        let base = DetectorReader::REPLIES;
        let waiting: i32 = (0..DETECTOR_LANES.len())
            .filter_map(|i| resp.get(base + i).and_then(|r| r.value.as_i32()))
            .map(|v| v.max(0))
            .sum();
        waiting_sum += f64::from(waiting);

        // The demand exactly as the adaptive planner makes it (calls, extensions, flashing yellow
        // arrows and the protected left-turn calls after them); only the green ends are trained.
        trainer.record(waiting as f32);
        frame = ctl.tick_with(now, &det, &InputFrame::default(), trainer);
        while ctl.events_mut().pop().is_some() {}
        if let Some(f) = ctl.monitor().latched() {
            trainer.abandon_episode();
            return Err(format!(
                "{tag} (seed {seed}, from {begin_s} s): monitor fault {f} at {:.1} s — training stopped",
                now.0 as f64 / 1000.0
            ));
        }
    }
    report.decisions = trainer.decided - decided;
    report.from_table = trainer.from_table - from_table;
    batch.clear();
    batch.close();
    client.exchange(&batch).map_err(|e| e.to_string())?;
    sumo.wait(Duration::from_secs(30))?;
    trainer.finish_episode();
    report.mean_waiting = waiting_sum / steps.max(1) as f64;
    report.wall_s = start.elapsed().as_secs_f64();
    Ok(report)
}

/// States whose decision the table takes itself (confident), out of [`learned::STATES`].
pub use greenwave::train::confident_states;

/// Training samples in the table.
pub fn samples(t: &QTable) -> u64 {
    t.visits.iter().map(|v| u64::from(*v)).sum()
}

/// The look-ahead of a sampled return, seconds (for reports).
pub const HORIZON_S: u64 = HORIZON_MS / 1000;

#[cfg(test)]
mod tests {
    #[test]
    fn merging_parallel_episodes_equals_learning_in_sequence() {
        use super::merge;
        use greenwave::plan::learned::{QTable, END, HOLD};
        let mut base = QTable::default();
        base.learn(4, HOLD, -3.0);
        let mut a = base.clone();
        let mut b = base.clone();
        let mut seq = base.clone();
        for (t, s) in [(&mut a, -5.0), (&mut b, -9.0)] {
            t.learn(4, HOLD, s);
            t.learn(9, END, s / 2.0);
            t.episodes += 1;
        }
        for s in [-5.0, -9.0] {
            seq.learn(4, HOLD, s);
            seq.learn(9, END, s / 2.0);
            seq.episodes += 1;
        }
        let mut merged = base.clone();
        merge(&mut merged, &base, &a);
        merge(&mut merged, &base, &b);
        assert_eq!(merged.visits, seq.visits);
        assert_eq!(merged.episodes, 2);
        for i in 0..merged.q.len() {
            assert!((merged.q[i] - seq.q[i]).abs() < 1e-5, "entry {i}");
        }
    }
}
