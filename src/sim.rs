//! The simulated street: what the cabinet's sensors would see at a real intersection, so the whole
//! control path runs on a host without SUMO or cameras (`greenwave sim`, `greenwave train`, tests).
//!
//! - [`traffic`] — a seeded traffic model of the intersection: arrivals, queues and discharge under
//!   the lamps shown, detector snapshots and pedestrian buttons.
//! - [`faults`] — a seeded schedule of detection faults (camera stalls, stuck and chattering
//!   detectors) and one welded relay, for soak runs (`greenwave sim --faults`).
//!
//! The simulated devices of the cabinet itself (relays, inputs, clock, watchdog) are `hal::sim`.

pub mod faults;
pub mod traffic;
