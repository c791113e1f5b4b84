//! CPU zone detector: per-lane zones in a camera image → presence, counts, queue length, health.
//!
//! Each zone is a quadrilateral over one approach lane (corners: the two stop-line corners, then
//! the two far corners, `length_m` apart on the road). At start-up the zone is cut into
//! [`CELLS`] cells along the lane, each sampled at [`SAMPLES`] pixel positions (bilinear in the
//! quad), so a frame costs `zones × CELLS × SAMPLES` pixel reads whatever the image size.
//!
//! Per sample: a running-average background (α = 1/64 while the sample and its cell look like
//! road, 1/8192 while covered, so a standing queue is not learned into the road but gradual light change is:
//! at 10 fps a queue standing through a 2-minute red moves the background 14 % of the way to the
//! vehicles, short of the foreground threshold, so no "ghost" queue stays behind when it leaves),
//! a foreground test `|pixel − background| >` a threshold, and a motion test against the previous
//! frame. The threshold is `20 + background/8` on a noisy sensor (night, rain) and falls to four
//! times the camera's measured sensor noise (plus background/16) where the sensor is quieter, so
//! in good light a grey car on grey asphalt is still seen. Backgrounds are kept relative to a camera-wide illumination gain, estimated each
//! frame from the samples that look like road (the mean of pixel / background over them, smoothed),
//! so a cloud or the sun's angle changes what the whole scene is expected to look like at once —
//! including under a queue that has covered a cell for minutes, whose own background cannot learn.
//! Without it a cell occupied while the light changed keeps the old road as its background, sees
//! the road as a vehicle when the queue leaves, and — being "occupied" — never learns it back (a
//! ghost that holds presence on until the detector is judged stuck). A cell is occupied when ≥ 40 % of its samples are foreground, stopped when
//! occupied without a break for [`STOPPED_MS`], unchanged (< 15 % of its samples differ from how it
//! looked when it last changed) for [`STILL_MS`] — a vehicle rolling slowly changes little from
//! one frame to the next, but its edges cross the samples within a second — and < 15 % of its
//! samples moved since the last frame (the motion test
//! alone takes a uniform body sliding along the lane for a standing one: its inside pixels do not
//! change from frame to frame, least of all far from the camera where it moves a few pixels; a cell
//! of a moving lane clears between vehicles, a queued one does not).
//!
//! Parallax: a camera above and behind the stop line sees a vehicle from its front, where it meets
//! the road (nothing of it appears nearer the stop line), up over its roof, which hides road behind
//! it — more the farther and taller the vehicle. Each zone learns, per cell, how long a lone moving
//! vehicle whose front is in that cell looks (a run of occupied cells with clear road on both
//! sides); a cell past the front vehicle's footprint ([`VEHICLE_M`]) but within that apparent
//! length shows the vehicle's body, not a vehicle over the cell, and the last vehicle of a
//! standing queue ends a car's length past its front, not where its image ends. Until a zone has
//! seen traffic the apparent length is the footprint alone (no correction).
//!
//! Outputs per zone (one site detector each): presence (any occupied cell, with 2-frame on / 2-frame
//! off hysteresis), a vehicle count (a vehicle leaving the stop-line cell), or with a virtual loop
//! (`loop_m`) presence = a vehicle's footprint over the loop's cell (the cell occupied, not only
//! by the body of a vehicle whose front has passed it) or a standing queue, count = vehicles
//! leaving the loop; the queue length (contiguous stopped cells from the stop line, gaps of one
//! cell bridged, to the last vehicle's front plus a car's length) in metres, and health
//! (Indiana 85-88 semantics): presence held > 300 s with no vehicle counted across the stop line
//! in that time → stuck on (an area zone under saturated flow is occupied for minutes on end, but
//! its vehicles keep leaving); no presence for 30 min while other
//! zones see traffic → stuck off; more than 20 presence changes in 10 s → excessive change.
//!
//! Fixed-size state; [`ZoneDetector::process`] does not allocate.

use crate::detect::{DetectorHealth, DetectorSnapshot, FrameError};
use crate::time::Instant;

/// Cells along a zone.
pub const CELLS: usize = 16;
/// Sample points per cell (4 across × 3 along).
pub const SAMPLES: usize = 12;
/// Presence held longer than this is a stuck detector.
pub const STUCK_ON_MS: u64 = 300_000;
/// A cell counts towards the standing queue once occupied this long without a break.
pub const STOPPED_MS: u64 = 1_500;
/// ... and unchanged this long (a vehicle that has come to rest, not one rolling slowly).
pub const STILL_MS: u64 = 1_000;
/// Least number of road-looking samples in a frame for an illumination estimate.
const GAIN_SAMPLES: u32 = 32;
/// Smoothing of the illumination gain per frame (sensor noise averages out over ~16 frames).
const GAIN_ALPHA: f32 = 1.0 / 16.0;
/// A sample is foreground when it differs from its background by more than this many times the
/// camera's sensor noise (plus 1/16 of the background, for light that varies across the scene);
/// never by more than the fixed rule `20 + background / 8`, never by less than [`MIN_THRESHOLD`].
const NOISE_K: f32 = 4.0;
/// Least foreground threshold, grey levels (quantisation and compression artefacts).
const MIN_THRESHOLD: f32 = 10.0;
/// Sensor noise assumed before it is measured: high enough that the fixed rule applies.
const NOISE_START: f32 = 64.0;
/// No presence for this long while other zones are active is a dead detector.
pub const STUCK_OFF_MS: u64 = 1_800_000;
/// Length of a passenger car on the road (the car of [`crate::detect::JAM_SPACING_M`]): a vehicle
/// whose front is seen at a point covers the road this far upstream of it.
pub const VEHICLE_M: f32 = 5.0;
/// Learning rate of a cell's apparent vehicle length, per isolated vehicle seen with its front there.
const APPARENT_ALPHA: f32 = 1.0 / 32.0;
/// Share of lone vehicles whose image a cell's [`ZoneState::reach`] covers.
const REACH_QUANTILE: f32 = 0.8;
/// More presence changes than this within [`CHATTER_WINDOW_MS`] is chatter: a lane passes at most
/// one vehicle per ~2 s (saturation headway), i.e. about one change per second.
pub const MAX_TOGGLES: u8 = 20;
pub const CHATTER_WINDOW_MS: u64 = 10_000;

