//! Real Linux implementations of the `hal` traits (docs/conventions.md 5). Each sits next to a
//! simulated twin in `hal::sim`.

pub mod bank;
pub mod serial;
pub mod watchdog;
