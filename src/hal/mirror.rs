//! A relay wrapper that mirrors every frame written to the relays into a small file, so a recorder
//! outside the process can watch the lamps with its own clock (a test bench's signal analyser, or
//! the signal-storm test in `tests/signal_storm.rs`).
//!
//! Each write replaces the file's content with one record, `SEQ FRAME SEQ\n` (the compact frame
//! form of `OutputFrame::write_compact`), by a single positioned write; a reader that sees two
//! different sequence numbers caught a write half-way and reads again. The record is formatted in
//! a fixed buffer (no allocation). It costs one `pwrite` per tick, which is why it is off unless
//! asked for (`--relay-mirror FILE`); a failed mirror write is counted, never a relay error.

use crate::frame::OutputFrame;
use crate::hal::{HalError, Relays};
use core::fmt::Write as _;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Wraps relays `R`; mirrors each frame written when a file is set.
#[derive(Debug)]
pub struct MirrorRelays<R: Relays> {
    inner: R,
    file: Option<File>,
    seq: u64,
    /// Mirror writes that failed (the relays were still written).
    pub failures: u64,
}

impl<R: Relays> MirrorRelays<R> {
    /// No mirror: a transparent wrapper.
    pub fn off(inner: R) -> Self {
        MirrorRelays {
            inner,
            file: None,
            seq: 0,
            failures: 0,
        }
    }

    /// Mirrors into `path` (created or truncated). Start-up only.
    pub fn to_file(inner: R, path: &Path) -> Result<Self, String> {
        let file = File::create(path).map_err(|e| format!("relay mirror {}: {e}", path.display()))?;
        Ok(MirrorRelays {
            inner,
            file: Some(file),
            seq: 0,
            failures: 0,
        })
    }

    pub fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: Relays> Relays for MirrorRelays<R> {
    fn write(&mut self, frame: &OutputFrame) -> Result<(), HalError> {
        let r = self.inner.write(frame);
        if let Some(file) = &self.file {
            self.seq += 1;
            let mut rec: heapless::String<64> = heapless::String::new();
            let ok = write!(rec, "{:020} ", self.seq).is_ok()
                && frame.write_compact(&mut rec).is_ok()
                && writeln!(rec, " {:020}", self.seq).is_ok();
            if !ok || file.write_all_at(rec.as_bytes(), 0).is_err() {
                self.failures += 1;
            }
        }
        r
    }

    fn read_back(&mut self) -> Result<OutputFrame, HalError> {
        self.inner.read_back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::sim::SimRelays;

    #[test]
    fn mirrors_each_frame_with_matching_sequence_numbers() {
        let path = std::env::temp_dir().join(format!("greenwave-mirror-{}", std::process::id()));
        let mut m = MirrorRelays::to_file(SimRelays::default(), &path).expect("mirror");
        m.write(&OutputFrame::ALL_RED).expect("write");
        m.write(&OutputFrame::DARK).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        let parts: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(parts.len(), 3, "{text:?}");
        assert_eq!(parts[0], parts[2]);
        assert_eq!(parts[0].parse::<u64>().ok(), Some(2));
        assert!(parts[1].starts_with("--------|"), "{text:?}");
        assert_eq!(m.failures, 0);
        let _ = std::fs::remove_file(&path);
    }
}
