//! The control loop's side of central management (`crate::central`): each tick it fills one
//! [`UnitStatus`] from the controller and hands it to every central service, and applies the
//! services' queued requests through the console's own command path ([`Bound`]). Fixed work per
//! tick, no allocation, never waits.

use crate::central::command::CommandServer;
use crate::central::mqtt::MqttLink;
use crate::central::status::{DetectorState, PhaseGroups, PhaseParams, StatusPublisher, UnitMode, UnitStatus};
use crate::console::view::ConsoleTarget;
use crate::detect::DetectorSnapshot;
use crate::events::Event;
use crate::frame::{lamp, ped_lamp};
use crate::hal::InputFrame;
use crate::runtime::console::Bound;
use crate::runtime::controller::{Controller, ControllerMode};
use crate::signal::engine::{Interval, PedInterval, PreemptStage};
use crate::stats::LoopStats;
use crate::time::Instant;

/// Central services a controller may run at once (the SNMP agent and the MQTT publisher).
pub const MAX_SERVICES: usize = 2;

/// The loop's ends of the central services' channels.
#[derive(Default)]
pub struct CentralLink {
    pub status: heapless::Vec<StatusPublisher, MAX_SERVICES>,
    pub commands: heapless::Vec<CommandServer, MAX_SERVICES>,
    seq: u64,
    /// Requests applied, and refused, over the run.
    pub applied: u64,
    pub refused: u64,
    /// The SNMP agent's thread, stopped when the link is dropped at the end of the run.
    pub snmp: Option<crate::central::snmp::agent::AgentHandle>,
    /// MQTT telemetry's event hand-off and counters (`central::mqtt`), when it runs.
    pub mqtt: Option<MqttLink>,
}

impl CentralLink {
    /// Whether any service is attached (otherwise the loop skips the work).
    pub fn is_empty(&self) -> bool {
        self.status.is_empty() && self.commands.is_empty()
    }

    /// Hands one drained event to the telemetry (no wait, no allocation; dropped and counted when
    /// its queue is full). `unix_ms_at_zero`: the wall-clock anchor of controller time zero.
    pub fn offer_event(&mut self, ev: &Event, unix_ms_at_zero: i64) {
        if let Some(m) = self.mqtt.as_mut() {
            m.offer(ev, unix_ms_at_zero.saturating_add(ev.at.0 as i64));
        }
    }

    /// Publishes this tick's status to every service.
    #[allow(clippy::too_many_arguments)]
    pub fn publish(
        &mut self,
        controller: &Controller,
        det: &DetectorSnapshot,
        inputs: &InputFrame,
        stats: &LoopStats,
        watchdog_ok: bool,
        unix_ms: i64,
    ) {
        if self.status.is_empty() {
            return;
        }
        self.seq += 1;
        let s = unit_status(controller, det, inputs, stats, watchdog_ok, unix_ms, self.seq);
        for p in self.status.iter_mut() {
            p.publish(&s);
        }
    }

    /// Applies every service's queued requests (a bounded number each) to `target`.
    pub fn serve(&mut self, target: &mut Bound<'_>, now: Instant) {
        let (mut ok, mut refused) = (0, 0);
        for c in self.commands.iter_mut() {
            c.serve(|r| {
                let res = target.apply(r.action, now);
                match res {
                    Ok(()) => ok += 1,
                    Err(_) => refused += 1,
                }
                res
            });
        }
        self.applied += ok;
        self.refused += refused;
    }
}

fn tenths(ms: u32) -> u16 {
    (ms / 100).min(u32::from(u16::MAX)) as u16
}

fn secs(ms: u32) -> u16 {
    (ms / 1000).min(u32::from(u16::MAX)) as u16
}

