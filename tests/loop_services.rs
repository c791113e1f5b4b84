//! The control loop's services are seams: `runtime::control_loop::run_with` drives whatever event
//! log and console it is given through their traits. Stand-ins here count what the loop hands them
//! and check that the console reads the same `LoopStats` the end-of-run summary prints.

use greenwave::config::Site;
use greenwave::console::view::ConsoleTarget;
use greenwave::events::Event;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::monitor::card::MmuCard;
use greenwave::runtime::console::{Bound, ConsoleService};
use greenwave::runtime::control_loop::{run_with, ControlLoop, LoopOptions, Speed};
use greenwave::runtime::logger::LogHealth;
use greenwave::runtime::realtime::Signals;
use greenwave::runtime::service::{EventLog, Services};
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;
use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;

/// An event log that keeps nothing and reports every event written.
struct CountingLog {
    sent: Rc<Cell<u64>>,
}

impl EventLog for CountingLog {
    fn send(&mut self, _ev: Event, _wait: bool) {
        self.sent.set(self.sent.get() + 1);
    }
    fn health(&self) -> LogHealth {
        LogHealth {
            sent: self.sent.get(),
            rows_written: self.sent.get(),
            ..LogHealth::default()
        }
    }
    fn finish(self: Box<Self>) -> LogHealth {
        self.health()
    }
}

/// A console that checks, at every poll, what the loop's stats say against what it saw itself.
struct CheckingConsole {
    sent: Rc<Cell<u64>>,
    polls: Rc<Cell<u64>>,
    events_seen: u64,
    /// Events the log had received when the console was last served.
    sent_at_last_poll: u64,
    mismatches: Rc<Cell<u64>>,
}

impl ConsoleService for CheckingConsole {
    fn record_event(&mut self, _ev: &Event) {
        self.events_seen += 1;
    }
    fn serve(&mut self, _now: Instant, target: &mut Bound<'_>) {
        self.polls.set(self.polls.get() + 1);
        let s = target.stats();
        // The log's health is read before this tick's events are handed over: it shows the rows
        // of every earlier tick.
        let ok = s.ticks == self.polls.get()
            && s.events_generated == self.events_seen
            && s.events_logged == self.sent_at_last_poll
            && s.event_log;
        self.sent_at_last_poll = self.sent.get();
        if !ok {
            self.mismatches.set(self.mismatches.get() + 1);
        }
    }
}

#[test]
fn run_with_drives_the_given_services_and_one_loop_stats() {
    let site = Site::load(Path::new("board/sites/nema8-4leg.toml")).unwrap();
    let mut lp = ControlLoop::new(
        &site,
        &MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        SimTraffic::new(&site, 1.0, 7),
    );
    let sent = Rc::new(Cell::new(0));
    let polls = Rc::new(Cell::new(0));
    let mismatches = Rc::new(Cell::new(0));
    let services = Services {
        console: Some(Box::new(CheckingConsole {
            sent: Rc::clone(&sent),
            polls: Rc::clone(&polls),
            events_seen: 0,
            sent_at_last_poll: 0,
            mismatches: Rc::clone(&mismatches),
        })),
        events: Some(Box::new(CountingLog { sent: Rc::clone(&sent) })),
        state: None,
        snapshots: None,
        wall: None,
        central: Default::default(),
    };
    let mut opts = LoopOptions {
        site_path: "board/sites/nema8-4leg.toml".into(),
        duration_s: Some(600),
        speed: Speed::Max,
        start_unix_ms: 0,
        event_log: None,
        state_dir: None,
        console: None,
        model: None,
        planner_override: None,
        reload_check: None,
        snmp: None,
        mqtt: None,
    };
    let summary = run_with(&mut lp, &site, &mut opts, services, &Signals::unregistered()).unwrap();
    let l = summary.loop_stats;
    assert_eq!(l.ticks, 6_000, "600 s of 100 ms ticks");
    assert_eq!(polls.get(), l.ticks, "the console is served once per tick");
    assert_eq!(
        mismatches.get(),
        0,
        "the console's stats are the loop's own, current at every poll"
    );
    assert!(sent.get() > 500, "the run generated events ({})", sent.get());
    assert_eq!(l.events_generated, sent.get(), "every event reached the log");
    assert_eq!(l.events_logged, sent.get(), "the summary reads the log's final health");
    assert!(l.event_log && !l.state && !summary.lossy());
}
