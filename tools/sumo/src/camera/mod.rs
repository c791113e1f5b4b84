//! Cameras in the loop: each approach's camera rendered from SUMO's vehicles, its frames put
//! through greenwave's capture → frame ring → zone detection → snapshot path, and the snapshot
//! handed to the controller in place of SUMO's E1/E2 detectors.
//!
//! Per approach ([`ApproachCamera`]): a pole-mounted camera behind the stop line
//! ([`model::Camera`]), a renderer ([`render::Renderer`]: perspective, occlusion, noise, drift,
//! day / night / rain), greenwave's [`FrameRing`] and [`ZoneDetector`], and one zone per detector
//! lane: the lane's ground rectangle from the stop line `zone_m` upstream, projected through the
//! same camera, so the zones match the rendering by construction. The camera table (image size,
//! fps, slots, zones) is written as the site file's `[camera]` body and parsed and checked by
//! greenwave's own `CameraConfig::parse`, as an engineer's would be.
//!
//! Vehicles come from TraCI variable subscriptions ([`CameraLoop::request`]): the simulation's
//! departed ids, and position, angle, length and width of every vehicle, reported after each
//! step in the step's own reply (no extra round trip). A frame is rendered every `1000 / fps` ms
//! of simulated time.
//!
//! Each zone has a virtual loop ([`CameraOptions::loop_m`], [`LOOP_M`] by default) inside it, so
//! the camera reports what the loop-and-queue detectors it replaces report: a vehicle over the
//! loop, or a standing queue in the zone.
//!
//! Truth and agreement: per zone and frame, the zone's presence is true when a vehicle's footprint
//! overlaps the loop's strip of the lane (the zone detector's loop cell), or a halting vehicle
//! (below [`HALTING_MPS`], the halting speed of the SUMO lane-area detector the zone replaces)
//! overlaps the zone's lane rectangle — without a loop, when any
//! footprint overlaps the rectangle; `presence_agreement` is the share of zone-frames (zone time)
//! in which the detector's presence equals that truth.

pub mod model;
pub mod render;

use crate::scenario::{APPROACHES, DETECTOR_LANES};
use crate::traci::{self, Batch, SubResult, Value};
use greenwave::camera::pipeline::{hand_off, CameraCounters, CameraSource, CaptureStage, DetectionStage};
use greenwave::camera::ring::FrameRing;
use greenwave::config::camera::CameraConfig;
use greenwave::detect::source::poll_all;
use greenwave::detect::zone::ZoneDetector;
use greenwave::detect::{DetectorSet, DetectorSnapshot};
use greenwave::limits::MAX_DETECTORS;
use greenwave::time::Instant;
use model::{footprint, overlap, Camera, LaneGeom};
use render::{shade_of, Conditions, Renderer, VehicleBox};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// How the cameras are set up.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraOptions {
    pub conditions: Conditions,
    /// Zone length from the stop line upstream ([`ZONE_M`] by default).
    pub zone_m: f64,
    /// The camera table's own settings (`width`, `height`, `fps`, … as in a site file); empty =
    /// greenwave's defaults.
    pub table: String,
    pub seed: u64,
    /// The zones' virtual loop, metres upstream of the stop line (`None`: whole-zone presence).
    pub loop_m: Option<f64>,
}

/// Default zone length: from the stop line 40 m upstream (about six queued vehicles, three seconds
/// of travel at 50 km/h). Over the E2 detectors' 80 m the zone of a busy through lane is occupied
/// for minutes on end, which the zone detector rightly reports as stuck on (presence over 300 s).
pub const ZONE_M: f64 = 40.0;
/// Default virtual loop, metres before the stop line: inside the default zone, where a pole
/// camera 6 m past the stop line still resolves a vehicle (the advance loops of SUMO's layout,
/// [`crate::scenario::E1_SETBACK_M`], lie beyond the zone).
pub const LOOP_M: f64 = 30.0;

/// SUMO's lane-area detector counts a vehicle as halting below this speed (its
/// `haltingSpeedThreshold`, 5 km/h by default), m/s.
pub const HALTING_MPS: f64 = 1.39;

impl Default for CameraOptions {
    fn default() -> Self {
        CameraOptions {
            conditions: Conditions::Day,
            zone_m: ZONE_M,
            table: String::new(),
            seed: 1,
            loop_m: Some(LOOP_M),
        }
    }
}

