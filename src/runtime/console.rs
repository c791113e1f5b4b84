//! The console served from the control loop: [`Bound`] is the controller as the console sees it
//! (the runtime's [`ConsoleTarget`]), handed to [`Console::poll`] once per tick, and
//! [`ConsolePort`] is the console with its serial port, the loop's console service. Copies a few
//! fields out of the controller's status; no allocation, no blocking.

use crate::camera::snapshot::service::{Refusal, SnapshotService, Trigger};
use crate::config::Site;
use crate::console::lock::PinHash;
use crate::console::view::{Action, ConsoleTarget, FaultView, PhaseView, PlanView, Refused, ScenarioView, StatusView};
use crate::console::Console;
use crate::detect::loops::{LoopDetectors, LoopView};
use crate::detect::DetectorSnapshot;
use crate::events::Event;
use crate::hal::Serial;
use crate::phase::PhaseId;
use crate::runtime::controller::{Controller, ControllerMode};
use crate::signal::engine::{Interval, PedInterval};
use crate::stats::LoopStats;
use crate::time::Instant;

/// The controller plus what the loop knows around it, for one console poll.
pub struct Bound<'a> {
    pub controller: &'a mut Controller,
    /// The board's cameras (`cameras`, `zones`), if any.
    pub cameras: Option<&'a crate::camera::set::CameraSet>,
    /// The detector snapshot of this tick.
    pub detectors: &'a DetectorSnapshot,
    /// The cabinet's loop detector channels, if it has any.
    pub loops: Option<&'a LoopDetectors>,
    pub stats: LoopStats,
    pub watchdog_ok: bool,
    pub now: Instant,
    /// The camera snapshot service, if the run has cameras (`snapshot N`).
    pub snapshots: Option<&'a mut SnapshotService>,
}

