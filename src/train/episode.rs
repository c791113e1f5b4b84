//! Training in the built-in traffic model (`greenwave train`).
//!
//! An episode is `seconds` of seeded simulated traffic (`crate::sim::traffic`) at a multiple of the
//! site's design volumes, run through a [`Controller`] with the adaptive planner whose green ends
//! the [`Trainer`] decides. [`run`] is the whole command: episodes at volumes drawn from 0.6-1.6 ×
//! design, exploration decaying from 30 % to 5 %.

use super::{Behaviour, Trainer};
use crate::config::{PlannerKind, Site};
use crate::detect::{DetectorSnapshot, JAM_SPACING_M};
use crate::frame::OutputFrame;
use crate::monitor::card::MmuCard;
use crate::monitor::Fault;
use crate::plan::learned::QTable;
use crate::runtime::Controller;
use crate::sim::traffic::{Rng, SimTraffic};
use crate::time::Instant;

/// Vehicles standing in all queues of a snapshot.
pub fn waiting_vehicles(site: &Site, det: &DetectorSnapshot) -> f32 {
    site.detectors
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_some())
        .map(|(i, _)| det.queue_m.get(i).copied().unwrap_or(0.0).max(0.0) / JAM_SPACING_M)
        .sum()
}

/// One training episode of `seconds` of traffic at `volumes` × design volumes, monitored against
/// `card`. Learns from it, or — when the monitor latched a fault — drops it and returns the fault.
pub fn episode(
    site: &Site,
    card: &MmuCard,
    trainer: &mut Trainer,
    volumes: f64,
    seconds: u64,
    seed: u64,
) -> Result<(), Fault> {
    let mut traffic = SimTraffic::new(site, volumes, seed);
    let site = site.clone().with_planner(PlannerKind::Adaptive);
    let mut ctl = Controller::new(&site, card, Instant::ZERO);
    let mut frame = OutputFrame::ALL_RED;
    let tick = u64::from(site.tick_ms.max(1));
    for k in 0..seconds * 1000 / tick {
        let now = Instant(k * tick);
        let (det, inputs) = traffic.step(now, &frame);
        trainer.record(waiting_vehicles(&site, &det));
        frame = ctl.tick_with(now, &det, &inputs, trainer);
        while ctl.events_mut().pop().is_some() {}
        if let Some(f) = ctl.monitor().latched() {
            trainer.abandon_episode();
            return Err(*f);
        }
    }
    trainer.finish_episode();
    Ok(())
}

/// The outcome of [`run`].
pub struct TrainRun {
    pub table: QTable,
    /// Episodes run, and those of them ended by a monitor fault (not learned).
    pub episodes: u32,
    pub faulted: u32,
    /// The first monitor fault and its episode (0-based).
    pub first_fault: Option<(u32, Fault)>,
}

/// `greenwave train`: `episodes` episodes of `seconds`, seeded by `seed`, from an empty table,
/// monitored against the card derived from the site's geometry (as `greenwave sim` without a
/// board file).
pub fn run(site: &Site, episodes: u32, seconds: u64, seed: u64) -> TrainRun {
    let card = MmuCard::from_geometry(site);
    let mut trainer = Trainer::new(QTable::default(), 0.3, seed, site.tick_ms, Behaviour::Greedy);
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut first_fault = None;
    for e in 0..episodes {
        // Exploration decays from 30 % to 5 % over the run.
        trainer.epsilon = 0.3 - 0.25 * f64::from(e) / f64::from(episodes.max(1));
        let volumes = 0.6 + rng.unit();
        let seed = seed.wrapping_add(u64::from(e) * 7919);
        if let Err(f) = episode(site, &card, &mut trainer, volumes, seconds, seed) {
            log::error!(
                "training episode {}: monitor fault {f}; the episode is not learned",
                e + 1
            );
            first_fault.get_or_insert((e, f));
        }
    }
    TrainRun {
        faulted: trainer.faulted,
        table: trainer.table,
        episodes,
        first_fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::FaultKind;

    fn site() -> Site {
        Site::parse(include_str!("../../board/sites/nema8-4leg.toml"), "nema8-4leg.toml").unwrap()
    }

    /// A seeded run learns, and repeats exactly.
    #[test]
    fn seeded_training_learns_and_repeats() {
        let s = site();
        let a = run(&s, 2, 900, 5);
        assert_eq!((a.episodes, a.faulted, a.table.episodes), (2, 0, 2));
        assert!(a.table.visits.iter().any(|v| *v > 0), "decisions were learned");
        assert_eq!(run(&s, 2, 900, 5).table, a.table);
    }

    /// The monitor runs in training: against a card that asks for longer yellows than the site
    /// times, the first yellow faults; the episode is counted as faulted and not learned.
    #[test]
    fn a_monitor_fault_ends_the_episode_unlearned() {
        let s = site();
        let mut card = MmuCard::from_geometry(&s);
        for ph in s.phases() {
            card.set_min_yellow_ms(ph.id, 10_000);
        }
        let mut trainer = Trainer::new(QTable::default(), 0.3, 1, s.tick_ms, Behaviour::Greedy);
        let f = episode(&s, &card, &mut trainer, 1.0, 900, 1).expect_err("short yellow");
        assert_eq!(f.kind, FaultKind::ShortYellow);
        assert_eq!((trainer.faulted, trainer.table.episodes), (1, 0));
        assert!(trainer.table.visits.iter().all(|v| *v == 0), "nothing learned");
        // The same trainer learns from the next, sound episode.
        episode(&s, &MmuCard::from_geometry(&s), &mut trainer, 1.0, 900, 1).unwrap();
        assert_eq!((trainer.faulted, trainer.table.episodes), (1, 1));
    }
}
