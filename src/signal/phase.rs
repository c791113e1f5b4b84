//! Phase numbers and sets of phases, as the timing engine names them. The types live in the leaf
//! module [`crate::phase`], which config, events and the monitor import without depending on the
//! timing engine; this path is kept for the code that reaches them through `signal`.

pub use crate::phase::{PhaseId, PhaseSet};