/// What the cameras saw over a run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CameraReport {
    pub conditions: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Frames per camera.
    pub frames: u64,
    /// Share of zone-time where the camera's presence equals the vehicle-in-zone truth.
    pub presence_agreement: f64,
    /// Per zone: (detector, agreement).
    pub zone_agreement: Vec<(u8, f64)>,
    /// Share of zone-time the truth was occupied.
    pub truth_occupied: f64,
    /// Zone-time the camera missed a vehicle / saw one that was not there.
    pub missed: f64,
    pub false_presence: f64,
    /// Mean wall time per frame and camera: rendering (the "camera") and capture + detection
    /// (greenwave's code).
    pub render_ms: f64,
    pub detect_ms: f64,
    /// Frames the rings dropped.
    pub dropped: u64,
}

/// One approach's camera: the renderer in place of the device, then greenwave's pipeline stages
/// (`camera::pipeline`) run on simulated time, as a board's capture and detection threads run them.
pub struct ApproachCamera {
    renderer: Renderer,
    capture: CaptureStage,
    detection: DetectionStage<ZoneDetector>,
    counters: Arc<CameraCounters>,
    cfg: CameraConfig,
    /// Per zone: site detector index (0-based), the lane's ground rectangle and, with a virtual
    /// loop, the loop's strip of it.
    zones: Vec<(usize, Quad, Option<Quad>)>,
}

/// Four ground points, metres.
type Quad = [(f64, f64); 4];

impl ApproachCamera {
    /// The camera of an approach over `lanes`, its zones for `(lane index, detector index)`
    /// pairs, and the control loop's end of its hand-off.
    pub fn new(
        lanes: &[LaneGeom],
        zoned: &[(usize, usize)],
        opts: &CameraOptions,
        seed: u64,
    ) -> Result<(ApproachCamera, CameraSource), String> {
        // Image size and fps from the camera table (greenwave's defaults unless given).
        let probe = format!(
            "{}\n[[zone]]\ndetector = 1\nquad = [[1, 1], [2, 1], [2, 2], [1, 2]]\n",
            opts.table
        );
        let size = CameraConfig::parse(&probe, "camera").map_err(|e| e.to_string())?;
        let cam = Camera::for_approach(lanes, opts.zone_m, size.width, size.height);
        let mut table = format!("{}\n", opts.table);
        let mut zones = Vec::new();
        for &(lane, det) in zoned {
            let l = lanes.get(lane).ok_or_else(|| format!("no lane {lane}"))?;
            let rect = l.zone_rect(opts.zone_m);
            let px: Vec<(f64, f64)> = rect
                .iter()
                .map(|c| {
                    cam.project([c.0, c.1, 0.0])
                        .ok_or_else(|| format!("{}: zone behind the camera", l.id))
                })
                .collect::<Result<_, _>>()?;
            // Stop-line left / right as the image shows them.
            let (a, b, c, d) = if px[0].0 <= px[1].0 {
                (px[0], px[1], px[2], px[3])
            } else {
                (px[1], px[0], px[3], px[2])
            };
            let _ = write!(
                table,
                "[[zone]]\ndetector = {}\nquad = [[{:.1}, {:.1}], [{:.1}, {:.1}], [{:.1}, {:.1}], [{:.1}, {:.1}]]\nlength_m = {}\n",
                det + 1,
                a.0,
                a.1,
                b.0,
                b.1,
                c.0,
                c.1,
                d.0,
                d.1,
                opts.zone_m
            );
            let strip = opts.loop_m.map(|m| {
                let _ = writeln!(table, "loop_m = {m}");
                // The zone detector's loop cell: [k, k + 1] × zone_m / CELLS from the stop line.
                let cells = greenwave::detect::zone::CELLS as f64;
                let k = (m / opts.zone_m * cells).floor().min(cells - 1.0);
                let at = |t: f64, a: (f64, f64), b: (f64, f64)| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
                let (t0, t1) = (k / cells, (k + 1.0) / cells);
                [
                    at(t0, rect[0], rect[3]),
                    at(t0, rect[1], rect[2]),
                    at(t1, rect[1], rect[2]),
                    at(t1, rect[0], rect[3]),
                ]
            });
            zones.push((det, rect, strip));
        }
        let cfg = CameraConfig::parse(&table, "camera").map_err(|e| e.to_string())?;
        let ring = Arc::new(FrameRing::new(cfg.slots, cfg.width, cfg.height).map_err(|e| e.to_string())?);
        let counters = Arc::new(CameraCounters::default());
        let (publisher, reader) = hand_off();
        let mut dets = DetectorSet::EMPTY;
        for (det, _, _) in &zones {
            dets.set(*det, true);
        }
        let source = CameraSource::new(reader, dets, cfg.stale_ms, None);
        Ok((
            ApproachCamera {
                renderer: Renderer::new(cam, lanes, opts.conditions, seed),
                capture: CaptureStage::new(Arc::clone(&ring), cfg.fps, Arc::clone(&counters)),
                detection: DetectionStage::new(ring, ZoneDetector::new(cfg.clone()), publisher, Arc::clone(&counters)),
                counters,
                cfg,
                zones,
            },
            source,
        ))
    }

