//! Property tests of the timing engine against the safety rules (docs/safety.md 1-3), checked from
//! the output frames alone by an independent `Monitor` plus the checks below.
//!
//! Random call / extension / push-button patterns and random switches between actuated,
//! fixed-time and adaptive directives (a random choice of the greens the planner ends) drive five
//! sites (the NEMA 8-phase site with flashing-yellow-arrow left turns resting in green, the same
//! site resting in red, with lagging lefts, with protected-only lefts, and a one-ring three-phase
//! site), with random permission for the arrows. Per frame: no conflict, no dual indication,
//! no short yellow or red clearance (monitor); a flashing arrow only with its opposing through green,
//! only where allowed and never during preemption; per phase: every green lasts at least its min green,
//! a green that served a walk lasts at least walk + pedestrian clearance, every yellow lasts at least
//! its configured length; and every call is served within a bound (no starvation).
//!
//! Scale: `GREENWAVE_PROP_CASES` (default 100) × `GREENWAVE_PROP_STEPS` (default 10,000) steps =
//! 10^6 steps in CI; the documented long run uses 1,000 × 100,000 = 10^8 (README, Tests).

use greenwave::config::Site;
use greenwave::events::EventRing;
use greenwave::monitor::Monitor;
use greenwave::signal::engine::{Demand, Directive, Engine, PhaseControl};
use greenwave::signal::frame::{Aspect, OutputFrame};
use greenwave::signal::phase::{PhaseId, PhaseSet};
use greenwave::time::Instant;
use proptest::prelude::*;

const NEMA8: &str = include_str!("../board/sites/nema8-4leg.toml");

const ONE_RING: &str = r#"
[site]
name = "T junction, one ring"
device_id = 2
tick_ms = 100
rest = "green"
planner = "actuated"
flash = "red"

[structure]
rings = [[1, 2, 3]]
barriers = [[1], [2], [3]]

[[phase]]
number = 1
name = "main"
approach = "W"
movements = ["through", "left_yield"]
min_green_s = 8
max_green_s = 40
passage_s = 3
recall = "min"
speed_kmh = 60
grade_pct = -3
crossing_width_m = 15
lanes = 2
design_volume_vph = 700

[phase.ped]
crossing_m = 12
walk_s = 7

[[phase]]
number = 2
name = "side"
approach = "S"
movements = ["left", "right"]
min_green_s = 5
max_green_s = 25
passage_s = 2
recall = "none"
speed_kmh = 40
grade_pct = 0
crossing_width_m = 22
lanes = 1
design_volume_vph = 200

[[phase]]
number = 3
name = "turn"
approach = "E"
movements = ["left"]
min_green_s = 4
max_green_s = 15
passage_s = 2
recall = "none"
speed_kmh = 30
grade_pct = 0
crossing_width_m = 18
lanes = 1
design_volume_vph = 80

[[detector]]
number = 1
phase = 1

[[detector]]
number = 2
phase = 2

[[detector]]
number = 3
phase = 3
"#;

fn env_num(name: &str, default: u32) -> u32 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Clone, Debug)]
struct Segment {
    ticks: u16,
    veh: u16,
    extend: u16,
    ped: u16,
    fixed: bool,
    preempt: u8,
    transit: u16,
    permissive: u16,
    /// Central phase control in force for the segment (NTCIP 1202 phase control group, as SNMP
    /// SETs apply it): omit, pedestrian omit, hold, force-off.
    control: [u16; 4],
    /// Adaptive directive for the segment (when not fixed): the greens the planner ends.
    adaptive: Option<u16>,
}

fn segment() -> impl Strategy<Value = Segment> {
    (
        1u16..300,
        any::<u16>(),
        any::<u16>(),
        prop_oneof![9 => Just(0u16), 1 => any::<u16>()],
        prop::bool::weighted(0.15),
        prop_oneof![12 => Just(0u8), 1 => 1u8..16],
        prop_oneof![6 => Just(0u16), 1 => any::<u16>()],
        prop_oneof![2 => Just(0xffu16), 1 => any::<u16>()],
        prop::array::uniform4(prop_oneof![4 => Just(0u16), 1 => any::<u16>()]),
        prop::option::weighted(0.3, any::<u16>()),
    )
        .prop_map(
            |(ticks, veh, extend, ped, fixed, preempt, transit, permissive, control, adaptive)| Segment {
                ticks,
                veh,
                extend,
                ped,
                fixed,
                preempt,
                transit,
                permissive,
                control,
                adaptive,
            },
        )
}

