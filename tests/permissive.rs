//! Protected/permissive left turns (flashing yellow arrow, MUTCD 4D.17-4D.20) end to end: the
//! engine's arrow sequence and clearance, the monitor's rules, the planner's call handling, the
//! site and board checks and the relay lines.

use greenwave::config::Site;
use greenwave::detect::{DetectorHealth, DetectorSnapshot};
use greenwave::events::{code, EventRing};
use greenwave::hal::board::Board;
use greenwave::hal::gpio::GpioRelays;
use greenwave::hal::sim::gpio::FakeGpio;
use greenwave::hal::{InputFrame, Relays};
use greenwave::monitor::card::check_board;
use greenwave::monitor::{FaultKind, Monitor};
use greenwave::runtime::Controller;
use greenwave::signal::engine::{Demand, Directive, Engine};
use greenwave::signal::frame::{lamp, Aspect};
use greenwave::signal::phase::{PhaseId, PhaseSet};
use greenwave::time::Instant;

#[path = "support/frames.rs"]
mod frames;
use frames::all_red;

const NEMA8: &str = include_str!("../board/sites/nema8-4leg.toml");

fn site() -> Site {
    Site::parse(NEMA8, "nema8-4leg.toml").unwrap()
}

fn p(n: u8) -> PhaseId {
    PhaseId::new(n).unwrap()
}

/// Through 2 and 6 run; left turns 1 and 5 flash while they do; a call on 4 at 30 s ends them.
#[test]
fn the_arrow_flashes_with_its_opposing_through_and_clears_with_it() {
    let site = site();
    let mut e = Engine::new(Instant(0));
    let mut m = Monitor::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let mut ev = EventRing::new();
    let mut log = Vec::new();
    let mut frames = Vec::new();
    for k in 0..700u64 {
        let t = k * 100;
        let d = Demand {
            veh: if t >= 30_000 {
                PhaseSet::EMPTY.with(p(2)).with(p(6)).with(p(4))
            } else {
                PhaseSet::EMPTY.with(p(2)).with(p(6))
            },
            extend: if t < 30_000 {
                PhaseSet::EMPTY.with(p(2)).with(p(6))
            } else {
                PhaseSet::EMPTY
            },
            permissive: PhaseSet(0xff),
            ..Demand::default()
        };
        let f = e.step(&site, Instant(t), &d, &Directive::Actuated, &mut ev);
        assert_eq!(m.check(Instant(t), &f), None, "frame {f} at {t}");
        while let Some(x) = ev.pop() {
            log.push((x.at.0, x.code, x.param));
        }
        frames.push((t, f));
    }
    // While 2 is green, 1 flashes: lit and dark halves of 500 ms each.
    let flashing: Vec<_> = frames
        .iter()
        .filter(|(_, f)| f.aspect(p(2)) == Aspect::Green)
        .map(|(t, f)| (*t, f.veh[0]))
        .collect();
    assert!(flashing.len() > 100);
    assert!(flashing
        .iter()
        .all(|(_, v)| *v == lamp::FYA_LIT || *v == lamp::FYA_DARK));
    let lit = flashing.iter().filter(|(_, v)| *v == lamp::FYA_LIT).count();
    assert!((lit as f64 / flashing.len() as f64 - 0.5).abs() < 0.05, "50 % duty");
    // 2 goes yellow and 1 shows a steady yellow arrow on the same tick.
    let (y2, _) = frames
        .iter()
        .find(|(_, f)| f.aspect(p(2)) == Aspect::Yellow)
        .copied()
        .unwrap();
    let at = |t: u64| frames.iter().find(|(x, _)| *x == t).unwrap().1;
    assert_eq!(at(y2).aspect(p(1)), Aspect::Yellow);
    assert_eq!(at(y2).aspect(p(5)), Aspect::Yellow);
    let ph1 = site.phase(p(1)).unwrap();
    assert_eq!(at(y2 + u64::from(ph1.yellow_ms)).aspect(p(1)), Aspect::Red);
    // 4 starts only after 2's stretched red clearance, which covers 1's arrow clearance.
    let (g4, _) = frames
        .iter()
        .find(|(_, f)| f.aspect(p(4)) == Aspect::Green)
        .copied()
        .unwrap();
    assert!(
        g4 >= y2 + u64::from(site.change_ms(p(2))),
        "4 green at {g4}, 2 yellow at {y2}"
    );
    assert!(g4 >= y2 + u64::from(ph1.yellow_ms + ph1.red_clear_ms));
    // The overlap events of arrow 1 in order.
    let seq: Vec<u8> = log
        .iter()
        .filter(|(_, c, prm)| (61..=65).contains(c) && *prm == 1)
        .map(|(_, c, _)| *c)
        .collect();
    assert_eq!(
        seq[..4],
        [
            code::OVERLAP_BEGIN_GREEN,
            code::OVERLAP_BEGIN_YELLOW,
            code::OVERLAP_BEGIN_RED_CLEARANCE,
            code::OVERLAP_OFF
        ]
    );
}

