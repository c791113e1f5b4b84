//! The board hardware path allocates nothing per tick (STYLE.md 20): relay write and read-back and
//! the debounced input reader on the fake GPIO chip, and the supervised watchdog kick (a regular
//! file stands in for /dev/watchdog, so keep-alives are writes).

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{ALLOCS, COUNTING};
use greenwave::hal::board::Board;
use greenwave::hal::inputs::GpioInputs;
use greenwave::hal::linux::watchdog::LinuxWatchdog;
use greenwave::hal::relays::{safe_levels, GpioRelays};
use greenwave::hal::sim::gpio::FakeGpio;
use greenwave::hal::supervisor::{Heartbeat, HeartbeatRelays, SupervisedWatchdog, Supervisor};
use greenwave::hal::{Inputs, Relays, Watchdog};
use greenwave::runtime::realtime::MonotonicClock;
use greenwave::signal::frame::{Aspect, OutputFrame};
use greenwave::signal::phase::PhaseId;
use greenwave::time::Instant;
use std::path::Path;
use std::sync::atomic::Ordering;

fn p(n: u8) -> PhaseId {
    PhaseId::new(n).unwrap()
}

#[test]
fn relays_inputs_and_watchdog_do_not_allocate_per_tick() {
    let board = Board::load(Path::new("board/rock5b.toml")).unwrap();
    let gpio = FakeGpio::new();
    let lines = gpio
        .request_outputs(&board.output_lines(), safe_levels(&board))
        .unwrap();
    let clock = MonotonicClock::new();
    let beat = Heartbeat::new();
    let mut relays = HeartbeatRelays::new(GpioRelays::new(&board, lines).unwrap(), beat.clone(), clock);
    let wd_path = std::env::temp_dir().join(format!("greenwave-noalloc-wd-{}", std::process::id()));
    std::fs::write(&wd_path, b"").unwrap();
    let sup = Supervisor::new(Instant(0), [None, None, Some(60_000)]);
    let mut wd = SupervisedWatchdog::new(
        LinuxWatchdog::open(&wd_path, 10).unwrap(),
        sup,
        [None, None, Some(beat)],
        clock,
    );
    let inputs = gpio.request_inputs(&board.input_lines()).unwrap();
    let mut inputs = GpioInputs::new(&board, inputs).unwrap();
    let button = board.input_lines()[1];
    let mut f = OutputFrame::ALL_RED;
    let mut pressed = 0;
    COUNTING.store(true, Ordering::SeqCst);
    for i in 0..1000u32 {
        f.set_aspect(p(2), if i % 2 == 0 { Aspect::Green } else { Aspect::Yellow });
        relays.write(&f).unwrap();
        assert_eq!(relays.read_back(), Ok(f));
        wd.kick().unwrap();
        gpio.drive(button, i % 10 < 5);
        if !inputs.read(Instant(u64::from(i) * 100)).ped_buttons.is_empty() {
            pressed += 1;
        }
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(ALLOCS.load(Ordering::SeqCst), 0);
    wd.disarm().unwrap();
    assert_eq!(
        std::fs::read(&wd_path).unwrap().len(),
        1001,
        "1000 keep-alives and the magic close"
    );
    let _ = std::fs::remove_file(&wd_path);
    assert!(pressed > 0 && pressed < 1000, "the button toggled: {pressed}");
}
