//! # greenwave — an adaptive traffic-signal controller for one intersection
//!
//! One process per intersection on a roadside-cabinet Linux board. The layers, from the street up:
//!
//! ```text
//!  camera/ (V4L2 or simulated frames in preallocated rings)
//!    └─► detect/ (zone detector, NPU decoding)  ──►  DetectorSnapshot (Copy, per tick)
//!                                                        │
//!  plan/  (Webster fixed-time fail-safe, actuated, adaptive)  ──►  PlanCommand
//!                                                        ▼
//!  signal/ timing engine (NEMA dual-ring barrier, min/max green, gap-out, yellow, red clearance,
//!          pedestrian walk / flashing don't walk)  ──►  OutputFrame + Indiana hi-res events
//!                                                        ▼
//!  monitor  (independent conflict monitor on the exact frame)  ──►  relays (hal) | flash
//!                                                        ▼
//!  events/ (hi-res event ring → CSV), console/, watchdog kick (only when every part is healthy)
//! ```
//!
//! `signal`, `monitor`, `plan`, `detect`, `scenario`, `events` and the console parser are pure
//! logic: no I/O, no clock reads, no allocation after construction. Time is passed in as
//! [`time::Instant`]. Only `hal` and `runtime` touch the operating system.
//!
//! Configuration files (site, board, camera, console PIN) are parsed and validated once, in
//! [`config`], into read-only values that every layer above reads.
//!
//! Beside the runtime: [`sim`] is the simulated street (traffic model, soak faults) that
//! `greenwave sim` and the tests drive the controller with, and [`train`] learns the `learned`
//! planner's table offline through the same controller, conflict monitor included.
//!
//! Capacities are constants in [`limits`].
//!
//! [`phase`], [`frame`], [`fault`], [`time`] and [`limits`] are leaves: they import nothing of the
//! crate but each other, so every layer can name phases, frames and faults without depending on
//! the layer that produces them.
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod camera;
pub mod central;
pub mod config;
pub mod console;
pub mod detect;
pub mod events;
pub mod fault;
pub mod frame;
pub mod hal;
pub mod limits;
pub mod monitor;
/// Corridor offsets by two-way bandwidth maximisation (`greenwave offsets`): a host tool.
pub mod offsets;
pub mod phase;
pub mod plan;
/// Timing diagrams (`greenwave plot`): a host tool, compiled only with the `plot` feature (on by
/// default, left out of board builds).
#[cfg(feature = "plot")]
pub mod plot;
pub mod runtime;
pub mod scenario;
pub mod signal;
pub mod sim;
pub mod stats;
pub mod time;
pub mod train;
pub mod verify;
