//! The `greenwave` command line as users and scripts run it: `check`, `sim`, the event log format,
//! SIGTERM (all red then flash, log flushed, exit 0) and SIGHUP (reload, bad file rejected).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");
const SITE: &str = "board/sites/nema8-4leg.toml";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("greenwave-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn check_prints_derived_timings_and_plan() {
    let out = Command::new(BIN).args(["check", "--site", SITE]).output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("OK"), "{s}");
    assert!(s.contains("3.3"), "yellow 3.3 s: {s}");
    assert!(s.contains("16.4"), "ped clearance 16.4 s: {s}");
    // The design volumes' lefts run permissive-only in fixed time (plan::webster::lefts): L is the
    // throughs' 4 × 5.5 s, Y = 2 × 510 / 3600, C0 = (1.5 × 11 + 5) / (1 − 0.2833) = 30.0 s.
    assert!(s.contains("C0 = 30.0 s, cycle run = 40.0 s"), "{s}");
    assert!(
        s.contains(
            "phase 1 permissive-only: no green arrow in fixed time, the flashing yellow arrow runs with phase 2"
        ),
        "{s}"
    );
    assert!(
        s.contains("permissive left 1 yields to 2: cross product 45900 within the guideline"),
        "{s}"
    );
}

#[test]
fn check_rejects_a_bad_file_with_exit_1() {
    let bad = tmp("bad.toml");
    let text = std::fs::read_to_string(SITE)
        .unwrap()
        .replacen("yellow_s", "x", 0)
        .replacen(
            "design_volume_vph = 510\n",
            "design_volume_vph = 510\nyellow_s = 2\n",
            1,
        );
    std::fs::write(&bad, text).unwrap();
    let out = Command::new(BIN).args(["check", "--site"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("bad.toml line") && e.contains("yellow_s") && e.contains("fix:"),
        "{e}"
    );
}

#[test]
fn sim_writes_an_indiana_event_log() {
    let ev = tmp("sim.csv");
    let out = Command::new(BIN)
        .args(["sim", "--site", SITE, "--duration", "900", "--seed", "3", "--events"])
        .arg(&ev)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("simulated time    900.0 s") || s.contains("simulated time    899.9 s"),
        "{s}"
    );
    assert!(s.contains("faults            0"), "{s}");
    let csv = std::fs::read_to_string(&ev).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("TimeStamp,DeviceId,EventId,Parameter"));
    let mut n = 0;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 4, "{l}");
        // YYYY-MM-DD HH:MM:SS.f
        assert_eq!(f[0].len(), 21, "{l}");
        assert_eq!(&f[0][4..5], "-");
        assert_eq!(&f[0][19..20], ".");
        assert_eq!(f[1], "1");
        f[2].parse::<u8>().unwrap();
        f[3].parse::<u16>().unwrap();
        n += 1;
    }
    assert!(n > 1000, "{n} events");
    // Same seed, same run.
    let ev2 = tmp("sim2.csv");
    let out2 = Command::new(BIN)
        .args(["sim", "--site", SITE, "--duration", "900", "--seed", "3", "--events"])
        .arg(&ev2)
        .output()
        .unwrap();
    let strip = |t: &str| {
        t.lines()
            .map(|l| l.split_once(',').map(|x| x.1).unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&csv), strip(&std::fs::read_to_string(&ev2).unwrap()));
    assert!(out2.status.success());
}

