//! A fixed controller state for console tests: the reference 8-phase site, phase 2 and 6 in green,
//! one stale detector, a fault history, and a record of the actions the console asked for.
#![allow(dead_code)]

use greenwave::config::{PlannerKind, Site};
use greenwave::console::view::{
    Action, ConsoleTarget, FaultView, LoopStats, PhaseView, PlanView, Refused, ScenarioView, StatusView,
};
use greenwave::detect::{DetectorHealth, DetectorSnapshot};
use greenwave::signal::phase::PhaseId;
use greenwave::time::Instant;
use std::path::Path;

pub struct FixedController {
    pub site: Site,
    pub flash: bool,
    pub fault_present: bool,
    pub planner: PlannerKind,
    pub applied: heapless::Vec<Action, 32>,
}

impl FixedController {
    pub fn new() -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("board/sites/nema8-4leg.toml");
        let site = Site::load(&path).expect("reference site loads");
        FixedController {
            site,
            flash: true,
            fault_present: false,
            planner: PlannerKind::Actuated,
            applied: heapless::Vec::new(),
        }
    }
}

impl ConsoleTarget for FixedController {
    fn site(&self) -> &Site {
        &self.site
    }

    fn status(&self) -> StatusView {
        StatusView {
            mode: if self.flash { "flash" } else { "normal" },
            planner: self.planner,
            cycle_ms: 84_000,
            cycle_elapsed_ms: Some(12_300),
            fault: if self.flash { Some("relay read-back") } else { None },
            detection_trusted: true,
            watchdog_ok: true,
        }
    }

    fn phase(&self, p: PhaseId) -> Option<PhaseView> {
        let n = p.number();
        Some(PhaseView {
            interval: if n == 2 || n == 6 { "green" } else { "red" },
            since_ms: 1_000 * n as u32 + 250,
            called: n.is_multiple_of(2),
            ped_called: n == 4,
            max_ms: self.site.phase(p).map_or(0, |ph| ph.max_green_ms),
        })
    }

    fn detectors(&self) -> DetectorSnapshot {
        let mut d = DetectorSnapshot::EMPTY;
        for i in 0..12 {
            d.health[i] = DetectorHealth::Ok;
            d.counts[i] = 100 + i as u16;
        }
        d.presence.set(1, true);
        d.health[4] = DetectorHealth::Stale;
        d
    }

    fn fault(&self, i: usize) -> Option<FaultView> {
        [
            FaultView {
                at: Instant(3_600_000),
                name: "detector stale",
                param: 5,
                latched: false,
            },
            FaultView {
                at: Instant(7_200_500),
                name: "relay read-back",
                param: 4,
                latched: true,
            },
        ]
        .get(i)
        .copied()
    }

    fn plan(&self) -> PlanView {
        let mut split_ms = [0; 8];
        for (i, s) in [8_000, 25_000, 8_000, 25_000, 8_000, 25_000, 8_000, 25_000]
            .iter()
            .enumerate()
        {
            split_ms[i] = *s;
        }
        PlanView {
            cycle_ms: 84_000,
            split_ms,
            permissive_only: greenwave::signal::phase::PhaseSet::EMPTY,
            source: "design volumes",
            capped: None,
        }
    }

    fn scenarios(&self) -> ScenarioView {
        ScenarioView {
            capacity: 4,
            in_use: 1,
            created: 120,
            completed: 118,
            failed: 1,
            timed_out: 0,
        }
    }

    fn stats(&self) -> LoopStats {
        LoopStats {
            ticks: 36_000,
            overruns: 2,
            worst_tick_ns: 850_000,
            allocations: Some(0),
            heap_bytes: Some(81_920),
            rss_kb: Some(4_096),
            events_ring_dropped: 0,
            ..LoopStats::default()
        }
    }

    fn apply(&mut self, action: Action, _now: Instant) -> Result<(), Refused> {
        let _ = self.applied.push(action);
        match action {
            Action::ClearFlash if self.fault_present => Err(Refused::FaultPresent),
            Action::ClearFlash => {
                self.flash = false;
                Ok(())
            }
            Action::SetPlan(k) => {
                self.planner = k;
                Ok(())
            }
            Action::PreemptTest(n) if n > 2 => Err(Refused::NoSuchPreempt),
            _ => Ok(()),
        }
    }
}
