//! The engineer's own net through the site's `[sumo]` table, on the second reference site
//! (`board/sites/arterial-minor.toml`, `tools/sumo/sites/arterial`) with a real SUMO: the check
//! against netconvert's foe matrix, and a 15-minute co-simulation with people pressing buttons.
//! Without SUMO these tests fail when GREENWAVE_REQUIRE_SUMO=1 (CI) and are skipped otherwise.

use greenwave::config::PlannerKind;
use greenwave_sumo::own::{self, OwnNet, RunSpec};
use greenwave_sumo::sumo;
use std::path::{Path, PathBuf};
use std::process::Command;

fn home() -> Option<PathBuf> {
    match sumo::sumo_home() {
        Ok(h) => Some(h),
        Err(e) if std::env::var("GREENWAVE_REQUIRE_SUMO").is_ok_and(|v| v == "1") => panic!("{e}"),
        Err(e) => {
            eprintln!("SKIPPED (no SUMO): {e}");
            None
        }
    }
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn arterial() -> PathBuf {
    root().join("tools/sumo/sites/arterial")
}

fn site_file() -> PathBuf {
    root().join("board/sites/arterial-minor.toml")
}

/// Builds the arterial net with netconvert into a fresh directory.
fn build_net(home: &Path, name: &str) -> (PathBuf, PathBuf) {
    let d = std::env::temp_dir().join(format!("gw-own-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let net = d.join("arterial.net.xml");
    let out = Command::new(home.join("bin/netconvert"))
        .arg("-c")
        .arg(arterial().join("arterial.netccfg"))
        .arg("-o")
        .arg(&net)
        .env("SUMO_HOME", home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (d, net)
}

#[test]
fn check_passes_the_arterial_and_rejects_a_green_right_turn_over_the_walk() {
    let Some(home) = home() else { return };
    let (d, net) = build_net(&home, "check");
    let det = vec![arterial().join("arterial.det.xml")];
    let ok = OwnNet::load(&net, &det, &site_file()).unwrap();
    let line = ok.check().unwrap();
    assert!(line.contains("18 links (4 crossings)"), "{line}");
    // The eastbound right turn (link 10) protected `G` while the south crosswalk (link 16,
    // phase 2's walk) shows walk: SUMO's foe matrix has them in conflict.
    let text = std::fs::read_to_string(site_file()).unwrap();
    let bad_text = text
        .replace("links = [11, 12]     # W → E through", "links = [10, 11, 12]")
        .replace("permissive_links = [10]   # W → S right, over the south crosswalk", "");
    assert_ne!(bad_text, text);
    let bad_file = d.join("bad.toml");
    std::fs::write(&bad_file, bad_text).unwrap();
    let err = OwnNet::load(&net, &det, &bad_file).unwrap().check().unwrap_err();
    assert!(
        err.contains("link 10 (phase 2) and link 16 (the walk of phase 2) are foes"),
        "{err}"
    );
    // The westbound left (link 6) protected with the eastbound left's phase 5, which runs with
    // phase 2: green against the eastbound through (links 11, 12).
    let bad_text = text
        .replace("links = [6]          # E → S left", "links = [] #")
        .replace("links = [13]         # W → N left", "links = [13, 6] # W → N left");
    std::fs::write(&bad_file, bad_text).unwrap();
    let err = OwnNet::load(&net, &det, &bad_file).unwrap().check().unwrap_err();
    assert!(err.contains("link 6 (phase 5)"), "{err}");
    assert!(err.contains("phases 2 and 5 run together"), "{err}");
    // A missing detector and an unmapped link are named.
    let bad_text = text
        .replace("e1 = \"e1_S2C_1\"", "e1 = \"e1_S2C_9\"")
        .replace("links = [8]          # S → N through", "links = [] #");
    std::fs::write(&bad_file, bad_text).unwrap();
    let err = OwnNet::load(&net, &det, &bad_file).unwrap().check().unwrap_err();
    assert!(err.contains("`e1_S2C_9`"), "{err}");
    assert!(err.contains("link 8 (S2C lane 1 → C2N) is not mapped"), "{err}");
}

#[test]
fn fifteen_minutes_on_the_arterial_with_people_complete_without_faults() {
    let Some(home) = home() else { return };
    let (d, net) = build_net(&home, "run");
    let own = OwnNet::load(&net, &[arterial().join("arterial.det.xml")], &site_file()).unwrap();
    let spec = RunSpec {
        routes: vec![arterial().join("smoke.rou.xml")],
        planner: Some(PlannerKind::Actuated),
        step_s: 0.1,
        seed: 7,
        ..RunSpec::default()
    };
    let row = own::run_greenwave(&home, &own, &spec, &d, "smoke").unwrap();
    let rep = row.greenwave.as_ref().unwrap();
    // The run ends when SUMO expects nobody more: every vehicle and person arrived.
    assert_eq!(row.faults, 0);
    assert!(row.vehicles > 300, "{row:?}");
    assert!(row.persons > 60, "{row:?}");
    assert!(rep.ped_presses > 0, "nobody pressed a button");
    assert!(
        row.ped_mean_time_loss_s > 0.0 && row.ped_mean_time_loss_s < 120.0,
        "{row:?}"
    );
    assert!(row.score_s < 60.0, "{row:?}");
}

#[test]
fn a_sumo_that_fails_on_an_own_net_is_reported_with_its_log() {
    let Some(home) = home() else { return };
    let (d, net) = build_net(&home, "fail");
    let own = OwnNet::load(&net, &[arterial().join("arterial.det.xml")], &site_file()).unwrap();
    let bad = d.join("bad.rou.xml");
    std::fs::write(&bad, "<routes><vehicle id=\"x\" depart=\"0\"/></routes>").unwrap();
    let spec = RunSpec {
        routes: vec![bad],
        step_s: 0.1,
        seed: 7,
        ..RunSpec::default()
    };
    let t = std::time::Instant::now();
    let err = own::run_greenwave(&home, &own, &spec, &d, "fail").unwrap_err();
    // SUMO's own words (the end of its log) are in the error.
    assert!(err.contains("SUMO exited") && err.contains("Error"), "{err}");
    assert!(t.elapsed().as_secs() < 20);
}

/// The bench's fail-safe row: a warm-up under trusted detection keeps what the planner learned at
/// the end of the demand, and the Webster run starts from it with detection lost throughout.
#[test]
fn the_webster_fail_safe_starts_from_what_the_warm_up_learned() {
    let Some(home) = home() else { return };
    let (d, net) = build_net(&home, "warm");
    let own = OwnNet::load(&net, &[arterial().join("arterial.det.xml")], &site_file()).unwrap();
    let routes = vec![arterial().join("smoke.rou.xml")];
    let end = own::demand_end_s(&routes).unwrap();
    assert_eq!(end, 900.0);
    let warm = RunSpec {
        routes: routes.clone(),
        planner: Some(PlannerKind::Adaptive),
        step_s: 0.1,
        seed: 7,
        capture_at_s: Some(end),
        ..RunSpec::default()
    };
    let row = own::run_greenwave(&home, &own, &warm, &d, "warmup").unwrap();
    let state = row.greenwave.as_ref().and_then(|r| r.warm.clone()).expect("state kept");
    let design = greenwave::plan::webster::design_flows(&own.site);
    assert_ne!(state.flows_vph, design, "the flows were learned from the counts");
    assert!(state.flows_vph.iter().any(|f| *f > 0.0));
    let fail_safe = RunSpec {
        routes,
        planner: Some(PlannerKind::Webster),
        step_s: 0.1,
        seed: 7,
        warm: Some(state),
        detection_lost: true,
        ..RunSpec::default()
    };
    let row = own::run_greenwave(&home, &own, &fail_safe, &d, "fail-safe").unwrap();
    assert_eq!(row.faults, 0);
    assert!(row.vehicles > 300, "{row:?}");
    // Flows that cannot be traffic are refused, not run.
    let mut bad = fail_safe.clone();
    if let Some(w) = bad.warm.as_mut() {
        w.flows_vph[1] = f32::NAN;
    }
    let err = own::run_greenwave(&home, &own, &bad, &d, "bad").unwrap_err();
    assert!(err.contains("flows were refused"), "{err}");
}
