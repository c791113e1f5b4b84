//! Loop detectors through the board's input path: detector-card contacts on the (fake) GPIO lines
//! → `GpioInputs` → `runtime::board::Cabinet` (debounce, stuck-on, stuck-off and chatter
//! diagnostics, combination with the detection sources) → the detector snapshot; and a stuck loop
//! taking the planner's failure chain through the real controller: its phase on recall, then, with
//! the phase's last detector gone, the Webster fail-safe, and back once the loops are sound.

use greenwave::config::Site;
use greenwave::detect::loops::LoopDetectors;
use greenwave::detect::source::{NoDetection, Source};
use greenwave::detect::{DetectorHealth, DetectorSnapshot};
use greenwave::events::code;
use greenwave::hal::board::{Board, InputKind, LineRef};
use greenwave::hal::gpio::{GpioInputs, GpioRelays};
use greenwave::hal::sim::gpio::FakeGpio;
use greenwave::hal::sim::SimWatchdog;
use greenwave::plan::PlanMode;
use greenwave::runtime::board::{BoardSource, Cabinet};
use greenwave::runtime::control_loop::{ControlLoop, Street};
use greenwave::signal::frame::OutputFrame;
use greenwave::signal::phase::PhaseId;
use greenwave::time::Instant;
use std::path::Path;

const SITE: &str = "board/sites/nema8-4leg.toml";

/// Four loop channels with short limits, one per diagnostic.
const LOOPS: &str = r#"[board]
name = "loops"
chips = [{ path = "fake0", driver = "fake" }, { path = "fake1", driver = "fake" }]
flash_transfer = 1

# Stuck-on after two minutes of presence (the site's longest cycle).
[[input]]
kind = "detector"
channel = 1
line = "1:3"
max_presence_s = 120
no_activity_s = 0

# Stuck-off after a minute without a vehicle.
[[input]]
kind = "detector"
channel = 4
line = "1:4"
max_presence_s = 0
no_activity_s = 60

# Chatter past 61 changes a minute; a contact that closes high (no pull-up inversion).
[[input]]
kind = "detector"
channel = 7
line = "1:5"
active_low = false
max_changes_per_min = 61
"#;

fn site() -> Site {
    Site::load(Path::new(SITE)).unwrap()
}

/// The line of the loop feeding `detector`.
fn loop_line(board: &Board, detector: u8) -> LineRef {
    board
        .inputs
        .iter()
        .find(|i| matches!(i.kind, InputKind::Detector(c) if c.detector == detector))
        .map(|i| i.line)
        .expect("loop wired")
}

/// Idle cabinet inputs: pulled-up lines read high (inactive for active-low contacts), the door
/// switch closed (low, door shut), active-high loops open (low).
fn idle(board: &Board, gpio: &FakeGpio) {
    for i in board.inputs.iter() {
        let high = i.active_low && i.kind != InputKind::Door;
        gpio.set_input(usize::from(i.line.chip), i.line.offset, high);
    }
}

/// Drives the loop of `detector`: `on` = a vehicle over it (the contact closed).
fn set_loop(board: &Board, gpio: &FakeGpio, detector: u8, on: bool) {
    let l = loop_line(board, detector);
    let active_low = board.inputs.iter().find(|i| i.line == l).is_some_and(|i| i.active_low);
    gpio.set_input(usize::from(l.chip), l.offset, on != active_low);
}

fn cabinet(board: &Board, site: &Site, gpio: &FakeGpio) -> Cabinet<GpioInputs<FakeGpio>> {
    let sources: Vec<BoardSource> = vec![Box::new(NoDetection)];
    Cabinet {
        inputs: GpioInputs::new(board, gpio.clone()),
        sources,
        loops: LoopDetectors::new(board.loop_configs()),
        detector_stale_ms: site.detector_stale_ms,
        cameras: greenwave::camera::set::CameraSet::none(),
    }
}

/// Reads the cabinet every `step` ms from `from` to `to` (exclusive), with `drive(t)` applied
/// before each read; returns the last snapshot.
fn run(
    cab: &mut Cabinet<GpioInputs<FakeGpio>>,
    from: u64,
    to: u64,
    step: u64,
    mut drive: impl FnMut(u64),
) -> DetectorSnapshot {
    let mut last = DetectorSnapshot::EMPTY;
    let mut t = from;
    while t < to {
        drive(t);
        last = cab.read(Instant(t), &OutputFrame::ALL_RED).0;
        t += step;
    }
    last
}

