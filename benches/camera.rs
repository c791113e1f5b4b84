//! Zone detector cost per 640 × 480 frame (12 lane zones) as a ratio to a plain copy of the frame,
//! and YOLOv8 head decoding time per output set (three int8 branches of a 640 × 640 input),
//! measured in the same run. `cargo bench --bench camera`.

use greenwave::detect::yolo::{decode, Branch, QTensor, BOX_CHANNELS, CLASSES};
use greenwave::detect::zone::{CameraConfig, ZoneDetector};
use greenwave::time::Instant;
use std::hint::black_box;
use std::time::Instant as Wall;

fn main() {
    let mut t = String::from("width = 640\nheight = 480\n");
    for d in 1..=12 {
        let x0 = 10 + (d - 1) * 52;
        t.push_str(&format!(
            "[[zone]]\ndetector = {d}\nquad = [[{x0}, 470], [{}, 470], [{}, 40], [{x0}, 40]]\n",
            x0 + 40,
            x0 + 30
        ));
    }
    let cfg = CameraConfig::parse(&t, "camera.toml").unwrap();
    let mut det = ZoneDetector::new(cfg);
    let frames: Vec<Vec<u8>> = (0..8)
        .map(|k| (0..640 * 480).map(|i| ((i * 7 + k * 13) % 251) as u8).collect())
        .collect();
    let mut dst = vec![0u8; 640 * 480];
    let n = 20_000;
    let t0 = Wall::now();
    for k in 0..n {
        dst.copy_from_slice(&frames[k % 8]);
        black_box(&dst);
    }
    let copy_ns = t0.elapsed().as_nanos() as f64 / n as f64;
    let t0 = Wall::now();
    for k in 0..n {
        let _ = det.process(Instant(k as u64 * 100), black_box(&frames[k % 8]));
    }
    let zone_ns = t0.elapsed().as_nanos() as f64 / n as f64;

    // YOLO head: strides 8/16/32 of a 640 input → 80², 40², 20² cells; low scores except a few cells.
    let mk = |c: usize, s: usize, v: i8| vec![v; c * s * s];
    let sizes = [80usize, 40, 20];
    let boxes: Vec<Vec<i8>> = sizes.iter().map(|s| mk(BOX_CHANNELS, *s, 3)).collect();
    let mut classes: Vec<Vec<i8>> = sizes.iter().map(|s| mk(CLASSES, *s, -100)).collect();
    for (b, s) in classes.iter_mut().zip(sizes) {
        for cell in [5usize, 77, 300] {
            if cell < s * s {
                b[2 * s * s + cell] = 100;
            }
        }
    }
    let branches: Vec<Branch> = sizes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let q = |d: &'static [i8], c| QTensor {
                data: d,
                channels: c,
                height: *s,
                width: *s,
                zero_point: 0,
                scale: 1.0 / 16.0,
            };
            let bx: &'static [i8] = Box::leak(boxes[i].clone().into_boxed_slice());
            let cl: &'static [i8] = Box::leak(classes[i].clone().into_boxed_slice());
            Branch {
                stride: (8 << i) as u32,
                boxes: q(bx, BOX_CHANNELS),
                classes: q(cl, CLASSES),
                score_sum: None,
            }
        })
        .collect();
    let mut out = heapless::Vec::new();
    let m = 200;
    let t0 = Wall::now();
    for _ in 0..m {
        decode(black_box(&branches), 0.5, 0.45, &mut out).unwrap();
    }
    let yolo_us = t0.elapsed().as_nanos() as f64 / m as f64 / 1000.0;
    println!("640x480 frame copy        {copy_ns:10.0} ns");
    println!(
        "zone detector (12 zones)  {zone_ns:10.0} ns   {:.2}x the copy (goal <= 3x)",
        zone_ns / copy_ns
    );
    println!(
        "YOLOv8 head decode        {yolo_us:10.1} us per output set (8400 cells, {} detections)",
        out.len()
    );
}
