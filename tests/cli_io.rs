//! The `greenwave` command line at the edges of its input and output: a reader that closes the pipe
//! early, a full disk on standard output, inputs that are not files or are too large, a diagram too
//! large to draw, learned flows that cannot be traffic, and a design demand that does not fit the
//! site's limits. None of them may end in a panic (exit 101) or leave a partial file. The diagram
//! tests need the `plot` feature (on by default); a build without it (a board build) checks that
//! `greenwave plot` refuses with advice instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");
const SITE: &str = "board/sites/nema8-4leg.toml";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("greenwave-cli-io-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn no_panic(out: &Output) {
    let e = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

/// Runs `greenwave ARGS`, killed after `limit` (a blocked read must not hang the test run).
fn run_within(args: &[&str], limit: Duration) -> (Output, Duration) {
    let t = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (out, t.elapsed())
}

/// `greenwave check … | head -1`: the reader goes away before the output is written. The read
/// end is closed right after the spawn, so every write sees EPIPE. Quiet exit 0 (see USAGE).
#[test]
fn closed_stdout_pipe_exits_quietly() {
    for args in [&["check", "--site", SITE][..], &["help"][..]] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        no_panic(&out);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        // Log records (a WARN about the site) may be there; no error.
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(!e.contains("error"), "{e}");
    }
}

/// Standard output on a full disk: one error line, exit 1.
#[test]
fn stdout_on_dev_full_is_one_error_line() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(BIN)
        .args(["check", "--site", SITE])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    // Besides log records (timestamped, with a level), exactly one line: the error.
    let lines: Vec<&str> = e
        .lines()
        .filter(|l| !l.contains(" WARN ") && !l.contains(" INFO "))
        .collect();
    assert_eq!(lines.len(), 1, "{e}");
    assert!(
        lines[0].starts_with("error: cannot write to standard output") && lines[0].contains("No space left"),
        "{e}"
    );
}

/// `--site /dev/zero` and a FIFO nobody writes to are refused at once: not read without end, not
/// waited on.
#[test]
fn site_that_is_not_a_regular_file_is_refused_quickly() {
    let fifo = tmp("site.fifo");
    let _ = std::fs::remove_file(&fifo);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let dir = tmp("");
    for (site, kind) in [
        ("/dev/zero", "a character device"),
        (fifo.to_str().unwrap(), "a FIFO"),
        (dir.to_str().unwrap(), "a directory"),
    ] {
        let (out, took) = run_within(&["check", "--site", site], Duration::from_secs(10));
        no_panic(&out);
        assert_eq!(out.status.code(), Some(1), "{site}");
        assert!(took < Duration::from_secs(2), "{site}: {took:?}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains(&format!("not a regular file ({kind})")), "{e}");
    }
    // The board file and the learned table go through the same reader.
    let (out, _) = run_within(
        &["check", "--site", SITE, "--board", "/dev/zero"],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
    let _ = std::fs::remove_file(&fifo);
}

/// A site file over the limit is refused with the limit named, without reading it all.
#[test]
fn site_file_over_the_limit_is_refused() {
    let big = tmp("big.toml");
    let mut text = std::fs::read_to_string(SITE).unwrap();
    let limit = greenwave::limits::CONFIG_FILE_MAX_BYTES as usize;
    let pad = "# padding padding padding padding padding padding padding padding\n";
    while text.len() <= limit {
        text.push_str(pad);
    }
    std::fs::write(&big, &text).unwrap();
    let (out, _) = run_within(&["check", "--site", big.to_str().unwrap()], Duration::from_secs(10));
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("larger than the 2 MiB limit"), "{e}");
    let _ = std::fs::remove_file(&big);
}

fn partial_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect()
}

fn write_log(path: &Path, rows: usize, row: impl Fn(usize) -> (u16, u16)) {
    let mut csv = String::from("TimeStamp,DeviceId,EventId,Parameter\n");
    for i in 0..rows {
        let ms = i as u64 * 100;
        let (code, param) = row(i);
        csv.push_str(&format!(
            "2026-01-01 {:02}:{:02}:{:02}.{},1,{code},{param}\n",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms / 100 % 10
        ));
    }
    std::fs::write(path, csv).unwrap();
}

