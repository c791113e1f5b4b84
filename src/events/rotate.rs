//! Rotating hi-res event log files under a byte budget.
//!
//! Events are written as ATSPM CSV (`TimeStamp,DeviceId,EventId,Parameter`, [`super::csv`]) into
//! `DIR/PREFIX-NNNNNNNN.csv`, each file starting with the header so any one of them (or a glob over
//! all of them) is a complete input for ATSPM tools. A file is closed (fsync'd) when the next row
//! would take it over `file_bytes`; the oldest files are deleted while the total exceeds
//! `total_bytes` (docs/architecture.md, Memory and bounds: logs rotate within a byte budget, the
//! newest history is kept).
//!
//! A failing write (disk full, file size limit, I/O error) is a reported fault, never a crash: the
//! whole rows that reached the file before it filled stay and count as written, the rows that could
//! not be written are counted as dropped, a partly written row is cut off again (`set_len` back to
//! the last whole row, so the file stays valid CSV), and writing resumes with the next flush. The
//! controller keeps running.
//!
//! Meant for the event-log writer thread, not the control thread (file I/O blocks). After
//! [`RotatingCsvLog::open`] it does not allocate, rotation included: rows are formatted on the
//! stack, bytes go through a fixed buffer, paths are built in a fixed string (std passes paths
//! under 384 bytes to the kernel from the stack), and the file list is a fixed deque
//! (`tests/eventlog_rotate.rs` proves it with a counting allocator).

use crate::events::csv::{write_row_with, TimeBase, HEADER};
use crate::events::Event;
use core::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::Path;

/// Most files kept (more would be pruned regardless of the byte budget).
pub const LOG_FILES: usize = 256;
/// Bytes buffered before a write to the file.
pub const LOG_BUF: usize = 8192;

/// One event as a CSV row, formatted on the stack. A row that does not fit (cannot happen: the
/// longest row is < 50 bytes) is counted as dropped.
pub(crate) fn format_row(
    clock: &mut TimeBase,
    device_id: u16,
    ev: &Event,
    stats: &mut LogStats,
) -> Option<heapless::String<96>> {
    let mut row = heapless::String::new();
    if write_row_with(&mut row, clock, device_id, ev).is_err() {
        stats.rows_dropped += 1;
        return None;
    }
    Some(row)
}

/// Whole CSV rows waiting to be written, in a fixed buffer of [`LOG_BUF`] bytes: what both event-log
/// writers (rotating files, one `--events` file) keep between writes. Counts its rows, so a write
/// that fails part-way can say how many whole rows reached the file.
#[derive(Debug)]
pub(crate) struct RowBuf {
    buf: [u8; LOG_BUF],
    len: usize,
    rows: u64,
}