#[test]
fn loop_contacts_are_debounced_and_diagnosed_through_the_board_inputs() {
    let site = site();
    let board = Board::parse(LOOPS, "loops.toml").unwrap();
    board.check_detectors(&site, "loops.toml").unwrap();
    let gpio = FakeGpio::new();
    idle(&board, &gpio);
    let mut cab = cabinet(&board, &site, &gpio);
    let s = run(&mut cab, 0, 1_000, 10, |_| {});
    for d in [0, 3, 6] {
        assert_eq!(s.health[d], DetectorHealth::Ok, "detector {}", d + 1);
        assert!(!s.presence.contains(d));
    }
    assert_eq!(
        s.health[1],
        DetectorHealth::Unknown,
        "no loop, no camera: detector 2 is unfed"
    );
    assert_eq!(s.at, Instant(990), "the snapshot is current");

    // Contact bounce on detector 1 (30 ms closures every 200 ms) is not a vehicle.
    let s = run(&mut cab, 1_000, 3_000, 10, |t| set_loop(&board, &gpio, 1, t % 200 < 30));
    assert!(!s.presence.contains(0));
    assert_eq!(s.counts[0], 0);
    // A vehicle: believed after the 50 ms debounce, counted once.
    let s = run(&mut cab, 3_000, 3_040, 10, |_| set_loop(&board, &gpio, 1, true));
    assert!(!s.presence.contains(0), "not yet believed after 30 ms");
    let s = run(&mut cab, 3_040, 3_500, 10, |_| {});
    assert!(s.presence.contains(0));
    assert_eq!((s.counts[0], s.health[0]), (1, DetectorHealth::Ok));

    // Detector 1 held for over two minutes: stuck on, its presence no longer placed.
    let s = run(&mut cab, 3_500, 123_000, 100, |_| {});
    assert_eq!(
        s.health[0],
        DetectorHealth::Ok,
        "119.5 s of presence is a long red, not a fault"
    );
    let s = run(&mut cab, 123_000, 124_000, 100, |_| {});
    assert_eq!(s.health[0], DetectorHealth::StuckOn);
    assert!(!s.presence.contains(0));
    // Meanwhile detector 4 saw nothing for over a minute: stuck off.
    assert_eq!(s.health[3], DetectorHealth::StuckOff);
    // Both recover as soon as the condition ends.
    set_loop(&board, &gpio, 1, false);
    set_loop(&board, &gpio, 4, true);
    let s = run(&mut cab, 124_000, 124_500, 100, |_| {});
    assert_eq!((s.health[0], s.health[3]), (DetectorHealth::Ok, DetectorHealth::Ok));
    assert!(s.presence.contains(3) && s.counts[3] == 1);

    // Detector 7 (active high) chatters: 200 ms closed, 200 ms open, five changes a second.
    set_loop(&board, &gpio, 4, false);
    let s = run(&mut cab, 124_500, 136_000, 100, |t| {
        set_loop(&board, &gpio, 7, (t / 200) % 2 == 1)
    });
    assert_eq!(s.health[6], DetectorHealth::Ok, "57 changes in 11.5 s: not yet erratic");
    let s = run(&mut cab, 136_000, 140_000, 100, |t| {
        set_loop(&board, &gpio, 7, (t / 200) % 2 == 1)
    });
    assert_eq!(s.health[6], DetectorHealth::ExcessiveChange);
    assert!(!s.presence.contains(6));
    assert_eq!((s.health[0], s.health[3]), (DetectorHealth::Ok, DetectorHealth::Ok));
}

/// A camera source whose detection stalled: the same snapshot, ever older.
struct Stalled(DetectorSnapshot);

impl Source for Stalled {
    fn poll(&mut self, _now: Instant) -> DetectorSnapshot {
        self.0
    }
}

#[test]
fn a_detector_fed_by_a_loop_and_a_zone_survives_a_stalled_camera() {
    let site = site();
    let board = Board::parse(LOOPS, "loops.toml").unwrap();
    let gpio = FakeGpio::new();
    idle(&board, &gpio);
    let mut zones = DetectorSnapshot::EMPTY;
    for d in [0usize, 1] {
        zones.health[d] = DetectorHealth::Ok;
        zones.presence.set(d, true);
        zones.queue_m[d] = 21.0;
    }
    let mut cab = cabinet(&board, &site, &gpio);
    cab.sources = vec![Box::new(Stalled(DetectorSnapshot {
        at: Instant(0),
        ..zones
    }))];
    let s = run(&mut cab, 0, 1_000, 100, |_| {});
    assert!(s.presence.contains(0), "either source's presence");
    assert_eq!(s.queue_m[0], 21.0, "the zone's queue");
    assert_eq!(s.at, Instant(0), "a fresh camera snapshot keeps its age");
    // The camera stops; past the site's stale limit its detectors fail, the loop's do not.
    let s = run(&mut cab, 1_000, 3_500, 100, |_| {});
    assert_eq!(s.at, Instant(3_400));
    assert_eq!(s.health[1], DetectorHealth::Stale, "detector 2 has only the zone");
    assert_eq!(s.health[0], DetectorHealth::Ok, "detector 1 keeps its loop");
    assert!(!s.presence.contains(0), "no vehicle on the loop");
    assert_eq!(s.queue_m[0], 0.0);
}

