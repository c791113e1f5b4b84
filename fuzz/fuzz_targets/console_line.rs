//! Console input fuzzing: arbitrary bytes from the serial line go through the line editor, and every
//! completed line through the command parser. Neither may panic, the editor may only ever hold
//! printable ASCII within its capacity, and a parsed PIN is digits of an allowed length.
#![no_main]

use core::fmt::Write;
use greenwave::console::command::{parse, Command, PIN_MAX, PIN_MIN};
use greenwave::console::line::{LineEditor, LineEvent};
use greenwave::limits::CONSOLE_LINE;
use libfuzzer_sys::fuzz_target;

/// Echo sink that keeps nothing (the editor's echo is not under test here).
struct Discard;
impl Write for Discard {
    fn write_str(&mut self, _: &str) -> core::fmt::Result {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut ed = LineEditor::<CONSOLE_LINE>::new();
    for &b in data {
        if let Some(LineEvent::Line) = ed.feed(b, &mut Discard) {
            let line = ed.line();
            assert!(line.len() <= CONSOLE_LINE);
            assert!(line.bytes().all(|c| (0x20..0x7f).contains(&c)));
            if let Ok(Command::Unlock(pin)) = parse(line) {
                let p = pin.as_bytes();
                assert!((PIN_MIN..=PIN_MAX).contains(&p.len()) && p.iter().all(u8::is_ascii_digit));
            }
            ed.clear();
        }
    }
    // The parser alone on raw (possibly non-ASCII) text.
    if let Ok(s) = core::str::from_utf8(data) {
        let _ = parse(s);
    }
});
