//! Offsets for a coordinated arterial by two-way bandwidth maximisation (`greenwave offsets`).
//!
//! A corridor is a row of signalised intersections on one arterial that share a common cycle.
//! Each intersection gives its coordinated through phase a green split per direction (the part of
//! the cycle a platoon can use), and the links between intersections a distance and a progression
//! speed per direction. The offset of an intersection is the start of its outbound through green,
//! in seconds after the corridor's time reference (intersection 1's outbound green start), modulo
//! the cycle. Its inbound through green starts `internal_offset_s` after its outbound one (0 when
//! both through phases start together, a lead/lag split otherwise).
//!
//! The **bandwidth** in one direction is the length of the longest time window that, leaving the
//! first intersection at the progression speed, meets green at every intersection: the width of
//! the green band on the time-space diagram (Little, Kelson & Gartner 1981, "MAXBAND: a program
//! for setting signals on arteries and triangular networks", TRR 795). Projected to intersection
//! 1's stop line, intersection i's outbound green is the arc
//! `[φ_i − T_i, φ_i − T_i + g_out_i]` (T_i = outbound travel time from 1 to i) and its inbound
//! green the arc `[φ_i + δ_i + T'_i, … + g_in_i]` (T'_i = inbound travel time from i to 1), on a
//! circle of one cycle. A band is one contiguous arc inside every one of them;
//! [`bandwidths`](crate::offsets::bandwidths) computes the longest exactly, by intersecting the
//! arcs.
//!
//! The search ([`solve`](crate::offsets::solve)) maximises MAXBAND's `b_out + k · b_in`
//! (k = `inbound_weight`, usually the inbound / outbound volume ratio, see
//! [`objective`](crate::offsets::objective); equal values go to the more balanced pair) over
//! offsets on a grid of `resolution_s`, with intersection 1 held at 0. It is a depth-first branch
//! and bound that is exhaustive over the grid: it assigns the intersections in corridor order; the
//! bands of the intersections assigned so far only shrink when more are added, so
//! `min(band so far, narrowest green still to come)` per direction bounds every completion, and a
//! branch whose bound cannot beat the best complete assignment is cut.
//! Candidates are tried nearest to the ideal one-way progression first, so a good assignment is
//! found early and the cuts are deep.
//!
//! A host tool: it allocates and is not on the control path.

use serde::Deserialize;
use std::path::Path;

/// Intersections a corridor file may hold.
pub const MAX_INTERSECTIONS: usize = 24;
/// Longest cycle a corridor may have, seconds (NTCIP 1202 `patternCycleTime` is at most 255 s).
pub const MAX_CYCLE_S: f64 = 255.0;
/// Finest grid step of the search, seconds.
pub const MIN_RESOLUTION_S: f64 = 0.1;

/// Tolerance of the band arithmetic, seconds.
const EPS: f64 = 1e-9;

/// The corridor file: `[corridor]` and one `[[intersection]]` per signal, in order along the
/// outbound direction.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorridorFile {
    pub corridor: CorridorHead,
    #[serde(rename = "intersection")]
    pub intersections: Vec<Intersection>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorridorHead {
    /// Name of the corridor (printed).
    #[serde(default)]
    pub name: String,
    /// Common cycle length, seconds.
    pub cycle_s: f64,
    /// MAXBAND's k: weight of the inbound band in `b_out + k · b_in` (usually the inbound /
    /// outbound volume ratio; 1 = both directions alike).
    #[serde(default = "one")]
    pub inbound_weight: f64,
    /// Grid step of the offsets, seconds (1 = whole-second offsets, as a site file's `offset_s`).
    #[serde(default = "one")]
    pub resolution_s: f64,
    /// Name of the outbound direction (the order of the intersections), e.g. "eastbound".
    #[serde(default = "outbound")]
    pub outbound: String,
    /// Name of the inbound direction.
    #[serde(default = "inbound")]
    pub inbound: String,
}

fn one() -> f64 {
    1.0
}
fn outbound() -> String {
    "outbound".into()
}
fn inbound() -> String {
    "inbound".into()
}

