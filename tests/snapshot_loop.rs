//! Camera snapshots from the running control loop: a recorded clip plays into a frame ring (as a
//! `file:` camera does), the snapshot service reads the ring (`RingFrames`, as on a board), and
//! the loop asks for snapshots on the console's `snapshot 1`, when a preemption starts and when the
//! monitor latches a fault (a relay read-back mismatch). Each becomes a JPEG of the clip with the
//! zones drawn, named for its camera and trigger; the control thread allocates nothing for it.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, COUNTING};

use greenwave::camera::ring::FrameRing;
use greenwave::camera::snapshot::service::{RingFrames, SnapshotCamera, SnapshotService, SnapshotSetup};
use greenwave::camera::y4m::{Chroma, FrameRate, Y4mReader, Y4mWriter};
use greenwave::config::camera::CameraConfig;
use greenwave::config::Site;
use greenwave::console::view::{Action, ConsoleTarget};
use greenwave::console::Console;
use greenwave::events::Event;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::hal::{HalError, Relays};
use greenwave::monitor::card::MmuCard;
use greenwave::runtime::console::{Bound, ConsoleService};
use greenwave::runtime::control_loop::{run_with, ControlLoop, LoopOptions, Speed};
use greenwave::runtime::realtime::Signals;
use greenwave::runtime::service::Services;
use greenwave::signal::frame::OutputFrame;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const W: u32 = 160;
const H: u32 = 120;
const CAMERA: &str =
    "width = 160\nheight = 120\n[[zone]]\ndetector = 1\nquad = [[20, 110], [60, 110], [55, 30], [25, 30]]\n";

/// Relays whose read-back differs from what was written after `after` writes: the monitor latches
/// a relay read-back fault.
struct FailAfter {
    inner: SimRelays,
    after: u64,
}

impl Relays for FailAfter {
    fn write(&mut self, frame: &OutputFrame) -> Result<(), HalError> {
        self.inner.write(frame)
    }
    fn read_back(&mut self) -> Result<OutputFrame, HalError> {
        let mut f = self.inner.read_back()?;
        if self.inner.writes > self.after {
            f.veh[0] ^= 0b111;
        }
        Ok(f)
    }
}

/// The console as a technician uses it (the real command parser and renderer), typing
/// `snapshot 1` at one tick and running a preempt test at another; counting allocations on the
/// control thread between `arm` and `disarm`.
struct Technician {
    console: Console,
    polls: u64,
    /// Lines typed, by poll number.
    script: &'static [(u64, &'static [u8])],
    /// Poll at which a preempt test is run (0: none).
    preempt_at: u64,
    arm: u64,
    disarm: u64,
    output: Arc<Mutex<String>>,
}

impl ConsoleService for Technician {
    fn record_event(&mut self, ev: &Event) {
        self.console.record_event(ev);
    }
    fn serve(&mut self, now: Instant, target: &mut Bound<'_>) {
        self.polls += 1;
        if self.polls == self.arm {
            COUNTING.store(true, Ordering::SeqCst);
        }
        for (_, line) in self.script.iter().filter(|(at, _)| *at == self.polls) {
            self.console.feed(line, now, target);
        }
        if self.polls == self.preempt_at {
            assert_eq!(target.apply(Action::PreemptTest(1), now), Ok(()));
        }
        if self.polls == self.disarm {
            COUNTING.store(false, Ordering::SeqCst);
            let out = String::from_utf8_lossy(self.console.pending_output()).into_owned();
            *self.output.lock().unwrap() = out;
        }
    }
}