    pub fn config(&self) -> &CameraConfig {
        &self.cfg
    }

    /// Capture: renders the view at `now` straight into a free slot of the frame ring (the
    /// capture stage's frame-rate limit applies). Returns the wall time spent rendering.
    pub fn capture(&mut self, now: Instant, vehicles: &[VehicleBox]) -> std::time::Duration {
        let t0 = std::time::Instant::now();
        let renderer = &mut self.renderer;
        let t_s = now.0 as f64 / 1000.0;
        let _ = self.capture.push(now, |buf: &mut [u8]| -> Result<(), ()> {
            renderer.render(t_s, vehicles, buf);
            Ok(())
        });
        t0.elapsed()
    }

    /// Detection: the detection stage runs once (newest frame → zone detector → hand-off).
    pub fn detect(&mut self, now: Instant) {
        self.detection.run_once(now);
    }

    /// The presence truth per zone (module docs): `speeds[i]` is `vehicles[i]`'s speed, m/s.
    pub fn truth(&self, vehicles: &[VehicleBox], speeds: &[f64], mut on: impl FnMut(usize, bool)) {
        for (det, rect, strip) in &self.zones {
            let c = rect.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0 / 4.0, a.1 + p.1 / 4.0));
            let reach = (rect[0].0 - rect[2].0).hypot(rect[0].1 - rect[2].1) / 2.0 + 20.0;
            let occupied = vehicles.iter().enumerate().any(|(i, v)| {
                if (v.front.0 - c.0).hypot(v.front.1 - c.1) >= reach {
                    return false;
                }
                let f = footprint(v.front, v.angle_deg, v.length, v.width);
                match strip {
                    None => overlap(&f, rect),
                    Some(s) => overlap(&f, s) || (speeds.get(i).is_some_and(|v| *v < HALTING_MPS) && overlap(&f, rect)),
                }
            });
            on(*det, occupied);
        }
    }
}

/// All approach cameras of junction `C`, fed from TraCI subscriptions.
pub struct CameraLoop {
    cams: Vec<ApproachCamera>,
    /// The control loop's ends of the cameras' hand-offs.
    sources: Vec<CameraSource>,
    opts: CameraOptions,
    started: bool,
    /// Vehicles that departed in the last step: subscribed in the next message.
    pending: Vec<String>,
    vehicles: Vec<VehicleBox>,
    /// Speed of each of `vehicles`, m/s.
    speeds: Vec<f64>,
    frame_ms: u64,
    next_frame: Instant,
    agree: [u64; MAX_DETECTORS],
    zone_frames: [u64; MAX_DETECTORS],
    occupied: [u64; MAX_DETECTORS],
    missed: [u64; MAX_DETECTORS],
    frames: u64,
    render: std::time::Duration,
    detect: std::time::Duration,
}

const VEHICLE_VARS: [u8; 5] = [
    traci::VAR_POSITION,
    traci::VAR_ANGLE,
    traci::VAR_LENGTH,
    traci::VAR_WIDTH,
    traci::VAR_SPEED,
];

