//! A SIGHUP reload hands over to a controller built from the new site at an all-red point; what the
//! running controller learned and counted carries over: the learned flows (where the phase still
//! measures the same traffic), the learned planner's Q-table, the monitor's fault history and
//! total, tick, cycle and event counts. Otherwise the next state save would write a reset state
//! over the learned one.

use greenwave::config::{PlannerKind, Site};
use greenwave::events::persist::Counters;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::monitor::card::MmuCard;
use greenwave::monitor::FaultKind;
use greenwave::plan::learned::QTable;
use greenwave::plan::webster;
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::runtime::controller::ControllerMode;
use greenwave::runtime::state::StateSnapshot;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;

const SITE: &str = include_str!("../board/sites/nema8-4leg.toml");

fn site(text: &str) -> Site {
    Site::parse(text, "nema8-4leg.toml")
        .unwrap()
        .with_planner(PlannerKind::Learned)
}

#[test]
fn a_reload_keeps_learned_flows_model_faults_and_counters() {
    let old_site = site(SITE);
    let card = MmuCard::from_geometry(&old_site);
    let traffic = SimTraffic::new(&old_site, 1.0, 7);
    let mut lp = ControlLoop::new(&old_site, &card, SimRelays::default(), SimWatchdog::default(), traffic);
    let model = QTable::load(std::path::Path::new("models/learned-nema8.postcard")).unwrap();
    lp.controller.planner_mut().set_model(model.clone());
    let tick = u64::from(old_site.tick_ms);
    let mut k = 0u64;
    let run_to = |lp: &mut ControlLoop<_, _, _>, k: &mut u64, until_ms: u64| {
        while *k * tick < until_ms {
            lp.tick(Instant(*k * tick), true);
            while lp.controller.events_mut().pop().is_some() {}
            *k += 1;
        }
    };
    // One fault, cleared by the operator: it stays in the history and the total.
    run_to(&mut lp, &mut k, 60_000);
    lp.controller.external_fault(Instant(k * tick), FaultKind::Controller);
    assert!(lp.controller.clear_flash(Instant(k * tick)));
    run_to(&mut lp, &mut k, 1_800_000);
    let before = lp.controller.status();
    assert!(before.replans > 5, "flows learned over 30 min: {}", before.replans);
    assert_ne!(*lp.controller.planner().flows_vph(), webster::design_flows(&old_site));
    assert_eq!(lp.controller.monitor().faults_total(), 1);

    // An equivalent but changed site: phase 2's minimum green one second longer.
    let text = SITE.replacen("min_green_s = 10", "min_green_s = 11", 1);
    let new_site = site(&text);
    assert_ne!(new_site, old_site);
    lp.reload(new_site.clone());
    let mut last = (
        *lp.controller.planner().flows_vph(),
        lp.controller.status(),
        lp.controller.monitor().history().count(),
    );
    for _ in 0..1_200 {
        if lp.stats.reloads == 1 {
            break;
        }
        last = (
            *lp.controller.planner().flows_vph(),
            lp.controller.status(),
            lp.controller.monitor().history().count(),
        );
        lp.tick(Instant(k * tick), true);
        k += 1;
    }
    assert_eq!(lp.stats.reloads, 1, "the handover happened");
    let (flows, old, history) = last;
    let c = &lp.controller;
    assert_eq!(c.site(), &new_site);
    assert_eq!(
        c.mode(),
        ControllerMode::Startup,
        "the new controller starts in all red"
    );
    assert!(c.monitor().latched().is_none());
    assert_eq!(*c.planner().flows_vph(), flows, "learned flows carried over");
    assert_ne!(flows, webster::design_flows(&new_site));
    // The plan is timed with the saturation flows measured before the reload, carried over too.
    let sat = c.planner().saturation();
    assert!(sat.cycles().iter().any(|n| *n > 0), "saturation flows carried over");
    // And with the last hour's counts (all phases count the same traffic in both sites).
    assert_eq!(
        *c.planner().plan(),
        webster::plan_with(&new_site, &c.planner().hour().design(&flows), sat.vphpl())
    );
    assert_eq!(c.planner().model(), Some(&model), "the Q-table carried over");
    assert_eq!(c.monitor().faults_total(), 1);
    assert_eq!(c.monitor().history().count(), history);
    let now = c.status();
    assert_eq!(now.replans, old.replans, "learned cycles carried over");
    assert_eq!(now.cycles, old.cycles, "cycle count carried over");
    assert!(now.ticks > old.ticks);
    assert!(now.events_total >= old.events_total, "event counters carried over");
    assert_eq!(now.faults_total, 1);
    assert_eq!(now.scenarios.created, old.scenarios.created);
    // What the next state save writes: the learned cycles and counters of the whole run.
    let saved = StateSnapshot::of(c, &Counters::default(), 0, 0);
    assert_eq!(u64::from(saved.flows.cycles), old.replans);
    assert_eq!(saved.flows.flows_vph, flows);
    assert_eq!(saved.counters.faults, 1);
    assert_eq!(saved.faults.faults.len(), history);

    // And it goes on learning on the new site.
    run_to(&mut lp, &mut k, 2_400_000);
    let after = lp.controller.status();
    assert!(after.replans > old.replans);
    assert!(after.cycles > old.cycles);
    assert_eq!(after.mode, ControllerMode::Run);
}

