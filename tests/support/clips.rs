//! Camera clips and `[[camera]]` tables for the camera tests: a small YUV4MPEG2 clip of an empty
//! road (textured grey, no vehicle) written with the project's own writer, and four camera tables
//! covering the twelve detectors of `board/sites/nema8-4leg.toml`, three lane zones per approach.
#![allow(dead_code)]

use greenwave::camera::y4m::{Chroma, FrameRate, Y4mWriter};
use std::path::Path;

pub const W: u32 = 160;
pub const H: u32 = 120;

/// One frame of the empty road: a fixed texture (so the zone detector's background has detail).
pub fn road(frame: &mut [u8]) {
    for (i, p) in frame.iter_mut().enumerate() {
        let (x, y) = (i % W as usize, i / W as usize);
        *p = 80 + ((x * 7 + y * 13) % 23) as u8;
    }
}

/// Writes `frames` frames of the empty road at `fps` (W × H, mono) to `path`.
pub fn write_clip(path: &Path, frames: usize, fps: u32) {
    let f = std::fs::File::create(path).expect("create clip");
    let mut w = Y4mWriter::new(
        std::io::BufWriter::new(f),
        W,
        H,
        FrameRate { num: fps, den: 1 },
        Chroma::Mono,
    )
    .expect("clip header");
    let mut frame = vec![0u8; (W * H) as usize];
    road(&mut frame);
    for _ in 0..frames {
        w.write_frame(&frame).expect("clip frame");
    }
    w.flush().expect("flush clip");
}

/// One `[[camera]]` table playing `clip` (as written in the site file) for detectors
/// `first..first + 3`, with `extra` lines added to the table.
pub fn camera_table(clip: &str, first: u8, extra: &str) -> String {
    let mut t = format!(
        "\n[[camera]]\nsource = \"file:{clip}\"\nloop = true\nwidth = {W}\nheight = {H}\nfps = 10\nstale_ms = 1000\n{extra}\n"
    );
    for (k, d) in (first..first + 3).enumerate() {
        let x = 20 + 40 * k;
        t.push_str(&format!(
            "[[camera.zone]]\ndetector = {d}\nquad = [[{x}, 110], [{}, 110], [{}, 10], [{x}, 10]]\nlength_m = 60\n",
            x + 20,
            x + 20
        ));
    }
    t
}

/// Four cameras (detectors 1-12) on `clip`; the camera numbered `npu` (1-based, 0 for none) asks
/// for the NPU.
pub fn four_cameras(clip: &str, npu: usize) -> String {
    (0..4)
        .map(|i| {
            camera_table(
                clip,
                1 + 3 * i as u8,
                if i + 1 == npu { "detector = \"npu\"" } else { "" },
            )
        })
        .collect()
}
