//! Camera faults through the whole path — frame ring, zone detector, planner, engine: a camera
//! that errors, stalls, or delivers short buffers makes its zones `Stale`, the controller falls
//! back to the Webster plan within one tick of the stale time, nothing panics, and it returns to
//! actuated control once good frames flow again.

use greenwave::camera::ring::FrameRing;
use greenwave::config::Site;
use greenwave::detect::zone::{CameraConfig, ZoneDetector};
use greenwave::detect::{DetectorHealth, DetectorSnapshot};
use greenwave::hal::InputFrame;
use greenwave::plan::PlanMode;
use greenwave::runtime::Controller;
use greenwave::time::Instant;

/// One zone per site detector (12), side by side in a 320 × 120 image.
fn camera() -> CameraConfig {
    let mut t = String::from("width = 320\nheight = 120\nstale_ms = 2000\n");
    for d in 1..=12 {
        let x0 = 4 + (d - 1) * 26;
        t.push_str(&format!(
            "[[zone]]\ndetector = {d}\nquad = [[{x0}, 110], [{}, 110], [{}, 10], [{x0}, 10]]\n",
            x0 + 20,
            x0 + 20
        ));
    }
    CameraConfig::parse(&t, "camera.toml").unwrap()
}

#[derive(Clone, Copy, PartialEq)]
enum Cam {
    Good,
    Errors,
    Stalled,
    Short,
}

#[test]
fn camera_faults_fall_back_and_recover() {
    let site = Site::load(std::path::Path::new("board/sites/nema8-4leg.toml")).unwrap();
    let mut ctl = Controller::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let ring = FrameRing::new(4, 320, 120).unwrap();
    let mut det = ZoneDetector::new(camera());
    let short = [90u8; 100];
    let mut modes = Vec::new();
    for k in 0..4000u64 {
        let now = Instant(k * 100);
        let t = k / 10;
        let cam = match t {
            60..=89 => Cam::Errors,
            150..=179 => Cam::Stalled,
            240..=269 => Cam::Short,
            _ => Cam::Good,
        };
        // Capture side.
        match cam {
            Cam::Good => {
                let _ = ring.write(now, |b: &mut [u8]| -> Result<(), &str> {
                    b.fill(90);
                    Ok(())
                });
            }
            Cam::Errors => assert_eq!(ring.write(now, |_: &mut [u8]| Err("EIO")), Err("EIO")),
            Cam::Stalled | Cam::Short => {}
        }
        // Detection side.
        if cam == Cam::Short {
            assert!(det.process(now, &short).is_err(), "a short buffer is refused");
        } else if let Some(lease) = ring.lease_latest() {
            det.process(lease.at, lease.pixels()).unwrap();
        }
        let mut snap = DetectorSnapshot {
            at: now,
            ..DetectorSnapshot::EMPTY
        };
        det.fill(&mut snap, det.stale(now, ring.stale(now, 2000)));
        ctl.tick(now, &snap, &InputFrame::default());
        let m = ctl.status().plan_mode;
        if modes.last().map(|x: &(u64, PlanMode)| x.1) != Some(m) {
            modes.push((t, m));
        }
        if (62..89).contains(&t) || (152..179).contains(&t) || (242..269).contains(&t) {
            assert_eq!(snap.health[0], DetectorHealth::Stale, "at {t} s");
        }
    }
    let seq: Vec<PlanMode> = modes.iter().map(|m| m.1).collect();
    use PlanMode::*;
    // Before the first frame the zones are stale (fail-safe), then actuated from the first frame on.
    assert_eq!(
        seq,
        vec![Fallback, Actuated, Fallback, Actuated, Fallback, Actuated, Fallback, Actuated],
        "{modes:?}"
    );
    // Each fault is seen 2 s (the camera's stale time) after it starts; recovery 10 s after it ends.
    let at: Vec<u64> = modes.iter().map(|m| m.0).collect();
    assert_eq!(at, vec![0, 0, 62, 100, 152, 190, 242, 280]);
    assert_eq!(ctl.status().faults_total, 0);
    assert!(det.bad_frames() >= 300);
}
