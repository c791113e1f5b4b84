//! Camera threads against the control loop on real time: a detection thread held for 5 s (a hung
//! inference) never delays a tick — the loop keeps its 100 ms period, the held camera's detectors
//! go stale and the supervisor stops kicking the watchdog until the thread runs again, while the
//! other cameras keep reporting.

#[path = "support/clips.rs"]
mod clips;

use greenwave::camera::pipeline::{DetectError, Detector, DetectorKind};
use greenwave::camera::set::CameraSet;
use greenwave::config::SiteConfig;
use greenwave::detect::zone::ZoneDetector;
use greenwave::detect::{DetectorHealth, DetectorSnapshot};
use greenwave::hal::sim::{SimInputs, SimRelays, SimWatchdog};
use greenwave::runtime::board::Cabinet;
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::runtime::supervisor::Supervisor;
use greenwave::time::Instant;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

const NOT_YET: u8 = 0;
const HOLDING: u8 = 1;
const RELEASED: u8 = 2;

/// The zone detector, except that on its 20th frame it does not return for 5 s.
struct Hangs {
    zone: ZoneDetector,
    frames: u32,
    state: Option<Arc<AtomicU8>>,
}

impl Detector for Hangs {
    fn process(&mut self, at: Instant, pixels: &[u8]) -> Result<(), DetectError> {
        self.frames += 1;
        if let (Some(s), 20) = (&self.state, self.frames) {
            s.store(HOLDING, Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(5));
            s.store(RELEASED, Ordering::SeqCst);
        }
        Detector::process(&mut self.zone, at, pixels)
    }
    fn fill(&self, snap: &mut DetectorSnapshot) {
        Detector::fill(&self.zone, snap)
    }
    fn kind(&self) -> DetectorKind {
        DetectorKind::Cpu
    }
}

#[test]
fn a_detection_thread_held_for_5_s_never_delays_a_tick() {
    let d = std::env::temp_dir().join(format!("gw-camera-threads-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    clips::write_clip(&d.join("road.y4m"), 20, 10);
    let text = std::fs::read_to_string("board/sites/nema8-4leg.toml").unwrap() + &clips::four_cameras("road.y4m", 0);
    let site_path = d.join("site.toml");
    let cfg = SiteConfig::parse(&text, &site_path.display().to_string()).unwrap();
    let site = cfg.site;
    let held = Arc::new(AtomicU8::new(NOT_YET));
    let h2 = Arc::clone(&held);
    let (cameras, sources) = CameraSet::start_with(&cfg.cameras, &site_path, move |i, c| Hangs {
        zone: ZoneDetector::new(c.clone()),
        frames: 0,
        state: (i == 0).then(|| Arc::clone(&h2)),
    })
    .unwrap();
    let street = Cabinet {
        inputs: SimInputs::default(),
        sources: sources.into_iter().map(|s| Box::new(s) as _).collect(),
        cameras,
    };
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        street,
    );
    lp.supervisor = Supervisor::new(site.tick_ms, Some(2 * site.tick_ms));
    let start = std::time::Instant::now();
    let mut worst = Duration::ZERO;
    let mut late_ticks = 0;
    let (mut kicked_before, mut kicked_holding, mut kicked_after) = (0, 0, 0);
    let (mut stale_holding, mut others_ok_holding, mut ok_after) = (false, true, false);
    for k in 1..=90u64 {
        // Absolute 100 ms deadlines, as on the board.
        let due = start + Duration::from_millis(k * 100);
        if let Some(wait) = due.checked_duration_since(std::time::Instant::now()) {
            std::thread::sleep(wait);
        }
        let woke = std::time::Instant::now();
        if woke.duration_since(due) > Duration::from_millis(50) {
            late_ticks += 1;
        }
        let kicks = lp.watchdog.kicks;
        lp.tick(Instant(k * 100), true);
        let took = woke.elapsed();
        worst = worst.max(took);
        let kicked = lp.watchdog.kicks > kicks;
        let det = lp.last_det;
        match held.load(Ordering::SeqCst) {
            NOT_YET => kicked_before += usize::from(kicked),
            HOLDING => {
                kicked_holding += usize::from(kicked);
                stale_holding |= det.health[0] == DetectorHealth::Stale;
                others_ok_holding &= (3..12).all(|i| det.health[i] == DetectorHealth::Ok) || k < 20;
            }
            _ => {
                kicked_after += usize::from(kicked);
                ok_after = (0..12).all(|i| det.health[i] == DetectorHealth::Ok);
            }
        }
    }
    assert!(worst < Duration::from_millis(20), "a tick took {worst:?}");
    assert_eq!(late_ticks, 0, "ticks started late");
    assert_eq!(
        held.load(Ordering::SeqCst),
        RELEASED,
        "the detector was held and let go"
    );
    assert!(kicked_before > 5, "watchdog kicked while every camera was on time");
    assert!(stale_holding, "the held camera's detectors went stale");
    assert!(others_ok_holding, "the other cameras kept reporting");
    // Held 5 s: after its 1 s stale time the supervisor stops kicking for ~4 s (40 ticks).
    assert!(kicked_holding <= 15, "{kicked_holding} kicks while detection was held");
    assert!(
        kicked_after > 5 && ok_after,
        "kicks and detection resumed: {kicked_after}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
