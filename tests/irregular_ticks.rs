//! The controller on a real-time clock: ticks do not arrive on exact multiples of the tick length
//! (a late wake-up, a signal, a busy CPU), and controller time is the clock read at each wake-up.
//! Whatever the spacing, every interval must last at least its configured length and the
//! independent monitor must never fault — in particular the flashing-yellow-arrow clearance that
//! the opposing through's red clearance covers, which used to be foreseen from the tick it started
//! and could end early when a later tick ended the arrow's yellow.

use greenwave::config::Site;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::sim::traffic::{Rng, SimTraffic};
use greenwave::time::Instant;

const NEMA8: &str = include_str!("../board/sites/nema8-4leg.toml");

fn site_with_tick(tick_ms: u32) -> Site {
    let text = NEMA8.replace("tick_ms = 100", &format!("tick_ms = {tick_ms}"));
    Site::parse(&text, "nema8-4leg.toml").expect("site")
}

/// Runs `hours` of traffic with tick spacings drawn from `min_ms..=max_ms`; returns faults.
fn run(site: &Site, volumes: f64, seed: u64, hours: u64, min_ms: u64, max_ms: u64) -> (u32, u64) {
    let traffic = SimTraffic::new(site, volumes, seed);
    let mut lp = ControlLoop::new(
        site,
        &greenwave::monitor::card::MmuCard::from_geometry(site),
        SimRelays::default(),
        SimWatchdog::default(),
        traffic,
    );
    let mut rng = Rng::new(seed ^ 0x71c6);
    let mut now = 0u64;
    while now < hours * 3_600_000 {
        lp.tick(Instant(now), true);
        while lp.controller.events_mut().pop().is_some() {}
        if let Some(f) = lp.controller.monitor().latched() {
            panic!("fault at {} ms (spacing {min_ms}-{max_ms} ms): {f}", now);
        }
        now += min_ms + rng.next_u64() % (max_ms - min_ms + 1);
    }
    (lp.controller.monitor().faults_total(), lp.controller.status().cycles)
}

#[test]
fn jittered_real_time_ticks_never_fault() {
    let site = site_with_tick(100);
    for (seed, volumes) in [(1, 1.0), (2, 1.4), (3, 0.4)] {
        // 100 ms nominal with wake-ups up to 3 ms late.
        let (faults, cycles) = run(&site, volumes, seed, 2, 100, 103);
        assert_eq!(faults, 0);
        assert!(cycles > 50, "only {cycles} cycles");
        // Badly late wake-ups: anywhere from 1 ms to three ticks apart.
        let (faults, _) = run(&site, volumes, seed, 2, 1, 300);
        assert_eq!(faults, 0);
    }
}

/// The reference site retimed on whole seconds, so every coarse tick divides every interval.
fn whole_second_site(tick_ms: u32) -> Site {
    let mut text = NEMA8
        .replace("tick_ms = 100", &format!("tick_ms = {tick_ms}"))
        .replace("passage_s = 2.5", "passage_s = 3");
    text = text.replace(
        "design_volume_vph = ",
        "yellow_s = 4\nred_clear_s = 2\ndesign_volume_vph = ",
    );
    text = text.replace("walk_s = 7", "walk_s = 7\nclearance_s = 17");
    Site::parse(&text, "coarse.toml").unwrap_or_else(|e| panic!("tick {tick_ms}: {e}"))
}

#[test]
fn coarse_ticks_that_divide_every_interval_never_fault() {
    for tick in [125, 250, 500, 1000] {
        let site = whole_second_site(tick);
        let (faults, cycles) = run(&site, 1.0, 7, 2, u64::from(tick), u64::from(tick));
        assert_eq!(faults, 0, "tick {tick}");
        assert!(cycles > 50, "tick {tick}: only {cycles} cycles");
    }
}

#[test]
fn a_tick_that_does_not_divide_an_interval_is_refused() {
    let e = Site::parse(&NEMA8.replace("tick_ms = 100", "tick_ms = 250"), "t.toml").unwrap_err();
    let e = e.to_string();
    assert!(e.contains("site.tick_ms") && e.contains("does not divide"), "{e}");
}
