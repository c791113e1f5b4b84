//! The console's `timing` on a controller whose design demand does not fit the site's limits: the
//! Webster plan shown is the capped one, with the reason.

use greenwave::config::Site;
use greenwave::console::controller::Bound;
use greenwave::console::view::LoopStats;
use greenwave::console::Console;
use greenwave::detect::DetectorSnapshot;
use greenwave::hal::sim::serial::SimSerial;
use greenwave::hal::sim::traffic::SimTraffic;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::runtime::sim::ControlLoop;
use greenwave::time::Instant;

#[test]
fn timing_shows_why_the_plan_is_capped() {
    // A directional peak: SB left 400 veh/h (max green 20 s), NB through 1500 veh/h (max green 45 s).
    let text = include_str!("../board/sites/nema8-4leg.toml")
        .replacen("design_volume_vph = 90\n", "design_volume_vph = 400\n", 1)
        .replacen("design_volume_vph = 510\n", "design_volume_vph = 1500\n", 1);
    let site = Site::parse(&text, "peak.toml").unwrap();
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        SimTraffic::new(&site, 1.0, 1),
    );
    let mut console = Console::new(None);
    let mut port = SimSerial::default();
    console.start(site.name.as_str());
    let det = DetectorSnapshot::EMPTY;
    let tick = u64::from(site.tick_ms);
    for k in 0..20u64 {
        let now = Instant(k * tick);
        lp.tick(now, true);
        if k == 10 {
            port.type_bytes(b"timing\r");
        }
        let mut bound = Bound {
            controller: &mut lp.controller,
            detectors: &det,
            stats: LoopStats::default(),
            watchdog_ok: true,
            now,
        };
        console.poll(&mut port, now, &mut bound).unwrap();
    }
    let out = String::from_utf8_lossy(&port.output).into_owned();
    assert!(out.contains("splits 1:20.0 2:45.0"), "{out}");
    assert!(
        out.contains(
            "demand does not fit: Webster cycle 224.3 s capped to 120 s; phase 1 green 26.2 s capped to 20 s \
             (max green); phase 2 green 49.2 s capped to 45 s (max green)"
        ),
        "{out}"
    );
}