pub use crate::config::camera::{CameraConfig, ZoneConfig, MAX_ZONES};

#[derive(Clone, Copy, Debug)]
struct ZoneState {
    /// Pixel index of every sample, cell-major.
    idx: [u32; CELLS * SAMPLES],
    bg: [f32; CELLS * SAMPLES],
    /// What the road under each sample looked like when last seen uncovered (relative to the
    /// illumination gain, like `bg`). `bg` keeps learning, slowly, under a vehicle; this does not,
    /// so when a vehicle that stood for minutes leaves, the road is recognised as road at once.
    road: [f32; CELLS * SAMPLES],
    prev: [u8; CELLS * SAMPLES],
    /// Per cell: the apparent length, in cells, of a lone moving vehicle whose front (the blob's
    /// edge nearest the stop line) is in that cell — its footprint plus the road its body hides
    /// behind it in the image. Starts at the footprint alone ([`VEHICLE_M`]), i.e. no parallax.
    apparent: [f32; CELLS],
    /// Per cell: the apparent length that [`REACH_QUANTILE`] of those vehicles stay within (a light
    /// car stands out against the road to the end of its roof, a dark or grey one less far).
    reach: [f32; CELLS],
    /// Since when each cell has been occupied without a break (`None`: clear).
    occupied_since: [Option<Instant>; CELLS],
    /// Since when each occupied cell has looked the same (`None`: clear).
    still_since: [Option<Instant>; CELLS],
    /// What each sample looked like at `still_since` (relative to the illumination gain).
    still: [f32; CELLS * SAMPLES],
    present: bool,
    on_frames: u8,
    off_frames: u8,
    stopline_occupied: bool,
    count: u16,
    queue_m: f32,
    changed_at: Instant,
    /// When the last vehicle was counted across the stop line.
    counted_at: Instant,
    toggles: u8,
    toggle_window: Instant,
    health: DetectorHealth,
}

/// Learns [`ZoneState::apparent`] from this frame's lone moving vehicles: runs of occupied cells
/// with a clear cell on both sides (so the near edge is a vehicle's front and the far edge the end
/// of what it hides), the front cell not standing. A step is clipped to one cell, so a platoon
/// seen as one run, or a bus, moves the estimate little.
fn learn_apparent(
    apparent: &mut [f32; CELLS],
    reach: &mut [f32; CELLS],
    occupied: &[bool; CELLS],
    stopped: &[bool; CELLS],
) {
    let mut c = 0;
    while c < CELLS {
        if !occupied[c] {
            c += 1;
            continue;
        }
        let a = c;
        while c < CELLS && occupied[c] {
            c += 1;
        }
        if a >= 1 && c < CELLS && !stopped[a] {
            let seen = (c - a) as f32;
            let was = apparent[a];
            apparent[a] = (was + (seen.clamp(was - 1.0, was + 1.0) - was) * APPARENT_ALPHA).max(1.0);
            // Quantile tracking: up by q·α when the vehicle looks longer, down by (1 − q)·α when
            // shorter.
            let r = reach[a];
            reach[a] = if seen > r {
                r + REACH_QUANTILE * APPARENT_ALPHA
            } else if seen < r {
                (r - (1.0 - REACH_QUANTILE) * APPARENT_ALPHA).max(1.0)
            } else {
                r
            };
        }
    }
}

/// Whether occupied cell `c` is seen only through the body of the vehicle at the near edge of its
/// run: a camera looking along the lane from above sees each vehicle from its front (where it
/// meets the road: nothing of it appears nearer the stop line) up over its roof, which hides the
/// road behind the vehicle — the more the farther away and the taller the vehicle. Past the
/// front vehicle's footprint (`foot` cells, with half a cell for where in its cell the front is)
/// but within the apparent length most lone vehicles there reach (`reach`), the cell shows that
/// vehicle, not one over the cell.
fn behind_front(reach: &[f32; CELLS], occupied: &[bool; CELLS], c: usize, foot: f32) -> bool {
    let mut a = c;
    while a > 0 && occupied[a - 1] {
        a -= 1;
    }
    let k = (c - a) as f32;
    k >= foot + 0.5 && k < reach[a]
}

/// The standing queue, in cells from the stop line, from `end`, the far end of the run of stopped
/// cells: that end is the apparent end of the queue's last vehicle, so the queue reaches from the
/// stop line to that vehicle's front plus a car's length. The last front is the farthest cell whose
/// apparent length ends there. A queue over the whole zone may reach past it: the zone's length.
fn queue_cells(apparent: &[f32; CELLS], end: usize, foot: f32) -> f32 {
    if end == 0 || end >= CELLS {
        return end as f32;
    }
    let last = (1..end)
        .rev()
        .find(|a| *a as f32 + apparent[*a] <= end as f32)
        .unwrap_or(0);
    (last as f32 + foot).min(end as f32)
}

