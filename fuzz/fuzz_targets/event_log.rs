//! Event-log fuzzing: arbitrary text read as an Indiana hi-res CSV log by the timeline builder
//! (`greenwave plot`) and the safety checker (`greenwave verify`) gives a result or a line-numbered
//! error, never a panic; spans stay inside the window.
#![no_main]

use greenwave::events::csv::parse_timestamp;
use greenwave::plot::timeline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else { return };
    if let Ok(t) = timeline::parse(text, None, None) {
        for s in &t.spans {
            assert!(s.start_s <= s.end_s + 1e-9 && s.start_s >= 0.0 && s.end_s <= t.length_s + 1e-9);
        }
    }
    if let Some(first) = text.lines().next() {
        let _ = parse_timestamp(first);
    }
});
