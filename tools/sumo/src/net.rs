//! Reading SUMO's XML files with a real XML parser (roxmltree): the links of a traffic light and
//! its junction's foe matrix from a `.net.xml`, the detector ids of additional files, and trip /
//! person statistics from a `--tripinfo-output` file.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// One link (signal index) of a traffic light, from the net's `<connection tl=… linkIndex=…>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TlsLink {
    pub index: usize,
    /// Incoming edge (a walking area `:J_wK` for a pedestrian crossing).
    pub from: String,
    pub from_lane: String,
    pub to: String,
    /// Turn direction as netconvert writes it: s, r, l, t, R, L.
    pub dir: String,
    /// The link is a pedestrian crossing.
    pub crossing: bool,
    /// The crossing's edge (`function="crossing"`, `:J_cK`); empty for a vehicle link.
    pub crossing_edge: String,
}

/// What a net says about one traffic light.
#[derive(Clone, Debug, Default)]
pub struct TlsInfo {
    pub id: String,
    /// By link index, 0..n.
    pub links: Vec<TlsLink>,
    /// `foes[i][j]`: SUMO considers links `i` and `j` in conflict (the junction's `<request foes>`).
    pub foes: Vec<Vec<bool>>,
    /// The junction the foe matrix came from.
    pub junction: String,
    /// Walking areas (`function="walkingarea"` edges) of the junction.
    pub walking_areas: BTreeSet<String>,
    /// Lane lengths (m) by lane id, every lane of the net.
    pub lane_lengths: HashMap<String, f64>,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads traffic light `tls` of the net at `path`: its links by index and, from the junction its
/// links pass through, the foe matrix. The junction's request index is the link index (netconvert
/// numbers the links of a traffic light controlling one junction in the junction's order); a
/// junction whose request count differs from the link count is refused.
pub fn read_tls(path: &Path, tls: &str) -> Result<TlsInfo, String> {
    let text = read(path)?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.display();
    let mut info = TlsInfo {
        id: tls.to_string(),
        ..TlsInfo::default()
    };
    let crossing_edges: BTreeSet<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("edge") && n.attribute("function") == Some("crossing"))
        .filter_map(|n| n.attribute("id"))
        .collect();
    let mut links: Vec<TlsLink> = Vec::new();
    let mut junctions = BTreeSet::new();
    for c in doc.descendants().filter(|n| n.has_tag_name("connection")) {
        if c.attribute("tl") != Some(tls) {
            continue;
        }
        let idx = c
            .attribute("linkIndex")
            .ok_or_else(|| format!("{name}: a connection of `{tls}` has no linkIndex"))?;
        let index: usize = idx.parse().map_err(|_| format!("{name}: bad linkIndex {idx:?}"))?;
        let from = c.attribute("from").unwrap_or_default().to_string();
        if let Some(via) = c.attribute("via") {
            // Internal lanes are `:J_k_l`: the junction is `J`.
            if let Some(j) = via.strip_prefix(':').and_then(|v| v.rsplitn(3, '_').nth(2)) {
                junctions.insert(j.to_string());
            }
        }
        let to = c.attribute("to").unwrap_or_default();
        let crossing_edge = [from.as_str(), to]
            .into_iter()
            .find(|e| crossing_edges.contains(e))
            .unwrap_or_default()
            .to_string();
        links.push(TlsLink {
            index,
            crossing: !crossing_edge.is_empty(),
            crossing_edge,
            from,
            from_lane: c.attribute("fromLane").unwrap_or_default().to_string(),
            to: to.to_string(),
            dir: c.attribute("dir").unwrap_or_default().to_string(),
        });
    }
    if links.is_empty() {
        return Err(format!(
            "{name}: no traffic light `{tls}` (no connection has tl=\"{tls}\")"
        ));
    }
    let n = links.iter().map(|l| l.index).max().unwrap_or(0) + 1;
    let mut by_index: Vec<Option<TlsLink>> = vec![None; n];
    for l in links {
        let i = l.index;
        // A link index shared by two connections (netconvert's `linkIndex2` aside) keeps the first.
        if by_index[i].is_none() {
            by_index[i] = Some(l);
        }
    }
    info.links = by_index
        .into_iter()
        .enumerate()
        .map(|(i, l)| l.ok_or_else(|| format!("{name}: traffic light `{tls}` has no link {i}")))
        .collect::<Result<_, _>>()?;
    // Crossings have no `via`: their edges are `:J_cK`.
    for l in info.links.iter().filter(|l| l.crossing) {
        if let Some(j) = l
            .crossing_edge
            .strip_prefix(':')
            .and_then(|v| v.rsplit_once('_'))
            .map(|(j, _)| j)
        {
            junctions.insert(j.to_string());
        }
    }
    if junctions.len() != 1 {
        return Err(format!(
            "{name}: traffic light `{tls}` controls {} junctions ({}); the check reads one junction's foe matrix",
            junctions.len(),
            junctions.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    info.junction = junctions.into_iter().next().unwrap_or_default();
    let junction = doc
        .descendants()
        .find(|n| n.has_tag_name("junction") && n.attribute("id") == Some(info.junction.as_str()))
        .ok_or_else(|| format!("{name}: no junction `{}`", info.junction))?;
    let mut foes = vec![vec![false; n]; n];
    let mut seen = 0;
    for r in junction.children().filter(|c| c.has_tag_name("request")) {
        let i: usize = r
            .attribute("index")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name}: junction `{}` has a request without index", info.junction))?;
        let f = r.attribute("foes").unwrap_or_default().as_bytes();
        if i >= n || f.len() != n {
            return Err(format!(
                "{name}: junction `{}` has {} links in its foe matrix, traffic light `{tls}` has {n}",
                info.junction,
                f.len().max(i + 1)
            ));
        }
        // The foe string is written last link first: character n-1-j is link j.
        for (j, ch) in f.iter().rev().enumerate() {
            foes[i][j] = *ch == b'1';
        }
        seen += 1;
    }
    if seen != n {
        return Err(format!(
            "{name}: junction `{}` has {seen} requests, traffic light `{tls}` has {n} links",
            info.junction
        ));
    }
    // SUMO's matrix is symmetric in what matters here; make it so for the check.
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .filter(|&(i, j)| foes[i][j])
        .collect();
    for (i, j) in pairs {
        foes[j][i] = true;
    }
    info.foes = foes;
    let prefix = format!(":{}_", info.junction);
    for e in doc.descendants().filter(|n| n.has_tag_name("edge")) {
        let id = e.attribute("id").unwrap_or_default();
        if e.attribute("function") == Some("walkingarea") && id.starts_with(&prefix) {
            info.walking_areas.insert(id.to_string());
        }
    }
    for l in doc.descendants().filter(|n| n.has_tag_name("lane")) {
        if let (Some(id), Some(len)) = (l.attribute("id"), l.attribute("length").and_then(|v| v.parse().ok())) {
            info.lane_lengths.insert(id.to_string(), len);
        }
    }
    Ok(info)
}

/// Detector ids defined in additional files: (E1 induction loops, E2 lane-area detectors).
pub fn read_detector_ids(paths: &[impl AsRef<Path>]) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    let (mut e1, mut e2) = (BTreeSet::new(), BTreeSet::new());
    for p in paths {
        let p = p.as_ref();
        let text = read(p)?;
        let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        for n in doc.descendants().filter(|n| n.is_element()) {
            let Some(id) = n.attribute("id") else { continue };
            match n.tag_name().name() {
                "inductionLoop" | "e1Detector" => {
                    e1.insert(id.to_string());
                }
                "laneAreaDetector" | "e2Detector" => {
                    e2.insert(id.to_string());
                }
                _ => {}
            }
        }
    }
    Ok((e1, e2))
}

/// Means of one `--tripinfo-output` file: vehicles and people.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct TripSummary {
    pub vehicles: u64,
    pub mean_time_loss_s: f64,
    pub mean_depart_delay_s: f64,
    pub mean_waiting_s: f64,
    /// The longest any one vehicle stood (SUMO `waitingTime`: time below 0.1 m/s over its trip),
    /// s: a starved approach shows here before it moves a mean.
    pub max_waiting_s: f64,
    /// Emergency vehicles (SUMO vType `ev`) among `vehicles`: count and mean time loss.
    pub emergency: u64,
    pub emergency_time_loss_s: f64,
    /// People who finished their plan.
    pub persons: u64,
    /// Mean time loss of the people's walks (summed over a person's walks), s.
    pub ped_mean_time_loss_s: f64,
    /// The largest time loss of any one person (summed over the person's walks, waits at the
    /// crosswalks included), s.
    pub ped_max_time_loss_s: f64,
}