/// A 65,536-row log with a different detector number on every row would make a 65,535-row
/// diagram (1.5 million pixels tall): refused with a message, and no file left behind.
#[cfg(feature = "plot")]
#[test]
fn plot_of_65536_distinct_rows_is_refused_without_a_file() {
    let dir = tmp("plot-rows");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("rows.csv");
    write_log(&log, 65_536, |i| (82, i as u16));
    let png = dir.join("rows.png");
    let (out, _) = run_within(
        &[
            "plot",
            "--events",
            log.to_str().unwrap(),
            "--out",
            png.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("at most 128 fit one diagram"), "{e}");
    assert!(!png.exists());
    assert_eq!(partial_files(&dir), Vec::<String>::new());
}

/// A 65,536-row log of ordinary intervals (8 phases cycling green → yellow → red clearance → red,
/// 1.8 h) draws within the bounds, and only the finished file is there afterwards.
#[cfg(feature = "plot")]
#[test]
fn plot_of_a_65536_row_log_draws_and_leaves_only_the_diagram() {
    use std::io::Read;
    let dir = tmp("plot-ok");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("cycle.csv");
    write_log(&log, 65_536, |i| ([1, 8, 10, 11][i % 4], (i / 4 % 8 + 1) as u16));
    for name in ["cycle.png", "cycle.svg"] {
        let out_path = dir.join(name);
        let t = Instant::now();
        let (out, _) = run_within(
            &[
                "plot",
                "--events",
                log.to_str().unwrap(),
                "--out",
                out_path.to_str().unwrap(),
            ],
            Duration::from_secs(120),
        );
        no_panic(&out);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
        let mut head = [0u8; 4];
        std::fs::File::open(&out_path).unwrap().read_exact(&mut head).unwrap();
        assert!(head == *b"\x89PNG" || head == *b"<svg", "{head:?}");
    }
    assert_eq!(partial_files(&dir), Vec::<String>::new());
    // A window beyond a day is refused (choose one with --from/--to), leaving nothing either.
    let long = dir.join("long.csv");
    std::fs::write(
        &long,
        "TimeStamp,DeviceId,EventId,Parameter\n2026-01-01 00:00:00.0,1,1,2\n2026-01-03 00:00:00.0,1,8,2\n",
    )
    .unwrap();
    let png = dir.join("long.png");
    let (out, _) = run_within(
        &[
            "plot",
            "--events",
            long.to_str().unwrap(),
            "--out",
            png.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from and --to"));
    assert!(!png.exists());
    assert_eq!(partial_files(&dir), Vec::<String>::new());
}

/// A build without the `plot` feature (a board build, `--no-default-features`): `greenwave plot`
/// exits 1 with one line saying how to get the diagram, writes nothing, and the usage text still
/// lists the command.
#[cfg(not(feature = "plot"))]
#[test]
fn plot_without_the_feature_exits_1_with_advice() {
    let dir = tmp("plot-none");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("cycle.csv");
    write_log(&log, 64, |i| ([1, 8, 10, 11][i % 4], (i / 4 % 8 + 1) as u16));
    let svg = dir.join("cycle.svg");
    for args in [
        &[
            "plot",
            "--events",
            log.to_str().unwrap(),
            "--out",
            svg.to_str().unwrap(),
        ][..],
        &["plot"][..],
    ] {
        let (out, _) = run_within(args, Duration::from_secs(30));
        no_panic(&out);
        assert_eq!(out.status.code(), Some(1));
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            e.trim_end(),
            "error: this build has no timing-diagram support: rebuild with `--features plot`, or draw the \
             diagram on a workstation from the board's event log"
        );
    }
    assert!(!svg.exists());
    assert_eq!(partial_files(&dir), Vec::<String>::new());
    let (out, _) = run_within(&["help"], Duration::from_secs(30));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("greenwave plot --events FILE.csv --out FILE.svg|FILE.png"));
}

/// A state file with a valid CRC but flows that cannot be traffic (NaN, infinity, 1e12 veh/h):
/// refused with a WARN, the fail-safe plan keeps the design volumes.
#[test]
fn learned_flows_that_cannot_be_traffic_are_refused() {
    use greenwave::events::persist::{LearnedFlows, Store};
    let dir = tmp("state-bad-flows");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = Store::<LearnedFlows>::new(&dir).unwrap();
    store
        .save(&LearnedFlows {
            flows_vph: [f32::NAN, f32::INFINITY, 1e12, 510.0, 90.0, 510.0, 90.0, 510.0],
            cycles: 40,
            updated_unix_s: 0,
        })
        .unwrap();
    let out = Command::new(BIN)
        .args(["sim", "--site", SITE, "--duration", "60", "--state-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    no_panic(&out);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("learned flows: loaded"), "{e}");
    assert!(
        e.lines()
            .any(|l| l.contains("WARN") && l.contains("restored flows refused") && l.contains("phase 1 flow NaN")),
        "{e}"
    );
    assert!(!e.contains("seeded from"), "{e}");
}

/// Design volumes that do not fit (a directional peak: SB left 400 veh/h, NB through 1500 veh/h):
/// `check` prints the capped plan and why.
#[test]
fn check_says_when_the_demand_does_not_fit() {
    let site = tmp("peak.toml");
    let text = std::fs::read_to_string(SITE)
        .unwrap()
        .replacen("design_volume_vph = 90\n", "design_volume_vph = 400\n", 1)
        .replacen("design_volume_vph = 510\n", "design_volume_vph = 1500\n", 1)
        // Every left on its arrow, sized for all its turners: Webster's arithmetic as computed.
        .replacen(
            "flash = \"red\"\n",
            "flash = \"red\"\nfixed_time_lefts = \"protected\"\n",
            1,
        );
    std::fs::write(&site, text).unwrap();
    let out = Command::new(BIN).args(["check", "--site"]).arg(&site).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("demand does not fit: Webster cycle 224.3 s capped to 120 s; phase 1 green 26.2 s capped to 20 s (max green); phase 2 green 49.2 s capped to 45 s (max green)"),
        "{s}"
    );
    assert!(s.contains("phase 1 green  20.0 s"), "{s}");
    assert!(s.contains("phase 2 green  45.0 s"), "{s}");
}
