//! `greenwave sim --faults SEED`: the simulated intersection behind fault-injecting wrappers
//! (`sim::faults`). The loop, the controller and the monitor are the ones every run uses; only
//! the hardware they see misbehaves, on a schedule drawn from the seed.

use crate::config::Site;
use crate::detect::DetectorSnapshot;
use crate::frame::OutputFrame;
use crate::hal::sim::SimWatchdog;
use crate::hal::InputFrame;
use crate::monitor::card::MmuCard;
use crate::runtime::control_loop::{run, ControlLoop, Street};
use crate::runtime::realtime::Signals;
use crate::runtime::sim::{sim_relays, SimOptions};
use crate::runtime::summary::RunSummary;
use crate::sim::faults::{FaultyRelays, FaultySource};
use crate::sim::traffic::{SimTraffic, TrafficStats};
use crate::time::Instant;

/// The simulated street with faulty detection: the traffic keeps moving and pressing buttons
/// whatever the camera does; only the detection it hands over is corrupted.
impl Street for FaultySource<SimTraffic> {
    fn read(&mut self, now: Instant, shown: &OutputFrame) -> (DetectorSnapshot, InputFrame) {
        self.schedule(now);
        let (det, inputs) = self.inner.step(now, shown);
        (self.corrupt(det), inputs)
    }
    fn traffic_stats(&self) -> Option<TrafficStats> {
        Some(self.inner.stats())
    }
}

/// Runs `greenwave sim` with injected faults; returns the summary and how many faults started.
pub fn run_sim_with_faults(
    site: &Site,
    card: &MmuCard,
    opts: &mut SimOptions,
    signals: &Signals,
    seed: u64,
) -> Result<(RunSummary, u64), String> {
    log::info!("fault injection seed {seed} (replay with `--faults {seed}` and the same options)");
    let traffic = SimTraffic::new(site, opts.volumes, opts.seed);
    let detectors = site
        .detectors
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_some())
        .fold(0u32, |set, (i, _)| set | 1 << i);
    let source = FaultySource::new(traffic, seed, detectors);
    let duration_ms = opts.run.duration_s.unwrap_or(u64::MAX / 1000).saturating_mul(1000);
    let mirror = sim_relays(opts)?;
    let relays = FaultyRelays::new(mirror, seed, duration_ms, u64::from(site.tick_ms), site.phase_set().0);
    let mut lp = ControlLoop::new(site, card, relays, SimWatchdog::default(), source);
    let summary = run(&mut lp, site, &mut opts.run, signals)?;
    Ok((summary, lp.street.injected + lp.relays.injected))
}
