//! `greenwave run` on the dry-run board with four `file:` cameras: the planner leaves the Webster
//! fail-safe and runs adaptive control from the cameras' zones, as the console shows; the camera
//! that asks for the NPU is served by the CPU zone detector on this host (no NPU), with the alarm
//! in the event log and the fallback on the console.

#[path = "support/board_run.rs"]
mod board_run;
#[path = "support/clips.rs"]
mod clips;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("gw-camera-board-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn run_with_file_cameras_goes_adaptive_and_shows_the_npu_fallback() {
    let d = dir();
    clips::write_clip(&d.join("road.y4m"), 20, 10);
    let site = std::fs::read_to_string("board/sites/nema8-4leg.toml")
        .unwrap()
        .replace("planner = \"actuated\"", "planner = \"adaptive\"")
        + &clips::four_cameras("road.y4m", 2);
    let site_path = d.join("site.toml");
    std::fs::write(&site_path, site).unwrap();
    let (mut child, mut master, seen) = board_run::start(BIN, &d, &site_path, "");
    // Ask until the plan is adaptive (it needs every detector trusted).
    let start = Instant::now();
    let mut adaptive = false;
    while start.elapsed() < Duration::from_secs(40) && !adaptive {
        std::thread::sleep(Duration::from_millis(1000));
        seen.lock().unwrap().clear();
        master.write_all(b"timing\r").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        adaptive = seen.lock().unwrap().contains("plan (adaptive)");
    }
    let trusted_after = start.elapsed();
    seen.lock().unwrap().clear();
    for cmd in ["status", "cameras", "zones", "events 64"] {
        master.write_all(format!("{cmd}\r").as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(400));
    }
    let out = seen.lock().unwrap().clone();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(adaptive, "not adaptive after {trusted_after:?}:\n{out}\n{err}");
    assert!(out.contains("detection trusted"), "{out}");
    // `cameras`: four file cameras streaming; camera 2 asked for the NPU and the CPU serves it.
    for cam in 1..=4 {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{cam} ")) && l.contains("road.y4m"))
            .unwrap_or_else(|| panic!("camera {cam} missing:\n{out}"));
        assert!(line.contains(" ok ") && line.contains(" cpu "), "{line}");
        let fps: f32 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!((8.0..=12.0).contains(&fps), "{line}");
    }
    assert!(out.contains("npu asked, cpu serving: built without rknpu"), "{out}");
    // `zones`: twelve zones, every one healthy and (an empty road) without presence.
    let zones: Vec<&str> = out
        .lines()
        .filter(|l| l.ends_with(" ok") && l.contains(" off "))
        .collect();
    assert_eq!(zones.len(), 12, "{out}");
    // The NPU fallback alarm (174, alarm 104) is in the event log the console keeps.
    assert!(
        out.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.get(1) == Some(&"174") && w.get(2) == Some(&"104")
        }),
        "{out}"
    );
    assert!(
        err.contains("detector = \"npu\" but this build has no NPU support"),
        "{err}"
    );
    assert_eq!(status.code(), Some(0), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}