impl CameraLoop {
    /// One camera per approach of `net`, a zone per detector lane of [`DETECTOR_LANES`].
    pub fn new(net: &Path, opts: &CameraOptions) -> Result<CameraLoop, String> {
        let mut cams = Vec::new();
        let mut sources = Vec::new();
        for (k, (edge, _, _)) in APPROACHES.iter().enumerate() {
            let lanes = model::approach_lanes(net, edge)?;
            let zoned: Vec<(usize, usize)> = DETECTOR_LANES
                .iter()
                .enumerate()
                .filter_map(|(det, id)| {
                    let (e, l) = id.split_once('_')?;
                    let lane = lanes.iter().position(|g| g.id == *id)?;
                    (e == *edge && l.parse::<u32>().is_ok()).then_some((lane, det))
                })
                .collect();
            if zoned.is_empty() {
                continue;
            }
            let (cam, source) =
                ApproachCamera::new(&lanes, &zoned, opts, opts.seed.wrapping_mul(31).wrapping_add(k as u64))?;
            cams.push(cam);
            sources.push(source);
        }
        let fps = cams.first().map_or(10, |c| c.cfg.fps);
        Ok(CameraLoop {
            cams,
            sources,
            opts: opts.clone(),
            started: false,
            pending: Vec::new(),
            vehicles: Vec::new(),
            speeds: Vec::new(),
            frame_ms: u64::from(1000 / fps.max(1)),
            next_frame: Instant::ZERO,
            agree: [0; MAX_DETECTORS],
            zone_frames: [0; MAX_DETECTORS],
            occupied: [0; MAX_DETECTORS],
            missed: [0; MAX_DETECTORS],
            frames: 0,
            render: std::time::Duration::ZERO,
            detect: std::time::Duration::ZERO,
        })
    }

    pub fn cameras(&self) -> &[ApproachCamera] {
        &self.cams
    }

    /// Adds this step's subscriptions to the message (no GET: results come with the step).
    pub fn request(&mut self, batch: &mut Batch) {
        if !self.started {
            batch.subscribe(traci::SUB_SIM, "", &[traci::VAR_DEPARTED_IDS]);
            self.started = true;
        }
        for id in self.pending.drain(..) {
            batch.subscribe(traci::SUB_VEHICLE, &id, &VEHICLE_VARS);
        }
    }

    /// Takes the step's subscription results (state at `now`), renders and detects when a frame
    /// is due, and returns the controller's detection: every camera's source polled as one, as
    /// the board's loop polls its sources.
    pub fn step(&mut self, subs: &[SubResult], now: Instant) -> DetectorSnapshot {
        self.vehicles.clear();
        self.speeds.clear();
        for s in subs {
            match s.id {
                id if id == traci::SUB_SIM + 0x10 => {
                    for (_, v) in &s.values {
                        if let Value::StrList(ids) = v {
                            self.pending.extend(ids.iter().cloned());
                        }
                    }
                }
                id if id == traci::SUB_VEHICLE + 0x10 => {
                    let get = |var: u8| s.values.iter().find(|(k, _)| *k == var).map(|(_, v)| v);
                    let (Some(Value::Pos(x, y)), Some(a), Some(l), Some(w)) = (
                        get(traci::VAR_POSITION),
                        get(traci::VAR_ANGLE).and_then(Value::as_f64),
                        get(traci::VAR_LENGTH).and_then(Value::as_f64),
                        get(traci::VAR_WIDTH).and_then(Value::as_f64),
                    ) else {
                        continue;
                    };
                    self.vehicles.push(VehicleBox {
                        front: (*x, *y),
                        angle_deg: a,
                        length: l,
                        width: w,
                        shade: shade_of(&s.obj, self.opts.seed),
                    });
                    self.speeds
                        .push(get(traci::VAR_SPEED).and_then(Value::as_f64).unwrap_or(f64::MAX));
                }
                _ => {}
            }
        }
        let due = now >= self.next_frame;
        if due {
            self.next_frame = now.plus_ms(self.frame_ms as u32);
            for cam in &mut self.cams {
                self.render += cam.capture(now, &self.vehicles);
                let t0 = std::time::Instant::now();
                cam.detect(now);
                self.detect += t0.elapsed();
            }
        }
        let snap = poll_all(&mut self.sources, now);
        if due {
            self.agreement(&snap);
        }
        snap
    }

    /// Compares the controller's presence with the truth at a frame.
    fn agreement(&mut self, snap: &DetectorSnapshot) {
        self.frames += 1;
        for cam in &self.cams {
            cam.truth(&self.vehicles, &self.speeds, |det, occupied| {
                let seen = snap.presence.contains(det);
                if let (Some(a), Some(n), Some(o), Some(m)) = (
                    self.agree.get_mut(det),
                    self.zone_frames.get_mut(det),
                    self.occupied.get_mut(det),
                    self.missed.get_mut(det),
                ) {
                    *n += 1;
                    *a += u64::from(seen == occupied);
                    *o += u64::from(occupied);
                    *m += u64::from(occupied && !seen);
                }
            });
        }
    }

