//! Hand-checked engine behaviour on the NEMA 8-phase site: gap-out, max-out, skips, recall, rest
//! in red, pedestrian intervals, and the Webster fail-safe when detection fails.

use greenwave::config::Site;
use greenwave::detect::{DetectorHealth, DetectorSnapshot};
use greenwave::events::{code, Event, EventRing};
use greenwave::hal::InputFrame;
use greenwave::plan::PlanMode;
use greenwave::runtime::Controller;
use greenwave::signal::engine::{Demand, Directive, Engine};
use greenwave::signal::frame::Aspect;
use greenwave::signal::phase::{PhaseId, PhaseSet};
use greenwave::time::Instant;

const NEMA8: &str = include_str!("../board/sites/nema8-4leg.toml");

fn p(n: u8) -> PhaseId {
    PhaseId::new(n).unwrap()
}

fn set(ns: &[u8]) -> PhaseSet {
    ns.iter().fold(PhaseSet::EMPTY, |s, n| s.with(p(*n)))
}

/// Runs the engine for `ms` with a demand function; returns all events.
fn drive(site: &Site, e: &mut Engine, from: u64, ms: u64, mut demand: impl FnMut(u64) -> Demand) -> Vec<Event> {
    let mut ev = EventRing::new();
    let mut out = Vec::new();
    let mut t = from;
    while t < from + ms {
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

#[test]
fn recall_serves_two_and_six_then_gaps_out_by_passage() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut e = Engine::new(Instant(0));
    // No detector demand at all: min recall brings 2 and 6 after the 4 s start-up red and they rest.
    let evs = drive(&site, &mut e, 0, 60_000, |_| Demand::default());
    assert_eq!(first(&evs, code::PHASE_BEGIN_GREEN, 2), Some(4_000));
    assert_eq!(first(&evs, code::PHASE_BEGIN_GREEN, 6), Some(4_000));
    assert_eq!(first(&evs, code::PHASE_MIN_COMPLETE, 2), Some(14_000));
    assert!(
        first(&evs, code::PHASE_BEGIN_YELLOW, 2).is_none(),
        "rests in green without conflicting calls"
    );
    assert!(
        first(&evs, code::PHASE_BEGIN_GREEN, 1).is_none(),
        "uncalled left turn skipped"
    );
    // A call on 4 at 60 s: 2 and 6 gapped out long ago → yellow at once, red clearance, barrier, 4.
    let evs = drive(&site, &mut e, 60_000, 30_000, |_| Demand {
        veh: set(&[4]),
        ..Demand::default()
    });
    assert_eq!(first(&evs, code::PHASE_GAP_OUT, 2), Some(60_000));
    assert_eq!(first(&evs, code::PHASE_BEGIN_YELLOW, 2), Some(60_000));
    assert_eq!(first(&evs, code::PHASE_BEGIN_RED_CLEARANCE, 2), Some(63_300)); // yellow 3.3 s
    assert_eq!(first(&evs, code::PHASE_END_RED_CLEARANCE, 2), Some(65_200)); // red clearance 1.9 s
    assert_eq!(first(&evs, code::BARRIER_TERMINATION, 1), Some(65_200));
    assert_eq!(first(&evs, code::PHASE_BEGIN_GREEN, 4), Some(65_200));
}

#[test]
fn continuous_extension_maxes_out_from_the_conflicting_call() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut e = Engine::new(Instant(0));
    // 2 is extended continuously; a call on 8 arrives at 20 s: max green 45 s runs from there.
    let evs = drive(&site, &mut e, 0, 120_000, |t| Demand {
        veh: if t >= 20_000 { set(&[8]) } else { PhaseSet::EMPTY },
        extend: set(&[2, 6]),
        ..Demand::default()
    });
    assert_eq!(first(&evs, code::PHASE_MAX_OUT, 2), Some(65_000));
    assert_eq!(first(&evs, code::PHASE_BEGIN_GREEN, 8), Some(65_000 + 3_300 + 1_900));
    assert!(first(&evs, code::PHASE_GAP_OUT, 2).is_none());
}

