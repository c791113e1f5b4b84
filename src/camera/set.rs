//! A board's cameras running: per camera a capture thread and a detection thread around the
//! [`pipeline`](super::pipeline) stages, and the control loop's [`CameraSource`] for each.
//!
//! [`CameraSet::start`] allocates everything before the control loop starts — the frame ring, the
//! clip reader and its spare frame, the detector, the hand-off — and spawns the threads. In steady
//! state neither thread allocates: capture fills ring slots in place, detection works on the leased
//! slot and publishes into the triple buffer.
//!
//! - Capture, `file:` source: the clip is played at its own frame rate on absolute deadlines
//!   (frame k is due `k` frame intervals after the first, on the monotonic clock, so the pace never
//!   drifts); frames the camera's `fps` limit skips are read into a spare buffer and discarded. A
//!   clip that ends without `loop` stops the camera (its detectors go stale).
//! - Capture, `v4l2:` source: `camera::v4l2::Capture` (feature `v4l2`), reconnecting with backoff.
//! - Detection: every [`DETECTION_POLL_MS`] on absolute deadlines, [`DetectionStage::run_once`].
//!
//! The set answers the supervisor ([`CameraSet::detection_on_time`]: every camera's detection
//! thread ran within its `stale_ms`), the console ([`CameraSet::view`]), the event log (an NPU
//! fallback is raised once per camera and change, [`CameraSet::take_alarm`]) and snapshots
//! ([`CameraSet::copy_newest`]). Dropping the set stops and joins its threads.

use super::pipeline::{
    hand_off, CameraClock, CameraCounters, CameraSource, CaptureStage, DetectionStage, Detector, Pushed,
    DETECTION_POLL_MS,
};
use super::ring::FrameRing;
use super::y4m::{Y4mError, Y4mReader};
use crate::camera::backend::Backend;
use crate::config::camera::{CameraConfig, CameraInput, DetectorKind, MAX_CAMERAS, MAX_ZONES};
use crate::detect::DetectorSet;
use crate::time::Instant;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Bytes of a camera's source as shown on the console.
pub const LABEL_LEN: usize = 72;

/// What a camera's capture side is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CaptureState {
    Starting = 0,
    Streaming = 1,
    /// The device vanished or errors: reconnecting with backoff (v4l2), or reads fail (file).
    Reconnecting = 2,
    /// The device offers no usable format (fix the configuration).
    Unsupported = 3,
    /// The clip ended and does not loop.
    Ended = 4,
}

impl CaptureState {
    pub fn from_u8(v: u8) -> CaptureState {
        match v {
            1 => CaptureState::Streaming,
            2 => CaptureState::Reconnecting,
            3 => CaptureState::Unsupported,
            4 => CaptureState::Ended,
            _ => CaptureState::Starting,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            CaptureState::Starting => "starting",
            CaptureState::Streaming => "streaming",
            CaptureState::Reconnecting => "reconnecting",
            CaptureState::Unsupported => "unsupported",
            CaptureState::Ended => "clip ended",
        }
    }
}

/// One camera as the console shows it (`cameras`, `zones`).
#[derive(Clone, Debug, PartialEq)]
pub struct CameraView {
    /// `file:PATH` or the V4L2 device (cut to [`LABEL_LEN`] bytes).
    pub source: heapless::String<LABEL_LEN>,
    /// Frames per second into the ring, measured.
    pub fps: f32,
    /// Frames lost: overwritten unread, ring full, read errors, refused by the detector.
    pub drops: u64,
    /// Age of the newest frame (`None`: no frame yet).
    pub frame_age_ms: Option<u64>,
    /// `ok`, `stale` (no frame within `stale_ms`), or the capture state when it is not streaming.
    pub health: &'static str,
    pub detector: DetectorKind,
    /// Why the NPU is not serving a camera configured for it.
    pub fallback: Option<&'static str>,
    /// Site detector fed by each zone, in zone order.
    pub zones: heapless::Vec<u8, MAX_ZONES>,
    /// Zone length along the lane, metres, in zone order.
    pub zone_length_m: heapless::Vec<f32, MAX_ZONES>,
}

