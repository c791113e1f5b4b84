//! Central phase control (NTCIP 1202 phase control group, as SNMP SETs apply it) on the NEMA
//! 8-phase site, engine level: a hold keeps a green only until its max green, a force-off never
//! cuts min green, an omit keeps a call unserved but never cuts a running green, a pedestrian
//! omit keeps a button from calling a WALK; each change is an Indiana event.

use greenwave::config::Site;
use greenwave::events::{code, Event, EventRing};
use greenwave::signal::engine::{Demand, Directive, Engine, PhaseControl};
use greenwave::signal::phase::{PhaseId, PhaseSet};
use greenwave::time::Instant;

const NEMA8: &str = include_str!("../board/sites/nema8-4leg.toml");

fn set(ns: &[u8]) -> PhaseSet {
    ns.iter()
        .fold(PhaseSet::EMPTY, |s, n| s.with(PhaseId::new(*n).unwrap()))
}

/// Runs the engine from `from` for `ms` (100 ms ticks); `at` runs before each step (controls).
fn drive(
    site: &Site,
    e: &mut Engine,
    from: u64,
    ms: u64,
    mut demand: impl FnMut(u64) -> Demand,
    mut at: impl FnMut(u64, &mut Engine, &mut EventRing),
) -> Vec<Event> {
    let mut ev = EventRing::new();
    let mut out = Vec::new();
    let mut t = from;
    while t < from + ms {
        at(t, e, &mut ev);
        e.step(site, Instant(t), &demand(t), &Directive::Actuated, &mut ev);
        while let Some(x) = ev.pop() {
            out.push(x);
        }
        t += 100;
    }
    out
}

fn first(evs: &[Event], c: u8, ph: u8) -> Option<u64> {
    evs.iter()
        .find(|e| e.code == c && e.param == u16::from(ph))
        .map(|e| e.at.0)
}

fn call(ns: &[u8]) -> impl FnMut(u64) -> Demand + '_ {
    move |_| Demand {
        veh: set(ns),
        ..Demand::default()
    }
}

#[test]
fn a_hold_keeps_the_green_past_its_gap_out_but_not_past_max_green() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut e = Engine::new(Instant(0));
    // 2 and 6 come up on recall at 4 s and rest; hold them, then call 4 at 20 s (no extension).
    drive(
        &site,
        &mut e,
        0,
        20_000,
        |_| Demand::default(),
        |t, e, ev| {
            if t == 10_000 {
                e.set_phase_control(PhaseControl::Hold, set(&[2, 6]), Instant(t), ev);
            }
        },
    );
    let evs = drive(&site, &mut e, 20_000, 60_000, call(&[4]), |_, _, _| {});
    // Without the hold both would gap out at 20 s; held, they run to max green (45 s from the call).
    assert_eq!(first(&evs, code::PHASE_MAX_OUT, 2), Some(65_000));
    assert_eq!(first(&evs, code::PHASE_BEGIN_YELLOW, 2), Some(65_000));
    assert!(first(&evs, code::PHASE_GAP_OUT, 2).is_none());
}

#[test]
fn releasing_a_hold_lets_the_green_gap_out_and_both_changes_are_logged() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut e = Engine::new(Instant(0));
    let evs = drive(&site, &mut e, 0, 40_000, call(&[4]), |t, e, ev| {
        if t == 5_000 {
            e.set_phase_control(PhaseControl::Hold, set(&[2]), Instant(t), ev);
        }
        if t == 30_000 {
            e.set_phase_control(PhaseControl::Hold, PhaseSet::EMPTY, Instant(t), ev);
        }
    });
    assert_eq!(first(&evs, code::PHASE_HOLD_ACTIVE, 2), Some(5_000));
    assert_eq!(first(&evs, code::PHASE_HOLD_RELEASED, 2), Some(30_000));
    // 6 (not held) gapped out at its min green and waits at the barrier; 2 goes once released.
    assert_eq!(first(&evs, code::PHASE_GAP_OUT, 2), Some(30_000));
}