    pub fn report(&self) -> CameraReport {
        let total: u64 = self.zone_frames.iter().sum();
        let share = |x: u64| x as f64 / total.max(1) as f64;
        let agree: u64 = self.agree.iter().sum();
        let occupied: u64 = self.occupied.iter().sum();
        let missed: u64 = self.missed.iter().sum();
        let cfg = self.cams.first().map(|c| c.config());
        let n = (self.frames * self.cams.len() as u64).max(1) as f64;
        CameraReport {
            conditions: self.opts.conditions.name().to_string(),
            width: cfg.map_or(0, |c| c.width),
            height: cfg.map_or(0, |c| c.height),
            fps: cfg.map_or(0, |c| c.fps),
            frames: self.frames,
            presence_agreement: share(agree),
            zone_agreement: (0..MAX_DETECTORS)
                .filter(|i| self.zone_frames[*i] > 0)
                .map(|i| (i as u8 + 1, self.agree[i] as f64 / self.zone_frames[i] as f64))
                .collect(),
            truth_occupied: share(occupied),
            missed: share(missed),
            false_presence: share(total - agree - missed),
            render_ms: self.render.as_secs_f64() * 1000.0 / n,
            detect_ms: self.detect.as_secs_f64() * 1000.0 / n,
            dropped: self
                .cams
                .iter()
                .map(|c| {
                    let s = c.capture.ring().stats();
                    s.dropped_full
                        + s.dropped_unread
                        + c.counters.rate_limited.load(std::sync::atomic::Ordering::Relaxed)
                })
                .sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenwave::detect::source::Source;

    fn approach() -> Vec<LaneGeom> {
        (0..3)
            .map(|k| LaneGeom {
                id: format!("S2C_{k}"),
                end: (308.0 - 3.2 * f64::from(k), 286.4),
                dir: (0.0, 1.0),
                width: 3.2,
                length: 286.4,
            })
            .collect()
    }

    /// Drives one approach camera with a scripted platoon: the detector's presence must follow
    /// the footprint truth except around the changes.
    #[test]
    fn the_zone_detector_sees_rendered_vehicles() {
        let lanes = approach();
        let opts = CameraOptions::default();
        let (mut cam, mut source) = ApproachCamera::new(&lanes, &[(0, 1), (1, 2), (2, 6)], &opts, 3).unwrap();
        assert_eq!(cam.config().zones.len(), 3);
        let mut agree = 0;
        let mut frames = 0;
        let mut seen_in_lane1 = false;
        for k in 0..600u64 {
            let t = k as f64 * 0.1;
            // A car every 8 s in lane 1 driving at 12 m/s from 150 m upstream, then past the line.
            let vehicles: Vec<VehicleBox> = (0..8)
                .map(|i| 8.0 * f64::from(i))
                .filter(|dep| t >= *dep)
                .map(|dep| VehicleBox {
                    front: (lanes[1].end.0, lanes[1].end.1 - 150.0 + 12.0 * (t - dep)),
                    angle_deg: 0.0,
                    length: 5.0,
                    width: 1.8,
                    shade: [225, 30, 110, 165][(dep as usize / 8) % 4],
                })
                .collect();
            let now = Instant(k * 100);
            cam.capture(now, &vehicles);
            cam.detect(now);
            let snap = source.poll(now);
            let speeds = vec![12.0; vehicles.len()];
            cam.truth(&vehicles, &speeds, |det, occ| {
                if k > 20 {
                    frames += 1;
                    agree += usize::from(snap.presence.contains(det) == occ);
                }
                if det == 2 && occ && snap.presence.contains(det) {
                    seen_in_lane1 = true;
                }
            });
            // Lane 2 (left) never holds a vehicle: no presence there.
            if k > 20 {
                assert!(
                    !snap.presence.contains(6),
                    "phantom in the empty left lane at frame {k}"
                );
            }
        }
        assert!(seen_in_lane1);
        let share = agree as f64 / frames as f64;
        assert!(share > 0.9, "agreement {share}");
    }
}
