//! `greenwave-camera-eval`: how well the CPU zone detector sees traffic.
//!
//! Renders top-down grayscale frames (0.5 m per pixel, 400 × 400) of the 4-leg reference
//! intersection: 12 approach lanes of 3.5 m with 80 m camera zones, a textured road, slowly
//! varying illumination (±30 % over 30 minutes), per-pixel sensor noise, light and dark vehicles
//! (5 × 2 m) arriving by a Poisson process, stopping in queues at red and discharging at a 2 s
//! headway on green (N/S and E/W alternate in a 70 s cycle). The frames go through the real
//! `FrameRing` and `ZoneDetector`; ground truth comes from the vehicle positions.
//!
//! Reports presence agreement per zone-second (the detector's majority state over each second
//! against the truth's) and the count error per lane-hour.
//!
//! `cargo run --release -p greenwave-camera-eval -- [--seconds S] [--seed N]`

use clap::Parser;
use greenwave::camera::ring::FrameRing;
use greenwave::config::camera::CameraInput;
use greenwave::detect::zone::{CameraConfig, ZoneConfig, ZoneDetector};
use greenwave::detect::DetectorSnapshot;
use greenwave::time::Instant;

/// Zone detector accuracy on rendered top-down frames of the reference intersection
#[derive(Parser)]
#[command(name = "greenwave-camera-eval", args_override_self = true)]
struct Cli {
    /// Simulated seconds of video.
    #[arg(long, value_name = "S", default_value_t = 1800)]
    seconds: u64,
    /// Seed of the traffic, illumination and sensor noise.
    #[arg(long, value_name = "N", default_value_t = 7)]
    seed: u64,
}

