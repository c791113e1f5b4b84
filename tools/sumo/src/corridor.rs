//! `greenwave-sumo corridor`: a five-signal arterial in SUMO, each signal driven by its own
//! greenwave `Controller` (five cabinets that share nothing but the wall clock), against SUMO's own
//! controllers on the same demand and step length.
//!
//! The arterial runs west-east along the x axis: signals `J1`..`J5` at [`X_M`] (spacings 400, 300,
//! 450 and 350 m), 60 km/h, two lanes each way plus an 80 m left-turn bay before every signal;
//! a 40 km/h cross street (one lane each way, left turns yielding) crosses at every signal. Every
//! signal runs the phase layout of `board/sites/arterial-minor.toml` without its crosswalks:
//! 2 / 6 eastbound / westbound through (coordinated), 5 / 1 their protected-permissive lefts
//! (flashing yellow arrow), 4 / 8 the cross street from the north / south, both at once.
//!
//! Demand ([`demand`]): arterial through traffic both ways over the whole corridor, arterial
//! vehicles turning off at every signal, and cross-street traffic through, onto and off the
//! arterial, Poisson arrivals for `--seconds`. Design volumes per phase come from the same
//! origin-destination table; the timing is an engineer's: Webster's cycle of the critical
//! intersection (the longest of the five, clamped to the sites' cycle range) as the common cycle,
//! each signal's splits by Webster on its own volumes at that cycle, and the offsets from
//! `greenwave offsets` (two-way bandwidth, [`greenwave::offsets`]) on the corridor's distances,
//! progression speed and through greens.
//!
//! Rows (all at SUMO's 0.1 s step):
//! - `sumo actuated`: netconvert's actuated programs, every signal free;
//! - `sumo tlsCoordinator`: netconvert's static programs at the common cycle with the offsets of
//!   SUMO's `tools/tlsCoordinator.py` for the same routes;
//! - `greenwave adaptive`: each controller free on the adaptive planner;
//! - `greenwave coordinated`: pattern 1 (cycle, splits, offset) selected all day by the schedule;
//! - `greenwave adaptive coordinated`: the same pattern with `adaptive = true`.
//!
//! Scores as the bench's (mean time loss + depart delay over all vehicles), plus the arterial
//! through vehicles' (`thru_*`) mean travel time and stops (`waitingCount` of tripinfo).

use crate::bridge::{BridgeReport, DetectorReader};
use crate::mapping::SumoMap;
use crate::net;
use crate::sumo::{free_port, run_args, SumoProcess};
use crate::traci::{self, Batch, Client};
use greenwave::config::Site;
use greenwave::hal::InputFrame;
use greenwave::offsets::{self, CorridorFile};
use greenwave::plan::webster;
use greenwave::runtime::{Controller, ControllerMode};
use greenwave::signal::frame::{Aspect, OutputFrame};
use greenwave::signal::phase::PhaseId;
use greenwave::time::Instant;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Signals on the arterial.
pub const JUNCTIONS: usize = 5;
/// Stop-line positions of the signals along the arterial (the net's x axis), metres.
pub const X_M: [f64; JUNCTIONS] = [0.0, 400.0, 700.0, 1150.0, 1500.0];
/// Arterial before the first and after the last signal, metres.
const ENTRY_M: f64 = 400.0;
/// Cross street each side of a signal, metres.
const CROSS_M: f64 = 250.0;
/// Left-turn bay before every arterial stop line, metres.
const BAY_M: f64 = 80.0;
/// Speed limits, m/s: 60 km/h arterial, 40 km/h cross streets.
const ARTERIAL_MPS: f64 = 16.67;
const CROSS_MPS: f64 = 11.11;
/// Progression speed for the offsets: 90 % of the 60 km/h limit (platoons leaving a stop line
/// take a while to reach speed; SUMO's `tlsCoordinator.py` assumes 80 % by default).
pub const PROGRESSION_KMH: f64 = 54.0;
/// SUMO time 0 on every cabinet's wall clock: Monday 2026-01-05 00:00:00 UTC, a local midnight
/// (the sync reference of the cycle timers) in the sites' zone (`time_zone = "UTC"`).
pub const EPOCH_UNIX_MS: i64 = 1_767_571_200_000;

/// Where a trip enters or leaves the corridor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum End {
    West,
    East,
    North(usize),
    South(usize),
}

/// The origin-destination table, veh/h: (flow id prefix, from, to, rate). `k` = signal 1..=5.
pub fn demand() -> Vec<(String, End, End, f64)> {
    let mut v = vec![
        ("thru_eb".to_string(), End::West, End::East, 800.0),
        ("thru_wb".to_string(), End::East, End::West, 650.0),
    ];
    for k in 1..=JUNCTIONS {
        v.extend([
            (format!("eb_left{k}"), End::West, End::North(k), 30.0),
            (format!("eb_right{k}"), End::West, End::South(k), 30.0),
            (format!("wb_left{k}"), End::East, End::South(k), 25.0),
            (format!("wb_right{k}"), End::East, End::North(k), 25.0),
            (format!("sb_thru{k}"), End::North(k), End::South(k), 120.0),
            (format!("nb_thru{k}"), End::South(k), End::North(k), 140.0),
            (format!("sb_left{k}"), End::North(k), End::East, 30.0),
            (format!("sb_right{k}"), End::North(k), End::West, 30.0),
            (format!("nb_left{k}"), End::South(k), End::West, 30.0),
            (format!("nb_right{k}"), End::South(k), End::East, 30.0),
        ]);
    }
    v
}

/// The signal's traffic-light id.
pub fn tls(k: usize) -> String {
    format!("J{k}")
}

/// Eastbound edges into signal k: the upstream part and the bay (3 lanes, lane 2 = left).
fn eb(k: usize) -> [String; 2] {
    [format!("eb{k}"), format!("eb{k}b")]
}
fn wb(k: usize) -> [String; 2] {
    [format!("wb{k}"), format!("wb{k}b")]
}

/// Movements of a route: (signal 1..=5, phase serving it there).
pub type Moves = Vec<(usize, u8)>;

