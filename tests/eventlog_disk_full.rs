//! Event log on a full disk: the process file-size limit (RLIMIT_FSIZE, the same refusal a full
//! filesystem gives, as EFBIG instead of ENOSPC) makes writes fail part-way. The log must report the
//! fault, count the lost rows, keep the file valid CSV (no half row), and resume when space returns.
//! Alone in its own test binary because the limit applies to the whole process.

#[path = "support/sim_events.rs"]
mod sim_events;

use greenwave::events::csv::{WallClock, HEADER};
use greenwave::events::rotate::{LogBudget, LogError, RotatingCsvLog};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[test]
fn full_disk_is_a_fault_not_a_crash_and_recovers() {
    // Exceeding the limit raises SIGXFSZ, which would kill the process; a registered handler turns it
    // into a plain EFBIG from write(2), as on a full disk.
    signal_hook::flag::register(signal_hook::consts::SIGXFSZ, Arc::new(AtomicBool::new(false))).unwrap();
    let events = sim_events::sim_events(1800);
    let dir = std::env::temp_dir().join(format!("gw-evfull-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let budget = LogBudget {
        file_bytes: 1 << 20,
        total_bytes: 4 << 20,
    };
    let mut log = RotatingCsvLog::open(&dir, "events", 1, WallClock { unix_ms_at_zero: 0 }, budget).unwrap();
    let third = events.len() / 3;
    for ev in &events[..third] {
        log.append(ev).unwrap();
    }
    log.flush().unwrap();
    let before = log.stats().rows_written;

    let (soft, hard) = getrlimit(Resource::RLIMIT_FSIZE).unwrap();
    // Room for a few more kB only: the next flushes hit the limit in the middle of a row.
    let limit = log.total_bytes() + 3_000;
    setrlimit(Resource::RLIMIT_FSIZE, limit, hard).unwrap();
    let mut errors = 0;
    for (i, ev) in events[third..2 * third].iter().enumerate() {
        let r = log
            .append(ev)
            .and_then(|()| if i % 20 == 19 { log.flush() } else { Ok(()) });
        if let Err(e) = r {
            assert_eq!(e, LogError::Io(libc_efbig()), "unexpected error {e}");
            errors += 1;
        }
    }
    let _ = log.flush();
    let during = log.stats();
    assert!(
        errors > 0 && during.write_errors > 0,
        "the full disk was never reported"
    );
    assert!(during.rows_dropped > 0);
    assert_eq!(during.last_errno, libc_efbig());
    println!(
        "full disk: {} write errors, {} rows dropped, message: {}",
        during.write_errors,
        during.rows_dropped,
        LogError::Io(during.last_errno)
    );

    // Space is back: writing resumes without a restart.
    setrlimit(Resource::RLIMIT_FSIZE, soft, hard).unwrap();
    for ev in &events[2 * third..] {
        log.append(ev).unwrap();
    }
    log.sync().unwrap();
    let after = log.stats();
    assert_eq!(after.last_errno, 0);
    assert_eq!(after.rows_written + after.rows_dropped, events.len() as u64);
    assert!(after.rows_written > before);

    // Every file is whole rows: what was committed before the fault is all there.
    let mut rows = 0u64;
    for e in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(text.ends_with('\n'));
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(HEADER));
        for l in lines {
            assert_eq!(l.split(',').count(), 4, "half-written row {l:?}");
            rows += 1;
        }
    }
    assert_eq!(rows, after.rows_written);
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

fn libc_efbig() -> i32 {
    nix::errno::Errno::EFBIG as i32
}
