//! A storm of signals against the real-time loop, measured from outside the process.
//!
//! `greenwave sim --speed 1` and `greenwave run` (the host dry-run board) run for real seconds
//! while this test sends each of them thousands of SIGHUPs per second. Each process mirrors the
//! frames it writes to its relays into a file (`--relay-mirror`); a recorder thread here samples
//! those files every millisecond on this process's own monotonic clock. From the samples alone:
//!
//! - every yellow and every red clearance lasted at least its configured length on the street
//!   (each interval's *upper* bound, from the last sample before it began to the first sample
//!   after it ended, must reach the configured length — a sampling hiccup can only lengthen it);
//! - controller time followed the wall clock (a 40 s run takes 40 s, not 3 s);
//! - the SIGHUPs of an unchanged site file did not restart the start-up all red: phases kept
//!   being served (yellows were seen) and no reload was applied.

use greenwave::config::Site;
use greenwave::signal::phase::PhaseId;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");
const SITE: &str = "board/sites/nema8-4leg.toml";
const SECONDS: u64 = 40;

fn tmp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("greenwave-storm-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// Frames as sampled: (first seen, last seen, compact frame), one entry per change.
type Samples = Vec<(Duration, Duration, String)>;

/// Reads a mirror record `SEQ FRAME SEQ`; None while a write is half-way.
fn read_frame(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut parts = text.split_whitespace();
    let (a, f, b) = (parts.next()?, parts.next()?, parts.next()?);
    (a == b).then(|| f.to_string())
}

/// Samples `paths` every millisecond until `stop`.
fn record(paths: Vec<PathBuf>, stop: Arc<AtomicBool>, origin: Instant) -> Vec<Samples> {
    let mut out: Vec<Samples> = paths.iter().map(|_| Vec::new()).collect();
    while !stop.load(Ordering::Relaxed) {
        for (p, samples) in paths.iter().zip(out.iter_mut()) {
            if let Some(f) = read_frame(p) {
                let t = origin.elapsed();
                match samples.last_mut() {
                    Some((_, last_seen, last)) if *last == f => *last_seen = t,
                    _ => samples.push((t, t, f)),
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    out
}

/// Intervals as the street showed them: for each phase and each yellow / red clearance, the upper
/// bound of its length in ms. Red clearance: from the end of a yellow to the next green (or
/// flashing arrow) of a conflicting phase.
struct Findings {
    yellows: usize,
    short: Vec<String>,
    red_clearances: usize,
}

fn check(samples: &Samples, site: &Site, who: &str) -> Findings {
    let frames = samples;
    let aspect = |f: &str, p: PhaseId| f.as_bytes().get(p.index()).copied().unwrap_or(b'-');
    let mut out = Findings {
        yellows: 0,
        short: Vec::new(),
        red_clearances: 0,
    };
    // Per phase: upper bound of the yellow's start (last sample before it) and of the red start.
    let mut yellow_from: HashMap<usize, Duration> = HashMap::new();
    let mut red_from: HashMap<usize, Duration> = HashMap::new();
    for w in frames.windows(2) {
        let (prev, cur) = (&w[0], &w[1]);
        for ph in site.phases() {
            let p = ph.id;
            let (a, b) = (aspect(&prev.2, p), aspect(&cur.2, p));
            if a == b {
                continue;
            }
            if b == b'Y' {
                yellow_from.insert(p.index(), prev.1);
            }
            if a == b'Y' && b == b'R' {
                if let Some(from) = yellow_from.remove(&p.index()) {
                    out.yellows += 1;
                    let upper = cur.0.saturating_sub(from);
                    if upper.as_millis() + 2 < u128::from(ph.yellow_ms) {
                        out.short.push(format!(
                            "{who}: phase {p} yellow at most {} ms (configured {})",
                            upper.as_millis(),
                            ph.yellow_ms
                        ));
                    }
                }
                red_from.insert(p.index(), prev.1);
            }
            if a == b'R' && (b == b'G' || b == b'f') {
                for c in site.phases().filter(|c| site.conflicts_with(p, c.id)) {
                    // A flashing arrow may start while its opposing through is green.
                    if b == b'f' && ph.permissive == Some(c.id) {
                        continue;
                    }
                    if let Some(from) = red_from.get(&c.id.index()) {
                        let upper = cur.0.saturating_sub(*from);
                        let need = u128::from(c.red_clear_ms);
                        if upper.as_millis() < 30_000 {
                            out.red_clearances += 1;
                            if upper.as_millis() + 2 < need {
                                out.short.push(format!(
                                    "{who}: phase {p} started {} ms after phase {} went red (red clearance {need})",
                                    upper.as_millis(),
                                    c.id
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn storm(pids: Vec<u32>, stop: Arc<AtomicBool>) -> u64 {
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) {
        for pid in &pids {
            if nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid as i32),
                nix::sys::signal::Signal::SIGHUP,
            )
            .is_ok()
            {
                sent += 1;
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    sent
}

/// Waits for `child` (spawned at `started`); returns its output, wall time and success.
fn wait_output(child: Child, started: Instant) -> (String, Duration, bool) {
    let out = child.wait_with_output().expect("wait");
    (
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        started.elapsed(),
        out.status.success(),
    )
}

#[test]
fn a_signal_storm_never_shortens_a_yellow_or_red_clearance() {
    let dir = tmp_dir();
    let site = Site::load(Path::new(SITE)).expect("site");
    // The dry-run board with its event log and state under the test's directory.
    let board = std::fs::read_to_string("board/host-fake.toml")
        .expect("board")
        .replace("target/host-fake/events", &dir.join("events").display().to_string())
        .replace("target/host-fake/state", &dir.join("state").display().to_string());
    let board_path = dir.join("host-fake.toml");
    std::fs::write(&board_path, board).expect("write board");
    let (sim_mirror, run_mirror) = (dir.join("sim.frame"), dir.join("run.frame"));
    let secs = SECONDS.to_string();
    let origin = Instant::now();
    let sim = Command::new(BIN)
        .args([
            "sim",
            "--site",
            SITE,
            "--speed",
            "1",
            "--duration",
            &secs,
            "--relay-mirror",
        ])
        .arg(&sim_mirror)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sim");
    let run = Command::new(BIN)
        .args(["run", "--site", SITE, "--duration", &secs, "--board"])
        .arg(&board_path)
        .arg("--relay-mirror")
        .arg(&run_mirror)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    let stop = Arc::new(AtomicBool::new(false));
    let rec = {
        let (paths, stop) = (vec![sim_mirror.clone(), run_mirror.clone()], Arc::clone(&stop));
        std::thread::spawn(move || record(paths, stop, origin))
    };
    // SIGHUP's default action ends a process: storm only once both have their handlers in place
    // (they install them before creating the relays, hence the mirror file).
    let t = Instant::now();
    while !(sim_mirror.exists() && run_mirror.exists()) && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let storm_thread = {
        let (pids, stop) = (vec![sim.id(), run.id()], Arc::clone(&stop));
        std::thread::spawn(move || storm(pids, stop))
    };
    let (sim_out, sim_wall, sim_ok) = wait_output(sim, origin);
    let (run_out, run_wall, run_ok) = wait_output(run, origin);
    stop.store(true, Ordering::Relaxed);
    let sent = storm_thread.join().expect("storm");
    let samples = rec.join().expect("recorder");
    assert!(sim_ok, "sim failed: {sim_out}");
    assert!(run_ok, "run failed: {run_out}");
    eprintln!("{sent} SIGHUPs sent; sim {sim_wall:?}, run {run_wall:?}");
    assert!(sent > 20_000, "storm too weak: {sent} signals");
    // Controller time is the clock: the runs took their simulated length in wall time.
    for (who, wall) in [("sim", sim_wall), ("run", run_wall)] {
        assert!(
            wall >= Duration::from_secs(SECONDS - 1),
            "{who}: {SECONDS} s of controller time passed in {wall:?} of wall time"
        );
    }
    for (who, out) in [("sim", &sim_out), ("run", &run_out)] {
        assert!(out.contains("faults            0"), "{who}: {out}");
        assert!(out.contains("sleeps interrupted and resumed"), "{who}: {out}");
        assert!(out.contains("reloads           0 (0 rejected"), "{who}: {out}");
    }
    for (who, s) in [("sim", &samples[0]), ("run", &samples[1])] {
        let f = check(s, &site, who);
        assert!(f.short.is_empty(), "{:#?}", f.short);
        let seen: Vec<String> = s
            .iter()
            .map(|(t, _, f)| format!("{:.2} {f}", t.as_secs_f64()))
            .collect();
        assert!(f.yellows >= 3, "{who}: only {} yellows seen in {seen:#?}", f.yellows);
        assert!(
            f.red_clearances >= 1,
            "{who}: only {} red clearances seen",
            f.red_clearances
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A stopped process (SIGSTOP: a debugger, a frozen VM) wakes far past its deadline: the loop
/// measures that, counts a stall and latches flash instead of trusting its timing.
#[test]
fn a_stall_past_the_limit_latches_flash() {
    let child = Command::new(BIN)
        .args(["sim", "--site", SITE, "--speed", "1", "--duration", "9"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sim");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    std::thread::sleep(Duration::from_secs(5));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("stop");
    std::thread::sleep(Duration::from_millis(2_600));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).expect("cont");
    let (out, _, ok) = wait_output(child, Instant::now());
    assert!(ok, "{out}");
    assert!(out.contains(" 1 stalls"), "{out}");
    assert!(out.contains("controller fault"), "flash latched: {out}");
}
