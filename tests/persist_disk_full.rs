//! Persistence on a full disk: the process file-size limit (RLIMIT_FSIZE; writes fail with EFBIG
//! as they fail with ENOSPC on a full partition) makes a save fail part-way. The error is a clear,
//! `Copy` fault; the committed file is untouched; no temp file is left; the next save after space
//! returns clears the fault. Also proves saving does not allocate. Alone in its own binary because
//! the limit and the allocation counter are process-wide.

use greenwave::events::persist::{FaultHistory, LoadOutcome, PersistError, Store};
use greenwave::monitor::{Fault, FaultKind};
use greenwave::signal::frame::OutputFrame;
use greenwave::time::Instant;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use std::sync::atomic::Ordering;
use std::sync::Arc;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, COUNTING};

fn history(n: usize) -> FaultHistory {
    let mut h = FaultHistory::default();
    for i in 0..n {
        let f = Fault {
            at: Instant(i as u64),
            kind: FaultKind::DarkHead,
            a: None,
            b: None,
            frame: OutputFrame::ALL_RED,
        };
        h.faults.push(f).unwrap();
    }
    h
}

#[test]
fn full_disk_is_a_fault_that_keeps_the_committed_state() {
    signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        Arc::new(std::sync::atomic::AtomicBool::new(false)),
    )
    .unwrap();
    let d = std::env::temp_dir().join(format!("gw-persist-full-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let mut s: Store<FaultHistory> = Store::new(&d).unwrap();
    let small = history(2);
    let big = history(32);

    COUNTING.store(true, Ordering::SeqCst);
    s.save(&small).unwrap();
    let allocations = ALLOCS.load(Ordering::SeqCst);
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(allocations, 0, "a save allocated {allocations} times");
    let committed = std::fs::read(s.path()).unwrap();

    let (soft, hard) = getrlimit(Resource::RLIMIT_FSIZE).unwrap();
    setrlimit(Resource::RLIMIT_FSIZE, committed.len() as u64 + 20, hard).unwrap();
    let err = s.save(&big).unwrap_err();
    setrlimit(Resource::RLIMIT_FSIZE, soft, hard).unwrap();

    assert_eq!(err, PersistError::Io(nix::errno::Errno::EFBIG as i32));
    assert_eq!(s.fault(), Some(err));
    println!("reported: {err}");
    assert!(err.to_string().contains("the last saved state is kept"));
    assert_eq!(
        std::fs::read(s.path()).unwrap(),
        committed,
        "the committed file changed"
    );
    assert!(
        !d.join("faults.bin.tmp").exists(),
        "a partial temp file was left behind"
    );
    assert_eq!(s.load(), (small, LoadOutcome::Loaded));

    // Space is back: the next save works and clears the fault.
    s.save(&big).unwrap();
    assert_eq!(s.fault(), None);
    assert_eq!((s.saves(), s.failures()), (2, 1));
    assert_eq!(s.load(), (big, LoadOutcome::Loaded));
    let _ = std::fs::remove_dir_all(&d);
}
