//! `greenwave sim --faults SEED`: the simulated intersection behind fault-injecting wrappers
//! (`sim::faults`). The loop, the controller and the monitor are the ones every run uses; only
//! the hardware they see misbehaves, on a schedule drawn from the seed.

use crate::config::Site;
use crate::hal::mirror::MirrorRelays;
use crate::hal::sim::{SimRelays, SimWatchdog};
use crate::monitor::card::MmuCard;
use crate::runtime::realtime::Signals;
use crate::runtime::sim::{drive, ControlLoop, SimOptions, SimSummary};
use crate::sim::faults::{FaultyRelays, FaultySource};
use crate::sim::traffic::SimTraffic;

/// Runs `greenwave sim` with injected faults; returns the summary and how many faults started.
pub fn run_sim_with_faults(
    site: &Site,
    card: &MmuCard,
    opts: &mut SimOptions,
    signals: &Signals,
    seed: u64,
) -> Result<(SimSummary, u64), String> {
    log::info!("fault injection seed {seed} (replay with `--faults {seed}` and the same options)");
    let traffic = SimTraffic::new(site, opts.volumes, opts.seed);
    let detectors = site
        .detectors
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_some())
        .fold(0u32, |set, (i, _)| set | 1 << i);
    let source = FaultySource::new(traffic, seed, detectors);
    let duration_ms = opts.duration_s.saturating_mul(1000);
    let mirror = match &opts.relay_mirror {
        Some(path) => MirrorRelays::to_file(SimRelays::default(), path)?,
        None => MirrorRelays::off(SimRelays::default()),
    };
    let relays = FaultyRelays::new(mirror, seed, duration_ms, u64::from(site.tick_ms), site.phase_set().0);
    let mut lp = ControlLoop::new(site, card, relays, SimWatchdog::default(), source);
    let summary = drive(&mut lp, site, opts, signals)?;
    Ok((summary, lp.source.injected + lp.relays.injected))
}
