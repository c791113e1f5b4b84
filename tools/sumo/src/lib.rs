//! greenwave against Eclipse SUMO: an own TraCI client ([`traci`]), the reference scenarios
//! ([`scenario`]), SUMO process handling and trip statistics ([`sumo`]), and the bridge that lets
//! greenwave's real controller drive SUMO's junction ([`bridge`]). The `greenwave-sumo` binary
//! runs the benchmark against SUMO's own controllers.

pub mod bridge;
pub mod camera;
pub mod scenario;
pub mod sumo;
pub mod traci;
pub mod train;
