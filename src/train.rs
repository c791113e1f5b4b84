//! Offline training of the `learned` planner's Q-table (`greenwave train` in the built-in traffic
//! model, [`run`]; `greenwave-sumo train` in SUMO).
//!
//! Monte-Carlo control (Watkins 1989; Sutton and Barto, *Reinforcement Learning*, 2nd ed. 2018,
//! ch. 5): every [`EPOCH_MS`] each running green whose min green and pedestrian intervals are done
//! takes an ε-greedy HOLD/END decision in the state `plan::learned::state` gives it; the sampled
//! return of (state, action) is minus the mean number of vehicles waiting at the whole
//! intersection over the next [`HORIZON_MS`] (minimum total delay).
//!
//! The decisions are taken inside the controller's own control path: the [`Trainer`] is the
//! [`GreenPolicy`] of `Controller::tick_with`, so the planner makes the calls and extensions (left
//! turns included), the timing engine keeps its limits, and the conflict monitor checks every
//! frame, exactly as in operation. A monitor fault ends the episode: it is counted and reported,
//! and the episode is not learned — a table is never learned around an unsafe controller.
//!
//! Offline tooling: it allocates freely (the decisions and waiting counts of an episode).

pub mod episode;

use crate::limits::MAX_PHASES;
use crate::phase::{PhaseId, PhaseSet};
use crate::plan::adaptive::GreenObservation;
use crate::plan::learned::{self, QTable, END, HOLD};
use crate::runtime::controller::GreenPolicy;
use crate::signal::engine::{Engine, Interval, PedInterval};
use crate::sim::traffic::Rng;
use crate::time::Instant;

pub use episode::{episode, run, TrainRun};

/// Look-ahead of a sampled return.
pub const HORIZON_MS: u64 = 60_000;
/// Time between two decisions of one green.
pub const EPOCH_MS: u64 = 1_000;

/// What the trainer does where it exploits rather than explores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// The table's greedy action in every state (`greenwave train`).
    Greedy,
    /// The table's action where it is confident, the adaptive rule elsewhere — the policy the
    /// `learned` planner runs in operation — so the sampled returns are those of the policy that
    /// will run and training is policy improvement over `adaptive` (`greenwave-sumo train`).
    Deployed,
}

/// Takes the ε-greedy green-end decisions of an episode, records the intersection's waiting
/// vehicles, and turns both into samples of the table.
pub struct Trainer {
    pub table: QTable,
    pub epsilon: f64,
    pub behaviour: Behaviour,
    rng: Rng,
    decisions: Vec<(u64, usize, usize)>,
    waiting: Vec<f32>,
    tick_ms: u64,
    /// Per phase index: the earliest time of its next decision in this episode.
    next_decision: [u64; MAX_PHASES],
    /// Greens told to end (kept until they have ended).
    ending: PhaseSet,
    /// Decisions taken since the trainer was made.
    pub decided: u64,
    /// Of those, the choice a confident table makes (explored choices that agree included).
    pub from_table: u64,
    /// Episodes ended by a monitor fault (not learned).
    pub faulted: u32,
}

impl Trainer {
    pub fn new(table: QTable, epsilon: f64, seed: u64, tick_ms: u32, behaviour: Behaviour) -> Trainer {
        Trainer {
            table,
            epsilon,
            behaviour,
            rng: Rng::new(seed),
            decisions: Vec::new(),
            waiting: Vec::new(),
            tick_ms: u64::from(tick_ms.max(1)),
            next_decision: [0; MAX_PHASES],
            ending: PhaseSet::EMPTY,
            decided: 0,
            from_table: 0,
            faulted: 0,
        }
    }

    /// ε-greedy choice for state `s` at `now`, remembered for learning. Where it exploits, the
    /// choice is the table's greedy action, or with [`Behaviour::Deployed`] and a table not
    /// confident in `s`, `fallback` (the adaptive rule's decision).
    pub fn choose(&mut self, now: Instant, s: usize, fallback: usize) -> usize {
        let a = if self.rng.unit() < self.epsilon {
            if self.rng.unit() < 0.5 {
                HOLD
            } else {
                END
            }
        } else {
            match (self.behaviour, self.table.decide(s)) {
                (Behaviour::Greedy, (a, _)) | (Behaviour::Deployed, (a, true)) => a,
                (Behaviour::Deployed, _) => fallback,
            }
        };
        self.decisions.push((now.0, s, a));
        a
    }

    /// Vehicles waiting at the intersection during the tick starting at `now`.
    pub fn record(&mut self, waiting: f32) {
        self.waiting.push(waiting);
    }

    /// Learns from the episode's decisions whose horizon is complete.
    pub fn finish_episode(&mut self) {
        let mut prefix = Vec::with_capacity(self.waiting.len() + 1);
        prefix.push(0.0f64);
        for w in &self.waiting {
            let last = prefix.last().copied().unwrap_or(0.0);
            prefix.push(last + f64::from(*w));
        }
        let h = (HORIZON_MS / self.tick_ms) as usize;
        for &(t, s, a) in &self.decisions {
            let i = (t / self.tick_ms) as usize;
            if i + h < prefix.len() {
                let mean = (prefix[i + h] - prefix[i]) / h as f64;
                self.table.learn(s, a, -(mean as f32));
            }
        }
        self.table.episodes += 1;
        self.reset_episode();
    }

