//! The bridge: greenwave's real controller (planner, engine, conflict monitor) drives a SUMO
//! traffic light over TraCI, one message per step, through the site's `[sumo]` mapping
//! ([`crate::mapping`]).
//!
//! Each step: [set the TLS state from greenwave's frame, read every detector, read the approach
//! edges' vehicles when emergency priority is on, minExpectedNumber, simulationStep] in one
//! message; the replies become the next `DetectorSnapshot` (presence = a vehicle over the E1 loop
//! or standing in the E2 zone; counts = E1 vehicle arrivals; `queue_m` = E2 jam length), the
//! controller ticks, and the frame goes out in the next message. The frame is mapped to link
//! states by the mapping ([`SumoMap::state`]): green `G`, yellow `y`, red `r`, a flashing yellow
//! arrow or a permissive link `g` (green without priority: the turner yields to the opposing flow
//! and to people on the crosswalk, as the law requires), walk `G` on a crossing; in flash a
//! red-flashing head is `s` (stop, then go) and a yellow-flashing one `o`.
//!
//! Pedestrians: the step's message lists the people on the mapped walking areas; the next one
//! reads their speed and next edge. A person standing on a walking area whose next edge is a
//! crossing of a pedestrian phase presses that phase's button (`InputFrame::ped_buttons`), as a
//! person at the curb does.
//!
//! Transit priority: a bus (id `bus_*`) checks in on its approach's through phase
//! (`InputFrame::transit`) once it is within [`TRANSIT_CHECKIN_M`] of the stop line, as a
//! bus-mounted AVL/radio emitter would at a check-in point, and checks out when it leaves the
//! approach edge (crosses the stop line). With transit on, the step's message also reads the
//! approach edges' vehicles (shared with emergency priority) and the lane positions of the buses
//! the previous reply listed there: a bus's position is known one step (100 ms) after it appears,
//! which keeps the one-message-per-step rule.

use crate::mapping::{DetectorIds, SumoMap};
use crate::scenario::{self, DETECTOR_LANES};
use crate::sumo::{free_port, SumoProcess};
use crate::traci::{self, Batch, Client, Value};
use greenwave::config::{FlashColor, PlannerKind, Site};
use greenwave::detect::{DetectorHealth, DetectorSnapshot};
use greenwave::events::code;
use greenwave::events::csv::{write_row_io, WallClock, HEADER};
use greenwave::hal::InputFrame;
use greenwave::plan::learned::QTable;
use greenwave::plan::PlanMode;
use greenwave::runtime::{Controller, ControllerMode};
use greenwave::signal::frame::{Aspect, OutputFrame};
use greenwave::signal::phase::PhaseId;
use greenwave::time::Instant;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const GET_EDGE: u8 = 0xAA;
const GET_PERSON: u8 = 0xAE;
const VAR_LANEPOSITION: u8 = 0x56;
const VAR_SPEED: u8 = 0x40;
const VAR_NEXT_EDGE: u8 = 0xC1;
const VAR_LAST_STEP_PERSON_IDS: u8 = 0x1A;
/// A person slower than this (m/s) on a walking area is waiting at the curb.
const PED_WAITING_MPS: f64 = 0.1;

/// Distance before the stop line at which a bus checks in for priority: about 11 s of travel at
/// 50 km/h, so a 10 s green extension can carry it through.
pub const TRANSIT_CHECKIN_M: f64 = 150.0;

#[derive(Clone, Debug, Default)]
pub struct BridgeOptions {
    pub planner: Option<PlannerKind>,
    pub model: Option<QTable>,
    /// Write greenwave's hi-res event log here.
    pub events: Option<PathBuf>,
    /// Emergency vehicles (ids `ev_*`) on an approach raise that approach's preempt input.
    pub preempt: bool,
    /// Buses (ids `bus_*`) within [`TRANSIT_CHECKIN_M`] of the stop line raise their approach's
    /// through phase in `InputFrame::transit`.
    pub transit: bool,
    /// Detection frozen (the camera "dies") from .0 to .1 seconds.
    pub drop_detection: Option<(u64, u64)>,
    pub step_ms: u32,
    /// The site's `[sumo]` mapping [default: the reference site's, for the generated net].
    pub map: Option<SumoMap>,
    /// Stop after this many simulated seconds even if people or vehicles remain [default: run
    /// until the network is empty].
    pub end_s: Option<u32>,
    /// Cameras in the loop: the detectors come from rendered camera frames through greenwave's
    /// zone detection instead of SUMO's E1/E2 (`camera`).
    pub camera: Option<crate::camera::CameraOptions>,
    /// Start the planner from what an earlier run learned (flows and saturation flows), as a
    /// board restores them from its state directory after a restart.
    pub warm: Option<WarmState>,
    /// Keep the planner's learned state as it stands at this simulated second (or at the end of
    /// the run if it ends first) in [`BridgeReport::warm`].
    pub capture_at_s: Option<f64>,
}

