//! The relay driver's write and read-back on the fake GPIO chip allocate nothing (STYLE.md 20).

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{ALLOCS, COUNTING};
use greenwave::hal::board::Board;
use greenwave::hal::relays::{safe_levels, GpioRelays};
use greenwave::hal::sim::gpio::FakeGpio;
use greenwave::hal::Relays;
use greenwave::signal::frame::{Aspect, OutputFrame};
use greenwave::signal::phase::PhaseId;
use std::path::Path;
use std::sync::atomic::Ordering;

fn p(n: u8) -> PhaseId {
    PhaseId::new(n).unwrap()
}

#[test]
fn write_and_read_back_do_not_allocate() {
    let board = Board::load(Path::new("board/rock5b.toml")).unwrap();
    let gpio = FakeGpio::new();
    let lines = gpio
        .request_outputs(&board.output_lines(), safe_levels(&board))
        .unwrap();
    let mut relays = GpioRelays::new(&board, lines).unwrap();
    let mut f = OutputFrame::ALL_RED;
    COUNTING.store(true, Ordering::SeqCst);
    for i in 0..1000u32 {
        f.set_aspect(p(2), if i % 2 == 0 { Aspect::Green } else { Aspect::Yellow });
        relays.write(&f).unwrap();
        assert_eq!(relays.read_back(), Ok(f));
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(ALLOCS.load(Ordering::SeqCst), 0);
}
