//! Captures from a V4L2 device through greenwave's capture backend (feature `v4l2`) and reports
//! what reached the frame ring; `tools/vm-test.sh` runs it inside a VM against the kernel's `vivid`
//! virtual camera.
//!
//! ```text
//! camera_probe DEVICE SECONDS [FPS]    e.g. camera_probe /dev/video0 5 10
//! ```
//! Prints `CAMERA` lines: frames written to the ring, the latest frame's sequence number and mean
//! luma, and the capture health. Exit 0 only if frames arrived and the backend reports streaming.

use greenwave::camera::pipeline::{CameraCounters, CaptureStage};
use greenwave::camera::ring::FrameRing;
use greenwave::camera::set::CaptureState;
use greenwave::camera::v4l2::Capture;
use greenwave::time::Instant;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let dev = PathBuf::from(args.get(1).map(String::as_str).unwrap_or("/dev/video0"));
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let fps: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let ring = match FrameRing::new(4, 640, 480) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            println!("CAMERA ring: {e:?}");
            return ExitCode::FAILURE;
        }
    };
    let t0 = std::time::Instant::now();
    let clock = move || Instant(t0.elapsed().as_millis() as u64);
    let stage = CaptureStage::new(Arc::clone(&ring), fps, Arc::new(CameraCounters::default()));
    let state = Arc::new(std::sync::atomic::AtomicU8::new(CaptureState::Starting as u8));
    let cap = match Capture::start(dev.clone(), stage, state, fps, clock) {
        Ok(c) => c,
        Err(e) => {
            println!("CAMERA start failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut last_mean = None;
    for _ in 0..secs * 2 {
        std::thread::sleep(Duration::from_millis(500));
        if let Some(f) = ring.lease_latest() {
            let px = f.pixels();
            let mean = px.iter().map(|&p| u64::from(p)).sum::<u64>() / px.len().max(1) as u64;
            println!(
                "CAMERA frame seq {} at {} ms: {} bytes, mean luma {mean}",
                f.seq,
                f.at.0,
                px.len()
            );
            last_mean = Some(mean);
        }
    }
    let stats = ring.stats();
    let health = cap.state();
    println!(
        "CAMERA {}: {} frames in {secs} s into the ring ({} overwritten unread), health {health:?}",
        dev.display(),
        stats.written,
        stats.dropped_unread
    );
    drop(cap);
    if stats.written > 0 && health == CaptureState::Streaming && last_mean.is_some_and(|m| m > 0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
