//! The console shows what the event log and the state writer lost: `stats` always, `faults` as soon
//! as anything was lost (a storage fault does not latch flash, so it is not in the fault history).

#[path = "support/sim_events.rs"]
mod sim_events;

#[path = "support/console_session.rs"]
mod console_session;

use greenwave::stats::LoopStats;

fn session(stats: LoopStats) -> String {
    console_session::console_session(&sim_events::reference_site(), stats, 40, 20, b"stats\rfaults\r")
}

#[test]
fn stats_and_faults_show_lost_rows_and_failed_saves() {
    let lossy = LoopStats {
        event_log: true,
        events_logged: 313,
        events_lost: 258,
        log_bytes_lost: 7_224,
        events_queue_dropped: 4,
        log_errno: 28,
        log_failing: true,
        state: true,
        state_saves: 6,
        state_save_failures: 3,
        state_failing: true,
        ..LoopStats::default()
    };
    let out = session(lossy);
    println!("{out}");
    let log_line = "event log: written 313  lost 258 (7224 bytes)  queue full 4  FAILING (errno 28)";
    let state_line = "state saves: ok 6  failed 3  FAILING";
    // Once in `stats`, once in `faults`.
    assert_eq!(out.matches(log_line).count(), 2, "{out}");
    assert_eq!(out.matches(state_line).count(), 2, "{out}");

    // Nothing lost: `stats` shows the counters, `faults` stays as it was.
    let clean = LoopStats {
        event_log: true,
        events_logged: 571,
        state: true,
        state_saves: 9,
        ..LoopStats::default()
    };
    let out = session(clean);
    assert_eq!(
        out.matches("event log: written 571  lost 0 (0 bytes)  queue full 0")
            .count(),
        1,
        "{out}"
    );
    assert_eq!(out.matches("state saves: ok 9  failed 0").count(), 1, "{out}");
    assert!(out.contains("(no faults recorded)"), "{out}");
}

/// Without the counting allocator (a library user, a test) the heap figures are unknown: `stats`
/// says "n/a", never a made-up 0; known figures are shown with their units.
#[test]
fn stats_say_na_for_unknown_heap_and_rss() {
    let out = session(LoopStats::default());
    assert!(
        out.contains("allocations after start-up n/a  heap in use n/a  rss n/a"),
        "{out}"
    );
    let out = session(LoopStats {
        allocations: Some(3),
        heap_bytes: Some(65_536),
        rss_kb: Some(5_120),
        ..LoopStats::default()
    });
    assert!(
        out.contains("allocations after start-up 3  heap in use 65536 B  rss 5120 kB"),
        "{out}"
    );
}
