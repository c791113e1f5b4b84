//! Event-log fuzzing: arbitrary text read as an Indiana hi-res CSV log by the timeline builder
//! (`greenwave plot`) and the safety checker (`greenwave verify`) gives a result or a line-numbered
//! error, never a panic; spans stay inside the window.
#![no_main]

use greenwave::events::csv::parse_timestamp;
use greenwave::plot::timeline;
use greenwave::verify::{Checker, MmuCard};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn card() -> &'static MmuCard {
    static CARD: OnceLock<MmuCard> = OnceLock::new();
    CARD.get_or_init(|| {
        greenwave::hal::board::Board::parse(include_str!("../../board/host-fake.toml"), "host-fake.toml")
            .ok()
            .and_then(|b| b.mmu)
            .map(|c| MmuCard::from_card(&c))
            .unwrap_or_default()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else { return };
    if let Ok(t) = timeline::parse(text, None, None) {
        for s in &t.spans {
            assert!(s.start_s <= s.end_s + 1e-9 && s.start_s >= 0.0 && s.end_s <= t.length_s + 1e-9);
        }
    }
    for resync in [None, Some(5_000)] {
        let mut c = Checker::new(card());
        if let Some(gap) = resync {
            c = c.resync_after_gaps(gap);
        }
        let mut n = 0;
        for line in text.lines() {
            n += 1;
            c.line(n, line);
        }
        let r = c.finish(n, true);
        assert!(r.rows + r.bad_rows <= n as u64);
    }
    if let Some(first) = text.lines().next() {
        let _ = parse_timestamp(first);
    }
});
