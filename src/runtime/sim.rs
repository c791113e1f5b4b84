//! `greenwave sim`: the real controller on simulated hardware. Assembles the simulated street (the
//! seeded traffic model, `sim::traffic`), simulated relays (optionally mirrored to a file) and
//! watchdog, and runs them in the shared loop (`runtime::control_loop`).

use crate::config::Site;
use crate::detect::DetectorSnapshot;
use crate::frame::OutputFrame;
use crate::hal::mirror::MirrorRelays;
use crate::hal::sim::{SimRelays, SimWatchdog};
use crate::hal::InputFrame;
use crate::monitor::card::MmuCard;
use crate::runtime::control_loop::{run, ControlLoop, LoopOptions, Street};
use crate::runtime::realtime::Signals;
use crate::runtime::summary::RunSummary;
use crate::sim::traffic::{SimTraffic, TrafficStats};
use crate::time::Instant;
use std::path::PathBuf;

/// The traffic model is a whole street: its vehicles react to the lamps, cross detectors and press
/// push buttons.
impl Street for SimTraffic {
    fn read(&mut self, now: Instant, shown: &OutputFrame) -> (DetectorSnapshot, InputFrame) {
        self.step(now, shown)
    }
    fn traffic_stats(&self) -> Option<TrafficStats> {
        Some(self.stats())
    }
}

/// Options of `greenwave sim`: the loop's, and what only a simulation has.
pub struct SimOptions {
    /// Seed of the simulated traffic.
    pub seed: u64,
    /// Scale of the site's design volumes.
    pub volumes: f64,
    /// Mirror every frame written to the relays into this file (`hal::mirror`).
    pub relay_mirror: Option<PathBuf>,
    pub run: LoopOptions,
}

/// Simulated relays, mirrored to `opts.relay_mirror` when set.
pub fn sim_relays(opts: &SimOptions) -> Result<MirrorRelays<SimRelays>, String> {
    match &opts.relay_mirror {
        Some(path) => MirrorRelays::to_file(SimRelays::default(), path),
        None => Ok(MirrorRelays::off(SimRelays::default())),
    }
}

/// Runs `greenwave sim`.
pub fn run_sim(site: &Site, card: &MmuCard, opts: &mut SimOptions, signals: &Signals) -> Result<RunSummary, String> {
    let traffic = SimTraffic::new(site, opts.volumes, opts.seed);
    let relays = sim_relays(opts)?;
    let mut lp = ControlLoop::new(site, card, relays, SimWatchdog::default(), traffic);
    run(&mut lp, site, &mut opts.run, signals)
}
