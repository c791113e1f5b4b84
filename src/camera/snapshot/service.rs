//! The snapshot service: JPEG snapshots of the cameras, with their zones drawn, written by a
//! background thread into `<state dir>/snapshots/` under a byte budget.
//!
//! A snapshot is asked for by the technician (console `snapshot N`) and taken automatically when
//! the conflict monitor latches a fault (alarm event 174 with a fault number) and when a preemption
//! starts (event 105): what the cameras saw at that moment is the first thing an engineer
//! investigating the fault or the preemption wants. Automatic snapshots take every camera.
//!
//! The control thread only hands over a small [`Request`] through a fixed SPSC queue and wakes the
//! writer (`Thread::unpark`): no allocation, no lock, no I/O. A full queue drops the request and
//! counts it. The writer copies each requested camera's newest frame through a [`FrameProvider`]
//! into one of its frame buffers (allocated at start) as soon as it wakes — every frame of a batch
//! before the first is encoded, so the cameras of one fault are seen at the same moment — then draws
//! the zones (`camera::overlay`), encodes and saves through [`SnapshotDir`] (oldest files deleted
//! first to stay within the budget). A full or read-only disk is counted, logged once per failure
//! episode and shown on the console (`stats`, `faults`); capture, detection and the control loop do
//! not wait for it (docs/safety.md 5).

use super::{draw_zone_marks, encode_jpeg_into, SnapshotDir, SnapshotError, ZoneMark};
use crate::camera::ring::FrameRing;
use crate::config::camera::CameraConfig;
use crate::events::{code, Event};
use crate::monitor::FaultKind;
pub use crate::stats::{SnapshotFault, SnapshotHealth};
use crate::time::Instant;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};

/// Cameras a service serves (the "up to 4": one per approach).
pub const MAX_CAMERAS: usize = 4;
/// Requests waiting for the writer; more are dropped and counted.
pub const QUEUE: usize = 8;
/// Zones drawn per camera.
pub const MAX_ZONES: usize = crate::config::camera::MAX_ZONES;
/// Directory under the state directory.
pub const SUBDIR: &str = "snapshots";
/// How long the writer sleeps when nothing wakes it (it is unparked on every request).
const IDLE_MS: u64 = 250;
/// Attempts to copy a camera's newest frame, [`COPY_RETRY_MS`] apart, before the request is counted
/// as "no frame" (a frame being processed by detection cannot be copied that instant).
const COPY_TRIES: u32 = 25;
const COPY_RETRY_MS: u64 = 4;

/// The running cameras as the snapshot writer sees them.
pub trait FrameProvider: Send + Sync {
    /// Copies camera `index`'s (0-based) newest frame into `out` (exactly its width × height luma
    /// bytes) and returns when it was captured and its frame number; `None` when the camera has no
    /// frame (not started, stopped, or `out` has the wrong size). Must never make the camera's
    /// capture or detection wait longer than one frame copy.
    fn copy_newest(&self, index: usize, out: &mut [u8]) -> Option<(Instant, u64)>;
}

/// The frame rings of running cameras as a [`FrameProvider`]: [`FrameRing::copy_newest`] pins the
/// newest frame while copying it, so neither capture nor detection loses it or waits for the copy.
pub struct RingFrames(pub Vec<Arc<FrameRing>>);

impl FrameProvider for RingFrames {
    fn copy_newest(&self, index: usize, out: &mut [u8]) -> Option<(Instant, u64)> {
        self.0.get(index)?.copy_newest(out)
    }
}