/// The detector for one camera.
pub struct ZoneDetector {
    cfg: CameraConfig,
    zones: heapless::Vec<ZoneState, MAX_ZONES>,
    frames: u64,
    last_active: Instant,
    last_good: Option<Instant>,
    bad_frames: u64,
    /// Camera-wide illumination gain: a sample's expected value is `gain × bg`.
    gain: f32,
    /// Camera-wide sensor noise (standard deviation, grey levels), measured on the samples that
    /// look like road.
    noise: f32,
}

/// The foreground threshold for a sample whose background is `bg` on a camera with sensor noise
/// `noise`: a fixed rule that holds on the noisiest sensor, lowered to [`NOISE_K`] standard
/// deviations where the sensor is quieter, so a vehicle only a little darker or lighter than the
/// road (a grey car on grey asphalt) is still seen in good light.
fn threshold(bg: f32, noise: f32) -> f32 {
    (NOISE_K * noise + bg / 16.0).clamp(MIN_THRESHOLD, 20.0 + bg / 8.0)
}

/// The projective map from the unit square (across the lane, along it from the stop line) to a
/// zone's image quad (Heckbert 1989, "Fundamentals of texture mapping", square-to-quad). A camera
/// sees the lane's ground rectangle in perspective, so equal steps along the road are not equal
/// steps in the image: the far end is compressed. Cells laid out through this map are equally long
/// on the road (`length_m / CELLS` each), which is what the queue length assumes; for a quad
/// without perspective (a parallelogram) it is the plain bilinear layout.
struct Homography {
    a: f32,
    b: f32,
    c: f32,
    d: f32,
    e: f32,
    f: f32,
    g: f32,
    h: f32,
}

impl Homography {
    /// Corners: (0,0) → stop-line left, (1,0) → stop-line right, (1,1) → far right, (0,1) → far left.
    fn square_to_quad([(x0, y0), (x1, y1), (x2, y2), (x3, y3)]: [(f32, f32); 4]) -> Homography {
        let (dx1, dx2, dx3) = (x1 - x2, x3 - x2, x0 - x1 + x2 - x3);
        let (dy1, dy2, dy3) = (y1 - y2, y3 - y2, y0 - y1 + y2 - y3);
        let den = dx1 * dy2 - dx2 * dy1;
        // A parallelogram (or a degenerate quad, refused by the configuration check) is affine.
        let (g, h) = if (dx3 == 0.0 && dy3 == 0.0) || den.abs() < 1e-9 {
            (0.0, 0.0)
        } else {
            ((dx3 * dy2 - dx2 * dy3) / den, (dx1 * dy3 - dx3 * dy1) / den)
        };
        Homography {
            a: x1 - x0 + g * x1,
            b: x3 - x0 + h * x3,
            c: x0,
            d: y1 - y0 + g * y1,
            e: y3 - y0 + h * y3,
            f: y0,
            g,
            h,
        }
    }

    fn map(&self, u: f32, v: f32) -> (f32, f32) {
        let w = self.g * u + self.h * v + 1.0;
        let w = if w.abs() < 1e-9 { 1e-9 } else { w };
        (
            (self.a * u + self.b * v + self.c) / w,
            (self.d * u + self.e * v + self.f) / w,
        )
    }
}

impl ZoneDetector {
    pub fn new(cfg: CameraConfig) -> ZoneDetector {
        let mut zones = heapless::Vec::new();
        for z in cfg.zones.iter() {
            let to_image = Homography::square_to_quad(z.quad);
            let mut idx = [0u32; CELLS * SAMPLES];
            for c in 0..CELLS {
                for s in 0..SAMPLES {
                    // 3 rows along × 4 columns across each cell, inset from the edges.
                    let along = (c as f32 + (s / 4) as f32 * 0.33 + 0.17) / CELLS as f32;
                    let across = ((s % 4) as f32 + 0.5) / 4.0 * 0.8 + 0.1;
                    let (x, y) = to_image.map(across, along);
                    let xi = (x.max(0.0) as u32).min(cfg.width - 1);
                    let yi = (y.max(0.0) as u32).min(cfg.height - 1);
                    if let Some(slot) = idx.get_mut(c * SAMPLES + s) {
                        *slot = yi * cfg.width + xi;
                    }
                }
            }
            let _ = zones.push(ZoneState {
                idx,
                bg: [0.0; CELLS * SAMPLES],
                road: [0.0; CELLS * SAMPLES],
                prev: [0; CELLS * SAMPLES],
                apparent: [(VEHICLE_M / (z.length_m / CELLS as f32).max(0.1)).max(1.0); CELLS],
                reach: [(VEHICLE_M / (z.length_m / CELLS as f32).max(0.1)).max(1.0); CELLS],
                occupied_since: [None; CELLS],
                still_since: [None; CELLS],
                still: [0.0; CELLS * SAMPLES],
                present: false,
                on_frames: 0,
                off_frames: 0,
                stopline_occupied: false,
                count: 0,
                queue_m: 0.0,
                changed_at: Instant::ZERO,
                counted_at: Instant::ZERO,
                toggles: 0,
                toggle_window: Instant::ZERO,
                health: DetectorHealth::Ok,
            });
        }
        ZoneDetector {
            cfg,
            zones,
            frames: 0,
            last_active: Instant::ZERO,
            last_good: None,
            bad_frames: 0,
            gain: 1.0,
            noise: NOISE_START,
        }
    }

    pub fn config(&self) -> &CameraConfig {
        &self.cfg
    }

    /// When the last good frame was processed.
    pub fn last_good(&self) -> Option<Instant> {
        self.last_good
    }

    /// Frames refused for a wrong size.
    pub fn bad_frames(&self) -> u64 {
        self.bad_frames
    }

    /// Whether the zones must be reported stale at `now`: the ring stopped delivering, or only bad
    /// frames came for longer than the camera's stale time.
    pub fn stale(&self, now: Instant, ring_stale: bool) -> bool {
        ring_stale
            || self
                .last_good
                .is_none_or(|t| now.since(t) > u64::from(self.cfg.stale_ms))
    }