impl RowBuf {
    pub(crate) const fn new() -> RowBuf {
        RowBuf {
            buf: [0; LOG_BUF],
            len: 0,
            rows: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `n` more bytes fit.
    pub(crate) fn fits(&self, n: usize) -> bool {
        self.len + n <= LOG_BUF
    }

    /// Appends one row; a row that does not fit is dropped and counted in `stats`.
    pub(crate) fn push(&mut self, row: &[u8], stats: &mut LogStats) {
        match self.buf.get_mut(self.len..self.len + row.len()) {
            Some(dst) => {
                dst.copy_from_slice(row);
                self.len += row.len();
                self.rows += 1;
            }
            None => {
                stats.rows_dropped += 1;
                stats.bytes_dropped += row.len() as u64;
            }
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The buffer reached the file: counts its rows as written and empties it. Returns the bytes.
    pub(crate) fn written(&mut self, stats: &mut LogStats) -> u64 {
        let n = self.len as u64;
        stats.rows_written += self.rows;
        self.len = 0;
        self.rows = 0;
        n
    }

    /// A write failed after `kept` bytes (`rows` whole rows) reached the file: those count as
    /// written, the rest is dropped and counted.
    pub(crate) fn partly_written(&mut self, kept: usize, rows: u64, stats: &mut LogStats) {
        stats.rows_written += rows;
        self.len = self.len.saturating_sub(kept);
        self.rows = self.rows.saturating_sub(rows);
        self.dropped(stats);
    }

    /// Drops what is buffered, counting it.
    pub(crate) fn dropped(&mut self, stats: &mut LogStats) {
        stats.rows_dropped += self.rows;
        stats.bytes_dropped += self.len as u64;
        self.len = 0;
        self.rows = 0;
    }
}
const PATH_LEN: usize = 300;

/// Byte budget of the event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogBudget {
    /// A file is closed before it would grow past this.
    pub file_bytes: u64,
    /// Oldest files are deleted while all files together exceed this.
    pub total_bytes: u64,
}

impl LogBudget {
    /// 1 MiB files, 64 MiB in all: about two weeks of a busy 8-phase intersection (~170 kB/h).
    pub const DEFAULT: LogBudget = LogBudget {
        file_bytes: 1 << 20,
        total_bytes: 64 << 20,
    };
}

/// Counters of the event log (part of status).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    pub rows_written: u64,
    pub rows_dropped: u64,
    pub bytes_dropped: u64,
    pub files_opened: u64,
    pub files_deleted: u64,
    /// Failed attempts to create a log file (the next file at rotation, or a retry after one
    /// failed); the rows meant for it are counted in `rows_dropped`.
    pub open_failures: u64,
    pub write_errors: u64,
    /// errno of the last failure (0 = none since the last successful write).
    pub last_errno: i32,
    /// errno of the most recent failure, kept after writing works again (0 = never failed).
    pub last_failure_errno: i32,
}

/// A failed log operation. `Copy`: the writer keeps and reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogError {
    /// The OS refused a write, create, sync or delete (errno; ENOSPC = disk full).
    Io(i32),
    /// The log directory path is too long for the fixed path buffer.
    PathTooLong,
}

impl core::fmt::Display for LogError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LogError::Io(e) => write!(f, "event log write failed: {}", std::io::Error::from_raw_os_error(*e)),
            LogError::PathTooLong => write!(f, "event log directory path is longer than {} bytes", PATH_LEN - 40),
        }
    }
}

pub(crate) fn io(e: &std::io::Error) -> LogError {
    LogError::Io(e.raw_os_error().unwrap_or(0))
}

/// A write that failed part-way: the whole rows that reached the file are kept and counted.
pub(crate) struct WriteFailure {
    /// Bytes of whole rows kept (the file now ends after them).
    pub kept: usize,
    /// Rows in `kept`.
    pub rows: u64,
    pub error: std::io::Error,
    /// The half row could not be cut off: the file must not be written at its current position.
    pub cut_failed: bool,
}

/// Writes whole rows `data` at `at`, the end of `f`. When the disk fills part-way, the rows that
/// made it stay (they are on disk and counted as written) and the half row after them is cut off.
pub(crate) fn write_rows(f: &mut File, data: &[u8], at: u64) -> Result<(), WriteFailure> {
    let mut n = 0;
    let error = loop {
        let Some(rest) = data.get(n..).filter(|r| !r.is_empty()) else {
            return Ok(());
        };
        match f.write(rest) {
            Ok(0) => break std::io::Error::from(std::io::ErrorKind::WriteZero),
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break e,
        }
    };
    let written = data.get(..n).unwrap_or(&[]);
    let kept = written.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let rows = written.iter().take(kept).filter(|b| **b == b'\n').count() as u64;
    let cut_failed = cut_back(f, at + kept as u64).is_err();
    Err(WriteFailure {
        kept,
        rows,
        error,
        cut_failed,
    })
}

/// Cuts a half-written row off after a failed write so the file stays valid CSV (truncation needs
/// no free space) and moves the write position back to the end of the last whole row (the log
/// files are not opened in append mode).
pub(crate) fn cut_back(f: &mut File, whole_rows_bytes: u64) -> std::io::Result<()> {
    use std::io::Seek;
    f.set_len(whole_rows_bytes)?;
    f.seek(std::io::SeekFrom::Start(whole_rows_bytes)).map(|_| ())
}

