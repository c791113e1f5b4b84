//! Persistence on a real filesystem: truncated and bit-flipped files are reported and replaced by
//! defaults, and a process killed by SIGTERM between writing the new state and renaming it over the
//! old one loses nothing that was committed before.

use greenwave::events::persist::{Counters, Damage, FaultHistory, LearnedFlows, LoadOutcome, Store};
use greenwave::monitor::{Fault, FaultKind};
use greenwave::plan::hour::HourFlows;
use greenwave::signal::frame::OutputFrame;
use greenwave::signal::phase::PhaseId;
use greenwave::time::Instant;
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gw-persist-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn history() -> FaultHistory {
    let mut h = FaultHistory::default();
    for i in 0..32u64 {
        let f = Fault {
            at: Instant(i * 60_000),
            kind: if i % 2 == 0 {
                FaultKind::Conflict
            } else {
                FaultKind::RelayReadBack
            },
            a: PhaseId::new((i % 8) as u8 + 1),
            b: PhaseId::new(((i + 3) % 8) as u8 + 1),
            frame: OutputFrame::ALL_RED,
        };
        h.faults.push(f).unwrap();
    }
    h
}

#[test]
fn round_trip_of_every_record() {
    let d = dir("rt");
    let mut faults: Store<FaultHistory> = Store::new(&d).unwrap();
    let mut counters: Store<Counters> = Store::new(&d).unwrap();
    let mut flows: Store<LearnedFlows> = Store::new(&d).unwrap();
    assert_eq!(faults.load(), (FaultHistory::default(), LoadOutcome::Missing));
    let c = Counters {
        boots: 7,
        ticks: 36_000,
        ..Default::default()
    };
    let l = LearnedFlows {
        flows_vph: [90.0, 510.0, 90.0, 480.0, 95.0, 505.0, 88.0, 470.0],
        cycles: 41,
        updated_unix_s: 1,
    };
    faults.save(&history()).unwrap();
    counters.save(&c).unwrap();
    flows.save(&l).unwrap();
    assert_eq!(faults.load(), (history(), LoadOutcome::Loaded));
    assert_eq!(counters.load(), (c, LoadOutcome::Loaded));
    assert_eq!(flows.load(), (l, LoadOutcome::Loaded));
    // The last hour of trusted counts, four full bins and one being filled.
    let mut hour: Store<HourFlows> = Store::new(&d).unwrap();
    let mut h = HourFlows::default();
    for k in 0..75u32 {
        h.record(&[1 + k % 3, 14, 2, 12, 1, 15, 2, 11], 60_000);
    }
    assert_eq!(h.completed().len(), 4);
    hour.save(&h).unwrap();
    assert_eq!(hour.load(), (h, LoadOutcome::Loaded));
    let size = std::fs::metadata(faults.path()).unwrap().len();
    println!("fault history of 32 faults: {size} bytes on disk");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn truncated_file_is_reported_and_defaults_are_used() {
    let d = dir("trunc");
    let mut s: Store<FaultHistory> = Store::new(&d).unwrap();
    s.save(&history()).unwrap();
    let full = std::fs::read(s.path()).unwrap();
    for len in [0, 3, 10, 16, full.len() / 2, full.len() - 1] {
        std::fs::write(s.path(), &full[..len]).unwrap();
        let (v, outcome) = s.load();
        assert_eq!(v, FaultHistory::default());
        match outcome {
            LoadOutcome::Damaged(Damage::Truncated { len: l, .. }) => assert_eq!(l, len),
            other => panic!("truncation to {len} bytes reported as {other:?}"),
        }
        // The damaged file is kept aside for inspection, and a new save works.
        assert!(s.kept_corrupt().is_some_and(|p| p.exists()));
        s.save(&history()).unwrap();
        assert_eq!(s.load(), (history(), LoadOutcome::Loaded));
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn flipped_bits_are_reported_and_defaults_are_used() {
    let d = dir("flip");
    let mut s: Store<LearnedFlows> = Store::new(&d).unwrap();
    let l = LearnedFlows {
        flows_vph: [100.0; 8],
        cycles: 5,
        updated_unix_s: 99,
    };
    s.save(&l).unwrap();
    let good = std::fs::read(s.path()).unwrap();
    let mut crc_reports = 0;
    for bit in 0..good.len() * 8 {
        let mut b = good.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(s.path(), &b).unwrap();
        let (v, outcome) = s.load();
        assert_eq!(v, LearnedFlows::default(), "bit {bit}");
        assert!(matches!(outcome, LoadOutcome::Damaged(_)), "bit {bit}: {outcome:?}");
        if let LoadOutcome::Damaged(d @ Damage::Crc { .. }) = outcome {
            crc_reports += 1;
            assert!(d.to_string().contains("checksum mismatch"));
        }
    }
    assert!(crc_reports > good.len() * 4, "most flips should be caught by the CRC");
    let _ = std::fs::remove_dir_all(&d);
}

/// Child half of the SIGTERM test: commits `boots = 1`, stages `boots = 2`, then dies by SIGTERM
/// before the rename. Runs only when the parent starts it.
#[test]
#[ignore = "run as a child process by sigterm_between_write_and_rename_loses_nothing"]
fn child_stage_then_sigterm() {
    let Some(d) = std::env::var_os("GW_PERSIST_CHILD_DIR") else {
        return;
    };
    let mut s: Store<Counters> = Store::new(std::path::Path::new(&d)).unwrap();
    s.save(&Counters {
        boots: 1,
        ..Default::default()
    })
    .unwrap();
    let staged = s
        .stage(&Counters {
            boots: 2,
            ..Default::default()
        })
        .unwrap();
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
    // Not reached: SIGTERM's default action ends the process here.
    staged.commit().unwrap();
}

#[test]
fn sigterm_between_write_and_rename_loses_nothing() {
    use std::os::unix::process::ExitStatusExt;
    let d = dir("sigterm");
    std::fs::create_dir_all(&d).unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_stage_then_sigterm", "--ignored", "--test-threads=1"])
        .env("GW_PERSIST_CHILD_DIR", &d)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.signal(),
        Some(nix::sys::signal::Signal::SIGTERM as i32),
        "child was not killed: {status:?}"
    );
    // The staged (uncommitted) state is on disk next to the committed one…
    assert!(d.join("counters.bin.tmp").exists());
    let mut s: Store<Counters> = Store::new(&d).unwrap();
    // …and after the restart the committed state is what loads, and the leftover is cleaned up.
    let (c, outcome) = s.load();
    assert_eq!(outcome, LoadOutcome::Loaded);
    assert_eq!(c.boots, 1);
    assert!(!d.join("counters.bin.tmp").exists());
    let _ = std::fs::remove_dir_all(&d);
}