/// The route of an origin-destination pair (edges) and the movement it makes at each signal it
/// passes.
pub fn route(from: End, to: End) -> Option<(Vec<String>, Moves)> {
    let mut edges = Vec::new();
    let mut moves = Vec::new();
    // Eastbound along the arterial from signal `a` (its approach) to signal `b`.
    let east = |a: usize, b: usize, edges: &mut Vec<String>, moves: &mut Vec<(usize, u8)>, last: u8| {
        for k in a..=b {
            edges.extend(eb(k));
            moves.push((k, if k == b { last } else { 2 }));
        }
    };
    let west = |a: usize, b: usize, edges: &mut Vec<String>, moves: &mut Vec<(usize, u8)>, last: u8| {
        for k in (b..=a).rev() {
            edges.extend(wb(k));
            moves.push((k, if k == b { last } else { 6 }));
        }
    };
    match (from, to) {
        (End::West, End::East) => {
            east(1, JUNCTIONS, &mut edges, &mut moves, 2);
            edges.push(format!("eb{}", JUNCTIONS + 1));
        }
        (End::East, End::West) => {
            west(JUNCTIONS, 1, &mut edges, &mut moves, 6);
            edges.push("wb0".into());
        }
        (End::West, End::North(k)) => {
            east(1, k, &mut edges, &mut moves, 5);
            edges.push(format!("n{k}out"));
        }
        (End::West, End::South(k)) => {
            east(1, k, &mut edges, &mut moves, 2);
            edges.push(format!("s{k}out"));
        }
        (End::East, End::South(k)) => {
            west(JUNCTIONS, k, &mut edges, &mut moves, 1);
            edges.push(format!("s{k}out"));
        }
        (End::East, End::North(k)) => {
            west(JUNCTIONS, k, &mut edges, &mut moves, 6);
            edges.push(format!("n{k}out"));
        }
        (End::North(k), End::South(j)) if k == j => {
            edges.extend([format!("n{k}in"), format!("s{k}out")]);
            moves.push((k, 4));
        }
        (End::South(k), End::North(j)) if k == j => {
            edges.extend([format!("s{k}in"), format!("n{k}out")]);
            moves.push((k, 8));
        }
        (End::North(k) | End::South(k), End::East) => {
            let p = if matches!(from, End::North(_)) { 4 } else { 8 };
            edges.push(format!("{}{k}in", if p == 4 { "n" } else { "s" }));
            moves.push((k, p));
            if k < JUNCTIONS {
                east(k + 1, JUNCTIONS, &mut edges, &mut moves, 2);
            }
            edges.push(format!("eb{}", JUNCTIONS + 1));
        }
        (End::North(k) | End::South(k), End::West) => {
            let p = if matches!(from, End::North(_)) { 4 } else { 8 };
            edges.push(format!("{}{k}in", if p == 4 { "n" } else { "s" }));
            moves.push((k, p));
            if k > 1 {
                west(k - 1, 1, &mut edges, &mut moves, 6);
            }
            edges.push("wb0".into());
        }
        _ => return None,
    }
    Some((edges, moves))
}

/// Design volume per signal and phase, veh/h, from the demand table.
pub fn design_volumes() -> [[f64; 8]; JUNCTIONS] {
    let mut v = [[0.0; 8]; JUNCTIONS];
    for (_, from, to, rate) in demand() {
        if let Some((_, moves)) = route(from, to) {
            for (k, p) in moves {
                v[k - 1][usize::from(p) - 1] += rate;
            }
        }
    }
    v
}

/// The generated files of the corridor.
pub struct CorridorNet {
    pub dir: PathBuf,
    /// Net with static programs (greenwave drives it over TraCI).
    pub net: PathBuf,
    /// The same net with netconvert's actuated programs.
    pub net_actuated: PathBuf,
    /// The same net with static programs at the common cycle (for tlsCoordinator).
    pub net_static: PathBuf,
    pub detectors: PathBuf,
    pub routes: PathBuf,
}

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let p = dir.join(name);
    std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p)
}

