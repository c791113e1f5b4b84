//! The board hardware path allocates nothing per tick (docs/conventions.md 20): relay write and
//! read-back and the debounced inputs on the fake GPIO bank with a shipped board file, and watchdog
//! kicks (a regular file stands in for /dev/watchdog, so they are writes).

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{ALLOCS, COUNTING};
use greenwave::hal::board::Board;
use greenwave::hal::gpio::{GpioInputs, GpioRelays};
use greenwave::hal::linux::watchdog::LinuxWatchdog;
use greenwave::hal::sim::gpio::FakeGpio;
use greenwave::hal::{Inputs, Relays, Watchdog};
use greenwave::signal::frame::{Aspect, OutputFrame};
use greenwave::signal::phase::PhaseId;
use greenwave::time::Instant;
use std::path::Path;
use std::sync::atomic::Ordering;

#[test]
fn relays_inputs_and_watchdog_do_not_allocate_per_tick() {
    let board = Board::load(Path::new("board/rock5b.toml")).unwrap();
    let gpio = FakeGpio::new();
    let mut relays = GpioRelays::new(&board, gpio.clone()).unwrap();
    let mut inputs = GpioInputs::new(&board, gpio.clone());
    let button = board.inputs.first().expect("inputs wired").line;
    let wd_path = std::env::temp_dir().join(format!("gw-noalloc-wd-{}", std::process::id()));
    std::fs::write(&wd_path, b"").unwrap();
    let mut wd = LinuxWatchdog::open(&wd_path, 10).unwrap();
    let p2 = PhaseId::new(2).unwrap();
    let mut f = OutputFrame::ALL_RED;
    gpio.set_input(usize::from(button.chip), button.offset, false);
    let idle = inputs.read(Instant(0));
    let mut active = 0;
    COUNTING.store(true, Ordering::SeqCst);
    for i in 0..1000u32 {
        f.set_aspect(p2, if i % 2 == 0 { Aspect::Green } else { Aspect::Yellow });
        relays.write(&f).unwrap();
        // Crossings without a pedestrian head read back dark; the vehicle heads are all wired.
        assert_eq!(relays.read_back().map(|r| r.veh), Ok(f.veh));
        gpio.set_input(usize::from(button.chip), button.offset, i % 10 >= 5);
        if inputs.read(Instant(1_000 + u64::from(i) * 100)) != idle {
            active += 1;
        }
        wd.kick().unwrap();
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(ALLOCS.load(Ordering::SeqCst), 0);
    assert!(active > 0 && active < 1000, "the input toggled: {active}");
    wd.disarm().unwrap();
    assert_eq!(
        std::fs::read(&wd_path).unwrap().len(),
        1001,
        "1000 keep-alives and the magic close"
    );
    let _ = std::fs::remove_file(&wd_path);
}

/// The control loop on a cabinet whose every site detector is a loop input (the dry-run board's
/// four plus eight more): loop contacts toggling like traffic, one shorted for minutes (stuck-on,
/// recall, recovery), the detector snapshot combined in `Cabinet::read` — 100,000 ticks without
/// an allocation.
#[test]
fn control_loop_with_loop_detectors_does_not_allocate() {
    use greenwave::detect::loops::LoopDetectors;
    use greenwave::detect::source::NoDetection;
    use greenwave::hal::board::InputKind;
    use greenwave::hal::sim::SimWatchdog;
    use greenwave::runtime::board::{BoardSource, Cabinet};
    use greenwave::runtime::control_loop::ControlLoop;

    let site = greenwave::config::Site::load(Path::new("board/sites/nema8-4leg.toml")).unwrap();
    let mut text = std::fs::read_to_string("board/host-fake.toml").unwrap();
    for (k, d) in [2, 3, 5, 6, 8, 9, 11, 12].into_iter().enumerate() {
        text.push_str(&format!(
            "\n[[input]]\nkind = \"detector\"\nchannel = {d}\nline = \"2:{}\"\nmax_presence_s = 120\n",
            16 + k
        ));
    }
    let board = Board::parse(&text, "every-loop.toml").unwrap();
    let card = greenwave::monitor::card::check_board(&board, &site, "every-loop.toml").unwrap();
    let gpio = FakeGpio::new();
    let loops: Vec<_> = board
        .inputs
        .iter()
        .filter(|i| matches!(i.kind, InputKind::Detector(_)))
        .map(|i| i.line)
        .collect();
    assert_eq!(loops.len(), 12);
    for i in board.inputs.iter() {
        gpio.set_input(usize::from(i.line.chip), i.line.offset, i.kind != InputKind::Door);
    }
    let sources: Vec<BoardSource> = vec![Box::new(NoDetection)];
    let cabinet = Cabinet {
        inputs: GpioInputs::new(&board, gpio.clone()),
        sources,
        loops: LoopDetectors::new(board.loop_configs()),
        detector_stale_ms: site.detector_stale_ms,
        cameras: greenwave::camera::set::CameraSet::none(),
    };
    let relays = GpioRelays::new(&board, FakeGpio::new()).unwrap();
    let mut lp = ControlLoop::new(&site, &card, relays, SimWatchdog::default(), cabinet);
    lp.tick(Instant(0), true);
    let (mut events, mut shorted) = (0u64, 0u32);
    COUNTING.store(true, Ordering::SeqCst);
    for k in 1..=100_000u64 {
        for (n, l) in loops.iter().enumerate() {
            // A vehicle over loop n for 0.6 s every (7 + n) s; loop 0 shorted from 20 to 30 min.
            let period = 70 + n as u64;
            let on = k % period < 6 || (n == 0 && (12_000..18_000).contains(&k));
            gpio.set_input(usize::from(l.chip), l.offset, !on);
        }
        lp.tick(Instant(k * 100), true);
        while let Some(ev) = lp.controller.events_mut().pop() {
            events += 1;
            shorted += u32::from(ev.code == greenwave::events::code::DETECTOR_FAULT_SHORTED);
        }
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(ALLOCS.load(Ordering::SeqCst), 0);
    assert_eq!(shorted, 1, "the shorted loop was diagnosed");
    let st = lp.controller.status();
    assert!(st.cycles > 100, "cycles {}", st.cycles);
    assert!(events > 10_000, "events {events}");
    assert_eq!(
        st.plan_mode,
        greenwave::plan::PlanMode::Actuated,
        "recovered after the short"
    );
}
