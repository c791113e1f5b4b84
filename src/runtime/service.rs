//! The services the control loop drives besides the hardware, each behind a small trait so the loop
//! does not depend on how they work: the event log writer ([`EventLog`], a thread behind an SPSC
//! queue), the state keeper ([`StateStore`], likewise), the maintenance console
//! (`runtime::console::ConsoleService`, polled on the control thread) and the watchdog (`hal::Watchdog`,
//! kicked only when `runtime::supervisor::Supervisor` finds every part on time).
//!
//! [`Services::start`] starts what the loop options ask for; `runtime::control_loop::run_with`
//! takes them ready-made, so a test can hand the loop stand-ins.
//!
//! Per tick every call is bounded and non-blocking: a full queue drops and counts, a failing disk
//! is counted and raised as an alarm (`runtime::loss`), never waited for (docs/safety.md 5).

use crate::camera::snapshot::service::SnapshotService;
use crate::config::Site;
use crate::events::csv::{TimeBase, WallClock};
use crate::events::persist::Counters;
use crate::events::Event;
use crate::hal::{Relays, Watchdog};
use crate::runtime::central::CentralLink;
use crate::runtime::console::{ConsolePort, ConsoleService};
use crate::runtime::control_loop::{ControlLoop, EventLogTarget, LoopOptions, Street};
use crate::runtime::logger::{EventSink, LogHealth};
use crate::runtime::pace::Speed;
use crate::runtime::state::{StateHealth, StateKeeper, StateSnapshot};
use crate::runtime::wallclock::{time_base, zone_of, WallWatch};

/// Where the loop's events go.
pub trait EventLog {
    /// Hands one event over. `wait`: wait for room in the queue (only at `sim --speed max`, where
    /// simulated time waits for the writer; a real-time loop drops and counts instead).
    fn send(&mut self, ev: Event, wait: bool);
    /// Counters as the control thread sees them now (read without locks).
    fn health(&self) -> LogHealth;
    /// Writes what is queued, stops the writer and returns its final counters.
    fn finish(self: Box<Self>) -> LogHealth;
}

impl EventLog for EventSink {
    fn send(&mut self, ev: Event, wait: bool) {
        EventSink::send(self, ev, wait);
    }
    fn health(&self) -> LogHealth {
        EventSink::health(self)
    }
    fn finish(self: Box<Self>) -> LogHealth {
        EventSink::finish(*self)
    }
}

/// Where the controller's state (learned flows, counters, fault history) is kept across restarts.
pub trait StateStore {
    /// Offers a snapshot; skipped (and counted) when the writer is still busy with the last one.
    fn offer(&mut self, snap: StateSnapshot);
    /// Offers the final snapshot, waiting for room (end of the run only).
    fn offer_wait(&mut self, snap: StateSnapshot);
    fn health(&self) -> StateHealth;
    /// Saves what is queued, stops the writer and returns its final counters.
    fn finish(self: Box<Self>) -> StateHealth;
}

impl StateStore for StateKeeper {
    fn offer(&mut self, snap: StateSnapshot) {
        StateKeeper::offer(self, snap);
    }
    fn offer_wait(&mut self, snap: StateSnapshot) {
        StateKeeper::offer_wait(self, snap);
    }
    fn health(&self) -> StateHealth {
        StateKeeper::health(self)
    }
    fn finish(self: Box<Self>) -> StateHealth {
        StateKeeper::finish(*self)
    }
}

/// The services one run drives; each is optional.
#[derive(Default)]
pub struct Services {
    pub console: Option<Box<dyn ConsoleService>>,
    pub events: Option<Box<dyn EventLog>>,
    pub state: Option<Kept>,
    /// Camera snapshots (a board with cameras): requested by the console and by events.
    pub snapshots: Option<SnapshotService>,
    /// The control thread's watch on the wall clock (real time with an event log only).
    pub wall: Option<WallWatch>,
    /// Central management's channels (NTCIP over SNMP, MQTT telemetry), empty when none runs.
    pub central: CentralLink,
}

