//! The output frame the timing engine renders. The type lives in the leaf module [`crate::frame`],
//! which the monitor, the fault record and the relay drivers import without depending on the
//! timing engine; this path is kept for the code that reaches it through `signal`.

pub use crate::frame::{lamp, ped_lamp, Aspect, OutputFrame};
