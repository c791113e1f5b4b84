//! A console session over the whole loop on the simulated intersection: the controller runs
//! `ticks` ticks, the operator types `input` at tick `at`, and the console's output comes back.
#![allow(dead_code)]

use greenwave::config::Site;
use greenwave::console::Console;
use greenwave::detect::DetectorSnapshot;
use greenwave::hal::sim::serial::SimSerial;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::monitor::card::MmuCard;
use greenwave::runtime::console::Bound;
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::sim::traffic::SimTraffic;
use greenwave::stats::LoopStats;
use greenwave::time::Instant;

pub fn console_session(site: &Site, stats: LoopStats, ticks: u64, at: u64, input: &[u8]) -> String {
    let mut lp = ControlLoop::new(
        site,
        &MmuCard::from_geometry(site),
        SimRelays::default(),
        SimWatchdog::default(),
        SimTraffic::new(site, 1.0, 1),
    );
    let mut console = Console::new(None);
    let mut port = SimSerial::default();
    console.start(site.name.as_str());
    let det = DetectorSnapshot::EMPTY;
    let tick = u64::from(site.tick_ms);
    for k in 0..ticks {
        let now = Instant(k * tick);
        lp.tick(now, true);
        if k == at {
            port.type_bytes(input);
        }
        let mut bound = Bound {
            controller: &mut lp.controller,
            cameras: None,
            detectors: &det,
            stats,
            watchdog_ok: true,
            now,
        };
        console.poll(&mut port, now, &mut bound).unwrap();
    }
    String::from_utf8_lossy(&port.output).into_owned()
}