#[test]
fn left_turn_leads_and_pedestrian_intervals_are_timed() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut e = Engine::new(Instant(0));
    // Calls on 1 (left) and a push button on 2 before start-up ends.
    let evs = drive(&site, &mut e, 0, 80_000, |t| Demand {
        veh: if t < 1_000 { set(&[1]) } else { PhaseSet::EMPTY },
        ped: if t < 1_000 { set(&[2]) } else { PhaseSet::EMPTY },
        ..Demand::default()
    });
    assert_eq!(first(&evs, code::PED_CALL_REGISTERED, 2), Some(0));
    // Ring 1 leads with 1 (min 5 s, gap 2.5 s → ends at 9 s), ring 2 starts 6.
    assert_eq!(first(&evs, code::PHASE_BEGIN_GREEN, 1), Some(4_000));
    assert_eq!(first(&evs, code::PHASE_BEGIN_GREEN, 6), Some(4_000));
    assert_eq!(first(&evs, code::PHASE_BEGIN_YELLOW, 1), Some(9_000));
    let g2 = first(&evs, code::PHASE_BEGIN_GREEN, 2).unwrap();
    assert_eq!(g2, 9_000 + 3_300 + 2_200);
    // Walk 7 s, flashing don't walk 16.4 s, then solid don't walk.
    assert_eq!(first(&evs, code::PED_BEGIN_WALK, 2), Some(g2));
    assert_eq!(first(&evs, code::PED_BEGIN_CLEARANCE, 2), Some(g2 + 7_000));
    assert_eq!(first(&evs, code::PED_BEGIN_DONT_WALK, 2), Some(g2 + 23_400));
}

#[test]
fn rest_in_red_when_nothing_calls() {
    let text = NEMA8
        .replace("rest = \"green\"", "rest = \"red\"")
        .replace("recall = \"min\"", "recall = \"none\"");
    let site = Site::parse(&text, "x").unwrap();
    let mut e = Engine::new(Instant(0));
    let mut ev = EventRing::new();
    let mut last = None;
    for k in 0..600u64 {
        let d = Demand {
            veh: if k == 50 { set(&[4]) } else { PhaseSet::EMPTY },
            ..Demand::default()
        };
        last = Some(e.step(&site, Instant(k * 100), &d, &Directive::Actuated, &mut ev));
    }
    let f = last.unwrap();
    for q in site.phases() {
        assert_eq!(f.aspect(q.id), Aspect::Red, "phase {} should rest in red", q.id);
    }
}

fn snapshot(now: u64, health: DetectorHealth) -> DetectorSnapshot {
    let mut s = DetectorSnapshot {
        at: Instant(now),
        ..DetectorSnapshot::EMPTY
    };
    for h in s.health.iter_mut().take(12) {
        *h = health;
    }
    s
}

#[test]
fn detection_failure_switches_to_webster_within_one_tick_and_recovers() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut c = Controller::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let inputs = InputFrame::default();
    let mut t = 0;
    while t < 60_000 {
        c.tick(Instant(t), &snapshot(t, DetectorHealth::Ok), &inputs);
        t += 100;
    }
    assert_eq!(c.status().plan_mode, PlanMode::Actuated);
    // The camera stops delivering: the snapshot stays at 60 s. Stale after 2 s → fail-safe.
    let frozen = snapshot(t, DetectorHealth::Ok);
    let mut switched_at = None;
    while t < 200_000 {
        c.tick(Instant(t), &frozen, &inputs);
        if switched_at.is_none() && c.status().plan_mode == PlanMode::Fallback {
            switched_at = Some(t);
        }
        t += 100;
    }
    assert_eq!(
        switched_at,
        Some(60_000 + 2_100),
        "fail-safe one tick after the data went stale"
    );
    let mut saw = false;
    while let Some(e) = c.events_mut().pop() {
        saw |= e.code == code::DETECTOR_FAULT_WATCHDOG;
    }
    assert!(saw, "stale detectors are logged (Indiana 85)");
    // Under fixed time every phase is served in turn.
    // Data returns: actuated again only after the recovery time (10 s).
    let back = t;
    let mut recovered_at = None;
    while t < back + 30_000 {
        c.tick(Instant(t), &snapshot(t, DetectorHealth::Ok), &inputs);
        if recovered_at.is_none() && c.status().plan_mode == PlanMode::Actuated {
            recovered_at = Some(t);
        }
        t += 100;
    }
    assert_eq!(recovered_at, Some(back + 10_000));
    assert_eq!(c.status().faults_total, 0);
}