impl ConsoleTarget for Bound<'_> {
    fn site(&self) -> &Site {
        self.controller.site()
    }

    fn status(&self) -> StatusView {
        let s = self.controller.status();
        StatusView {
            mode: s.mode.name(),
            planner: s.planner,
            cycle_ms: s.cycle_ms,
            cycle_elapsed_ms: None,
            fault: s.fault.map(|f| f.kind.name()),
            detection_trusted: s.detection_trusted,
            watchdog_ok: self.watchdog_ok,
        }
    }

    fn phase(&self, p: PhaseId) -> Option<PhaseView> {
        let s = self.controller.status();
        self.controller.site().phase(p)?;
        let ring = s
            .rings
            .iter()
            .take(s.nrings)
            .find(|r| r.phase == Some(p) && r.interval != Interval::Idle);
        let (interval, since_ms) = match ring {
            Some(r) => (
                match (r.interval, r.ped) {
                    (Interval::Green, PedInterval::Walk) => "green+walk",
                    (Interval::Green, PedInterval::Clearance) => "green+pclr",
                    (i, _) => i.name(),
                },
                self.now.since_ms(r.since),
            ),
            None if s.mode == ControllerMode::Flash => ("flash", 0),
            None => ("red", 0),
        };
        Some(PhaseView {
            interval,
            since_ms,
            called: s.calls.contains(p),
            ped_called: s.ped_calls.contains(p),
            max_ms: self.controller.engine().running_max_ms(self.controller.site(), p),
        })
    }

    fn detectors(&self) -> DetectorSnapshot {
        *self.detectors
    }

    fn loop_channel(&self, i: usize) -> Option<LoopView> {
        self.loops?.view(i)
    }

    fn fault(&self, i: usize) -> Option<FaultView> {
        let latched = self.controller.monitor().latched().copied();
        self.controller.monitor().history().nth(i).map(|f| FaultView {
            at: f.at,
            name: f.kind.name(),
            param: f.a.map_or(0, |p| u16::from(p.number())),
            latched: latched == Some(*f),
        })
    }

    fn plan(&self) -> PlanView {
        let s = self.controller.status();
        PlanView {
            cycle_ms: s.plan.cycle_ms,
            split_ms: s.plan.green_ms,
            permissive_only: s.plan.permissive_only,
            source: s.plan_mode.name(),
            capped: s.plan.capped,
        }
    }

    fn schedule(&self) -> crate::console::view::ScheduleView {
        let s = self.controller.status();
        let site = self.controller.site();
        let pattern = site
            .coord
            .pattern(s.pattern)
            .filter(|_| s.cycle_timer_s.is_some())
            .map(|p| crate::console::view::PatternView {
                number: p.number,
                cycle_ms: p.cycle_ms,
                offset_ms: p.offset_ms,
                yellow_start: p.offset_ref == crate::config::schedule::OffsetRef::YellowStart,
                cycle_timer_s: s.cycle_timer_s,
            });
        crate::console::view::ScheduleView {
            calendar: site.coord.calendar.is_some(),
            local: self.controller.local_time(),
            action: s.schedule_action,
            since: s.schedule_since,
            next: s.next_change,
            pattern,
            state: s.coord_state.name(),
        }
    }

    fn scenarios(&self) -> ScenarioView {
        let p = self.controller.status().scenarios;
        ScenarioView {
            capacity: p.capacity,
            in_use: p.in_use,
            created: p.created,
            completed: p.completed,
            failed: p.failed,
            timed_out: p.timed_out,
        }
    }

    fn stats(&self) -> LoopStats {
        let s = self.controller.status();
        LoopStats {
            events_ring_dropped: s.events_dropped.max(self.stats.events_ring_dropped),
            ..self.stats
        }
    }

    fn camera(&self, i: usize) -> Option<crate::console::view::CameraView> {
        self.cameras?.view(i)
    }

    fn apply(&mut self, action: Action, now: Instant) -> Result<(), Refused> {
        match action {
            Action::ClearFlash => {
                if self.controller.clear_flash(now) {
                    Ok(())
                } else {
                    Err(Refused::NotInFlash)
                }
            }
            Action::SetPlan(kind) => {
                self.controller.set_planner(kind);
                Ok(())
            }
            Action::SetLogLevel(level) => {
                log::set_max_level(level);
                Ok(())
            }
            Action::Recall(p) => {
                if self.controller.operator_call(p) {
                    Ok(())
                } else {
                    Err(Refused::NoSuchPhase)
                }
            }
            Action::Snapshot(n) => {
                let Some(s) = self.snapshots.as_deref_mut() else {
                    return Err(Refused::NoSuchCamera);
                };
                match s.request(usize::from(n).wrapping_sub(1), Trigger::Console, now) {
                    Ok(()) => Ok(()),
                    Err(Refusal::NoSuchCamera) => Err(Refused::NoSuchCamera),
                    Err(Refusal::QueueFull) => Err(Refused::SnapshotsBehind),
                }
            }
            Action::PedCall(p) => {
                if self.controller.operator_ped_call(p) {
                    Ok(())
                } else {
                    Err(Refused::NoSuchPhase)
                }
            }
            Action::PhaseControl(kind, phases) => {
                if self.controller.set_phase_control(kind, phases, now) {
                    Ok(())
                } else {
                    Err(Refused::NoSuchPhase)
                }
            }
            Action::SelectPattern(n) => {
                if self.controller.command_pattern(n) {
                    Ok(())
                } else {
                    Err(Refused::NoSuchPattern)
                }
            }
            Action::PreemptTest(n) => {
                if !self.controller.site().preempts.iter().any(|d| d.number == n) {
                    Err(Refused::NoSuchPreempt)
                } else if self.controller.preempt_test(n, now) {
                    Ok(())
                } else {
                    Err(Refused::NotNow)
                }
            }
        }
    }
}

/// A serial console to serve from the loop: an open port and the PIN hash for mutating commands.
pub struct ConsoleSetup<P: Serial> {
    pub port: P,
    pub pin: Option<PinHash>,
}

impl<P: Serial> core::fmt::Debug for ConsoleSetup<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ConsoleSetup")
    }
}

/// The maintenance console as a service of the control loop: it sees every event (for `events`)
/// and is served once per tick against the controller.
pub trait ConsoleService {
    fn record_event(&mut self, ev: &Event);
    /// Serves the port once. Never blocks; an I/O error (cable pulled) never stops the controller.
    fn serve(&mut self, now: Instant, target: &mut Bound<'_>);
}

/// The console with its port.
pub struct ConsolePort<P: Serial> {
    pub console: Console,
    pub port: P,
}

impl<P: Serial> ConsolePort<P> {
    /// Starts the console (its greeting on the port) for the site named `site_name`.
    pub fn start(setup: ConsoleSetup<P>, site_name: &str) -> Self {
        let mut console = Console::new(setup.pin);
        console.start(site_name);
        ConsolePort {
            console,
            port: setup.port,
        }
    }
}

impl<P: Serial> ConsoleService for ConsolePort<P> {
    fn record_event(&mut self, ev: &Event) {
        self.console.record_event(ev);
    }

    fn serve(&mut self, now: Instant, target: &mut Bound<'_>) {
        let _ = self.console.poll(&mut self.port, now, target);
    }
}