/// What the planner learned from trusted detection: the flows per phase and the stop-line
/// saturation flows per lane (with the cycles behind each), as `greenwave run` persists them.
#[derive(Clone, Debug, PartialEq)]
pub struct WarmState {
    pub flows_vph: [f32; greenwave::limits::MAX_PHASES],
    pub saturation_vphpl: [f32; greenwave::limits::MAX_PHASES],
    pub saturation_cycles: [u32; greenwave::limits::MAX_PHASES],
    /// The last hour's counts in 15-minute bins (the fail-safe never plans below the hour's flows).
    pub hour: greenwave::plan::hour::HourFlows,
}

impl WarmState {
    fn of(ctl: &Controller) -> WarmState {
        let p = ctl.planner();
        WarmState {
            flows_vph: *p.flows_vph(),
            saturation_vphpl: *p.saturation().vphpl(),
            saturation_cycles: *p.saturation().cycles(),
            hour: *p.hour(),
        }
    }
}

/// What happened in the run besides the trips.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BridgeReport {
    pub steps: u64,
    pub wall_s: f64,
    pub steps_per_s: f64,
    pub faults: u32,
    pub events: u64,
    /// Plan modes over time: (seconds, mode name).
    pub mode_changes: Vec<(f64, String)>,
    /// Emergency vehicles: seconds from entering the approach to its through phase green.
    pub ev_time_to_green_s: Vec<f64>,
    /// Transit priority events: check-in (112), early green (113), green extension (114),
    /// check-out (115).
    pub tsp_events: [u64; 4],
    /// `learned` planner: green-end decisions the table took (confident) / deferred to adaptive.
    pub learned_confident: u64,
    pub learned_deferred: u64,
    /// Pedestrian button presses (steps with a waiting person, per crossing phase, summed).
    pub ped_presses: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera: Option<crate::camera::CameraReport>,
    /// The planner's learned state at [`BridgeOptions::capture_at_s`].
    #[serde(skip)]
    pub warm: Option<WarmState>,
}

