//! `greenwave run` on the dry-run board with two `file:` cameras: `snapshot 2` on the console
//! writes camera 2's newest frame, zones drawn, into `<state_dir>/snapshots/`, and `stats` counts it.

#[path = "support/board_run.rs"]
mod board_run;
#[path = "support/clips.rs"]
mod clips;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("gw-snapshot-board-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn snapshot_on_the_console_of_a_running_board_writes_the_camera_jpeg() {
    let d = dir();
    clips::write_clip(&d.join("road.y4m"), 20, 10);
    let site = std::fs::read_to_string("board/sites/nema8-4leg.toml").unwrap()
        + &clips::camera_table("road.y4m", 1, "")
        + &clips::camera_table("road.y4m", 4, "");
    let site_path = d.join("site.toml");
    std::fs::write(&site_path, site).unwrap();
    let state = d.join("state");
    let (mut child, mut master, seen) = board_run::start(BIN, &d, &site_path, "\nsnapshot_budget_mib = 2");
    let snaps = state.join("snapshots");
    let want = snaps.join("snapshot-0000000000-cam2-console.jpg");
    // Ask until the camera has frames and the file is there.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) && !want.exists() {
        std::thread::sleep(Duration::from_millis(500));
        master.write_all(b"snapshot 2\r").unwrap();
        std::thread::sleep(Duration::from_millis(500));
    }
    master.write_all(b"snapshot 3\r").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    master.write_all(b"stats\r").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let out = seen.lock().unwrap().clone();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(want.exists(), "no snapshot after 30 s:\n{out}\n{err}");
    assert!(out.contains("snapshot of camera 2 requested"), "{out}");
    assert!(
        out.contains("refused: no camera with that number is configured"),
        "{out}"
    );
    let stats = out.rsplit("stats").next().unwrap_or("");
    assert!(
        stats.contains("snapshots: written") && stats.contains("failed 0"),
        "{out}"
    );
    assert!(err.contains("snapshots: 2 camera(s) into"), "{err}");
    // Camera 2's road with its zones: 160 x 120 greyscale, the road texture (80..103) away from
    // the zones and a bright stop line on the first zone (row 110, x 20..40).
    let jpg = std::fs::read(&want).unwrap();
    let mut dec = jpeg_decoder::Decoder::new(jpg.as_slice());
    let px = dec.decode().unwrap();
    assert_eq!(
        dec.info().map(|i| (i.width, i.height)),
        Some((clips::W as u16, clips::H as u16))
    );
    let road = px[5 * clips::W as usize + 150];
    assert!((70..=115).contains(&road), "road grey {road}");
    assert!(px[110 * clips::W as usize + 30] > 200, "stop line");
    assert_eq!(status.code(), Some(0), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}