#[test]
fn a_force_off_waits_for_min_green_and_ends_the_green_then() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut e = Engine::new(Instant(0));
    // 2 and 6 green at 4 s, extended continuously, 4 called: normally they run to max out.
    let extend = |_| Demand {
        veh: set(&[4]),
        extend: set(&[2, 6]),
        ..Demand::default()
    };
    let evs = drive(&site, &mut e, 0, 30_000, extend, |t, e, ev| {
        if t == 5_000 {
            e.set_phase_control(PhaseControl::ForceOff, set(&[2, 6]), Instant(t), ev);
        }
    });
    // Min green is 10 s: the force-off acts at 14 s, not at 5 s.
    assert_eq!(first(&evs, code::PHASE_MIN_COMPLETE, 2), Some(14_000));
    assert_eq!(first(&evs, code::PHASE_FORCE_OFF, 2), Some(14_000));
    assert_eq!(first(&evs, code::PHASE_BEGIN_YELLOW, 2), Some(14_000));
}

#[test]
fn an_omitted_phase_is_not_served_and_a_running_green_is_not_cut() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut e = Engine::new(Instant(0));
    let evs = drive(&site, &mut e, 0, 60_000, call(&[4]), |t, e, ev| {
        if t == 0 {
            e.set_phase_control(PhaseControl::Omit, set(&[4]), Instant(t), ev);
        }
    });
    assert_eq!(first(&evs, code::PHASE_OMIT_ON, 4), Some(0));
    assert!(
        first(&evs, code::PHASE_BEGIN_GREEN, 4).is_none(),
        "omitted 4 was served"
    );
    assert!(
        first(&evs, code::PHASE_BEGIN_YELLOW, 2).is_none(),
        "2 left green for an omitted call"
    );
    // Omit 2 while it is green: it ends exactly when it would have without the omit (here on the
    // call on 4, no longer omitted), never earlier.
    let mut plain = e.clone();
    let demand = |t: u64| Demand {
        veh: set(&[4]),
        extend: if t < 70_000 { set(&[2]) } else { PhaseSet::EMPTY },
        ..Demand::default()
    };
    let evs = drive(&site, &mut e, 60_000, 20_000, demand, |t, e, ev| {
        if t == 60_000 {
            e.set_phase_control(PhaseControl::Omit, set(&[2]), Instant(t), ev);
        }
    });
    let base = drive(&site, &mut plain, 60_000, 20_000, demand, |t, e, ev| {
        if t == 60_000 {
            e.set_phase_control(PhaseControl::Omit, PhaseSet::EMPTY, Instant(t), ev);
        }
    });
    assert_eq!(first(&evs, code::PHASE_OMIT_OFF, 4), Some(60_000));
    assert_eq!(first(&evs, code::PHASE_OMIT_ON, 2), Some(60_000));
    let y2 = first(&evs, code::PHASE_BEGIN_YELLOW, 2).expect("2 ends");
    assert_eq!(
        Some(y2),
        first(&base, code::PHASE_BEGIN_YELLOW, 2),
        "the omit moved the end of 2"
    );
    assert!(
        first(&evs, code::PHASE_BEGIN_GREEN, 4).is_some(),
        "4 served once no longer omitted"
    );
}

#[test]
fn a_pedestrian_omit_keeps_the_button_from_calling_a_walk() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut e = Engine::new(Instant(0));
    let button = |_| Demand {
        ped: set(&[4]),
        ..Demand::default()
    };
    let evs = drive(&site, &mut e, 0, 60_000, button, |t, e, ev| {
        if t == 0 {
            e.set_phase_control(PhaseControl::PedOmit, set(&[4]), Instant(t), ev);
        }
    });
    assert_eq!(first(&evs, code::PED_OMIT_ON, 4), Some(0));
    assert!(first(&evs, code::PED_CALL_REGISTERED, 4).is_none());
    assert!(first(&evs, code::PED_BEGIN_WALK, 4).is_none());
}