/// Runs greenwave on the scenario until the network is empty. Returns the tripinfo path.
#[allow(clippy::too_many_arguments)]
pub fn run(
    home: &Path,
    site: &Site,
    files: &scenario::Files,
    routes: &[PathBuf],
    seed: u64,
    out_dir: &Path,
    tag: &str,
    opts: &BridgeOptions,
) -> Result<(PathBuf, BridgeReport), String> {
    let site = match opts.planner {
        Some(p) => site.clone().with_planner(p),
        None => site.clone(),
    };
    let step_ms = if opts.step_ms == 0 { site.tick_ms } else { opts.step_ms };
    // The controller ticks at SUMO's step: the site is validated again for that tick.
    let site = site.with_tick_ms(step_ms).map_err(|e| e.to_string())?;
    let map = match &opts.map {
        Some(m) => m.clone(),
        None => SumoMap::reference()?,
    };
    let tls = crate::mapping::check_files(&map, &site, &files.net, &files.additional())?;
    let n_links = tls.links.len();
    // Per pedestrian phase: its phase, walking areas (indices into `walk_areas`), crossing edges.
    let walk_areas: Vec<String> = {
        let mut v: Vec<String> = map.ped.iter().flat_map(|c| c.walking_areas.iter().cloned()).collect();
        v.sort();
        v.dedup();
        v
    };
    let ped_calls: Vec<(PhaseId, Vec<usize>, Vec<String>)> = map
        .ped
        .iter()
        .filter_map(|c| {
            let p = PhaseId::new(c.phase)?;
            let areas = c
                .walking_areas
                .iter()
                .filter_map(|w| walk_areas.iter().position(|x| x == w))
                .collect();
            let crossings = c
                .links
                .iter()
                .filter_map(|&i| tls.links.get(i).map(|l| l.crossing_edge.clone()))
                .collect();
            Some((p, areas, crossings))
        })
        .collect();
    let port = free_port()?;
    let trip = out_dir.join(format!("{tag}.tripinfo.xml"));
    let route_list = routes
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut args = crate::sumo::run_args(
        &files.net,
        &route_list,
        &files.additional_arg(),
        f64::from(step_ms) / 1000.0,
        seed,
        &trip,
    );
    args.extend(["--remote-port".to_string(), port.to_string()]);
    let mut sumo = SumoProcess::spawn(home, &args, &out_dir.join(format!("{tag}.sumo.log")))?;
    let mut client = Client::connect(port, Duration::from_secs(20), || sumo.check_alive())?;
    let mut ctl = Controller::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant::ZERO,
    );
    if let Some(m) = &opts.model {
        ctl.planner_mut().set_model(m.clone());
    }
    if let Some(w) = &opts.warm {
        ctl.planner_mut()
            .set_flows(&site, &w.flows_vph)
            .map_err(|e| format!("{tag}: the warm-up's flows were refused: {e}"))?;
        ctl.planner_mut()
            .set_saturation(&site, &w.saturation_vphpl, &w.saturation_cycles)
            .map_err(|bad| format!("{tag}: the warm-up's saturation flows were refused ({bad} veh/h per lane)"))?;
        ctl.planner_mut()
            .set_hour(&site, &w.hour)
            .map_err(|e| format!("{tag}: the warm-up's peak flows were refused: {e}"))?;
    }
    let mut log = match &opts.events {
        Some(p) => {
            let mut f = std::io::BufWriter::new(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?);
            writeln!(f, "{HEADER}").map_err(|e| e.to_string())?;
            Some(f)
        }
        None => None,
    };
    let clock = WallClock {
        unix_ms_at_zero: 1_767_225_600_000,
    }; // 2026-01-01 00:00:00 UTC
    let mut report = BridgeReport::default();
    let mut detectors = DetectorReader::from_map(&map.detector);
    let mut frame = OutputFrame::ALL_RED;
    let mut last_snapshot = DetectorSnapshot::EMPTY;
    let mut last_mode = PlanMode::Fallback;
    let mut ev_seen: std::collections::HashMap<String, (f64, u8)> = std::collections::HashMap::new();
    let mut ev_done: std::collections::HashSet<String> = std::collections::HashSet::new();
    let approaches: Vec<(&str, u8, Option<u8>)> = scenario::APPROACHES
        .iter()
        .map(|(e, through, _)| {
            let pre = site
                .preempts
                .iter()
                .find(|d| PhaseId::new(*through).is_some_and(|p| d.dwell_phases.contains(p)))
                .map(|d| d.number);
            (*e, *through, pre)
        })
        .collect();
    // Stop-line distance per approach: the length of its through lane.
    let approach_len: Vec<f64> = if !opts.transit {
        Vec::new()
    } else {
        let lens = scenario::lane_lengths(&files.net)?;
        approaches
            .iter()
            .map(|(e, _, _)| {
                let lane = format!("{e}_1");
                lens.iter()
                    .find(|(id, _)| *id == lane)
                    .map(|(_, m)| *m)
                    .ok_or_else(|| format!("{}: no lane {lane}", files.net.display()))
            })
            .collect::<Result<_, _>>()?
    };
    // Buses the last reply listed on an approach (approach index, id): their positions are read
    // in this step's message.
    let mut buses: Vec<(usize, String)> = Vec::new();
    // People the last reply listed on a walking area (walking-area index, id): their speed and
    // next edge are read in this step's message.
    let mut people: Vec<(usize, String)> = Vec::new();
    let read_edges = opts.preempt || opts.transit;
    let mut cameras = match &opts.camera {
        Some(c) => Some(crate::camera::CameraLoop::new(&files.net, c)?),
        None => None,
    };
    let start = std::time::Instant::now();
    let mut batch = Batch::new();
    let mut k: u64 = 0;
    loop {
        let flash = ctl.status().mode == ControllerMode::Flash;
        let state = map.state(&site, &frame, flash, n_links);
        batch.clear();
        batch.set_string(traci::SET_TLS, traci::VAR_TLS_STATE, &map.tls, &state);
        detectors.request(&mut batch);
        if read_edges {
            for (e, _, _) in &approaches {
                batch.get(GET_EDGE, traci::VAR_LAST_STEP_VEHICLE_IDS, e);
            }
        }
        for (_, id) in &buses {
            batch.get(traci::GET_VEHICLE, VAR_LANEPOSITION, id);
        }
        for w in &walk_areas {
            batch.get(GET_EDGE, VAR_LAST_STEP_PERSON_IDS, w);
        }
        for (_, id) in &people {
            batch.get(GET_PERSON, VAR_SPEED, id);
            batch.get(GET_PERSON, VAR_NEXT_EDGE, id);
        }
        batch.get(traci::GET_SIM, traci::VAR_MIN_EXPECTED, "");
        if let Some(c) = cameras.as_mut() {
            c.request(&mut batch);
        }
        // SUMO steps after the other commands: the reads above see the state the last step left,
        // the frame computed from them goes out with the next message (one step of sensing lag,
        // as on a board).
        batch.step(0.0);
        let (resp, subs) = client.exchange(&batch).map_err(|e| {
            // A closed socket usually means SUMO quit on an error: give it a moment to exit so
            // its own message (the end of its log) can be reported.
            std::thread::sleep(Duration::from_millis(300));
            match sumo.check_alive() {
                Err(dead) => dead,
                Ok(()) => e.to_string(),
            }
        })?;
        k += 1;
        let now = Instant(k * u64::from(step_ms));
        let t_s = now.0 as f64 / 1000.0;
        // Detector replies: 3 per detector lane, then edges, then min expected.
        let mut snap = detectors.snapshot(&resp, now);
        if let Some(c) = cameras.as_mut() {
            // The camera-covered detectors come from the cameras (vehicle state after this step).
            snap = c.step(&subs, now);
        }
        let mut inputs = InputFrame::default();
        let mut next = detectors.replies();
        let edge_ids = next;
        if read_edges {
            for (e, through, pre) in &approaches {
                if let Some(Value::StrList(ids)) = resp.get(next).map(|r| &r.value).filter(|_| opts.preempt) {
                    for id in ids.iter().filter(|id| id.starts_with("ev_")) {
                        if let Some(n) = pre {
                            inputs.preempt |= 1 << (n - 1);
                        }
                        if !ev_done.contains(id) {
                            ev_seen.entry(id.clone()).or_insert((t_s, *through));
                        }
                    }
                }
                let _ = e;
                next += 1;
            }
        }
        if opts.transit {
            // A bus checks in while it is on its approach edge within the check-in distance.
            for (i, (a, id)) in buses.iter().enumerate() {
                let pos = resp.get(next + i).and_then(|r| r.value.as_f64());
                let on_edge =
                    matches!(resp.get(edge_ids + a).map(|r| &r.value), Some(Value::StrList(ids)) if ids.contains(id));
                let len = approach_len.get(*a).copied().unwrap_or(0.0);
                if let (true, Some(pos), Some((_, through, _))) = (on_edge, pos, approaches.get(*a)) {
                    if len - pos <= TRANSIT_CHECKIN_M {
                        if let Some(p) = PhaseId::new(*through) {
                            inputs.transit.insert(p);
                        }
                    }
                }
            }
            next += buses.len();
            buses.clear();
            for a in 0..approaches.len() {
                if let Some(Value::StrList(ids)) = resp.get(edge_ids + a).map(|r| &r.value) {
                    buses.extend(ids.iter().filter(|id| id.starts_with("bus_")).map(|id| (a, id.clone())));
                }
            }
        }
        // Pedestrians: a person standing on a walking area, bound for a crossing, presses its
        // phase's button.
        let areas_at = next;
        next += walk_areas.len();
        for (i, (w, _)) in people.iter().enumerate() {
            let speed = resp.get(next + 2 * i).and_then(|r| r.value.as_f64());
            let to = resp.get(next + 2 * i + 1).and_then(|r| r.value.as_str());
            if let (Some(v), Some(to)) = (speed, to) {
                if v < PED_WAITING_MPS {
                    for (p, areas, crossings) in &ped_calls {
                        if areas.contains(w) && crossings.iter().any(|c| c == to) {
                            inputs.ped_buttons.insert(*p);
                            report.ped_presses += 1;
                        }
                    }
                }
            }
        }
        next += 2 * people.len();
        people.clear();
        for w in 0..walk_areas.len() {
            if let Some(Value::StrList(ids)) = resp.get(areas_at + w).map(|r| &r.value) {
                people.extend(ids.iter().map(|id| (w, id.clone())));
            }
        }
        let expected = resp.get(next).and_then(|r| r.value.as_i32()).unwrap_or(0);
        // A "dead camera": the snapshot stops updating (the planner sees it go stale).
        let det = match opts.drop_detection {
            Some((a, b)) if t_s >= a as f64 && t_s < b as f64 => last_snapshot,
            _ => {
                last_snapshot = snap;
                snap
            }
        };
        frame = ctl.tick(now, &det, &inputs);
        ctl.relay_feedback(now, Ok(frame));
        // Emergency vehicles: time from entering the approach to their phase's green.
        ev_seen.retain(|id, (seen, through)| {
            let green = PhaseId::new(*through).is_some_and(|p| frame.aspect(p) == Aspect::Green);
            if green {
                report.ev_time_to_green_s.push(t_s - *seen);
                ev_done.insert(id.clone());
            }
            !green
        });
        let mode = ctl.status().plan_mode;
        if mode != last_mode {
            report.mode_changes.push((t_s, mode.name().to_string()));
            last_mode = mode;
        }
        while let Some(ev) = ctl.events_mut().pop() {
            report.events += 1;
            if let Some(n) = ev
                .code
                .checked_sub(code::TSP_CHECK_IN)
                .and_then(|i| report.tsp_events.get_mut(usize::from(i)))
            {
                *n += 1;
            }
            if let Some(f) = log.as_mut() {
                write_row_io(f, clock, site.device_id, &ev).map_err(|e| e.to_string())?;
            }
        }
        if report.warm.is_none() && opts.capture_at_s.is_some_and(|c| t_s >= c) {
            report.warm = Some(WarmState::of(&ctl));
        }
        if (expected <= 0 && k > 10) || opts.end_s.is_some_and(|e| t_s >= f64::from(e)) {
            break;
        }
        if k > 4 * 3600 * 1000 / u64::from(step_ms) {
            return Err(format!(
                "{tag}: the network did not empty within 4 simulated hours (gridlock?)"
            ));
        }
    }
    batch.clear();
    batch.close();
    client.exchange(&batch).map_err(|e| e.to_string())?;
    sumo.wait(Duration::from_secs(30))?;
    if let Some(mut f) = log {
        f.flush().map_err(|e| e.to_string())?;
    }
    report.steps = k;
    report.wall_s = start.elapsed().as_secs_f64();
    report.steps_per_s = k as f64 / report.wall_s.max(1e-9);
    report.faults = ctl.status().faults_total;
    let ls = ctl.planner().learned_stats();
    report.learned_confident = ls.confident;
    report.learned_deferred = ls.deferred;
    report.camera = cameras.map(|c| c.report());
    if opts.capture_at_s.is_some() && report.warm.is_none() {
        report.warm = Some(WarmState::of(&ctl));
    }
    Ok((trip, report))
}