/// Fixed time on the Webster plan from the first green (detection untrusted): every phase the plan
/// gives time is served at least its split and forced off; a left the plan runs permissive-only
/// (`plan::webster::lefts`) never shows its green arrow but flashes its yellow arrow whenever its
/// opposing through is green; both rings meet at every barrier; the monitor sees no conflict.
/// With `fixed_time_lefts = "protected"` every left is served on its arrow.
#[test]
fn fixed_time_serves_every_phase_at_its_split() {
    for text in [
        NEMA8.to_string(),
        NEMA8.replace(
            "flash = \"red\"\n",
            "flash = \"red\"\nfixed_time_lefts = \"protected\"\n",
        ),
    ] {
        let site = Site::parse(&text, "x").unwrap();
        let mut c = Controller::new(
            &site,
            &greenwave::monitor::card::MmuCard::from_geometry(&site),
            Instant(0),
        );
        let inputs = InputFrame::default();
        let mut evs = Vec::new();
        let mut flashing_with_opposing = 0u32;
        let mut t = 0;
        // Untrusted from the start (health Unknown): Webster fixed time from the first green.
        while t < 400_000 {
            let f = c.tick(Instant(t), &snapshot(t, DetectorHealth::Unknown), &inputs);
            for q in site.phases() {
                if let Some(o) = q.permissive {
                    let fya = f.aspect(q.id) == Aspect::FlashingYellow;
                    assert!(
                        !fya || f.aspect(o) == Aspect::Green,
                        "phase {} flashes without {o}",
                        q.id
                    );
                    flashing_with_opposing += u32::from(fya);
                }
            }
            while let Some(e) = c.events_mut().pop() {
                evs.push(e);
            }
            t += 100;
        }
        assert_eq!(c.status().plan_mode, PlanMode::Fallback);
        assert_eq!(c.status().faults_total, 0);
        let plan = c.status().plan;
        let by_volume = !text.contains("fixed_time_lefts");
        assert_eq!(plan.permissive_only.is_empty(), !by_volume, "{plan:?}");
        assert!(flashing_with_opposing > 0);
        for q in site.phases() {
            let n = q.id.number();
            let starts: Vec<u64> = evs
                .iter()
                .filter(|e| e.code == code::PHASE_BEGIN_GREEN && e.param == u16::from(n))
                .map(|e| e.at.0)
                .collect();
            if plan.permissive_only.contains(q.id) {
                assert!(starts.is_empty(), "phase {n} runs permissive-only: {starts:?}");
                continue;
            }
            let ends: Vec<u64> = evs
                .iter()
                .filter(|e| e.code == code::PHASE_BEGIN_YELLOW && e.param == u16::from(n))
                .map(|e| e.at.0)
                .collect();
            assert!(starts.len() >= 4, "phase {n} served {} times", starts.len());
            let g = ends[1] - starts[1];
            assert!(
                g >= u64::from(plan.green(q.id)),
                "phase {n}: green {g} < split {}",
                plan.green(q.id)
            );
            assert!(evs
                .iter()
                .any(|e| e.code == code::PHASE_FORCE_OFF && e.param == u16::from(n)));
        }
        // Cycle = the plan's cycle (both rings balanced at the barriers).
        let c2: Vec<u64> = evs
            .iter()
            .filter(|e| e.code == code::PHASE_BEGIN_GREEN && e.param == 2)
            .map(|e| e.at.0)
            .collect();
        assert_eq!(c2[2] - c2[1], u64::from(plan.cycle_ms));
    }
}