impl TripSummary {
    /// The bench's score: mean time loss + mean depart delay per vehicle.
    pub fn score_s(&self) -> f64 {
        self.mean_time_loss_s + self.mean_depart_delay_s
    }
}

pub fn read_trip_summary(path: &Path) -> Result<TripSummary, String> {
    read_trip_summary_where(path, |_| true)
}

/// Trip means of the vehicles whose id starts with `prefix` and of all others, e.g. buses
/// (`bus_`) and the general traffic. Either group may be empty (an error then).
pub fn read_trip_summary_split(
    path: &Path,
    prefix: &str,
) -> (Result<TripSummary, String>, Result<TripSummary, String>) {
    (
        read_trip_summary_where(path, |id| id.starts_with(prefix)),
        read_trip_summary_where(path, |id| !id.starts_with(prefix)),
    )
}

/// The means of the vehicles whose id passes `keep`, and of all people. An error when no such
/// vehicle finished.
pub fn read_trip_summary_where(path: &Path, keep: impl Fn(&str) -> bool) -> Result<TripSummary, String> {
    let text = read(path)?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut s = TripSummary::default();
    let (mut tl, mut dd, mut wt, mut etl, mut ptl) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let num = |n: roxmltree::Node, a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok());
    for n in doc.root_element().children().filter(|n| n.is_element()) {
        match n.tag_name().name() {
            "tripinfo" => {
                if !keep(n.attribute("id").unwrap_or("")) {
                    continue;
                }
                let t = num(n, "timeLoss").ok_or_else(|| format!("{}: tripinfo without timeLoss", path.display()))?;
                s.vehicles += 1;
                tl += t;
                dd += num(n, "departDelay").unwrap_or(0.0);
                let w = num(n, "waitingTime").unwrap_or(0.0);
                wt += w;
                s.max_waiting_s = s.max_waiting_s.max(w);
                if n.attribute("vType") == Some("ev") {
                    s.emergency += 1;
                    etl += t;
                }
            }
            "personinfo" => {
                s.persons += 1;
                let loss = n
                    .children()
                    .filter(|c| c.has_tag_name("walk"))
                    .filter_map(|w| num(w, "timeLoss"))
                    .sum::<f64>();
                ptl += loss;
                s.ped_max_time_loss_s = s.ped_max_time_loss_s.max(loss);
            }
            _ => {}
        }
    }
    if s.vehicles == 0 {
        return Err(format!("{}: no vehicle finished", path.display()));
    }
    let n = s.vehicles as f64;
    s.mean_time_loss_s = tl / n;
    s.mean_depart_delay_s = dd / n;
    s.mean_waiting_s = wt / n;
    if s.emergency > 0 {
        s.emergency_time_loss_s = etl / s.emergency as f64;
    }
    if s.persons > 0 {
        s.ped_mean_time_loss_s = ptl / s.persons as f64;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("gw-net-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn tls_links_and_foes() {
        let p = tmp(
            "t.net.xml",
            r#"<net>
  <edge id=":J_c0" function="crossing"/>
  <edge id=":J_w0" function="walkingarea"><lane id=":J_w0_0" length="3"/></edge>
  <edge id="a"><lane id="a_0" length="90.5"/></edge>
  <junction id="J" type="traffic_light">
    <request index="0" response="000" foes="010" cont="0"/>
    <request index="1" response="001" foes="001" cont="0"/>
    <request index="2" response="000" foes="000" cont="0"/>
  </junction>
  <connection from="a" to="b" fromLane="0" toLane="0" via=":J_0_0" tl="J" linkIndex="0" dir="s" state="O"/>
  <connection from="c" to="d" fromLane="1" toLane="0" via=":J_1_0" tl="J" linkIndex="1" dir="l" state="O"/>
  <connection from=":J_w0" to=":J_c0" fromLane="0" toLane="0" tl="J" linkIndex="2" dir="s" state="O"/>
</net>"#,
        );
        let t = read_tls(&p, "J").unwrap();
        assert_eq!(t.links.len(), 3);
        assert!(t.foes[0][1] && t.foes[1][0]);
        assert!(!t.foes[0][2] && !t.foes[2][2]);
        assert!(t.links[2].crossing && !t.links[0].crossing);
        assert_eq!(t.links[2].crossing_edge, ":J_c0");
        assert_eq!(t.links[1].from_lane, "1");
        assert!(t.walking_areas.contains(":J_w0"));
        assert_eq!(t.lane_lengths.get("a_0"), Some(&90.5));
        assert!(read_tls(&p, "K").is_err());
    }

    #[test]
    fn trip_summary_with_people() {
        let p = tmp(
            "trip.xml",
            r#"<tripinfos>
    <tripinfo id="a" departDelay="2.00" waitingTime="4.00" timeLoss="10.00"/>
    <tripinfo id="b" departDelay="0.00" waitingTime="0.00" timeLoss="2.00"/>
    <personinfo id="p0"><walk duration="50" timeLoss="12.5"/><walk timeLoss="1.5"/></personinfo>
    <personinfo id="p1"><walk duration="50" timeLoss="6.0"/></personinfo>
</tripinfos>"#,
        );
        let s = read_trip_summary(&p).unwrap();
        assert_eq!((s.vehicles, s.persons), (2, 2));
        assert!((s.score_s() - 7.0).abs() < 1e-9);
        assert!((s.ped_mean_time_loss_s - 10.0).abs() < 1e-9);
        // Longest: vehicle a's 4 s standing; person p0's two walks, 12.5 + 1.5 s.
        assert!((s.max_waiting_s - 4.0).abs() < 1e-9);
        assert!((s.ped_max_time_loss_s - 14.0).abs() < 1e-9);
    }

    #[test]
    fn tripinfo_means() {
        let dir = std::env::temp_dir().join(format!("gw-trip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.xml");
        std::fs::write(
            &p,
            r#"<tripinfos>
    <tripinfo id="a" depart="1.00" departDelay="2.00" duration="30.00" waitingTime="4.00" timeLoss="10.00" vType="car"/>
    <tripinfo id="ev_0" depart="1.00" departDelay="0.00" duration="30.00" waitingTime="0.00" timeLoss="2.00" vType="ev"/>
</tripinfos>"#,
        )
        .unwrap();
        let s = read_trip_summary(&p).unwrap();
        assert_eq!(s.vehicles, 2);
        assert!((s.mean_time_loss_s - 6.0).abs() < 1e-9);
        assert!((s.mean_depart_delay_s - 1.0).abs() < 1e-9);
        assert!(
            (s.max_waiting_s - 4.0).abs() < 1e-9,
            "the longest single wait, not the mean"
        );
        assert_eq!(s.emergency, 1);
        assert!((s.emergency_time_loss_s - 2.0).abs() < 1e-9);
        let (ev, rest) = read_trip_summary_split(&p, "ev_");
        let (ev, rest) = (ev.unwrap(), rest.unwrap());
        assert_eq!((ev.vehicles, rest.vehicles), (1, 1));
        assert!((ev.mean_time_loss_s - 2.0).abs() < 1e-9);
        assert!((rest.mean_time_loss_s - 10.0).abs() < 1e-9);
        assert!(read_trip_summary_split(&p, "bus_").0.is_err(), "no bus finished");
        std::fs::write(&p, "<tripinfos/>").unwrap();
        assert!(read_trip_summary(&p).is_err());
    }
}
