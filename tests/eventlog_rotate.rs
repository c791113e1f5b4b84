//! Rotating event log: a one-hour controller run written under a small byte budget. Checks the
//! budget, the file format, that the newest history is the one kept, numbering across a restart,
//! and (counting allocator) that appending, flushing, rotating and deleting never allocate.

#[path = "support/sim_events.rs"]
mod sim_events;

use greenwave::events::csv::{parse_timestamp, WallClock, HEADER};
use greenwave::events::rotate::{LogBudget, RotatingCsvLog};
use std::sync::atomic::Ordering;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, COUNTING};

const CLOCK: WallClock = WallClock {
    unix_ms_at_zero: 1_767_225_600_000,
}; // 2026-01-01 00:00 UTC

fn files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn one_hour_under_a_small_budget_without_allocating() {
    let events = sim_events::sim_events(3600);
    assert!(
        events.len() > 3000,
        "the simulation logged only {} events",
        events.len()
    );
    let dir = std::env::temp_dir().join(format!("gw-evlog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let budget = LogBudget {
        file_bytes: 16 * 1024,
        total_bytes: 64 * 1024,
    };
    let mut log = RotatingCsvLog::open(&dir, "events", 1, CLOCK, budget).unwrap();

    COUNTING.store(true, Ordering::SeqCst);
    for (i, ev) in events.iter().enumerate() {
        log.append(ev).unwrap();
        if i % 50 == 0 {
            log.flush().unwrap(); // the writer thread flushes a few times a second
        }
    }
    log.sync().unwrap();
    let allocations = ALLOCS.load(Ordering::SeqCst);
    COUNTING.store(false, Ordering::SeqCst);

    let st = log.stats();
    let fs = files(&dir);
    let on_disk: u64 = fs.iter().map(|(_, t)| t.len() as u64).sum();
    println!(
        "{} events -> {} rows written, {} files opened, {} deleted, {} kept ({} bytes on disk), {allocations} allocations",
        events.len(),
        st.rows_written,
        st.files_opened,
        st.files_deleted,
        fs.len(),
        on_disk
    );
    assert_eq!(allocations, 0, "the event log allocated {allocations} times");
    assert_eq!(st.rows_written, events.len() as u64);
    assert_eq!(st.rows_dropped, 0);
    assert!(st.files_deleted > 0, "the budget never forced a deletion");
    assert!(
        on_disk <= budget.total_bytes,
        "{on_disk} bytes on disk exceed the budget"
    );
    assert_eq!(on_disk, log.total_bytes());
    let mut rows = 0;
    for (name, text) in &fs {
        assert!(text.len() as u64 <= budget.file_bytes, "{name} is {} bytes", text.len());
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(HEADER), "{name} lacks the header");
        for l in lines {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4, "{name}: bad row {l:?}");
            assert!(parse_timestamp(f[0]).is_some(), "{name}: bad timestamp {l:?}");
            assert_eq!(f[1], "1");
            f[2].parse::<u8>().unwrap();
            f[3].parse::<u16>().unwrap();
            rows += 1;
        }
    }
    // The newest history is what the budget keeps: the last rows on disk are the last events.
    let (_, last_file) = fs.last().unwrap();
    let last_row = last_file.lines().last().unwrap();
    let mut expect = String::new();
    greenwave::events::csv::write_row(&mut expect, CLOCK, 1, events.last().unwrap()).unwrap();
    assert_eq!(format!("{last_row}\n"), expect);
    assert!(rows < events.len(), "nothing was rotated away");

    // A restart continues the numbering and keeps the budget.
    let seq = log.current_seq();
    drop(log);
    let log2 = RotatingCsvLog::open(&dir, "events", 1, CLOCK, budget).unwrap();
    assert_eq!(log2.current_seq(), seq + 1);
    drop(log2);
    let _ = std::fs::remove_dir_all(&dir);
}
