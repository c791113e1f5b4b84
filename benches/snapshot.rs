//! Snapshot write time at 640 × 480: drawing the zones, encoding the greyscale JPEG (quality 85)
//! and saving it in a snapshot directory under the default 16 MiB budget (temporary file, write,
//! fsync, rename; the oldest files deleted once the budget is full) — what the snapshot writer
//! thread spends per snapshot. Frames are a textured road scene (gradient, lane marks, grain), so
//! the JPEG is the size of a real one rather than of a flat frame. `cargo bench --bench snapshot`;
//! `SNAPSHOT_DIR=/path` measures on another disk (the default is the build's temporary directory).

use greenwave::camera::snapshot::{
    draw_zone_marks, encode_jpeg_into, SnapshotDir, ZoneMark, DEFAULT_BUDGET_BYTES, DEFAULT_QUALITY,
};
use std::time::Instant as Wall;

const W: u32 = 640;
const H: u32 = 480;

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let dir = std::env::var_os("SNAPSHOT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("snapshot-bench"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut snaps = SnapshotDir::new(&dir, DEFAULT_BUDGET_BYTES).expect("snapshot directory");
    let zones: Vec<ZoneMark> = (0..4)
        .map(|k| {
            let x0 = 40.0 + 150.0 * k as f32;
            ZoneMark {
                zone: k as u8 + 1,
                detector: k as u8 + 1,
                quad: [(x0, 460.0), (x0 + 120.0, 460.0), (x0 + 90.0, 120.0), (x0 + 30.0, 120.0)],
            }
        })
        .collect();
    // A road: sky-to-asphalt gradient, dashed lane marks, a few "vehicles", pseudo-random grain.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let frames: Vec<Vec<u8>> = (0..8)
        .map(|k| {
            (0..(W * H) as usize)
                .map(|i| {
                    let (x, y) = ((i % W as usize) as i64, (i / W as usize) as i64);
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let grain = (seed % 17) as i64 - 8;
                    let mut v = 170 - y / 4;
                    if (x - 190).abs() < 3 && (y / 30) % 2 == 0 {
                        v = 230;
                    }
                    let car = (x - 100 - 150 * (k % 4)).abs() < 40 && (y - 200 - 20 * k).abs() < 30;
                    if car {
                        v = 40 + (x % 23);
                    }
                    (v + grain).clamp(0, 255) as u8
                })
                .collect()
        })
        .collect();
    let mut frame = vec![0u8; (W * H) as usize];
    let mut jpeg = Vec::with_capacity(frame.len() / 2);
    let n = 400;
    let (mut encode_us, mut save_us, mut total_us) = (Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0usize;
    for k in 0..n {
        frame.copy_from_slice(&frames[k % frames.len()]);
        let t0 = Wall::now();
        draw_zone_marks(&mut frame, W, H, &zones).expect("draw");
        encode_jpeg_into(&frame, W, H, DEFAULT_QUALITY, &mut jpeg).expect("encode");
        let t1 = Wall::now();
        snaps.save_tagged(&jpeg, "cam1-bench").expect("save");
        let t2 = Wall::now();
        encode_us.push((t1 - t0).as_micros() as u64);
        save_us.push((t2 - t1).as_micros() as u64);
        total_us.push((t2 - t0).as_micros() as u64);
        bytes += jpeg.len();
    }
    for v in [&mut encode_us, &mut save_us, &mut total_us] {
        v.sort_unstable();
    }
    println!(
        "snapshot 640x480, {n} snapshots, mean JPEG {} bytes, directory {} ({} bytes kept, budget {})",
        bytes / n,
        dir.display(),
        snaps.used().unwrap_or(0),
        DEFAULT_BUDGET_BYTES
    );
    for (name, v) in [
        ("draw + encode", &encode_us),
        ("save (write, fsync, rename, budget)", &save_us),
        ("snapshot write time (total)", &total_us),
    ] {
        println!(
            "{name:<38} p50 {:>6} us  p99 {:>6} us  max {:>6} us",
            percentile(v, 0.50),
            percentile(v, 0.99),
            v[v.len() - 1]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