const W: usize = 400;
const H: usize = 400;
const M_PER_PX: f32 = 0.5;
const LANE_W_M: f32 = 3.5;
const ZONE_M: f32 = 80.0;
/// Stop lines are this far from the centre (half the junction box), metres.
const BOX_M: f32 = 10.0;
const FPS: u64 = 10;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Lane-local (along from the stop line upstream, across from the lane's left edge) → pixel.
fn to_px(approach: usize, lane: usize, along_m: f32, across_m: f32) -> (f32, f32) {
    let off = LANE_W_M * lane as f32 + across_m; // from the road centre line, on the inbound side
    let d = BOX_M + along_m;
    let (x, y) = match approach {
        0 => (-off - 0.0, -d), // north approach, inbound lanes west of the centre line
        1 => (d, -off),        // east
        2 => (off, d),         // south
        _ => (-d, off),        // west
    };
    (W as f32 / 2.0 + x / M_PER_PX, H as f32 / 2.0 + y / M_PER_PX)
}

#[derive(Clone, Copy)]
struct Vehicle {
    s: f32, // front bumper, metres upstream of the stop line (negative: crossed)
    dark: bool,
    moving: bool,
    counted: bool,
}

struct Lane {
    vehicles: Vec<Vehicle>,
    rate: f32,
    crossed: u32,
}

fn green(approach: usize, t: f32) -> bool {
    let c = t % 70.0;
    if approach.is_multiple_of(2) {
        c < 30.0
    } else {
        (35.0..65.0).contains(&c)
    }
}

fn main() {
    let args = Cli::parse();
    let seconds = args.seconds;
    let mut rng = Rng(args.seed | 1);

    // Zones over the 12 lanes: detector = approach * 3 + lane + 1.
    let mut zones = heapless::Vec::<ZoneConfig, 16>::new();
    for a in 0..4 {
        for l in 0..3 {
            let q = [
                to_px(a, l, 0.0, 0.4),
                to_px(a, l, 0.0, LANE_W_M - 0.4),
                to_px(a, l, ZONE_M, LANE_W_M - 0.4),
                to_px(a, l, ZONE_M, 0.4),
            ];
            let _ = zones.push(ZoneConfig {
                detector: (a * 3 + l + 1) as u8,
                quad: q,
                length_m: ZONE_M,
                loop_m: None,
            });
        }
    }
    let cfg = CameraConfig::new(
        CameraInput::File {
            path: "synthetic".into(),
            looping: false,
        },
        W as u32,
        H as u32,
        FPS as u32,
        zones,
    );
    let mut det = ZoneDetector::new(cfg);
    let ring = FrameRing::new(4, W as u32, H as u32).expect("ring");

    // Static scene: textured road strips on darker ground.
    let mut base = vec![0f32; W * H];
    for (i, p) in base.iter_mut().enumerate() {
        *p = 55.0 + 10.0 * rng.unit();
        let (x, y) = ((i % W) as f32, (i / W) as f32);
        let (cx, cy) = (x - W as f32 / 2.0, y - H as f32 / 2.0);
        let road = cx.abs() < 3.0 * LANE_W_M / M_PER_PX + 2.0 || cy.abs() < 3.0 * LANE_W_M / M_PER_PX + 2.0;
        if road {
            *p = 85.0 + 16.0 * rng.unit();
        }
    }
    let mut lanes: Vec<Lane> = (0..12)
        .map(|i| Lane {
            vehicles: Vec::new(),
            rate: if i % 3 == 2 { 0.03 } else { 0.09 },
            crossed: 0,
        })
        .collect();
    let dt = 1.0 / FPS as f32;
    let mut frame = vec![0u8; W * H];
    let mut truth_sec = [0u32; 12];
    let mut det_sec = [0u32; 12];
    let (mut agree, mut total) = (0u64, 0u64);
    let mut snap = DetectorSnapshot::EMPTY;
    let mut process_ns = 0u128;
    for k in 0..seconds * FPS {
        let t = k as f32 * dt;
        // Traffic.
        for (li, lane) in lanes.iter_mut().enumerate() {
            let a = li / 3;
            if rng.unit() < lane.rate * dt && lane.vehicles.last().is_none_or(|v| v.s < 110.0) {
                lane.vehicles.push(Vehicle {
                    s: 120.0,
                    dark: rng.unit() < 0.3,
                    moving: true,
                    counted: false,
                });
            }
            let g = green(a, t);
            let mut ahead_rear: Option<f32> = None;
            for v in lane.vehicles.iter_mut() {
                let mut limit = f32::NEG_INFINITY;
                if let Some(r) = ahead_rear {
                    limit = r + 2.5;
                }
                if !g && v.s >= 0.0 {
                    limit = limit.max(0.5);
                }
                // On green, queued vehicles start one after another: each waits until the one
                // ahead has pulled ~17 m away (start-up wave, ~2 s saturation headway).
                if g && !v.moving && ahead_rear.is_none_or(|r| r - v.s > 2.5 + 17.0) {
                    v.moving = true;
                }
                if v.moving {
                    let next = v.s - 13.9 * dt;
                    if next <= limit {
                        v.s = v.s.min(limit.max(v.s - 13.9 * dt));
                        v.moving = false;
                    } else {
                        v.s = next;
                    }
                }
                if v.s < 0.0 && !v.counted {
                    v.counted = true;
                    lane.crossed += 1;
                }
                ahead_rear = Some(v.s + 5.0);
            }
            lane.vehicles.retain(|v| v.s > -40.0);
        }
        // Render into the ring (the capture side).
        let light = 1.0 + 0.3 * (t * std::f32::consts::TAU / 1800.0).sin();
        for (o, b) in frame.iter_mut().zip(base.iter()) {
            let n = (rng.next() & 15) as f32 - 7.5;
            *o = (b * light + n).clamp(0.0, 255.0) as u8;
        }
        for (li, lane) in lanes.iter().enumerate() {
            for v in &lane.vehicles {
                let lum = if v.dark { 25.0 } else { 215.0 };
                let mut along = v.s;
                while along < v.s + 5.0 {
                    let mut across = 0.75;
                    while across < LANE_W_M - 0.75 {
                        let (x, y) = to_px(li / 3, li % 3, along, across);
                        let (xi, yi) = (x as isize, y as isize);
                        if (0..W as isize).contains(&xi) && (0..H as isize).contains(&yi) {
                            frame[yi as usize * W + xi as usize] = (lum * light.min(1.1)) as u8;
                        }
                        across += M_PER_PX * 0.9;
                    }
                    along += M_PER_PX * 0.9;
                }
            }
        }
        let at = Instant(k * 1000 / FPS);
        let _ = ring.write(at, |slot: &mut [u8]| -> Result<(), ()> {
            slot.copy_from_slice(&frame);
            Ok(())
        });
        // Detection side.
        if let Some(lease) = ring.lease_latest() {
            let t0 = std::time::Instant::now();
            let _ = det.process(lease.at, lease.pixels());
            process_ns += t0.elapsed().as_nanos();
        }
        det.fill(&mut snap, false);
        for li in 0..12 {
            let truth = lanes[li].vehicles.iter().any(|v| v.s < ZONE_M && v.s + 5.0 > 0.0);
            truth_sec[li] += u32::from(truth);
            det_sec[li] += u32::from(snap.presence.contains(li));
        }
        if (k + 1) % FPS == 0 {
            // Skip the first minute (background learning).
            if k >= 60 * FPS {
                for li in 0..12 {
                    let tr = truth_sec[li] * 2 >= FPS as u32;
                    let dd = det_sec[li] * 2 >= FPS as u32;
                    agree += u64::from(tr == dd);
                    total += 1;
                }
            }
            truth_sec = [0; 12];
            det_sec = [0; 12];
        }
    }
    let hours = seconds as f64 / 3600.0;
    println!("{} s of rendered traffic at {FPS} fps, {W}x{H} px, 12 zones", seconds);
    println!(
        "presence agreement per zone-second: {:.2} % ({agree} of {total})",
        agree as f64 * 100.0 / total.max(1) as f64
    );
    let mut err_sum = 0.0;
    let mut true_sum = 0;
    println!("lane  true  detected  error/lane-hour");
    for (li, lane) in lanes.iter().enumerate() {
        let d = snap.counts[li];
        let e = (f64::from(d) - f64::from(lane.crossed)).abs() / hours;
        err_sum += (f64::from(d) - f64::from(lane.crossed)).abs();
        true_sum += lane.crossed;
        println!("{:>4} {:>5} {:>9} {:>10.1} veh", li + 1, lane.crossed, d, e);
    }
    println!(
        "count error: {:.1} vehicles per lane-hour, {:.2} % of {} vehicles",
        err_sum / 12.0 / hours,
        err_sum * 100.0 / f64::from(true_sum.max(1)),
        true_sum
    );
    let frames = seconds * FPS;
    println!(
        "zone detector: {:.1} us per frame (12 zones)",
        process_ns as f64 / frames as f64 / 1000.0
    );
    let s = ring.stats();
    println!(
        "ring: {} written, {} leased, {} dropped",
        s.written,
        s.leased,
        s.dropped_unread + s.dropped_full + s.skipped
    );
}