struct Camera {
    source: heapless::String<LABEL_LEN>,
    stale_ms: u32,
    zones: heapless::Vec<u8, MAX_ZONES>,
    zone_length_m: heapless::Vec<f32, MAX_ZONES>,
    ring: Arc<FrameRing>,
    counters: Arc<CameraCounters>,
    capture: Arc<AtomicU8>,
    /// Fallback reason last raised as an alarm (0: none).
    alarmed: u8,
    #[cfg(feature = "v4l2")]
    device: Option<super::v4l2::Capture>,
}

/// The running cameras of a board.
pub struct CameraSet {
    clock: CameraClock,
    cameras: heapless::Vec<Camera, MAX_CAMERAS>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

fn label(c: &CameraConfig) -> heapless::String<LABEL_LEN> {
    let mut s = heapless::String::new();
    for ch in c.source.to_string().chars() {
        if s.push(ch).is_err() {
            break;
        }
    }
    s
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, String> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| format!("cannot start the {name} thread: {e}"))
}

impl CameraSet {
    /// No camera: detection on time by definition, nothing to show.
    pub fn none() -> CameraSet {
        CameraSet {
            clock: CameraClock::new(),
            cameras: heapless::Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
        }
    }

    /// Starts every camera of `cfgs` with the detector it asks for (`camera::backend`: the NPU,
    /// or the CPU zone detector with a logged reason); `site_file` names the site in errors.
    /// Returns the set and one [`CameraSource`] per camera for the control loop.
    pub fn start(cfgs: &[CameraConfig], site_file: &Path) -> Result<(CameraSet, Vec<CameraSource>), String> {
        CameraSet::start_with(cfgs, site_file, |i, c| {
            let (b, why) = Backend::open(c);
            if let Some(why) = why {
                log::warn!(
                    "camera {}: detector = \"npu\" but {why}; the CPU zone detector serves",
                    i + 1
                );
            }
            b
        })
    }