/// The site's detectors in SUMO: per channel an E1 loop and/or an E2 zone (the `[sumo]` mapping;
/// [`DetectorReader::new`] is the reference net's, `e1_<lane>` / `e2_<lane>` per
/// [`DETECTOR_LANES`] entry). Presence = a vehicle over the loop or standing in the zone; counts =
/// loop arrivals (rising edges of its vehicle number); `queue_m` = the zone's jam length.
pub struct DetectorReader {
    /// (channel index, E1 id, E2 id).
    ids: Vec<(usize, Option<String>, Option<String>)>,
    counts: [u16; 32],
    was_on_loop: [bool; 32],
}

impl Default for DetectorReader {
    fn default() -> Self {
        Self::new()
    }
}

impl DetectorReader {
    /// Replies each step of the reference net's reader: 3 per detector lane, first in the batch
    /// after the TLS set.
    pub const REPLIES: usize = 3 * DETECTOR_LANES.len();

    /// The reference net's detectors.
    pub fn new() -> DetectorReader {
        DetectorReader {
            ids: DETECTOR_LANES
                .iter()
                .enumerate()
                .map(|(i, l)| (i, Some(format!("e1_{l}")), Some(format!("e2_{l}"))))
                .collect(),
            counts: [0; 32],
            was_on_loop: [false; 32],
        }
    }

