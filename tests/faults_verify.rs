//! `greenwave sim --faults` and `greenwave verify` on the real binary: an hour with injected camera,
//! detector and relay faults keeps the board's MMU card (no conflict, no short clearance, every event row
//! accounted for, no heap growth), the same seed replays the same run, and `verify` does catch a log
//! that breaks a stricter card.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");
const SITE: &str = "board/sites/nema8-4leg.toml";
const CARD: &str = "board/host-fake.toml";

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("greenwave-faults-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn field(summary: &str, prefix: &str) -> String {
    summary
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in\n{summary}"))
        .to_string()
}

fn number_after(line: &str, word: &str) -> u64 {
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words.iter().position(|w| *w == word).unwrap();
    words[i - 1].parse().unwrap()
}

fn sim(events: &Path, seed: &str) -> String {
    let out = Command::new(BIN)
        .args([
            "sim",
            "--site",
            SITE,
            "--duration",
            "3600",
            "--seed",
            "4",
            "--faults",
            seed,
        ])
        .arg("--event-dir")
        .arg(events)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn logs(events: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(events)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn faulty_hour_keeps_the_card_and_replays() {
    let d = dir("hour");
    let s = sim(&d.join("a"), "11");
    let injected: u64 = field(&s, "faults injected")
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    assert!(injected >= 10, "an hour holds many faults:\n{s}");
    // A run at --speed max waits for its writer: nothing lost or dropped.
    let events = field(&s, "events  ");
    let (emitted, logged) = (number_after(&events, "generated,"), number_after(&events, "written,"));
    assert_eq!(number_after(&events, "lost"), 0, "{events}");
    assert!(!events.contains("dropped"), "{events}");
    let dropped = 0u64;
    let heap = field(&s, "heap in use");
    assert!(heap.contains("growth 0 B") || heap.contains("growth -"), "{heap}");

    let mut verify = Command::new(BIN);
    verify.args(["verify", "--board", CARD]);
    for f in logs(&d.join("a")) {
        verify.args(["--events", &f]);
    }
    let (e, dr, l) = (emitted.to_string(), dropped.to_string(), logged.to_string());
    verify.args(["--emitted", &e, "--dropped", &dr, "--logged", &l]);
    let out = verify.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("0 conflicts, 0 short yellows, 0 short red clearances, 0 uncounted losses"),
        "{text}"
    );

    // The same seed, the same rows (timestamps aside: the wall-clock base is the start time).
    sim(&d.join("b"), "11");
    let rows = |p: &str| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| l.split_once(',').map_or(l, |(_, rest)| rest).to_string())
            .collect()
    };
    let (a, b) = (logs(&d.join("a")), logs(&d.join("b")));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(rows(x), rows(y));
    }

    // A card without the 2+6 pair: the same log now breaks it.
    let strict = d.join("strict.toml");
    std::fs::write(&strict, std::fs::read_to_string(CARD).unwrap().replace("[2, 6], ", "")).unwrap();
    let mut verify = Command::new(BIN);
    verify.args(["verify", "--board"]).arg(&strict);
    for f in logs(&d.join("a")) {
        verify.args(["--events", &f]);
    }
    let out = verify.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("channels 2 and 6 green/yellow/walk together"));
    let _ = std::fs::remove_dir_all(&d);
}
