//! The relay driver's write and read-back and the debounced input reader on the fake GPIO chip
//! allocate nothing per tick (STYLE.md 20).

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{ALLOCS, COUNTING};
use greenwave::hal::board::Board;
use greenwave::hal::inputs::GpioInputs;
use greenwave::hal::relays::{safe_levels, GpioRelays};
use greenwave::hal::sim::gpio::FakeGpio;
use greenwave::hal::{Inputs, Relays};
use greenwave::signal::frame::{Aspect, OutputFrame};
use greenwave::signal::phase::PhaseId;
use greenwave::time::Instant;
use std::path::Path;
use std::sync::atomic::Ordering;

fn p(n: u8) -> PhaseId {
    PhaseId::new(n).unwrap()
}

#[test]
fn relay_write_read_back_and_input_reads_do_not_allocate() {
    let board = Board::load(Path::new("board/rock5b.toml")).unwrap();
    let gpio = FakeGpio::new();
    let lines = gpio
        .request_outputs(&board.output_lines(), safe_levels(&board))
        .unwrap();
    let mut relays = GpioRelays::new(&board, lines).unwrap();
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
        gpio.drive(button, i % 10 < 5);
        if !inputs.read(Instant(u64::from(i) * 100)).ped_buttons.is_empty() {
            pressed += 1;
        }
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(ALLOCS.load(Ordering::SeqCst), 0);
    assert!(pressed > 0 && pressed < 1000, "the button toggled: {pressed}");
}
