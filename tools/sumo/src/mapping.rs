//! The site file's `[sumo]` table: how greenwave's phases, pedestrian heads and detector channels
//! map onto a SUMO traffic light, and the check of that mapping against the net.
//!
//! ```toml
//! [sumo]
//! tls = "C"                  # the traffic light's id in the net
//! dark_links = []            # links no phase drives: always red (`r`), stated, never guessed
//!
//! [[sumo.phase]]             # one per vehicle phase
//! number = 1
//! links = [11]               # `G` while the phase is green (protected)
//! permissive_links = []      # `g` while the phase is green: turners that yield (shared lane, crosswalk)
//! flashing_links = [11]      # `g` while its flashing yellow arrow runs [default: `links`]
//!
//! [[sumo.ped]]               # one per pedestrian crossing, by the phase it runs with
//! phase = 2
//! links = [16]               # crossing links: `G` during walk, `r` otherwise
//! walking_areas = [":C_w1"]  # people waiting here for one of these crossings press the button
//!
//! [[sumo.detector]]          # one per detector channel of the site
//! channel = 1
//! e1 = "e1_N2C_2"            # SUMO induction loop: presence and counts
//! e2 = "e2_N2C_2"            # SUMO lane-area detector: standing queue and its length
//! ```
//!
//! Link state per step: each link takes the highest of what its phases give it (`G` > `g` > `y` >
//! `r`); a phase's links show `y` in its yellow; in flash every vehicle link shows `s` (red flash,
//! stop then go) or `o` (yellow flash) by the phase's flash colour, crossings `r`.
//!
//! [`check`]: every link of the traffic light mapped exactly as driven or dark, indices in range,
//! detectors and walking areas present, and — from the junction's foe matrix — no two links SUMO
//! considers in conflict both given `G` by phases greenwave may time together (the same phase, or
//! two phases the site's ring/barrier structure lets run at once). Pedestrian walks count as `G`.

use crate::net::TlsInfo;
use greenwave::config::{FlashColor, Site};
use greenwave::signal::frame::{Aspect, OutputFrame};
use greenwave::signal::phase::PhaseId;
use serde::Deserialize;
use std::path::Path;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhaseLinks {
    pub number: u8,
    #[serde(default)]
    pub links: Vec<usize>,
    #[serde(default)]
    pub permissive_links: Vec<usize>,
    /// Shown `g` while the phase's flashing yellow arrow runs; `None` = `links`.
    #[serde(default)]
    pub flashing_links: Option<Vec<usize>>,
}