/// The shipped dry-run board with a loop on every detector of the site: the four of the file plus
/// eight on chip 2; detectors 5 and 6 (phase 4's two lanes) have a two-minute max presence.
fn every_detector_on_a_loop() -> Board {
    let mut text = std::fs::read_to_string("board/host-fake.toml").unwrap();
    for (k, d) in [2, 3, 5, 6, 8, 9, 11, 12].into_iter().enumerate() {
        let presence = if d == 5 || d == 6 { "max_presence_s = 120\n" } else { "" };
        text.push_str(&format!(
            "\n[[input]]\nkind = \"detector\"\nchannel = {d}\nline = \"2:{}\"\n{presence}",
            16 + k
        ));
    }
    Board::parse(&text, "every-loop.toml").unwrap()
}

#[test]
fn a_stuck_loop_puts_its_phase_on_recall_then_the_planner_falls_back_to_webster() {
    let site = site();
    let board = every_detector_on_a_loop();
    let card = greenwave::monitor::card::check_board(&board, &site, "every-loop.toml").unwrap();
    assert_eq!(
        greenwave::detect::loops::detectors_of(&board.loop_configs()).0,
        0xfff,
        "detectors 1 to 12 on loops"
    );
    let gpio = FakeGpio::new();
    idle(&board, &gpio);
    let relays = GpioRelays::new(&board, FakeGpio::new()).unwrap();
    let mut lp = ControlLoop::new(
        &site,
        &card,
        relays,
        SimWatchdog::default(),
        cabinet(&board, &site, &gpio),
    );
    let p4 = PhaseId::new(4).unwrap();
    let mut t = 0u64;
    let shorted = std::cell::RefCell::new(Vec::new());
    // Runs `secs` of 100 ms ticks; returns how many times phase 4 turned green.
    let mut run = |lp: &mut ControlLoop<_, _, _>, secs: u64| {
        let mut greens = 0;
        let mut was = lp.controller.engine().greens().contains(p4);
        for _ in 0..secs * 10 {
            lp.tick(Instant(t), true);
            t += 100;
            while let Some(ev) = lp.controller.events_mut().pop() {
                if ev.code == code::DETECTOR_FAULT_SHORTED {
                    shorted.borrow_mut().push(ev.param);
                }
            }
            let g = lp.controller.engine().greens().contains(p4);
            greens += u32::from(g && !was);
            was = g;
        }
        greens
    };

    // Every loop sound and no traffic: actuated, phase 4 (no recall) is never served.
    assert_eq!(run(&mut lp, 120), 0);
    assert_eq!(lp.controller.status().plan_mode, PlanMode::Actuated);

    // Phase 4's first loop shorts (held closed). For its first two minutes it is a vehicle
    // calling phase 4; then it is stuck on and its presence no longer counts.
    set_loop(&board, &gpio, 5, true);
    run(&mut lp, 125);
    let health = |lp: &ControlLoop<_, _, Cabinet<GpioInputs<FakeGpio>>>, d: u8| {
        (0..12)
            .filter_map(|i| lp.street.loops.view(i))
            .find(|l| l.detector == d)
            .map(|l| l.health)
    };
    assert_eq!(health(&lp, 5), Some(DetectorHealth::StuckOn));
    assert_eq!(lp.controller.status().plan_mode, PlanMode::Degraded);
    // Recall: phase 4 keeps being served with no vehicle anywhere.
    let served = run(&mut lp, 300);
    assert!(served >= 2, "phase 4 on recall: {served} greens in 5 min");
    assert_eq!(lp.controller.status().plan_mode, PlanMode::Degraded);

    // Its second loop shorts too: phase 4 has no sound detector left, the plan is Webster's.
    set_loop(&board, &gpio, 6, true);
    run(&mut lp, 125);
    assert_eq!(lp.controller.status().plan_mode, PlanMode::Fallback);
    assert_eq!(*shorted.borrow(), [5, 6], "Indiana 87 for each shorted loop");

    // Repaired: both loops open; the planner returns to actuated after its recovery time.
    set_loop(&board, &gpio, 5, false);
    set_loop(&board, &gpio, 6, false);
    run(&mut lp, 5);
    assert_eq!(
        lp.controller.status().plan_mode,
        PlanMode::Fallback,
        "recovery takes 10 s"
    );
    run(&mut lp, 10);
    assert_eq!(lp.controller.status().plan_mode, PlanMode::Actuated);
    assert!(lp.street.loops().is_some());
}