    /// The detectors of a `[sumo]` mapping.
    pub fn from_map(dets: &[DetectorIds]) -> DetectorReader {
        DetectorReader {
            ids: dets
                .iter()
                .filter_map(|d| {
                    let ch = usize::from(d.channel).checked_sub(1)?;
                    Some((ch, d.e1.clone(), d.e2.clone()))
                })
                .collect(),
            counts: [0; 32],
            was_on_loop: [false; 32],
        }
    }

    /// Replies each step: 1 per E1 loop, 2 per E2 zone, first in the batch after the TLS set.
    pub fn replies(&self) -> usize {
        self.ids
            .iter()
            .map(|(_, e1, e2)| usize::from(e1.is_some()) + 2 * usize::from(e2.is_some()))
            .sum()
    }

    /// Adds the detector reads to a step's batch.
    pub fn request(&self, batch: &mut Batch) {
        for (_, e1, e2) in &self.ids {
            if let Some(e1) = e1 {
                batch.get(traci::GET_INDUCTIONLOOP, traci::VAR_LAST_STEP_VEHICLE_NUMBER, e1);
            }
            if let Some(e2) = e2 {
                batch.get(traci::GET_LANEAREA, traci::VAR_LAST_STEP_HALTING, e2);
                batch.get(traci::GET_LANEAREA, traci::VAR_JAM_LENGTH_METERS, e2);
            }
        }
    }