impl PhaseLinks {
    pub fn flashing(&self) -> &[usize] {
        self.flashing_links.as_deref().unwrap_or(&self.links)
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PedLinks {
    pub phase: u8,
    pub links: Vec<usize>,
    #[serde(default)]
    pub walking_areas: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DetectorIds {
    pub channel: u8,
    #[serde(default)]
    pub e1: Option<String>,
    #[serde(default)]
    pub e2: Option<String>,
}

/// The `[sumo]` table.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SumoMap {
    pub tls: String,
    #[serde(default)]
    pub dark_links: Vec<usize>,
    #[serde(default)]
    pub phase: Vec<PhaseLinks>,
    #[serde(default)]
    pub ped: Vec<PedLinks>,
    #[serde(default)]
    pub detector: Vec<DetectorIds>,
}

#[derive(Deserialize)]
struct FileWithSumo {
    sumo: Option<toml::Value>,
}

/// The reference site (`board/sites/nema8-4leg.toml`), whose `[sumo]` table maps the generated
/// reference net.
pub const REFERENCE_SITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../board/sites/nema8-4leg.toml");

/// What a link shows, by rank (the highest a link's phases give it wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Show {
    Red,
    Yellow,
    Yield,
    Go,
}

impl SumoMap {
    /// The `[sumo]` table of a site file.
    pub fn load(site_file: &Path) -> Result<SumoMap, String> {
        let text = std::fs::read_to_string(site_file).map_err(|e| format!("{}: {e}", site_file.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", site_file.display()))
    }

    pub fn parse(site_text: &str) -> Result<SumoMap, String> {
        let f: FileWithSumo = toml::from_str(site_text).map_err(|e| e.to_string())?;
        let v = f
            .sumo
            .ok_or("no [sumo] table: map the traffic light's links, crossings and detectors (README, \"Evaluate your own intersection in SUMO\")")?;
        SumoMap::deserialize(v).map_err(|e| format!("[sumo]: {e}"))
    }

    /// The reference site's mapping.
    pub fn reference() -> Result<SumoMap, String> {
        Self::load(Path::new(REFERENCE_SITE))
    }

    /// Number of links the mapping names (the highest index + 1).
    pub fn link_count(&self) -> usize {
        self.all_links().map(|(i, _)| i + 1).max().unwrap_or(0)
    }

    /// Every mapped link index with what maps it, for the check.
    fn all_links(&self) -> impl Iterator<Item = (usize, String)> + '_ {
        let veh = self.phase.iter().flat_map(|p| {
            p.links
                .iter()
                .chain(&p.permissive_links)
                .chain(p.flashing())
                .map(move |&i| (i, format!("phase {}", p.number)))
        });
        let ped = self.ped.iter().flat_map(|p| {
            p.links
                .iter()
                .map(move |&i| (i, format!("crossing of phase {}", p.phase)))
        });
        let dark = self.dark_links.iter().map(|&i| (i, "dark_links".to_string()));
        veh.chain(ped).chain(dark)
    }

    /// The state string for greenwave's frame (`flash`: the controller is in flash).
    pub fn state(&self, site: &Site, frame: &OutputFrame, flash: bool, n: usize) -> String {
        let mut show = vec![Show::Red; n];
        let mut raise = |i: usize, s: Show| {
            if let Some(x) = show.get_mut(i) {
                *x = (*x).max(s);
            }
        };
        for p in &self.phase {
            let Some(id) = PhaseId::new(p.number) else { continue };
            match frame.aspect(id) {
                Aspect::Green => {
                    p.links.iter().for_each(|&i| raise(i, Show::Go));
                    p.permissive_links.iter().for_each(|&i| raise(i, Show::Yield));
                }
                Aspect::FlashingYellow => p.flashing().iter().for_each(|&i| raise(i, Show::Yield)),
                Aspect::Yellow => p
                    .links
                    .iter()
                    .chain(&p.permissive_links)
                    .chain(p.flashing())
                    .for_each(|&i| raise(i, Show::Yellow)),
                _ => {}
            }
        }
        for c in &self.ped {
            if PhaseId::new(c.phase).is_some_and(|p| frame.walk(p)) {
                c.links.iter().for_each(|&i| raise(i, Show::Go));
            }
        }
        let mut out: Vec<char> = show
            .iter()
            .map(|s| match s {
                Show::Go => 'G',
                Show::Yield => 'g',
                Show::Yellow => 'y',
                Show::Red => 'r',
            })
            .collect();
        if flash {
            for p in &self.phase {
                let c = match PhaseId::new(p.number).and_then(|id| site.phase(id)).map(|ph| ph.flash) {
                    Some(FlashColor::Yellow) => 'o',
                    _ => 's',
                };
                for &i in p.links.iter().chain(&p.permissive_links).chain(p.flashing()) {
                    if let Some(x) = out.get_mut(i) {
                        *x = c;
                    }
                }
            }
            for c in &self.ped {
                for &i in &c.links {
                    if let Some(x) = out.get_mut(i) {
                        *x = 'r';
                    }
                }
            }
        }
        out.into_iter().collect()
    }
}

/// Checks `map` for `site` against the traffic light read from the net, and the detector ids
/// against those of the additional files (`e1`, `e2`). All problems are listed, one a line.
pub fn check(
    map: &SumoMap,
    site: &Site,
    tls: &TlsInfo,
    e1: &std::collections::BTreeSet<String>,
    e2: &std::collections::BTreeSet<String>,
) -> Result<(), String> {
    let n = tls.links.len();
    let mut errs: Vec<String> = Vec::new();
    if map.tls != tls.id {
        errs.push(format!("[sumo] tls = {:?}, the net was read for {:?}", map.tls, tls.id));
    }
    let mut owners: Vec<Vec<String>> = vec![Vec::new(); n];
    for (i, who) in map.all_links() {
        match owners.get_mut(i) {
            Some(o) => {
                if !o.contains(&who) {
                    o.push(who);
                }
            }
            None => errs.push(format!(
                "{who}: link {i} is out of range (traffic light `{}` has links 0..{})",
                tls.id,
                n.saturating_sub(1)
            )),
        }
    }
    for (i, o) in owners.iter().enumerate() {
        let l = &tls.links[i];
        let what = if l.crossing {
            format!("crossing {}", l.crossing_edge)
        } else {
            format!("{} lane {} → {}", l.from, l.from_lane, l.to)
        };
        if o.is_empty() {
            errs.push(format!(
                "link {i} ({what}) is not mapped: give it to a phase or list it in dark_links"
            ));
        } else if o.iter().any(|w| w == "dark_links") && o.len() > 1 {
            errs.push(format!(
                "link {i} ({what}) is in dark_links and driven by {}",
                o.join(", ")
            ));
        }
        let veh = o.iter().any(|w| w.starts_with("phase"));
        let ped = o.iter().any(|w| w.starts_with("crossing"));
        if l.crossing && veh {
            errs.push(format!(
                "link {i} is pedestrian crossing {} but mapped to a vehicle phase",
                l.crossing_edge
            ));
        }
        if !l.crossing && ped {
            errs.push(format!("link {i} ({what}) is a vehicle link but mapped as a crossing"));
        }
    }
    let configured = site.phase_set();
    for p in &map.phase {
        match PhaseId::new(p.number) {
            Some(id) if configured.contains(id) => {}
            _ => errs.push(format!("[[sumo.phase]] {}: the site has no such phase", p.number)),
        }
    }
    for c in &map.ped {
        match PhaseId::new(c.phase).and_then(|id| site.phase(id)) {
            Some(ph) if ph.ped.is_some() => {}
            _ => errs.push(format!(
                "[[sumo.ped]] phase {}: the site has no pedestrian crossing on that phase",
                c.phase
            )),
        }
        for w in &c.walking_areas {
            if !tls.walking_areas.contains(w) {
                errs.push(format!(
                    "[[sumo.ped]] phase {}: no walking area `{w}` at junction `{}` (it has {})",
                    c.phase,
                    tls.junction,
                    tls.walking_areas.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    for ph in site.phases().filter(|p| p.ped.is_some()) {
        if !map.ped.iter().any(|c| c.phase == ph.id.number()) && tls.links.iter().any(|l| l.crossing) {
            errs.push(format!(
                "phase {} has a pedestrian crossing in the site but no [[sumo.ped]] entry",
                ph.id.number()
            ));
        }
    }
    for d in &map.detector {
        let in_site = usize::from(d.channel)
            .checked_sub(1)
            .and_then(|i| site.detectors.get(i))
            .is_some_and(Option::is_some);
        if !in_site {
            errs.push(format!(
                "[[sumo.detector]] channel {}: the site has no such detector",
                d.channel
            ));
        }
        if d.e1.is_none() && d.e2.is_none() {
            errs.push(format!("[[sumo.detector]] channel {}: give e1, e2 or both", d.channel));
        }
        if let Some(id) = d.e1.as_ref().filter(|id| !e1.contains(*id)) {
            errs.push(format!(
                "detector channel {}: no induction loop (E1) `{id}` in the additional files",
                d.channel
            ));
        }
        if let Some(id) = d.e2.as_ref().filter(|id| !e2.contains(*id)) {
            errs.push(format!(
                "detector channel {}: no lane-area detector (E2) `{id}` in the additional files",
                d.channel
            ));
        }
    }
    for det in site.detectors.iter().flatten() {
        if !map.detector.iter().any(|d| d.channel == det.number) {
            errs.push(format!("site detector {} has no [[sumo.detector]] entry", det.number));
        }
    }
    // Conflicting greens: (link, who, phase) for every `G` a phase or walk can give.
    let mut greens: Vec<(usize, String, PhaseId)> = Vec::new();
    for p in &map.phase {
        if let Some(id) = PhaseId::new(p.number) {
            greens.extend(p.links.iter().map(|&i| (i, format!("phase {}", p.number), id)));
        }
    }
    for c in &map.ped {
        if let Some(id) = PhaseId::new(c.phase) {
            greens.extend(
                c.links
                    .iter()
                    .map(|&i| (i, format!("the walk of phase {}", c.phase), id)),
            );
        }
    }
    let mut reported = std::collections::BTreeSet::new();
    for (a, (la, wa, pa)) in greens.iter().enumerate() {
        for (lb, wb, pb) in greens.iter().skip(a + 1) {
            let foes = tls.foes.get(*la).and_then(|r| r.get(*lb)).copied().unwrap_or(false);
            let together = pa == pb || !site.conflicts_with(*pa, *pb);
            if foes && together && la != lb && reported.insert((*la.min(lb), *la.max(lb))) {
                errs.push(format!(
                    "conflicting greens: link {la} ({wa}) and link {lb} ({wb}) are foes in junction `{}` \
                     but both get `G` when {} — make one of them permissive (`permissive_links`) or \
                     run the phases apart",
                    tls.junction,
                    if pa == pb {
                        format!("phase {} is green", pa.number())
                    } else {
                        format!("phases {} and {} run together", pa.number(), pb.number())
                    }
                ));
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the [sumo] mapping does not fit the net:\n  {}",
            errs.join("\n  ")
        ))
    }
}

/// Reads the net and the additional files and checks `map` for `site` against them.
pub fn check_files(map: &SumoMap, site: &Site, net: &Path, additional: &[impl AsRef<Path>]) -> Result<TlsInfo, String> {
    let tls = crate::net::read_tls(net, &map.tls)?;
    let (e1, e2) = crate::net::read_detector_ids(additional)?;
    check(map, site, &tls, &e1, &e2)?;
    Ok(tls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::TlsLink;

    fn site() -> Site {
        Site::load(Path::new(REFERENCE_SITE)).unwrap()
    }

    #[test]
    fn reference_table_parses_and_drives_each_phase() {
        let m = SumoMap::reference().unwrap();
        assert_eq!(m.tls, "C");
        assert_eq!(m.phase.len(), 8);
        assert_eq!(m.detector.len(), 12);
        let n = m.link_count();
        assert_eq!(n, 16);
        let s = site();
        let mut f = OutputFrame::ALL_RED;
        f.set_aspect(PhaseId::new(2).unwrap(), Aspect::Green);
        f.set_aspect(PhaseId::new(1).unwrap(), Aspect::FlashingYellow);
        let st = m.state(&s, &f, false, n);
        let p1 = &m.phase[0];
        let p2 = &m.phase[1];
        for &i in &p2.links {
            assert_eq!(st.as_bytes()[i], b'G', "{st}");
        }
        for &i in p1.flashing() {
            assert_eq!(st.as_bytes()[i], b'g', "{st}");
        }
        assert_eq!(st.matches('r').count(), n - p2.links.len() - p1.flashing().len());
        let flash = m.state(&s, &f, true, n);
        assert!(flash.chars().all(|c| c == 's'), "{flash}");
    }

    #[test]
    fn arterial_table_gives_walks_yields_and_arrows() {
        let file = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../board/sites/arterial-minor.toml"
        ));
        let m = SumoMap::load(file).unwrap();
        let s = Site::load(file).unwrap();
        let n = m.link_count();
        assert_eq!(n, 18);
        let mut f = OutputFrame::ALL_RED;
        let p = |n: u8| PhaseId::new(n).unwrap();
        f.set_aspect(p(2), Aspect::Green);
        f.set_aspect(p(6), Aspect::Green);
        f.set_aspect(p(1), Aspect::FlashingYellow);
        f.ped[p(2).index()] = greenwave::signal::frame::ped_lamp::WALK;
        let st = m.state(&s, &f, false, n);
        // 0-2 N (phase 4), 3-6 E (6, left 1), 7-9 S (8), 10-13 W (2, left 5), 14-17 crossings N E S W.
        assert_eq!(st, "rrrgGGgrrrgGGrrrGr", "{st}");
        // Walk over: the crossing is red again; phase 2 in yellow takes its permissive link along.
        f.ped[p(2).index()] = greenwave::signal::frame::ped_lamp::DONT_WALK;
        f.set_aspect(p(2), Aspect::Yellow);
        f.set_aspect(p(1), Aspect::Yellow);
        assert_eq!(m.state(&s, &f, false, n), "rrrgGGyrrryyyrrrrr");
        // The minor street: through G, its turns yield, its walk G.
        let mut f = OutputFrame::ALL_RED;
        f.set_aspect(p(4), Aspect::Green);
        f.set_aspect(p(8), Aspect::Green);
        f.ped[p(4).index()] = greenwave::signal::frame::ped_lamp::WALK;
        assert_eq!(m.state(&s, &f, false, n), "gGgrrrrgGgrrrrrrrG");
    }

    /// Two crossing streams (links 0 and 1 foes), phases 2 and 6 (allowed together) and 4.
    fn tls() -> TlsInfo {
        let link = |i: usize, from: &str| TlsLink {
            index: i,
            from: from.into(),
            from_lane: "0".into(),
            to: "x".into(),
            dir: "s".into(),
            crossing: false,
            crossing_edge: String::new(),
        };
        let mut foes = vec![vec![false; 3]; 3];
        foes[0][1] = true;
        foes[1][0] = true;
        TlsInfo {
            id: "J".into(),
            links: vec![link(0, "a"), link(1, "b"), link(2, "c")],
            foes,
            junction: "J".into(),
            ..TlsInfo::default()
        }
    }

    fn map(text: &str) -> SumoMap {
        SumoMap::parse(text).unwrap()
    }

    fn all_detectors() -> std::collections::BTreeSet<String> {
        (1..=12).map(|i| format!("d{i}")).collect()
    }

    fn dets() -> String {
        (1..=12)
            .map(|i| format!("[[sumo.detector]]\nchannel = {i}\ne1 = \"d{i}\"\n"))
            .collect()
    }

    #[test]
    fn conflicting_greens_are_rejected_with_links_and_phases() {
        // Phases 2 and 6 run together (ring 1 and ring 2, same barrier): links 0 and 1 are foes.
        let bad = map(&format!(
            "[sumo]\ntls = \"J\"\n[[sumo.phase]]\nnumber = 2\nlinks = [0]\n[[sumo.phase]]\nnumber = 6\nlinks = [1]\n\
             [[sumo.phase]]\nnumber = 4\nlinks = [2]\n{}",
            dets()
        ));
        let d = all_detectors();
        let err = check(&bad, &site(), &tls(), &d, &d).unwrap_err();
        assert!(
            err.contains("conflicting greens: link 0 (phase 2) and link 1 (phase 6)"),
            "{err}"
        );
        assert!(err.contains("phases 2 and 6 run together"), "{err}");
        // The same links on phases that never run together (2 and 4, across the barrier) pass,
        assert!(err.lines().count() == 2, "{err}");
        let ok = map(&format!(
            "[sumo]\ntls = \"J\"\n[[sumo.phase]]\nnumber = 2\nlinks = [0]\n[[sumo.phase]]\nnumber = 4\nlinks = [1]\n\
             [[sumo.phase]]\nnumber = 6\nlinks = [2]\n{}",
            dets()
        ));
        check(&ok, &site(), &tls(), &d, &d).unwrap();
        // and so does a yielding (`g`) link with a green foe.
        let yield_ok = map(&format!(
            "[sumo]\ntls = \"J\"\n[[sumo.phase]]\nnumber = 2\nlinks = [0]\n[[sumo.phase]]\nnumber = 6\npermissive_links = [1]\n\
             [[sumo.phase]]\nnumber = 4\nlinks = [2]\n{}",
            dets()
        ));
        check(&yield_ok, &site(), &tls(), &d, &d).unwrap();
    }

    #[test]
    fn coverage_range_and_detectors_are_checked() {
        let d = all_detectors();
        let m = map(&format!(
            "[sumo]\ntls = \"J\"\n[[sumo.phase]]\nnumber = 2\nlinks = [0, 7]\n{}",
            dets().replace("\"d3\"", "\"nope\"")
        ));
        let err = check(&m, &site(), &tls(), &d, &d).unwrap_err();
        assert!(err.contains("link 7 is out of range"), "{err}");
        assert!(err.contains("link 1 (b lane 0 → x) is not mapped"), "{err}");
        assert!(err.contains("link 2 (c lane 0 → x) is not mapped"), "{err}");
        assert!(err.contains("no induction loop (E1) `nope`"), "{err}");
        let dark = map(&format!(
            "[sumo]\ntls = \"J\"\ndark_links = [1, 2]\n[[sumo.phase]]\nnumber = 2\nlinks = [0]\n{}",
            dets()
        ));
        check(&dark, &site(), &tls(), &d, &d).unwrap();
        assert!(SumoMap::parse("[site]\nname = \"x\"\n")
            .unwrap_err()
            .contains("no [sumo] table"));
        assert!(SumoMap::parse("[sumo]\ntls = \"J\"\nbogus = 1\n")
            .unwrap_err()
            .contains("bogus"));
    }
}