/// Without the planner's permission no arrow flashes, and the head is a plain protected left.
#[test]
fn no_arrow_without_permission() {
    let site = site();
    let mut e = Engine::new(Instant(0));
    let mut ev = EventRing::new();
    for k in 0..300u64 {
        let d = Demand {
            veh: PhaseSet::EMPTY.with(p(2)).with(p(6)),
            ..Demand::default()
        };
        let f = e.step(&site, Instant(k * 100), &d, &Directive::Actuated, &mut ev);
        assert_ne!(f.aspect(p(1)), Aspect::FlashingYellow);
        while ev.pop().is_some() {}
    }
}

#[test]
fn monitor_allows_only_the_opposing_pair_and_checks_the_arrow_sequence() {
    let site = site();
    let start = |m: &mut Monitor| {
        let mut f = all_red(&site);
        assert!(m.check(Instant(0), &f).is_none());
        f.set_aspect(p(2), Aspect::Green);
        f.set_aspect(p(6), Aspect::Green);
        assert!(m.check(Instant(10_000), &f).is_none());
        f.set_aspect(p(1), Aspect::FlashingYellow);
        assert_eq!(m.check(Instant(10_100), &f), None, "arrow 1 with opposing 2 (and 6)");
        f
    };
    // The permitted sequence: arrow → yellow arrow with 2's yellow → red; 4 after clearance.
    let mut m = Monitor::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let mut f = start(&mut m);
    f.veh[0] = lamp::FYA_DARK;
    assert_eq!(m.check(Instant(10_600), &f), None, "dark half is not a dark head");
    f.set_aspect(p(1), Aspect::Yellow);
    f.set_aspect(p(2), Aspect::Yellow);
    f.set_aspect(p(6), Aspect::Yellow);
    assert_eq!(m.check(Instant(20_000), &f), None, "yellow arrow with 2's yellow");
    f.set_aspect(p(1), Aspect::Red);
    f.set_aspect(p(2), Aspect::Red);
    f.set_aspect(p(6), Aspect::Red);
    assert_eq!(m.check(Instant(23_300), &f), None);
    // 4 too early: 1's red clearance (2.2 s) has not run.
    let mut early = f;
    early.set_aspect(p(4), Aspect::Green);
    let mut m2 = m.clone();
    let fault = m2.check(Instant(25_000), &early).unwrap();
    assert_eq!(fault.kind, FaultKind::ShortRedClearance);
    early.set_aspect(p(4), Aspect::Green);
    assert_eq!(m.check(Instant(25_500), &early), None);

    // An arrow with a conflicting cross-street green.
    let mut m = Monitor::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let mut f = start(&mut m);
    f.set_aspect(p(6), Aspect::Red);
    f.set_aspect(p(8), Aspect::Green);
    assert_eq!(m.check(Instant(11_000), &f).unwrap().kind, FaultKind::Conflict);

    // An arrow whose opposing through is not green.
    let mut m = Monitor::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let mut f = all_red(&site);
    assert!(m.check(Instant(0), &f).is_none());
    f.set_aspect(p(6), Aspect::Green);
    f.set_aspect(p(1), Aspect::FlashingYellow);
    assert_eq!(m.check(Instant(5_000), &f).unwrap().kind, FaultKind::BadPermissive);

    // An arrow on a head that is not a permissive left turn.
    let mut m = Monitor::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let mut f = all_red(&site);
    assert!(m.check(Instant(0), &f).is_none());
    f.set_aspect(p(2), Aspect::FlashingYellow);
    assert_eq!(m.check(Instant(5_000), &f).unwrap().kind, FaultKind::BadPermissive);

    // Arrow straight to red, green arrow straight to the flashing arrow, yellow to the arrow.
    let mut m = Monitor::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let mut f = start(&mut m);
    f.set_aspect(p(1), Aspect::Red);
    assert_eq!(m.check(Instant(11_000), &f).unwrap().kind, FaultKind::SkippedYellow);
    let mut m = Monitor::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let mut f = all_red(&site);
    assert!(m.check(Instant(0), &f).is_none());
    f.set_aspect(p(1), Aspect::Green);
    f.set_aspect(p(6), Aspect::Green);
    assert!(m.check(Instant(5_000), &f).is_none());
    f.set_aspect(p(1), Aspect::FlashingYellow);
    f.set_aspect(p(2), Aspect::Green);
    let k = m.check(Instant(10_000), &f).unwrap().kind;
    assert!(matches!(k, FaultKind::SkippedYellow | FaultKind::Conflict), "{k:?}");
    // A steady yellow that did not follow an arrow gets no exemption.
    let mut m = Monitor::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let mut f = all_red(&site);
    assert!(m.check(Instant(0), &f).is_none());
    f.set_aspect(p(1), Aspect::Green);
    assert!(m.check(Instant(5_000), &f).is_none());
    f.set_aspect(p(1), Aspect::Yellow);
    f.set_aspect(p(2), Aspect::Green);
    assert_eq!(m.check(Instant(10_000), &f).unwrap().kind, FaultKind::Conflict);
}

