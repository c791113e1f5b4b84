//! One hi-res event log file named by the user (`greenwave sim --events FILE.csv`), with the same
//! failure rules as the rotating log ([`super::rotate`]): rows go through a fixed buffer, a failed
//! write (disk full, file size limit, I/O error) keeps the whole rows that reached the file, cuts
//! off a half row after them and counts the rows and bytes lost, and writing resumes with the next
//! flush. Only rows that reached the file
//! are counted as written.
//!
//! An existing log is never emptied by accident: [`OpenMode::New`] refuses a non-empty file,
//! [`OpenMode::Append`] adds rows after the existing ones (the file must start with the ATSPM
//! header, which is not repeated, so the file stays one valid CSV table), and
//! [`OpenMode::Overwrite`] replaces it.
//!
//! Meant for the event-log writer thread. After [`SingleCsvLog::open`] it does not allocate: rows
//! are formatted on the stack and written through a fixed buffer of [`LOG_BUF`](crate::events::rotate::LOG_BUF) bytes.

#[cfg(test)]
use crate::events::csv::WallClock;
use crate::events::csv::{TimeBase, HEADER};
use crate::events::rotate::{cut_back, format_row, io, write_rows, LogError, LogStats, RowBuf};
use crate::events::Event;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// What to do with an existing, non-empty file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpenMode {
    /// Refuse it (the default: a previous log is evidence, not scratch space).
    #[default]
    New,
    /// Add rows after its last whole row.
    Append,
    /// Replace it.
    Overwrite,
}

/// The log file.
pub struct SingleCsvLog {
    file: File,
    device_id: u16,
    clock: TimeBase,
    /// Bytes of the file that are on disk as whole rows (header included).
    file_bytes: u64,
    /// The header is still to be written (it failed, or the file was empty).
    header_pending: bool,
    buf: RowBuf,
    stats: LogStats,
}

impl SingleCsvLog {
    /// Opens `path` as `mode` says. Start-up only (allocates for the error text). A header that
    /// cannot be written yet (disk already full) is not an error: it is retried with the first
    /// rows, which are counted as lost while it fails.
    pub fn open(
        path: &Path,
        device_id: u16,
        clock: impl Into<TimeBase>,
        mode: OpenMode,
    ) -> Result<SingleCsvLog, String> {
        let name = path.display();
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true);
        if mode == OpenMode::Overwrite {
            opts.truncate(true);
        }
        let mut file = opts
            .open(path)
            .map_err(|e| format!("cannot open the event log {name}: {e}"))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read the event log {name}: {e}"))?;
        // Devices and pipes (e.g. /dev/null) have no length and no rows to keep.
        let len = if meta.is_file() { meta.len() } else { 0 };
        if len > 0 && mode == OpenMode::New {
            return Err(format!(
                "the event log {name} already holds {len} bytes; pass `--append` to add this run's rows to it \
                 or `--overwrite` to replace it"
            ));
        }
        let mut file_bytes = 0;
        if len > 0 {
            file_bytes = whole_rows(&mut file, len).map_err(|e| format!("event log {name}: {e}"))?;
            if file_bytes < len {
                log::warn!(
                    "event log {name}: cut off {} bytes of an unfinished last row before appending",
                    len - file_bytes
                );
                cut_back(&mut file, file_bytes).map_err(|e| format!("event log {name}: {e}"))?;
            } else {
                file.seek(SeekFrom::Start(file_bytes))
                    .map_err(|e| format!("event log {name}: {e}"))?;
            }
        }
        let mut log = SingleCsvLog {
            file,
            device_id,
            clock: clock.into(),
            file_bytes,
            header_pending: file_bytes == 0,
            buf: RowBuf::new(),
            stats: LogStats::default(),
        };
        log.stats.files_opened = 1;
        if log.header_pending {
            let _ = log.write_header();
        }
        Ok(log)
    }

    pub fn stats(&self) -> LogStats {
        self.stats
    }

    fn write_header(&mut self) -> Result<(), LogError> {
        let mut header: heapless::String<64> = heapless::String::new();
        let _ = core::fmt::Write::write_str(&mut header, HEADER);
        let _ = core::fmt::Write::write_char(&mut header, '\n');
        match self.file.write_all(header.as_bytes()) {
            Ok(()) => {
                self.file_bytes += header.len() as u64;
                self.header_pending = false;
                Ok(())
            }
            Err(e) => {
                let _ = cut_back(&mut self.file, self.file_bytes);
                let e = io(&e);
                self.fail(e);
                Err(e)
            }
        }
    }

    /// Appends one event: formatting and buffering only, unless the buffer is full.
    pub fn append(&mut self, ev: &Event) -> Result<(), LogError> {
        let Some(row) = format_row(&mut self.clock, self.device_id, ev, &mut self.stats) else {
            return Ok(());
        };
        let n = row.len();
        let mut result = Ok(());
        if !self.buf.fits(n) {
            result = self.flush();
        }
        self.buf.push(row.as_bytes(), &mut self.stats);
        result
    }

    /// Writes the buffered rows. On failure they are dropped and counted, and the file is cut back
    /// to its last whole row.
    pub fn flush(&mut self) -> Result<(), LogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.header_pending {
            if let Err(e) = self.write_header() {
                self.drop_buffer();
                return Err(e);
            }
        }
        match write_rows(&mut self.file, self.buf.bytes(), self.file_bytes) {
            Ok(()) => {
                self.file_bytes += self.buf.written(&mut self.stats);
                self.stats.last_errno = 0;
                Ok(())
            }
            Err(w) => {
                // The whole rows that made it stay; a half row after them is cut off.
                self.file_bytes += w.kept as u64;
                self.buf.partly_written(w.kept, w.rows, &mut self.stats);
                let e = io(&w.error);
                self.fail(e);
                Err(e)
            }
        }
    }

    /// Flushes and fsyncs (shutdown).
    pub fn sync(&mut self) -> Result<(), LogError> {
        self.flush()?;
        self.file.sync_data().or_else(|e| {
            // A device such as /dev/null cannot be synced; there is nothing on it to lose.
            if e.raw_os_error() == Some(nix::errno::Errno::EINVAL as i32) {
                Ok(())
            } else {
                Err(io(&e))
            }
        })
    }

    fn drop_buffer(&mut self) {
        self.buf.dropped(&mut self.stats);
    }

    fn fail(&mut self, e: LogError) {
        self.stats.write_errors += 1;
        if let LogError::Io(n) = e {
            self.stats.last_errno = n;
            self.stats.last_failure_errno = n;
        }
    }
}