/// Plain XML of the corridor (nodes, edges with their bays, connections) and the nets netconvert
/// builds from it: static (greenwave drives it), actuated, and static at `cycle_s`.
fn build_nets(home: &Path, dir: &Path, cycle_s: u32) -> Result<(PathBuf, PathBuf, PathBuf, PathBuf), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let last = X_M[JUNCTIONS - 1];
    let mut nod = String::from("<nodes>\n");
    let _ = writeln!(nod, r#"  <node id="W0" x="{}" y="0" type="priority"/>"#, -ENTRY_M);
    let _ = writeln!(nod, r#"  <node id="E0" x="{}" y="0" type="priority"/>"#, last + ENTRY_M);
    for (i, x) in X_M.iter().enumerate() {
        let k = i + 1;
        let _ = writeln!(
            nod,
            r#"  <node id="J{k}" x="{x}" y="0" type="traffic_light" tl="J{k}"/>"#
        );
        let _ = writeln!(nod, r#"  <node id="N{k}" x="{x}" y="{CROSS_M}" type="priority"/>"#);
        let _ = writeln!(nod, r#"  <node id="S{k}" x="{x}" y="{}" type="priority"/>"#, -CROSS_M);
    }
    nod.push_str("</nodes>\n");
    let mut edg = String::from("<edges>\n");
    let node = |k: usize| -> String {
        match k {
            0 => "W0".into(),
            k if k > JUNCTIONS => "E0".into(),
            k => format!("J{k}"),
        }
    };
    // Arterial: two lanes, widened to three (lane 2 = left-turn bay) over the last BAY_M.
    let arterial = |id: &str, from: &str, to: &str, bay: bool| -> String {
        if bay {
            format!(
                r#"  <edge id="{id}" from="{from}" to="{to}" numLanes="2" speed="{ARTERIAL_MPS}">
    <split pos="-{BAY_M}" lanes="0 1 2" id="{id}s" idBefore="{id}" idAfter="{id}b"/>
  </edge>
"#
            )
        } else {
            format!(r#"  <edge id="{id}" from="{from}" to="{to}" numLanes="2" speed="{ARTERIAL_MPS}"/>"#) + "\n"
        }
    };
    for k in 1..=JUNCTIONS + 1 {
        edg += &arterial(&format!("eb{k}"), &node(k - 1), &node(k), k <= JUNCTIONS);
    }
    for k in 0..=JUNCTIONS {
        edg += &arterial(&format!("wb{k}"), &node(k + 1), &node(k), k >= 1);
    }
    for k in 1..=JUNCTIONS {
        for (id, from, to) in [
            (format!("n{k}in"), format!("N{k}"), format!("J{k}")),
            (format!("n{k}out"), format!("J{k}"), format!("N{k}")),
            (format!("s{k}in"), format!("S{k}"), format!("J{k}")),
            (format!("s{k}out"), format!("J{k}"), format!("S{k}")),
        ] {
            let _ = writeln!(
                edg,
                r#"  <edge id="{id}" from="{from}" to="{to}" numLanes="1" speed="{CROSS_MPS}"/>"#
            );
        }
    }
    edg.push_str("</edges>\n");
    // Lane use at every signal: arterial lane 0 through + right, lane 1 through, lane 2 (bay)
    // left; the cross street's one lane left, through and right.
    let mut con = String::from("<connections>\n");
    for k in 1..=JUNCTIONS {
        let eb_out = format!("eb{}", k + 1);
        let wb_out = format!("wb{}", k - 1);
        let (ebin, wbin) = (format!("eb{k}b"), format!("wb{k}b"));
        let rows = [
            (&ebin, format!("s{k}out"), 0, 0),
            (&ebin, eb_out.clone(), 0, 0),
            (&ebin, eb_out.clone(), 1, 1),
            (&ebin, format!("n{k}out"), 2, 0),
            (&wbin, format!("n{k}out"), 0, 0),
            (&wbin, wb_out.clone(), 0, 0),
            (&wbin, wb_out.clone(), 1, 1),
            (&wbin, format!("s{k}out"), 2, 0),
        ];
        for (from, to, fl, tl) in rows {
            let _ = writeln!(
                con,
                r#"  <connection from="{from}" to="{to}" fromLane="{fl}" toLane="{tl}"/>"#
            );
        }
        for (from, right, thru, left) in [
            (format!("n{k}in"), wb_out.clone(), format!("s{k}out"), eb_out.clone()),
            (format!("s{k}in"), eb_out.clone(), format!("n{k}out"), wb_out.clone()),
        ] {
            for to in [right, thru, left] {
                let _ = writeln!(
                    con,
                    r#"  <connection from="{from}" to="{to}" fromLane="0" toLane="0"/>"#
                );
            }
        }
    }
    con.push_str("</connections>\n");
    let nod = write(dir, "corridor.nod.xml", &nod)?;
    let edg = write(dir, "corridor.edg.xml", &edg)?;
    let con = write(dir, "corridor.con.xml", &con)?;
    let build = |out: &str, extra: &[&str]| -> Result<PathBuf, String> {
        let net = dir.join(out);
        crate::sumo::run_tool(
            home,
            Command::new(home.join("bin/netconvert"))
                .arg("--node-files")
                .arg(&nod)
                .arg("--edge-files")
                .arg(&edg)
                .arg("--connection-files")
                .arg(&con)
                .args(["--no-turnarounds", "true"])
                .args(extra)
                .arg("-o")
                .arg(&net),
            "netconvert",
        )?;
        Ok(net)
    };
    let cycle = cycle_s.to_string();
    let net = build("corridor.net.xml", &["--tls.default-type", "static"])?;
    let actuated = build("corridor-actuated.net.xml", &["--tls.default-type", "actuated"])?;
    let fixed = build(
        "corridor-static.net.xml",
        &["--tls.default-type", "static", "--tls.cycle.time", &cycle],
    )?;
    // Detectors: per approach lane an E1 loop 30 m before the stop line and an E2 zone over the
    // last 70 m (the bay on the arterial), as the reference sites.
    let lens = net::read_tls(&net, "J1")?.lane_lengths;
    let mut det = String::from("<additional>\n");
    for k in 1..=JUNCTIONS {
        let mut lanes: Vec<String> = (0..3)
            .flat_map(|l| [format!("eb{k}b_{l}"), format!("wb{k}b_{l}")])
            .collect();
        lanes.extend([format!("n{k}in_0"), format!("s{k}in_0")]);
        for lane in lanes {
            let len = lens
                .get(&lane)
                .copied()
                .ok_or_else(|| format!("{}: no lane {lane}", net.display()))?;
            let _ = writeln!(
                det,
                r#"  <laneAreaDetector id="e2_{lane}" lane="{lane}" pos="{:.2}" endPos="-0.1" freq="3600" file="NUL" friendlyPos="true"/>"#,
                (len - 70.0).max(0.0)
            );
            let _ = writeln!(
                det,
                r#"  <inductionLoop id="e1_{lane}" lane="{lane}" pos="-30" freq="3600" file="NUL" friendlyPos="true"/>"#
            );
        }
    }
    det.push_str("</additional>\n");
    let det = write(dir, "corridor.det.xml", &det)?;
    Ok((net, actuated, fixed, det))
}

/// Routes: one `<route>` per origin-destination pair (tlsCoordinator.py reads them), one Poisson
/// flow on each for `seconds`. The arterial through vehicles (`thru_*`) are of type `thru`, which
/// carries an FCD device for the time-space diagram when one is recorded.
fn write_routes(dir: &Path, seconds: u32) -> Result<PathBuf, String> {
    let mut r = String::from(
        r#"<routes>
  <vType id="car" length="5" minGap="2.5" maxSpeed="16.67" accel="2.6" decel="4.5" sigma="0.5"/>
  <vType id="thru" length="5" minGap="2.5" maxSpeed="16.67" accel="2.6" decel="4.5" sigma="0.5">
    <param key="has.fcd.device" value="true"/>
  </vType>
"#,
    );
    for (id, from, to, _) in demand() {
        let (edges, _) = route(from, to).ok_or_else(|| format!("no route for {id}"))?;
        let _ = writeln!(r, r#"  <route id="r_{id}" edges="{}"/>"#, edges.join(" "));
    }
    for (id, _, _, rate) in demand() {
        let t = if id.starts_with("thru_") { "thru" } else { "car" };
        let _ = writeln!(
            r,
            r#"  <flow id="{id}" type="{t}" route="r_{id}" begin="0" end="{seconds}" period="exp({:.6})" departLane="best" departSpeed="max"/>"#,
            rate / 3600.0
        );
    }
    r.push_str("</routes>\n");
    write(dir, "corridor.rou.xml", &r)
}

/// The timing an engineer would set: Webster on the design volumes of every signal.
#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    /// Common cycle: Webster's cycle of the critical intersection, whole seconds.
    pub cycle_s: u32,
    /// Webster's cycle of every signal on its own, seconds.
    pub own_cycle_s: Vec<f64>,
    /// Splits per signal and phase 1..8 (index 0..7), seconds incl. yellow and red clearance.
    pub splits_s: Vec<[u32; 8]>,
    /// Offsets (start of the eastbound through green), seconds, from `greenwave offsets`.
    pub offsets_s: Vec<u32>,
    pub eastbound_band_s: f64,
    pub westbound_band_s: f64,
}

/// Site file text of signal k: arterial-minor's phases without crosswalks, design volumes from
/// the demand, its `[sumo]` mapping, and with `pattern`: pattern 1 selected all day.
fn site_text(k: usize, vol: &[f64; 8], map: &str, cycle_range: (u32, u32), pattern: Option<(&Timing, bool)>) -> String {
    let phase = |n: u8,
                 name: &str,
                 approach: &str,
                 movements: &str,
                 min: u32,
                 max: u32,
                 passage: f64,
                 recall: &str,
                 speed: u32,
                 width: u32,
                 lanes: u32,
                 extra: &str| {
        format!(
            "[[phase]]\nnumber = {n}\nname = \"{name}\"\napproach = \"{approach}\"\nmovements = {movements}\nmin_green_s = {min}\nmax_green_s = {max}\npassage_s = {passage:.1}\nrecall = \"{recall}\"\nspeed_kmh = {speed}\ngrade_pct = 0\ncrossing_width_m = {width}\nlanes = {lanes}\ndesign_volume_vph = {:.0}\n{extra}\n",
            vol[usize::from(n) - 1].max(1.0)
        )
    };
    let mut s = format!(
        "# Main Street & {k}th Ave: signal {k} of the SUMO corridor (greenwave-sumo corridor), generated.\n\
         [site]\nname = \"Main St & {k}th Ave\"\ndevice_id = {k}\ntick_ms = 100\nrest = \"green\"\nplanner = \"adaptive\"\ntime_zone = \"UTC\"\n\
         cycle_min_s = {}\ncycle_max_s = {}\nstartup_red_s = 4\nsaturation_flow_vphpl = 1800\nflash = \"red\"\nfixed_time_lefts = \"protected\"\ndetector_stale_s = 2\n\n\
         [structure]\nrings = [[1, 2, 4], [5, 6, 8]]\nbarriers = [[1, 2, 5, 6], [4, 8]]\n\n",
        cycle_range.0, cycle_range.1
    );
    s += &phase(
        1,
        "WB left",
        "E",
        "[\"left\"]",
        5,
        20,
        2.5,
        "none",
        60,
        22,
        1,
        "permissive = 2\n",
    );
    s += &phase(
        2,
        "EB through",
        "W",
        "[\"through\", \"right\"]",
        12,
        50,
        3.0,
        "min",
        60,
        14,
        2,
        "",
    );
    s += &phase(
        4,
        "SB cross",
        "N",
        "[\"left_yield\", \"through\", \"right\"]",
        8,
        35,
        3.0,
        "none",
        40,
        24,
        1,
        "",
    );
    s += &phase(
        5,
        "EB left",
        "W",
        "[\"left\"]",
        5,
        20,
        2.5,
        "none",
        60,
        22,
        1,
        "permissive = 6\n",
    );
    s += &phase(
        6,
        "WB through",
        "E",
        "[\"through\", \"right\"]",
        12,
        50,
        3.0,
        "min",
        60,
        14,
        2,
        "",
    );
    s += &phase(
        8,
        "NB cross",
        "S",
        "[\"left_yield\", \"through\", \"right\"]",
        8,
        35,
        3.0,
        "none",
        40,
        24,
        1,
        "",
    );
    for (n, p, name) in [
        (1, 1, "E left lane"),
        (2, 2, "W lane 1"),
        (3, 2, "W lane 2"),
        (4, 4, "N lane"),
        (5, 5, "W left lane"),
        (6, 6, "E lane 1"),
        (7, 6, "E lane 2"),
        (8, 8, "S lane"),
    ] {
        let _ = write!(s, "[[detector]]\nnumber = {n}\nphase = {p}\nname = \"{name}\"\n\n");
    }
    if let Some((t, adaptive)) = pattern {
        let sp = &t.splits_s[k - 1];
        let _ = write!(
            s,
            "# Coordination: pattern 1 all day, every day (cycle by Webster on the critical signal, splits by\n\
             # Webster on this signal's volumes, offset from `greenwave offsets`).\n\
             [[pattern]]\nnumber = 1\ncycle_s = {}\noffset_s = {}\noffset_ref = \"green_start\"\ncoordinated = [2, 6]\n\
             splits = {{ 1 = {}, 2 = {}, 4 = {}, 5 = {}, 6 = {}, 8 = {} }}\nlag = [1, 5]\nadaptive = {adaptive}\ntransition = \"short_way\"\n\n\
             [[day_plan]]\nnumber = 1\nevents = [ {{ at = \"00:00\", action = \"pattern 1\" }} ]\n\n\
             [schedule]\nmonday = 1\ntuesday = 1\nwednesday = 1\nthursday = 1\nfriday = 1\nsaturday = 1\nsunday = 1\n\n",
            t.cycle_s, t.offsets_s[k - 1], sp[0], sp[1], sp[3], sp[4], sp[5], sp[7]
        );
    }
    s += map;
    s
}

/// The `[sumo]` table of signal k, from the links netconvert gave its traffic light.
fn sumo_map(net: &Path, k: usize) -> Result<String, String> {
    let info = net::read_tls(net, &tls(k))?;
    let mut phases: [(Vec<usize>, Vec<usize>); 8] = Default::default();
    for l in &info.links {
        let from = l.from.as_str();
        let (p, yields) = if from == format!("eb{k}b") {
            if l.dir == "l" || l.dir == "L" {
                (5, false)
            } else {
                (2, false)
            }
        } else if from == format!("wb{k}b") {
            if l.dir == "l" || l.dir == "L" {
                (1, false)
            } else {
                (6, false)
            }
        } else if from == format!("n{k}in") {
            (4, l.dir != "s")
        } else if from == format!("s{k}in") {
            (8, l.dir != "s")
        } else {
            return Err(format!(
                "{}: link {} of {} from unknown edge {from}",
                net.display(),
                l.index,
                tls(k)
            ));
        };
        let e = &mut phases[p - 1];
        if yields {
            e.1.push(l.index);
        } else {
            e.0.push(l.index);
        }
    }
    let mut s = format!(
        "# Co-simulation: traffic light `{}` of the generated corridor net; link indices from the net.\n[sumo]\ntls = \"{}\"\ndark_links = []\n\n",
        tls(k),
        tls(k)
    );
    for p in [1usize, 2, 4, 5, 6, 8] {
        let (g, y) = &phases[p - 1];
        let _ = write!(s, "[[sumo.phase]]\nnumber = {p}\nlinks = {g:?}\n");
        if !y.is_empty() {
            let _ = writeln!(s, "permissive_links = {y:?}");
        }
        s.push('\n');
    }
    for (ch, lane) in [
        (1, format!("wb{k}b_2")),
        (2, format!("eb{k}b_0")),
        (3, format!("eb{k}b_1")),
        (4, format!("n{k}in_0")),
        (5, format!("eb{k}b_2")),
        (6, format!("wb{k}b_0")),
        (7, format!("wb{k}b_1")),
        (8, format!("s{k}in_0")),
    ] {
        let _ = write!(
            s,
            "[[sumo.detector]]\nchannel = {ch}\ne1 = \"e1_{lane}\"\ne2 = \"e2_{lane}\"\n\n"
        );
    }
    Ok(s)
}

/// Splits at `cycle_s` from Webster on `site`'s design volumes, whole seconds, rings meeting at
/// the barrier: per phase index, incl. yellow and red clearance.
fn splits_at(site_text_at: &str, file: &str, cycle_s: u32) -> Result<[u32; 8], String> {
    let site = Site::parse(site_text_at, file).map_err(|e| e.to_string())?;
    let plan = webster::plan(&site, &webster::design_flows(&site));
    if plan.cycle_ms != cycle_s * 1000 {
        return Err(format!(
            "{file}: Webster ran {} ms, not the common {cycle_s} s",
            plan.cycle_ms
        ));
    }
    let mut sp = [0u32; 8];
    for ph in site.phases() {
        let i = ph.id.index();
        sp[i] = ((plan.green_ms[i] + site.change_ms(ph.id)) as f64 / 1000.0).round() as u32;
    }
    // Whole seconds: the cross-street group is the longer of its rings, the arterial group the
    // rest; the coordinated throughs take what their lefts leave.
    let b = sp[3].max(sp[7]);
    sp[3] = b;
    sp[7] = b;
    let a = cycle_s.saturating_sub(b);
    sp[1] = a.saturating_sub(sp[0]);
    sp[5] = a.saturating_sub(sp[4]);
    Ok(sp)
}

/// Webster's timing and the bandwidth offsets for the corridor; writes the corridor file for
/// `greenwave offsets` beside the sites.
pub fn timing(dir: &Path, maps: &[String], cycle_range: (u32, u32)) -> Result<Timing, String> {
    let vols = design_volumes();
    let mut own = Vec::new();
    for k in 1..=JUNCTIONS {
        let text = site_text(k, &vols[k - 1], &maps[k - 1], cycle_range, None);
        let site = Site::parse(&text, "corridor site").map_err(|e| e.to_string())?;
        let plan = webster::plan(&site, &webster::design_flows(&site));
        own.push(f64::from(plan.cycle_ms) / 1000.0);
    }
    let cycle_s = own.iter().copied().fold(0.0, f64::max).ceil() as u32;
    let mut splits = Vec::new();
    for k in 1..=JUNCTIONS {
        let text = site_text(k, &vols[k - 1], &maps[k - 1], (cycle_s, cycle_s), None);
        splits.push(splits_at(&text, &format!("signal {k}"), cycle_s)?);
    }
    // Corridor file: through greens = split − yellow − red clearance of phases 2 and 6. With both
    // lefts lagging, 2 and 6 start together at every signal (internal offset 0).
    // MAXBAND's k: the westbound / eastbound through volume ratio.
    let ratio = vols.iter().map(|v| v[5]).sum::<f64>() / vols.iter().map(|v| v[1]).sum::<f64>().max(1.0);
    let mut c = format!(
        "# Generated by greenwave-sumo corridor: the SUMO corridor's signals, Webster splits at the common cycle.\n\
         [corridor]\nname = \"SUMO corridor\"\ncycle_s = {cycle_s}\noutbound = \"eastbound\"\ninbound = \"westbound\"\n\
         inbound_weight = {ratio:.2}   # westbound / eastbound through volume\n\n"
    );
    for k in 1..=JUNCTIONS {
        let text = site_text(k, &vols[k - 1], &maps[k - 1], (cycle_s, cycle_s), None);
        let site = Site::parse(&text, "corridor site").map_err(|e| e.to_string())?;
        let change = |p: u8| PhaseId::new(p).map(|id| site.change_ms(id)).unwrap_or(0) as f64 / 1000.0;
        let sp = &splits[k - 1];
        let _ = write!(
            c,
            "[[intersection]]\nname = \"{}\"\ngreen_out_s = {:.1}\ngreen_in_s = {:.1}\n",
            tls(k),
            f64::from(sp[1]) - change(2),
            f64::from(sp[5]) - change(6)
        );
        if k > 1 {
            let _ = write!(
                c,
                "distance_m = {}\nspeed_out_kmh = {PROGRESSION_KMH}\n",
                X_M[k - 1] - X_M[k - 2]
            );
        }
        c.push('\n');
    }
    let path = write(dir, "corridor.toml", &c)?;
    let file = CorridorFile::load(&path)?;
    let sol = offsets::solve(&file.corridor()?);
    Ok(Timing {
        cycle_s,
        own_cycle_s: own,
        splits_s: splits,
        offsets_s: sol.offsets.iter().map(|o| o.round() as u32 % cycle_s).collect(),
        eastbound_band_s: sol.bands.outbound_s,
        westbound_band_s: sol.bands.inbound_s,
    })
}

/// One row of the corridor table: the bench's keys plus the arterial's.
#[derive(Clone, Debug, Serialize)]
pub struct CorridorRow {
    pub name: String,
    pub vehicles: u64,
    pub mean_time_loss_s: f64,
    pub mean_depart_delay_s: f64,
    pub mean_waiting_s: f64,
    pub score_s: f64,
    pub wall_s: f64,
    pub steps_per_s: f64,
    /// Arterial through vehicles (whole corridor, both directions): mean trip time, seconds.
    pub arterial_travel_time_s: f64,
    /// Their mean number of stops (tripinfo `waitingCount`).
    pub arterial_stops_per_veh: f64,
    pub arterial_vehicles: u64,
    /// Conflict-monitor faults summed over the five controllers (greenwave rows).
    pub faults: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greenwave: Option<BridgeReport>,
}

/// Trip means of all vehicles and of the arterial through vehicles.
fn read_trips(path: &Path) -> Result<(net::TripSummary, u64, f64, f64), String> {
    let all = net::read_trip_summary(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut n, mut tt, mut stops) = (0u64, 0.0, 0.0);
    for t in doc.root_element().children().filter(|n| n.has_tag_name("tripinfo")) {
        if !t.attribute("id").unwrap_or("").starts_with("thru_") {
            continue;
        }
        let f = |a: &str| t.attribute(a).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        n += 1;
        tt += f("duration");
        stops += f("waitingCount");
    }
    if n == 0 {
        return Err(format!("{}: no arterial through vehicle finished", path.display()));
    }
    Ok((all, n, tt / n as f64, stops / n as f64))
}

fn row(name: &str, trip: &Path, wall_s: f64) -> Result<CorridorRow, String> {
    let (s, n, tt, stops) = read_trips(trip)?;
    Ok(CorridorRow {
        name: name.to_string(),
        vehicles: s.vehicles,
        mean_time_loss_s: s.mean_time_loss_s,
        mean_depart_delay_s: s.mean_depart_delay_s,
        mean_waiting_s: s.mean_waiting_s,
        score_s: s.mean_time_loss_s + s.mean_depart_delay_s,
        wall_s,
        steps_per_s: 0.0,
        arterial_travel_time_s: tt,
        arterial_stops_per_veh: stops,
        arterial_vehicles: n,
        faults: 0,
        greenwave: None,
    })
}

/// Each signal's coordinated-phase aspects over time, for the diagram: per signal
/// (time s, eastbound char, westbound char) at every change (`G`, `y`, `r`).
pub type SignalTrace = Vec<Vec<(f64, char, char)>>;

/// Runs SUMO alone (its own programs) to the end of the demand; returns the tripinfo path and wall
/// seconds.
fn run_sumo(
    home: &Path,
    net: &Path,
    routes: &Path,
    additional: &str,
    seed: u64,
    dir: &Path,
    tag: &str,
) -> Result<(PathBuf, f64), String> {
    let trip = dir.join(format!("{tag}.tripinfo.xml"));
    let args = run_args(net, &routes.display().to_string(), additional, 0.1, seed, &trip);
    let start = std::time::Instant::now();
    let mut p = SumoProcess::spawn(home, &args, &dir.join(format!("{tag}.sumo.log")))?;
    p.wait(Duration::from_secs(3600))?;
    Ok((trip, start.elapsed().as_secs_f64()))
}

/// Five greenwave controllers drive the corridor, one per signal, each from its own site file;
/// they share only the wall clock (SUMO time 0 = [`EPOCH_UNIX_MS`] on every one). `fcd`: record
/// the arterial through vehicles' positions each second there.
#[allow(clippy::too_many_arguments)]
fn run_greenwave(
    home: &Path,
    cn: &CorridorNet,
    sites: &[(Site, SumoMap)],
    seed: u64,
    dir: &Path,
    tag: &str,
    fcd: Option<&Path>,
) -> Result<(PathBuf, BridgeReport, SignalTrace), String> {
    let trip = dir.join(format!("{tag}.tripinfo.xml"));
    let mut args = run_args(
        &cn.net,
        &cn.routes.display().to_string(),
        &cn.detectors.display().to_string(),
        0.1,
        seed,
        &trip,
    );
    if let Some(f) = fcd {
        args.extend(
            [
                "--fcd-output",
                &f.display().to_string(),
                "--device.fcd.period",
                "1",
                "--device.fcd.probability",
                "0",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
    }
    let port = free_port()?;
    args.extend(["--remote-port".to_string(), port.to_string()]);
    let mut sumo = SumoProcess::spawn(home, &args, &dir.join(format!("{tag}.sumo.log")))?;
    let mut client = Client::connect(port, Duration::from_secs(20), || sumo.check_alive())?;
    let mut cabinets = Vec::new();
    for (site, map) in sites {
        let tls = crate::mapping::check_files(map, site, &cn.net, &[&cn.detectors])?;
        let mut ctl = Controller::new(
            site,
            &greenwave::monitor::card::MmuCard::from_geometry(site),
            Instant::ZERO,
        );
        // The cabinet's wall clock: SUMO time 0 is the common epoch (GPS / NTP time base).
        ctl.set_wall(Instant::ZERO, EPOCH_UNIX_MS);
        cabinets.push((
            ctl,
            DetectorReader::from_map(&map.detector),
            tls.links.len(),
            OutputFrame::ALL_RED,
        ));
    }
    let mut trace: SignalTrace = vec![Vec::new(); sites.len()];
    let mut report = BridgeReport::default();
    let start = std::time::Instant::now();
    let mut batch = Batch::new();
    let step_ms = 100u64;
    let mut k: u64 = 0;
    loop {
        batch.clear();
        for ((site, map), (ctl, det, n, frame)) in sites.iter().zip(&cabinets) {
            let flash = ctl.status().mode == ControllerMode::Flash;
            batch.set_string(
                traci::SET_TLS,
                traci::VAR_TLS_STATE,
                &map.tls,
                &map.state(site, frame, flash, *n),
            );
            det.request(&mut batch);
        }
        batch.get(traci::GET_SIM, traci::VAR_MIN_EXPECTED, "");
        batch.step(0.0);
        let (resp, _) = client.exchange(&batch).map_err(|e| {
            std::thread::sleep(Duration::from_millis(300));
            match sumo.check_alive() {
                Err(dead) => dead,
                Ok(()) => e.to_string(),
            }
        })?;
        k += 1;
        let now = Instant(k * step_ms);
        let t_s = now.0 as f64 / 1000.0;
        let mut at = 0;
        for (j, (ctl, det, _, frame)) in cabinets.iter_mut().enumerate() {
            let snap = det.snapshot(resp.get(at..).unwrap_or(&[]), now);
            at += det.replies();
            *frame = ctl.tick(now, &snap, &InputFrame::default());
            ctl.relay_feedback(now, Ok(*frame));
            while ctl.events_mut().pop().is_some() {
                report.events += 1;
            }
            let ch = |p: u8| match PhaseId::new(p).map(|id| frame.aspect(id)) {
                Some(Aspect::Green) => 'G',
                Some(Aspect::Yellow) => 'y',
                _ => 'r',
            };
            let (e, w) = (ch(2), ch(6));
            if trace[j].last().is_none_or(|&(_, a, b)| (a, b) != (e, w)) {
                trace[j].push((t_s, e, w));
            }
        }
        let expected = resp.get(at).and_then(|r| r.value.as_i32()).unwrap_or(0);
        if expected <= 0 && k > 10 {
            break;
        }
        if k > 4 * 3600 * 1000 / step_ms {
            return Err(format!(
                "{tag}: the network did not empty within 4 simulated hours (gridlock?)"
            ));
        }
    }
    batch.clear();
    batch.close();
    client.exchange(&batch).map_err(|e| e.to_string())?;
    sumo.wait(Duration::from_secs(60))?;
    report.steps = k;
    report.wall_s = start.elapsed().as_secs_f64();
    report.steps_per_s = k as f64 / report.wall_s.max(1e-9);
    report.faults = cabinets.iter().map(|(c, ..)| c.status().faults_total).sum();
    Ok((trip, report, trace))
}

/// What `corridor` takes.
pub struct CorridorOptions {
    pub seconds: u32,
    pub seed: u64,
    pub dir: PathBuf,
    pub plot: Option<PathBuf>,
}

/// The whole report: timing, rows.
#[derive(Serialize)]
pub struct CorridorReport {
    pub seconds: u32,
    pub seed: u64,
    pub timing: Timing,
    /// Offsets SUMO's tlsCoordinator.py gave (traffic light id, seconds).
    pub tls_coordinator_offsets_s: Vec<(String, f64)>,
    pub scenarios: Vec<CorridorScenario>,
}

#[derive(Serialize)]
pub struct CorridorScenario {
    pub name: String,
    pub controllers: Vec<CorridorRow>,
}

/// Site range of the cycle (arterial-minor's).
const CYCLE_RANGE: (u32, u32) = (40, 120);

/// Builds the corridor, times it, runs the five rows; writes the site files, the corridor file
/// and, with `plot`, the time-space diagram of the `greenwave coordinated` run.
pub fn run(home: &Path, o: &CorridorOptions) -> Result<CorridorReport, String> {
    let dir = &o.dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // The common cycle needs the sites, the sites need the net's link indices: the static net's
    // links do not depend on the cycle, so build once for the mapping, then again at the cycle.
    let (net0, _, _, _) = build_nets(home, &dir.join("net"), 90)?;
    let maps: Vec<String> = (1..=JUNCTIONS).map(|k| sumo_map(&net0, k)).collect::<Result<_, _>>()?;
    let timing = timing(dir, &maps, CYCLE_RANGE)?;
    let (net, net_actuated, net_static, detectors) = build_nets(home, &dir.join("net"), timing.cycle_s)?;
    let routes = write_routes(dir, o.seconds)?;
    let cn = CorridorNet {
        dir: dir.clone(),
        net,
        net_actuated,
        net_static,
        detectors,
        routes,
    };
    let vols = design_volumes();
    let sites_for = |pattern: Option<bool>| -> Result<Vec<(Site, SumoMap)>, String> {
        (1..=JUNCTIONS)
            .map(|k| {
                let text = site_text(
                    k,
                    &vols[k - 1],
                    &maps[k - 1],
                    CYCLE_RANGE,
                    pattern.map(|a| (&timing, a)),
                );
                let name = match pattern {
                    None => format!("signal{k}-free.toml"),
                    Some(false) => format!("signal{k}-coordinated.toml"),
                    Some(true) => format!("signal{k}-adaptive-coordinated.toml"),
                };
                let p = write(dir, &name, &text)?;
                let site = Site::load(&p).map_err(|e| e.to_string())?;
                let site = site.with_tick_ms(100).map_err(|e| e.to_string())?;
                Ok((site, SumoMap::load(&p)?))
            })
            .collect()
    };
    let seed = o.seed;
    let mut rows = Vec::new();
    // SUMO actuated, free.
    let (trip, wall) = run_sumo(
        home,
        &cn.net_actuated,
        &cn.routes,
        &cn.detectors.display().to_string(),
        seed,
        dir,
        "sumo-actuated",
    )?;
    rows.push(row("sumo actuated", &trip, wall)?);
    eprintln!("corridor {:<32} score {:6.1} s", "sumo actuated", rows[0].score_s);
    // SUMO static at the common cycle, offsets by tlsCoordinator.py.
    let offsets_file = dir.join("tlsCoordinator.add.xml");
    crate::sumo::run_tool(
        home,
        Command::new("python3")
            .arg(home.join("tools/tlsCoordinator.py"))
            .arg("-n")
            .arg(&cn.net_static)
            .arg("-r")
            .arg(&cn.routes)
            .arg("-o")
            .arg(&offsets_file),
        "tlsCoordinator.py",
    )?;
    let tc_offsets = read_tls_offsets(&offsets_file)?;
    let (trip, wall) = run_sumo(
        home,
        &cn.net_static,
        &cn.routes,
        &format!("{},{}", cn.detectors.display(), offsets_file.display()),
        seed,
        dir,
        "sumo-tlsCoordinator",
    )?;
    rows.push(row("sumo tlsCoordinator", &trip, wall)?);
    eprintln!("corridor {:<32} score {:6.1} s", "sumo tlsCoordinator", rows[1].score_s);
    let mut trace_for_plot = None;
    for (name, pattern) in [
        ("greenwave adaptive", None),
        ("greenwave coordinated", Some(false)),
        ("greenwave adaptive coordinated", Some(true)),
    ] {
        let sites = sites_for(pattern)?;
        let tag = name.replace(' ', "-");
        let fcd = (o.plot.is_some() && pattern == Some(false)).then(|| dir.join(format!("{tag}.fcd.xml")));
        let (trip, rep, trace) = run_greenwave(home, &cn, &sites, seed, dir, &tag, fcd.as_deref())?;
        let mut r = row(name, &trip, rep.wall_s)?;
        r.steps_per_s = rep.steps_per_s;
        r.faults = rep.faults;
        eprintln!(
            "corridor {:<32} score {:6.1} s  ({:.0} steps/s, {} faults)",
            name, r.score_s, rep.steps_per_s, rep.faults
        );
        r.greenwave = Some(rep);
        rows.push(r);
        if let Some(f) = fcd {
            trace_for_plot = Some((f, trace));
        }
    }
    if let (Some(svg), Some((fcd, trace))) = (&o.plot, trace_for_plot) {
        let tracks = read_fcd(&fcd)?;
        // Six cycles or so from the middle of the demand period.
        let mid = f64::from(o.seconds) / 2.0;
        let window = ((mid - 180.0).max(0.0), (mid - 180.0).max(0.0) + 360.0);
        let text = time_space_svg(&trace, &tracks, window, &timing);
        std::fs::write(svg, text).map_err(|e| format!("{}: {e}", svg.display()))?;
    }
    Ok(CorridorReport {
        seconds: o.seconds,
        seed,
        timing,
        tls_coordinator_offsets_s: tc_offsets,
        scenarios: vec![CorridorScenario {
            name: "corridor".into(),
            controllers: rows,
        }],
    })
}

/// The offsets tlsCoordinator.py wrote (`<tlLogic id offset>`).
fn read_tls_offsets(path: &Path) -> Result<Vec<(String, f64)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Vec<(String, f64)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("tlLogic"))
        .filter_map(|n| Some((n.attribute("id")?.to_string(), n.attribute("offset")?.parse().ok()?)))
        .collect();
    if v.is_empty() {
        return Err(format!("{}: tlsCoordinator.py wrote no offsets", path.display()));
    }
    Ok(v)
}

/// Arterial through vehicles' tracks from an FCD file: per vehicle, eastbound?, (time, x).
pub type Tracks = Vec<(bool, Vec<(f64, f64)>)>;

fn read_fcd(path: &Path) -> Result<Tracks, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut by_id: std::collections::BTreeMap<String, (bool, Vec<(f64, f64)>)> = Default::default();
    for ts in doc.root_element().children().filter(|n| n.has_tag_name("timestep")) {
        let t: f64 = ts.attribute("time").and_then(|v| v.parse().ok()).unwrap_or(0.0);
        for v in ts.children().filter(|n| n.has_tag_name("vehicle")) {
            let id = v.attribute("id").unwrap_or("");
            let Some(x) = v.attribute("x").and_then(|x| x.parse::<f64>().ok()) else {
                continue;
            };
            if !id.starts_with("thru_") {
                continue;
            }
            by_id
                .entry(id.to_string())
                .or_insert_with(|| (id.starts_with("thru_eb"), Vec::new()))
                .1
                .push((t, x));
        }
    }
    Ok(by_id.into_values().collect())
}

/// The time-space diagram: distance along the arterial (up = east) against time; at each signal
/// two bars, eastbound (phase 2, lower) and westbound (phase 6, upper), green / yellow / red; the
/// arterial through vehicles' trajectories, eastbound blue, westbound purple.
pub fn time_space_svg(trace: &SignalTrace, tracks: &Tracks, window: (f64, f64), t: &Timing) -> String {
    let (w, h) = (1200.0, 720.0);
    let (l, r, top, bottom) = (80.0, 20.0, 46.0, 50.0);
    let (x0, x1) = (-ENTRY_M + 100.0, X_M[JUNCTIONS - 1] + ENTRY_M - 100.0);
    let px = |s: f64| l + (s - window.0) / (window.1 - window.0) * (w - l - r);
    let py = |x: f64| top + (x1 - x) / (x1 - x0) * (h - top - bottom);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="{w}" height="{h}" fill="white"/>
<text x="{l}" y="18" font-size="14">greenwave coordinated: cycle {} s, offsets {:?} s, bands {:.0} s eastbound / {:.0} s westbound</text>
<text x="{l}" y="34">bars: lower eastbound (phase 2), upper westbound (phase 6); trajectories of the through vehicles: eastbound blue, westbound purple</text>
"#,
        t.cycle_s, t.offsets_s, t.eastbound_band_s, t.westbound_band_s
    );
    // Axes.
    let _ = writeln!(
        s,
        r##"<line x1="{l}" y1="{}" x2="{}" y2="{}" stroke="#333"/>"##,
        h - bottom,
        w - r,
        h - bottom
    );
    let _ = writeln!(
        s,
        r##"<line x1="{l}" y1="{top}" x2="{l}" y2="{}" stroke="#333"/>"##,
        h - bottom
    );
    let mut tick = (window.0 / 60.0).ceil() * 60.0;
    while tick <= window.1 {
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="#ddd"/><text x="{0:.1}" y="{3}" text-anchor="middle">{4:.0} s</text>"##,
            px(tick),
            top,
            h - bottom,
            h - bottom + 16.0,
            tick
        );
        tick += 60.0;
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">time (SUMO seconds)</text>"#,
        (l + w - r) / 2.0,
        h - 10.0
    );
    for (j, x) in X_M.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{:.1}" text-anchor="end">J{} {x:.0} m</text>"#,
            l - 4.0,
            py(*x) + 4.0,
            j + 1
        );
    }
    // Signal bars.
    let color = |c: char| match c {
        'G' => "#2ca02c",
        'y' => "#f2c200",
        _ => "#d62728",
    };
    for (j, changes) in trace.iter().enumerate() {
        let y = py(X_M[j]);
        for (i, &(t0, e, wdir)) in changes.iter().enumerate() {
            let t1 = changes.get(i + 1).map(|c| c.0).unwrap_or(f64::INFINITY);
            let (a, b) = (t0.max(window.0), t1.min(window.1));
            if b <= a {
                continue;
            }
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="4" fill="{}"/><rect x="{:.1}" y="{:.1}" width="{:.1}" height="4" fill="{}"/>"#,
                px(a),
                y + 1.0,
                px(b) - px(a),
                color(e),
                px(a),
                y - 5.0,
                px(b) - px(a),
                color(wdir)
            );
        }
    }
    // Trajectories.
    for (east, pts) in tracks {
        let inside: Vec<&(f64, f64)> = pts
            .iter()
            .filter(|(t, x)| *t >= window.0 && *t <= window.1 && (x0..=x1).contains(x))
            .collect();
        if inside.len() < 2 {
            continue;
        }
        let mut d = String::new();
        for (i, (t, x)) in inside.iter().enumerate() {
            let _ = write!(d, "{}{:.0},{:.0} ", if i == 0 { "M" } else { "L" }, px(*t), py(*x));
        }
        let _ = writeln!(
            s,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="0.7" stroke-opacity="0.6"/>"#,
            if *east { "#1f5fbf" } else { "#8e44ad" }
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The table printed after a run.
pub fn print_table(r: &CorridorReport) {
    println!(
        "{:<32} {:>8} {:>9} {:>9} {:>8} {:>9} {:>10} {:>10}",
        "controller", "vehicles", "timeloss", "depdelay", "score", "art. time", "stops/veh", "vs best SUMO"
    );
    let sc = &r.scenarios[0];
    let best = sc
        .controllers
        .iter()
        .filter(|c| c.name.starts_with("sumo"))
        .map(|c| c.score_s)
        .fold(f64::INFINITY, f64::min);
    for c in &sc.controllers {
        println!(
            "{:<32} {:>8} {:>8.1}s {:>8.1}s {:>7.1}s {:>8.1}s {:>10.2} {:>9.2}x",
            c.name,
            c.vehicles,
            c.mean_time_loss_s,
            c.mean_depart_delay_s,
            c.score_s,
            c.arterial_travel_time_s,
            c.arterial_stops_per_veh,
            c.score_s / best
        );
    }
    println!(
        "common cycle {} s (Webster of the critical signal; own cycles {:?}), offsets {:?} s, bands {:.1} s eastbound / {:.1} s westbound",
        r.timing.cycle_s, r.timing.own_cycle_s, r.timing.offsets_s, r.timing.eastbound_band_s, r.timing.westbound_band_s
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demand_pair_has_a_route_through_its_signals() {
        for (id, from, to, _) in demand() {
            let (edges, moves) = route(from, to).unwrap_or_else(|| panic!("{id}"));
            assert!(edges.len() >= 2, "{id}");
            assert!(!moves.is_empty(), "{id}");
        }
        let (edges, moves) = route(End::West, End::East).unwrap();
        assert_eq!(edges.first().map(String::as_str), Some("eb1"));
        assert_eq!(edges.last().map(String::as_str), Some("eb6"));
        assert_eq!(moves, (1..=5).map(|k| (k, 2)).collect::<Vec<_>>());
        let (_, moves) = route(End::North(3), End::West).unwrap();
        assert_eq!(moves, vec![(3, 4), (2, 6), (1, 6)]);
    }

    #[test]
    fn time_space_diagram_draws_bars_and_trajectories_inside_the_window() {
        let t = Timing {
            cycle_s: 60,
            own_cycle_s: vec![60.0; JUNCTIONS],
            splits_s: vec![[10, 30, 0, 20, 10, 30, 0, 20]; JUNCTIONS],
            offsets_s: vec![0; JUNCTIONS],
            eastbound_band_s: 20.0,
            westbound_band_s: 10.0,
        };
        let trace: SignalTrace = (0..JUNCTIONS)
            .map(|_| vec![(0.0, 'G', 'G'), (30.0, 'y', 'y'), (34.0, 'r', 'r'), (60.0, 'G', 'G')])
            .collect();
        let tracks: Tracks = vec![
            (true, (0..100).map(|s| (f64::from(s), f64::from(s) * 15.0)).collect()),
            // Outside the window: not drawn.
            (false, vec![(500.0, 1500.0), (501.0, 1485.0)]),
        ];
        let svg = time_space_svg(&trace, &tracks, (0.0, 90.0), &t);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<path").count(), 1, "one trajectory in the window");
        assert_eq!(
            svg.matches("#f2c200").count(),
            2 * JUNCTIONS,
            "one yellow per signal and direction"
        );
        assert!(svg.contains("#1f5fbf") && !svg.contains("#8e44ad"));
    }

    #[test]
    fn design_volumes_count_every_movement() {
        let v = design_volumes();
        // Signal 1 eastbound through + right: the through flow, the eastbound turners of later
        // signals and the right turners at signal 1.
        assert!((v[0][1] - (800.0 + 4.0 * 60.0 + 30.0)).abs() < 1e-9, "{:?}", v[0]);
        assert!((v[0][4] - 30.0).abs() < 1e-9);
        assert!((v[2][3] - 180.0).abs() < 1e-9);
    }
}
