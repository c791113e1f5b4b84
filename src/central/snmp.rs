//! NTCIP 1202 over SNMP: the agent a traffic management centre polls and commands.
//!
//! - [`mib`]: the objects served, read from the unit status the loop publishes each tick;
//! - [`usm`]: SNMPv3 user-based security (SHA-256 authentication, AES-128 privacy);
//! - [`proto`]: one message in, one answer out (SNMPv2c read-only, SNMPv3 reads and writes);
//! - [`agent`]: the UDP socket on its own thread, per-source rate limits, counters.
//!
//! The control loop only publishes its status and takes queued requests (`central::status`,
//! `central::command`): an SNMP storm costs the agent's thread, never the loop's tick.

pub mod agent;
pub mod mib;
pub mod proto;
pub mod usm;
