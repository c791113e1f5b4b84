//! The board relay driver in the real control loop, on the fake GPIO chip: the shipped rpi4 board
//! file's lines carry the engine's frames, a welded relay latches flash on the next tick, the
//! flash-transfer relay drops when the driver is dropped, and the write/read path does not allocate.

use greenwave::config::Site;
use greenwave::hal::board::{Board, OutputRole};
use greenwave::hal::relays::{safe_levels, GpioRelays};
use greenwave::hal::sim::gpio::FakeGpio;
use greenwave::hal::sim::traffic::SimTraffic;
use greenwave::hal::sim::SimWatchdog;
use greenwave::hal::{HalError, Relays};
use greenwave::runtime::sim::ControlLoop;
use greenwave::runtime::ControllerMode;
use greenwave::signal::frame::lamp;
use greenwave::signal::phase::PhaseId;
use greenwave::time::Instant;
use std::path::Path;

fn p(n: u8) -> PhaseId {
    PhaseId::new(n).unwrap()
}

fn line_of(board: &Board, role: OutputRole) -> greenwave::hal::gpio::Line {
    board.outputs.iter().find(|o| o.role == role).unwrap().line
}

#[test]
fn welded_relay_on_gpio_latches_flash_and_drop_releases_the_flash_transfer_relay() {
    let site = Site::load(Path::new("board/sites/nema8-4leg.toml")).unwrap();
    let board = Board::load(Path::new("board/rpi4.toml")).unwrap();
    board.check_site(&site, "board/rpi4.toml").unwrap();
    let gpio = FakeGpio::new();
    let lines = gpio
        .request_outputs(&board.output_lines(), safe_levels(&board))
        .unwrap();
    let relays = GpioRelays::new(&board, lines).unwrap();
    let mut lp = ControlLoop::new(&site, relays, SimWatchdog::default(), SimTraffic::new(&site, 1.0, 3));

    let ftr = line_of(&board, OutputRole::FlashTransfer);
    let green = |n: u8| {
        line_of(
            &board,
            OutputRole::Veh {
                phase: p(n),
                lamp: lamp::GREEN,
            },
        )
    };
    // Active-low relay modules: energised = line low.
    assert!(gpio.level(ftr), "claimed with the flash-transfer relay released");
    let mut k = 0u64;
    while gpio.level(green(2)) {
        lp.tick(Instant(k * 100), true);
        k += 1;
        assert!(k < 2_000, "phase 2 green never reached the relay");
        assert_ne!(lp.controller.status().mode, ControllerMode::Flash, "no fault expected");
    }
    assert!(
        !gpio.level(ftr),
        "controller in control: flash-transfer relay energised"
    );
    assert!(gpio.level(green(4)));

    gpio.stick(green(4), Some(false)); // the phase 4 green relay welds on
    lp.tick(Instant(k * 100), true);
    k += 1;
    let st = lp.controller.status();
    assert_eq!(st.mode, ControllerMode::Flash);
    assert!(st.fault.is_some());
    lp.tick(Instant(k * 100), true);
    let f = lp.relays.read_back();
    // The next frame written is the flash pattern, which cannot hold phase 2 green.
    assert!(gpio.level(green(2)), "phase 2 green relay dropped in flash");
    assert!(
        matches!(f, Err(HalError::ReadBackMismatch { .. })),
        "welded relay still visible: {f:?}"
    );

    drop(lp);
    assert!(gpio.level(ftr), "drop releases the flash-transfer relay");
    assert!(board.output_lines().iter().all(|l| *l == green(4) || gpio.level(*l)));
}
