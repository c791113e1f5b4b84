//! The control loop's side of central management: it publishes a whole unit status every tick,
//! applies queued requests through the console's command path with its safety rules, and does
//! both without allocating.

use greenwave::central::command::{self, Origin, Reply, Request};
use greenwave::central::status::{self, UnitMode};
use greenwave::config::Site;
use greenwave::console::view::{Action, Refused};
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::monitor::card::MmuCard;
use greenwave::phase::PhaseId;
use greenwave::runtime::central::CentralLink;
use greenwave::runtime::console::Bound;
use greenwave::runtime::control_loop::{run_with, ControlLoop, LoopOptions, Speed};
use greenwave::runtime::realtime::Signals;
use greenwave::runtime::service::Services;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;
use std::path::Path;
use std::sync::atomic::Ordering;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, COUNTING};

fn opts(duration_s: u64) -> LoopOptions {
    LoopOptions {
        site_path: "board/sites/nema8-4leg.toml".into(),
        duration_s: Some(duration_s),
        speed: Speed::Max,
        start_unix_ms: 1_700_000_000_000,
        event_log: None,
        state_dir: None,
        console: None,
        model: None,
        planner_override: None,
        reload_check: None,
        snmp: None,
        mqtt: None,
    }
}

fn lp(site: &Site) -> ControlLoop<SimRelays, SimWatchdog, SimTraffic> {
    ControlLoop::new(
        site,
        &MmuCard::from_geometry(site),
        SimRelays::default(),
        SimWatchdog::default(),
        SimTraffic::new(site, 1.0, 7),
    )
}

#[test]
fn the_loop_publishes_every_tick_and_answers_requests_through_the_console_path() {
    let site = Site::load(Path::new("board/sites/nema8-4leg.toml")).unwrap();
    let mut lp = lp(&site);
    let (publisher, mut reader) = status::channel();
    let (mut client, server) = command::channel();
    let mut central = CentralLink::default();
    assert!(central.status.push(publisher).is_ok());
    assert!(central.commands.push(server).is_ok());
    let p4 = PhaseId::new(4).unwrap();
    client
        .send(Request {
            id: 1,
            origin: Origin::Snmp,
            action: Action::Recall(p4),
        })
        .unwrap();
    // Preempt 7 is not configured at this site: refused exactly as at the console.
    client
        .send(Request {
            id: 2,
            origin: Origin::Snmp,
            action: Action::PreemptTest(7),
        })
        .unwrap();
    let services = Services {
        central,
        ..Services::default()
    };
    let mut o = opts(600);
    let summary = run_with(&mut lp, &site, &mut o, services, &Signals::unregistered()).unwrap();
    assert_eq!(client.reply(), Some(Reply { id: 1, result: Ok(()) }));
    assert_eq!(
        client.reply(),
        Some(Reply {
            id: 2,
            result: Err(Refused::NoSuchPreempt)
        })
    );
    let s = *reader.latest();
    assert_eq!(s.seq, summary.loop_stats.ticks, "one publication per tick");
    assert_eq!(s.mode, UnitMode::Run);
    assert_eq!(s.device_id, site.device_id);
    assert_eq!(s.unix_ms, 1_700_000_000_000 + s.now.0 as i64);
    // The phase table is the site's, in NTCIP units.
    let t2 = site.phase(PhaseId::new(2).unwrap()).unwrap();
    let p = s.phases[1];
    assert_eq!(p.number, 2);
    assert_eq!(u32::from(p.min_green_s), t2.min_green_ms / 1000);
    assert_eq!(u32::from(p.yellow_ds), t2.yellow_ms / 100);
    assert_eq!(p.ring, 1);
    assert_eq!(s.phases[5].ring, 2);
    // The status groups are the lamps the controller showed on the last tick.
    let frame = lp.controller.status().frame;
    for i in 0..8 {
        let bit = 1u8 << i;
        assert_eq!(
            s.groups.greens & bit != 0,
            frame.veh[i] & greenwave::frame::lamp::GREEN != 0
        );
        assert_eq!(
            s.groups.reds & bit != 0,
            frame.veh[i] & greenwave::frame::lamp::RED != 0
        );
    }
    assert!(s.groups.greens.count_ones() >= 1, "a running controller shows a green");
}

