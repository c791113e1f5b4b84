//! The Webster fail-safe is timed with the saturation flow the street really discharges, measured
//! at the stop line while detection is trusted (plan::saturation), not the design figure.

use greenwave::config::{PlannerKind, Site};
use greenwave::frame::OutputFrame;
use greenwave::monitor::card::MmuCard;
use greenwave::plan::webster;
use greenwave::runtime::controller::Controller;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;

const SITE: &str = include_str!("../board/sites/nema8-4leg.toml");

fn site_with_saturation(vphpl: u32) -> Site {
    assert!(
        SITE.contains("saturation_flow_vphpl = 1800"),
        "the reference site states its saturation flow"
    );
    let text = SITE.replace(
        "saturation_flow_vphpl = 1800",
        &format!("saturation_flow_vphpl = {vphpl}"),
    );
    Site::parse(&text, "nema8-4leg.toml").unwrap()
}

/// Runs `seconds` of simulated traffic discharging at `street`'s saturation flow against a
/// controller configured with `design`'s.
fn run(design: &Site, street: &Site, seconds: u64) -> Controller {
    let design = design.clone().with_planner(PlannerKind::Actuated);
    let mut traffic = SimTraffic::new(street, 1.0, 7);
    let mut ctl = Controller::new(&design, &MmuCard::from_geometry(&design), Instant::ZERO);
    let mut frame = OutputFrame::ALL_RED;
    let tick = u64::from(design.tick_ms);
    for k in 0..seconds * 1000 / tick {
        let now = Instant(k * tick);
        let (det, inputs) = traffic.step(now, &frame);
        frame = ctl.tick(now, &det, &inputs);
        while ctl.events_mut().pop().is_some() {}
    }
    ctl
}

#[test]
fn the_plan_learns_the_discharge_rate_of_the_street() {
    let design = site_with_saturation(1800);
    let street = site_with_saturation(1300);
    let ctl = run(&design, &street, 3600);
    let meter = ctl.planner().saturation();
    let mut measured = 0;
    for ph in design.phases() {
        let i = ph.id.index();
        if meter.cycles()[i] == 0 {
            continue;
        }
        measured += 1;
        let s = meter.vphpl()[i];
        assert!(
            (1_200.0..=1_400.0).contains(&s),
            "phase {} measured {s} veh/h/ln, street 1,300",
            ph.id
        );
    }
    eprintln!(
        "measured saturation flows: {:?} cycles {:?}",
        meter.vphpl(),
        meter.cycles()
    );
    assert!(
        measured >= 4,
        "the four through movements queue every cycle: {measured} measured"
    );
    // Lower saturation flow → larger flow ratios → the plan gives a longer cycle than the design
    // figure would.
    let plan = ctl.planner().plan();
    let with_design = webster::plan(&design, ctl.planner().flows_vph());
    assert!(
        plan.y_total > with_design.y_total * 1.2,
        "{} vs {}",
        plan.y_total,
        with_design.y_total
    );
    assert!(
        plan.cycle_ms >= with_design.cycle_ms,
        "{} vs {}",
        plan.cycle_ms,
        with_design.cycle_ms
    );
}

#[test]
fn a_street_at_the_design_rate_confirms_it() {
    let design = site_with_saturation(1800);
    let ctl = run(&design, &design, 1800);
    let meter = ctl.planner().saturation();
    let mut measured = 0;
    for ph in design.phases() {
        let i = ph.id.index();
        if meter.cycles()[i] > 0 {
            measured += 1;
            let s = meter.vphpl()[i];
            assert!(
                (1_650.0..=1_950.0).contains(&s),
                "phase {} measured {s} veh/h/ln",
                ph.id
            );
        }
    }
    assert!(measured >= 4);
}
