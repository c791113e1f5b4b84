//! Signal timing: phases, the output frame and the NEMA dual-ring timing engine.

pub mod engine;
pub mod frame;
pub mod phase;
