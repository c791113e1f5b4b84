//! Zero allocations per frame through the frame ring and the zone detector after start-up: 10,000
//! frames written by a capture thread, leased and processed by the detection side, with a vehicle
//! moving through a zone so every code path (presence, counting, queue, health) runs. Also none in
//! YOLO head decoding (rejected cells, decoded boxes, full candidate buffer, NMS) and none per frame
//! when a recorded YUV4MPEG2 clip feeds the ring (rewinds included).

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, COUNTING};

use greenwave::camera::ring::FrameRing;
use greenwave::camera::y4m::{Chroma, FrameRate, Y4mError, Y4mReader, Y4mWriter};
use greenwave::detect::yolo::{decode, Branch, QTensor, BOX_CHANNELS, CLASSES, MAX_CANDIDATES};
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

#[test]
fn yolo_decode_does_not_allocate() {
    // A 640-pixel head: 80², 40², 20² cells. Class 2 is hot on every 97th cell; box bins vary.
    let sizes = [80usize, 40, 20];
    let heads: Vec<(Vec<i8>, Vec<i8>)> = sizes
        .iter()
        .map(|&s| {
            let boxes = (0..BOX_CHANNELS * s * s).map(|i| ((i * 31) % 97) as i8 - 40).collect();
            let mut classes = vec![-90i8; CLASSES * s * s];
            for cell in (0..s * s).step_by(97) {
                classes[2 * s * s + cell] = 100;
            }
            (boxes, classes)
        })
        .collect();
    let branches: Vec<Branch> = heads
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(i, ((bx, cl), s))| {
            let q = |data, channels| QTensor {
                data,
                channels,
                height: s,
                width: s,
                zero_point: -10,
                scale: 1.0 / 16.0,
            };
            Branch {
                stride: 8 << i,
                boxes: q(bx.as_slice(), BOX_CHANNELS),
                classes: q(cl.as_slice(), CLASSES),
                score_sum: None,
            }
        })
        .collect();
    let mut out = heapless::Vec::new();
    COUNTING.store(true, Ordering::SeqCst);
    let mut found = 0;
    let mut overflow = 0;
    for threshold in [0.5, 0.9, 8.0, -20.0] {
        for _ in 0..5 {
            overflow += decode(&branches, threshold, 0.45, &mut out).unwrap_or(usize::MAX);
            found += out.len();
        }
    }
    COUNTING.store(false, Ordering::SeqCst);
    let allocs = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(allocs, 0, "{allocs} allocations decoding");
    assert!(found > 0, "boxes were decoded");
    // A threshold below every score overflows the candidate buffer: that path ran too.
    assert!(overflow >= 5 * (8400 - MAX_CANDIDATES), "overflow {overflow}");
}

#[test]
fn a_recorded_clip_feeds_the_ring_without_allocating() {
    let (w, h) = (160u32, 120u32);
    let path = std::env::temp_dir().join(format!("greenwave-clip-alloc-{}.y4m", std::process::id()));
    {
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut clip = Y4mWriter::new(file, w, h, FrameRate { num: 15, den: 1 }, Chroma::C420).unwrap();
        for k in 0..7u8 {
            clip.write_frame(&vec![k * 30; (w * h) as usize]).unwrap();
        }
        clip.flush().unwrap();
    }
    let reader = Y4mReader::open(&path, w, h, true);
    let _ = std::fs::remove_file(&path);
    let mut reader = reader.unwrap();
    let ring = FrameRing::new(4, w, h).unwrap();
    // Warm-up frame (first use of the locks).
    ring.write(Instant(0), |b| reader.next_frame(b).map(|_| ())).unwrap();
    drop(ring.lease_latest());
    COUNTING.store(true, Ordering::SeqCst);
    let mut rewinds = 0;
    let mut sum = 0u64;
    for k in 1..=1_000u64 {
        let mut info = None;
        ring.write(Instant(k * 66), |b| -> Result<(), Y4mError> {
            info = Some(reader.next_frame(b)?);
            Ok(())
        })
        .unwrap();
        rewinds += u32::from(info.is_some_and(|i| i.rewound));
        if let Some(lease) = ring.lease_latest() {
            sum += u64::from(lease.pixels()[0]);
        }
    }
    COUNTING.store(false, Ordering::SeqCst);
    let allocs = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(allocs, 0, "{allocs} allocations in 1,000 clip frames");
    assert_eq!(rewinds, 1_000 / 7, "the clip looped");
    // Frames 1..=1000 of a 7-frame loop, pixel value 30 × position.
    assert_eq!(sum, (1..=1_000u64).map(|k| (k % 7) * 30).sum::<u64>());
}