impl Drop for SingleCsvLog {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

/// Checks that an existing file of `len` bytes is an ATSPM event log and returns the length of its
/// whole rows (up to and including the last newline).
fn whole_rows(file: &mut File, len: u64) -> Result<u64, String> {
    let mut head = [0u8; 64];
    let n = read_at(file, 0, &mut head)?;
    let first = head.get(..n).unwrap_or(&[]);
    let line = first.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line != HEADER.as_bytes() || n <= HEADER.len() {
        return Err(format!(
            "does not start with the ATSPM header `{HEADER}`; refusing to append rows to another kind of file"
        ));
    }
    // The last newline is within the last few rows; a row is under 50 bytes.
    let mut tail = [0u8; 4096];
    let start = len.saturating_sub(tail.len() as u64);
    let n = read_at(file, start, &mut tail)?;
    match tail.get(..n).and_then(|t| t.iter().rposition(|b| *b == b'\n')) {
        Some(i) => Ok(start + i as u64 + 1),
        None => Err("its last 4096 bytes hold no row end; refusing to append to it".into()),
    }
}

fn read_at(file: &mut File, at: u64, buf: &mut [u8]) -> Result<usize, String> {
    file.seek(SeekFrom::Start(at)).map_err(|e| e.to_string())?;
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;

    const CLOCK: WallClock = WallClock { unix_ms_at_zero: 0 };

    fn tmp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("gw-single-{name}-{}.csv", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    fn write(path: &Path, mode: OpenMode, rows: u64) -> Result<LogStats, String> {
        let mut log = SingleCsvLog::open(path, 1, CLOCK, mode)?;
        for i in 0..rows {
            log.append(&Event {
                at: Instant(i * 100),
                code: 1,
                param: 2,
            })
            .map_err(|e| e.to_string())?;
        }
        log.sync().map_err(|e| e.to_string())?;
        Ok(log.stats())
    }

    #[test]
    fn refuses_appends_or_overwrites_an_existing_log() {
        let p = tmp("modes");
        assert_eq!(write(&p, OpenMode::New, 3).unwrap().rows_written, 3);
        let before = std::fs::read_to_string(&p).unwrap();
        let err = write(&p, OpenMode::New, 1).unwrap_err();
        assert!(err.contains("--append") && err.contains("--overwrite"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            before,
            "a refused open changed the file"
        );
        // Appending: one header, the old rows then the new ones.
        write(&p, OpenMode::Append, 2).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().filter(|l| *l == HEADER).count(), 1);
        assert_eq!(text.lines().count(), 1 + 3 + 2);
        // An unfinished last row (power cut mid-write) is cut off before appending.
        std::fs::write(&p, format!("{text}1970-01-01 00:0")).unwrap();
        write(&p, OpenMode::Append, 1).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 1 + 3 + 2 + 1);
        assert!(text.lines().skip(1).all(|l| l.split(',').count() == 4), "{text}");
        write(&p, OpenMode::Overwrite, 1).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap().lines().count(), 2);
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn append_refuses_a_file_that_is_not_an_event_log() {
        let p = tmp("foreign");
        std::fs::write(&p, "name,value\na,1\n").unwrap();
        let err = write(&p, OpenMode::Append, 1).unwrap_err();
        assert!(err.contains("ATSPM header"), "{err}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "name,value\na,1\n");
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn a_full_device_loses_rows_and_counts_them() {
        let Ok(mut log) = SingleCsvLog::open(Path::new("/dev/full"), 1, CLOCK, OpenMode::New) else {
            return;
        };
        for i in 0..500 {
            let _ = log.append(&Event {
                at: Instant(i),
                code: 82,
                param: 3,
            });
        }
        let _ = log.flush();
        let s = log.stats();
        assert_eq!(s.rows_written, 0);
        assert_eq!(s.rows_dropped, 500);
        assert!(s.write_errors > 0 && s.bytes_dropped > 0);
        assert_eq!(s.last_errno, nix::errno::Errno::ENOSPC as i32);
    }
}
