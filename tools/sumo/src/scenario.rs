//! Reference scenarios: the 4-leg intersection of `board/sites/nema8-4leg.toml`, built from plain
//! XML with `netconvert`, with lane-area (E2) and loop (E1) detectors and seeded demands.
//!
//! Geometry: four 300 m approaches at 50 km/h (13.89 m/s) into junction `C`; per approach lane 0 is
//! through + right, lane 1 through, lane 2 left only (the site's 2 through + 1 left-turn lane).
//! Detectors per approach lane: an E2 over the last 80 m (`e2_<edge>_<lane>`, a camera zone) and an
//! E1 [`E1_SETBACK_M`] (41.7 m) before the stop line (`e1_<edge>_<lane>`). Site detector `n` is the
//! lane in [`DETECTOR_LANES`]`[n-1]`, so the site's detector → phase map applies unchanged.
//!
//! Demands (1 h, turns 15/70/15 % left/through/right, Poisson arrivals seeded by SUMO's `--seed`):
//! balanced 600 veh/h per approach; unbalanced N/S 900, E/W 300; peak in 10-minute slices N/S
//! 300, 550, 800, 900, 650, 350 and E/W 200, 350, 500, 550, 400, 250. Two more to test beyond the
//! references: `peak120` (peak × 1.2) and `leftheavy` (600 veh/h, turns 35/50/15).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Approach edges and their (through, left) NEMA phases: SB = from the north, NB = from the south.
pub const APPROACHES: [(&str, u8, u8); 4] = [("N2C", 6, 1), ("S2C", 2, 5), ("E2C", 8, 3), ("W2C", 4, 7)];

/// Lane of each site detector (detector `n` = entry `n-1`), matching `board/sites/nema8-4leg.toml`.
pub const DETECTOR_LANES: [&str; 12] = [
    "N2C_2", // 1: phase 1, SB left
    "S2C_0", // 2: phase 2, NB through
    "S2C_1", // 3: phase 2
    "E2C_2", // 4: phase 3, WB left
    "W2C_0", // 5: phase 4, EB through
    "W2C_1", // 6: phase 4
    "S2C_2", // 7: phase 5, NB left
    "N2C_0", // 8: phase 6, SB through
    "N2C_1", // 9: phase 6
    "W2C_2", // 10: phase 7, EB left
    "E2C_0", // 11: phase 8, WB through
    "E2C_1", // 12: phase 8
];

pub const E2_LENGTH_M: f64 = 80.0;
/// Advance loop setback: the distance a vehicle covers at the approach speed (50 km/h) in the
/// through phases' passage time (3 s), as the Traffic Signal Timing Manual (FHWA-HOP-08-024,
/// ch. 5) places a single advance detector for passage-time operation: a vehicle over the loop
/// reaches the stop line within the passage time. A gap-out knows only the vehicles that have
/// crossed the loop; those still beyond it but within a yellow's travel meet the yellow and stop.
/// Through vehicles stopped by a yellow on `balanced` (seed 42): 6.7 % with the loop 30 m back,
/// 4.6 % at 41.7 m, and 3.1 % under SUMO's program, whose own actuated loops sit at 41.7 m on
/// this net.
pub const E1_SETBACK_M: f64 = 3.0 * SPEED_MPS;
pub const APPROACH_M: f64 = 300.0;
pub const SPEED_MPS: f64 = 13.89;

/// A demand: per approach, per 10-minute slice, veh/h; and the turn shares.
#[derive(Clone, Debug)]
pub struct Demand {
    pub name: &'static str,
    /// veh/h per approach per slice, approaches in [`APPROACHES`] order.
    pub slices: Vec<[f64; 4]>,
    pub slice_s: u32,
    /// left, through, right shares.
    pub turns: (f64, f64, f64),
}

pub fn demands() -> Vec<Demand> {
    let peak_ns = [300.0, 550.0, 800.0, 900.0, 650.0, 350.0];
    let peak_ew = [200.0, 350.0, 500.0, 550.0, 400.0, 250.0];
    let peak = |k: f64| {
        (0..6)
            .map(|i| [peak_ns[i] * k, peak_ns[i] * k, peak_ew[i] * k, peak_ew[i] * k])
            .collect()
    };
    vec![
        Demand {
            name: "balanced",
            slices: vec![[600.0; 4]],
            slice_s: 3600,
            turns: (0.15, 0.70, 0.15),
        },
        Demand {
            name: "unbalanced",
            slices: vec![[900.0, 900.0, 300.0, 300.0]],
            slice_s: 3600,
            turns: (0.15, 0.70, 0.15),
        },
        Demand {
            name: "peak",
            slices: peak(1.0),
            slice_s: 600,
            turns: (0.15, 0.70, 0.15),
        },
        Demand {
            name: "peak120",
            slices: peak(1.2),
            slice_s: 600,
            turns: (0.15, 0.70, 0.15),
        },
        Demand {
            name: "leftheavy",
            slices: vec![[600.0; 4]],
            slice_s: 3600,
            turns: (0.35, 0.50, 0.15),
        },
    ]
}