    /// Processes one frame (`width × height` luma bytes) captured at `at`. A frame of the wrong
    /// size (short or corrupt buffer) is refused and counted; it never reaches the model.
    pub fn process(&mut self, at: Instant, pixels: &[u8]) -> Result<(), FrameError> {
        let want = (self.cfg.width as usize) * (self.cfg.height as usize);
        if pixels.len() != want {
            self.bad_frames += 1;
            return Err(FrameError::WrongSize {
                got: pixels.len(),
                want,
            });
        }
        self.last_good = Some(at);
        let first = self.frames == 0;
        self.frames += 1;
        let mut any_active = false;
        let gain = self.gain;
        let noise = self.noise;
        let (mut ratio_sum, mut ratio_n) = (0.0f32, 0u32);
        let mut dev_sum = 0.0f32;
        for (zi, z) in self.zones.iter_mut().enumerate() {
            let len = self.cfg.zones.get(zi).map_or(80.0, |c| c.length_m);
            // The virtual loop's cell, if the zone has one.
            let loop_cell = self
                .cfg
                .zones
                .get(zi)
                .and_then(|c| c.loop_m)
                .map(|m| ((m / len * CELLS as f32) as usize).min(CELLS - 1));
            let mut occupied = [false; CELLS];
            let mut stopped = [false; CELLS];
            for c in 0..CELLS {
                let mut fg = 0;
                let mut moving = 0;
                let mut px = [0.0f32; SAMPLES];
                let mut is_fg = [false; SAMPLES];
                for s in 0..SAMPLES {
                    let k = c * SAMPLES + s;
                    let p = f32::from(pixels.get(z.idx[k] as usize).copied().unwrap_or(0));
                    px[s] = p;
                    if first {
                        z.bg[k] = p / gain;
                        z.road[k] = p / gain;
                        z.prev[k] = p as u8;
                        continue;
                    }
                    let bg = z.bg[k] * gain;
                    is_fg[s] = (p - bg).abs() > threshold(bg, noise);
                    let road = z.road[k] * gain;
                    if is_fg[s] && (p - road).abs() <= threshold(road, noise) {
                        // The road as it was before the background crept under a long-standing
                        // vehicle: no vehicle here now.
                        is_fg[s] = false;
                        z.bg[k] = z.road[k];
                    }
                    if is_fg[s] {
                        fg += 1;
                    }
                    if (p - f32::from(z.prev[k])).abs() > 18.0 {
                        moving += 1;
                    }
                    z.prev[k] = p as u8;
                }
                occupied[c] = fg * 10 >= SAMPLES * 4;
                // Background update, conservative per cell: in an occupied cell even the samples
                // that happen to match the background are the vehicle's (a roof or a side close
                // to the road's grey); learning them quickly would let a queue of different
                // vehicles walk the background away from the road, step by step, until the empty
                // road itself looks like a vehicle.
                if !first {
                    // The road reference learns only where no vehicle is near: a grey car whose
                    // body matches the road within the threshold in a cell it only partly covers
                    // would otherwise become "the road", and the real road a ghost once it leaves.
                    let near_clear =
                        (c == 0 || !occupied[c - 1]) && z.occupied_since.get(c + 1).is_none_or(|t| t.is_none());
                    for s in 0..SAMPLES {
                        let k = c * SAMPLES + s;
                        let alpha = if is_fg[s] || occupied[c] {
                            1.0 / 8192.0
                        } else {
                            // Road: it tells the scene's illumination.
                            if z.bg[k] >= 8.0 {
                                ratio_sum += px[s] / z.bg[k];
                                ratio_n += 1;
                                dev_sum += (px[s] - z.bg[k] * gain).abs();
                            }
                            if near_clear {
                                z.road[k] += (px[s] / gain - z.road[k]) / 64.0;
                            }
                            1.0 / 64.0
                        };
                        z.bg[k] += (px[s] / gain - z.bg[k]) * alpha;
                    }
                }
                // Samples that changed since the cell was last seen to change: a vehicle creeping
                // or rolling slowly changes little from one frame to the next (its body is uniform
                // inside), but its edges cross the samples over a second or two.
                let changed = (0..SAMPLES)
                    .filter(|s| {
                        let was = z.still[c * SAMPLES + s] * gain;
                        (px[*s] - was).abs() > threshold(was, noise)
                    })
                    .count();
                let still = match (occupied[c], z.still_since[c]) {
                    (false, _) => {
                        z.still_since[c] = None;
                        at
                    }
                    (true, Some(t)) if changed * 100 < SAMPLES * 15 => t,
                    (true, _) => {
                        z.still_since[c] = Some(at);
                        for (still, p) in z.still[c * SAMPLES..(c + 1) * SAMPLES].iter_mut().zip(px) {
                            *still = p / gain;
                        }
                        at
                    }
                };
                let since = if occupied[c] {
                    *z.occupied_since[c].get_or_insert(at)
                } else {
                    z.occupied_since[c] = None;
                    at
                };
                stopped[c] = occupied[c]
                    && at.since(since) >= STOPPED_MS
                    && at.since(still) >= STILL_MS
                    && moving * 100 < SAMPLES * 15;
            }
            let cell_m = len / CELLS as f32;
            let foot = (VEHICLE_M / cell_m.max(0.1)).max(1.0);
            learn_apparent(&mut z.apparent, &mut z.reach, &occupied, &stopped);
            // The virtual loop: its cell occupied, unless only by the body of a vehicle whose
            // front has already passed it by more than a car's length.
            let on_loop = loop_cell.map(|c| occupied[c] && !behind_front(&z.reach, &occupied, c, foot));
            // Presence with hysteresis.
            let raw = match on_loop {
                None => occupied.iter().any(|o| *o),
                Some(o) => o || stopped.iter().any(|s| *s),
            };
            if raw {
                z.on_frames = z.on_frames.saturating_add(1);
                z.off_frames = 0;
            } else {
                z.off_frames = z.off_frames.saturating_add(1);
                z.on_frames = 0;
            }
            let was = z.present;
            if !z.present && z.on_frames >= 2 {
                z.present = true;
            } else if z.present && z.off_frames >= 2 {
                z.present = false;
            }
            if z.present != was {
                z.changed_at = at;
                if at.since(z.toggle_window) >= CHATTER_WINDOW_MS {
                    z.toggle_window = at;
                    z.toggles = 0;
                }
                z.toggles = z.toggles.saturating_add(1);
            }
            // Count a vehicle when the stop-line cells (or the loop's) clear: it crossed the line.
            let sl = match on_loop {
                None => occupied[0] || occupied[1],
                Some(o) => o,
            };
            if z.stopline_occupied && !sl {
                z.count = z.count.wrapping_add(1);
                z.counted_at = at;
            }
            z.stopline_occupied = sl;
            // Queue: stopped cells from the stop line, bridging single-cell gaps.
            let mut end = 0;
            let mut gap = 0;
            for (c, s) in stopped.iter().enumerate() {
                if *s {
                    end = c + 1;
                    gap = 0;
                } else {
                    gap += 1;
                    if gap > 1 {
                        break;
                    }
                }
            }
            z.queue_m = queue_cells(&z.apparent, end, foot) * cell_m;
            if z.present {
                any_active = true;
            }
            // Health.
            z.health = if z.toggles > MAX_TOGGLES {
                DetectorHealth::ExcessiveChange
            } else if z.present && at.since(z.changed_at) > STUCK_ON_MS && at.since(z.counted_at) > STUCK_ON_MS {
                DetectorHealth::StuckOn
            } else if !z.present && at.since(z.changed_at) > STUCK_OFF_MS && at.since(self.last_active) < 60_000 {
                DetectorHealth::StuckOff
            } else {
                DetectorHealth::Ok
            };
        }
        if any_active {
            self.last_active = at;
        }
        if ratio_n >= GAIN_SAMPLES {
            let seen = ratio_sum / ratio_n as f32;
            self.gain = (self.gain + (seen - self.gain) * GAIN_ALPHA).clamp(0.05, 20.0);
            // Mean absolute deviation → standard deviation of Gaussian noise (× √(π/2)).
            let sigma = 1.2533 * dev_sum / ratio_n as f32;
            self.noise += (sigma - self.noise) * GAIN_ALPHA;
        }
        Ok(())
    }

