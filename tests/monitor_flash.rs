//! Conflict injection: a conflicting frame latches flash within one tick, the fault and the frame
//! are recorded, flash is 1 Hz 50 % per head, and only an operator clear ends it.

use greenwave::config::Site;
use greenwave::hal::sim::{FaultInjector, RelayFault, SimRelays, SimWatchdog};
use greenwave::monitor::{FaultKind, Monitor};
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::runtime::ControllerMode;
use greenwave::signal::frame::{lamp, Aspect};
use greenwave::signal::phase::PhaseId;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;

#[path = "support/frames.rs"]
mod frames;
use frames::all_red;

fn site() -> Site {
    Site::load(std::path::Path::new("board/sites/nema8-4leg.toml")).unwrap()
}

fn p(n: u8) -> PhaseId {
    PhaseId::new(n).unwrap()
}

#[test]
fn conflicting_greens_latch_on_the_same_frame() {
    let site = site();
    let mut m = Monitor::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let mut f = all_red(&site);
    assert!(m.check(Instant(0), &f).is_none());
    f.set_aspect(p(2), Aspect::Green);
    f.set_aspect(p(6), Aspect::Green); // 2 and 6 are compatible
    assert!(m.check(Instant(5_000), &f).is_none());
    f.set_aspect(p(4), Aspect::Green); // 4 conflicts with both
    let fault = m.check(Instant(5_100), &f).expect("conflict must latch");
    assert_eq!(fault.kind, FaultKind::Conflict);
    assert_eq!(fault.frame, f, "the offending frame is recorded");
    assert_eq!(m.latched().map(|x| x.kind), Some(FaultKind::Conflict));
    assert_eq!(m.history().count(), 1);
    // Flash: configured heads red on the first half second, dark on the second, peds dark.
    let on = m.flash_frame(Instant(6_000));
    let off = m.flash_frame(Instant(6_500));
    for q in site.phases() {
        assert_eq!(on.veh[q.id.index()], lamp::RED);
        assert_eq!(off.veh[q.id.index()], 0);
        assert_eq!(on.ped[q.id.index()], 0);
    }
    // Latched until cleared.
    assert!(m.check(Instant(7_000), &all_red(&site)).is_none());
    assert!(m.latched().is_some());
    assert!(m.clear(Instant(8_000)));
    assert!(m.latched().is_none());
}

#[test]
fn every_rule_is_checked() {
    let site = site();
    let fresh = || {
        Monitor::new(
            &site,
            &greenwave::monitor::card::MmuCard::from_geometry(&site),
            Instant(0),
        )
    };
    let red = all_red(&site);
    // Dual indication.
    let mut f = red;
    f.veh[p(2).index()] = lamp::RED | lamp::GREEN;
    assert_eq!(fresh().check(Instant(0), &f).unwrap().kind, FaultKind::DualIndication);
    // Walk without green.
    let mut f = red;
    f.ped[p(2).index()] = 1;
    assert_eq!(fresh().check(Instant(0), &f).unwrap().kind, FaultKind::WalkWithoutGreen);
    // Walk conflicting with a green: walk on 2 (with 2 green) and 4 green.
    let mut f = red;
    f.set_aspect(p(2), Aspect::Green);
    f.ped[p(2).index()] = 1;
    f.set_aspect(p(8), Aspect::Green);
    assert_eq!(fresh().check(Instant(0), &f).unwrap().kind, FaultKind::Conflict);
    // Green straight to red.
    let mut m = fresh();
    let mut f = red;
    f.set_aspect(p(2), Aspect::Green);
    assert!(m.check(Instant(0), &f).is_none());
    assert_eq!(m.check(Instant(100), &red).unwrap().kind, FaultKind::SkippedYellow);
    // Red clearance too short before a conflicting green: 2 yellow 3.3 s, red 0.5 s, 4 green.
    let mut m = fresh();
    let mut f = red;
    f.set_aspect(p(2), Aspect::Green);
    assert!(m.check(Instant(0), &f).is_none());
    f.set_aspect(p(2), Aspect::Yellow);
    assert!(m.check(Instant(10_000), &f).is_none());
    assert!(m.check(Instant(13_300), &red).is_none());
    let mut g = red;
    g.set_aspect(p(4), Aspect::Green);
    let fault = m.check(Instant(13_800), &g).unwrap();
    assert_eq!(fault.kind, FaultKind::ShortRedClearance);
    // Unconfigured head lit (a site without phase 8 would be needed; use a lamp bit outside RYG).
    let mut f = red;
    f.veh[p(3).index()] = 8;
    assert!(fresh().check(Instant(0), &f).is_some());
}

