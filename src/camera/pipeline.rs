//! The camera pipeline as synchronous stages: capture → frame ring → detection → hand-off → the
//! control loop's [`CameraSource`].
//!
//! Each stage is a plain struct with one step method, so the same code runs in two ways:
//!
//! - on a board, thin threads loop around the steps (`camera::set`): a capture thread calls
//!   [`CaptureStage::push`] for every frame the device or clip delivers, a detection thread calls
//!   [`DetectionStage::run_once`] every [`DETECTION_POLL_MS`];
//! - in a simulator, a step-driven caller renders a frame, calls `push` and `run_once` itself on
//!   simulated time, and polls the [`CameraSource`] from its control loop, with no thread at all.
//!
//! Stages:
//!
//! - [`CaptureStage::push`]`(at, fill)`: applies the frame-rate limit ([`FrameRateLimit`]) and, if
//!   the frame is kept, lets `fill` write it straight into a free ring slot.
//! - [`DetectionStage::run_once`]`(now)`: leases the newest frame (skipping older ones), runs the
//!   [`Detector`] on it and publishes a [`Published`] snapshot through the hand-off. Without a new
//!   frame it publishes nothing and returns [`Ran::Idle`]; either way it records that detection is
//!   alive (the supervisor's condition for kicking the watchdog).
//! - The hand-off ([`hand_off`]) is a triple buffer (`triple_buffer` crate): the detection side
//!   writes a whole snapshot into its back buffer and publishes it with one atomic swap; the loop
//!   reads the newest published one with another. Neither side ever waits for the other, nothing
//!   is allocated after [`hand_off`], and a reader never sees a half-written snapshot. (A mutex
//!   would let a detection thread preempted inside its critical section delay a tick; a seqlock
//!   needs `unsafe` or a retry loop in the control path.)
//! - [`CameraSource`] (a [`Source`]) reads the newest snapshot and judges its age: older than
//!   the camera's `stale_ms`, or none yet, and the camera's zones report `Stale`, so the planner
//!   falls back for those detectors (docs/safety.md 6).
//!
//! Time: every stage takes `Instant`s from its caller. Threads stamp frames on a [`CameraClock`]
//! (the monotonic clock, ms since the camera set started); a [`CameraSource`] built with that
//! clock converts a snapshot's age onto the control loop's own time line, so the loop and the
//! cameras need not share an origin. A simulator stamps everything on its own time line and builds
//! the source without a clock.
//!
//! Nothing here allocates after construction; no method blocks except on the frame ring's
//! per-slot locks, which only the capture and detection sides take.

use crate::camera::ring::FrameRing;
use crate::detect::source::Source;
use crate::detect::zone::ZoneDetector;
use crate::detect::{DetectorHealth, DetectorSet, DetectorSnapshot};
use crate::hal::monotonic::MonotonicClock;
use crate::time::Instant;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

/// How often a detection thread looks for a new frame (and reports itself alive): the most a
/// frame waits in the ring before detection starts on it.
pub const DETECTION_POLL_MS: u64 = 5;

/// Skips frames that arrive sooner than one frame period after the last one kept: the software
/// half of the frame-rate limit (the device half is the V4L2 frame interval). A frame up to a
/// quarter of a period early is kept, so a camera running at exactly `fps` with jitter loses none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRateLimit {
    min_gap_ms: u64,
    last: Option<Instant>,
}

impl FrameRateLimit {
    pub fn new(fps: u32) -> FrameRateLimit {
        let period = 1000 / u64::from(fps.max(1));
        FrameRateLimit {
            min_gap_ms: period - period / 4,
            last: None,
        }
    }

