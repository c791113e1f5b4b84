//! The event log writer thread counts a row as written only once it is in the file, counts rows lost
//! to write errors apart from rows dropped because its queue was full, and counts a log file that
//! could not be created at rotation. A full disk is simulated with the process file-size limit
//! (RLIMIT_FSIZE: EFBIG where a full partition gives ENOSPC); the limit is per file, so the other
//! test here, whose files stay far below it, is unaffected.

#[path = "support/sim_events.rs"]
mod sim_events;

use greenwave::events::csv::{WallClock, HEADER};
use greenwave::events::rotate::{LogBudget, RotatingCsvLog};
use greenwave::runtime::logger::EventSink;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const CLOCK: WallClock = WallClock { unix_ms_at_zero: 0 };

/// Data rows in every file of `dir`, checking each is valid CSV (header, whole rows).
fn rows_on_disk(dir: &Path) -> u64 {
    let mut rows = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.ends_with('\n'), "{} ends in a half row", p.display());
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(HEADER));
        for l in lines {
            assert_eq!(l.split(',').count(), 4, "half-written row {l:?}");
            rows += 1;
        }
    }
    rows
}

fn ignore_sigxfsz() {
    signal_hook::flag::register(signal_hook::consts::SIGXFSZ, Arc::new(AtomicBool::new(false))).unwrap();
}

#[test]
fn writer_counts_only_rows_on_disk_and_every_lost_row() {
    ignore_sigxfsz();
    let events = sim_events::sim_events(1800);
    let dir = std::env::temp_dir().join(format!("gw-evloss-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (soft, hard) = getrlimit(Resource::RLIMIT_FSIZE).unwrap();
    // About a third of the rows fit.
    setrlimit(Resource::RLIMIT_FSIZE, 40_000, hard).unwrap();
    let mut sink = EventSink::create_rotating(&dir, 1, CLOCK).unwrap();
    for ev in &events {
        sink.send(*ev, true);
    }
    let h = sink.finish();
    setrlimit(Resource::RLIMIT_FSIZE, soft, hard).unwrap();
    println!("{} events: {h:?}", events.len());
    assert_eq!(h.sent + h.queue_dropped, events.len() as u64);
    assert_eq!(h.queue_dropped, 0, "nothing is dropped while the sender waits for room");
    assert!(h.rows_lost > 0 && h.write_errors > 0 && h.bytes_lost > 0);
    assert_eq!(
        h.rows_written + h.rows_lost,
        h.sent,
        "rows neither written nor counted as lost"
    );
    assert_eq!(
        h.rows_written,
        rows_on_disk(&dir),
        "rows counted as written are not on disk"
    );
    assert_eq!(h.last_errno, nix::errno::Errno::EFBIG as i32);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_log_file_not_created_at_rotation_is_counted_with_its_rows() {
    ignore_sigxfsz();
    let events = sim_events::sim_events(600);
    let dir = std::env::temp_dir().join(format!("gw-evrot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let budget = LogBudget {
        file_bytes: 4096,
        total_bytes: 64 << 10,
    };
    let mut log = RotatingCsvLog::open(&dir, "events", 1, CLOCK, budget).unwrap();
    // The second file's name is taken by a directory: rotating to it fails.
    std::fs::create_dir(dir.join("events-00000001.csv")).unwrap();
    for ev in &events {
        let _ = log.append(ev);
    }
    let _ = log.sync();
    let s = log.stats();
    println!("{} events: {s:?}", events.len());
    assert!(s.open_failures > 0, "the failed rotation was not counted");
    assert!(s.rows_dropped > 0 && s.write_errors > 0);
    assert_eq!(s.rows_written + s.rows_dropped, events.len() as u64);
    drop(log);
    assert_eq!(s.rows_written, rows_on_disk(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}
