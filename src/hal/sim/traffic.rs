//! Simulated traffic (filled in below).