#[test]
fn adaptive_falls_back_step_by_step_and_recovers() {
    let text = NEMA8.replace("planner = \"actuated\"", "planner = \"adaptive\"");
    let site = Site::parse(&text, "x").unwrap();
    let mut c = Controller::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let inputs = InputFrame::default();
    let mut t = 0;
    let run = |c: &mut Controller, t: &mut u64, until: u64, f: &dyn Fn(u64) -> DetectorSnapshot| {
        let mut modes = Vec::new();
        while *t < until {
            c.tick(Instant(*t), &f(*t), &inputs);
            let m = c.status().plan_mode;
            if modes.last() != Some(&m) {
                modes.push(m);
            }
            *t += 100;
        }
        modes
    };
    assert_eq!(
        run(&mut c, &mut t, 30_000, &|t| snapshot(t, DetectorHealth::Ok)),
        vec![PlanMode::Adaptive]
    );
    // One camera zone reports stuck-on: adaptive needs every zone → actuated with that phase on recall.
    let one_bad = |t: u64| {
        let mut s = snapshot(t, DetectorHealth::Ok);
        s.health[2] = DetectorHealth::StuckOn; // detector 3 (phase 2, lane 1); lane 2 still works
        s
    };
    assert_eq!(run(&mut c, &mut t, 60_000, &one_bad), vec![PlanMode::Degraded]);
    // Phase 1's only detector fails as well: that phase has no detection left → Webster.
    let two_bad = |t: u64| {
        let mut s = one_bad(t);
        s.health[0] = DetectorHealth::StuckOff;
        s
    };
    assert_eq!(run(&mut c, &mut t, 90_000, &two_bad), vec![PlanMode::Fallback]);
    // Everything repaired: back to adaptive only after 10 s of good data.
    let back = t;
    let modes = run(&mut c, &mut t, back + 20_000, &|t| snapshot(t, DetectorHealth::Ok));
    assert_eq!(modes, vec![PlanMode::Fallback, PlanMode::Adaptive]);
    let mut changes = Vec::new();
    while let Some(e) = c.events_mut().pop() {
        if e.code == code::PATTERN_CHANGE {
            changes.push(e.param);
        }
    }
    assert_eq!(
        changes,
        vec![4, 5, 3, 4],
        "pattern-change events (131) for every switch"
    );
    assert_eq!(c.status().faults_total, 0);
}

#[test]
fn adaptive_never_ends_a_green_over_a_standing_queue() {
    let text = NEMA8.replace("planner = \"actuated\"", "planner = \"adaptive\"");
    let site = Site::parse(&text, "x").unwrap();
    let mut c = Controller::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let inputs = InputFrame::default();
    // Phase 2's lanes (detectors 3, 4) report a 10-vehicle queue and no presence (a camera that sees
    // standing cars but, say, no motion); phase 4 calls heavily.
    let mut t = 0;
    let mut ended = None;
    while t < 120_000 {
        let mut s = snapshot(t, DetectorHealth::Ok);
        s.queue_m[2] = 70.0;
        s.queue_m[3] = if t < 40_000 { 70.0 } else { 0.0 };
        s.queue_m[2] = if t < 40_000 { 70.0 } else { 0.0 };
        s.presence.set(4, true); // detector 5: phase 4
        let f = c.tick(Instant(t), &s, &inputs);
        if ended.is_none() && t > 4_000 && f.aspect(p(2)) == Aspect::Yellow {
            ended = Some(t);
        }
        t += 100;
    }
    let ended = ended.expect("phase 2 ended");
    assert!(ended >= 40_000, "green ended at {ended} ms over a standing queue");
    assert!(ended <= 40_000 + 3_000, "green held {ended} ms after the queue cleared");
}

