//! Loud loss at the command line: nothing written by `greenwave sim` is lost without being counted,
//! shown in the summary and reflected in the exit status (3). A full disk is simulated with the
//! process file-size limit (`ulimit -f`, RLIMIT_FSIZE: writes past it fail with EFBIG as they fail
//! with ENOSPC on a full partition; SIGXFSZ is ignored so the write returns the error), a state file
//! that cannot be written with a directory in its place.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");
const SITE: &str = "board/sites/nema8-4leg.toml";

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gw-cli-loss-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sim(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["sim", "--site", SITE, "--seed", "3"])
        .args(args)
        .output()
        .unwrap()
}

/// `greenwave sim ARGS` with files limited to `kib` KiB.
fn sim_limited(kib: u32, args: &[&str]) -> Output {
    let mut cmd = format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" sim --site {SITE} --seed 3");
    for a in args {
        cmd.push_str(&format!(" '{a}'"));
    }
    Command::new("bash").args(["-c", &cmd, BIN]).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Data rows of an event log, after checking it is one valid CSV table (one header, whole rows).
fn rows(path: &Path) -> u64 {
    let csv = std::fs::read_to_string(path).unwrap();
    assert!(csv.is_empty() || csv.ends_with('\n'), "half row at the end");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("TimeStamp,DeviceId,EventId,Parameter"));
    let mut n = 0;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 4, "bad row {l:?}");
        f[2].parse::<u8>().unwrap_or_else(|_| panic!("bad row {l:?}"));
        n += 1;
    }
    n
}

/// The numbers of the summary line starting with `label`, in order.
fn numbers(summary: &str, label: &str) -> Vec<u64> {
    let line = summary
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{summary}"));
    line.split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect()
}

#[test]
fn full_disk_prints_the_summary_counts_the_loss_saves_state_and_exits_3() {
    let d = dir("full");
    let ev = d.join("events.csv");
    let state = d.join("state");
    let out = sim_limited(
        16,
        &[
            "--duration",
            "900",
            "--events",
            ev.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = text(&out);
    println!("{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    // events  N generated, W written, L lost (file too large: …)
    let ev_numbers = numbers(&stdout, "events ");
    let (generated, written, lost) = (ev_numbers[0], ev_numbers[1], ev_numbers[2]);
    assert!(lost > 0, "{stdout}");
    assert_eq!(generated, written + lost, "{stdout}");
    assert_eq!(written, rows(&ev), "rows reported written are not the rows in the file");
    assert!(stdout.contains("file too large"), "{stdout}");
    assert!(stdout.contains("faults            0"), "{stdout}");
    // The failure is logged once per episode, not per row (a short row may still fit after a cut,
    // which ends one episode and starts another).
    let logged = stderr.matches("rows are lost").count();
    assert!(
        (1..=2).contains(&logged) && lost > 100,
        "{logged} error lines for {lost} rows: {stderr}"
    );
    // State files are small: they are still saved.
    let st = numbers(&stdout, "state saves");
    assert!(st[0] > 0 && st[1] == 0, "{stdout}");
    for f in ["flows.bin", "counters.bin", "faults.bin"] {
        assert!(state.join(f).is_file(), "{f} not saved");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_existing_event_log_is_refused_unless_append_or_overwrite() {
    let d = dir("exist");
    let ev = d.join("events.csv");
    let e = ev.to_str().unwrap();
    let first = sim(&["--duration", "300", "--events", e]);
    assert_eq!(first.status.code(), Some(0));
    let before = std::fs::read(&ev).unwrap();
    let r1 = rows(&ev);
    assert!(r1 > 100);

    let again = sim(&["--duration", "300", "--events", e]);
    let (stdout, stderr) = text(&again);
    assert_eq!(again.status.code(), Some(1), "{stdout}");
    assert!(
        stderr.contains("--append") && stderr.contains("--overwrite"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&ev).unwrap(), before, "the previous log was changed");

    let append = sim(&["--duration", "200", "--events", e, "--append"]);
    assert_eq!(append.status.code(), Some(0), "{}", text(&append).1);
    let written = numbers(&text(&append).0, "events ")[1];
    assert_eq!(rows(&ev), r1 + written, "appended rows");
    assert!(
        std::fs::read(&ev).unwrap().starts_with(&before),
        "appending changed the old rows"
    );

    let over = sim(&["--duration", "100", "--events", e, "--overwrite"]);
    assert_eq!(over.status.code(), Some(0));
    assert_eq!(rows(&ev), numbers(&text(&over).0, "events ")[1]);

    let both = sim(&["--events", e, "--append", "--overwrite"]);
    assert_eq!(both.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_state_file_that_cannot_be_written_does_not_stop_the_others() {
    let d = dir("statedir");
    let state = d.join("state");
    std::fs::create_dir_all(state.join("flows.bin")).unwrap();
    let ev = d.join("events.csv");
    let out = sim(&[
        "--duration",
        "900",
        "--events",
        ev.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    println!("{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let st = numbers(&stdout, "state saves");
    let (ok, failed) = (st[0], st[1]);
    assert!(failed > 0 && ok > 0, "{stdout}");
    // Logged once for the episode, not once per save.
    assert_eq!(stderr.matches("cannot save").count(), 1, "{stderr}");
    assert!(stderr.contains("flows.bin"), "{stderr}");
    // The other two files are saved, and the counters carry every failed save.
    assert!(state.join("faults.bin").is_file());
    let mut counters: greenwave::events::persist::Store<greenwave::events::persist::Counters> =
        greenwave::events::persist::Store::new(&state).unwrap();
    let (c, outcome) = counters.load();
    assert_eq!(outcome, greenwave::events::persist::LoadOutcome::Loaded);
    assert_eq!(c.persist_failures, failed);
    // One controller alarm for the episode in the event log (code 174, state save alarm).
    let csv = std::fs::read_to_string(&ev).unwrap();
    let alarm = format!(",174,{}", greenwave::events::alarm::STATE_SAVE);
    assert_eq!(csv.lines().filter(|l| l.ends_with(&alarm)).count(), 1, "alarm rows");
    // Flash is not latched for it.
    assert!(stdout.contains("faults            0"), "{stdout}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn damaged_state_is_a_warning_and_every_damaged_copy_is_kept() {
    let d = dir("damaged");
    let state = d.join("state");
    std::fs::create_dir_all(&state).unwrap();
    for run in 1..=2u8 {
        std::fs::write(state.join("counters.bin"), [b'X', run, 0, 0]).unwrap();
        let out = sim(&["--duration", "60", "--state-dir", state.to_str().unwrap()]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let line = stderr
            .lines()
            .find(|l| l.contains("DAMAGED"))
            .expect("damage not reported");
        assert!(line.contains("WARN"), "{line}");
        assert!(line.contains(&format!("counters.bin.corrupt.{run}")), "{line}");
    }
    assert_eq!(
        std::fs::read(state.join("counters.bin.corrupt.1")).unwrap(),
        [b'X', 1, 0, 0]
    );
    assert_eq!(
        std::fs::read(state.join("counters.bin.corrupt.2")).unwrap(),
        [b'X', 2, 0, 0]
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn log_lines_to_a_full_disk_do_not_stop_the_controller() {
    // Standard error redirected to a file on the partition that filled up: log records fail to
    // write, the controller runs on and the summary is printed.
    let d = dir("stderr");
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(BIN)
        .args(["sim", "--site", SITE, "--duration", "60", "--state-dir"])
        .arg(d.join("state"))
        .stderr(full)
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("faults            0"), "{stdout}");
    let _ = std::fs::remove_dir_all(&d);
}