fn snapshot(now: Instant, left_present: bool, left_queue_m: f32) -> DetectorSnapshot {
    let mut s = DetectorSnapshot {
        at: now,
        ..DetectorSnapshot::EMPTY
    };
    for h in s.health.iter_mut().take(12) {
        *h = DetectorHealth::Ok;
    }
    // Detector 1 = phase 1 (southbound left); 2 and 3 = phase 2 (northbound through).
    s.presence.set(0, left_present);
    s.queue_m[0] = left_queue_m;
    s.presence.set(1, true);
    s
}

/// Runs the controller until phase 2 is green and 1 flashes, then puts a turner on 1's detector
/// with `queue_m` standing, ends the arrow with a call on 4, and reports whether 1 got called.
fn protected_call_after_the_arrow(planner: &str, queue_m: f32) -> bool {
    let site = Site::parse(
        &NEMA8.replace("planner = \"actuated\"", &format!("planner = \"{planner}\"")),
        "x",
    )
    .unwrap();
    let mut c = Controller::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let inputs = InputFrame::default();
    let mut t = 0u64;
    // Reach a flashing arrow on 1.
    while c.engine().permissive_active().is_empty() {
        c.tick(Instant(t), &snapshot(Instant(t), false, 0.0), &inputs);
        t += 100;
        assert!(t < 120_000, "no arrow");
    }
    assert!(c.engine().permissive_active().contains(p(1)));
    // A turner waits during the arrow: no protected call.
    for _ in 0..50 {
        c.tick(Instant(t), &snapshot(Instant(t), true, queue_m), &inputs);
        t += 100;
        assert!(!c.status().calls.contains(p(1)), "called during the arrow");
    }
    // The arrow ends (a cross-street call; the snapshot shows a vehicle on 5 = phase 4).
    let mut called = false;
    for _ in 0..400 {
        let mut s = snapshot(Instant(t), true, queue_m);
        s.presence.set(4, true);
        s.presence.set(1, false);
        c.tick(Instant(t), &s, &inputs);
        t += 100;
        called |= c.status().calls.contains(p(1));
    }
    assert_eq!(c.status().faults_total, 0);
    called
}