/// Starts the snapshot service of a board's cameras: `<state_dir>/snapshots` under `budget_mib`
/// MiB, frames from `rings` (one per camera, in the site file's order). Snapshots are a diagnostic:
/// a service that cannot start is logged and the controller runs without it.
pub fn start_for_cameras(
    state_dir: &Path,
    budget_mib: u32,
    cameras: &[CameraConfig],
    rings: Vec<Arc<FrameRing>>,
) -> Option<SnapshotService> {
    if cameras.is_empty() {
        return None;
    }
    let dir = snapshot_dir(state_dir);
    let setup = SnapshotSetup {
        dir: dir.clone(),
        budget: u64::from(budget_mib) << 20,
        quality: super::DEFAULT_QUALITY,
        cameras: cameras.iter().map(SnapshotCamera::of).collect(),
        frames: Arc::new(RingFrames(rings)),
    };
    match SnapshotService::start(setup) {
        Ok(s) => {
            log::info!(
                "snapshots: {} camera(s) into {} (budget {budget_mib} MiB)",
                cameras.len(),
                dir.display()
            );
            Some(s)
        }
        Err(e) => {
            log::error!("{e}; running without camera snapshots");
            None
        }
    }
}

/// Why a snapshot is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `snapshot N` on the console.
    Console,
    /// The monitor latched a fault (the alarm's `FaultKind` number).
    MonitorFault(u16),
    /// A preemption started (preempt input number).
    Preempt(u16),
}

impl Trigger {
    /// The automatic trigger an event is, if any: an alarm for a latching fault (a
    /// `monitor::FaultKind`; storage alarms do not touch the street and take no picture) or the
    /// start of a preemption.
    pub fn of(ev: &Event) -> Option<Trigger> {
        match ev.code {
            code::ALARM
                if ev.param < crate::events::alarm::EVENT_LOG_WRITE && ev.param != FaultKind::Stopped.number() =>
            {
                Some(Trigger::MonitorFault(ev.param))
            }
            code::PREEMPT_ENTRY_STARTED => Some(Trigger::Preempt(ev.param)),
            _ => None,
        }
    }

    /// The file name tag: `console`, `fault10`, `preempt2`.
    fn tag(self, out: &mut heapless::String<24>, camera: usize) {
        use core::fmt::Write;
        let _ = match self {
            Trigger::Console => write!(out, "cam{}-console", camera + 1),
            Trigger::MonitorFault(k) => write!(out, "cam{}-fault{k}", camera + 1),
            Trigger::Preempt(n) => write!(out, "cam{}-preempt{n}", camera + 1),
        };
    }
}

/// One camera as the snapshots draw it.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotCamera {
    pub width: u32,
    pub height: u32,
    pub zones: heapless::Vec<ZoneMark, MAX_ZONES>,
}

impl SnapshotCamera {
    /// A configured camera: its size and zones (numbered from 1 in table order).
    pub fn of(cfg: &CameraConfig) -> SnapshotCamera {
        SnapshotCamera {
            width: cfg.width,
            height: cfg.height,
            zones: cfg
                .zones
                .iter()
                .enumerate()
                .take(MAX_ZONES)
                .map(|(i, z)| ZoneMark {
                    zone: (i + 1) as u8,
                    detector: z.detector,
                    quad: z.quad,
                })
                .collect(),
        }
    }
}

/// What a service is started with.
pub struct SnapshotSetup {
    /// The directory the snapshots go to (`<state dir>/snapshots`, see [`snapshot_dir`]).
    pub dir: PathBuf,
    /// Byte budget of the directory (`snapshot::DEFAULT_BUDGET_BYTES` by default).
    pub budget: u64,
    /// JPEG quality, 1..=100.
    pub quality: u8,
    pub cameras: Vec<SnapshotCamera>,
    pub frames: Arc<dyn FrameProvider>,
}

/// The snapshot directory under a state directory.
pub fn snapshot_dir(state_dir: &Path) -> PathBuf {
    state_dir.join(SUBDIR)
}

/// Why a request was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No camera with that number.
    NoSuchCamera,
    /// The writer is behind: the request was dropped (and counted).
    QueueFull,
}

/// One request: which camera, why, when (controller time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub camera: u8,
    pub trigger: Trigger,
    pub at: Instant,
}

type Queue = heapless::spsc::Queue<Request, QUEUE>;

#[derive(Default)]
struct Shared {
    done: AtomicBool,
    written: AtomicU64,
    no_frame: AtomicU64,
    failed: AtomicU64,
    failing: AtomicBool,
    last_fault: AtomicU8,
    last_write_us: AtomicU32,
}

