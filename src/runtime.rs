//! Runtime: the controller and the loops that drive it.
//!
//! [`controller`] is the pure per-tick control path. [`sim`] runs it against the simulated
//! intersection; [`realtime`] holds the operating-system side of the board loop (absolute-deadline
//! sleeps, memory locking, real-time priority, signals). [`logger`] and [`state`] write the event
//! log and the persistent state on their own threads; [`loss`] turns their write failures into
//! alarms the loop logs once per episode.

pub mod board;
pub mod controller;
pub mod heap;
pub mod inject;
pub mod latency;
pub mod logger;
pub mod loss;
pub mod realtime;
pub mod rss;
pub mod sim;
pub mod state;
pub mod stderr_log;
pub mod supervisor;

pub use controller::{Controller, ControllerMode, Status};