fn clip(dir: &Path) -> PathBuf {
    let path = dir.join("approach.y4m");
    let f = std::fs::File::create(&path).unwrap();
    let mut w = Y4mWriter::new(f, W, H, FrameRate { num: 10, den: 1 }, Chroma::C420).unwrap();
    // Flat frames of 60, 70, … 150: a snapshot shows which frame it caught.
    for k in 0..10u8 {
        w.write_frame(&vec![60 + 10 * k; (W * H) as usize]).unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
fn console_preempt_and_monitor_fault_take_snapshots_without_allocating_in_the_loop() {
    let dir = std::env::temp_dir().join(format!("greenwave-snaploop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let clip = clip(&dir);

    // The camera: the clip played into a ring by its own thread, looping.
    let ring = Arc::new(FrameRing::new(4, W, H).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (ring, stop) = (Arc::clone(&ring), Arc::clone(&stop));
        let mut reader = Y4mReader::open(&clip, W, H, true).unwrap();
        std::thread::spawn(move || {
            let mut t = 0;
            while !stop.load(Ordering::Relaxed) {
                t += 100;
                let _ = ring.write(Instant(t), |b| reader.next_frame(b).map(|_| ()));
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    while ring.stats().written == 0 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }

    let cam = CameraConfig::parse(CAMERA, "camera.toml").unwrap();
    let snaps = dir.join("state").join("snapshots");
    let service = SnapshotService::start(SnapshotSetup {
        dir: snaps.clone(),
        budget: 1 << 20,
        quality: 90,
        cameras: vec![SnapshotCamera::of(&cam)],
        frames: Arc::new(RingFrames(vec![Arc::clone(&ring)])),
    })
    .unwrap();

    let site = Site::load(Path::new("board/sites/nema8-4leg.toml")).unwrap();
    let mut lp = ControlLoop::new(
        &site,
        &MmuCard::from_geometry(&site),
        FailAfter {
            inner: SimRelays::default(),
            after: 900,
        },
        SimWatchdog::default(),
        SimTraffic::new(&site, 1.0, 7),
    );
    let output = Arc::new(Mutex::new(String::new()));
    let services = Services {
        console: Some(Box::new(Technician {
            console: Console::new(None),
            polls: 0,
            script: &[(100, b"snapshot 1\r"), (101, b"snapshot 3\r")],
            preempt_at: 150,
            arm: 20,
            disarm: 1_199,
            output: Arc::clone(&output),
        })),
        snapshots: Some(service),
        ..Services::default()
    };
    let mut opts = LoopOptions {
        site_path: "board/sites/nema8-4leg.toml".into(),
        duration_s: Some(120),
        speed: Speed::Max,
        start_unix_ms: 0,
        event_log: None,
        state_dir: None,
        console: None,
        model: None,
        planner_override: None,
        reload_check: None,
        snmp: None,
        mqtt: None,
    };
    let allocs_before = ALLOCS.load(Ordering::SeqCst);
    let summary = run_with(&mut lp, &site, &mut opts, services, &Signals::unregistered()).unwrap();
    let allocs = ALLOCS.load(Ordering::SeqCst) - allocs_before;
    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();

    let out = output.lock().unwrap().clone();
    assert!(out.contains("snapshot of camera 1 requested"), "{out}");
    assert!(
        out.contains("refused: no camera with that number is configured"),
        "{out}"
    );
    assert_eq!(summary.fault.map(|f| f.kind.name()), Some("relay read-back mismatch"));
    let h = summary
        .loop_stats
        .snapshots
        .expect("the summary carries the snapshot counters");
    assert_eq!(
        (h.requested, h.written, h.failed, h.dropped, h.no_frame),
        (3, 3, 0, 0, 0),
        "{h:?}"
    );
    let mut names: Vec<String> = std::fs::read_dir(&snaps)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "snapshot-0000000000-cam1-console.jpg",
            "snapshot-0000000001-cam1-preempt1.jpg",
            "snapshot-0000000002-cam1-fault10.jpg"
        ]
    );
    for n in &names {
        let jpg = std::fs::read(snaps.join(n)).unwrap();
        let mut dec = jpeg_decoder::Decoder::new(jpg.as_slice());
        let px = dec.decode().unwrap();
        assert_eq!(dec.info().map(|i| (i.width, i.height)), Some((160, 120)));
        // Away from the zone: one of the clip's flat frames.
        let v = px[10 * 160 + 120];
        assert!(
            (0..10).any(|k| v.abs_diff(60 + 10 * k) <= 3),
            "{n}: {v} is no clip frame"
        );
        // The zone's stop line (row 110, x 20..60) is drawn bright.
        assert!(px[110 * 160 + 40] > 200, "{n}: stop line {}", px[110 * 160 + 40]);
    }
    assert_eq!(
        allocs, 0,
        "the control thread allocated {allocs} times while snapshots were taken"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_snapshot_directory_that_cannot_be_written_is_a_reported_fault_and_the_loop_runs_on() {
    let dir = std::env::temp_dir().join(format!("greenwave-snaploop-ro-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The state "directory" is a file: the snapshot directory can never be created.
    let state = dir.join("state");
    std::fs::write(&state, b"not a directory").unwrap();
    let ring = Arc::new(FrameRing::new(2, W, H).unwrap());
    ring.write(Instant(0), |b: &mut [u8]| -> Result<(), ()> {
        b.fill(80);
        Ok(())
    })
    .unwrap();
    let cam = CameraConfig::parse(CAMERA, "camera.toml").unwrap();
    let service = SnapshotService::start(SnapshotSetup {
        dir: state.join("snapshots"),
        budget: 1 << 20,
        quality: 90,
        cameras: vec![SnapshotCamera::of(&cam)],
        frames: Arc::new(RingFrames(vec![Arc::clone(&ring)])),
    })
    .unwrap();
    let site = Site::load(Path::new("board/sites/nema8-4leg.toml")).unwrap();
    let mut lp = ControlLoop::new(
        &site,
        &MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        SimTraffic::new(&site, 1.0, 7),
    );
    let output = Arc::new(Mutex::new(String::new()));
    let services = Services {
        console: Some(Box::new(Watcher {
            console: Console::new(None),
            polls: 0,
            typed: false,
            output: Arc::clone(&output),
        })),
        snapshots: Some(service),
        ..Services::default()
    };
    let mut opts = LoopOptions {
        site_path: "board/sites/nema8-4leg.toml".into(),
        duration_s: Some(300),
        speed: Speed::Max,
        start_unix_ms: 0,
        event_log: None,
        state_dir: None,
        console: None,
        model: None,
        planner_override: None,
        reload_check: None,
        snmp: None,
        mqtt: None,
    };
    let summary = run_with(&mut lp, &site, &mut opts, services, &Signals::unregistered()).unwrap();
    assert_eq!(summary.loop_stats.ticks, 3_000, "the loop ran every tick");
    assert_eq!(summary.fault, None);
    let h = summary.loop_stats.snapshots.unwrap();
    assert_eq!((h.requested, h.written, h.failed), (1, 0, 1), "{h:?}");
    assert!(h.failing, "{h:?}");
    let out = output.lock().unwrap().clone();
    assert!(out.contains("snapshot of camera 1 requested"), "{out}");
    // `faults` shows the snapshot fault though nothing latched; `stats` shows the counters.
    let faults = out.split("greenwave> faults").nth(1).unwrap_or("");
    assert!(faults.contains("latched: none"), "{out}");
    assert!(
        faults.contains("snapshots: written 0  failed 1  dropped (writer behind) 0  no frame 0  FAILING (I/O error)"),
        "{out}"
    );
    assert!(
        out.split("greenwave> stats")
            .nth(1)
            .unwrap_or("")
            .contains("snapshots: written 0  failed 1"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A technician asking for a snapshot at poll 100 and, once the writer has dealt with it (the
/// loop runs faster than real time, so it waits for the writer a millisecond per poll), typing
/// `faults` and `stats`.
struct Watcher {
    console: Console,
    polls: u64,
    typed: bool,
    output: Arc<Mutex<String>>,
}

impl ConsoleService for Watcher {
    fn record_event(&mut self, ev: &Event) {
        self.console.record_event(ev);
    }
    fn serve(&mut self, now: Instant, target: &mut Bound<'_>) {
        self.polls += 1;
        if self.polls == 100 {
            self.console.feed(b"snapshot 1\r", now, target);
        }
        let done = target.stats().snapshots.is_some_and(|h| h.failed + h.written >= 1);
        if self.polls > 100 && !self.typed {
            if done {
                self.console.feed(b"faults\r", now, target);
                self.console.feed(b"stats\r", now, target);
                self.typed = true;
                *self.output.lock().unwrap() = String::from_utf8_lossy(self.console.pending_output()).into_owned();
            } else {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
}