/// Per-phase memory of the independent checker.
#[derive(Clone, Copy, Default)]
struct Track {
    green_since: Option<u64>,
    walk_since: Option<u64>,
    served_walk_at: Option<u64>,
    yellow_since: Option<u64>,
    call_since: Option<u64>,
}

fn run(site: &Site, segments: &[Segment], steps: u64) -> Result<(), TestCaseError> {
    let mut engine = Engine::new(Instant(0));
    let mut monitor = Monitor::new(
        site,
        &greenwave::monitor::card::MmuCard::from_geometry(site),
        Instant(0),
    );
    let mut ev = EventRing::new();
    let tick = u64::from(site.tick_ms);
    let configured = site.phase_set();
    let mut track = [Track::default(); 8];
    let mut prev = OutputFrame::ALL_RED;
    // Starvation bound: every phase at its longest service, twice over, plus start-up.
    let bound: u64 = 2 * site
        .phases()
        .map(|p| u64::from(p.max_green_ms.max(p.min_green_with_ped_ms()) + p.yellow_ms + p.red_clear_ms))
        .sum::<u64>()
        + u64::from(site.startup_red_ms)
        + 10_000;
    let mut plan = [0u32; 8];
    for p in site.phases() {
        plan[p.id.index()] = p.min_green_with_ped_ms() + 4_000;
    }
    let mut k = 0u64;
    let mut preempted_since: Option<u64> = None;
    let pmin = site.preempts.iter().map(|d| d.min_green_ms).min().unwrap_or(u32::MAX);
    let pped = site.preempts.iter().map(|d| d.ped_clear_ms).min().unwrap_or(u32::MAX);
    let mut seg_i = 0usize;
    let mut left = 0u16;
    while k < steps {
        if left == 0 {
            seg_i = (seg_i + 1) % segments.len();
            left = segments[seg_i].ticks;
            let kinds = [
                PhaseControl::Omit,
                PhaseControl::PedOmit,
                PhaseControl::Hold,
                PhaseControl::ForceOff,
            ];
            for (kind, set) in kinds.into_iter().zip(segments[seg_i].control) {
                engine.set_phase_control(kind, PhaseSet(set & configured.0), Instant(k * tick), &mut ev);
            }
        }
        left -= 1;
        let s = &segments[seg_i];
        let now = k * tick;
        let demand = Demand {
            veh: PhaseSet(s.veh & configured.0),
            extend: PhaseSet(s.extend & configured.0),
            ped: PhaseSet(s.ped & site.ped_phases().0),
            preempt: s.preempt,
            transit: PhaseSet(s.transit & configured.0),
            permissive: PhaseSet(s.permissive & configured.0),
        };
        // Preemption may shorten min green and pedestrian clearance (never yellow / red clearance).
        if s.preempt != 0 || engine.preempt().is_some() {
            preempted_since = Some(now);
        }
        let directive = match (s.fixed, s.adaptive) {
            (true, _) => Directive::Fixed { green_ms: plan },
            (false, Some(end)) => Directive::Adaptive {
                end: PhaseSet(end & configured.0),
            },
            (false, None) => Directive::Actuated,
        };
        let f = engine.step(site, Instant(now), &demand, &directive, &mut ev);
        while ev.pop().is_some() {}
        if let Some(fault) = monitor.check(Instant(now), &f) {
            return Err(TestCaseError::fail(format!("monitor: {fault} at step {k}")));
        }
        // Flashing yellow arrows: only on configured permissive left turns, only while the
        // planner allows them and their opposing through is green, never during preemption.
        for ph in site.phases() {
            if f.aspect(ph.id) == Aspect::FlashingYellow {
                let o = ph.permissive;
                prop_assert!(
                    o.is_some_and(|o| f.aspect(o) == Aspect::Green),
                    "phase {}: FYA without its opposing green at step {k}",
                    ph.id
                );
                prop_assert!(
                    demand.permissive.contains(ph.id),
                    "phase {}: FYA not allowed at step {k}",
                    ph.id
                );
                prop_assert!(
                    engine.preempt().is_none(),
                    "phase {}: FYA during preemption at step {k}",
                    ph.id
                );
            }
        }
        for ph in site.phases() {
            let p = ph.id;
            let i = p.index();
            let t = &mut track[i];
            let (was, is) = (prev.aspect(p), f.aspect(p));
            if is == Aspect::Green && was != Aspect::Green {
                t.green_since = Some(now);
                t.call_since = None;
            }
            if was == Aspect::Green && is != Aspect::Green {
                let start = t.green_since.unwrap_or(0);
                let g = now - start;
                let pre = preempted_since.is_some_and(|x| x >= start);
                let min = if pre {
                    ph.min_green_ms.min(pmin)
                } else {
                    ph.min_green_ms
                };
                prop_assert!(g >= u64::from(min), "phase {p}: green {g} ms < min {min} at step {k}");
                if let (Some(w), Some(pd)) = (t.served_walk_at, ph.ped) {
                    // Under preemption WALK may be cut short, but the (preempt) clearance still runs.
                    let need = if pre { pd.change_ms.min(pped) } else { pd.service_ms() };
                    prop_assert!(now - w >= u64::from(need), "phase {p}: walk at {w}, green ended {now}");
                }
                t.served_walk_at = None;
            }
            if is == Aspect::Yellow && was != Aspect::Yellow {
                t.yellow_since = Some(now);
            }
            if was == Aspect::Yellow && is != Aspect::Yellow {
                let y = now - t.yellow_since.unwrap_or(0);
                prop_assert!(
                    y >= u64::from(ph.yellow_ms),
                    "phase {p}: yellow {y} ms < {}",
                    ph.yellow_ms
                );
            }
            let walk = f.walk(p);
            if walk && !prev.walk(p) {
                t.walk_since = Some(now);
                t.served_walk_at = Some(now);
            }
            if !walk && prev.walk(p) && preempted_since.is_none_or(|x| x < t.walk_since.unwrap_or(0)) {
                if let Some(pd) = ph.ped {
                    let w = now - t.walk_since.unwrap_or(0);
                    prop_assert!(w >= u64::from(pd.walk_ms), "phase {p}: walk {w} ms < {}", pd.walk_ms);
                }
            }
            // Liveness: a call on a red phase is served within the bound.
            let called = demand.veh.contains(p) || demand.ped.contains(p);
            if preempted_since == Some(now) {
                t.call_since = None; // preemption suspends normal service; waits restart after it
            }
            let c = engine.phase_controls();
            if c.omit.contains(p) || c.ped_omit.contains(p) {
                t.call_since = None; // an omitted phase is not served; its wait restarts after the omit
            }
            if called && is != Aspect::Green && t.call_since.is_none() {
                t.call_since = Some(now);
            }
            if let Some(c) = t.call_since {
                prop_assert!(
                    now - c <= bound,
                    "phase {p}: call waiting {} ms > bound {bound} at step {k}",
                    now - c
                );
            }
        }
        prev = f;
        k += 1;
    }
    Ok(())
}

