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