impl Services {
    /// Starts what `opts` asks for (start-up: may allocate, may fail): the console on its port,
    /// the event log writer, the state keeper (whose learned flows seed the controller's planner).
    pub fn start<R: Relays, W: Watchdog, S: Street>(
        lp: &mut ControlLoop<R, W, S>,
        site: &Site,
        opts: &mut LoopOptions,
    ) -> Result<Services, String> {
        let console = opts
            .console
            .take()
            .map(|c| Box::new(ConsolePort::start(c, site.name.as_str())) as Box<dyn ConsoleService>);
        // Rows are dated in the site's local time; in real time the anchor follows the wall clock
        // (`runtime::wallclock`), otherwise it is start + controller time (seeded runs repeat).
        let zone = if opts.event_log.is_some() { zone_of(site) } else { None };
        let (wall, clock) = if opts.speed == Speed::Factor(1.0) {
            let (w, tb) = time_base(opts.start_unix_ms, zone);
            (Some(w), tb)
        } else {
            let fixed = WallClock {
                unix_ms_at_zero: opts.start_unix_ms,
            };
            (None, TimeBase::new(fixed, zone, None))
        };
        let events: Option<Box<dyn EventLog>> = match &opts.event_log {
            Some(EventLogTarget::File(p, mode)) => Some(Box::new(EventSink::create(p, *mode, site.device_id, clock)?)),
            Some(EventLogTarget::Dir(dir)) => Some(Box::new(EventSink::create_rotating(dir, site.device_id, clock)?)),
            None => None,
        };
        let state = match &opts.state_dir {
            None => None,
            Some(dir) => Some(start_state(lp, site, dir)?),
        };
        let wall = if events.is_some() || opts.mqtt.is_some() {
            wall
        } else {
            None
        };
        let mut central = CentralLink::default();
        if let Some(cfg) = &opts.mqtt {
            let (link, status) = crate::central::mqtt::start(cfg, site.device_id, zone_of(site))?;
            // At most MAX_SERVICES publishers: one per central service.
            let _ = central.status.push(status);
            central.mqtt = Some(link);
        }
        if let Some(cfg) = opts.snmp.as_ref() {
            start_snmp(&mut central, site, cfg)?;
        }
        Ok(Services {
            console,
            events,
            state,
            snapshots: None,
            wall,
            central,
        })
    }
}

/// Starts the NTCIP 1202 SNMP agent on its own thread, joined to the loop by a status channel and
/// a command channel (`central`).
fn start_snmp(
    central: &mut CentralLink,
    site: &Site,
    cfg: &crate::central::snmp::agent::AgentConfig,
) -> Result<(), String> {
    let (publisher, reader) = crate::central::status::channel();
    let (client, server) = crate::central::command::channel();
    let handle = crate::central::snmp::agent::start(cfg, site, reader, client)?;
    if central.status.push(publisher).is_err() || central.commands.push(server).is_err() {
        return Err("snmp: too many central services".into());
    }
    central.snmp = Some(handle);
    Ok(())
}

/// The state keeper with what the loop adds to each snapshot: the counters of earlier runs and the
/// learned cycles they had.
pub struct Kept {
    pub store: Box<dyn StateStore>,
    /// Counters of earlier runs, added to this run's.
    pub base: Counters,
    /// Learned cycles behind the flows the planner was seeded with.
    pub prior_cycles: u32,
}

/// Starts the state keeper in `dir` and seeds the controller with what it loaded.
pub fn start_state<R: Relays, W: Watchdog, S: Street>(
    lp: &mut ControlLoop<R, W, S>,
    site: &Site,
    dir: &std::path::Path,
) -> Result<Kept, String> {
    let (keeper, loaded) = StateKeeper::start(dir)?;
    for (level, line) in &loaded.report {
        log::log!(*level, "state {}: {line}", dir.display());
    }
    // Refused flows (not traffic: logged by the planner) count no learned cycles.
    let mut prior_cycles = loaded.flows.cycles;
    if prior_cycles > 0 {
        if lp
            .controller
            .planner_mut()
            .set_flows(site, &loaded.flows.flows_vph)
            .is_ok()
        {
            log::info!("Webster fail-safe plan seeded from {prior_cycles} learned cycles");
        } else {
            prior_cycles = 0;
        }
    }
    if loaded.saturation.cycles.iter().any(|c| *c > 0)
        && lp
            .controller
            .planner_mut()
            .set_saturation(site, &loaded.saturation.vphpl, &loaded.saturation.cycles)
            .is_ok()
    {
        log::info!("Webster fail-safe plan timed with saturation flows measured before the restart");
    }
    if !loaded.hour.completed().is_empty() && lp.controller.planner_mut().set_hour(site, &loaded.hour).is_ok() {
        log::info!(
            "Webster fail-safe plan designed on no less than the flows of the {} min of trusted detection before the restart",
            loaded.hour.completed().len() as u32 * (crate::plan::hour::BIN_MS / 60_000)
        );
    }
    Ok(Kept {
        store: Box::new(keeper),
        base: loaded.counters,
        prior_cycles,
    })
}