    /// The snapshot at `now` from the step's replies (`resp` starts with the detector replies).
    pub fn snapshot(&mut self, resp: &[traci::Response], now: Instant) -> DetectorSnapshot {
        let mut snap = DetectorSnapshot {
            at: now,
            ..DetectorSnapshot::EMPTY
        };
        let mut k = 0;
        for (ch, e1, e2) in &self.ids {
            let i = *ch;
            let mut on_loop = false;
            if e1.is_some() {
                on_loop = resp.get(k).and_then(|r| r.value.as_i32()).unwrap_or(0) > 0;
                k += 1;
            }
            let (mut halting, mut jam) = (false, 0.0);
            if e2.is_some() {
                halting = resp.get(k).and_then(|r| r.value.as_i32()).unwrap_or(0) > 0;
                jam = resp.get(k + 1).and_then(|r| r.value.as_f64()).unwrap_or(0.0);
                k += 2;
            }
            if i >= self.counts.len() || i >= snap.counts.len() {
                continue;
            }
            if on_loop && !self.was_on_loop[i] {
                self.counts[i] = self.counts[i].wrapping_add(1);
            }
            self.was_on_loop[i] = on_loop;
            snap.presence.set(i, on_loop || halting);
            snap.counts[i] = self.counts[i];
            snap.queue_m[i] = jam as f32;
            snap.health[i] = DetectorHealth::Ok;
        }
        snap
    }
}

/// The link state character for phase `p`.
fn link_char(site: &Site, frame: &OutputFrame, p: u8, flash: bool) -> char {
    let Some(id) = PhaseId::new(p) else { return 'r' };
    if flash {
        return match site.phase(id).map(|ph| ph.flash) {
            Some(FlashColor::Yellow) => 'o',
            _ => 's',
        };
    }
    match frame.aspect(id) {
        Aspect::Green => 'G',
        Aspect::FlashingYellow => 'g',
        Aspect::Yellow => 'y',
        _ => 'r',
    }
}

/// The link state character greenwave's frame gives the links of phase `p` (the same mapping
/// [`run`] uses), for other drivers of junction `C` such as the trainer.
pub fn link_state_char(site: &Site, frame: &OutputFrame, p: u8, flash: bool) -> char {
    link_char(site, frame, p, flash)
}
