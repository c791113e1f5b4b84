//! Heapless line editor for a serial terminal in raw mode.
//!
//! What a technician's terminal program (picocom, minicom, screen, PuTTY) sends: printable ASCII,
//! backspace as `0x08` or `0x7f`, Enter as CR, LF or CRLF, Ctrl-C (`0x03`), and ANSI escape
//! sequences for arrow and function keys. The editor keeps one line in a fixed buffer, echoes
//! what it accepts (the terminal does not echo locally), and ignores everything else: escape
//! sequences are swallowed whole, other control bytes and bytes ≥ 0x80 are dropped. A line longer
//! than the buffer is not truncated (a truncated command could do something else than meant): the
//! rest of it is discarded and the line is reported as too long when Enter arrives.
//!
//! Bound: O(1) work and no allocation per byte; memory is the `N`-byte buffer.

use core::fmt::Write;

/// What one input byte completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEvent {
    /// Enter on a line that fits: read it with [`LineEditor::line`], then [`LineEditor::clear`].
    Line,
    /// Ctrl-C: the line was discarded.
    Cancelled,
    /// Enter on a line that overflowed the buffer: it was discarded.
    TooLong,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    None,
    /// After ESC.
    Esc,
    /// Inside a CSI sequence (`ESC [` … final byte 0x40..=0x7e).
    Csi,
    /// After `ESC O` (SS3: one more byte, e.g. keypad / F1-F4).
    Ss3,
}

/// A bounded line buffer with echo.
#[derive(Clone, Debug)]
pub struct LineEditor<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
    last_cr: bool,
    escape: Escape,
    /// CSI parameter bytes seen in the current sequence (a bound on garbage inside a sequence).
    csi_len: u8,
}

impl<const N: usize> Default for LineEditor<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LineEditor<N> {
    const _CAP: () = assert!(N > 1, "a line editor needs room for at least two characters");

    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::_CAP;
        LineEditor {
            buf: [0; N],
            len: 0,
            overflow: false,
            last_cr: false,
            escape: Escape::None,
            csi_len: 0,
        }
    }

    /// The current (complete) line. Only printable ASCII is ever stored, so it is valid UTF-8.
    pub fn line(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }

    pub fn clear(&mut self) {
        self.len = 0;
        self.overflow = false;
    }

    /// Feeds one byte; echo (if any) goes to `echo`. Echo that does not fit the output is lost,
    /// never blocks: the line itself is kept.
    pub fn feed(&mut self, b: u8, echo: &mut impl Write) -> Option<LineEvent> {
        let after_cr = core::mem::replace(&mut self.last_cr, false);
        match self.escape {
            Escape::Esc => {
                self.escape = match b {
                    b'[' => Escape::Csi,
                    b'O' => Escape::Ss3,
                    _ => Escape::None,
                };
                self.csi_len = 0;
                return None;
            }
            Escape::Ss3 => {
                self.escape = Escape::None;
                return None;
            }
            Escape::Csi => {
                // Parameter and intermediate bytes continue the sequence; a final byte ends it.
                // A sequence that never ends (line noise) is abandoned after 16 bytes.
                self.csi_len = self.csi_len.saturating_add(1);
                if !(0x20..=0x3f).contains(&b) || self.csi_len > 16 {
                    self.escape = Escape::None;
                }
                return None;
            }
            Escape::None => {}
        }
        match b {
            b'\r' => {
                self.last_cr = true;
                let _ = echo.write_str("\n");
                Some(self.finish())
            }
            b'\n' if after_cr => None,
            b'\n' => {
                let _ = echo.write_str("\n");
                Some(self.finish())
            }
            0x03 => {
                let _ = echo.write_str("^C\n");
                self.clear();
                Some(LineEvent::Cancelled)
            }
            0x08 | 0x7f => {
                if self.overflow {
                    // The line is already lost; nothing visible to take back.
                } else if self.len > 0 {
                    self.len -= 1;
                    let _ = echo.write_str("\x08 \x08");
                }
                None
            }
            0x1b => {
                self.escape = Escape::Esc;
                None
            }
            0x20..=0x7e => {
                if self.overflow {
                    return None;
                }
                match self.buf.get_mut(self.len) {
                    Some(slot) => {
                        *slot = b;
                        self.len += 1;
                        let _ = echo.write_char(b as char);
                    }
                    None => {
                        self.overflow = true;
                        // Bell: the terminal beeps once so the technician knows input is being lost.
                        let _ = echo.write_char('\x07');
                    }
                }
                None
            }
            // Other control bytes, and bytes >= 0x80 (line noise, wrong baud, UTF-8): ignored.
            _ => None,
        }
    }

    fn finish(&mut self) -> LineEvent {
        if self.overflow {
            self.clear();
            LineEvent::TooLong
        } else {
            LineEvent::Line
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<const N: usize>(ed: &mut LineEditor<N>, input: &[u8]) -> (String, Vec<(LineEvent, String)>) {
        let mut echo = String::new();
        let mut events = Vec::new();
        for &b in input {
            if let Some(ev) = ed.feed(b, &mut echo) {
                events.push((ev, ed.line().to_string()));
                ed.clear();
            }
        }
        (echo, events)
    }

    #[test]
    fn crlf_backspace_and_cancel() {
        let mut ed = LineEditor::<16>::new();
        let (echo, ev) = run(&mut ed, b"stx\x7fat\r\nhelp\nab\x03\rx\x08y\r");
        assert_eq!(
            ev,
            vec![
                (LineEvent::Line, "stat".into()),
                (LineEvent::Line, "help".into()),
                (LineEvent::Cancelled, "".into()),
                (LineEvent::Line, "".into()),
                (LineEvent::Line, "y".into()),
            ]
        );
        assert_eq!(echo, "stx\x08 \x08at\nhelp\nab^C\n\nx\x08 \x08y\n");
    }

    #[test]
    fn escape_sequences_and_high_bytes_are_ignored() {
        let mut ed = LineEditor::<16>::new();
        let (_, ev) = run(&mut ed, b"st\x1b[A\x1b[1;5Cat\xff\xc3\xa9\x01\x1bOPus\r");
        assert_eq!(ev, vec![(LineEvent::Line, "status".into())]);
    }

    #[test]
    fn overlong_line_is_rejected_whole() {
        let mut ed = LineEditor::<4>::new();
        let (echo, ev) = run(&mut ed, b"abcdefg\x7f\rok\r");
        assert_eq!(
            ev,
            vec![(LineEvent::TooLong, "".into()), (LineEvent::Line, "ok".into())]
        );
        assert_eq!(echo, "abcd\x07\nok\n");
    }
}
