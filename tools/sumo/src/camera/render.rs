//! The camera's grey frame: the road (asphalt with fixed texture, lane lines, stop bar, verges,
//! sky) ray-cast once per camera, then per frame the vehicles as boxes drawn farthest first so
//! nearer ones occlude them (shadow on the road, darker sides, roof, dark windscreen, headlights
//! at night), then the illumination (a gain that drifts slowly) and sensor noise.
//!
//! Cost per frame: one pass over the pixels for gain and noise (a seeded noise table read at a new
//! offset each frame), plus the vehicles' polygons.

use super::model::{footprint, Camera, LaneGeom};

/// Light and weather.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Conditions {
    Day,
    Night,
    Rain,
}

impl Conditions {
    pub fn parse(s: &str) -> Option<Conditions> {
        match s {
            "day" => Some(Conditions::Day),
            "night" => Some(Conditions::Night),
            "rain" => Some(Conditions::Rain),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Conditions::Day => "day",
            Conditions::Night => "night",
            Conditions::Rain => "rain",
        }
    }

    fn look(self) -> Look {
        match self {
            Conditions::Day => Look {
                gain: 1.0,
                contrast: 1.0,
                noise_sigma: 3.0,
                drift: 0.15,
                headlights: false,
                shadow: 0.55,
            },
            // Street lighting: a dim scene, a noisy sensor at high gain, bodies barely lit, the
            // headlights of oncoming vehicles bright.
            Conditions::Night => Look {
                gain: 0.35,
                contrast: 0.6,
                noise_sigma: 9.0,
                drift: 0.10,
                headlights: true,
                shadow: 0.9,
            },
            // Overcast and wet: less light, contrast washed out by spray and a wet lens, no shadows.
            Conditions::Rain => Look {
                gain: 0.7,
                contrast: 0.5,
                noise_sigma: 6.0,
                drift: 0.12,
                headlights: true,
                shadow: 0.9,
            },
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Look {
    /// Scene brightness factor.
    gain: f32,
    /// Vehicle shade contrast against the road, 1 = full.
    contrast: f32,
    /// Sensor noise, grey levels (standard deviation).
    noise_sigma: f32,
    /// Amplitude of the slow illumination drift (share of the gain).
    drift: f32,
    headlights: bool,
    /// Brightness factor under a vehicle's shadow.
    shadow: f32,
}

/// Seconds of one illumination drift period (clouds, sun angle).
const DRIFT_PERIOD_S: f64 = 900.0;
/// Asphalt grey level (day).
const ROAD: f32 = 100.0;

/// A vehicle to draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VehicleBox {
    pub front: (f64, f64),
    pub angle_deg: f64,
    pub length: f64,
    pub width: f64,
    /// Body grey level (day, full contrast).
    pub shade: u8,
}

impl VehicleBox {
    /// Vehicle height: buses and trucks (over 7 m long) 3 m, cars 1.5 m.
    pub fn height(&self) -> f64 {
        if self.length > 7.0 {
            3.0
        } else {
            1.5
        }
    }
}

/// Body grey levels of the car fleet (luma of white, black, grey, silver, blue, red; roughly the
/// shares of car colours on the road), picked per vehicle from its id.
const FLEET: [u8; 10] = [225, 225, 30, 30, 110, 110, 165, 165, 70, 85];

/// A vehicle's body shade from its id (FNV-1a hash: the same vehicle keeps its colour).
pub fn shade_of(id: &str, seed: u64) -> u8 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    FLEET[(h % FLEET.len() as u64) as usize]
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Extra noise samples beyond one frame: each frame reads the table from a random offset below this.
const NOISE_SLACK: usize = 1 << 16;

pub struct Renderer {
    cam: Camera,
    look: Look,
    base: Vec<u8>,
    noise: Vec<i8>,
    rng: Rng,
    drift_phase: f64,
    order: Vec<(f64, usize)>,
    lamps: Vec<[(f64, f64); 4]>,
}

impl Renderer {
    /// A renderer for `cam` over an approach with `lanes`, seeded.
    pub fn new(cam: Camera, lanes: &[LaneGeom], conditions: Conditions, seed: u64) -> Renderer {
        let look = conditions.look();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let (w, h) = (cam.width as usize, cam.height as usize);
        let n = w * h;
        // Road scene in the approach's frame: s = metres upstream of the stop line, l = metres to
        // the driver's right of the approach's centre.
        let half = lanes.iter().map(|l| l.width).sum::<f64>() / 2.0;
        let lane_w = lanes.first().map_or(3.2, |l| l.width);
        let right = (cam.dir.1, -cam.dir.0);
        let mut base = vec![0u8; n];
        for y in 0..h {
            for x in 0..w {
                let v = match cam.ground(x as f64 + 0.5, y as f64 + 0.5, 400.0) {
                    None => 170.0, // sky and the far distance
                    Some(g) => {
                        let (dx, dy) = (g.0 - cam.stop.0, g.1 - cam.stop.1);
                        let s = -(dx * cam.dir.0 + dy * cam.dir.1);
                        let l = dx * right.0 + dy * right.1;
                        // Approach lanes, the exit lanes to the driver's left, and the junction.
                        let on_road = (l >= -half - 2.0 * lane_w && l <= half) || (s < 0.0 && s > -30.0);
                        if !on_road {
                            75.0 // verge
                        } else if (0.0..0.4).contains(&s) && l > -half && l < half {
                            210.0 // stop bar
                        } else if s >= 0.0 && (l - half).abs() < 0.08 {
                            190.0 // edge line
                        } else if s >= 0.0 && (l + half).abs() < 0.12 {
                            180.0 // centre line
                        } else if s >= 0.0
                            && (1..lanes.len()).any(|k| (l + half - k as f64 * lane_w).abs() < 0.07)
                            && s.rem_euclid(9.0) < 3.0
                        {
                            190.0 // dashed lane lines
                        } else {
                            ROAD
                        }
                    }
                };
                // Fixed texture (asphalt grain, stains).
                let t = (rng.unit() - 0.5) * 8.0;
                base[y * w + x] = (v + t).clamp(0.0, 255.0) as u8;
            }
        }
        // Approximately Gaussian sensor noise: the sum of four uniforms, scaled.
        let noise = (0..n + NOISE_SLACK)
            .map(|_| {
                let s: f32 = (0..4).map(|_| rng.unit()).sum::<f32>() - 2.0;
                (s * look.noise_sigma * 1.732).clamp(-127.0, 127.0) as i8
            })
            .collect();
        let drift_phase = f64::from(rng.unit()) * std::f64::consts::TAU;
        Renderer {
            cam,
            look,
            base,
            noise,
            rng,
            drift_phase,
            order: Vec::new(),
            lamps: Vec::new(),
        }
    }

    pub fn camera(&self) -> &Camera {
        &self.cam
    }

    /// Renders the frame at `t_s` seconds with `vehicles` into `out` (`width × height` bytes).
    pub fn render(&mut self, t_s: f64, vehicles: &[VehicleBox], out: &mut [u8]) {
        out.copy_from_slice(&self.base);
        let cam = &self.cam;
        self.order.clear();
        self.order.extend(vehicles.iter().enumerate().filter_map(|(i, v)| {
            let d = cam.depth([v.front.0, v.front.1, 0.0]);
            (d > 1.0 && d < 200.0).then_some((d, i))
        }));
        self.order.sort_by(|a, b| b.0.total_cmp(&a.0));
        self.lamps.clear();
        let (w, h) = (cam.width as usize, cam.height as usize);
        let road = ROAD;
        let look = self.look;
        for &(_, i) in &self.order {
            let Some(v) = vehicles.get(i) else { continue };
            let foot = footprint(v.front, v.angle_deg, v.length, v.width);
            let ht = v.height();
            let shade = road + (f32::from(v.shade) - road) * look.contrast;
            // Shadow: the footprint, a little larger.
            let grown = footprint(
                (
                    v.front.0 + 0.3 * v.angle_deg.to_radians().sin(),
                    v.front.1 + 0.3 * v.angle_deg.to_radians().cos(),
                ),
                v.angle_deg,
                v.length + 0.6,
                v.width + 0.6,
            );
            let mut poly = [(0.0, 0.0); 8];
            if project_all(cam, &grown, 0.0, &mut poly[..4]) {
                fill(out, w, h, &poly[..4], Paint::Scale(look.shadow));
            }
            // Body: the hull of the box, in the sides' darker shade.
            let mut ok = project_all(cam, &foot, 0.0, &mut poly[..4]);
            ok &= project_all(cam, &foot, ht, &mut poly[4..]);
            if !ok {
                continue;
            }
            let mut hull = [(0.0, 0.0); 8];
            let k = convex_hull(&poly, &mut hull);
            fill(out, w, h, &hull[..k], Paint::Set(shade * 0.75));
            // Roof, and the windscreen over its front third.
            fill(out, w, h, &poly[4..], Paint::Set(shade));
            let lerp = |a: (f64, f64), b: (f64, f64), t: f64| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
            let (fl, fr, rr, rl) = (foot[0], foot[1], foot[2], foot[3]);
            let screen = [fl, fr, lerp(fr, rr, 0.3), lerp(fl, rl, 0.3)];
            let mut sp = [(0.0, 0.0); 4];
            if project_all(cam, &screen, ht * 0.85, &mut sp) {
                fill(
                    out,
                    w,
                    h,
                    &sp,
                    Paint::Set(35.0 * look.contrast + road * (1.0 - look.contrast)),
                );
            }
            if look.headlights {
                // Two lamps on the front face, 0.6 m up, 0.4 m in from the sides; they face the camera.
                for t in [0.15, 0.85] {
                    let c = lerp(fl, fr, t);
                    let p = [c.0, c.1, 0.6];
                    if let Some((u, vv)) = cam.project(p) {
                        let r = (cam.f * 0.3 / cam.depth(p).max(1.0)).max(1.5);
                        // Lamps saturate the sensor whatever the gain: drawn after it.
                        self.lamps
                            .push([(u - r, vv - r), (u + r, vv - r), (u + r, vv + r), (u - r, vv + r)]);
                    }
                }
            }
        }
        // Illumination drift and sensor noise.
        let drift =
            1.0 + f64::from(look.drift) * (std::f64::consts::TAU * t_s / DRIFT_PERIOD_S + self.drift_phase).sin();
        let g = ((f64::from(look.gain) * drift) * 256.0) as i32;
        let off = (self.rng.next() as usize) % NOISE_SLACK;
        let noise = self.noise.get(off..off + out.len()).unwrap_or(&[]);
        for (p, n) in out.iter_mut().zip(noise) {
            *p = (((i32::from(*p) * g) >> 8) + i32::from(*n)).clamp(0, 255) as u8;
        }
        for sq in &self.lamps {
            fill(out, w, h, sq, Paint::Set(250.0));
        }
    }
}

/// Projects the ground polygon `pts` raised to `z` into `out`; false if a corner is behind the lens.
fn project_all(cam: &Camera, pts: &[(f64, f64)], z: f64, out: &mut [(f64, f64)]) -> bool {
    for (p, o) in pts.iter().zip(out.iter_mut()) {
        match cam.project([p.0, p.1, z]) {
            Some(q) => *o = q,
            None => return false,
        }
    }
    true
}

/// Convex hull (Andrew's monotone chain) of up to 8 points into `out`; returns its length.
fn convex_hull(pts: &[(f64, f64); 8], out: &mut [(f64, f64); 8]) -> usize {
    let mut p = *pts;
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut h = [(0.0, 0.0); 17];
    let mut k = 0;
    for &q in p.iter() {
        while k >= 2 && cross(h[k - 2], h[k - 1], q) <= 0.0 {
            k -= 1;
        }
        h[k] = q;
        k += 1;
    }
    let lower = k + 1;
    for &q in p.iter().rev().skip(1) {
        while k >= lower && cross(h[k - 2], h[k - 1], q) <= 0.0 {
            k -= 1;
        }
        h[k] = q;
        k += 1;
    }
    let n = (k - 1).min(8);
    out[..n].copy_from_slice(&h[..n]);
    n
}

#[derive(Clone, Copy)]
enum Paint {
    Set(f32),
    Scale(f32),
}

/// Fills a convex polygon (pixel centres inside it).
fn fill(img: &mut [u8], w: usize, h: usize, poly: &[(f64, f64)], paint: Paint) {
    if poly.len() < 3 {
        return;
    }
    let (lo, hi) = poly
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let y0 = (lo - 0.5).ceil().max(0.0) as usize;
    let y1 = ((hi - 0.5).floor()).min(h as f64 - 1.0);
    if y1 < 0.0 {
        return;
    }
    let y1 = y1 as usize;
    let set = match paint {
        Paint::Set(v) => Some(v.clamp(0.0, 255.0) as u8),
        Paint::Scale(_) => None,
    };
    for y in y0..=y1 {
        let yc = y as f64 + 0.5;
        let (mut xl, mut xr) = (f64::MAX, f64::MIN);
        for i in 0..poly.len() {
            let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
            if (a.1 <= yc && b.1 > yc) || (b.1 <= yc && a.1 > yc) {
                let x = a.0 + (yc - a.1) * (b.0 - a.0) / (b.1 - a.1);
                xl = xl.min(x);
                xr = xr.max(x);
            }
        }
        if xl > xr {
            continue;
        }
        let x0 = (xl - 0.5).ceil().max(0.0) as usize;
        let x1 = (xr - 0.5).floor().min(w as f64 - 1.0);
        if x1 < 0.0 || x0 as f64 > x1 {
            continue;
        }
        let row = &mut img[y * w + x0..=y * w + x1 as usize];
        match (set, paint) {
            (Some(v), _) => row.fill(v),
            (None, Paint::Scale(k)) => row.iter_mut().for_each(|p| *p = (f32::from(*p) * k) as u8),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(c: Conditions) -> (Renderer, Vec<LaneGeom>) {
        let lanes: Vec<LaneGeom> = (0..3)
            .map(|k| LaneGeom {
                id: format!("S2C_{k}"),
                end: (308.0 - 3.2 * f64::from(k), 286.4),
                dir: (0.0, 1.0),
                width: 3.2,
                length: 286.4,
            })
            .collect();
        let cam = Camera::for_approach(&lanes, 80.0, 320, 240);
        (Renderer::new(cam, &lanes, c, 7), lanes)
    }

    fn mean_at(img: &[u8], w: usize, (u, v): (f64, f64)) -> f32 {
        let (x, y) = (u as usize, v as usize);
        let mut s = 0.0;
        for dy in 0..3 {
            for dx in 0..3 {
                s += f32::from(img[(y + dy - 1) * w + x + dx - 1]);
            }
        }
        s / 9.0
    }

    #[test]
    fn a_vehicle_shows_and_occludes_and_frames_are_seeded() {
        let (mut r, lanes) = setup(Conditions::Day);
        let mut empty = vec![0u8; 320 * 240];
        r.render(0.0, &[], &mut empty);
        // A white car in lane 1, 20 m upstream, and a black bus right behind it.
        let lane = &lanes[1];
        let car = VehicleBox {
            front: (lane.end.0, lane.end.1 - 20.0),
            angle_deg: 0.0,
            length: 5.0,
            width: 1.8,
            shade: 225,
        };
        let bus = VehicleBox {
            front: (lane.end.0, lane.end.1 - 27.0),
            length: 12.0,
            width: 2.5,
            shade: 30,
            ..car
        };
        let mut img = vec![0u8; 320 * 240];
        r.render(0.0, &[bus, car], &mut img);
        let cam = r.camera().clone();
        let roof = cam.project([lane.end.0, lane.end.1 - 23.5, 1.5]).unwrap();
        assert!(mean_at(&img, 320, roof) > 180.0, "white roof");
        assert!(mean_at(&empty, 320, roof) < 130.0, "road there without the car");
        // The bus's roof far end is visible above the car; the road right behind the car is
        // hidden by the bus (drawn dark), never by a later-drawn farther vehicle over the car.
        let bus_roof = cam.project([lane.end.0, lane.end.1 - 38.0, 3.0]).unwrap();
        assert!(mean_at(&img, 320, bus_roof) < 60.0, "bus roof dark");
        // Same seed, same frames.
        let (mut r2, _) = setup(Conditions::Day);
        let mut e2 = vec![0u8; 320 * 240];
        r2.render(0.0, &[], &mut e2);
        assert_eq!(e2, empty);
    }

    #[test]
    fn night_is_darker_and_noisier_with_bright_headlights() {
        let (mut day, lanes) = setup(Conditions::Day);
        let (mut night, _) = setup(Conditions::Night);
        let mut a = vec![0u8; 320 * 240];
        let mut b = vec![0u8; 320 * 240];
        day.render(0.0, &[], &mut a);
        night.render(0.0, &[], &mut b);
        let mean = |f: &[u8]| f.iter().map(|p| f64::from(*p)).sum::<f64>() / f.len() as f64;
        assert!(mean(&b) < 0.6 * mean(&a));
        let lane = &lanes[0];
        let car = VehicleBox {
            front: (lane.end.0, lane.end.1 - 15.0),
            angle_deg: 0.0,
            length: 5.0,
            width: 1.8,
            shade: 110,
        };
        night.render(0.0, &[car], &mut b);
        let lamp = night
            .camera()
            .project([lane.end.0 - 0.9 + 0.15 * 1.8, lane.end.1 - 15.0, 0.6])
            .unwrap();
        let (x, y) = (lamp.0 as usize, lamp.1 as usize);
        assert!(b[y * 320 + x] > 200, "headlight");
    }

    #[test]
    fn hull_of_a_box() {
        let pts = [
            (0.0, 0.0),
            (2.0, 0.0),
            (2.0, 2.0),
            (0.0, 2.0),
            (1.0, 1.0),
            (1.0, -1.0),
            (0.5, 0.5),
            (3.0, 1.0),
        ];
        let mut out = [(0.0, 0.0); 8];
        let n = convex_hull(&pts, &mut out);
        assert_eq!(n, 5, "{:?}", &out[..n]);
        let mut img = vec![0u8; 16];
        fill(
            &mut img,
            4,
            4,
            &[(0.0, 0.0), (4.0, 0.0), (4.0, 2.0), (0.0, 2.0)],
            Paint::Set(9.0),
        );
        assert_eq!(img.iter().filter(|p| **p == 9).count(), 8);
    }
}