/// Flows are per phase: a phase whose lanes or detectors changed starts again from the new site's
/// design volume; the others keep what was learned.
#[test]
fn flows_carry_over_only_where_the_phase_measures_the_same_traffic() {
    let old_site = site(SITE);
    let mut p = greenwave::plan::Planner::new(&old_site);
    let mut learned = webster::design_flows(&old_site);
    for f in learned.iter_mut() {
        *f *= 1.5;
    }
    p.set_flows(&old_site, &learned).unwrap();
    // Phase 2 (NB through) gets a third lane.
    let text = SITE.replacen("lanes = 2", "lanes = 3", 1);
    let new_site = site(&text);
    assert_eq!(new_site.phases[1].as_ref().unwrap().lanes, 3);
    let q = greenwave::plan::Planner::handover_from(&mut p, &old_site, &new_site);
    let design = webster::design_flows(&new_site);
    for (i, (got, (l, d))) in q.flows_vph().iter().zip(learned.iter().zip(design.iter())).enumerate() {
        let want = if i == 1 { d } else { l };
        assert_eq!(got, want, "phase {}", i + 1);
    }
    // A site with the same phases keeps every learned flow.
    let q = greenwave::plan::Planner::handover_from(&mut p, &old_site, &old_site);
    assert_eq!(*q.flows_vph(), learned);
}

/// A reload that lands while flash is latched keeps flash: only the operator's clear ends it. The
/// new site is in force from that clear on.
#[test]
fn a_reload_in_flash_stays_in_flash_until_the_operator_clears() {
    let old_site = site(SITE);
    let card = MmuCard::from_geometry(&old_site);
    let traffic = SimTraffic::new(&old_site, 1.0, 3);
    let mut lp = ControlLoop::new(&old_site, &card, SimRelays::default(), SimWatchdog::default(), traffic);
    let model = QTable::load(std::path::Path::new("models/learned-nema8.postcard")).unwrap();
    lp.controller.planner_mut().set_model(model);
    let tick = u64::from(old_site.tick_ms);
    let mut k = 0u64;
    while k * tick < 60_000 {
        lp.tick(Instant(k * tick), true);
        k += 1;
    }
    lp.controller.external_fault(Instant(k * tick), FaultKind::Controller);
    assert_eq!(lp.controller.mode(), ControllerMode::Flash);
    let new_site = site(&SITE.replacen("min_green_s = 10", "min_green_s = 11", 1));
    lp.reload(new_site.clone());
    for _ in 0..600 {
        lp.tick(Instant(k * tick), true);
        k += 1;
    }
    assert_eq!(lp.stats.reloads, 1, "the reload was applied");
    assert_eq!(*lp.controller.site(), new_site);
    assert_eq!(
        lp.controller.mode(),
        ControllerMode::Flash,
        "still in flash after the reload"
    );
    assert_eq!(lp.controller.monitor().faults_total(), 1);
    assert!(
        lp.controller.clear_flash(Instant(k * tick)),
        "the operator's clear ends it"
    );
    lp.tick(Instant(k * tick), true);
    assert_ne!(lp.controller.mode(), ControllerMode::Flash);
}
