//! Learned green termination: a fixed-size tabular policy (Q-table) with a confidence score.
//!
//! The decision is the adaptive planner's — end this green now, or hold it — but taken from a
//! table learned offline by Q-learning (Watkins 1989) in simulation (`crate::train`: `greenwave
//! train`, and the SUMO harness), with the reward "minus vehicles waiting", i.e. minimum total delay.
//!
//! State of one running green, from [`GreenObservation`] (4 × 4 × 5 × 4 = 320 states):
//! own standing queue {0, 1-2, 3-5, 6+ veh}, time since the last actuation {<1, 1-2, 2-3, ≥3 s},
//! vehicles waiting on conflicting phases {0, 1-3, 4-8, 9-15, 16+}, green elapsed as a share of max
//! green {<25, <50, <75, ≥75 %}. Actions: hold, end.
//!
//! **Confidence**: a state visited fewer than [`MIN_VISITS`] times in training, or whose two action
//! values differ by less than [`MIN_MARGIN`] of their magnitude, is not trusted: the decision then
//! falls back to the adaptive rule (and the planner's own fall-back chain still applies above it).
//! The engine enforces min/max green, clearances and pedestrians whatever the table says.
//!
//! The model file is a postcard record (`models/*.postcard`): ~3.9 KB, loaded once at start-up.

use crate::plan::adaptive::GreenObservation;
use serde::{Deserialize, Serialize};

pub const Q_BUCKETS: usize = 4;
pub const GAP_BUCKETS: usize = 4;
pub const WAIT_BUCKETS: usize = 5;
pub const ELAPSED_BUCKETS: usize = 4;
pub const STATES: usize = Q_BUCKETS * GAP_BUCKETS * WAIT_BUCKETS * ELAPSED_BUCKETS;
pub const ACTIONS: usize = 2;
/// Action index: keep the green.
pub const HOLD: usize = 0;
/// Action index: end the green now.
pub const END: usize = 1;
/// Training visits below which a state's values are not trusted.
pub const MIN_VISITS: u32 = 30;
/// Relative difference between the two action values below which the choice is not trusted.
pub const MIN_MARGIN: f32 = 0.02;
/// Model file format version.
pub const MODEL_VERSION: u16 = 1;

/// The table as stored in a model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QTable {
    pub version: u16,
    /// `q[state * ACTIONS + action]`.
    pub q: heapless::Vec<f32, { STATES * ACTIONS }>,
    /// Training samples per `state * ACTIONS + action`.
    pub visits: heapless::Vec<u32, { STATES * ACTIONS }>,
    /// Training episodes behind this table.
    pub episodes: u32,
}

impl Default for QTable {
    fn default() -> Self {
        let mut q = heapless::Vec::new();
        let mut visits = heapless::Vec::new();
        for _ in 0..STATES * ACTIONS {
            let _ = q.push(0.0);
            let _ = visits.push(0);
        }
        QTable {
            version: MODEL_VERSION,
            q,
            visits,
            episodes: 0,
        }
    }
}

/// Errors loading a model file.
#[derive(Debug, PartialEq)]
pub enum ModelError {
    Io(String),
    Decode,
    Version(u16),
    Shape,
}

impl core::fmt::Display for ModelError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ModelError::Io(e) => write!(f, "cannot read the model file: {e}"),
            ModelError::Decode => f.write_str("not a greenwave Q-table (postcard decode failed)"),
            ModelError::Version(v) => write!(f, "model format {v}, this build reads {MODEL_VERSION}: retrain it"),
            ModelError::Shape => f.write_str("table size does not match this build's state space: retrain it"),
        }
    }
}

