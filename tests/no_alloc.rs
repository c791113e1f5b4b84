//! Proof that the control path does not allocate after start-up (docs/conventions.md 20;
//! docs/architecture.md, Memory and bounds).
//!
//! A counting `#[global_allocator]` wraps the system allocator. The loop — simulated traffic and
//! push buttons → planner → timing engine → conflict monitor → relays with read-back → event ring
//! drain → watchdog kick — runs 1,000,000 ticks (27.8 hours of traffic at 100 ms) after start-up,
//! and the allocation counter must not move. Includes Webster replanning in scenario slots at
//! every cycle boundary, pedestrian calls, a detector failure with the fail-safe switch, and its
//! recovery.

use greenwave::config::Site;
use greenwave::detect::DetectorHealth;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;
use std::sync::atomic::Ordering;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, COUNTING};

#[test]
fn million_ticks_without_allocation() {
    let site = Site::load(std::path::Path::new("board/sites/nema8-4leg.toml")).expect("site");
    let traffic = SimTraffic::new(&site, 1.2, 7);
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        traffic,
    );
    let tick = u64::from(site.tick_ms);
    let mut drained = 0u64;
    // Start-up (may allocate: not counted).
    lp.tick(Instant(0), true);
    COUNTING.store(true, Ordering::SeqCst);
    for k in 1..=1_000_000u64 {
        // A detector fails for 5 minutes in the middle of the run: the fail-safe path is exercised.
        if k == 400_000 {
            lp.street.health[0] = DetectorHealth::StuckOn;
        }
        if k == 403_000 {
            lp.street.health[0] = DetectorHealth::Ok;
        }
        lp.tick(Instant(k * tick), true);
        while lp.controller.events_mut().pop().is_some() {
            drained += 1;
        }
    }
    COUNTING.store(false, Ordering::SeqCst);
    let allocs = ALLOCS.load(Ordering::SeqCst);
    let st = lp.controller.status();
    assert_eq!(allocs, 0, "the control path allocated {allocs} times");
    // The run did real work (so the zero above means something).
    assert!(st.cycles > 500, "cycles {}", st.cycles);
    assert!(st.replans > 100, "replans {}", st.replans);
    assert!(drained > 100_000, "events {drained}");
    assert!(lp.street.stats().served > 50_000);
    assert_eq!(st.faults_total, 0);
    assert_eq!(lp.stats.watchdog_kicks, 1_000_001);
}
