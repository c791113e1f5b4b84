//! Wall-clock steps while the controller runs in real time (runtime::wallclock): the system clock
//! is moved an hour forward, then two hours back, under a running `greenwave sim --speed 1` by
//! libfaketime (Debian package `faketime`, a preload nobody here wrote; the monotonic clock is left
//! alone, as an NTP step or `date -s` leaves it). The signal keeps timing on the monotonic clock: no
//! monitor fault, no shortened yellow or red clearance in the log (`greenwave verify`); the event
//! log follows the wall clock row by row and records each step as alarm 174/103.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

fn site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("board/sites/nema8-4leg.toml")
}

fn board() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("board/host-fake.toml")
}

fn parse(ts: &str) -> i64 {
    greenwave::events::csv::parse_timestamp(ts).unwrap()
}

#[test]
fn steps_of_the_wall_clock_move_the_log_not_the_signal() {
    assert!(
        Path::new(FAKETIME).exists(),
        "libfaketime is needed for this test: apt-get install faketime (tools/test.sh's CI installs it)"
    );
    let dir = std::env::temp_dir().join(format!("gw-clock-step-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let offset = dir.join("offset");
    let events = dir.join("events.csv");
    std::fs::write(&offset, "+0\n").unwrap();
    let child = Command::new(BIN)
        .args(["sim", "--speed", "1", "--duration", "12", "--seed", "3", "--events"])
        .arg(&events)
        .arg("--site")
        .arg(site())
        .arg("--board")
        .arg(board())
        .env("LD_PRELOAD", FAKETIME)
        .env("FAKETIME_TIMESTAMP_FILE", &offset)
        .env("FAKETIME_NO_CACHE", "1")
        .env("DONT_FAKE_MONOTONIC", "1")
        .env("TZ", "UTC")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    std::fs::write(&offset, "+3600\n").unwrap();
    std::thread::sleep(Duration::from_secs(4));
    std::fs::write(&offset, "-3600\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sim failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("2 wall-clock steps"), "summary:\n{stdout}\n{stderr}");
    assert!(
        stdout.lines().any(|l| l.trim_end() == "faults            0"),
        "no monitor fault:\n{stdout}"
    );

    // Each step is a row; the rows before and after it are an hour forward / two hours back apart.
    let text = std::fs::read_to_string(&events).unwrap();
    let rows: Vec<(i64, u8, u16)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (parse(f[0]), f[2].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect();
    let steps: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.1 == 174 && r.2 == 103)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(steps.len(), 2, "two clock-step alarms in the log");
    let jump = |i: usize| rows[i].0 - rows[i - 1].0;
    assert!(
        (3_600_000..3_603_000).contains(&jump(steps[0])),
        "first step {} ms",
        jump(steps[0])
    );
    assert!(
        (-7_200_000..-7_197_000).contains(&jump(steps[1])),
        "second step {} ms",
        jump(steps[1])
    );
    // Between the steps the rows advance with the run, never backwards.
    for w in rows.windows(2) {
        if w[1].1 == 174 && w[1].2 == 103 {
            continue;
        }
        assert!(w[1].0 >= w[0].0, "rows out of order: {w:?}");
    }

    // The log passes the independent checker: the steps resync it, no interval is short.
    let v = Command::new(BIN)
        .arg("verify")
        .arg("--board")
        .arg(board())
        .arg("--events")
        .arg(&events)
        .output()
        .unwrap();
    let vout = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.status.success(),
        "verify:\n{vout}\n{}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(vout.contains("(2 wall-clock steps)"), "{vout}");
    let _ = std::fs::remove_dir_all(&dir);
}
