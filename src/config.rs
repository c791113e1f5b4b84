//! Configuration: every file the controller reads, parsed once into validated, read-only values.
//!
//! - [`site`]: the intersection (`board/sites/*.toml`) — rings and barriers (NEMA TS2), phase
//!   timing, geometry, crossings, detectors, preemption; yellow, red clearance and pedestrian
//!   clearance derived by the ITE and MUTCD formulas in [`derive`](mod@derive). Each vehicle phase
//!   states its approach leg and movements ([`geometry`]); validation refuses a structure that lets
//!   crossing or merging movements run together (MUTCD 4D.05), so a typo in `barriers` is caught
//!   here as well as by the cabinet's compatibility card.
//! - [`board`]: the cabinet (`board/*.toml`) — GPIO lines of every lamp, inputs, devices, and the
//!   `[mmu]` compatibility card's data ([`board::mmu`]); `monitor::card` builds the monitor's card
//!   from it and `hal` builds the hardware from a validated [`board::Board`].
//! - [`camera`]: the site file's `[camera]` table — image size, frame slots, zones over the lanes.
//! - [`console`]: the site file's `[console]` table — the maintenance console's PIN hash.
//! - [`schedule`]: `[[pattern]]`, `[[day_plan]]` and `[schedule]` — coordination patterns (cycle,
//!   offset, splits) and the time-of-day calendar selecting free, a pattern, fixed time or flash.
//! - [`file`](mod@file): the files as written (TOML with spans) and the one bounded reader of input
//!   files.
//!
//! Every error is a [`ConfigError`] ([`diag`]) that names the file, the line and the field, and
//! says how to fix it; one rule turns a position in a file into a line.

pub mod board;
pub mod camera;
pub mod console;
pub mod derive;
pub mod diag;
pub mod file;
pub mod geometry;
pub mod mqtt;
pub mod schedule;
pub mod site;
pub mod snmp;

pub use diag::ConfigError;
pub use site::{
    parse_planner, DetectorDef, FlashColor, PedTiming, PhaseTiming, PlannerKind, PreemptDef, Recall, Ring, Site,
    SiteConfig, SiteData, TransitDef,
};
