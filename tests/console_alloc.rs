//! Proof that console command handling does not allocate: a counting global allocator wraps the
//! system one, the console and its target are built (start-up may allocate), then a whole session
//! of input — every command, garbage, an over-long line, wrong PINs, lockout, unlock, mutating
//! commands, idle relock — is fed through `Console::poll` on the simulated serial port while the
//! allocation counter must stay at zero.

#[path = "support/console_target.rs"]
mod console_target;

use console_target::FixedController;
use greenwave::console::lock::PinHash;
use greenwave::console::Console;
use greenwave::events::Event;
use greenwave::hal::sim::serial::SimSerial;
use greenwave::time::Instant;
use std::sync::atomic::Ordering;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, COUNTING};

const SESSION: &[(u64, &[u8])] = &[
    (0, b"help\r"),
    (100, b"status\r\n"),
    (100, b"sta\xff\x00\x1b[A\x1b[1;5Ctu\x01\x80s\n"),
    (100, b"phases\rdetectors\rtiming\rfaults\rscenarios\rstats\r"),
    (100, b"events\revents 3\revents 64\r"),
    (
        100,
        b"events 999999999999999999999999999999999999999999999999999999999999999999999999999999999999999\r",
    ),
    (
        100,
        b"evnets 5\revents 99\rstat\x7fx\x08tus extra\rclear fl\x03\r\nlog level debug\r",
    ),
    (100, b"clear flash\rrecall 4\r"),
    (1_000, b"unlock 1111\runlock 1112\runlock 1113\r"),
    (30_000, b"unlock 2468\r"),
    (
        31_000,
        b"unlock 2468\rset plan webster\rpreempt test 5\rrecall 9\rrecall 2\rclear flash\r",
    ),
    (600_000, b""),
    (1_000, b"recall 2\runlock 2468\rlock\r"),
];

#[test]
fn console_session_does_not_allocate() {
    // Start-up: may allocate.
    let mut target = FixedController::new();
    let mut console = Console::new(Some(PinHash::derive(b"2468", *b"cabinet-0001-abc", 64)));
    // A slow UART: output drains over several polls.
    let mut port = SimSerial {
        accept_per_write: 200,
        ..Default::default()
    };
    for i in 0..100u64 {
        console.record_event(&Event {
            at: Instant(i * 100),
            code: (i % 13) as u8,
            param: (i % 8) as u16 + 1,
        });
    }
    console.start(target.site.name.as_str());
    let mut now = Instant(1_000);

    COUNTING.store(true, Ordering::SeqCst);
    let before = ALLOCS.load(Ordering::SeqCst);
    for &(advance, input) in SESSION {
        now = Instant(now.0 + advance);
        for chunk in input.chunks(200) {
            port.type_bytes(chunk);
            for _ in 0..50 {
                console.poll(&mut port, now, &mut target).unwrap();
            }
        }
    }
    let allocations = ALLOCS.load(Ordering::SeqCst) - before;
    COUNTING.store(false, Ordering::SeqCst);

    let out = String::from_utf8_lossy(&port.output).into_owned();
    let lines = console.stats().lines;
    println!(
        "console session: {} input bytes, {lines} lines, {} output bytes, {allocations} allocations",
        SESSION.iter().map(|s| s.1.len()).sum::<usize>(),
        port.output.len()
    );
    // The session really ran: outputs of each kind are there.
    for needle in [
        "mode flash",
        "det  phase",
        "webster plan",
        "console locked out for 60 s",
        "unlocked",
        "ok\r\n",
        "[console locked after 10 min idle]",
        "line longer than 80",
        "begin green",
    ] {
        assert!(out.contains(needle), "missing `{needle}` in console output:\n{out}");
    }
    assert_eq!(port.output_dropped, 0);
    assert_eq!(allocations, 0, "console command handling allocated {allocations} times");
}
