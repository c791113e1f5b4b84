//! Intersection (site) configuration.

pub mod derive;