fn sites() -> Vec<Site> {
    vec![
        Site::parse(NEMA8, "nema8-4leg.toml").unwrap(),
        Site::parse(
            &NEMA8.replace("rest = \"green\"", "rest = \"red\""),
            "nema8-rest-red.toml",
        )
        .unwrap(),
        Site::parse(ONE_RING, "one-ring.toml").unwrap(),
        // Lagging left turns: the arrow flashes first, the protected green follows.
        Site::parse(
            &NEMA8.replace(
                "rings = [[1, 2, 3, 4], [5, 6, 7, 8]]",
                "rings = [[2, 1, 4, 3], [6, 5, 8, 7]]",
            ),
            "nema8-lagging.toml",
        )
        .unwrap(),
        // Protected-only left turns (no flashing yellow arrows).
        Site::parse(
            &NEMA8
                .lines()
                .filter(|l| !l.starts_with("permissive"))
                .collect::<Vec<_>>()
                .join("\n"),
            "nema8-protected.toml",
        )
        .unwrap(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: env_num("GREENWAVE_PROP_CASES", 100), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn engine_never_violates_safety(which in 0usize..5, segments in prop::collection::vec(segment(), 1..40)) {
        let site = &sites()[which];
        run(site, &segments, u64::from(env_num("GREENWAVE_PROP_STEPS", 10_000)))?;
    }
}

/// The checker itself catches violations: a frame sequence with a short yellow fails.
#[test]
fn checker_catches_a_short_yellow() {
    let site = Site::parse(NEMA8, "x").unwrap();
    let mut m = Monitor::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let p2 = PhaseId::new(2).unwrap();
    let mut f = OutputFrame::ALL_RED;
    for p in PhaseId::all() {
        if site.phase(p).unwrap().ped.is_none() {
            f.ped[p.index()] = 0;
        }
    }
    assert!(m.check(Instant(0), &f).is_none());
    f.set_aspect(p2, Aspect::Green);
    assert!(m.check(Instant(10_000), &f).is_none());
    f.set_aspect(p2, Aspect::Yellow);
    assert!(m.check(Instant(20_000), &f).is_none());
    f.set_aspect(p2, Aspect::Red);
    assert!(m.check(Instant(21_000), &f).is_some());
}