/// One signal of the corridor and the link that reaches it from the previous one.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intersection {
    #[serde(default)]
    pub name: String,
    /// Distance from the previous intersection's stop line, metres (not given for the first).
    #[serde(default)]
    pub distance_m: f64,
    /// Progression speed on the link from the previous intersection, outbound, km/h.
    #[serde(default)]
    pub speed_out_kmh: f64,
    /// Progression speed on the same link, inbound, km/h [default: `speed_out_kmh`].
    #[serde(default)]
    pub speed_in_kmh: Option<f64>,
    /// Outbound through band green, seconds (the coordinated phase's usable green).
    pub green_out_s: f64,
    /// Inbound through band green, seconds.
    pub green_in_s: f64,
    /// Start of the inbound through green after the start of the outbound one, seconds (0 when
    /// both coordinated phases start together; a leading left on one side moves it).
    #[serde(default)]
    pub internal_offset_s: f64,
}

/// A corridor checked and reduced to travel times: what the search works on.
#[derive(Clone, Debug, PartialEq)]
pub struct Corridor {
    pub cycle_s: f64,
    pub inbound_weight: f64,
    pub resolution_s: f64,
    /// Per intersection: outbound travel time from intersection 1, seconds.
    pub t_out: Vec<f64>,
    /// Per intersection: inbound travel time from it to intersection 1, seconds.
    pub t_in: Vec<f64>,
    pub green_out: Vec<f64>,
    pub green_in: Vec<f64>,
    pub internal: Vec<f64>,
}

impl CorridorFile {
    /// Reads and checks a corridor file.
    pub fn load(path: &Path) -> Result<CorridorFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let f: CorridorFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        f.corridor().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(f)
    }

    /// The corridor's travel times and greens; an error names the intersection and the fix.
    pub fn corridor(&self) -> Result<Corridor, String> {
        let h = &self.corridor;
        let c = h.cycle_s;
        if !(c.is_finite() && c > 0.0 && c <= MAX_CYCLE_S) {
            return Err(format!("cycle_s = {c}: give a cycle of 1 to {MAX_CYCLE_S} s"));
        }
        if !(h.inbound_weight.is_finite() && h.inbound_weight >= 0.0) {
            return Err("inbound_weight must be 0 or more (1 = both directions alike)".into());
        }
        if !(h.resolution_s.is_finite() && h.resolution_s >= MIN_RESOLUTION_S && h.resolution_s <= c) {
            return Err(format!(
                "resolution_s = {}: give a grid step from {MIN_RESOLUTION_S} s to the cycle",
                h.resolution_s
            ));
        }
        let n = self.intersections.len();
        if !(2..=MAX_INTERSECTIONS).contains(&n) {
            return Err(format!(
                "{n} intersections: a corridor has 2 to {MAX_INTERSECTIONS} [[intersection]] tables"
            ));
        }
        let mut k = Corridor {
            cycle_s: c,
            inbound_weight: h.inbound_weight,
            resolution_s: h.resolution_s,
            t_out: Vec::with_capacity(n),
            t_in: Vec::with_capacity(n),
            green_out: Vec::with_capacity(n),
            green_in: Vec::with_capacity(n),
            internal: Vec::with_capacity(n),
        };
        let (mut t_out, mut t_in) = (0.0, 0.0);
        for (i, x) in self.intersections.iter().enumerate() {
            let who = if x.name.is_empty() {
                format!("intersection {}", i + 1)
            } else {
                format!("intersection {} ({})", i + 1, x.name)
            };
            for (key, g) in [("green_out_s", x.green_out_s), ("green_in_s", x.green_in_s)] {
                if !(g.is_finite() && g > 0.0 && g <= c) {
                    return Err(format!(
                        "{who}: {key} = {g}: give a green of more than 0 up to the cycle ({c} s)"
                    ));
                }
            }
            if !x.internal_offset_s.is_finite() {
                return Err(format!("{who}: internal_offset_s must be a number of seconds"));
            }
            if i > 0 {
                let v_in = x.speed_in_kmh.unwrap_or(x.speed_out_kmh);
                if !(x.distance_m.is_finite() && x.distance_m > 0.0) {
                    return Err(format!("{who}: give distance_m > 0 from the previous intersection"));
                }
                for (key, v) in [("speed_out_kmh", x.speed_out_kmh), ("speed_in_kmh", v_in)] {
                    if !(v.is_finite() && v > 0.0 && v <= 150.0) {
                        return Err(format!("{who}: {key} = {v}: give the progression speed, 1 to 150 km/h"));
                    }
                }
                t_out += x.distance_m / (x.speed_out_kmh / 3.6);
                t_in += x.distance_m / (v_in / 3.6);
            }
            k.t_out.push(t_out);
            k.t_in.push(t_in);
            k.green_out.push(x.green_out_s);
            k.green_in.push(x.green_in_s);
            k.internal.push(x.internal_offset_s);
        }
        Ok(k)
    }
}