#[test]
fn actuated_calls_the_protected_phase_for_any_turner_left_over() {
    assert!(protected_call_after_the_arrow("actuated", 0.0));
}

#[test]
fn adaptive_calls_the_protected_phase_for_a_queue_only() {
    assert!(
        !protected_call_after_the_arrow("adaptive", 0.0),
        "one vehicle waits for the next arrow"
    );
    assert!(
        protected_call_after_the_arrow("adaptive", 20.0),
        "a queue of ~3 is served protected"
    );
}

#[test]
fn site_errors_name_the_permissive_field() {
    let bad = |from: &str, to: &str| {
        let text = NEMA8.replacen(from, to, 1);
        assert_ne!(text, NEMA8, "{from}");
        Site::parse(&text, "x").unwrap_err().to_string()
    };
    let e = bad("permissive = 2 ", "permissive = 6 ");
    assert!(e.contains("does not conflict with phase 6"), "{e}");
    let e = bad("permissive = 2 ", "permissive = 4 ");
    assert!(e.contains("may run with phase 4"), "{e}");
    let e = bad("permissive = 2 ", "permissive = 12 ");
    assert!(e.contains("phase 12"), "{e}");
    // Left 1's yellow longer than 2's.
    let e = bad(
        "lanes = 1\ndesign_volume_vph = 90\npermissive = 2",
        "lanes = 1\ndesign_volume_vph = 90\nyellow_s = 4.5\npermissive = 2",
    );
    assert!(e.contains("longer than phase 2"), "{e}");
}

#[test]
fn a_permissive_left_needs_an_fya_relay_and_the_relay_carries_the_flash() {
    let site = site();
    let text = std::fs::read_to_string("board/host-fake.toml").unwrap();
    let board = Board::parse(&text, "host-fake.toml").unwrap();
    check_board(&board, &site, "host-fake.toml").unwrap();
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("fya"))
        .collect::<Vec<_>>()
        .join("\n");
    let no_fya = Board::parse(&stripped, "no-fya.toml").unwrap();
    let e = check_board(&no_fya, &site, "no-fya.toml").unwrap_err().to_string();
    assert!(e.contains("no `fya` line"), "{e}");

    let gpio = FakeGpio::new();
    let probe = gpio.clone();
    let mut relays = GpioRelays::new(&board, gpio).unwrap();
    let fya = board.heads[0].unwrap().fya.unwrap();
    let on = |l: greenwave::hal::board::LineRef| probe.level(usize::from(l.chip), l.offset) != board.active_low;
    let mut f = all_red(&site);
    f.veh[0] = lamp::FYA_LIT;
    f.set_aspect(p(2), Aspect::Green);
    relays.write(&f).unwrap();
    assert!(on(fya));
    assert!(!on(board.heads[0].unwrap().red));
    assert_eq!(relays.read_back().unwrap(), f);
    f.veh[0] = lamp::FYA_DARK;
    relays.write(&f).unwrap();
    assert!(!on(fya));
    assert_eq!(relays.read_back().unwrap(), f);
    // A welded arrow relay shows in the read-back.
    relays
        .bank_mut()
        .stick(usize::from(fya.chip), fya.offset, !board.active_low);
    relays.write(&f).unwrap();
    assert_ne!(relays.read_back().unwrap(), f);
}