/// The unit status of this tick.
pub fn unit_status(
    controller: &Controller,
    det: &DetectorSnapshot,
    inputs: &InputFrame,
    stats: &LoopStats,
    watchdog_ok: bool,
    unix_ms: i64,
    seq: u64,
) -> UnitStatus {
    let site = controller.site();
    let st = controller.status();
    let mut out = UnitStatus::EMPTY;
    out.seq = seq;
    out.now = st.now;
    out.unix_ms = unix_ms;
    out.device_id = site.device_id;
    out.mode = match st.mode {
        ControllerMode::Startup => UnitMode::Startup,
        ControllerMode::Run => UnitMode::Run,
        ControllerMode::Stopping => UnitMode::Stopping,
        ControllerMode::Flash => UnitMode::Flash,
    };
    out.planner = st.planner;
    out.plan_mode = st.plan_mode.name();
    out.detection_trusted = st.detection_trusted;
    out.fault = st.fault.map(|f| f.kind.name());
    out.faults_total = st.faults_total;
    out.cycle_ms = st.cycle_ms;
    out.cycles = st.cycles;
    out.pattern = st.pattern;
    out.cycle_timer_s = st.cycle_timer_s;
    let mut g = PhaseGroups::default();
    for (i, (veh, ped)) in st.frame.veh.iter().zip(st.frame.ped.iter()).enumerate() {
        let Some(t) = site.phases[i].as_ref() else { continue };
        let bit = 1u8 << i;
        // A flashing yellow arrow is a permissive yellow indication on the phase's head.
        let v = *veh;
        if v & lamp::RED != 0 {
            g.reds |= bit;
        }
        if v & (lamp::YELLOW | lamp::FYA_LIT | lamp::FYA_DARK) != 0 {
            g.yellows |= bit;
        }
        if v & lamp::GREEN != 0 {
            g.greens |= bit;
        }
        if t.ped.is_some() {
            if *ped & ped_lamp::WALK != 0 {
                g.walks |= bit;
            } else if *ped & ped_lamp::DONT_WALK != 0 {
                g.dont_walks |= bit;
            }
        }
    }
    for r in st.rings.iter().take(st.nrings) {
        let Some(p) = r.phase else { continue };
        let bit = 1u8 << p.index();
        if r.interval != Interval::Idle {
            g.ons |= bit;
            if r.ped == PedInterval::Clearance {
                // Flashing don't walk: pedestrian clearance, not a steady don't walk.
                g.ped_clears |= bit;
                g.dont_walks &= !bit;
            }
        }
        if let Some(n) = r.next() {
            g.nexts |= 1u8 << n.index();
        }
    }
    g.vehicle_calls = st.calls.0 as u8;
    g.ped_calls = st.ped_calls.0 as u8;
    let pc = controller.engine().phase_controls();
    (g.omits, g.ped_omits, g.holds, g.force_offs) = (
        pc.omit.0 as u8,
        pc.ped_omit.0 as u8,
        pc.hold.0 as u8,
        pc.force_off.0 as u8,
    );
    out.groups = g;
    for (i, t) in site.phases.iter().enumerate() {
        let Some(t) = t else { continue };
        out.phases[i] = PhaseParams {
            number: t.id.number(),
            min_green_s: secs(t.min_green_ms),
            passage_ds: tenths(t.passage_ms),
            max1_s: secs(t.max_green_ms),
            yellow_ds: tenths(t.yellow_ms),
            red_clear_ds: tenths(t.red_clear_ms),
            walk_s: t.ped.map_or(0, |p| secs(p.walk_ms)),
            ped_clear_s: t.ped.map_or(0, |p| secs(p.change_ms)),
            ring: site.ring_of(t.id).map_or(0, |r| r as u8 + 1),
        };
    }
    for (i, d) in site.detectors.iter().enumerate() {
        let Some(d) = d else { continue };
        out.detectors[i] = DetectorState {
            number: d.number,
            presence: det.presence.contains(i),
            count: det.counts[i],
            health: det.health[i],
        };
    }
    out.preempt_inputs = inputs.preempt;
    out.preempt = controller
        .engine()
        .preempt()
        .map(|p| (p.number, p.stage == PreemptStage::Dwell));
    for (slot, d) in out.preempts.iter_mut().zip(site.preempts.iter()) {
        *slot = d.number;
    }
    out.door_open = inputs.door_open;
    out.watchdog_ok = watchdog_ok;
    out.overruns = stats.overruns;
    out.events_dropped = st.events_dropped;
    out.events_total = st.events_total;
    out
}
