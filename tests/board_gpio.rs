//! The board relay driver inside the real control loop, on the fake GPIO bank with a shipped board
//! file: the engine's frames reach the relay lines, a welded relay latches flash on the next tick
//! (the flash pattern is then what the lines carry), and dropping the loop releases the
//! flash-transfer relay so the cabinet flasher takes over.

use greenwave::config::Site;
use greenwave::hal::board::{Board, LineRef};
use greenwave::hal::gpio::GpioRelays;
use greenwave::hal::sim::gpio::FakeGpio;
use greenwave::hal::sim::SimWatchdog;
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::runtime::ControllerMode;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;
use std::path::Path;

fn green(board: &Board, phase: usize) -> LineRef {
    board.heads[phase - 1].expect("head wired").green
}

#[test]
fn welded_relay_on_the_gpio_lines_latches_flash_and_drop_releases_the_flash_transfer_relay() {
    let site = Site::load(Path::new("board/sites/nema8-4leg.toml")).unwrap();
    let board = Board::load(Path::new("board/rpi4.toml")).unwrap();
    let card = greenwave::monitor::card::check_board(&board, &site, "board/rpi4.toml").unwrap();
    assert!(board.active_low, "the shipped boards use active-low relay modules");
    let gpio = FakeGpio::new();
    let probe = gpio.clone();
    let on = |l: LineRef| !probe.level(usize::from(l.chip), l.offset); // energised = low
    let ftr = board.flash_transfer.expect("flash-transfer relay wired");
    let relays = GpioRelays::new(&board, gpio).unwrap();
    let mut lp = ControlLoop::new(
        &site,
        &card,
        relays,
        SimWatchdog::default(),
        SimTraffic::new(&site, 1.0, 3),
    );
    assert!(!on(ftr), "lines claimed with the flash-transfer relay released");

    let mut k = 0u64;
    while !on(green(&board, 2)) {
        lp.tick(Instant(k * 100), true);
        k += 1;
        assert!(k < 2_000, "phase 2 green never reached its relay");
        assert_ne!(lp.controller.status().mode, ControllerMode::Flash, "no fault expected");
    }
    assert!(
        on(ftr),
        "the controller holds the flash-transfer relay while it drives the heads"
    );
    assert!(!on(green(&board, 4)), "phase 4 conflicts with 2");

    let g4 = green(&board, 4);
    lp.relays.bank_mut().stick(usize::from(g4.chip), g4.offset, false); // welded on
    lp.tick(Instant(k * 100), true);
    k += 1;
    assert_eq!(lp.controller.status().mode, ControllerMode::Flash);
    assert!(lp.controller.status().fault.is_some());
    for _ in 0..10 {
        lp.tick(Instant(k * 100), true);
        k += 1;
        assert!(!on(green(&board, 2)), "no green is driven in flash");
    }

    drop(lp);
    assert!(!on(ftr), "dropping the driver releases the flash-transfer relay");
}