#[test]
fn learned_planner_follows_a_confident_table_and_defers_otherwise() {
    use greenwave::plan::learned::{QTable, ACTIONS, END, HOLD, MIN_VISITS, STATES};
    let text = NEMA8.replace("planner = \"actuated\"", "planner = \"learned\"");
    let site = Site::parse(&text, "x").unwrap();
    // A table that is sure every green should end as soon as allowed.
    let mut eager = QTable::default();
    for s in 0..STATES {
        for _ in 0..MIN_VISITS {
            eager.learn(s, END, -1.0);
            eager.learn(s, HOLD, -5.0);
        }
    }
    let run = |table: Option<QTable>| {
        let mut c = Controller::new(
            &site,
            &greenwave::monitor::card::MmuCard::from_geometry(&site),
            Instant(0),
        );
        if let Some(t) = table {
            c.planner_mut().set_model(t);
        }
        let mut first_yellow = None;
        let mut t = 0;
        while t < 60_000 {
            let mut s = snapshot(t, DetectorHealth::Ok);
            s.presence.set(2, true); // phase 2 keeps being actuated
            s.presence.set(4, true); // detector 5: phase 4 calls
            let f = c.tick(Instant(t), &s, &InputFrame::default());
            if first_yellow.is_none() && f.aspect(p(2)) == Aspect::Yellow {
                first_yellow = Some(t);
            }
            t += 100;
        }
        (first_yellow, c.planner().learned_stats(), c.status().plan_mode)
    };
    let (eager_end, stats, mode) = run(Some(eager));
    assert_eq!(mode, PlanMode::Learned);
    // Min green 10 s from 4 s: the confident table ends it right there despite the actuations.
    assert_eq!(eager_end, Some(14_000));
    assert!(stats.confident > 0 && stats.deferred == 0);
    // An untrained table is never confident: the adaptive rule decides (continuous actuation
    // holds the green to max-out: 45 s from the conflicting call at 4 s).
    let (deferred_end, stats, _) = run(Some(QTable::default()));
    assert_eq!(deferred_end, Some(49_000));
    assert!(stats.confident == 0 && stats.deferred > 0);
    // No table at all: adaptive.
    let (_, _, mode) = run(None);
    assert_eq!(mode, PlanMode::Adaptive);
    let _ = ACTIONS;
}

/// Found by the 10^8-step property run: a compatible phase extended without end (6) must still
/// max out when a call waits behind the barrier (1, already served this visit) — otherwise it
/// holds the barrier forever and 1 starves.
#[test]
fn a_call_behind_the_barrier_starts_the_max_timer() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut e = Engine::new(Instant(0));
    let evs = drive(&site, &mut e, 0, 300_000, |_| Demand {
        veh: set(&[1]),
        extend: set(&[6, 7]),
        ..Demand::default()
    });
    let greens_of_1 = evs
        .iter()
        .filter(|x| x.code == code::PHASE_BEGIN_GREEN && x.param == 1)
        .count();
    assert!(greens_of_1 >= 3, "phase 1 served {greens_of_1} times in 5 minutes");
    assert!(evs.iter().any(|x| x.code == code::PHASE_MAX_OUT && x.param == 6));
}

