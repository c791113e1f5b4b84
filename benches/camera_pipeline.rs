//! The board's camera pipeline as it runs: four `file:` cameras at 640 × 480 and 10 fps (generated
//! clips, 3 zones each), each with its capture and detection threads (`camera::set`), for
//! `GW_BENCH_SECONDS` seconds (default 20). Measured in the same run:
//!
//! - capture-to-hand-off latency: for every snapshot, when detection published it minus when its
//!   frame was captured (p50 / p99, ms);
//! - age of the newest frame when the control loop first sees it, polling every 100 ms as the loop
//!   does (p50 / p99, ms) — what the planner works with;
//! - CPU per frame: the process's CPU time over the run (every camera thread: clip reads, frame-rate
//!   pacing, ring writes, detection polls, zone detection, hand-off; the polling thread is asleep
//!   between polls) divided by the frames processed, as a ratio to one memcpy of a 640 × 480 frame
//!   timed in the same process.
//!
//! `cargo bench --bench camera_pipeline`

use greenwave::camera::set::CameraSet;
use greenwave::camera::y4m::{Chroma, FrameRate, Y4mWriter};
use greenwave::config::camera::CameraConfig;
use greenwave::detect::source::Source;
use greenwave::time::Instant;
use nix::time::{clock_gettime, ClockId};
use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant as Wall};

const W: usize = 640;
const H: usize = 480;

fn cpu_ns() -> u64 {
    let t = clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).expect("process CPU clock");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

fn pct(v: &mut [u64], p: f64) -> u64 {
    v.sort_unstable();
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(0)
}

/// 40 frames (4 s) of a textured road with a bright block driving down lane 1.
fn clip(path: &std::path::Path) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = Y4mWriter::new(
        std::io::BufWriter::new(f),
        W as u32,
        H as u32,
        FrameRate { num: 10, den: 1 },
        Chroma::C420,
    )
    .unwrap();
    let mut frame = vec![0u8; W * H];
    for k in 0..40 {
        for (i, p) in frame.iter_mut().enumerate() {
            *p = 80 + (((i % W) * 7 + (i / W) * 13) % 23) as u8;
        }
        let y0 = 40 + k * 10;
        for y in y0..(y0 + 40).min(H) {
            for x in 110..150 {
                frame[y * W + x] = 220;
            }
        }
        w.write_frame(&frame).unwrap();
    }
    w.flush().unwrap();
}

fn main() {
    let secs: u64 = std::env::var("GW_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = std::env::temp_dir().join(format!("gw-bench-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    clip(&dir.join("road.y4m"));
    let site_file = dir.join("site.toml");
    let mut cfgs = Vec::new();
    for cam in 0..4 {
        let mut t =
            format!("source = \"file:road.y4m\"\nloop = true\nwidth = {W}\nheight = {H}\nfps = 10\nstale_ms = 1000\n");
        for z in 0..3 {
            let x0 = 100 + z * 160;
            t.push_str(&format!(
                "[[zone]]\ndetector = {}\nquad = [[{x0}, 470], [{}, 470], [{}, 40], [{x0}, 40]]\n",
                cam * 3 + z + 1,
                x0 + 60,
                x0 + 50
            ));
        }
        cfgs.push(CameraConfig::parse(&t, &site_file.display().to_string()).unwrap());
    }

    // memcpy of one frame, in this process.
    let src: Vec<Vec<u8>> = (0..8)
        .map(|k| (0..W * H).map(|i| ((i * 7 + k * 13) % 251) as u8).collect())
        .collect();
    let mut dst = vec![0u8; W * H];
    let n = 20_000;
    let t0 = Wall::now();
    for k in 0..n {
        dst.copy_from_slice(&src[k % 8]);
        black_box(&dst);
    }
    let copy_ns = t0.elapsed().as_nanos() as f64 / n as f64;

    let (set, mut sources) = CameraSet::start(&cfgs, &site_file).unwrap();
    // Settle: first frames, first locks.
    std::thread::sleep(Duration::from_millis(1500));
    let processed = |set: &CameraSet| -> u64 {
        (0..4)
            .map(|i| set.counters(i).unwrap().processed.load(Ordering::Relaxed))
            .sum()
    };
    let frames0 = processed(&set);
    let cpu0 = cpu_ns();
    let start = Wall::now();
    let mut handoff = Vec::new();
    let mut first_seen = Vec::new();
    let mut last_seq = [0u64; 4];
    let mut k = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        k += 1;
        let due = start + Duration::from_millis(k * 100);
        if let Some(w) = due.checked_duration_since(Wall::now()) {
            std::thread::sleep(w);
        }
        for (i, s) in sources.iter_mut().enumerate() {
            let _ = s.poll(Instant(k * 100));
            if s.last_seq() != last_seq[i] {
                last_seq[i] = s.last_seq();
                first_seen.push(s.last_age_ms());
                if let Some(h) = s.last_handoff_ms() {
                    handoff.push(h);
                }
            }
        }
    }
    let cpu = cpu_ns() - cpu0;
    let frames = processed(&set) - frames0;
    let wall = start.elapsed();
    drop(set);
    let per_frame = cpu as f64 / frames.max(1) as f64;
    println!(
        "camera pipeline, 4 file cameras 640x480 @ 10 fps, 3 zones each, {:.1} s: {frames} frames processed",
        wall.as_secs_f64()
    );
    println!(
        "  capture-to-hand-off: p50 {} ms, p99 {} ms ({} snapshots, 1 ms clock)",
        pct(&mut handoff.clone(), 0.5),
        pct(&mut handoff, 0.99),
        handoff.len()
    );
    println!(
        "  newest frame's age when the 100 ms loop first sees it: p50 {} ms, p99 {} ms",
        pct(&mut first_seen.clone(), 0.5),
        pct(&mut first_seen, 0.99)
    );
    println!(
        "  CPU per frame (all camera threads): {:.1} us = {:.2}x a memcpy of the frame ({:.1} us); {:.1} % of one core",
        per_frame / 1000.0,
        per_frame / copy_ns,
        copy_ns / 1000.0,
        cpu as f64 / wall.as_nanos() as f64 * 100.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