/// `x` modulo `m` in `[0, m)`.
fn wrap(x: f64, m: f64) -> f64 {
    let r = x.rem_euclid(m);
    if r >= m - EPS {
        0.0
    } else {
        r
    }
}

/// The set of times (on the line, relative to a base arc's start) still inside every arc so far:
/// disjoint intervals inside `[0, base length]`.
#[derive(Clone, Debug, Default)]
struct Band {
    /// The base arc's start on the circle.
    start: f64,
    /// The base arc's length.
    len: f64,
    parts: Vec<(f64, f64)>,
}

impl Band {
    fn new(start: f64, len: f64) -> Band {
        Band {
            start,
            len,
            parts: vec![(0.0, len)],
        }
    }

    /// Keeps only what is also inside the arc `[a, a + len]` of a circle of `cycle`.
    fn cut(&self, a: f64, len: f64, cycle: f64) -> Band {
        let s = wrap(a - self.start, cycle);
        // The arc unrolled next to the base: it starts at s (in [0, cycle)) and, wrapped, at s − cycle.
        let arcs = [(s - cycle, s - cycle + len), (s, s + len)];
        let mut parts = Vec::with_capacity(self.parts.len() + 1);
        for &(lo, hi) in &self.parts {
            for &(alo, ahi) in &arcs {
                let (l, h) = (lo.max(alo), hi.min(ahi));
                if h > l + EPS {
                    parts.push((l, h));
                }
            }
        }
        // Pieces that touch (an arc of a whole cycle unrolls into two) are one band.
        parts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut merged: Vec<(f64, f64)> = Vec::with_capacity(parts.len());
        for p in parts {
            match merged.last_mut() {
                Some(last) if p.0 <= last.1 + EPS => last.1 = last.1.max(p.1),
                _ => merged.push(p),
            }
        }
        Band {
            start: self.start,
            len: self.len,
            parts: merged,
        }
    }

    /// The longest contiguous part, seconds (a full-cycle arc counts as one band).
    fn width(&self, cycle: f64) -> f64 {
        let widest = self.parts.iter().map(|(l, h)| h - l).fold(0.0, f64::max);
        // With a whole-cycle base the first and the last piece meet across the cycle's end.
        match (self.parts.first(), self.parts.last()) {
            (Some(f), Some(l))
                if self.parts.len() > 1 && self.len >= cycle - EPS && f.0 <= EPS && l.1 >= cycle - EPS =>
            {
                widest.max((f.1 - f.0) + (l.1 - l.0)).min(cycle)
            }
            _ => widest,
        }
    }

    /// Start (on the circle) of the longest part.
    fn best_start(&self, cycle: f64) -> f64 {
        let mut best = (0.0, -1.0);
        for &(l, h) in &self.parts {
            if h - l > best.1 {
                best = (l, h - l);
            }
        }
        wrap(self.start + best.0, cycle)
    }
}

