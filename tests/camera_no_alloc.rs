//! Zero allocations per frame through the frame ring and the zone detector after start-up: 10,000
//! frames written by a capture thread, leased and processed by the detection side, with a vehicle
//! moving through a zone so every code path (presence, counting, queue, health) runs.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, COUNTING};

use greenwave::camera::ring::FrameRing;
use greenwave::detect::zone::{CameraConfig, ZoneDetector};
use greenwave::detect::DetectorSnapshot;
use greenwave::time::Instant;
use std::sync::atomic::Ordering;

const CAMERA: &str = r#"
width = 160
height = 120
[[zone]]
detector = 1
quad = [[20, 110], [40, 110], [40, 10], [20, 10]]
[[zone]]
detector = 2
quad = [[60, 110], [80, 110], [80, 10], [60, 10]]
"#;

#[test]
fn ring_and_zone_detector_do_not_allocate_per_frame() {
    let cfg = CameraConfig::parse(CAMERA, "camera.toml").unwrap();
    let ring = FrameRing::new(4, 160, 120).unwrap();
    let mut det = ZoneDetector::new(cfg);
    let mut snap = DetectorSnapshot::EMPTY;
    // Warm-up frame (first use of the locks).
    ring.write(Instant(0), |b: &mut [u8]| -> Result<(), ()> {
        b.fill(90);
        Ok(())
    })
    .unwrap();
    drop(ring.lease_latest());
    COUNTING.store(true, Ordering::SeqCst);
    let mut processed = 0u64;
    for k in 1..=10_000u64 {
        // A bright vehicle drives down zone 1 every 100 frames and waits at the stop line.
        let y = ((k % 100) as usize).min(90);
        ring.write(Instant(k * 100), |b: &mut [u8]| -> Result<(), ()> {
            b.fill(90);
            for row in y..(y + 12).min(120) {
                for x in 22..38 {
                    b[row * 160 + x] = 220;
                }
            }
            Ok(())
        })
        .unwrap();
        if let Some(lease) = ring.lease_latest() {
            let _ = det.process(lease.at, lease.pixels());
            processed += 1;
        }
        det.fill(&mut snap, ring.stale(Instant(k * 100), 2000));
    }
    COUNTING.store(false, Ordering::SeqCst);
    let allocs = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(allocs, 0, "{allocs} allocations in 10,000 frames");
    assert_eq!(processed, 10_000);
    assert!(snap.counts[0] > 50, "vehicles counted: {}", snap.counts[0]);
}
