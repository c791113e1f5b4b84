//! Camera geometry: the approach lanes read from the SUMO net, a pole-mounted pinhole camera behind
//! an approach's stop line looking up the approach, and the ground rectangles (zones, vehicle
//! footprints) it sees.
//!
//! World frame: SUMO's (x east, y north, metres) with z up. The camera stands [`SETBACK_M`] past
//! the stop line (on the far side of the stop bar, over the middle of the approach lanes),
//! [`HEIGHT_M`] up, looking against the traffic; it is pitched down so the zones' near and far
//! ends sit symmetrically about the optical axis with a margin, and its focal length (pixels) is
//! the largest that keeps every zone corner inside the image: the intrinsics follow from the
//! configured image size.

use std::path::Path;

/// Camera height above the road.
pub const HEIGHT_M: f64 = 8.0;
/// Horizontal distance from the stop line to the pole, past the stop line.
pub const SETBACK_M: f64 = 6.0;
/// Angular margin above and below the zones, radians (3°).
const MARGIN_RAD: f64 = 3.0 * std::f64::consts::PI / 180.0;
/// Nearest depth projected (points closer to the lens plane are not drawn).
const NEAR_M: f64 = 0.5;

/// One approach lane at its stop line.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneGeom {
    pub id: String,
    /// Centre of the lane at the stop line (end of its shape).
    pub end: (f64, f64),
    /// Unit travel direction at the stop line.
    pub dir: (f64, f64),
    pub width: f64,
    pub length: f64,
}

impl LaneGeom {
    /// Unit vector to the driver's right.
    pub fn right(&self) -> (f64, f64) {
        (self.dir.1, -self.dir.0)
    }

    /// The lane's ground rectangle from the stop line `zone_m` upstream: stop-line left,
    /// stop-line right, far right, far left (driver's view).
    pub fn zone_rect(&self, zone_m: f64) -> [(f64, f64); 4] {
        let (e, d, n, h) = (self.end, self.dir, self.right(), self.width / 2.0);
        let far = (e.0 - d.0 * zone_m, e.1 - d.1 * zone_m);
        [
            (e.0 - n.0 * h, e.1 - n.1 * h),
            (e.0 + n.0 * h, e.1 + n.1 * h),
            (far.0 + n.0 * h, far.1 + n.1 * h),
            (far.0 - n.0 * h, far.1 - n.1 * h),
        ]
    }
}

/// The lanes `<edge>_<k>` of `edge` in the net, by lane index.
pub fn approach_lanes(net: &Path, edge: &str) -> Result<Vec<LaneGeom>, String> {
    let text = std::fs::read_to_string(net).map_err(|e| format!("{}: {e}", net.display()))?;
    let prefix = format!("{edge}_");
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| l.starts_with("<lane ")) {
        let attr = |name: &str| -> Option<&str> {
            let key = format!(" {name}=\"");
            let i = line.find(&key)? + key.len();
            let j = line[i..].find('"')? + i;
            Some(&line[i..j])
        };
        let Some(id) = attr("id").filter(|id| id.strip_prefix(&prefix).is_some_and(|k| k.parse::<u32>().is_ok()))
        else {
            continue;
        };
        let bad = |what: &str| format!("{}: lane {id} has a bad {what}", net.display());
        let pts: Vec<(f64, f64)> = attr("shape")
            .ok_or_else(|| bad("shape"))?
            .split_whitespace()
            .map(|p| {
                let (x, y) = p.split_once(',')?;
                Some((x.parse().ok()?, y.parse().ok()?))
            })
            .collect::<Option<_>>()
            .ok_or_else(|| bad("shape"))?;
        let [.., a, b] = pts.as_slice() else {
            return Err(bad("shape (fewer than 2 points)"));
        };
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let norm = dx.hypot(dy);
        if norm < 1e-6 {
            return Err(bad("shape (zero-length end segment)"));
        }
        let width = match attr("width") {
            Some(w) => w.parse().map_err(|_| bad("width"))?,
            None => 3.2, // netconvert's default lane width
        };
        let length = attr("length")
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| bad("length"))?;
        out.push(LaneGeom {
            id: id.to_string(),
            end: *b,
            dir: (dx / norm, dy / norm),
            width,
            length,
        });
    }
    out.sort_by_key(|l| l.id[prefix.len()..].parse::<u32>().unwrap_or(u32::MAX));
    if out.is_empty() {
        return Err(format!("{}: no lanes of edge {edge}", net.display()));
    }
    Ok(out)
}

type V3 = [f64; 3];

fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// A pinhole camera (no lens distortion).
#[derive(Clone, Debug)]
pub struct Camera {
    pub pos: V3,
    fwd: V3,
    right: V3,
    down: V3,
    /// Focal length, pixels.
    pub f: f64,
    cx: f64,
    cy: f64,
    pub width: u32,
    pub height: u32,
    /// Stop-line centre of the approach and its unit travel direction.
    pub stop: (f64, f64),
    pub dir: (f64, f64),
}

impl Camera {
    /// The camera of an approach (its lanes at the stop line), watching `zone_m` upstream, for an
    /// image of `width` × `height` pixels.
    pub fn for_approach(lanes: &[LaneGeom], zone_m: f64, width: u32, height: u32) -> Camera {
        let n = lanes.len().max(1) as f64;
        let stop = (
            lanes.iter().map(|l| l.end.0).sum::<f64>() / n,
            lanes.iter().map(|l| l.end.1).sum::<f64>() / n,
        );
        let (dx, dy) = (
            lanes.iter().map(|l| l.dir.0).sum::<f64>(),
            lanes.iter().map(|l| l.dir.1).sum::<f64>(),
        );
        let norm = dx.hypot(dy).max(1e-9);
        let dir = (dx / norm, dy / norm);
        let pos = [stop.0 + dir.0 * SETBACK_M, stop.1 + dir.1 * SETBACK_M, HEIGHT_M];
        // Depression angles of the zones' near and far ends; the axis halfway between.
        let near = (HEIGHT_M / SETBACK_M).atan();
        let far = (HEIGHT_M / (SETBACK_M + zone_m)).atan();
        let pitch = (near + far) / 2.0;
        let look = (-dir.0, -dir.1);
        let fwd = [look.0 * pitch.cos(), look.1 * pitch.cos(), -pitch.sin()];
        let right = [look.1, -look.0, 0.0];
        let down = cross(fwd, right);
        let half_fov = (near - far) / 2.0 + MARGIN_RAD;
        let mut cam = Camera {
            pos,
            fwd,
            right,
            down,
            f: f64::from(height) / 2.0 / half_fov.tan(),
            cx: f64::from(width) / 2.0,
            cy: f64::from(height) / 2.0,
            width,
            height,
            stop,
            dir,
        };
        // Widen the view until every lane's zone fits with a 2 % border.
        for _ in 0..30 {
            let fits = lanes.iter().flat_map(|l| l.zone_rect(zone_m)).all(|(x, y)| {
                cam.project([x, y, 0.0]).is_some_and(|(u, v)| {
                    let (bu, bv) = (0.02 * f64::from(width), 0.02 * f64::from(height));
                    u >= bu && v >= bv && u < f64::from(width) - bu && v < f64::from(height) - bv
                })
            });
            if fits {
                break;
            }
            cam.f *= 0.92;
        }
        cam
    }

    /// Pixel coordinates of a world point, or `None` behind the lens.
    pub fn project(&self, p: V3) -> Option<(f64, f64)> {
        let q = [p[0] - self.pos[0], p[1] - self.pos[1], p[2] - self.pos[2]];
        let z = dot(q, self.fwd);
        if z < NEAR_M {
            return None;
        }
        Some((
            self.cx + self.f * dot(q, self.right) / z,
            self.cy + self.f * dot(q, self.down) / z,
        ))
    }

    /// Depth of a world point along the optical axis.
    pub fn depth(&self, p: V3) -> f64 {
        let q = [p[0] - self.pos[0], p[1] - self.pos[1], p[2] - self.pos[2]];
        dot(q, self.fwd)
    }

    /// Where the ray through pixel (`u`, `v`) meets the road plane, if it does within `max_m`.
    pub fn ground(&self, u: f64, v: f64, max_m: f64) -> Option<(f64, f64)> {
        let a = (u - self.cx) / self.f;
        let b = (v - self.cy) / self.f;
        let d = [
            self.fwd[0] + a * self.right[0] + b * self.down[0],
            self.fwd[1] + a * self.right[1] + b * self.down[1],
            self.fwd[2] + a * self.right[2] + b * self.down[2],
        ];
        if d[2] >= -1e-9 {
            return None;
        }
        let t = -self.pos[2] / d[2];
        let g = (self.pos[0] + t * d[0], self.pos[1] + t * d[1]);
        ((g.0 - self.pos[0]).hypot(g.1 - self.pos[1]) <= max_m).then_some(g)
    }
}

