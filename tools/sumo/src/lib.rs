//! greenwave against Eclipse SUMO: an own TraCI client ([`traci`]), the reference scenarios
//! ([`scenario`]), SUMO process handling and trip statistics ([`sumo`]), and the bridge that lets
//! greenwave's real controller drive SUMO's junction ([`bridge`]) through the site's `[sumo]`
//! mapping ([`mapping`], checked against the net read by [`net`]). The `greenwave-sumo` binary
//! runs the benchmark against SUMO's own controllers, on the reference net or the engineer's own
//! ([`own`]), and a five-signal coordinated corridor ([`corridor`]).

pub mod bridge;
pub mod camera;
pub mod corridor;
pub mod mapping;
pub mod net;
pub mod own;
pub mod scenario;
pub mod sumo;
pub mod traci;
pub mod train;