    /// Whether a frame arriving at `now` is kept.
    pub fn accept(&mut self, now: Instant) -> bool {
        if self.last.is_some_and(|t| now.since(t) < self.min_gap_ms) {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// Milliseconds on the monotonic clock since the clock was made: the time line camera threads
/// stamp frames on. `Copy`; reading it is one `clock_gettime`.
#[derive(Clone, Copy, Debug)]
pub struct CameraClock(MonotonicClock);

impl CameraClock {
    pub fn new() -> CameraClock {
        CameraClock(MonotonicClock::new())
    }

    pub fn now(&self) -> Instant {
        Instant(self.0.now_ns() / 1_000_000)
    }

    /// Nanoseconds since the clock was made (for pacing at sub-millisecond precision).
    pub fn now_ns(&self) -> u64 {
        self.0.now_ns()
    }

    /// Sleeps until `deadline_ns` (since the clock was made) has passed; never wakes early.
    pub fn sleep_until_ns(&self, deadline_ns: u64) {
        let _ = self.0.sleep_until_ns(deadline_ns);
    }
}

impl Default for CameraClock {
    fn default() -> Self {
        CameraClock::new()
    }
}

pub use crate::config::camera::DetectorKind;

/// Why a camera configured for the NPU is served by the CPU zone detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fallback {
    /// This build has no NPU support (feature `rknpu`).
    NotBuilt = 1,
    /// The NPU runtime library is not installed on this board.
    Unavailable = 2,
    /// The model file is missing or the runtime refused it.
    ModelLoad = 3,
    /// Inference failed while running.
    RunTime = 4,
}

impl Fallback {
    pub const fn name(self) -> &'static str {
        match self {
            Fallback::NotBuilt => "built without rknpu",
            Fallback::Unavailable => "npu runtime unavailable",
            Fallback::ModelLoad => "model failed to load",
            Fallback::RunTime => "npu failed at run time",
        }
    }

    const fn from_u8(v: u8) -> Option<Fallback> {
        match v {
            1 => Some(Fallback::NotBuilt),
            2 => Some(Fallback::Unavailable),
            3 => Some(Fallback::ModelLoad),
            4 => Some(Fallback::RunTime),
            _ => None,
        }
    }
}

/// A frame the detector could not use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectError {
    /// The frame is not `width × height` bytes.
    FrameSize,
}

/// What turns a frame into detector readings. Implemented by the CPU zone detector and the NPU
/// backend; the detection stage calls it on the detection thread only, never on the control loop.
pub trait Detector: Send {
    /// Processes one frame (`width × height` luma) captured at `at`.
    fn process(&mut self, at: Instant, pixels: &[u8]) -> Result<(), DetectError>;
    /// Writes this camera's detectors into `snap`, leaving every other detector as it is.
    fn fill(&self, snap: &mut DetectorSnapshot);
    /// The detector doing the work now.
    fn kind(&self) -> DetectorKind;
    /// Why the NPU is not serving, if it was asked for and is not.
    fn fallback(&self) -> Option<Fallback> {
        None
    }
}

impl Detector for ZoneDetector {
    fn process(&mut self, at: Instant, pixels: &[u8]) -> Result<(), DetectError> {
        ZoneDetector::process(self, at, pixels).map_err(|_| DetectError::FrameSize)
    }
    fn fill(&self, snap: &mut DetectorSnapshot) {
        ZoneDetector::fill(self, snap, false)
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Cpu
    }
}

/// One snapshot passed from detection to the control loop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Published {
    /// This camera's detectors (every other detector `Unknown`); `snapshot.at` is `frame_at`.
    pub snapshot: DetectorSnapshot,
    /// The frame's ring sequence number (0: nothing published yet).
    pub seq: u64,
    /// When the frame was captured.
    pub frame_at: Instant,
    /// When detection finished with it.
    pub done_at: Instant,
}

impl Published {
    /// Before the first frame: every detector `Unknown`, sequence 0.
    pub const NONE: Published = Published {
        snapshot: DetectorSnapshot::EMPTY,
        seq: 0,
        frame_at: Instant::ZERO,
        done_at: Instant::ZERO,
    };
}

/// The detection side of the hand-off.
pub struct Publisher(triple_buffer::Input<Published>);

/// The control-loop side of the hand-off.
pub struct Reader(triple_buffer::Output<Published>);

