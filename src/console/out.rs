//! Bounded console output buffer.
//!
//! Command output is formatted with `core::fmt` straight into this fixed byte buffer (no heap
//! strings) and drained to the non-blocking serial port a piece per poll. `\n` becomes `\r\n`
//! because the tty is in raw mode (no output post-processing). When a command's output does not fit,
//! the rest is dropped, a `[output truncated]` marker is written in the space kept for it, and the
//! event is counted (docs/conventions.md 11).
//!
//! Bound: `N` bytes; each write is O(bytes) plus at most one compaction memmove of `N` bytes.

use crate::hal::{HalError, Serial};

const MARK: &[u8] = b"\r\n[output truncated]\r\n";

pub struct OutBuf<const N: usize> {
    buf: [u8; N],
    start: usize,
    end: usize,
    /// Output of the current command was cut; further writes are dropped until [`OutBuf::end_block`].
    cut: bool,
    truncations: u32,
}

impl<const N: usize> Default for OutBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> OutBuf<N> {
    const _CAP: () = assert!(N > 2 * MARK.len(), "output buffer too small for the truncation marker");

    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::_CAP;
        OutBuf {
            buf: [0; N],
            start: 0,
            end: 0,
            cut: false,
            truncations: 0,
        }
    }

    /// Bytes waiting to be sent.
    pub fn pending(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Commands whose output was cut.
    pub fn truncations(&self) -> u32 {
        self.truncations
    }

    fn push(&mut self, bytes: &[u8], reserve: usize) -> bool {
        if self.end + bytes.len() + reserve > N && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        match self.buf.get_mut(self.end..self.end + bytes.len()) {
            Some(dst) if self.end + bytes.len() + reserve <= N => {
                dst.copy_from_slice(bytes);
                self.end += bytes.len();
                true
            }
            _ => false,
        }
    }

    /// Appends raw bytes (newline translation is the caller's business).
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        if self.cut {
            return;
        }
        if !self.push(bytes, MARK.len()) {
            self.cut = true;
            self.truncations = self.truncations.saturating_add(1);
            let _ = self.push(MARK, 0);
        }
    }

    /// Ends one command's output: the next write may use the buffer again.
    pub fn end_block(&mut self) {
        self.cut = false;
    }

    /// Sends what the port accepts now; keeps the rest for the next poll.
    pub fn flush<S: Serial + ?Sized>(&mut self, port: &mut S) -> Result<usize, HalError> {
        let mut sent = 0;
        // Bounded: a port that accepts bytes can take at most N of them.
        for _ in 0..4 {
            if self.is_empty() {
                break;
            }
            match port.write(self.pending()) {
                Ok(0) | Err(HalError::WouldBlock) => break,
                Ok(n) => {
                    let n = n.min(self.end - self.start);
                    self.start += n;
                    sent += n;
                }
                Err(e) => return Err(e),
            }
        }
        if self.is_empty() {
            self.start = 0;
            self.end = 0;
        }
        Ok(sent)
    }
}

impl<const N: usize> core::fmt::Write for OutBuf<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut rest = s.as_bytes();
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(i);
            self.write_bytes(line);
            self.write_bytes(b"\r\n");
            rest = tail.get(1..).unwrap_or(&[]);
        }
        self.write_bytes(rest);
        // Never an error: a cut is reported in the output itself, and an `Err` would abort the
        // caller's formatting of the lines that are still useful.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    struct Port(Vec<u8>, usize);
    impl Serial for Port {
        fn read(&mut self, _: &mut [u8]) -> Result<usize, HalError> {
            Ok(0)
        }
        fn write(&mut self, buf: &[u8]) -> Result<usize, HalError> {
            let n = buf.len().min(self.1);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
    }

    #[test]
    fn newline_translation_partial_flush_and_truncation() {
        let mut o = OutBuf::<64>::new();
        write!(o, "a\nb\n").unwrap();
        let mut p = Port(Vec::new(), 3);
        o.flush(&mut p).unwrap();
        assert_eq!(p.0, b"a\r\nb\r\n");
        for _ in 0..10 {
            write!(o, "0123456789").unwrap();
        }
        assert_eq!(o.truncations(), 1);
        assert!(o.pending().ends_with(MARK));
        assert!(o.pending().len() <= 64);
        o.end_block();
        p.1 = 1000;
        o.flush(&mut p).unwrap();
        write!(o, "ok").unwrap();
        assert_eq!(o.pending(), b"ok");
    }
}