/// Dynamic max (NTCIP 1202 v03 phaseDynamicMaxLimit / phaseDynamicMaxStep): successive max-outs
/// step the running max up to the limit, successive gap-outs step it back to max green, and a
/// phase without it keeps its max green.
#[test]
fn dynamic_max_steps_up_on_successive_max_outs_and_back_on_gap_outs() {
    // Phase 2 only: 45 s max green, limit 55 s, step 5 s.
    let text = NEMA8.replacen(
        "max_green_s = 45\n",
        "max_green_s = 45\ndynamic_max_s = 55\ndynamic_step_s = 5\n",
        1,
    );
    let site = Site::parse(&text, "x").unwrap();
    let two = site.phases().find(|ph| ph.dynamic_step_ms > 0).unwrap().id;
    assert_eq!(two, p(2));
    let mut e = Engine::new(Instant(0));
    // 2 and 6 extended without end, 4 and 8 always called: every arterial green maxes out.
    let evs = drive(&site, &mut e, 0, 600_000, |_| Demand {
        veh: set(&[4, 8]),
        extend: set(&[2, 6]),
        ..Demand::default()
    });
    let greens = |ph: u8| -> Vec<u64> {
        let mut out = Vec::new();
        let mut start = None;
        for x in evs.iter().filter(|x| x.param == u16::from(ph)) {
            match x.code {
                code::PHASE_BEGIN_GREEN => start = Some(x.at.0),
                code::PHASE_MAX_OUT => out.extend(start.take().map(|s| x.at.0 - s)),
                _ => {}
            }
        }
        out
    };
    let g2 = greens(2);
    // The max timer runs from the green's start (4 and 8 wait): 45, 45, then +5 per max-out.
    assert_eq!(&g2[..5], &[45_000, 45_000, 50_000, 55_000, 55_000], "{g2:?}");
    assert!(g2.iter().all(|g| *g <= 55_000), "never above the limit: {g2:?}");
    // Phase 6 has no dynamic max: its running max stays 45 s (its green lasts as long as 2's,
    // held at the barrier with its max-out latched).
    assert_eq!(e.running_max_ms(&site, p(2)), 55_000);
    assert_eq!(e.running_max_ms(&site, p(6)), 45_000);
    // A reloaded site bounds the running max at once: a lower limit, or no dynamic max at all.
    let lower = Site::parse(&text.replace("dynamic_max_s = 55", "dynamic_max_s = 50"), "x").unwrap();
    assert_eq!(e.running_max_ms(&lower, p(2)), 50_000);
    assert_eq!(e.running_max_ms(&Site::parse(NEMA8, "x").unwrap(), p(2)), 45_000);
    // Now the arterial gaps out every cycle: two gap-outs in a row step the running max down, one
    // step per further gap-out, to the configured 45 s and no lower.
    let evs = drive(&site, &mut e, 600_000, 600_000, |_| Demand {
        veh: set(&[4, 8]),
        ..Demand::default()
    });
    let gaps = evs
        .iter()
        .filter(|x| x.code == code::PHASE_GAP_OUT && x.param == 2)
        .count();
    assert!(gaps >= 4, "{gaps} gap-outs");
    assert_eq!(e.running_max_ms(&site, p(2)), 45_000);
}