#[test]
fn sim_rejects_bad_options() {
    for args in [
        vec!["sim", "--site", SITE, "--speed", "fast"],
        vec!["sim", "--site", SITE, "--bogus", "1"],
        vec!["sim"],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(t.elapsed() < limit, "process did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill(child: &std::process::Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

/// SIGTERM: every green runs out through yellow and red clearance, flash is latched (event 173),
/// the log is flushed, exit 0. Run at 20x real time so the stop happens mid-cycle.
#[test]
fn sigterm_ends_in_all_red_then_flash_and_exit_0() {
    let ev = tmp("term.csv");
    let mut child = Command::new(BIN)
        .args(["sim", "--site", SITE, "--duration", "3600", "--speed", "20", "--events"])
        .arg(&ev)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500)); // ~50 s of controller time
    kill(&child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(out.contains("faults"), "{out}");
    let csv = std::fs::read_to_string(&ev).unwrap();
    let rows: Vec<(u8, u16)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[2].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect();
    assert_eq!(rows.last(), Some(&(173, 1)), "the log ends with flash on");
    // Every phase that began green also ended its red clearance before flash.
    let mut green = [false; 9];
    for (c, p) in &rows {
        match c {
            1 => green[*p as usize] = true,
            11 => green[*p as usize] = false,
            _ => {}
        }
    }
    assert!(
        green.iter().all(|g| !g),
        "a green did not run out through red clearance: {green:?}"
    );
}

/// SIGHUP with a broken file keeps the old configuration; with a valid one it switches.
#[test]
fn sighup_reload_rejects_bad_file_and_accepts_good_one() {
    let site = tmp("reload.toml");
    let good = std::fs::read_to_string(SITE).unwrap();
    std::fs::write(&site, &good).unwrap();
    let mut child = Command::new(BIN)
        .args(["sim", "--site"])
        .arg(&site)
        .args(["--duration", "3600", "--speed", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(&site, good.replacen("min_green_s = 10", "min_green_s = -1", 1)).unwrap();
    kill(&child, nix::sys::signal::Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        child.try_wait().unwrap().is_none(),
        "a bad reload must not stop the controller"
    );
    std::fs::write(&site, good.replacen("min_green_s = 10", "min_green_s = 12", 1)).unwrap();
    kill(&child, nix::sys::signal::Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(600));
    kill(&child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.contains("reload rejected") && err.contains("min_green_s"), "{err}");
    assert!(err.contains("reloading"), "{err}");
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(out.contains("reloads           1 (1 rejected, 0 unchanged)"), "{out}");
}

/// `greenwave sim --console TTY` serves the console on a real pseudo-terminal while the
/// intersection runs; `plot` draws the run's event log (or, in a build without the `plot` feature,
/// refuses with advice).
#[test]
fn sim_serves_the_console_on_a_pty_and_plot_draws_the_log() {
    use nix::pty::openpty;
    use std::io::Write;
    let pty = openpty(None, None).unwrap();
    let slave = nix::unistd::ttyname(&pty.slave).unwrap();
    let ev = tmp("console.csv");
    let mut child = Command::new(BIN)
        .args(["sim", "--site", SITE, "--duration", "600", "--speed", "10", "--console"])
        .arg(&slave)
        .arg("--events")
        .arg(&ev)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(pty.master);
    std::thread::sleep(Duration::from_millis(1500));
    master.write_all(b"status\r").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    master.write_all(b"unlock 1234\r").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    kill(&child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    // Read what the console wrote (non-blocking drain).
    let flags = nix::fcntl::fcntl(&master, nix::fcntl::FcntlArg::F_GETFL).unwrap();
    nix::fcntl::fcntl(
        &master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("greenwave console, Main St & 1st Ave"), "{out}");
    assert!(out.contains("mode run"), "{out}");
    assert!(out.contains("no console PIN is configured"), "{out}");

    let svg = tmp("diagram.svg");
    let out = Command::new(BIN)
        .args(["plot", "--events"])
        .arg(&ev)
        .arg("--out")
        .arg(&svg)
        .output()
        .unwrap();
    if cfg!(feature = "plot") {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg") && text.len() > 10_000);
    } else {
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no timing-diagram support"));
        assert!(!svg.exists());
    }
}

/// The console's `stats` in the binary shows the process's real figures: the counting allocator's
/// allocations and heap in use, and the resident set size from /proc/self/statm (not zeros, not
/// "n/a").
#[test]
fn console_stats_show_real_heap_and_rss() {
    use nix::pty::openpty;
    use std::io::Write;
    let pty = openpty(None, None).unwrap();
    let slave = nix::unistd::ttyname(&pty.slave).unwrap();
    let mut child = Command::new(BIN)
        .args(["sim", "--site", SITE, "--duration", "600", "--speed", "10", "--console"])
        .arg(&slave)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(pty.master);
    std::thread::sleep(Duration::from_millis(1500));
    master.write_all(b"stats\r").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    kill(&child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    let flags = nix::fcntl::fcntl(&master, nix::fcntl::FcntlArg::F_GETFL).unwrap();
    nix::fcntl::fcntl(
        &master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let out = String::from_utf8_lossy(&out);
    let line = out
        .lines()
        .find(|l| l.starts_with("allocations after start-up"))
        .unwrap_or_else(|| panic!("no stats line: {out}"));
    // "allocations after start-up N  heap in use B B  rss K kB"
    let words: Vec<&str> = line.split_whitespace().collect();
    let num = |after: &str| -> u64 {
        let i = words
            .iter()
            .position(|w| *w == after)
            .unwrap_or_else(|| panic!("{line}"));
        words[i + 1]
            .parse()
            .unwrap_or_else(|_| panic!("not a number after {after}: {line}"))
    };
    let _allocations = num("start-up");
    assert!(num("use") > 0, "heap in use: {line}");
    assert!(num("rss") > 100, "rss: {line}");
    assert!(!line.contains("n/a"), "{line}");
}

#[test]
fn pin_hash_makes_a_parsable_hash() {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("pin-hash")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"2468\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let h = String::from_utf8(out.stdout).unwrap();
    let parsed = greenwave::console::lock::PinHash::parse(h.trim()).unwrap();
    assert!(parsed.verify(b"2468") && !parsed.verify(b"2469"));
    let bad = Command::new(BIN)
        .arg("pin-hash")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = bad.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// `--state-dir`: learned flows survive a restart and seed the Webster plan; a corrupted file is
/// reported and replaced by defaults; the controller runs on either way.
#[test]
fn state_dir_persists_flows_and_survives_corruption() {
    let dir = tmp("state");
    let _ = std::fs::remove_dir_all(&dir);
    let run = |secs: &str| {
        let out = Command::new(BIN)
            .args([
                "sim",
                "--site",
                SITE,
                "--duration",
                secs,
                "--volumes",
                "1.3",
                "--state-dir",
            ])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let first = run("1200");
    assert!(first.contains("learned flows: none yet"), "{first}");
    let second = run("120");
    assert!(second.contains("learned flows: loaded"), "{second}");
    assert!(second.contains("Webster fail-safe plan seeded from"), "{second}");
    // Flip a byte inside the flows record.
    let f = dir.join("flows.bin");
    let mut bytes = std::fs::read(&f).unwrap();
    let i = bytes.len() - 3;
    bytes[i] ^= 0x5a;
    std::fs::write(&f, bytes).unwrap();
    let third = run("120");
    assert!(third.contains("learned flows: DAMAGED"), "{third}");
    assert!(
        dir.join("flows.bin.corrupt").exists()
            || std::fs::read_dir(&dir)
                .unwrap()
                .any(|e| e.unwrap().file_name().to_string_lossy().contains("corrupt"))
    );
    // The damaged file was replaced by a good one at the end of that run.
    let fourth = run("60");
    assert!(fourth.contains("learned flows: loaded"), "{fourth}");
}

#[test]
fn train_writes_a_model_the_learned_planner_loads() {
    let model = tmp("q.postcard");
    let out = Command::new(BIN)
        .args(["train", "--site", SITE, "--episodes", "3", "--seconds", "600", "--out"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(BIN)
        .args([
            "sim",
            "--site",
            SITE,
            "--duration",
            "600",
            "--planner",
            "learned",
            "--model",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("% of decisions confident"));
    // The shipped model loads too; a missing or corrupt model is a clear error.
    let ok = Command::new(BIN)
        .args([
            "sim",
            "--site",
            SITE,
            "--duration",
            "60",
            "--planner",
            "learned",
            "--model",
            "models/learned-nema8.postcard",
        ])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let bad = tmp("bad.postcard");
    std::fs::write(&bad, b"not a table").unwrap();
    let out = Command::new(BIN)
        .args(["sim", "--site", SITE, "--planner", "learned", "--model"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Q-table"));
    let out = Command::new(BIN)
        .args(["sim", "--site", SITE, "--planner", "learned"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--model"));
}

/// `greenwave run` on the dry-run board: real-time loop, watchdog kicked through a file (the
/// write keep-alive path) and magic-closed on SIGTERM, rotating event log and state written, exit 0.
/// A board file naming a chip that does not exist is a clear start-up error.
#[test]
fn run_on_the_dry_run_board_kicks_and_closes_the_watchdog() {
    let dir = tmp("board");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let wd = dir.join("watchdog");
    std::fs::write(&wd, b"").unwrap();
    let text = std::fs::read_to_string("board/host-fake.toml").unwrap().replace(
        "event_dir = \"target/host-fake/events\"\nstate_dir = \"target/host-fake/state\"\n",
        &format!(
            "watchdog = \"{}\"\nevent_dir = \"{}\"\nstate_dir = \"{}\"\n",
            wd.display(),
            dir.join("events").display(),
            dir.join("state").display()
        ),
    );
    let board = dir.join("board.toml");
    std::fs::write(&board, text).unwrap();
    let mut child = Command::new(BIN)
        .args(["run", "--board"])
        .arg(&board)
        .args(["--site", SITE])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    kill(&child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(60));
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    let kicks = std::fs::read(&wd).unwrap();
    assert!(
        kicks.len() > 15,
        "about one kick per 100 ms tick: {} bytes",
        kicks.len()
    );
    assert_eq!(kicks.last(), Some(&b'V'), "magic close on a clean exit");
    let logs: Vec<_> = std::fs::read_dir(dir.join("events")).unwrap().collect();
    assert!(!logs.is_empty());
    assert!(dir.join("state").join("counters.bin").exists());

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, std::fs::read_to_string("board/rock5b.toml").unwrap()).unwrap();
    let out = Command::new(BIN)
        .args(["run", "--board"])
        .arg(&bad)
        .args(["--site", SITE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("gpiochip3") && (e.contains("features gpio-cdev") || e.contains("cannot request")),
        "{e}"
    );
}

/// The barrier typo that lets phase 8 (westbound through) run with phase 2 (northbound through):
/// `check` and `sim` refuse it, naming the phases.
#[test]
fn check_and_sim_refuse_the_barrier_typo() {
    let typo = tmp("typo.toml");
    let text = std::fs::read_to_string(SITE).unwrap().replace(
        "barriers = [[1, 2, 5, 6], [3, 4, 7, 8]]",
        "barriers = [[1, 2, 3, 4, 5, 6, 7, 8]]",
    );
    std::fs::write(&typo, text).unwrap();
    let out = Command::new(BIN).args(["check", "--site"]).arg(&typo).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("typo.toml line 30") && e.contains("structure.barriers") && e.contains("phases 2 and 8"),
        "{e}"
    );
    let out = Command::new(BIN)
        .args(["sim", "--duration", "60", "--site"])
        .arg(&typo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("phases 2 and 8"), "{e}");
}

/// `--print-card` prints the geometry card; the shipped boards carry it; a board without one is
/// refused by `check --board` and `sim --board`.
#[test]
fn print_card_and_board_cards() {
    let out = Command::new(BIN)
        .args(["check", "--site", SITE, "--print-card"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let card = String::from_utf8_lossy(&out.stdout);
    assert!(
        card.starts_with("[mmu]")
            && card.contains("permitted = [[1, 5], [1, 6], [2, 5], [2, 6], [3, 7], [3, 8], [4, 7], [4, 8]]"),
        "{card}"
    );
    let shipped = std::fs::read_to_string("board/host-fake.toml").unwrap();
    assert!(
        shipped.contains(card.trim_end()),
        "host-fake.toml carries the printed card"
    );
    let out = Command::new(BIN)
        .args(["check", "--site", SITE, "--board", "board/host-fake.toml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bare = tmp("no-card.toml");
    std::fs::write(&bare, &shipped[..shipped.find("[mmu]").unwrap()]).unwrap();
    let out = Command::new(BIN)
        .args(["check", "--site", SITE, "--board"])
        .arg(&bare)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("has no [mmu] compatibility card") && e.contains("--print-card"),
        "{e}"
    );
    let out = Command::new(BIN)
        .args(["sim", "--site", SITE, "--duration", "30", "--board"])
        .arg(&bare)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = Command::new(BIN)
        .args([
            "sim",
            "--site",
            SITE,
            "--duration",
            "120",
            "--board",
            "board/host-fake.toml",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("faults            0"));
    let out = Command::new(BIN)
        .args(["sim", "--site", SITE, "--duration", "30"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("card derived from the site's approaches and movements"));
}

/// `greenwave run --model`: a site on the learned planner needs a Q-table, a missing file is a
/// clear start-up error, and the shipped table loads: the board loop starts, runs its duration and
/// stops with exit 0.
#[test]
fn run_loads_the_learned_planners_model() {
    let dir = tmp("run-model");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string("board/host-fake.toml").unwrap().replace(
        "event_dir = \"target/host-fake/events\"\nstate_dir = \"target/host-fake/state\"\n",
        &format!(
            "event_dir = \"{}\"\nstate_dir = \"{}\"\n",
            dir.join("events").display(),
            dir.join("state").display()
        ),
    );
    let board = dir.join("board.toml");
    std::fs::write(&board, text).unwrap();
    let site = dir.join("learned.toml");
    let learned = std::fs::read_to_string(SITE)
        .unwrap()
        .replacen("planner = \"actuated\"", "planner = \"learned\"", 1);
    assert!(learned.contains("planner = \"learned\""));
    std::fs::write(&site, learned).unwrap();
    let run = |model: Option<&str>| {
        let mut c = Command::new(BIN);
        c.args(["run", "--duration", "1", "--board"])
            .arg(&board)
            .arg("--site")
            .arg(&site);
        if let Some(m) = model {
            c.args(["--model", m]);
        }
        c.output().unwrap()
    };
    let out = run(None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--model"));
    let missing = dir.join("missing.postcard");
    let out = run(Some(missing.to_str().unwrap()));
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("model file") && e.contains("missing.postcard"), "{e}");
    let started = Instant::now();
    let out = run(Some("models/learned-nema8.postcard"));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(String::from_utf8_lossy(&out.stdout).contains("simulated time"));
}

/// The help is generated from the option definitions: `help` and `--help` list every command on
/// standard output (status 0), `sim --help` every sim option with its default; no command at all
/// is a usage error (status 2) with the help on standard error.
#[test]
fn help_lists_every_command_and_sims_defaults() {
    for args in [&["help"][..], &["--help"][..]] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        for cmd in ["check", "sim", "run", "train", "plot", "verify", "pin-hash", "help"] {
            assert!(text.contains(&format!("\n  {cmd} ")), "{args:?} lacks `{cmd}`: {text}");
        }
    }
    let out = Command::new(BIN).args(["sim", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--site",
        "--board",
        "--duration",
        "--speed",
        "--seed",
        "--events",
        "--append",
        "--overwrite",
        "--volumes",
        "--planner",
        "--console",
        "--baud",
        "--state-dir",
        "--model",
        "--relay-mirror",
        "--faults",
        "--event-dir",
    ] {
        assert!(
            text.contains(&format!("{opt} ")) || text.contains(&format!("{opt}\n")),
            "sim --help lacks {opt}"
        );
    }
    for default in [
        "[default: 3600]",
        "[default: max]",
        "[default: 1]",
        "[default: 1.0]",
        "[default: 115200]",
    ] {
        assert!(text.contains(default), "sim --help lacks {default}: {text}");
    }
    let out = Command::new(BIN).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: greenwave <COMMAND>"));
}