/// Outbound and inbound bands of a set of offsets.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bands {
    /// Outbound bandwidth, seconds.
    pub outbound_s: f64,
    /// Inbound bandwidth, seconds.
    pub inbound_s: f64,
    /// Start of the outbound band at intersection 1's stop line, seconds in the cycle.
    pub outbound_start_s: f64,
    /// Start of the inbound band at intersection 1's stop line (where it leaves the corridor).
    pub inbound_start_s: f64,
}

fn out_arc(k: &Corridor, i: usize, phi: f64) -> (f64, f64) {
    (wrap(phi - k.t_out[i], k.cycle_s), k.green_out[i])
}

fn in_arc(k: &Corridor, i: usize, phi: f64) -> (f64, f64) {
    (wrap(phi + k.internal[i] + k.t_in[i], k.cycle_s), k.green_in[i])
}

/// The exact two-way bandwidths of `offsets` (one per intersection, seconds).
pub fn bandwidths(k: &Corridor, offsets: &[f64]) -> Bands {
    let c = k.cycle_s;
    let n = offsets.len().min(k.t_out.len());
    if n == 0 {
        return Bands::default();
    }
    let (a, g) = out_arc(k, 0, offsets[0]);
    let mut out = Band::new(a, g);
    let (a, g) = in_arc(k, 0, offsets[0]);
    let mut inb = Band::new(a, g);
    for (i, &phi) in offsets.iter().enumerate().take(n).skip(1) {
        let (a, g) = out_arc(k, i, phi);
        out = out.cut(a, g, c);
        let (a, g) = in_arc(k, i, phi);
        inb = inb.cut(a, g, c);
    }
    Bands {
        outbound_s: out.width(c),
        inbound_s: inb.width(c),
        outbound_start_s: out.best_start(c),
        inbound_start_s: inb.best_start(c),
    }
}

/// Weight of the narrower band in the objective: among offsets of equal `b_out + k · b_in` the
/// search prefers the one that serves both directions (with k = 1, 40 + 0 s and 20 + 20 s tie
/// otherwise).
pub const BALANCE_WEIGHT: f64 = 1e-3;

/// The objective the search maximises: MAXBAND's `b_out + k · b_in`, ties broken towards balanced
/// bands. MAXBAND's target-ratio constraint (`b_in ≥ k · b_out` for k < 1) is left out: where the
/// spacing and cycle allow no two-way band it would give the whole band to the lighter direction
/// (a zero outbound band meets it), where the heavier one is the engineer's choice.
pub fn objective(k: &Corridor, b: &Bands) -> f64 {
    value(k, b.outbound_s, b.inbound_s)
}

/// The objective for bands `out`, `inb`: non-decreasing in both (the search's bound relies on it).
fn value(k: &Corridor, out: f64, inb: f64) -> f64 {
    out + k.inbound_weight * inb + BALANCE_WEIGHT * out.min(inb)
}

/// The search's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    /// Offset of each intersection (start of its outbound through green), seconds in `[0, cycle)`.
    pub offsets: Vec<f64>,
    pub bands: Bands,
    /// Branch-and-bound nodes visited.
    pub nodes: u64,
}

struct Search<'a> {
    k: &'a Corridor,
    grid: Vec<f64>,
    /// Narrowest outbound / inbound green from intersection i to the end.
    rest_out: Vec<f64>,
    rest_in: Vec<f64>,
    best: f64,
    best_offsets: Vec<f64>,
    offsets: Vec<f64>,
    nodes: u64,
}

