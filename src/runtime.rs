//! Runtime: the controller and the loop that drives it, and the two assemblies that run it.
//!
//! [`controller`] is the pure per-tick control path. [`control_loop`] is the one fixed-rate loop
//! around it (hardware, pacing, reloads, [`LoopStats`](crate::stats::LoopStats)) and drives the
//! services of [`service`] and [`console`] (event log, state keeper, console) and the watchdog
//! under [`supervisor`]. [`sim`] and [`board`] only assemble: simulated traffic and hardware for
//! `greenwave sim`, the cabinet's GPIO, watchdog, console and detection sources for
//! `greenwave run`. [`realtime`] holds the operating-system side (absolute-deadline sleeps, memory
//! locking, real-time priority, signals) and [`pace`] the mapping of controller time to it.
//! [`central`] publishes the unit status to central management and applies its requests.
//! [`logger`] and [`state`] write the event log and the persistent state on their own threads;
//! [`loss`] turns their write failures into alarms the loop logs once per episode; [`summary`] is
//! what a run prints at the end.

pub mod board;
pub mod central;
pub mod console;
pub mod control_loop;
pub mod controller;
pub mod heap;
pub mod inject;
pub mod latency;
pub mod logger;
pub mod loss;
pub mod pace;
pub mod realtime;
pub mod rss;
pub mod service;
pub mod sim;
pub mod state;
pub mod stderr_log;
pub mod summary;
pub mod supervisor;
pub mod wallclock;

pub use control_loop::ControlLoop;
pub use controller::{Controller, ControllerMode, Status};