/// The console's `loops` over the running cabinet: each channel's contact, believed state, count,
/// health and the detector's phase; a board without loops says so.
#[test]
fn console_loops_shows_each_channel() {
    use greenwave::console::Console;
    use greenwave::hal::sim::serial::SimSerial;
    use greenwave::runtime::console::Bound;

    let site = site();
    let board = every_detector_on_a_loop();
    let card = greenwave::monitor::card::check_board(&board, &site, "every-loop.toml").unwrap();
    let gpio = FakeGpio::new();
    idle(&board, &gpio);
    let relays = GpioRelays::new(&board, FakeGpio::new()).unwrap();
    let mut lp = ControlLoop::new(
        &site,
        &card,
        relays,
        SimWatchdog::default(),
        cabinet(&board, &site, &gpio),
    );
    let mut console = Console::new(None);
    let mut port = SimSerial::default();
    console.start(site.name.as_str());
    for k in 0..1_300u64 {
        // A vehicle arrives on detector 1 at 10 s and stays; detector 5 is shorted from 1 s.
        set_loop(&board, &gpio, 1, k >= 100);
        set_loop(&board, &gpio, 5, k >= 10);
        let now = Instant(k * 100);
        lp.tick(now, true);
        if k == 1_290 {
            port.type_bytes(b"loops\r");
        }
        let det = lp.last_det;
        let mut bound = Bound {
            controller: &mut lp.controller,
            detectors: &det,
            cameras: None,
            snapshots: None,
            loops: lp.street.loops(),
            stats: lp.stats,
            watchdog_ok: true,
            now,
        };
        console.poll(&mut port, now, &mut bound).unwrap();
    }
    let out = String::from_utf8_lossy(&port.output).into_owned();
    assert!(
        out.contains("loop  det  phase  contact  state  count  health     for"),
        "{out}"
    );
    // Detector 1 (phase 1): closed at 10.0 s, believed on the next tick (its 50 ms debounce),
    // 118.9 s before the command is served at 129.0 s.
    assert!(
        out.contains("   1    1      1  closed   on         1  ok           118.9 s"),
        "{out}"
    );
    // Detector 5 (phase 4), the 7th loop input: held 127.9 s, past its 120 s max presence.
    assert!(
        out.contains("   7    5      4  closed   on         1  stuck-on     127.9 s"),
        "{out}"
    );
    assert!(
        out.contains("  12   12      8  open     off        0  ok           129.0 s"),
        "{out}"
    );

    // A board without loops.
    let mut console = Console::new(None);
    let mut port = SimSerial::default();
    console.start(site.name.as_str());
    port.type_bytes(b"loops\r");
    let det = lp.last_det;
    let mut bound = Bound {
        controller: &mut lp.controller,
        detectors: &det,
        cameras: None,
        snapshots: None,
        loops: None,
        stats: lp.stats,
        watchdog_ok: true,
        now: Instant(130_000),
    };
    console.poll(&mut port, Instant(130_000), &mut bound).unwrap();
    let out = String::from_utf8_lossy(&port.output).into_owned();
    assert!(out.contains("no loop detector inputs on this board"), "{out}");
}

/// `greenwave check --board`: the loops and the site detectors nothing feeds are listed; a loop
/// feeding a detector the site lacks is refused with file, line, field and fix.
#[test]
fn check_lists_the_loops_and_refuses_a_loop_without_a_site_detector() {
    let bin = env!("CARGO_BIN_EXE_greenwave");
    let out = std::process::Command::new(bin)
        .args(["check", "--site", SITE, "--board", "board/host-fake.toml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("loop detectors: 4 inputs, feeding detectors 1, 4, 7, 10"),
        "{text}"
    );
    assert!(
        text.contains("no loop or camera zone feeds detectors 2, 3, 5, 6, 8, 9, 11, 12"),
        "{text}"
    );

    let dir = std::env::temp_dir().join(format!("greenwave-loops-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = std::fs::read_to_string("board/host-fake.toml").unwrap();
    let bad = dir.join("bad-channel.toml");
    std::fs::write(&bad, shipped.replacen("channel = 10\n", "channel = 14\n", 1)).unwrap();
    let out = std::process::Command::new(bin)
        .args(["check", "--site", SITE, "--board"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    let line = shipped[..shipped.find("channel = 10\n").unwrap()]
        .rfind("[[input]]")
        .map(|at| shipped[..at].lines().count() + 1)
        .unwrap();
    assert!(
        e.contains(&format!("bad-channel.toml line {line}: `input.channel`"))
            && e.contains("detector 14, which site \"Main St & 1st Ave\" does not have")
            && e.contains("fix: use a detector number"),
        "{e}"
    );
    let full = std::fs::read_to_string("board/host-fake.toml").unwrap();
    std::fs::write(&bad, full.replacen("line = \"1:17\"", "line = \"1:16\"", 1)).unwrap();
    let out = std::process::Command::new(bin)
        .args(["check", "--site", SITE, "--board"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("`input.line`: line 1:16 is used twice"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