/// A hand-off holding [`Published::NONE`] (allocates its three buffers; start-up only).
pub fn hand_off() -> (Publisher, Reader) {
    let (i, o) = triple_buffer::triple_buffer(&Published::NONE);
    (Publisher(i), Reader(o))
}

impl Publisher {
    /// Publishes `p`: the reader's next [`Reader::latest`] returns it (or a newer one). Wait-free.
    pub fn publish(&mut self, p: &Published) {
        *self.0.input_buffer_mut() = *p;
        self.0.publish();
    }
}

impl Reader {
    /// The newest published snapshot. Wait-free; never returns a half-written one.
    pub fn latest(&mut self) -> &Published {
        self.0.read()
    }
}

/// Counters one camera's stages share with whoever reports on it (console, supervisor). Relaxed
/// atomics: each is written by one side and only read elsewhere.
#[derive(Debug, Default)]
pub struct CameraCounters {
    /// Frames the source delivered (kept or not).
    pub arrived: AtomicU64,
    /// Frames skipped by the frame-rate limit.
    pub rate_limited: AtomicU64,
    /// Frames that failed to read (device or clip errors).
    pub read_errors: AtomicU64,
    /// Frames refused by the detector (wrong size).
    pub bad_frames: AtomicU64,
    /// Frames processed by detection.
    pub processed: AtomicU64,
    /// When the last frame was written to the ring, ms + 1 on the stage's time line (0: never).
    pub last_frame: AtomicU64,
    /// When detection last ran (with or without a frame), ms + 1 (0: never).
    pub last_run: AtomicU64,
    /// Measured frame rate into the ring, mHz (exponential average over ~8 frames).
    pub fps_milli: AtomicU64,
    /// The [`DetectorKind`] serving now.
    pub kind: AtomicU8,
    /// The [`Fallback`] reason, 0 when none.
    pub fallback: AtomicU8,
}

fn stamp(t: Instant) -> u64 {
    t.0.saturating_add(1)
}

fn unstamp(v: u64) -> Option<Instant> {
    v.checked_sub(1).map(Instant)
}

impl CameraCounters {
    pub fn last_frame(&self) -> Option<Instant> {
        unstamp(self.last_frame.load(Ordering::Relaxed))
    }
    pub fn last_run(&self) -> Option<Instant> {
        unstamp(self.last_run.load(Ordering::Relaxed))
    }
    pub fn fps(&self) -> f32 {
        self.fps_milli.load(Ordering::Relaxed) as f32 / 1000.0
    }
    pub fn kind(&self) -> DetectorKind {
        if self.kind.load(Ordering::Relaxed) == DetectorKind::Npu as u8 {
            DetectorKind::Npu
        } else {
            DetectorKind::Cpu
        }
    }
    pub fn fallback(&self) -> Option<Fallback> {
        Fallback::from_u8(self.fallback.load(Ordering::Relaxed))
    }
}

/// What [`CaptureStage::push`] did with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Written into the ring.
    Stored,
    /// Skipped by the frame-rate limit (`fill` was not called: the caller discards the frame).
    RateLimited,
    /// Lost: every other ring slot was leased (counted by the ring).
    Dropped,
}

/// The capture stage: frames into the ring at no more than the configured rate.
pub struct CaptureStage {
    ring: Arc<FrameRing>,
    limit: FrameRateLimit,
    counters: Arc<CameraCounters>,
    last_stored: Option<Instant>,
    fps_milli: u64,
}

impl CaptureStage {
    /// A capture stage writing into `ring` at most `fps` frames per second.
    pub fn new(ring: Arc<FrameRing>, fps: u32, counters: Arc<CameraCounters>) -> CaptureStage {
        CaptureStage {
            ring,
            limit: FrameRateLimit::new(fps),
            counters,
            last_stored: None,
            fps_milli: 0,
        }
    }

    pub fn ring(&self) -> &Arc<FrameRing> {
        &self.ring
    }