/// The rotating log.
pub struct RotatingCsvLog {
    dir: heapless::String<PATH_LEN>,
    prefix: heapless::String<32>,
    device_id: u16,
    clock: TimeBase,
    budget: LogBudget,
    file: Option<File>,
    /// Sequence number of the current (or next) file.
    seq: u32,
    /// Bytes of the current file that are on disk as whole rows.
    file_bytes: u64,
    buf: RowBuf,
    /// Closed files, oldest first: (sequence, bytes).
    closed: heapless::Deque<(u32, u64), LOG_FILES>,
    stats: LogStats,
}

fn parse_seq(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('-')?.strip_suffix(".csv")?;
    if rest.len() != 8 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

impl RotatingCsvLog {
    /// Opens the log in `dir` (created if missing). Existing `PREFIX-NNNNNNNN.csv` files are kept
    /// under the budget and the new file continues their numbering. Start-up only (allocates).
    pub fn open(
        dir: &Path,
        prefix: &str,
        device_id: u16,
        clock: impl Into<TimeBase>,
        budget: LogBudget,
    ) -> Result<RotatingCsvLog, String> {
        let fix = "check the event log directory in the board file exists and is writable";
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create event log directory {}: {e} ({fix})", dir.display()))?;
        let dir_s = dir
            .to_str()
            .ok_or_else(|| format!("event log directory {} is not UTF-8", dir.display()))?;
        let mut d = heapless::String::new();
        if dir_s.len() > PATH_LEN - 40 || d.push_str(dir_s).is_err() {
            return Err(format!(
                "event log directory path {dir_s} is too long (at most {} bytes)",
                PATH_LEN - 40
            ));
        }
        let mut p = heapless::String::new();
        if prefix.is_empty()
            || !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            || p.push_str(prefix).is_err()
        {
            return Err(format!(
                "event log prefix `{prefix}` must be 1-32 letters, digits or `_`"
            ));
        }
        if budget.file_bytes < 256 || budget.total_bytes < budget.file_bytes {
            return Err("event log budget: file_bytes must be >= 256 and total_bytes >= file_bytes".into());
        }
        let mut existing: Vec<(u32, u64)> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot list event log directory {}: {e} ({fix})", dir.display()))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let seq = parse_seq(e.file_name().to_str()?, prefix)?;
                Some((seq, e.metadata().ok()?.len()))
            })
            .collect();
        existing.sort_unstable();
        let next = existing.last().map_or(0, |(s, _)| s.wrapping_add(1));
        let mut log = RotatingCsvLog {
            dir: d,
            prefix: p,
            device_id,
            clock: clock.into(),
            budget,
            file: None,
            seq: next,
            file_bytes: 0,
            buf: RowBuf::new(),
            closed: heapless::Deque::new(),
            stats: LogStats::default(),
        };
        for f in existing {
            if log.closed.is_full() {
                log.delete_oldest();
            }
            let _ = log.closed.push_back(f);
        }
        log.prune();
        log.start_file()
            .map_err(|e| format!("cannot create the event log file in {}: {e} ({fix})", dir.display()))?;
        Ok(log)
    }

    pub fn stats(&self) -> LogStats {
        self.stats
    }

    /// Bytes in all files (closed files plus the current one, buffered bytes not counted).
    pub fn total_bytes(&self) -> u64 {
        self.closed.iter().map(|(_, b)| b).sum::<u64>() + self.file_bytes
    }

    /// Sequence number of the file being written.
    pub fn current_seq(&self) -> u32 {
        self.seq
    }

    fn path(&self, seq: u32) -> Result<heapless::String<PATH_LEN>, LogError> {
        let mut s = heapless::String::new();
        write!(s, "{}/{}-{:08}.csv", self.dir, self.prefix, seq).map_err(|_| LogError::PathTooLong)?;
        Ok(s)
    }

    fn delete_oldest(&mut self) {
        if let Some((seq, _)) = self.closed.pop_front() {
            if let Ok(p) = self.path(seq) {
                match std::fs::remove_file(p.as_str()) {
                    Ok(()) => self.stats.files_deleted += 1,
                    // Already gone (removed by hand): the budget is met either way.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => self.fail(io(&e)),
                }
            }
        }
    }

    /// Deletes oldest files until the closed files plus a full current file fit the budget, so the
    /// total never exceeds it, not even just before the next rotation.
    fn prune(&mut self) {
        let closed = |s: &Self| s.closed.iter().map(|(_, b)| b).sum::<u64>();
        while closed(self) + self.budget.file_bytes > self.budget.total_bytes && !self.closed.is_empty() {
            self.delete_oldest();
        }
    }

    fn fail(&mut self, e: LogError) {
        self.stats.write_errors += 1;
        if let LogError::Io(n) = e {
            self.stats.last_errno = n;
            self.stats.last_failure_errno = n;
        }
    }

    /// Creates the file `seq` with the header.
    fn start_file(&mut self) -> Result<(), LogError> {
        let path = self.path(self.seq)?;
        let mut f = match File::create(path.as_str()) {
            Ok(f) => f,
            Err(e) => {
                self.stats.open_failures += 1;
                return Err(io(&e));
            }
        };
        let mut header: heapless::String<64> = heapless::String::new();
        let _ = writeln!(header, "{HEADER}");
        if let Err(e) = f.write_all(header.as_bytes()) {
            // Leave no header-less file behind.
            drop(f);
            let _ = std::fs::remove_file(path.as_str());
            self.stats.open_failures += 1;
            return Err(io(&e));
        }
        self.file = Some(f);
        self.file_bytes = header.len() as u64;
        self.stats.files_opened += 1;
        // The new directory entry must survive a power cut too.
        if let Ok(d) = File::open(self.dir.as_str()) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Closes the current file (fsync) and starts the next one.
    fn rotate(&mut self) -> Result<(), LogError> {
        if let Some(f) = self.file.take() {
            let _ = f.sync_all();
            if self.closed.is_full() {
                self.delete_oldest();
            }
            let _ = self.closed.push_back((self.seq, self.file_bytes));
            self.seq = self.seq.wrapping_add(1);
            self.file_bytes = 0;
        }
        self.prune();
        self.start_file()
    }

    /// Appends one event. Formatting and buffering only, unless the buffer is full or the file
    /// reaches its size (then it writes, and possibly rotates).
    pub fn append(&mut self, ev: &Event) -> Result<(), LogError> {
        let Some(row) = format_row(&mut self.clock, self.device_id, ev, &mut self.stats) else {
            return Ok(());
        };
        let n = row.len();
        let mut result = Ok(());
        if self.file_bytes + (self.buf.len() + n) as u64 > self.budget.file_bytes {
            result = self.flush();
            if self.file.is_some() || result.is_ok() {
                if let Err(e) = self.rotate() {
                    self.fail(e);
                    result = Err(e);
                }
            }
        } else if !self.buf.fits(n) {
            result = self.flush();
        }
        self.buf.push(row.as_bytes(), &mut self.stats);
        result
    }

    /// Writes the buffered rows to the current file. On failure they are dropped and counted, and
    /// the file is cut back to its last whole row.
    pub fn flush(&mut self) -> Result<(), LogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            // An earlier create failed (disk full): try again now.
            if let Err(e) = self.start_file() {
                return Err(self.drop_buffer(e));
            }
        }
        let res = match self.file.as_mut() {
            Some(f) => write_rows(f, self.buf.bytes(), self.file_bytes),
            None => Ok(()),
        };
        match res {
            Ok(()) => {
                self.file_bytes += self.buf.written(&mut self.stats);
                self.stats.last_errno = 0;
                Ok(())
            }
            Err(w) => {
                self.file_bytes += w.kept as u64;
                self.buf.partly_written(w.kept, w.rows, &mut self.stats);
                if w.cut_failed {
                    self.file = None;
                }
                let e = io(&w.error);
                self.fail(e);
                Err(e)
            }
        }
    }

    fn drop_buffer(&mut self, e: LogError) -> LogError {
        self.buf.dropped(&mut self.stats);
        self.fail(e);
        e
    }

    /// Flushes and fsyncs the current file (call on shutdown and every few seconds).
    pub fn sync(&mut self) -> Result<(), LogError> {
        self.flush()?;
        match self.file.as_ref() {
            Some(f) => f.sync_data().map_err(|e| io(&e)),
            None => Ok(()),
        }
    }
}

impl Drop for RotatingCsvLog {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}
