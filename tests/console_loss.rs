//! The console shows what the event log and the state writer lost: `stats` always, `faults` as soon
//! as anything was lost (a storage fault does not latch flash, so it is not in the fault history).

#[path = "support/sim_events.rs"]
mod sim_events;

use greenwave::console::controller::Bound;
use greenwave::console::view::LoopStats;
use greenwave::console::Console;
use greenwave::detect::DetectorSnapshot;
use greenwave::hal::sim::serial::SimSerial;
use greenwave::hal::sim::traffic::SimTraffic;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::runtime::sim::ControlLoop;
use greenwave::time::Instant;

fn session(stats: LoopStats) -> String {
    let site = sim_events::reference_site();
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        SimTraffic::new(&site, 1.0, 1),
    );
    let mut console = Console::new(None);
    let mut port = SimSerial::default();
    console.start(site.name.as_str());
    let det = DetectorSnapshot::EMPTY;
    let tick = u64::from(site.tick_ms);
    for k in 0..40u64 {
        let now = Instant(k * tick);
        lp.tick(now, true);
        if k == 20 {
            port.type_bytes(b"stats\rfaults\r");
        }
        let mut bound = Bound {
            controller: &mut lp.controller,
            detectors: &det,
            stats,
            watchdog_ok: true,
            now,
        };
        console.poll(&mut port, now, &mut bound).unwrap();
    }
    String::from_utf8_lossy(&port.output).into_owned()
}

#[test]
fn stats_and_faults_show_lost_rows_and_failed_saves() {
    let lossy = LoopStats {
        event_log: true,
        log_rows_written: 313,
        log_rows_lost: 258,
        log_bytes_lost: 7_224,
        log_queue_dropped: 4,
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
        log_rows_written: 571,
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
