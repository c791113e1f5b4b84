//! `greenwave check` is the whole truth: whatever `run` would refuse at start-up, `check` refuses
//! first (the installer validates with `check` only); and a SIGHUP reload refuses what it cannot
//! apply instead of accepting it and running on with the old value.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");
const SITE: &str = "board/sites/nema8-4leg.toml";
const BOARD: &str = "board/host-fake.toml";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("greenwave-truth-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp");
    d.join(name)
}

fn check(site: &PathBuf, board: Option<&str>) -> (i32, String) {
    let mut c = Command::new(BIN);
    c.args(["check", "--site"]).arg(site);
    if let Some(b) = board {
        c.args(["--board", b]);
    }
    let out = c.output().expect("check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn site_text() -> String {
    std::fs::read_to_string(SITE).expect("site")
}

/// 1-based line of the last line of `text` that starts with `key`.
fn line_of(text: &str, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().rposition(|l| l.starts_with(key)).expect("key") + 1
}

#[test]
fn check_refuses_a_bad_console_pin_hash() {
    let p = tmp("pin.toml");
    let text = site_text() + "\n[console]\npin_hash = \"sha256$1$zz$zz\"\n";
    std::fs::write(&p, &text).expect("write");
    let (code, out) = check(&p, None);
    assert_eq!(code, 1, "{out}");
    let line = line_of(&text, "pin_hash");
    assert!(
        out.contains(&format!("line {line}: `console.pin_hash`")) && out.contains("greenwave pin-hash"),
        "{out}"
    );
}

#[test]
fn check_names_the_site_file_as_the_home_of_the_pin() {
    let (code, out) = check(&PathBuf::from(SITE), None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("console PIN: not set") && out.contains("[console] pin_hash to the site file"),
        "{out}"
    );
}

const CAMERA: &str = "
[camera]
width = 320
height = 240

[[camera.zone]]
detector = 1
quad = [[10, 230], [40, 230], [40, 20], [10, 20]]
";

#[test]
fn check_validates_camera_zones() {
    let p = tmp("camera-ok.toml");
    std::fs::write(&p, site_text() + CAMERA).expect("write");
    let (code, out) = check(&p, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("camera: /dev/video0 320x240 at 10 fps, 1 zones"), "{out}");
    let good_quad = "[[10, 230], [40, 230], [40, 20], [10, 20]]";
    for (name, from, to, key, field, what) in [
        (
            "outside",
            "[40, 230]",
            "[400, 230]",
            "quad",
            "camera.zone[0].quad",
            "is outside the 320x240 image",
        ),
        (
            "crossed",
            good_quad,
            "[[10, 230], [40, 230], [10, 20], [40, 20]]",
            "quad",
            "camera.zone[0].quad",
            "crosses itself",
        ),
        (
            "concave",
            "[40, 20]",
            "[15, 200]",
            "quad",
            "camera.zone[0].quad",
            "is not convex",
        ),
        (
            "detector",
            "detector = 1\nquad",
            "detector = 13\nquad",
            "detector = 13",
            "camera.zone[0].detector",
            "feeds detector 13, which the site has no [[detector]] for",
        ),
    ] {
        let path = tmp(&format!("camera-{name}.toml"));
        let text = site_text() + &CAMERA.replace(from, to);
        std::fs::write(&path, &text).expect("write");
        let (code, out) = check(&path, None);
        assert_eq!(code, 1, "{name}: {out}");
        let line = line_of(&text, key);
        assert!(
            out.contains(&format!("line {line}: `{field}`")) && out.contains(what) && out.contains("(fix: "),
            "{name}: {out}"
        );
    }
}

#[test]
fn check_refuses_a_tick_the_engine_cannot_time() {
    for tick in [125, 250, 500, 1000] {
        let p = tmp(&format!("tick{tick}.toml"));
        std::fs::write(&p, site_text().replace("tick_ms = 100", &format!("tick_ms = {tick}"))).expect("write");
        let (code, out) = check(&p, None);
        assert_eq!(code, 1, "tick {tick}: {out}");
        assert!(out.contains("site.tick_ms") && out.contains("does not divide"), "{out}");
    }
}

#[test]
fn check_refuses_a_board_without_a_flash_transfer_relay() {
    let b = tmp("no-ftr.toml");
    let text: String = std::fs::read_to_string(BOARD)
        .expect("board")
        .lines()
        .filter(|l| !l.starts_with("flash_transfer"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&b, text).expect("write");
    let (code, out) = check(&PathBuf::from(SITE), Some(b.to_str().expect("utf-8")));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("board.flash_transfer"), "{out}");
}

#[test]
fn check_refuses_one_gpio_chip_listed_twice() {
    let b = tmp("twice.toml");
    let text = std::fs::read_to_string(BOARD).expect("board").replace(
        "{ path = \"fake1\", driver = \"fake\" }",
        "{ path = \"./fake0\", driver = \"fake\" }",
    );
    std::fs::write(&b, text).expect("write");
    let (code, out) = check(&PathBuf::from(SITE), Some(b.to_str().expect("utf-8")));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("board.chips") && out.contains("again"), "{out}");
}

#[test]
fn a_reload_that_changes_the_tick_is_refused_and_said() {
    let p = tmp("reload.toml");
    std::fs::write(&p, site_text()).expect("write");
    let child = Command::new(BIN)
        .args(["sim", "--speed", "1", "--duration", "7", "--site"])
        .arg(&p)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // After the start-up all red (reloads wait for it), change the tick and send SIGHUP.
    std::thread::sleep(Duration::from_secs(5));
    std::fs::write(&p, site_text().replace("tick_ms = 100", "tick_ms = 50")).expect("rewrite");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("kill");
    let out = child.wait_with_output().expect("wait");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("reloads           0 (1 rejected"), "{text}");
    assert!(text.contains("changes tick_ms from 100 to 50 ms"), "{text}");
}