/// Destinations from an approach: (through, left, right) exit edges.
fn exits(edge: &str) -> (&'static str, &'static str, &'static str) {
    match edge {
        "N2C" => ("C2S", "C2E", "C2W"),
        "S2C" => ("C2N", "C2W", "C2E"),
        "E2C" => ("C2W", "C2S", "C2N"),
        _ => ("C2E", "C2N", "C2S"),
    }
}

/// The files of one scenario: the net and its additional files (detectors first).
pub struct Files {
    pub dir: PathBuf,
    pub net: PathBuf,
    pub detectors: PathBuf,
    /// More additional files (an engineer's own net may split them).
    pub extra: Vec<PathBuf>,
}

impl Files {
    /// Every additional file, detectors first.
    pub fn additional(&self) -> Vec<PathBuf> {
        std::iter::once(self.detectors.clone())
            .chain(self.extra.iter().cloned())
            .collect()
    }

    /// The additional files as SUMO's `-a` takes them (comma-separated).
    pub fn additional_arg(&self) -> String {
        self.additional()
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Builds the network and detector files in `dir` with `netconvert` from `sumo_home`.
pub fn build_network(sumo_home: &Path, dir: &Path) -> Result<Files, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let w = |name: &str, text: &str| -> Result<PathBuf, String> {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(p)
    };
    let a = APPROACH_M;
    let nodes = w(
        "nodes.nod.xml",
        &format!(
            r#"<nodes>
  <node id="C" x="0" y="0" type="traffic_light" tl="C"/>
  <node id="N" x="0" y="{a}" type="priority"/>
  <node id="S" x="0" y="-{a}" type="priority"/>
  <node id="E" x="{a}" y="0" type="priority"/>
  <node id="W" x="-{a}" y="0" type="priority"/>
</nodes>
"#
        ),
    )?;
    let mut edges = String::from("<edges>\n");
    for (e, _, _) in APPROACHES {
        let from = &e[..1];
        let _ = writeln!(
            edges,
            r#"  <edge id="{e}" from="{from}" to="C" numLanes="3" speed="{SPEED_MPS}"/>"#
        );
        let out = format!("C2{from}");
        let _ = writeln!(
            edges,
            r#"  <edge id="{out}" from="C" to="{from}" numLanes="2" speed="{SPEED_MPS}"/>"#
        );
    }
    edges.push_str("</edges>\n");
    let edges = w("edges.edg.xml", &edges)?;
    let mut con = String::from("<connections>\n");
    for (e, _, _) in APPROACHES {
        let (th, lf, rt) = exits(e);
        let _ = writeln!(con, r#"  <connection from="{e}" to="{rt}" fromLane="0" toLane="0"/>"#);
        let _ = writeln!(con, r#"  <connection from="{e}" to="{th}" fromLane="0" toLane="0"/>"#);
        let _ = writeln!(con, r#"  <connection from="{e}" to="{th}" fromLane="1" toLane="1"/>"#);
        let _ = writeln!(con, r#"  <connection from="{e}" to="{lf}" fromLane="2" toLane="1"/>"#);
    }
    con.push_str("</connections>\n");
    let con = w("conn.con.xml", &con)?;
    let net = dir.join("net.net.xml");
    let out = Command::new(sumo_home.join("bin/netconvert"))
        .arg("--node-files")
        .arg(&nodes)
        .arg("--edge-files")
        .arg(&edges)
        .arg("--connection-files")
        .arg(&con)
        .args(["--no-turnarounds", "true", "--tls.default-type", "static", "-o"])
        .arg(&net)
        .output()
        .map_err(|e| {
            format!(
                "cannot run netconvert from {}: {e} (run tools/setup-sumo.sh)",
                sumo_home.display()
            )
        })?;
    if !out.status.success() {
        return Err(format!("netconvert failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let mut det = String::from("<additional>\n");
    for (e, _, _) in APPROACHES {
        for lane in 0..3 {
            let id = format!("{e}_{lane}");
            let _ = writeln!(
                det,
                r#"  <laneAreaDetector id="e2_{id}" lane="{id}" pos="{:.2}" endPos="-0.1" freq="3600" file="NUL" friendlyPos="true"/>"#,
                APPROACH_M - E2_LENGTH_M - 8.0
            );
            let _ = writeln!(
                det,
                r#"  <inductionLoop id="e1_{id}" lane="{id}" pos="-{E1_SETBACK_M:.1}" freq="3600" file="NUL" friendlyPos="true"/>"#
            );
        }
    }
    det.push_str("</additional>\n");
    let detectors = w("detectors.add.xml", &det)?;
    Ok(Files {
        dir: dir.to_path_buf(),
        net,
        detectors,
        extra: Vec::new(),
    })
}

/// Writes the routes of `d` (flows with exponential headways: Poisson arrivals).
pub fn write_routes(d: &Demand, dir: &Path) -> Result<PathBuf, String> {
    let mut r = String::from("<routes>\n");
    r.push_str(r#"  <vType id="car" length="5" minGap="2.5" maxSpeed="13.89" accel="2.6" decel="4.5" sigma="0.5"/>"#);
    r.push('\n');
    for (i, slice) in d.slices.iter().enumerate() {
        let begin = i as u32 * d.slice_s;
        let end = begin + d.slice_s;
        for (k, (e, _, _)) in APPROACHES.iter().enumerate() {
            let (th, lf, rt) = exits(e);
            for (to, share, tag) in [(th, d.turns.1, "t"), (lf, d.turns.0, "l"), (rt, d.turns.2, "r")] {
                let vph = slice[k] * share;
                if vph <= 0.0 {
                    continue;
                }
                let rate = vph / 3600.0;
                let _ = writeln!(
                    r,
                    r#"  <flow id="{e}_{tag}_{i}" type="car" begin="{begin}" end="{end}" period="exp({rate:.6})" from="{e}" to="{to}" departLane="best" departSpeed="max"/>"#
                );
            }
        }
    }
    r.push_str("</routes>\n");
    let p = dir.join(format!("{}.rou.xml", d.name));
    std::fs::write(&p, r).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p)
}

/// Emergency vehicles (vClass emergency, ids `ev_K`) over `seconds`: one every 6 minutes from
/// minute 2, rotating through the approaches, driving straight through. A file of their own keeps
/// departures sorted.
pub fn write_emergency(dir: &Path, seconds: u32) -> Result<PathBuf, String> {
    let mut r = String::from("<routes>\n");
    r.push_str(r#"  <vType id="ev" vClass="emergency" length="7" minGap="2.5" maxSpeed="16.7"/>"#);
    r.push('\n');
    let mut t = 120;
    let mut k = 0;
    while t < seconds {
        let (e, _, _) = APPROACHES[k % 4];
        let (th, _, _) = exits(e);
        let _ = writeln!(
            r,
            r#"  <trip id="ev_{k}" type="ev" depart="{t}" from="{e}" to="{th}" departLane="1" departSpeed="max"/>"#
        );
        t += 360;
        k += 1;
    }
    r.push_str("</routes>\n");
    let p = dir.join("emergency.rou.xml");
    std::fs::write(&p, r).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p)
}

/// The bus lines of [`write_buses`]: approach edge and first departure (s). Southbound (N→S,
/// phase 6) and eastbound (W→E, phase 4) run half a headway apart, so their buses rarely reach the
/// junction together and ask for conflicting phases at once.
pub const BUS_LINES: [(&str, f64); 2] = [("N2C", 0.0), ("W2C", 0.5)];

/// Buses (vClass bus, ids `bus_K`) over `seconds`: on each line of [`BUS_LINES`] one every
/// `headway_s`, straight through in the through lane (lane 1), no stops near the junction (the
/// measurement is the signal's share of bus delay). A file of its own keeps departures sorted.
pub fn write_buses(dir: &Path, seconds: u32, headway_s: u32) -> Result<PathBuf, String> {
    if headway_s == 0 {
        return Err("bus headway must be at least 1 s".into());
    }
    let mut r = String::from("<routes>\n");
    r.push_str(
        r#"  <vType id="bus" vClass="bus" length="12" minGap="3" accel="1.2" decel="4" maxSpeed="13.89" sigma="0.5"/>"#,
    );
    r.push('\n');
    let mut trips: Vec<(u32, &str)> = Vec::new();
    for (e, phase) in BUS_LINES {
        let mut t = 60 + (phase * f64::from(headway_s)) as u32;
        while t < seconds {
            trips.push((t, e));
            t += headway_s;
        }
    }
    trips.sort_by_key(|(t, _)| *t);
    for (k, (t, e)) in trips.iter().enumerate() {
        let (th, _, _) = exits(e);
        let _ = writeln!(
            r,
            r#"  <trip id="bus_{k}" type="bus" depart="{t}" from="{e}" to="{th}" departLane="1" departSpeed="max"/>"#
        );
    }
    r.push_str("</routes>\n");
    let p = dir.join("buses.rou.xml");
    std::fs::write(&p, r).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p)
}

/// Lengths (m) of the approach lanes `<edge>_<lane>` in the generated net: netconvert shortens
/// each approach by the junction's size, so distances to the stop line come from here.
pub fn lane_lengths(net: &Path) -> Result<Vec<(String, f64)>, String> {
    let text = std::fs::read_to_string(net).map_err(|e| format!("{}: {e}", net.display()))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: {e}", net.display()))?;
    let mut out = Vec::new();
    for lane in doc.descendants().filter(|n| n.has_tag_name("lane")) {
        let (Some(id), Some(len)) = (lane.attribute("id"), lane.attribute("length")) else {
            continue;
        };
        if APPROACHES
            .iter()
            .any(|(e, _, _)| id.strip_prefix(e).is_some_and(|r| r.starts_with('_')))
        {
            let m: f64 = len
                .parse()
                .map_err(|_| format!("{}: lane {id} has a bad length {len:?}", net.display()))?;
            out.push((id.to_string(), m));
        }
    }
    if out.len() != 3 * APPROACHES.len() {
        return Err(format!(
            "{}: expected {} approach lanes, found {}",
            net.display(),
            3 * APPROACHES.len(),
            out.len()
        ));
    }
    Ok(out)
}

/// A 15-minute balanced demand for tests (not part of `all`).
pub fn smoke() -> Demand {
    Demand {
        name: "smoke",
        slices: vec![[600.0; 4]],
        slice_s: 600,
        turns: (0.15, 0.70, 0.15),
    }
}

/// A reference or extra demand by name (`smoke` included).
pub fn demand(name: &str) -> Option<Demand> {
    if name == "smoke" {
        return Some(smoke());
    }
    demands().into_iter().find(|d| d.name == name)
}

/// Design flows by phase index (veh/h, hour average) of a demand, for the Webster plan.
pub fn phase_flows(d: &Demand) -> [f32; 8] {
    let mut f = [0.0f32; 8];
    let n = d.slices.len().max(1) as f64;
    for (k, (_, through, left)) in APPROACHES.iter().enumerate() {
        let avg: f64 = d.slices.iter().map(|s| s[k]).sum::<f64>() / n;
        f[(*through - 1) as usize] = (avg * (d.turns.1 + d.turns.2)) as f32;
        f[(*left - 1) as usize] = (avg * d.turns.0) as f32;
    }
    f
}

/// One TLS link of junction `C`: its index and the NEMA phase that serves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: usize,
    pub phase: u8,
}

/// Reads the TLS links from the generated net: each link's from-lane gives its phase (lane 2 →
/// the approach's left-turn phase, lanes 0 and 1 → its through phase, right turns included).
pub fn links(net: &Path) -> Result<Vec<Link>, String> {
    let text = std::fs::read_to_string(net).map_err(|e| format!("{}: {e}", net.display()))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: {e}", net.display()))?;
    let mut out = Vec::new();
    for c in doc
        .descendants()
        .filter(|n| n.has_tag_name("connection") && n.attribute("tl") == Some("C"))
    {
        let (Some(from), Some(lane), Some(idx)) =
            (c.attribute("from"), c.attribute("fromLane"), c.attribute("linkIndex"))
        else {
            continue;
        };
        let Some(&(_, through, left)) = APPROACHES.iter().find(|(e, _, _)| *e == from) else {
            continue;
        };
        let index: usize = idx.parse().map_err(|_| format!("bad linkIndex {idx}"))?;
        let phase = if lane == "2" { left } else { through };
        out.push(Link { index, phase });
    }
    out.sort_by_key(|l| l.index);
    if out.is_empty() || out.iter().enumerate().any(|(i, l)| l.index != i) {
        return Err(format!("{}: junction C's links are not numbered 0..n", net.display()));
    }
    Ok(out)
}

/// The TLS state string for per-phase characters.
pub fn state_string(links: &[Link], ch: impl Fn(u8) -> char) -> String {
    links.iter().map(|l| ch(l.phase)).collect()
}

/// How a SUMO program runs the left turns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lefts {
    /// Protected phases only.
    Protected,
    /// Protected phases, and permissive (`g`, yield) during the opposing through: the site's
    /// flashing-yellow-arrow heads. `permissive[l-1]` = the phase left turn `l` yields to.
    ProtectedPermissive([Option<u8>; 8]),
    /// No protected phases: left turns always yield during their opposing through (two-phase).
    PermissiveOnly([Option<u8>; 8]),
}

/// A SUMO program with greenwave's phase structure (leading lefts, dual ring collapsed to the
/// concurrent pairs 1+5, 2+6 | 3+7, 4+8): `kind` static / actuated / delay_based.
/// `green_s[p-1]` sets each pair's green (static) or max green (actuated / delay_based). SUMO's
/// controllers cannot skip a phase, so a protected left pair runs every cycle.
pub fn program(
    links: &[Link],
    kind: &str,
    lefts: Lefts,
    green_s: &[f64; 8],
    min_s: &[f64; 8],
    yellow_s: &[f64; 8],
    red_s: &[f64; 8],
) -> String {
    let (perm, protected) = match lefts {
        Lefts::Protected => ([None; 8], true),
        Lefts::ProtectedPermissive(p) => (p, true),
        Lefts::PermissiveOnly(p) => (p, false),
    };
    // Left turns yielding during a pair's green.
    let yields = |pair: (u8, u8), p: u8| {
        perm.get(usize::from(p.max(1) - 1))
            .copied()
            .flatten()
            .is_some_and(|o| o == pair.0 || o == pair.1)
    };
    let mut x = format!("<additional>\n  <tlLogic id=\"C\" type=\"{kind}\" programID=\"bench\" offset=\"0\">\n");
    if kind != "static" {
        x.push_str("    <param key=\"detector-gap\" value=\"3.0\"/>\n");
    }
    for (a, b) in [(1u8, 5u8), (2, 6), (3, 7), (4, 8)] {
        if !protected && perm.get(usize::from(a - 1)).copied().flatten().is_some() {
            continue;
        }
        let i = (a - 1) as usize;
        let j = (b - 1) as usize;
        let pair = |p: u8| p == a || p == b;
        let g = green_s[i].max(green_s[j]);
        let mn = min_s[i].max(min_s[j]);
        let y = yellow_s[i].max(yellow_s[j]);
        let r = red_s[i].max(red_s[j]);
        let gs = state_string(links, |p| {
            if pair(p) {
                'G'
            } else if yields((a, b), p) {
                'g'
            } else {
                'r'
            }
        });
        let ys = state_string(links, |p| if pair(p) || yields((a, b), p) { 'y' } else { 'r' });
        let rs = state_string(links, |_| 'r');
        if kind == "static" {
            let _ = writeln!(x, "    <phase duration=\"{g:.1}\" state=\"{gs}\"/>");
        } else {
            let _ = writeln!(
                x,
                "    <phase duration=\"{mn:.1}\" minDur=\"{mn:.1}\" maxDur=\"{g:.1}\" state=\"{gs}\"/>"
            );
        }
        let _ = writeln!(x, "    <phase duration=\"{y:.1}\" state=\"{ys}\"/>");
        let _ = writeln!(x, "    <phase duration=\"{r:.1}\" state=\"{rs}\"/>");
    }
    x.push_str("  </tlLogic>\n</additional>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demands_match_the_issue() {
        let d = demands();
        assert_eq!(d[0].slices, vec![[600.0; 4]]);
        assert_eq!(d[1].slices, vec![[900.0, 900.0, 300.0, 300.0]]);
        assert_eq!(d[2].slices.len(), 6);
        assert_eq!(d[2].slices[3], [900.0, 900.0, 550.0, 550.0]);
        assert_eq!(d[2].turns, (0.15, 0.70, 0.15));
    }

    #[test]
    fn detector_lanes_follow_the_site_file() {
        let site = greenwave::config::Site::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../board/sites/nema8-4leg.toml"
        )))
        .unwrap();
        for (i, lane) in DETECTOR_LANES.iter().enumerate() {
            let d = site.detectors[i].unwrap();
            let (edge, l) = lane.split_once('_').unwrap();
            let (_, through, left) = APPROACHES.iter().find(|(e, _, _)| *e == edge).unwrap();
            let want = if l == "2" { *left } else { *through };
            assert_eq!(d.phase.number(), want, "detector {} on {lane}", i + 1);
        }
    }

    #[test]
    fn bus_lines_are_sorted_spaced_and_in_the_through_lane() {
        let dir = std::env::temp_dir().join(format!("gw-buses-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = std::fs::read_to_string(write_buses(&dir, 900, 300).unwrap()).unwrap();
        let departs: Vec<(u32, &str)> = text
            .lines()
            .filter(|l| l.contains("<trip "))
            .map(|l| {
                let t = l.split("depart=\"").nth(1).unwrap().split('"').next().unwrap();
                let from = l.split("from=\"").nth(1).unwrap().split('"').next().unwrap();
                (t.parse().unwrap(), from)
            })
            .collect();
        // N→S at 60, 360, 660; W→E half a headway later at 210, 510, 810.
        assert_eq!(
            departs,
            vec![
                (60, "N2C"),
                (210, "W2C"),
                (360, "N2C"),
                (510, "W2C"),
                (660, "N2C"),
                (810, "W2C")
            ]
        );
        assert!(text.contains(r#"id="bus_0""#) && text.contains(r#"id="bus_5""#));
        assert!(text.contains(r#"vClass="bus""#) && text.contains(r#"to="C2S""#) && text.contains(r#"to="C2E""#));
        assert_eq!(text.matches(r#"departLane="1""#).count(), 6);
        assert!(write_buses(&dir, 900, 0).is_err());
    }

    #[test]
    fn lane_lengths_of_the_approaches() {
        let dir = std::env::temp_dir().join(format!("gw-lanes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("n.net.xml");
        let mut net = String::from("<net>\n");
        for (e, _, _) in APPROACHES {
            for l in 0..3 {
                net.push_str(&format!(
                    "    <lane id=\"{e}_{l}\" index=\"{l}\" speed=\"13.89\" length=\"289.60\"/>\n"
                ));
            }
            net.push_str(&format!(
                "    <lane id=\"C2{}_0\" index=\"0\" speed=\"13.89\" length=\"289.60\"/>\n",
                &e[..1]
            ));
        }
        net.push_str("</net>\n");
        std::fs::write(&p, &net).unwrap();
        let lens = lane_lengths(&p).unwrap();
        assert_eq!(lens.len(), 12);
        assert!(lens.iter().any(|(id, m)| id == "W2C_1" && (*m - 289.6).abs() < 1e-9));
        std::fs::write(
            &p,
            net.replace(
                r#"id="N2C_2" index="2" speed="13.89" length="289.60""#,
                r#"id="N2C_2" length="x""#,
            ),
        )
        .unwrap();
        let err = lane_lengths(&p).unwrap_err();
        assert!(err.contains("N2C_2"), "{err}");
    }

    #[test]
    fn program_has_the_phase_structure() {
        let links: Vec<Link> = (0..4)
            .map(|i| Link {
                index: i,
                phase: [1, 2, 5, 6][i],
            })
            .collect();
        let p = program(
            &links,
            "actuated",
            Lefts::Protected,
            &[20.0; 8],
            &[5.0; 8],
            &[3.3; 8],
            &[2.2; 8],
        );
        assert!(p.contains(r#"minDur="5.0" maxDur="20.0" state="GrGr""#), "{p}");
        assert!(p.contains(r#"state="rGrG""#));
        assert_eq!(p.matches("<phase").count(), 12);
        // Left 1 yields to 2, left 5 to 6: both flash (g) during the 2+6 pair.
        let mut perm = [None; 8];
        perm[0] = Some(2);
        perm[4] = Some(6);
        let p = program(
            &links,
            "actuated",
            Lefts::ProtectedPermissive(perm),
            &[20.0; 8],
            &[5.0; 8],
            &[3.3; 8],
            &[2.2; 8],
        );
        assert!(p.contains(r#"state="gGgG""#), "{p}");
        assert!(p.contains(r#"state="yyyy""#), "{p}");
        assert_eq!(p.matches("<phase").count(), 12);
        let p = program(
            &links,
            "actuated",
            Lefts::PermissiveOnly(perm),
            &[20.0; 8],
            &[5.0; 8],
            &[3.3; 8],
            &[2.2; 8],
        );
        assert!(!p.contains(r#"state="GrGr""#), "{p}");
        assert_eq!(p.matches("<phase").count(), 9);
    }
}