/// `ped_clearance = "buffer"` (MUTCD 4E.06, Figure 4E-2): the flashing DON'T WALK is the
/// clearance time less the phase's yellow + red clearance, the green may end at its end, and no
/// conflicting green starts before walk + the whole calculated clearance time has passed.
#[test]
fn buffer_interval_completes_the_pedestrian_clearance_before_any_conflicting_green() {
    let text = include_str!("../board/sites/arterial-minor.toml");
    assert!(text.contains("ped_clearance = \"buffer\""));
    let site = Site::parse(text, "x").unwrap();
    let green_only = Site::parse(
        &text.replace("ped_clearance = \"buffer\"", "ped_clearance = \"green\""),
        "x",
    )
    .unwrap();
    let ph4 = site.phase(p(4)).unwrap();
    let pd = ph4.ped.unwrap();
    assert_eq!(pd.change_ms, pd.clearance_ms - ph4.yellow_ms - ph4.red_clear_ms);
    assert_eq!(green_only.phase(p(4)).unwrap().ped.unwrap().change_ms, pd.clearance_ms);
    for (s, fdw) in [(&site, pd.change_ms), (&green_only, pd.clearance_ms)] {
        let mut e = Engine::new(Instant(0));
        // People on 4's crosswalk press at 10 s; vehicles keep calling 2 and 6 (the arterial).
        let evs = drive(s, &mut e, 0, 120_000, |t| Demand {
            veh: set(&[2, 6]),
            ped: if (10_000..10_500).contains(&t) {
                set(&[4])
            } else {
                PhaseSet::EMPTY
            },
            ..Demand::default()
        });
        let walk = first(&evs, code::PED_BEGIN_WALK, 4).expect("walk served");
        let fdw_at = first(&evs, code::PED_BEGIN_CLEARANCE, 4).unwrap();
        let dw_at = first(&evs, code::PED_BEGIN_DONT_WALK, 4).unwrap();
        assert_eq!(fdw_at - walk, u64::from(pd.walk_ms));
        assert_eq!(dw_at - fdw_at, u64::from(fdw));
        let end_green = evs
            .iter()
            .find(|x| x.code == code::PHASE_BEGIN_YELLOW && x.param == 4 && x.at.0 > walk)
            .unwrap()
            .at
            .0;
        assert!(end_green >= dw_at, "the green never ends before solid DON'T WALK");
        let conflicting = evs
            .iter()
            .filter(|x| x.code == code::PHASE_BEGIN_GREEN && x.at.0 > walk)
            .find(|x| [1u16, 2, 5, 6].contains(&x.param))
            .unwrap()
            .at
            .0;
        assert!(
            conflicting - fdw_at >= u64::from(pd.clearance_ms),
            "conflicting green {} ms after the flashing DON'T WALK began, clearance {} ms",
            conflicting - fdw_at,
            pd.clearance_ms
        );
    }
}

/// The Webster fail-safe runs each phase's vehicle split; a pressed push button lengthens that
/// phase's green in that cycle to walk + pedestrian change interval, and only that phase's.
#[test]
fn fixed_time_serves_a_pressed_crossing_in_full_and_no_more() {
    use greenwave::plan::webster;
    let site = Site::parse(NEMA8, "x").unwrap();
    let plan = webster::plan(&site, &webster::design_flows(&site));
    let split = plan.green(p(2));
    let pd = site.phase(p(2)).unwrap().ped.unwrap();
    assert!(
        split < pd.service_ms(),
        "the split alone does not carry the crossing: {split}"
    );
    let mut e = Engine::new(Instant(0));
    let mut ev = EventRing::new();
    let mut evs = Vec::new();
    let directive = Directive::Fixed {
        green_ms: plan.green_ms,
    };
    for k in 0..3_000u64 {
        let t = k * 100;
        // Somebody presses 2's button once, at 100 s; every vehicle phase is called (fixed time).
        let demand = Demand {
            veh: set(&[1, 2, 3, 4, 5, 6, 7, 8]),
            ped: if (100_000..100_100).contains(&t) {
                set(&[2])
            } else {
                PhaseSet::EMPTY
            },
            ..Demand::default()
        };
        e.step(&site, Instant(t), &demand, &directive, &mut ev);
        while let Some(x) = ev.pop() {
            evs.push(x);
        }
    }
    // Green lengths of phase 2, in order.
    let mut greens = Vec::new();
    let mut start = None;
    for x in evs.iter().filter(|x| x.param == 2) {
        match x.code {
            code::PHASE_BEGIN_GREEN => start = Some(x.at.0),
            code::PHASE_BEGIN_YELLOW => greens.extend(start.take().map(|s| (s, x.at.0 - s))),
            _ => {}
        }
    }
    let walk = first(&evs, code::PED_BEGIN_WALK, 2).expect("the crossing is served");
    assert!(walk > 100_000);
    for (s, g) in &greens {
        if *s == walk {
            assert!(*g >= u64::from(pd.service_ms()), "served cycle: {g} ms");
        } else {
            assert_eq!(*g, u64::from(split), "cycle at {s}: the split");
        }
    }
    assert!(greens.len() >= 3, "{greens:?}");
}