    /// [`CameraSet::start`] with the detector of camera `i` made by `detector(i, cfg)`.
    pub fn start_with<D: Detector + 'static>(
        cfgs: &[CameraConfig],
        site_file: &Path,
        mut detector: impl FnMut(usize, &CameraConfig) -> D,
    ) -> Result<(CameraSet, Vec<CameraSource>), String> {
        if cfgs.len() > MAX_CAMERAS {
            return Err(format!(
                "{}: {} cameras; at most {MAX_CAMERAS} are supported",
                site_file.display(),
                cfgs.len()
            ));
        }
        let mut set = CameraSet::none();
        let mut sources = Vec::with_capacity(cfgs.len());
        for (i, c) in cfgs.iter().enumerate() {
            let ring =
                Arc::new(FrameRing::new(c.slots, c.width, c.height).map_err(|e| format!("camera {}: {e}", i + 1))?);
            let counters = Arc::new(CameraCounters::default());
            let capture_state = Arc::new(AtomicU8::new(CaptureState::Starting as u8));
            let stage = CaptureStage::new(Arc::clone(&ring), c.fps, Arc::clone(&counters));
            #[cfg(feature = "v4l2")]
            let mut device = None;
            match &c.source {
                CameraInput::File { path, looping } => {
                    let reader = Y4mReader::open(path, c.width, c.height, *looping)
                        .map_err(|e| format!("camera {} (file:{}): {e}", i + 1, path.display()))?;
                    let (clock, stop, state) = (set.clock, Arc::clone(&set.stop), Arc::clone(&capture_state));
                    let spare = vec![0u8; (c.width as usize) * (c.height as usize)].into_boxed_slice();
                    set.threads.push(spawn(&format!("camera{}-capture", i + 1), move || {
                        play_clip(reader, stage, spare, clock, &stop, &state)
                    })?);
                }
                #[cfg(feature = "v4l2")]
                CameraInput::V4l2(dev) => {
                    let clock = set.clock;
                    device = Some(super::v4l2::Capture::start(
                        dev.clone(),
                        stage,
                        Arc::clone(&capture_state),
                        c.fps,
                        move || clock.now(),
                    )?);
                }
                #[cfg(not(feature = "v4l2"))]
                CameraInput::V4l2(dev) => {
                    return Err(format!(
                        "{} line {}: `camera[{i}].source`: v4l2:{} needs V4L2 support, which this build lacks (fix: build with --features v4l2, or play a recorded clip with source = \"file:CLIP.y4m\")",
                        site_file.display(),
                        c.source_line,
                        dev.display()
                    ));
                }
            }
            let (publisher, reader) = hand_off();
            let mut stage = DetectionStage::new(Arc::clone(&ring), detector(i, c), publisher, Arc::clone(&counters));
            let (clock, stop) = (set.clock, Arc::clone(&set.stop));
            set.threads.push(spawn(&format!("camera{}-detect", i + 1), move || {
                let period_ns = DETECTION_POLL_MS * 1_000_000;
                let mut next = clock.now_ns();
                while !stop.load(Ordering::Relaxed) {
                    stage.run_once(clock.now());
                    next += period_ns;
                    // Late (a slow frame): the next run is one period from now, no burst.
                    next = next.max(clock.now_ns());
                    clock.sleep_until_ns(next);
                }
            })?);
            let mut feeds = DetectorSet::EMPTY;
            let mut zones = heapless::Vec::new();
            let mut zone_length_m = heapless::Vec::new();
            for z in c.zones.iter() {
                feeds.set(usize::from(z.detector.saturating_sub(1)), true);
                let _ = zones.push(z.detector);
                let _ = zone_length_m.push(z.length_m);
            }
            sources.push(CameraSource::new(reader, feeds, c.stale_ms, Some(set.clock)));
            let cam = Camera {
                source: label(c),
                stale_ms: c.stale_ms,
                zones,
                zone_length_m,
                ring,
                counters,
                capture: capture_state,
                alarmed: 0,
                #[cfg(feature = "v4l2")]
                device,
            };
            if set.cameras.push(cam).is_err() {
                return Err(format!("{}: too many cameras", site_file.display()));
            }
            log::info!(
                "camera {}: {} {}x{} at {} fps, {} zones, {} detector",
                i + 1,
                c.source,
                c.width,
                c.height,
                c.fps,
                c.zones.len(),
                c.detector.name()
            );
        }
        Ok((set, sources))
    }

    pub fn len(&self) -> usize {
        self.cameras.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cameras.is_empty()
    }

    /// The time line frames are stamped on.
    pub fn clock(&self) -> CameraClock {
        self.clock
    }

    /// Counters of camera `i` (0-based).
    pub fn counters(&self, i: usize) -> Option<&CameraCounters> {
        self.cameras.get(i).map(|c| &*c.counters)
    }

    /// Whether every camera's detection thread ran within its `stale_ms` (the supervisor kicks the
    /// watchdog only then). A camera without frames still has a running detection thread: that
    /// is the planner's business (its detectors are stale), not a hung controller.
    pub fn detection_on_time(&self) -> bool {
        let now = self.clock.now();
        self.cameras.iter().all(|c| {
            c.counters
                .last_run()
                .is_some_and(|t| now.since(t) <= u64::from(c.stale_ms))
        })
    }

    /// An NPU fallback not yet raised (alarm `events::alarm::NPU_FALLBACK`), at most one per call;
    /// each camera raises it once per change of reason.
    pub fn take_alarm(&mut self) -> Option<u16> {
        for c in self.cameras.iter_mut() {
            let now = c.counters.fallback.load(Ordering::Relaxed);
            if now != c.alarmed {
                c.alarmed = now;
                if now != 0 {
                    return Some(crate::events::alarm::NPU_FALLBACK);
                }
            }
        }
        None
    }

    /// Camera `i` (0-based) for the console.
    pub fn view(&self, i: usize) -> Option<CameraView> {
        let c = self.cameras.get(i)?;
        let now = self.clock.now();
        let age = c.counters.last_frame().map(|t| now.since(t));
        let r = c.ring.stats();
        let k = &c.counters;
        #[cfg(feature = "v4l2")]
        let state = match &c.device {
            Some(d) => d.state(),
            None => CaptureState::from_u8(c.capture.load(Ordering::Relaxed)),
        };
        #[cfg(not(feature = "v4l2"))]
        let state = CaptureState::from_u8(c.capture.load(Ordering::Relaxed));
        let health = match (state, age) {
            (CaptureState::Streaming, Some(a)) if a <= u64::from(c.stale_ms) => "ok",
            (CaptureState::Streaming, _) => "stale",
            (s, _) => s.name(),
        };
        Some(CameraView {
            source: c.source.clone(),
            fps: k.fps(),
            drops: r.dropped_unread
                + r.dropped_full
                + k.read_errors.load(Ordering::Relaxed)
                + k.bad_frames.load(Ordering::Relaxed),
            frame_age_ms: age,
            health,
            detector: k.kind(),
            fallback: k.fallback().map(|f| f.name()),
            zones: c.zones.clone(),
            zone_length_m: c.zone_length_m.clone(),
        })
    }

    /// Copies the newest frame of camera `camera` (0-based) into `out` (`width × height` bytes)
    /// without taking it from detection; returns its capture time on [`CameraSet::clock`] and its
    /// sequence number. `None`: no such camera, no frame yet, wrong size, or the frame is being
    /// processed this instant (try again shortly).
    pub fn copy_newest(&self, camera: usize, out: &mut [u8]) -> Option<(Instant, u64)> {
        self.cameras.get(camera)?.ring.copy_newest(out)
    }

    /// The frame rings of the cameras in order, shared (start-up: the snapshot writer reads the
    /// newest frames through them, `camera::snapshot::service::RingFrames`).
    pub fn rings(&self) -> Vec<Arc<FrameRing>> {
        self.cameras.iter().map(|c| Arc::clone(&c.ring)).collect()
    }

    /// Image size of camera `camera`.
    pub fn frame_size(&self, camera: usize) -> Option<(u32, u32)> {
        self.cameras.get(camera).map(|c| (c.ring.width(), c.ring.height()))
    }
}