/// The control thread's handle on the snapshot writer.
pub struct SnapshotService {
    producer: heapless::spsc::Producer<'static, Request>,
    shared: Arc<Shared>,
    writer: Thread,
    thread: Option<JoinHandle<()>>,
    cameras: usize,
    requested: u64,
    dropped: u64,
}

impl SnapshotService {
    /// Starts the writer with its frame buffers and JPEG buffer allocated (start-up only). The
    /// directory is created by the writer, which retries on every request while it cannot.
    pub fn start(setup: SnapshotSetup) -> Result<SnapshotService, String> {
        let cameras = setup.cameras.len();
        if cameras == 0 || cameras > MAX_CAMERAS {
            return Err(format!("snapshots: {cameras} cameras (use 1 to {MAX_CAMERAS})"));
        }
        let biggest = setup
            .cameras
            .iter()
            .map(|c| c.width as usize * c.height as usize)
            .max()
            .unwrap_or(0);
        // One buffer per camera: a fault's batch copies every camera's frame before encoding one.
        let bufs: Vec<Box<[u8]>> = (0..cameras).map(|_| vec![0u8; biggest].into_boxed_slice()).collect();
        let jpeg = Vec::with_capacity(biggest / 2 + 4096);
        // Allocated once at start-up and shared for the life of the process.
        let queue: &'static mut Queue = Box::leak(Box::new(Queue::new()));
        let (producer, consumer) = queue.split();
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            consumer,
            shared: Arc::clone(&shared),
            setup,
            bufs,
            jpeg,
            dir: None,
        };
        let thread = std::thread::Builder::new()
            .name("snapshots".into())
            .spawn(move || writer.run())
            .map_err(|e| format!("cannot start the snapshot writer: {e}"))?;
        Ok(SnapshotService {
            producer,
            shared,
            writer: thread.thread().clone(),
            thread: Some(thread),
            cameras,
            requested: 0,
            dropped: 0,
        })
    }

    /// Cameras served (numbered 1..=cameras on the console).
    pub fn cameras(&self) -> usize {
        self.cameras
    }

    /// Asks for a snapshot of camera `index` (0-based). Never blocks, never allocates.
    pub fn request(&mut self, index: usize, trigger: Trigger, now: Instant) -> Result<(), Refusal> {
        if index >= self.cameras {
            return Err(Refusal::NoSuchCamera);
        }
        let r = Request {
            camera: index as u8,
            trigger,
            at: now,
        };
        if self.producer.enqueue(r).is_err() {
            self.dropped += 1;
            self.writer.unpark();
            return Err(Refusal::QueueFull);
        }
        self.requested += 1;
        self.writer.unpark();
        Ok(())
    }

    /// Asks for a snapshot of every camera.
    pub fn request_all(&mut self, trigger: Trigger, now: Instant) {
        for i in 0..self.cameras {
            let _ = self.request(i, trigger, now);
        }
    }

    /// Takes the snapshots an event asks for (a latching fault, a preemption starting).
    pub fn on_event(&mut self, ev: &Event) {
        if let Some(t) = Trigger::of(ev) {
            self.request_all(t, ev.at);
        }
    }

    /// Counters now (no lock).
    pub fn health(&self) -> SnapshotHealth {
        let s = &self.shared;
        SnapshotHealth {
            requested: self.requested,
            dropped: self.dropped,
            written: s.written.load(Ordering::Acquire),
            no_frame: s.no_frame.load(Ordering::Acquire),
            failed: s.failed.load(Ordering::Acquire),
            failing: s.failing.load(Ordering::Acquire),
            last_fault: fault_from_u8(s.last_fault.load(Ordering::Acquire)),
            last_write_us: s.last_write_us.load(Ordering::Relaxed),
        }
    }

    /// Saves what is queued, stops the writer and returns the final counters.
    pub fn finish(mut self) -> SnapshotHealth {
        self.stop();
        self.health()
    }

    fn stop(&mut self) {
        self.shared.done.store(true, Ordering::Release);
        self.writer.unpark();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SnapshotService {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The writer thread's side.
struct Writer {
    consumer: heapless::spsc::Consumer<'static, Request>,
    shared: Arc<Shared>,
    setup: SnapshotSetup,
    bufs: Vec<Box<[u8]>>,
    jpeg: Vec<u8>,
    dir: Option<SnapshotDir>,
}

impl Writer {
    fn run(mut self) {
        let mut batch: [Option<(Request, (Instant, u64))>; MAX_CAMERAS] = [None; MAX_CAMERAS];
        loop {
            let finishing = self.shared.done.load(Ordering::Acquire);
            // Copy the frames of everything waiting first (up to one per buffer), then encode.
            let mut n = 0;
            while n < self.bufs.len() {
                let Some(r) = self.consumer.dequeue() else { break };
                let cam = usize::from(r.camera);
                let bytes = self
                    .setup
                    .cameras
                    .get(cam)
                    .map_or(0, |c| c.width as usize * c.height as usize);
                let frames = &self.setup.frames;
                let stamp = self.bufs.get_mut(n).and_then(|b| b.get_mut(..bytes)).and_then(|b| {
                    // The newest frame may be in detection's hands this instant: try again shortly.
                    (0..COPY_TRIES).find_map(|k| {
                        if k > 0 {
                            std::thread::sleep(std::time::Duration::from_millis(COPY_RETRY_MS));
                        }
                        frames.copy_newest(cam, b)
                    })
                });
                match (stamp, batch.get_mut(n)) {
                    (Some(s), Some(slot)) => {
                        *slot = Some((r, s));
                        n += 1;
                    }
                    _ => {
                        self.shared.no_frame.fetch_add(1, Ordering::Release);
                        log::warn!("snapshot of camera {}: the camera has no frame", cam + 1);
                    }
                }
            }
            for k in 0..n {
                if let Some((r, stamp)) = batch.get_mut(k).and_then(Option::take) {
                    self.save(k, r, stamp);
                }
            }
            if n == 0 {
                if finishing && self.consumer.peek().is_none() {
                    break;
                }
                std::thread::park_timeout(std::time::Duration::from_millis(IDLE_MS));
            }
        }
    }

    fn save(&mut self, buf: usize, r: Request, (captured, seq): (Instant, u64)) {
        let cam = usize::from(r.camera);
        let Some(c) = self.setup.cameras.get(cam) else { return };
        let (w, h) = (c.width, c.height);
        let bytes = w as usize * h as usize;
        let Some(frame) = self.bufs.get_mut(buf).and_then(|b| b.get_mut(..bytes)) else {
            return;
        };
        let t0 = std::time::Instant::now();
        let mut tag = heapless::String::<24>::new();
        r.trigger.tag(&mut tag, cam);
        let result = draw_zone_marks(frame, w, h, &c.zones)
            .and_then(|()| encode_jpeg_into(frame, w, h, self.setup.quality, &mut self.jpeg))
            .and_then(|()| {
                if self.dir.is_none() {
                    self.dir = Some(SnapshotDir::new(&self.setup.dir, self.setup.budget)?);
                }
                match self.dir.as_mut() {
                    Some(d) => d.save_tagged(&self.jpeg, &tag),
                    None => Err(SnapshotError::Io(std::io::ErrorKind::NotFound)),
                }
            });
        let sh = &self.shared;
        match result {
            Ok(path) => {
                let us = t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                sh.last_write_us.store(us, Ordering::Relaxed);
                if sh.failing.swap(false, Ordering::AcqRel) {
                    log::warn!("snapshots are saved again in {}", self.setup.dir.display());
                }
                sh.written.fetch_add(1, Ordering::Release);
                log::info!(
                    "snapshot {}: camera {} frame {seq} captured at {:.1} s, requested at {:.1} s ({} bytes, {us} us)",
                    path.display(),
                    cam + 1,
                    captured.0 as f64 / 1000.0,
                    r.at.0 as f64 / 1000.0,
                    self.jpeg.len()
                );
            }
            Err(e) => {
                // `failing` and the fault before the count: whoever sees the count sees why.
                sh.last_fault.store(fault_of(&e) as u8, Ordering::Release);
                let was = sh.failing.swap(true, Ordering::AcqRel);
                sh.failed.fetch_add(1, Ordering::Release);
                if matches!(e, SnapshotError::Io(_) | SnapshotError::ReadOnly) {
                    // The directory may be gone or remounted: create it again next time.
                    self.dir = None;
                }
                if !was {
                    log::error!(
                        "cannot save a snapshot of camera {} in {}: {e}; counting failures and retrying on the next \
                         request (capture and control go on)",
                        cam + 1,
                        self.setup.dir.display()
                    );
                }
            }
        }
    }
}

/// The fault a failed save is reported as.
fn fault_of(e: &SnapshotError) -> SnapshotFault {
    match e {
        SnapshotError::DiskFull => SnapshotFault::DiskFull,
        SnapshotError::ReadOnly => SnapshotFault::ReadOnly,
        SnapshotError::Io(_) => SnapshotFault::Io,
        SnapshotError::Frame { .. } | SnapshotError::Encode => SnapshotFault::Encode,
        SnapshotError::TooLarge { .. } => SnapshotFault::TooLarge,
    }
}

/// The fault stored as its number in the shared counters.
fn fault_from_u8(v: u8) -> Option<SnapshotFault> {
    [
        SnapshotFault::DiskFull,
        SnapshotFault::ReadOnly,
        SnapshotFault::Io,
        SnapshotFault::Encode,
        SnapshotFault::TooLarge,
    ]
    .into_iter()
    .find(|f| *f as u8 == v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Cameras whose frames are a constant grey per camera, counting copies.
    struct Flat {
        sizes: Vec<(u32, u32)>,
        copies: Mutex<Vec<usize>>,
        /// Held by a test to keep the writer waiting in a copy.
        gate: Mutex<()>,
    }

    impl FrameProvider for Flat {
        fn copy_newest(&self, index: usize, out: &mut [u8]) -> Option<(Instant, u64)> {
            let (w, h) = *self.sizes.get(index)?;
            if out.len() != (w * h) as usize {
                return None;
            }
            drop(self.gate.lock().unwrap());
            out.fill(40 + 50 * index as u8);
            self.copies.lock().unwrap().push(index);
            Some((Instant(1_000), 7))
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("greenwave-snapsvc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn camera(w: u32, h: u32) -> SnapshotCamera {
        SnapshotCamera {
            width: w,
            height: h,
            zones: heapless::Vec::from_slice(&[ZoneMark {
                zone: 1,
                detector: 3,
                quad: [(4.0, 40.0), (30.0, 40.0), (26.0, 6.0), (8.0, 6.0)],
            }])
            .unwrap(),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|r| r.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    fn wait_for(svc: &SnapshotService, done: impl Fn(&SnapshotHealth) -> bool) -> SnapshotHealth {
        for _ in 0..500 {
            let h = svc.health();
            if done(&h) {
                return h;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        svc.health()
    }

    #[test]
    fn triggers_are_latching_faults_and_preemptions() {
        let ev = |code, param| Event {
            at: Instant(5),
            code,
            param,
        };
        assert_eq!(
            Trigger::of(&ev(code::ALARM, FaultKind::Conflict.number())),
            Some(Trigger::MonitorFault(1))
        );
        assert_eq!(Trigger::of(&ev(code::ALARM, FaultKind::Stopped.number())), None);
        assert_eq!(Trigger::of(&ev(code::ALARM, crate::events::alarm::STATE_SAVE)), None);
        assert_eq!(
            Trigger::of(&ev(code::PREEMPT_ENTRY_STARTED, 2)),
            Some(Trigger::Preempt(2))
        );
        assert_eq!(Trigger::of(&ev(code::PREEMPT_CALL_ON, 2)), None);
        assert_eq!(Trigger::of(&ev(code::FLASH_STATUS, 1)), None);
    }

    #[test]
    fn requests_become_tagged_jpegs_with_the_zones_drawn() {
        let dir = temp_dir("tagged");
        let frames = Arc::new(Flat {
            sizes: vec![(48, 48), (32, 48)],
            copies: Mutex::new(Vec::new()),
            gate: Mutex::new(()),
        });
        let mut svc = SnapshotService::start(SnapshotSetup {
            dir: dir.clone(),
            budget: 1 << 20,
            quality: 90,
            cameras: vec![camera(48, 48), camera(32, 48)],
            frames: frames.clone(),
        })
        .unwrap();
        assert_eq!(svc.request(2, Trigger::Console, Instant(0)), Err(Refusal::NoSuchCamera));
        svc.request(1, Trigger::Console, Instant(10)).unwrap();
        svc.on_event(&Event {
            at: Instant(20),
            code: code::ALARM,
            param: FaultKind::Conflict.number(),
        });
        let h = svc.finish();
        assert_eq!((h.requested, h.written, h.failed, h.dropped), (3, 3, 0, 0), "{h:?}");
        assert_eq!(
            names(&dir),
            [
                "snapshot-0000000000-cam2-console.jpg",
                "snapshot-0000000001-cam1-fault1.jpg",
                "snapshot-0000000002-cam2-fault1.jpg"
            ]
        );
        let jpg = std::fs::read(dir.join("snapshot-0000000001-cam1-fault1.jpg")).unwrap();
        let mut dec = jpeg_decoder::Decoder::new(jpg.as_slice());
        let px = dec.decode().unwrap();
        assert_eq!(dec.info().map(|i| (i.width, i.height)), Some((48, 48)));
        // Camera 1's grey (40) with the bright stop line across row 40.
        assert!(px[10 * 48 + 2].abs_diff(40) < 8, "{}", px[10 * 48 + 2]);
        assert!(px[40 * 48 + 17] > 200, "{}", px[40 * 48 + 17]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_failures_are_reported() {
        // The state directory is a file: every save fails (the directory cannot be created).
        let file = temp_dir("blocked");
        std::fs::write(&file, b"x").unwrap();
        let frames = Arc::new(Flat {
            sizes: vec![(48, 48)],
            copies: Mutex::new(Vec::new()),
            gate: Mutex::new(()),
        });
        let mut svc = SnapshotService::start(SnapshotSetup {
            dir: file.join(SUBDIR),
            budget: 1 << 20,
            quality: 90,
            cameras: vec![camera(48, 48)],
            frames: frames.clone(),
        })
        .unwrap();
        // The writer is held in its first copy: the queue fills and the rest are dropped.
        let gate = frames.gate.lock().unwrap();
        let mut refused = 0;
        for k in 0..200 {
            if svc.request(0, Trigger::Console, Instant(k)) == Err(Refusal::QueueFull) {
                refused += 1;
            }
        }
        assert!(refused >= 200 - QUEUE as u64 - 1, "{refused} dropped");
        drop(gate);
        let h = wait_for(&svc, |h| h.failed + h.written == h.requested);
        assert_eq!(h.requested + h.dropped, 200);
        assert_eq!(h.dropped, refused);
        assert_eq!((h.written, h.failed), (0, h.requested), "{h:?}");
        assert!(h.failing);
        assert!(
            matches!(h.last_fault, Some(SnapshotFault::Io | SnapshotFault::ReadOnly)),
            "{h:?}"
        );
        // The disk comes back: the next snapshot is saved and the fault clears.
        std::fs::remove_file(&file).unwrap();
        svc.request(0, Trigger::Preempt(1), Instant(500)).unwrap();
        let h = wait_for(&svc, |h| h.written == 1);
        assert_eq!(h.written, 1);
        assert!(!h.failing, "{h:?}");
        assert_eq!(names(&file.join(SUBDIR)), ["snapshot-0000000000-cam1-preempt1.jpg"]);
        drop(svc);
        let _ = std::fs::remove_dir_all(&file);
    }
}
