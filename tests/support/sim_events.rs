//! Events of a real controller run on the simulated intersection (the reference site).
#![allow(dead_code)]

use greenwave::config::Site;
use greenwave::events::Event;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;
use std::path::Path;

pub fn reference_site() -> Site {
    Site::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("board/sites/nema8-4leg.toml")).expect("reference site")
}

/// Runs the controller for `seconds` of simulated time and returns every event it logged.
pub fn sim_events(seconds: u64) -> Vec<Event> {
    let site = reference_site();
    let traffic = SimTraffic::new(&site, 1.0, 1);
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        traffic,
    );
    let tick = u64::from(site.tick_ms);
    let mut out = Vec::new();
    for k in 0..seconds * 1000 / tick {
        lp.tick(Instant(k * tick), true);
        while let Some(ev) = lp.controller.events_mut().pop() {
            out.push(ev);
        }
    }
    out
}
