//! Central management: what the systems a city already runs see of the controller and may ask of
//! it (NTCIP 1202 over SNMP, fleet telemetry over MQTT).
//!
//! Two fixed-size channels join the control loop and the central-management threads, so that
//! neither ever waits for the other:
//!
//! - [`status`]: a [`status::UnitStatus`] the loop publishes each tick through a triple buffer;
//!   a reader always gets the newest complete snapshot, never a torn one, without a lock.
//! - [`command`]: requests from a central thread (an SNMP SET, say) to the loop, which applies each
//!   through the same console [`Action`](crate::console::view::Action) path and the same safety
//!   rules as an operator at the cabinet, and answers with the result.

pub mod command;
pub mod mqtt;
pub mod snmp;
pub mod status;