    /// Writes this camera's zones into `snap` (other detectors untouched). `stale`: the camera
    /// stopped delivering frames — its zones report `Stale`.
    pub fn fill(&self, snap: &mut DetectorSnapshot, stale: bool) {
        for (z, c) in self.zones.iter().zip(self.cfg.zones.iter()) {
            let i = usize::from(c.detector.saturating_sub(1));
            snap.presence.set(i, z.present && !stale);
            if let (Some(n), Some(q), Some(h)) =
                (snap.counts.get_mut(i), snap.queue_m.get_mut(i), snap.health.get_mut(i))
            {
                *n = z.count;
                *q = if stale { 0.0 } else { z.queue_m };
                *h = if stale || self.frames < 2 {
                    DetectorHealth::Stale
                } else {
                    z.health
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> CameraConfig {
        let text = r#"
width = 64
height = 64
[[zone]]
detector = 3
quad = [[10, 60], [20, 60], [20, 4], [10, 4]]
length_m = 80
"#;
        CameraConfig::parse(text, "camera.toml").unwrap()
    }

    fn frame(car_rows: core::ops::Range<usize>) -> Vec<u8> {
        let mut f = vec![90u8; 64 * 64];
        for y in car_rows {
            for x in 11..19 {
                f[y * 64 + x] = 220;
            }
        }
        f
    }

    #[test]
    fn presence_queue_and_count() {
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(!snap.presence.contains(2));
        assert_eq!(snap.health[2], DetectorHealth::Ok);
        // A standing queue over the 20 rows nearest the stop line (y 40..60 of a 56-row zone).
        for k in 10..40 {
            d.process(Instant(k * 100), &frame(40..60)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(snap.presence.contains(2));
        assert!(
            snap.queue_m[2] > 20.0 && snap.queue_m[2] < 40.0,
            "queue {}",
            snap.queue_m[2]
        );
        // The queue leaves: one vehicle counted as the stop-line cells clear.
        for k in 40..50 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(!snap.presence.contains(2));
        assert_eq!(snap.counts[2], 1);
        d.fill(&mut snap, true);
        assert_eq!(snap.health[2], DetectorHealth::Stale);
    }

    #[test]
    fn cells_are_equally_long_on_the_road_in_a_perspective_view() {
        // A camera 8 m up looking level along a lane 3 m wide from 4 m to 84 m away, focal
        // length 200 px, horizon at row 10: a ground point (x, d) is at (100 + 200 x / d,
        // 10 + 200 × 8 / d).
        let px = |x: f32, d: f32| (100.0 + 200.0 * x / d, 10.0 + 1600.0 / d);
        let quad = [px(-1.5, 4.0), px(1.5, 4.0), px(1.5, 84.0), px(-1.5, 84.0)];
        let h = Homography::square_to_quad(quad);
        for (u, v) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)] {
            let c = h.map(u, v);
            let want = px(-1.5 + 3.0 * u, 4.0 + 80.0 * v);
            assert!((c.0 - want.0).abs() < 1e-3 && (c.1 - want.1).abs() < 1e-3);
        }
        // Halfway along the cells is 44 m away on the road, not halfway down the image.
        let mid = h.map(0.5, 0.5);
        let want = px(0.0, 44.0);
        assert!(
            (mid.0 - want.0).abs() < 1e-2 && (mid.1 - want.1).abs() < 1e-2,
            "{mid:?} {want:?}"
        );
    }

    #[test]
    fn a_long_standing_queue_leaves_no_ghost() {
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        // Bright vehicles stand over the whole zone through a 90 s red (10 fps).
        for k in 10..910 {
            d.process(Instant(k * 100), &frame(4..60)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(snap.presence.contains(2), "the standing queue is still seen after 90 s");
        // They leave: the road is seen as road again within half a second.
        for k in 910..915 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(
            !snap.presence.contains(2),
            "a ghost of the queue stayed in the background"
        );
    }

    #[test]
    fn a_queue_of_different_vehicles_does_not_walk_the_background_away() {
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        // Vehicles stand over the zone one after another for a minute each: the left half of each
        // is dark (windscreen, shadow), the right half a little brighter than the last one, each
        // within the foreground threshold of the one before.
        let mut k = 10;
        for v in [115u8, 140, 165, 190] {
            let mut f = vec![90u8; 64 * 64];
            for y in 4..60 {
                for x in 11..19 {
                    f[y * 64 + x] = if x < 15 { 30 } else { v };
                }
            }
            for _ in 0..600 {
                d.process(Instant(k * 100), &f).unwrap();
                k += 1;
            }
        }
        d.fill(&mut snap, false);
        assert!(snap.presence.contains(2));
        for _ in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
            k += 1;
        }
        d.fill(&mut snap, false);
        assert!(!snap.presence.contains(2), "the empty road is taken for a vehicle");
    }

    #[test]
    fn slow_light_change_is_not_traffic_and_chatter_is_flagged() {
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..3000u64 {
            // Dusk: the road darkens by 60 levels over 5 minutes.
            let v = 150 - (k * 60 / 3000) as u8;
            d.process(Instant(k * 100), &vec![v; 64 * 64]).unwrap();
            d.fill(&mut snap, false);
            assert!(
                !snap.presence.contains(2),
                "light change taken for a vehicle at frame {k}"
            );
        }
        // A flickering zone (bad light, a swaying sign): 2 frames on, 3 off, for 10 s.
        for k in 3000..3100u64 {
            let f = if k % 5 < 2 { frame(10..60) } else { vec![90u8; 64 * 64] };
            d.process(Instant(k * 100), &f).unwrap();
        }
        d.fill(&mut snap, false);
        assert_eq!(snap.health[2], DetectorHealth::ExcessiveChange);
    }

    /// `frame` with every pixel scaled by the scene's illumination `gain`.
    fn lit(rows: core::ops::Range<usize>, gain: f32) -> Vec<u8> {
        frame(rows)
            .iter()
            .map(|p| (f32::from(*p) * gain).min(255.0) as u8)
            .collect()
    }

    #[test]
    fn light_changing_under_a_standing_vehicle_leaves_no_ghost() {
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..10 {
            d.process(Instant(k * 100), &lit(0..0, 1.0)).unwrap();
        }
        // A vehicle stands over the stop-line half of the zone for 7 minutes while a cloud passes
        // and the light comes back 40 % brighter; the far half is road throughout.
        let n = 4200u64;
        for k in 10..10 + n {
            let g = 1.0 + 0.4 * (k - 10) as f32 / n as f32;
            d.process(Instant(k * 100), &lit(32..60, g)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(snap.presence.contains(2), "the standing vehicle is still seen");
        assert_eq!(
            snap.health[2],
            DetectorHealth::StuckOn,
            "7 minutes without a vehicle leaving"
        );
        // It leaves: the brighter road is road, not a vehicle.
        for k in 10 + n..20 + n {
            d.process(Instant(k * 100), &lit(0..0, 1.4)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(
            !snap.presence.contains(2),
            "a ghost of the old light stayed (gain {})",
            d.gain
        );
        assert_eq!(snap.health[2], DetectorHealth::Ok);
    }

    #[test]
    fn a_zone_occupied_for_minutes_by_moving_traffic_is_not_stuck() {
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        // Saturated flow for 8 minutes: the far cells always hold a vehicle, and one vehicle crosses
        // the stop line every 2.5 s (the stop-line cells clear for half a second between them).
        for k in 10..4810u64 {
            let f = if k % 25 < 5 { frame(4..40) } else { frame(4..60) };
            d.process(Instant(k * 100), &f).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(snap.presence.contains(2));
        assert!(snap.counts[2] > 150, "counts {}", snap.counts[2]);
        assert_eq!(snap.health[2], DetectorHealth::Ok, "vehicles keep leaving: not stuck");
    }

    #[test]
    fn a_uniform_vehicle_driving_along_the_zone_is_not_a_queue() {
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        // A 12-row vehicle of one shade drives from the far end to the stop line, one row a frame
        // (about 8 m/s on this 80 m zone): inside it no pixel changes from frame to frame.
        let mut worst = 0.0f32;
        for (k, top) in (10u64..).zip(0..52usize) {
            d.process(Instant(k * 100), &frame(top..top + 12)).unwrap();
            d.fill(&mut snap, false);
            assert!(snap.presence.contains(2) || top < 2);
            worst = worst.max(snap.queue_m[2]);
        }
        assert_eq!(worst, 0.0, "a moving vehicle was taken for a standing queue");
    }

    #[test]
    fn a_virtual_loop_reports_passing_vehicles_and_standing_queues_only() {
        let text = r#"
width = 64
height = 64
[[zone]]
detector = 3
quad = [[10, 60], [20, 60], [20, 4], [10, 4]]
length_m = 80
loop_m = 40
"#;
        let mut d = ZoneDetector::new(CameraConfig::parse(text, "camera.toml").unwrap());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        // A vehicle drives from the far end to the stop line, one row a frame: the zone's rows
        // 4..60 are 80 m, so the loop 40 m up is around row 32.
        let mut on = Vec::new();
        for (k, top) in (10u64..).zip(0..52usize) {
            d.process(Instant(k * 100), &frame(top..top + 8)).unwrap();
            d.fill(&mut snap, false);
            on.push(snap.presence.contains(2));
        }
        let first = on.iter().position(|p| *p).expect("the vehicle crossed the loop");
        let last = on.iter().rposition(|p| *p).unwrap();
        assert!((18..=30).contains(&first), "presence from frame {first}");
        assert!(
            last - first <= 14,
            "presence only while over the loop: {first}..={last}"
        );
        assert!(
            !on[on.len() - 1],
            "no presence nearing the stop line, away from the loop"
        );
        assert_eq!(snap.counts[2], 1, "counted once, at the loop");
        // A queue standing near the stop line, clear of the loop: presence once it is standing.
        for k in 100..130 {
            d.process(Instant(k * 100), &frame(44..60)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(snap.presence.contains(2), "a standing queue is presence");
    }

    /// A vehicle seen the way a camera above and behind the stop line sees one: from its front
    /// (`front_m` upstream of the stop line, where it meets the road) up over its roof, which hides
    /// `apparent_m` of road from the front. The test zone's rows 60 → 4 are 0 → 80 m.
    fn seen(fronts_m: &[f32], apparent_m: f32) -> Vec<u8> {
        let mut f = vec![90u8; 64 * 64];
        let row = |m: f32| 60.0 - m * 56.0 / 80.0;
        for &front in fronts_m {
            let (near, far) = (row(front), row(front + apparent_m));
            for y in 0..64usize {
                let yc = y as f32 + 0.5;
                if yc <= near && yc > far {
                    for x in 11..19 {
                        f[y * 64 + x] = 220;
                    }
                }
            }
        }
        f
    }

    fn loop_cfg() -> CameraConfig {
        let text = r#"
width = 64
height = 64
[[zone]]
detector = 3
quad = [[10, 60], [20, 60], [20, 4], [10, 4]]
length_m = 80
loop_m = 40
"#;
        CameraConfig::parse(text, "camera.toml").unwrap()
    }

    /// Lone vehicles driving the zone from the far end past the stop line, 5 m long on the road,
    /// each `apparent_m` long in the image in turn.
    fn learn_parallax(d: &mut ZoneDetector, k: &mut u64, apparent_m: &[f32], vehicles: usize) {
        for _ in 0..10 {
            d.process(Instant(*k * 100), &seen(&[], 0.0)).unwrap();
            *k += 1;
        }
        for v in 0..vehicles {
            let mut front = 85.0f32;
            while front > -25.0 {
                let len = apparent_m[v % apparent_m.len()];
                d.process(Instant(*k * 100), &seen(&[front], len)).unwrap();
                *k += 1;
                front -= 1.5;
            }
        }
    }

    /// The fronts (m from the stop line) at which the zone reported presence while one vehicle
    /// `apparent_m` long in the image drove through.
    fn drive_through(d: &mut ZoneDetector, k: &mut u64, apparent_m: f32) -> Vec<f32> {
        let mut snap = DetectorSnapshot::EMPTY;
        let mut front = 85.0f32;
        let mut on_at = Vec::new();
        while front > -25.0 {
            d.process(Instant(*k * 100), &seen(&[front], apparent_m)).unwrap();
            d.fill(&mut snap, false);
            if snap.presence.contains(2) {
                on_at.push(front);
            }
            *k += 1;
            front -= 1.5;
        }
        on_at
    }

    #[test]
    fn the_loop_is_free_once_the_vehicle_over_it_has_passed_though_its_body_still_hides_it() {
        let mut d = ZoneDetector::new(loop_cfg());
        let mut k = 0;
        learn_parallax(&mut d, &mut k, &[20.0], 60);
        // The next one: its footprint (front .. front + 5 m) is over the loop's cell (40..45 m)
        // while its front is between 35 and 45 m; its image covers the cell down to a front at 20 m.
        let on_at = drive_through(&mut d, &mut k, 20.0);
        assert!(!on_at.is_empty(), "the vehicle crossed the loop");
        let last = on_at.iter().copied().fold(f32::MAX, f32::min);
        assert!(
            last > 26.0,
            "presence held until the front was {last} m from the stop line: the loop was free from 35 m"
        );
    }

    #[test]
    fn a_standing_queue_is_measured_to_its_last_front_not_to_the_end_of_its_image() {
        let mut d = ZoneDetector::new(loop_cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        let mut k = 0;
        learn_parallax(&mut d, &mut k, &[20.0], 60);
        // Two cars stand at the stop line, the second's front 7 m up: the queue is 12 m, its
        // image 27 m.
        for _ in 0..40 {
            d.process(Instant(k * 100), &seen(&[0.0, 7.0], 20.0)).unwrap();
            k += 1;
        }
        d.fill(&mut snap, false);
        assert!(snap.presence.contains(2));
        assert!(
            (10.0..=16.0).contains(&snap.queue_m[2]),
            "queue {} m for two cars",
            snap.queue_m[2]
        );
    }

    #[test]
    fn presence_ends_two_frames_after_the_vehicle_has_gone() {
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        for k in 10..15 {
            d.process(Instant(k * 100), &frame(20..40)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(snap.presence.contains(2));
        for k in 15..17 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(!snap.presence.contains(2), "presence lingered past two empty frames");
    }

    /// A 64 × 64 frame: road at 90 with a car of grey `car` over rows 30..50, plus uniform noise
    /// of ± `amp` grey levels (a fixed pseudo-random sequence).
    fn noisy(car: u8, amp: i32, seed: &mut u32) -> Vec<u8> {
        (0..64 * 64usize)
            .map(|i| {
                *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let n = (*seed >> 16) as i32 % (2 * amp + 1) - amp;
                let (x, y) = (i % 64, i / 64);
                let v = if (30..50).contains(&y) && (11..19).contains(&x) {
                    car
                } else {
                    90
                };
                (i32::from(v) + n).clamp(0, 255) as u8
            })
            .collect()
    }

    #[test]
    fn a_car_close_to_the_road_grey_is_seen_by_a_quiet_sensor_and_a_noisy_one_sees_no_ghosts() {
        let mut seed = 1u32;
        // Good light: ± 3 levels of noise; a car 24 levels lighter than the asphalt.
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..200 {
            d.process(Instant(k * 100), &noisy(90, 3, &mut seed)).unwrap();
        }
        for k in 200..210 {
            d.process(Instant(k * 100), &noisy(114, 3, &mut seed)).unwrap();
        }
        d.fill(&mut snap, false);
        assert!(
            snap.presence.contains(2),
            "the grey car was not seen (noise {})",
            d.noise
        );
        // Night: ± 15 levels on the empty road is noise, never a vehicle.
        let mut d = ZoneDetector::new(cfg());
        for k in 0..600 {
            d.process(Instant(k * 100), &noisy(90, 15, &mut seed)).unwrap();
            d.fill(&mut snap, false);
            assert!(!snap.presence.contains(2), "noise taken for a vehicle at frame {k}");
        }
    }

    #[test]
    fn a_light_car_among_dark_ones_leaves_the_loop_with_its_footprint_too() {
        // Dark cars stand out from the road over 10 m of the image, light ones over 25 m (to the
        // end of the roof): the parallax test takes the length most cars stay within, not the mean.
        let mut d = ZoneDetector::new(loop_cfg());
        let mut k = 0;
        learn_parallax(&mut d, &mut k, &[10.0, 25.0], 200);
        let on_at = drive_through(&mut d, &mut k, 25.0);
        assert!(!on_at.is_empty(), "the vehicle crossed the loop");
        let late: Vec<f32> = on_at.iter().copied().filter(|f| *f < 27.0).collect();
        assert!(
            late.is_empty(),
            "presence with the front at {late:?} m: the loop (40..45 m) was free from 35 m"
        );
    }

    #[test]
    fn one_car_at_the_stop_line_is_no_queue() {
        let mut d = ZoneDetector::new(loop_cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        let mut k = 0;
        learn_parallax(&mut d, &mut k, &[18.0], 60);
        for _ in 0..40 {
            d.process(Instant(k * 100), &seen(&[0.0], 18.0)).unwrap();
            k += 1;
        }
        d.fill(&mut snap, false);
        assert!(snap.presence.contains(2));
        assert!(
            snap.queue_m[2] > 0.0 && snap.queue_m[2] <= crate::detect::JAM_SPACING_M,
            "queue {} m for one car",
            snap.queue_m[2]
        );
    }

    #[test]
    fn a_vehicle_rolling_slowly_up_to_the_stop_line_is_not_a_queue() {
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        // A 12-row vehicle (bonnet, windscreen, roof, rear window: bands of 2 rows) rolls a quarter
        // of a row a frame (about 3.5 m/s): from one frame to the next little changes, and every
        // cell is covered for almost 5 s, but its bands cross the samples all the time.
        let mut worst = 0.0f32;
        for (k, step) in (10u64..).zip(0..240u32) {
            let front = 16.0 + step as f32 * 0.25;
            let mut f = vec![90u8; 64 * 64];
            for y in 0..64usize {
                let back = front - (y as f32 + 0.5);
                if (0.0..12.0).contains(&back) {
                    let shade = if ((back / 2.0) as u32).is_multiple_of(2) {
                        220
                    } else {
                        150
                    };
                    for x in 11..19 {
                        f[y * 64 + x] = shade;
                    }
                }
            }
            d.process(Instant(k * 100), &f).unwrap();
            d.fill(&mut snap, false);
            worst = worst.max(snap.queue_m[2]);
        }
        assert_eq!(worst, 0.0, "a rolling vehicle was taken for a standing queue");
    }

    #[test]
    fn grey_cars_beside_bright_ones_do_not_walk_the_road_away() {
        let mut d = ZoneDetector::new(cfg());
        let mut snap = DetectorSnapshot::EMPTY;
        for k in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
        }
        // A queue stands for four minutes, its vehicles changing each minute: a bright body over
        // rows 0..42, and behind it (rows 42..47, one cell) a grey part each time a little lighter,
        // always within the foreground threshold of the one before, never of the road's 90.
        let mut k = 10;
        for grey in [99u8, 108, 117, 126] {
            let mut f = vec![90u8; 64 * 64];
            for y in 0..47 {
                for x in 11..19 {
                    f[y * 64 + x] = if y < 42 { 220 } else { grey };
                }
            }
            for _ in 0..600 {
                d.process(Instant(k * 100), &f).unwrap();
                k += 1;
            }
        }
        for _ in 0..10 {
            d.process(Instant(k * 100), &frame(0..0)).unwrap();
            k += 1;
        }
        d.fill(&mut snap, false);
        assert!(!snap.presence.contains(2), "the empty road is taken for a vehicle");
    }
}