    /// Offers a frame captured at `at`. If the frame-rate limit keeps it, `fill` writes the frame
    /// (`width × height` luma bytes) into a ring slot; an error from `fill` leaves the slot free,
    /// is counted and returned.
    pub fn push<E>(&mut self, at: Instant, fill: impl FnOnce(&mut [u8]) -> Result<(), E>) -> Result<Pushed, E> {
        self.counters.arrived.fetch_add(1, Ordering::Relaxed);
        if !self.limit.accept(at) {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Ok(Pushed::RateLimited);
        }
        match self.ring.write(at, fill) {
            Ok(true) => {
                if let Some(prev) = self.last_stored {
                    let gap = at.since(prev).max(1);
                    let inst = 1_000_000 / gap;
                    // Exponential average, weight 1/8: steady within a second at 10 fps.
                    self.fps_milli = if self.fps_milli == 0 {
                        inst
                    } else {
                        (self.fps_milli * 7 + inst) / 8
                    };
                    self.counters.fps_milli.store(self.fps_milli, Ordering::Relaxed);
                }
                self.last_stored = Some(at);
                self.counters.last_frame.store(stamp(at), Ordering::Relaxed);
                Ok(Pushed::Stored)
            }
            Ok(false) => Ok(Pushed::Dropped),
            Err(e) => {
                self.counters.read_errors.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }
}

/// What [`DetectionStage::run_once`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ran {
    /// No new frame since the last run.
    Idle,
    /// Processed frame `seq` captured at `frame_at` and published the result.
    Published { seq: u64, frame_at: Instant },
    /// The newest frame was refused by the detector (counted); nothing published.
    Refused { seq: u64 },
}

/// The detection stage: newest frame → detector → hand-off.
pub struct DetectionStage<D: Detector> {
    ring: Arc<FrameRing>,
    detector: D,
    publisher: Publisher,
    counters: Arc<CameraCounters>,
    scratch: Published,
}

impl<D: Detector> DetectionStage<D> {
    pub fn new(
        ring: Arc<FrameRing>,
        detector: D,
        publisher: Publisher,
        counters: Arc<CameraCounters>,
    ) -> DetectionStage<D> {
        counters.kind.store(detector.kind() as u8, Ordering::Relaxed);
        counters
            .fallback
            .store(detector.fallback().map_or(0, |f| f as u8), Ordering::Relaxed);
        DetectionStage {
            ring,
            detector,
            publisher,
            counters,
            scratch: Published::NONE,
        }
    }

    pub fn detector(&self) -> &D {
        &self.detector
    }

    /// One detection step at `now`: if the ring holds a frame newer than the last one, detect on
    /// it and publish the result. Always records that detection ran at `now`.
    pub fn run_once(&mut self, now: Instant) -> Ran {
        self.counters.last_run.store(stamp(now), Ordering::Relaxed);
        let ran = match self.ring.lease_latest() {
            None => Ran::Idle,
            Some(lease) => {
                let (seq, frame_at) = (lease.seq, lease.at);
                match self.detector.process(frame_at, lease.pixels()) {
                    Ok(()) => {
                        drop(lease);
                        self.scratch.snapshot = DetectorSnapshot {
                            at: frame_at,
                            ..DetectorSnapshot::EMPTY
                        };
                        self.detector.fill(&mut self.scratch.snapshot);
                        self.scratch.seq = seq;
                        self.scratch.frame_at = frame_at;
                        self.scratch.done_at = now;
                        self.publisher.publish(&self.scratch);
                        self.counters.processed.fetch_add(1, Ordering::Relaxed);
                        Ran::Published { seq, frame_at }
                    }
                    Err(DetectError::FrameSize) => {
                        self.counters.bad_frames.fetch_add(1, Ordering::Relaxed);
                        Ran::Refused { seq }
                    }
                }
            }
        };
        // The detector may have switched (NPU failure → CPU): keep the reported state current.
        self.counters.kind.store(self.detector.kind() as u8, Ordering::Relaxed);
        self.counters
            .fallback
            .store(self.detector.fallback().map_or(0, |f| f as u8), Ordering::Relaxed);
        ran
    }
}

/// The control loop's end of one camera: a [`Source`] that reads the newest published snapshot and
/// reports the camera's detectors `Stale` when it is older than `stale_ms` (or missing).
pub struct CameraSource {
    reader: Reader,
    /// Detectors this camera's zones feed.
    detectors: DetectorSet,
    stale_ms: u32,
    clock: Option<CameraClock>,
    last_seq: u64,
    last_age_ms: u64,
    last_frame_at: Instant,
    last_done_at: Instant,
}

impl CameraSource {
    /// `detectors`: the detectors the camera's zones feed. `clock`: the time line frames are
    /// stamped on when it is not the loop's own (camera threads); `None` when the caller stamps
    /// frames with the same `Instant`s it polls with (a step-driven simulator).
    pub fn new(reader: Reader, detectors: DetectorSet, stale_ms: u32, clock: Option<CameraClock>) -> CameraSource {
        CameraSource {
            reader,
            detectors,
            stale_ms,
            clock,
            last_seq: 0,
            last_age_ms: u64::MAX,
            last_frame_at: Instant::ZERO,
            last_done_at: Instant::ZERO,
        }
    }