impl QTable {
    pub fn from_bytes(bytes: &[u8]) -> Result<QTable, ModelError> {
        let t: QTable = postcard::from_bytes(bytes).map_err(|_| ModelError::Decode)?;
        if t.version != MODEL_VERSION {
            return Err(ModelError::Version(t.version));
        }
        if t.q.len() != STATES * ACTIONS || t.visits.len() != STATES * ACTIONS || t.q.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::Shape);
        }
        Ok(t)
    }

    pub fn load(path: &std::path::Path) -> Result<QTable, ModelError> {
        let bytes = crate::config::file::read_bytes(path, crate::limits::MODEL_FILE_MAX_BYTES)
            .map_err(|e| ModelError::Io(format!("{}: {e}", path.display())))?;
        QTable::from_bytes(&bytes)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn value(&self, s: usize, a: usize) -> f32 {
        self.q.get(s * ACTIONS + a).copied().unwrap_or(0.0)
    }

    pub fn set_value(&mut self, s: usize, a: usize, v: f32) {
        if let Some(x) = self.q.get_mut(s * ACTIONS + a) {
            *x = v;
        }
    }

    pub fn visits(&self, s: usize, a: usize) -> u32 {
        self.visits.get(s * ACTIONS + a).copied().unwrap_or(0)
    }

    /// Folds one sampled return into the running mean of Q(s, a).
    pub fn learn(&mut self, s: usize, a: usize, sample: f32) {
        let i = s * ACTIONS + a;
        if let (Some(v), Some(q)) = (self.visits.get_mut(i), self.q.get_mut(i)) {
            *v = v.saturating_add(1);
            *q += (sample - *q) / *v as f32;
        }
    }

    /// The greedy action and whether it is trusted.
    pub fn decide(&self, s: usize) -> (usize, bool) {
        let hold = self.value(s, HOLD);
        let end = self.value(s, END);
        let a = if end > hold { END } else { HOLD };
        let visits = self.visits(s, HOLD).min(self.visits(s, END));
        let scale = hold.abs().max(end.abs()).max(1e-6);
        let confident = visits >= MIN_VISITS && (end - hold).abs() / scale >= MIN_MARGIN;
        (a, confident)
    }
}

fn bucket(v: f32, edges: &[f32]) -> usize {
    edges.iter().take_while(|e| v >= **e).count()
}

/// The state index of a running green.
pub fn state(o: &GreenObservation) -> usize {
    let q = bucket(o.own_queue, &[1.0, 3.0, 6.0]);
    let g = bucket(o.gap_ms as f32, &[1000.0, 2000.0, 3000.0]);
    let w = bucket(o.waiting, &[1.0, 4.0, 9.0, 16.0]);
    let share = if o.max_green_ms > 0 {
        o.elapsed_ms as f32 / o.max_green_ms as f32
    } else {
        1.0
    };
    let e = bucket(share, &[0.25, 0.5, 0.75]);
    ((q * GAP_BUCKETS + g) * WAIT_BUCKETS + w) * ELAPSED_BUCKETS + e
}

/// Decision counters (confidence of the learned policy in operation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LearnedStats {
    pub confident: u64,
    pub deferred: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::PhaseId;

    fn obs(q: f32, gap: u32, wait: f32, el: u32) -> GreenObservation {
        GreenObservation {
            phase: PhaseId::new(2).unwrap(),
            own_queue: q,
            waiting: wait,
            gap_ms: gap,
            elapsed_ms: el,
            max_green_ms: 40_000,
            adaptive_end: false,
        }
    }

    #[test]
    fn states_cover_the_table_without_collisions() {
        let mut seen = std::collections::HashSet::new();
        for q in [0.0, 2.0, 4.0, 9.0] {
            for g in [0, 1500, 2500, 5000] {
                for w in [0.0, 2.0, 5.0, 10.0, 30.0] {
                    for e in [0, 15_000, 25_000, 39_000] {
                        let s = state(&obs(q, g, w, e));
                        assert!(s < STATES);
                        seen.insert(s);
                    }
                }
            }
        }
        assert_eq!(seen.len(), STATES);
    }

    #[test]
    fn confidence_needs_visits_and_margin() {
        let mut t = QTable::default();
        t.learn(5, END, -10.0);
        t.learn(5, HOLD, -20.0);
        assert_eq!(t.decide(5), (END, false), "too few samples");
        for _ in 1..MIN_VISITS {
            t.learn(5, END, -10.0);
            t.learn(5, HOLD, -20.0);
        }
        assert_eq!(t.decide(5), (END, true));
        assert!((t.value(5, HOLD) + 20.0).abs() < 1e-4, "running mean");
        t.set_value(5, HOLD, -10.1);
        assert!(!t.decide(5).1, "too close to call");
    }

    #[test]
    fn model_round_trip_and_bad_files() {
        let mut t = QTable::default();
        t.set_value(7, HOLD, 1.5);
        t.episodes = 3;
        let b = t.to_bytes();
        assert_eq!(QTable::from_bytes(&b).unwrap(), t);
        assert_eq!(QTable::from_bytes(&b[..b.len() / 2]), Err(ModelError::Decode));
        let mut old = t.clone();
        old.version = 0;
        assert_eq!(QTable::from_bytes(&old.to_bytes()), Err(ModelError::Version(0)));
    }
}