impl Drop for CameraSet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The `file:` capture thread: plays the clip at its frame rate until `stop`, the end of a clip
/// that does not loop, or an unreadable file.
fn play_clip(
    mut reader: Y4mReader<std::fs::File>,
    mut stage: CaptureStage,
    mut spare: Box<[u8]>,
    clock: CameraClock,
    stop: &AtomicBool,
    state: &AtomicU8,
) {
    let rate = reader.frame_rate();
    let start = clock.now_ns();
    let mut k: u64 = 0;
    let mut errors_in_a_row = 0u32;
    while !stop.load(Ordering::Relaxed) {
        clock.sleep_until_ns(start.saturating_add(rate.pts_ns(k)));
        k += 1;
        let at = clock.now();
        let r = match stage.push(at, |slot| reader.next_frame(slot).map(|_| ())) {
            Ok(Pushed::RateLimited) => reader.next_frame(&mut spare).map(|_| ()),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        match r {
            Ok(()) => {
                errors_in_a_row = 0;
                state.store(CaptureState::Streaming as u8, Ordering::Relaxed);
            }
            Err(Y4mError::End) => {
                state.store(CaptureState::Ended as u8, Ordering::Relaxed);
                log::warn!("camera clip ended (no `loop = true`): its detectors go stale");
                return;
            }
            Err(e) => {
                errors_in_a_row += 1;
                state.store(CaptureState::Reconnecting as u8, Ordering::Relaxed);
                if errors_in_a_row == 1 {
                    log::error!("camera clip: {e}");
                }
                if errors_in_a_row > 50 {
                    log::error!("camera clip: {e}, 50 frames in a row; the camera stops");
                    return;
                }
            }
        }
    }
}