impl Search<'_> {
    fn go(&mut self, i: usize, out: &Band, inb: &Band) {
        self.nodes += 1;
        let k = self.k;
        let c = k.cycle_s;
        if i == k.t_out.len() {
            let v = value(k, out.width(c), inb.width(c));
            if v > self.best + EPS {
                self.best = v;
                self.best_offsets.clone_from(&self.offsets);
            }
            return;
        }
        // Ideal one-way progression from the previous intersection, then the grid outward.
        let ideal = wrap(self.offsets[i - 1] + k.t_out[i] - k.t_out[i - 1], c);
        let mut order: Vec<f64> = self.grid.clone();
        order.sort_by(|a, b| {
            let da = wrap(a - ideal + c / 2.0, c);
            let db = wrap(b - ideal + c / 2.0, c);
            (da - c / 2.0).abs().total_cmp(&(db - c / 2.0).abs())
        });
        for phi in order {
            let (a, g) = out_arc(k, i, phi);
            let o = out.cut(a, g, c);
            let (a, g) = in_arc(k, i, phi);
            let n = inb.cut(a, g, c);
            // Both bands only shrink with more intersections, and `value` grows with each.
            let bound = value(k, o.width(c).min(self.rest_out[i]), n.width(c).min(self.rest_in[i]));
            if bound <= self.best + EPS {
                continue;
            }
            self.offsets[i] = phi;
            self.go(i + 1, &o, &n);
        }
    }
}