/// Through the whole loop: a welded green relay on a conflicting phase shows in the read-back;
/// the very next frame written is flash, and it stays flash until an operator clear.
#[test]
fn stuck_relay_flashes_on_the_next_tick_and_clear_restarts_safely() {
    let site = site();
    let traffic = SimTraffic::new(&site, 1.0, 3);
    let relays = FaultInjector {
        inner: SimRelays::default(),
        fault: RelayFault::None,
    };
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        relays,
        SimWatchdog::default(),
        traffic,
    );
    let mut k = 0u64;
    // Run until phase 2 is green.
    while lp.relays.inner.last.aspect(p(2)) != Aspect::Green {
        lp.tick(Instant(k * 100), true);
        k += 1;
        assert!(k < 2_000, "phase 2 never went green");
    }
    lp.relays.fault = RelayFault::StuckOn {
        phase: p(4).index(),
        bits: lamp::GREEN,
    };
    lp.tick(Instant(k * 100), true); // written normally; read-back shows 4 green with 2 green
    k += 1;
    let st = lp.controller.status();
    assert_eq!(st.mode, ControllerMode::Flash);
    assert_eq!(st.fault.unwrap().kind, FaultKind::RelayReadBack);
    lp.tick(Instant(k * 100), true);
    let written = lp.relays.inner.last;
    assert!(
        written.veh.iter().all(|v| *v == 0 || *v == lamp::RED),
        "flash frame: {written}"
    );
    assert!(written.ped.iter().all(|v| *v == 0));
    // The alarm and flash events are logged.
    let mut saw_alarm = false;
    let mut saw_flash = false;
    while let Some(e) = lp.controller.events_mut().pop() {
        saw_alarm |= e.code == 174 && e.param == FaultKind::RelayReadBack.number();
        saw_flash |= e.code == 173 && e.param == 1;
    }
    assert!(saw_alarm && saw_flash);
    // Stays in flash for minutes without operator action.
    for _ in 0..3_000 {
        k += 1;
        lp.tick(Instant(k * 100), true);
    }
    assert_eq!(lp.controller.status().mode, ControllerMode::Flash);
    // Relay repaired, operator clears: start-up all red, then normal service with no fault.
    lp.relays.fault = RelayFault::None;
    k += 1;
    assert!(lp.controller.clear_flash(Instant(k * 100)));
    lp.tick(Instant(k * 100), true);
    assert_eq!(lp.controller.status().mode, ControllerMode::Startup);
    for _ in 0..6_000 {
        k += 1;
        lp.tick(Instant(k * 100), true);
    }
    let st = lp.controller.status();
    assert_eq!(st.mode, ControllerMode::Run);
    assert_eq!(st.faults_total, 1);
}

#[test]
fn relay_write_failure_latches_and_stops_watchdog_kicks() {
    let site = site();
    let traffic = SimTraffic::new(&site, 1.0, 3);
    let relays = FaultInjector {
        inner: SimRelays::default(),
        fault: RelayFault::WriteFails,
    };
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        relays,
        SimWatchdog::default(),
        traffic,
    );
    lp.tick(Instant(0), true);
    assert_eq!(lp.controller.status().mode, ControllerMode::Flash);
    assert_eq!(
        lp.watchdog.kicks, 0,
        "an unwritable relay bank must let the watchdog reset the board"
    );
}
