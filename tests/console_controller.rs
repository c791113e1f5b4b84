//! The console on the real controller: five simulated minutes of the reference intersection, then a
//! technician session through the simulated serial port. Checks what the console shows against the
//! controller's own status, that `set plan` reaches the planner, and (counting allocator) that the
//! session does not allocate.

#[path = "support/sim_events.rs"]
mod sim_events;

use greenwave::config::PlannerKind;
use greenwave::console::lock::PinHash;
use greenwave::console::Console;
use greenwave::detect::DetectorSnapshot;
use greenwave::hal::sim::serial::SimSerial;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::runtime::console::Bound;
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::sim::traffic::SimTraffic;
use greenwave::stats::LoopStats;
use greenwave::time::Instant;
use std::sync::atomic::Ordering;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, COUNTING};

#[test]
fn console_on_the_running_controller() {
    let site = sim_events::reference_site();
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        SimTraffic::new(&site, 1.0, 1),
    );
    let mut console = Console::new(Some(PinHash::derive(b"2468", *b"cabinet-0001-abc", 64)));
    let mut port = SimSerial::default();
    console.start(site.name.as_str());
    let det = DetectorSnapshot::EMPTY;
    let tick = u64::from(site.tick_ms);
    let script: &[(u64, &[u8])] = &[
        (3000, b"status\r"),
        (
            3001,
            b"phases\rtiming\rdetectors\rfaults\rscenarios\rstats\revents 20\r",
        ),
        (
            3002,
            b"unlock 2468\rset plan webster\rrecall 2\rpreempt test 1\rpreempt test 5\rclear flash\r",
        ),
        (3010, b"status\r"),
    ];
    COUNTING.store(true, Ordering::SeqCst);
    for k in 0..3020u64 {
        let now = Instant(k * tick);
        lp.tick(now, true);
        while let Some(ev) = lp.controller.events_mut().pop() {
            console.record_event(&ev);
        }
        for (_, input) in script.iter().filter(|(at, _)| *at == k) {
            port.type_bytes(input);
        }
        let stats = LoopStats {
            ticks: lp.stats.ticks,
            ..LoopStats::default()
        };
        let mut bound = Bound {
            controller: &mut lp.controller,
            cameras: None,
            detectors: &det,
            loops: None,
            stats,
            watchdog_ok: true,
            now,
            snapshots: None,
        };
        console.poll(&mut port, now, &mut bound).unwrap();
    }
    let allocations = ALLOCS.load(Ordering::SeqCst);
    COUNTING.store(false, Ordering::SeqCst);

    let out = String::from_utf8_lossy(&port.output).into_owned();
    println!("{out}");
    assert_eq!(allocations, 0, "controller + console allocated {allocations} times");
    assert_eq!(lp.controller.status().planner, PlannerKind::Webster);
    for needle in [
        "mode run  planner actuated",
        "mode run  planner webster",
        "NB through",
        "webster plan (actuated): cycle",
        // The reference site's design-volume lefts run on their flashing arrow in fixed time.
        "; flashing arrow only: 1 3 5 7",
        "begin yellow",
        "fya yellow",
        "slots 0/",
        "ticks 3002",
        "refused: that preempt input is not configured at this site",
        "refused: the controller is not in a fault flash",
        "(no faults recorded)",
    ] {
        assert!(out.contains(needle), "missing `{needle}`");
    }
    // Exactly the phases the controller times are shown in green.
    let s = lp.controller.status();
    assert!(s.rings.iter().take(s.nrings).any(|r| r.phase.is_some()));
}
