//! Real Linux implementations of the `hal` traits (STYLE.md 5). Each sits next to a simulated twin
//! in `hal::sim`.

#[cfg(feature = "gpio-cdev")]
pub mod cdev;
pub mod lines;
#[cfg(feature = "rpi")]
pub mod rpi;
pub mod serial;
pub mod watchdog;
