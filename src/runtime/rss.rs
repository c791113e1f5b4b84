//! Resident set size of this process, for the console's `stats`: `/proc/self/statm` (proc(5):
//! size, resident, shared, … in pages) × the page size.
//!
//! The loop samples it at most once per [`RSS_PERIOD_MS`] through a file opened at start-up and a
//! fixed stack buffer (`pread` at offset 0), so sampling allocates nothing.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Shortest time between two reads of `/proc/self/statm`, ms.
pub const RSS_PERIOD_MS: u64 = 1_000;

/// The resident field of a `/proc/self/statm` line, in pages (None if the text is not a statm line).
pub fn parse_statm_resident_pages(text: &[u8]) -> Option<u64> {
    let mut fields = text.split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty());
    let _size = fields.next()?;
    let resident = fields.next()?;
    if resident.is_empty() || resident.len() > 19 || !resident.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(resident.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Reads the resident set size, at most once per [`RSS_PERIOD_MS`].
#[derive(Debug)]
pub struct RssReader {
    file: Option<File>,
    page_bytes: u64,
    last_read_ms: Option<u64>,
    kb: Option<u32>,
}

impl RssReader {
    /// Opens `/proc/self/statm` (allocates: call at start-up). Without procfs every sample is None.
    pub fn open() -> RssReader {
        let page_bytes = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|p| u64::try_from(p).ok())
            .unwrap_or(4096);
        RssReader {
            file: File::open("/proc/self/statm").ok(),
            page_bytes,
            last_read_ms: None,
            kb: None,
        }
    }

    /// The resident set size in kB, re-read when [`RSS_PERIOD_MS`] has passed since the last read
    /// (`mono_ms`: a monotonic wall clock in ms); None when it cannot be read.
    pub fn sample(&mut self, mono_ms: u64) -> Option<u32> {
        if self
            .last_read_ms
            .is_some_and(|t| mono_ms.saturating_sub(t) < RSS_PERIOD_MS)
        {
            return self.kb;
        }
        self.last_read_ms = Some(mono_ms);
        let file = self.file.as_ref()?;
        let mut buf = [0u8; 128];
        self.kb = match file.read_at(&mut buf, 0) {
            Ok(n) => buf
                .get(..n)
                .and_then(parse_statm_resident_pages)
                .map(|pages| u32::try_from(pages.saturating_mul(self.page_bytes) / 1024).unwrap_or(u32::MAX)),
            Err(_) => None,
        };
        self.kb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statm_resident_field() {
        assert_eq!(parse_statm_resident_pages(b"2571 1034 811 207 0 478 0\n"), Some(1034));
        assert_eq!(parse_statm_resident_pages(b"  12   7 3 1 0 2 0"), Some(7));
        assert_eq!(parse_statm_resident_pages(b"2571\n"), None);
        assert_eq!(parse_statm_resident_pages(b""), None);
        assert_eq!(parse_statm_resident_pages(b"2571 -4 1"), None);
        assert_eq!(parse_statm_resident_pages(b"2571 99999999999999999999 1"), None);
    }

    #[test]
    fn reads_this_process_at_most_once_a_second() {
        let mut r = RssReader::open();
        let kb = r.sample(0).expect("procfs on Linux");
        assert!(kb > 0);
        // Within the period the figure is the cached one, whatever the file says now.
        r.kb = Some(1);
        assert_eq!(r.sample(999), Some(1));
        assert!(
            r.sample(1_000).is_some_and(|k| k > 1),
            "re-read once the period has passed"
        );
    }
}