    /// Drops the episode without learning from it (it ended in a monitor fault) and counts it.
    pub fn abandon_episode(&mut self) {
        self.faulted = self.faulted.saturating_add(1);
        self.reset_episode();
    }

    fn reset_episode(&mut self) {
        self.decisions.clear();
        self.waiting.clear();
        self.next_decision = [0; MAX_PHASES];
        self.ending = PhaseSet::EMPTY;
    }
}

impl GreenPolicy for Trainer {
    /// Every green past its min green and pedestrian intervals decides once per [`EPOCH_MS`]; a
    /// green told to end stays told until it has ended.
    fn end_set(&mut self, now: Instant, engine: &Engine, greens: &[GreenObservation], _planned: PhaseSet) -> PhaseSet {
        self.ending = self.ending.intersection(engine.greens());
        for o in greens {
            if !decision_due(engine, o.phase, now, &mut self.next_decision, self.ending) {
                continue;
            }
            let s = learned::state(o);
            let a = self.choose(now, s, if o.adaptive_end { END } else { HOLD });
            self.decided += 1;
            if self.table.decide(s) == (a, true) {
                self.from_table += 1;
            }
            if a == END {
                self.ending.insert(o.phase);
            }
        }
        self.ending
    }
}

/// Whether running green `p` takes a HOLD/END decision now: past its min green and pedestrian
/// intervals, not already told to end, at most one per [`EPOCH_MS`] (books the next one).
pub fn decision_due(engine: &Engine, p: PhaseId, now: Instant, next: &mut [u64; MAX_PHASES], ending: PhaseSet) -> bool {
    let decidable = engine
        .rings()
        .iter()
        .find(|x| x.phase == Some(p) && x.interval == Interval::Green)
        .is_some_and(|x| x.min_done && x.ped == PedInterval::DontWalk);
    match next.get_mut(p.index()) {
        Some(nd) if decidable && now.0 >= *nd && !ending.contains(p) => {
            *nd = now.0 + EPOCH_MS;
            true
        }
        _ => false,
    }
}

/// States whose decision the table takes itself (confident), out of `learned::STATES`.
pub fn confident_states(t: &QTable) -> usize {
    (0..learned::STATES).filter(|s| t.decide(*s).1).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::learned::MIN_VISITS;

    #[test]
    fn deployed_behaviour_defers_to_the_fallback_where_the_table_is_not_confident() {
        let mut t = QTable::default();
        for _ in 0..MIN_VISITS {
            t.learn(5, END, -10.0);
            t.learn(5, HOLD, -20.0);
        }
        let mut tr = Trainer::new(t, 0.0, 1, 100, Behaviour::Deployed);
        assert_eq!(tr.choose(Instant(0), 5, HOLD), END, "confident: the table decides");
        assert_eq!(tr.choose(Instant(100), 6, END), END, "unvisited: the fallback decides");
        assert_eq!(tr.choose(Instant(200), 6, HOLD), HOLD);
        tr.behaviour = Behaviour::Greedy;
        assert_eq!(
            tr.choose(Instant(300), 6, END),
            HOLD,
            "greedy: the table's tie-break (hold)"
        );
        tr.epsilon = 1.0;
        let explored: Vec<usize> = (0..64).map(|k| tr.choose(Instant(400 + k * 100), 5, HOLD)).collect();
        assert!(
            explored.contains(&HOLD) && explored.contains(&END),
            "ε = 1 explores both actions"
        );
    }

    /// A decision's sample is minus the mean waiting over the horizon that follows it; a decision
    /// whose horizon runs past the episode is not learned, nor is an abandoned episode.
    #[test]
    fn samples_are_the_mean_waiting_over_the_horizon() {
        let mut tr = Trainer::new(QTable::default(), 0.0, 1, 1000, Behaviour::Greedy);
        tr.choose(Instant(0), 3, HOLD);
        tr.choose(Instant(30_000), 4, HOLD);
        for k in 0..70 {
            tr.record(if k < 60 { 2.0 } else { 8.0 });
        }
        tr.finish_episode();
        assert_eq!(tr.table.visits(3, HOLD), 1);
        assert!((tr.table.value(3, HOLD) + 2.0).abs() < 1e-6);
        assert_eq!(tr.table.visits(4, HOLD), 0, "horizon incomplete");
        assert_eq!(tr.table.episodes, 1);
        tr.choose(Instant(0), 3, HOLD);
        for _ in 0..70 {
            tr.record(50.0);
        }
        tr.abandon_episode();
        assert_eq!((tr.table.visits(3, HOLD), tr.table.episodes, tr.faulted), (1, 1, 1));
    }
}
