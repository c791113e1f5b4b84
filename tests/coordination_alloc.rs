//! The schedule and the coordination pattern timer do not allocate on the control path
//! (docs/conventions.md 20): a coordinated site runs from 00:30 to 10:00 local time through its
//! night flash, fixed time, two coordinated patterns with their transitions, and wall-clock steps
//! of an hour and of seconds, while a counting allocator watches; then the console's `schedule`
//! shows where it is, without allocating either.

use greenwave::config::Site;
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
fn a_scheduled_coordinated_night_and_morning_without_allocation() {
    let site = Site::load(std::path::Path::new("board/sites/nema8-coordinated.toml")).expect("site");
    let traffic = SimTraffic::new(&site, 1.0, 11);
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        traffic,
    );
    // 2026-11-30 00:30 in New York (EST, UTC-5).
    let start = 1_796_016_600_000i64;
    lp.controller.set_wall(Instant(0), start);
    let tick = u64::from(site.tick_ms);
    lp.tick(Instant(0), true);
    let mut patterns = std::collections::BTreeSet::new();
    let mut flash = false;
    COUNTING.store(true, Ordering::SeqCst);
    let mut anchor = start;
    for k in 1..=342_000u64 {
        // The wall clock steps: an hour back and forward again, then 40 s ahead.
        let step = match k {
            250_000 => -3_600_000,
            260_000 => 3_600_000,
            300_000 => 40_000,
            _ => 0,
        };
        if step != 0 {
            anchor += step;
            lp.controller.set_wall(Instant(0), anchor);
        }
        lp.tick(Instant(k * tick), true);
        while lp.controller.events_mut().pop().is_some() {}
        let st = lp.controller.status();
        if st.cycle_timer_s.is_some() {
            COUNTING.store(false, Ordering::SeqCst);
            patterns.insert(st.pattern);
            COUNTING.store(true, Ordering::SeqCst);
        }
        flash |= st.pattern == 255;
    }
    COUNTING.store(false, Ordering::SeqCst);
    let allocs = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(allocs, 0, "the control path allocated {allocs} times");
    // The run went through what it claims.
    assert!(flash, "no scheduled flash");
    assert_eq!(patterns.into_iter().collect::<Vec<_>>(), vec![1, 2]);
    assert!(lp.controller.coordinator().transitions >= 2);
    assert_eq!(lp.controller.status().faults_total, 0);

    // The console's `schedule` at 10:00:40 local.
    let mut console = Console::new(None);
    let mut port = SimSerial::default();
    console.start(site.name.as_str());
    let det = DetectorSnapshot::EMPTY;
    port.type_bytes(b"schedule\r");
    let now = Instant(342_001 * tick);
    lp.tick(now, true);
    COUNTING.store(true, Ordering::SeqCst);
    let mut bound = Bound {
        controller: &mut lp.controller,
        cameras: None,
        detectors: &det,
        loops: None,
        stats: LoopStats::default(),
        watchdog_ok: true,
        now,
        snapshots: None,
    };
    console.poll(&mut port, now, &mut bound).unwrap();
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(ALLOCS.load(Ordering::SeqCst), 0, "the console allocated");
    let out = String::from_utf8_lossy(&port.output).into_owned();
    for needle in [
        "schedule  week calendar, time zone America/New_York",
        "local     2026-11-30 10:00:40",
        "action    pattern 2 since 2026-11-30 09:30",
        "pattern   2: cycle 80.0 s, offset 30.0 s to green start of the coordinated phases, in step, cycle timer ",
        "next      pattern 3 at 2026-11-30 15:30",
    ] {
        assert!(out.contains(needle), "missing `{needle}` in\n{out}");
    }
}