    /// Capture-to-hand-off time of the newest snapshot at the last poll, ms (when detection
    /// published it minus when its frame was captured); `None` before the first.
    pub fn last_handoff_ms(&self) -> Option<u64> {
        (self.last_seq != 0).then(|| self.last_done_at.since(self.last_frame_at))
    }

    /// Sequence number of the newest snapshot seen by the last poll (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Age of the newest frame at the last poll, ms (`u64::MAX` before the first).
    pub fn last_age_ms(&self) -> u64 {
        self.last_age_ms
    }
}

impl Source for CameraSource {
    fn poll(&mut self, now: Instant) -> DetectorSnapshot {
        let clock_now = self.clock.as_ref().map_or(now, CameraClock::now);
        let p = self.reader.latest();
        let mut snap = p.snapshot;
        let fresh = p.seq != 0;
        let age = if fresh { clock_now.since(p.frame_at) } else { u64::MAX };
        self.last_seq = p.seq;
        self.last_age_ms = age;
        self.last_frame_at = p.frame_at;
        self.last_done_at = p.done_at;
        // On the loop's time line: as old as the frame.
        snap.at = Instant(now.0.saturating_sub(age.min(now.0)));
        if !fresh || age > u64::from(self.stale_ms) {
            for i in 0..crate::limits::MAX_DETECTORS {
                if self.detectors.contains(i) {
                    snap.presence.set(i, false);
                    if let (Some(q), Some(h)) = (snap.queue_m.get_mut(i), snap.health.get_mut(i)) {
                        *q = 0.0;
                        *h = DetectorHealth::Stale;
                    }
                }
            }
        }
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::camera::CameraConfig;

    const CAMERA: &str =
        "width = 64\nheight = 48\nfps = 10\n[[zone]]\ndetector = 2\nquad = [[10, 46], [20, 46], [20, 2], [10, 2]]\n";

    fn stages() -> (
        CaptureStage,
        DetectionStage<ZoneDetector>,
        CameraSource,
        Arc<CameraCounters>,
    ) {
        let cfg = CameraConfig::parse(CAMERA, "camera.toml").unwrap();
        let ring = Arc::new(FrameRing::new(3, 64, 48).unwrap());
        let counters = Arc::new(CameraCounters::default());
        let (p, r) = hand_off();
        let mut dets = DetectorSet::EMPTY;
        dets.set(1, true);
        (
            CaptureStage::new(Arc::clone(&ring), 10, Arc::clone(&counters)),
            DetectionStage::new(ring, ZoneDetector::new(cfg), p, Arc::clone(&counters)),
            CameraSource::new(r, dets, 500, None),
            counters,
        )
    }

    fn frame(car: bool) -> impl FnOnce(&mut [u8]) -> Result<(), ()> {
        move |b: &mut [u8]| {
            b.fill(90);
            if car {
                for y in 30..46 {
                    for x in 11..19 {
                        b[y * 64 + x] = 220;
                    }
                }
            }
            Ok(())
        }
    }

    #[test]
    fn stepped_frames_reach_the_source_and_age_into_stale() {
        let (mut cap, mut det, mut src, counters) = stages();
        let s = src.poll(Instant(0));
        assert_eq!(s.health[1], DetectorHealth::Stale, "no frame yet");
        assert_eq!(s.health[0], DetectorHealth::Unknown, "not this camera's detector");
        for k in 0..10u64 {
            assert_eq!(cap.push(Instant(k * 100), frame(k >= 5)), Ok(Pushed::Stored));
            assert!(matches!(det.run_once(Instant(k * 100 + 3)), Ran::Published { .. }));
        }
        assert_eq!(det.run_once(Instant(950)), Ran::Idle, "no new frame");
        let s = src.poll(Instant(950));
        assert_eq!(s.health[1], DetectorHealth::Ok);
        assert!(s.presence.contains(1));
        assert_eq!(s.at, Instant(900), "as old as the frame");
        assert_eq!(src.last_age_ms(), 50);
        // Frames stop: past stale_ms the zone is stale and shows no presence.
        let s = src.poll(Instant(1_401));
        assert_eq!(s.health[1], DetectorHealth::Stale);
        assert!(!s.presence.contains(1));
        assert_eq!(counters.processed.load(Ordering::Relaxed), 10);
        assert!((counters.fps() - 10.0).abs() < 0.01, "{}", counters.fps());
        assert_eq!(counters.last_run(), Some(Instant(950)));
        assert_eq!(counters.kind(), DetectorKind::Cpu);
    }

    #[test]
    fn the_rate_limit_and_a_failed_read_are_counted() {
        let (mut cap, _det, _src, counters) = stages();
        assert_eq!(cap.push(Instant(0), frame(false)), Ok(Pushed::Stored));
        let mut called = false;
        let r = cap.push(Instant(30), |_: &mut [u8]| -> Result<(), ()> {
            called = true;
            Ok(())
        });
        assert_eq!(r, Ok(Pushed::RateLimited));
        assert!(!called, "a rate-limited frame is not written");
        assert_eq!(cap.push(Instant(100), |_: &mut [u8]| Err("EIO")), Err("EIO"));
        assert_eq!(counters.rate_limited.load(Ordering::Relaxed), 1);
        assert_eq!(counters.read_errors.load(Ordering::Relaxed), 1);
        assert_eq!(counters.arrived.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn frames_faster_than_fps_are_skipped() {
        // A camera that ignores the requested 10 fps and sends 30: every third frame is kept.
        let mut l = FrameRateLimit::new(10);
        let kept = (0..30u64).filter(|k| l.accept(Instant(k * 1000 / 30))).count();
        assert_eq!(kept, 10);
        // A camera at exactly 10 fps with ±10 ms of jitter loses none.
        let mut l = FrameRateLimit::new(10);
        let kept = (0..30u64)
            .filter(|k| l.accept(Instant(k * 100 + if k % 2 == 0 { 10 } else { 0 })))
            .count();
        assert_eq!(kept, 30);
    }

    #[test]
    fn a_source_on_its_own_clock_maps_the_age_onto_the_loop() {
        let clock = CameraClock::new();
        let (p, r) = hand_off();
        let mut p = p;
        let mut dets = DetectorSet::EMPTY;
        dets.set(0, true);
        let mut src = CameraSource::new(r, dets, 1_000, Some(clock));
        let mut snap = DetectorSnapshot::EMPTY;
        snap.health[0] = DetectorHealth::Ok;
        let t = clock.now();
        p.publish(&Published {
            snapshot: snap,
            seq: 1,
            frame_at: t,
            done_at: t,
        });
        // The loop's clock started long before the camera's.
        let s = src.poll(Instant(50_000));
        assert!(s.at.0 <= 50_000 && s.at.0 >= 49_900, "{:?}", s.at);
        assert_eq!(s.health[0], DetectorHealth::Ok);
    }
}