/// Ground footprint of a SUMO vehicle: `front` = front-bumper centre, `angle_deg` = heading
/// (0 = north, clockwise). Corners: front left, front right, rear right, rear left.
pub fn footprint(front: (f64, f64), angle_deg: f64, length: f64, width: f64) -> [(f64, f64); 4] {
    let a = angle_deg.to_radians();
    let h = (a.sin(), a.cos());
    let n = (h.1, -h.0);
    let w = width / 2.0;
    let rear = (front.0 - h.0 * length, front.1 - h.1 * length);
    [
        (front.0 - n.0 * w, front.1 - n.1 * w),
        (front.0 + n.0 * w, front.1 + n.1 * w),
        (rear.0 + n.0 * w, rear.1 + n.1 * w),
        (rear.0 - n.0 * w, rear.1 - n.1 * w),
    ]
}

/// Whether two convex quadrilaterals overlap (separating-axis test; touching edges count as
/// apart).
pub fn overlap(a: &[(f64, f64); 4], b: &[(f64, f64); 4]) -> bool {
    for poly in [a, b] {
        for i in 0..4 {
            let (p, q) = (poly[i], poly[(i + 1) % 4]);
            let axis = (q.1 - p.1, p.0 - q.0);
            let span = |s: &[(f64, f64); 4]| {
                s.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| {
                    let d = c.0 * axis.0 + c.1 * axis.1;
                    (lo.min(d), hi.max(d))
                })
            };
            let (a0, a1) = span(a);
            let (b0, b1) = span(b);
            if a1 <= b0 || b1 <= a0 {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes() -> Vec<LaneGeom> {
        // A northbound approach of three 3.2 m lanes ending at y = 286.4 (like S2C).
        (0..3)
            .map(|k| LaneGeom {
                id: format!("S2C_{k}"),
                end: (308.0 - 3.2 * f64::from(k), 286.4),
                dir: (0.0, 1.0),
                width: 3.2,
                length: 286.4,
            })
            .collect()
    }

    #[test]
    fn zones_fit_and_the_camera_looks_up_the_approach() {
        let l = lanes();
        let cam = Camera::for_approach(&l, 80.0, 640, 480);
        // The pole stands past the stop line, 8 m up.
        assert!((cam.pos[1] - (286.4 + SETBACK_M)).abs() < 1e-9 && cam.pos[2] == HEIGHT_M);
        for lane in &l {
            let r = lane.zone_rect(80.0);
            let near = cam.project([r[0].0, r[0].1, 0.0]).unwrap();
            let far = cam.project([r[3].0, r[3].1, 0.0]).unwrap();
            assert!(
                near.1 > far.1 + 100.0,
                "stop line low in the image, far end high: {near:?} {far:?}"
            );
            for c in r {
                let (u, v) = cam.project([c.0, c.1, 0.0]).unwrap();
                assert!(
                    (0.0..640.0).contains(&u) && (0.0..480.0).contains(&v),
                    "{c:?} -> {u},{v}"
                );
            }
        }
        // Lane 0 (driver's right, east) appears on the image's left: the camera faces south.
        let u0 = cam.project([l[0].end.0, l[0].end.1 - 10.0, 0.0]).unwrap().0;
        let u2 = cam.project([l[2].end.0, l[2].end.1 - 10.0, 0.0]).unwrap().0;
        assert!(u0 < u2);
        // The ground ray inverts the projection.
        let p = (305.0, 240.0);
        let (u, v) = cam.project([p.0, p.1, 0.0]).unwrap();
        let g = cam.ground(u, v, 500.0).unwrap();
        assert!((g.0 - p.0).abs() < 1e-6 && (g.1 - p.1).abs() < 1e-6);
        // Points behind the camera are not projected; the sky has no ground.
        assert!(cam.project([308.0, 300.0, 0.0]).is_none());
        assert!(cam.ground(320.0, 0.0, 100.0).is_none());
    }

    #[test]
    fn footprints_and_overlap() {
        // Northbound car, front bumper at (308, 250): it covers y 245..250 at x 307..309.
        let f = footprint((308.0, 250.0), 0.0, 5.0, 2.0);
        let ys: Vec<f64> = f.iter().map(|c| c.1).collect();
        assert!(ys
            .iter()
            .all(|y| (*y - 250.0).abs() < 1e-9 || (*y - 245.0).abs() < 1e-9));
        let zone = lanes()[0].zone_rect(80.0);
        assert!(overlap(&f, &zone));
        // Beyond the zone's far end (206.4), or in the next lane: no overlap.
        assert!(!overlap(&footprint((308.0, 200.0), 0.0, 5.0, 2.0), &zone));
        assert!(!overlap(&footprint((301.6, 250.0), 0.0, 5.0, 2.0), &zone));
        // An eastbound car across the lane's stop-line end.
        assert!(overlap(&footprint((310.0, 285.0), 90.0, 5.0, 2.0), &zone));
    }
}
