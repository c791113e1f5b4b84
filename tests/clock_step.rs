//! Wall-clock steps while the controller runs in real time (runtime::wallclock): the wall clock the
//! loop reads jumps an hour forward, then two hours back, under a running 1× loop, as an NTP step or
//! `date -s` would do it; the monotonic clock the signal times by is the machine's own. The signal
//! keeps its timing: no monitor fault, and `greenwave verify` finds no shortened yellow or red
//! clearance in the log; the event log follows the wall clock row by row and records each step as
//! alarm 174/103.

use greenwave::config::Site;
use greenwave::events::csv::parse_timestamp;
use greenwave::events::single::OpenMode;
use greenwave::fault::FaultKind;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::monitor::card::MmuCard;
use greenwave::runtime::control_loop::{run_with, unix_now_ms, ControlLoop, LoopOptions, Speed};
use greenwave::runtime::logger::EventSink;
use greenwave::runtime::realtime::Signals;
use greenwave::runtime::service::Services;
use greenwave::runtime::wallclock::time_base;
use greenwave::sim::traffic::SimTraffic;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");

/// How far the stand-in wall clock is set away from the machine's.
static STEP_MS: AtomicI64 = AtomicI64::new(0);

fn stepped_wall_clock() -> i64 {
    unix_now_ms() + STEP_MS.load(Ordering::SeqCst)
}

fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

#[test]
fn steps_of_the_wall_clock_move_the_log_not_the_signal() {
    let dir = std::env::temp_dir().join(format!("gw-clock-step-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.csv");
    let site = Site::load(&root("board/sites/nema8-4leg.toml")).unwrap();
    let card = MmuCard::from_geometry(&site);
    let mut lp = ControlLoop::new(
        &site,
        &card,
        SimRelays::default(),
        SimWatchdog::default(),
        SimTraffic::new(&site, 1.0, 3),
    );
    let start = unix_now_ms();
    let (watch, time) = time_base(start, None);
    let sink = EventSink::create(&events, OpenMode::New, site.device_id, time).unwrap();
    let services = Services {
        console: None,
        events: Some(Box::new(sink)),
        state: None,
        snapshots: None,
        wall: Some(watch.with_reader(stepped_wall_clock)),
        central: Default::default(),
    };
    let mut opts = LoopOptions {
        site_path: root("board/sites/nema8-4leg.toml"),
        duration_s: Some(12),
        speed: Speed::Factor(1.0),
        start_unix_ms: start,
        event_log: None,
        state_dir: None,
        console: None,
        model: None,
        planner_override: None,
        reload_check: None,
        snmp: None,
        mqtt: None,
    };
    let stepper = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(4));
        STEP_MS.store(3_600_000, Ordering::SeqCst);
        std::thread::sleep(Duration::from_secs(4));
        STEP_MS.store(-3_600_000, Ordering::SeqCst);
    });
    let summary = run_with(&mut lp, &site, &mut opts, services, &Signals::unregistered()).unwrap();
    stepper.join().unwrap();
    let l = summary.loop_stats;
    assert_eq!(l.clock_steps, 2, "{summary}");
    // The run ends with the clean stop (flash after the clearances); nothing else latched.
    let kinds: Vec<FaultKind> = lp.controller.monitor().history().map(|f| f.kind).collect();
    assert_eq!(kinds, vec![FaultKind::Stopped], "no monitor fault: {summary}");
    assert!(
        l.ticks >= 100 && l.ticks <= 300,
        "real-time ticks at 100 ms: {}",
        l.ticks
    );

    // Each step is a row; the rows around it are an hour forward / two hours back apart.
    let text = std::fs::read_to_string(&events).unwrap();
    let rows: Vec<(i64, u8, u16)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                parse_timestamp(f[0]).unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect();
    let steps: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.1 == 174 && r.2 == 103)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(steps.len(), 2, "two clock-step alarms in the log");
    let jump = |i: usize| rows[i].0 - rows[i - 1].0;
    assert!(
        (3_600_000..3_603_000).contains(&jump(steps[0])),
        "first step {} ms",
        jump(steps[0])
    );
    assert!(
        (-7_200_000..-7_197_000).contains(&jump(steps[1])),
        "second step {} ms",
        jump(steps[1])
    );
    for w in rows.windows(2) {
        if w[1].1 == 174 && w[1].2 == 103 {
            continue;
        }
        assert!(w[1].0 >= w[0].0, "rows out of order between steps: {w:?}");
    }

    // The log passes the independent checker: the steps resync it, no interval is short.
    let v = Command::new(BIN)
        .arg("verify")
        .arg("--board")
        .arg(root("board/host-fake.toml"))
        .arg("--events")
        .arg(&events)
        .output()
        .unwrap();
    let vout = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.status.success(),
        "verify:\n{vout}\n{}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(vout.contains("(2 wall-clock steps)"), "{vout}");
    let _ = std::fs::remove_dir_all(&dir);
}