#[test]
fn publishing_and_serving_requests_allocate_nothing() {
    let site = Site::load(Path::new("board/sites/nema8-4leg.toml")).unwrap();
    let mut lp = lp(&site);
    let (publisher, mut reader) = status::channel();
    let (mut client, server) = command::channel();
    let mut central = CentralLink::default();
    assert!(central.status.push(publisher).is_ok());
    assert!(central.commands.push(server).is_ok());
    let tick = u64::from(site.tick_ms);
    lp.tick(Instant(0), true);
    let mut greens_seen = 0u8;
    let mut answered = 0;
    COUNTING.store(true, Ordering::SeqCst);
    for k in 1..=100_000u64 {
        let now = Instant(k * tick);
        lp.tick(now, true);
        while lp.controller.events_mut().pop().is_some() {}
        if k % 1000 == 0 {
            let _ = client.send(Request {
                id: k as u32,
                origin: Origin::Snmp,
                action: Action::Recall(PhaseId::new(3).unwrap()),
            });
        }
        central.publish(&lp.controller, &lp.last_det, &lp.last_inputs, &lp.stats, true, 0);
        let det = lp.last_det;
        let mut bound = Bound {
            controller: &mut lp.controller,
            cameras: None,
            detectors: &det,
            loops: None,
            stats: lp.stats,
            watchdog_ok: true,
            now,
            snapshots: None,
        };
        central.serve(&mut bound, now);
        greens_seen |= reader.latest().groups.greens;
        if client.reply().is_some() {
            answered += 1;
        }
    }
    COUNTING.store(false, Ordering::SeqCst);
    let allocs = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(allocs, 0, "publishing and serving allocated {allocs} times");
    assert_eq!(answered, 100);
    assert_eq!(central.applied, 100);
    assert_eq!(greens_seen, 0xff, "every phase of the site was seen green");
}

#[test]
fn a_commanded_pattern_runs_over_the_schedule_until_it_is_withdrawn() {
    use greenwave::config::schedule::Action as Scheduled;
    let site = Site::load(Path::new("board/sites/nema8-coordinated.toml")).unwrap();
    let mut lp = lp(&site);
    // Saturday 5 December 2026, 12:00 in New York: the weekend day plan runs free.
    lp.controller.set_wall(Instant::ZERO, 1_796_490_000_000);
    let (mut client, server) = command::channel();
    let mut central = CentralLink::default();
    assert!(central.commands.push(server).is_ok());
    let tick = u64::from(site.tick_ms);
    let mut k = 0u64;
    let pattern_events = std::cell::RefCell::new(Vec::new());
    let mut run = |lp: &mut ControlLoop<_, _, _>, central: &mut CentralLink, ticks: u64| {
        for _ in 0..ticks {
            let now = Instant(k * tick);
            lp.tick(now, true);
            while let Some(ev) = lp.controller.events_mut().pop() {
                if ev.code == greenwave::events::code::PATTERN_CHANGE {
                    pattern_events.borrow_mut().push(ev.param);
                }
            }
            let det = lp.last_det;
            let mut bound = Bound {
                controller: &mut lp.controller,
                cameras: None,
                detectors: &det,
                loops: None,
                stats: lp.stats,
                watchdog_ok: true,
                now,
                snapshots: None,
            };
            central.serve(&mut bound, now);
            k += 1;
        }
    };
    run(&mut lp, &mut central, 600);
    assert_eq!(lp.controller.status().schedule_action, Scheduled::Free);
    // A pattern the site does not define is refused, as at the console.
    let send = |c: &mut command::CommandClient, id, n| {
        c.send(Request {
            id,
            origin: Origin::Snmp,
            action: Action::SelectPattern(n),
        })
        .unwrap()
    };
    send(&mut client, 1, Some(9));
    send(&mut client, 2, Some(3));
    run(&mut lp, &mut central, 3000);
    assert_eq!(
        client.reply(),
        Some(Reply {
            id: 1,
            result: Err(Refused::NoSuchPattern)
        })
    );
    assert_eq!(client.reply(), Some(Reply { id: 2, result: Ok(()) }));
    let s = lp.controller.status();
    assert_eq!(s.schedule_action, Scheduled::Pattern(3));
    assert_eq!(s.pattern, 3);
    assert!(s.cycle_timer_s.is_some());
    assert!(
        pattern_events.borrow().contains(&3),
        "131 for pattern 3: {:?}",
        pattern_events.borrow()
    );
    // Withdrawn: the schedule (free at this hour) is in force again.
    send(&mut client, 3, None);
    run(&mut lp, &mut central, 3000);
    assert_eq!(client.reply(), Some(Reply { id: 3, result: Ok(()) }));
    assert_eq!(lp.controller.status().schedule_action, Scheduled::Free);
    assert_eq!(lp.controller.status().pattern, 0);
}