/// Offsets that maximise `b_out + k · b_in` over the grid (intersection 1 at offset 0).
pub fn solve(k: &Corridor) -> Solution {
    let n = k.t_out.len();
    let c = k.cycle_s;
    let steps = ((c / k.resolution_s).round() as usize).max(1);
    let grid: Vec<f64> = (0..steps).map(|j| j as f64 * c / steps as f64).collect();
    let mut rest_out = vec![f64::INFINITY; n + 1];
    let mut rest_in = vec![f64::INFINITY; n + 1];
    for i in (0..n).rev() {
        rest_out[i] = rest_out[i + 1].min(k.green_out[i]);
        rest_in[i] = rest_in[i + 1].min(k.green_in[i]);
    }
    let mut offsets = vec![0.0; n];
    // Start from the pure outbound progression (a complete assignment): the first incumbent.
    for i in 1..n {
        offsets[i] = grid
            .iter()
            .copied()
            .min_by(|a, b| {
                let ideal = wrap(offsets[i - 1] + k.t_out[i] - k.t_out[i - 1], c);
                let d = |x: f64| {
                    let d = wrap(x - ideal, c);
                    d.min(c - d)
                };
                d(*a).total_cmp(&d(*b))
            })
            .unwrap_or(0.0);
    }
    let first = bandwidths(k, &offsets);
    let mut s = Search {
        k,
        grid,
        rest_out,
        rest_in,
        best: objective(k, &first),
        best_offsets: offsets.clone(),
        offsets: vec![0.0; n],
        nodes: 0,
    };
    if n > 1 {
        let (a, g) = out_arc(k, 0, 0.0);
        let out = Band::new(a, g);
        let (a, g) = in_arc(k, 0, 0.0);
        let inb = Band::new(a, g);
        s.go(1, &out, &inb);
    }
    let bands = bandwidths(k, &s.best_offsets);
    Solution {
        offsets: s.best_offsets,
        bands,
        nodes: s.nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn corridor(cycle: f64, spacing: &[f64], speed_kmh: f64, g_out: &[f64], g_in: &[f64]) -> Corridor {
        let mut text = format!("[corridor]\ncycle_s = {cycle}\n");
        for i in 0..g_out.len() {
            text += &format!(
                "[[intersection]]\ngreen_out_s = {}\ngreen_in_s = {}\n",
                g_out[i], g_in[i]
            );
            if i > 0 {
                text += &format!("distance_m = {}\nspeed_out_kmh = {speed_kmh}\n", spacing[i - 1]);
            }
        }
        let f: CorridorFile = toml::from_str(&text).unwrap();
        f.corridor().unwrap()
    }

    /// Textbook case (Roess, Prassas & McShane, Traffic Engineering, "signal progression"):
    /// equal spacing whose travel time is half the cycle — alternate offsets 0, C/2, 0, … give
    /// the full green as the band in both directions.
    #[test]
    fn half_cycle_spacing_gives_full_two_way_band_with_alternating_offsets() {
        // 90 s cycle, 45 s travel: 750 m at 60 km/h.
        let k = corridor(90.0, &[750.0; 4], 60.0, &[40.0; 5], &[40.0; 5]);
        let alternating = [0.0, 45.0, 0.0, 45.0, 0.0];
        let b = bandwidths(&k, &alternating);
        assert!((b.outbound_s - 40.0).abs() < 1e-6, "{b:?}");
        assert!((b.inbound_s - 40.0).abs() < 1e-6, "{b:?}");
        let s = solve(&k);
        assert!((s.bands.outbound_s - 40.0).abs() < 1e-6, "{s:?}");
        assert!((s.bands.inbound_s - 40.0).abs() < 1e-6, "{s:?}");
        for (i, phi) in s.offsets.iter().enumerate() {
            let want = if i % 2 == 0 { 0.0 } else { 45.0 };
            assert!((phi - want).abs() < 1e-6, "{:?}", s.offsets);
        }
    }

    /// Simultaneous offsets on a spacing of a quarter cycle cut the band in both directions; the
    /// search must find the better alternating-pairs layout.
    #[test]
    fn simultaneous_offsets_are_beaten_when_travel_is_a_quarter_cycle() {
        let k = corridor(80.0, &[333.333_333_333; 3], 60.0, &[40.0; 4], &[40.0; 4]);
        let simultaneous = bandwidths(&k, &[0.0; 4]);
        let s = solve(&k);
        assert!(
            objective(&k, &s.bands) > objective(&k, &simultaneous) + 1.0,
            "{s:?} {simultaneous:?}"
        );
    }

    #[test]
    fn one_way_progression_gets_the_narrowest_green() {
        let mut k = corridor(100.0, &[400.0, 300.0], 50.0, &[50.0, 35.0, 45.0], &[50.0, 35.0, 45.0]);
        k.inbound_weight = 0.0;
        let s = solve(&k);
        assert!((s.bands.outbound_s - 35.0).abs() < 1e-6, "{s:?}");
    }

    #[test]
    fn internal_offset_moves_the_inbound_green() {
        let k0 = corridor(90.0, &[750.0], 60.0, &[40.0; 2], &[40.0; 2]);
        let mut k = k0.clone();
        k.internal[1] = 10.0;
        let a = bandwidths(&k0, &[0.0, 45.0]);
        let b = bandwidths(&k, &[0.0, 45.0]);
        assert!((a.inbound_s - 40.0).abs() < 1e-6);
        assert!((b.inbound_s - 30.0).abs() < 1e-6, "{b:?}");
        assert!((b.outbound_s - 40.0).abs() < 1e-6);
    }

    /// With k < 1 (inbound the lighter direction) a one-way band goes to the outbound direction;
    /// with k = 1 the balanced pair wins a tie.
    #[test]
    fn weight_prefers_the_heavier_direction() {
        let mut k = corridor(90.0, &[750.0], 60.0, &[40.0; 2], &[40.0; 2]);
        k.inbound_weight = 0.8;
        let out_only = Bands {
            outbound_s: 24.0,
            ..Bands::default()
        };
        let in_only = Bands {
            inbound_s: 24.0,
            ..Bands::default()
        };
        assert!(objective(&k, &out_only) > objective(&k, &in_only));
        k.inbound_weight = 1.0;
        let even = Bands {
            outbound_s: 12.0,
            inbound_s: 12.0,
            ..Bands::default()
        };
        assert!(objective(&k, &even) > objective(&k, &out_only));
    }

    #[test]
    fn bad_files_name_the_fix() {
        let f: CorridorFile =
            toml::from_str("[corridor]\ncycle_s = 90\n[[intersection]]\ngreen_out_s = 30\ngreen_in_s = 30\n[[intersection]]\ngreen_out_s = 30\ngreen_in_s = 30\nspeed_out_kmh = 50\n").unwrap();
        let e = f.corridor().unwrap_err();
        assert!(e.contains("intersection 2") && e.contains("distance_m"), "{e}");
        let f: CorridorFile =
            toml::from_str("[corridor]\ncycle_s = 90\n[[intersection]]\ngreen_out_s = 95\ngreen_in_s = 30\n").unwrap();
        assert!(f.corridor().is_err());
        assert!(toml::from_str::<CorridorFile>("[corridor]\ncycle_s = 90\nspeed = 3\n").is_err());
    }

    #[test]
    fn example_corridor_file_loads_and_solves() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("board/corridors/main-street.toml");
        let f = CorridorFile::load(&p).unwrap();
        let k = f.corridor().unwrap();
        let s = solve(&k);
        assert_eq!(s.offsets.len(), f.intersections.len());
        assert!(s.bands.outbound_s > 0.0, "{s:?}");
        let simultaneous = bandwidths(&k, &vec![0.0; s.offsets.len()]);
        assert!(
            objective(&k, &s.bands) >= objective(&k, &simultaneous),
            "{s:?} {simultaneous:?}"
        );
    }

    fn arb_corridor() -> impl Strategy<Value = (Corridor, Vec<f64>)> {
        (2usize..=5, 50u32..=120).prop_flat_map(|(n, cycle)| {
            let c = f64::from(cycle);
            (
                Just(c),
                prop::collection::vec(150.0f64..900.0, n - 1),
                prop::collection::vec(35.0f64..70.0, n - 1),
                prop::collection::vec(10.0f64..c * 0.7, n),
                prop::collection::vec(10.0f64..c * 0.7, n),
                prop::collection::vec(-20.0f64..20.0, n),
                prop::collection::vec(0u32..cycle, n),
            )
                .prop_map(|(c, d, v, go, gi, int, offs)| {
                    let mut k = corridor(c, &d, 50.0, &go, &gi);
                    // Per-link speeds.
                    let (mut to, mut ti) = (0.0, 0.0);
                    for i in 1..k.t_out.len() {
                        to += d[i - 1] / (v[i - 1] / 3.6);
                        ti += d[i - 1] / ((v[i - 1] * 0.9) / 3.6);
                        k.t_out[i] = to;
                        k.t_in[i] = ti;
                    }
                    k.internal = int;
                    let mut offs: Vec<f64> = offs.into_iter().map(f64::from).collect();
                    offs[0] = 0.0;
                    (k, offs)
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The search is at least as good as any offsets on its grid (intersection 1 at 0, as in
        /// the search; whole seconds = the default 1 s grid).
        #[test]
        fn search_beats_random_offsets((k, offs) in arb_corridor()) {
            let s = solve(&k);
            let mine = objective(&k, &s.bands);
            let theirs = objective(&k, &bandwidths(&k, &offs));
            prop_assert!(mine + 1e-6 >= theirs, "search {mine} < random {theirs} at {offs:?}");
        }

        /// Bandwidth is never negative nor wider than the narrowest green, whatever the offsets.
        #[test]
        fn bandwidth_is_never_negative((k, offs) in arb_corridor(), shift in -500.0f64..500.0) {
            let offs: Vec<f64> = offs.iter().map(|o| o + shift).collect();
            let b = bandwidths(&k, &offs);
            let min_out = k.green_out.iter().copied().fold(f64::INFINITY, f64::min);
            let min_in = k.green_in.iter().copied().fold(f64::INFINITY, f64::min);
            prop_assert!(b.outbound_s >= 0.0 && b.inbound_s >= 0.0, "{b:?}");
            prop_assert!(b.outbound_s <= min_out + 1e-6 && b.inbound_s <= min_in + 1e-6, "{b:?}");
        }

        /// The band is the same whatever common shift all offsets get (only relative offsets
        /// matter).
        #[test]
        fn common_shift_keeps_the_bands((k, offs) in arb_corridor(), shift in 0.0f64..200.0) {
            let a = bandwidths(&k, &offs);
            let moved: Vec<f64> = offs.iter().map(|o| o + shift).collect();
            let b = bandwidths(&k, &moved);
            prop_assert!((a.outbound_s - b.outbound_s).abs() < 1e-6 && (a.inbound_s - b.inbound_s).abs() < 1e-6);
        }
    }
}
