//! Event log writer: a thread that drains events from the control thread into a CSV file.
//!
//! The control thread never writes files: it moves events from the engine's ring into a
//! fixed-capacity single-producer/single-consumer queue (`heapless::spsc`, allocated once at
//! start-up), and this thread formats them (Indiana hi-res CSV, `events::csv`) and writes them. If
//! the writer falls behind, the queue is full and the control thread either drops the event and
//! counts it (real-time mode) or waits for room (a simulation run as fast as possible, where
//! losing events would be pointless).
//!
//! Nothing is lost silently. Three counters, kept apart because they have different causes and
//! cures: rows dropped because the queue was full (the writer is too slow; counted by the control
//! thread), rows lost because the file write failed (disk full, I/O error; counted by the file,
//! [`crate::events::rotate`] and [`crate::events::single`]), and rows written — only once the
//! write to the file succeeded. The writer publishes its counters through atomics ([`LogHealth`]),
//! so the control thread reads them with a few loads and never waits on a lock. A write failure is
//! logged once when it starts and once when it clears, not per row.

use crate::events::csv::TimeBase;
use crate::events::rotate::{LogError, LogStats, RotatingCsvLog};
use crate::events::single::{OpenMode, SingleCsvLog};
use crate::events::Event;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Queue capacity between the control thread and the writer.
pub const LOG_QUEUE: usize = 4096;

type Queue = heapless::spsc::Queue<Event, LOG_QUEUE>;

/// An event log file the writer thread appends to.
pub trait LogFile: Send + 'static {
    fn append(&mut self, ev: &Event) -> Result<(), LogError>;
    fn flush(&mut self) -> Result<(), LogError>;
    fn sync(&mut self) -> Result<(), LogError>;
    fn stats(&self) -> LogStats;
}

impl LogFile for RotatingCsvLog {
    fn append(&mut self, ev: &Event) -> Result<(), LogError> {
        RotatingCsvLog::append(self, ev)
    }
    fn flush(&mut self) -> Result<(), LogError> {
        RotatingCsvLog::flush(self)
    }
    fn sync(&mut self) -> Result<(), LogError> {
        RotatingCsvLog::sync(self)
    }
    fn stats(&self) -> LogStats {
        RotatingCsvLog::stats(self)
    }
}

impl LogFile for SingleCsvLog {
    fn append(&mut self, ev: &Event) -> Result<(), LogError> {
        SingleCsvLog::append(self, ev)
    }
    fn flush(&mut self) -> Result<(), LogError> {
        SingleCsvLog::flush(self)
    }
    fn sync(&mut self) -> Result<(), LogError> {
        SingleCsvLog::sync(self)
    }
    fn stats(&self) -> LogStats {
        SingleCsvLog::stats(self)
    }
}

/// The event log's counters as the control thread sees them. `Copy`, read without locks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogHealth {
    /// Events handed to the writer.
    pub sent: u64,
    /// Events dropped because the hand-off queue was full (the writer was behind).
    pub queue_dropped: u64,
    /// Rows on disk (counted only after the write succeeded).
    pub rows_written: u64,
    /// Rows lost because a write or a file creation failed.
    pub rows_lost: u64,
    pub bytes_lost: u64,
    pub write_errors: u64,
    /// Log files that could not be created (rotation included).
    pub open_failures: u64,
    /// errno of the most recent failure (kept after recovery; 0 = never failed).
    pub last_errno: i32,
    /// Writes are failing now (the last attempt failed).
    pub failing: bool,
}

impl LogHealth {
    /// Anything sent that did not reach the file.
    pub fn lost_or_dropped(&self) -> u64 {
        self.rows_lost + self.queue_dropped
    }
}

/// Counters the writer thread publishes.
#[derive(Default)]
struct Shared {
    done: AtomicBool,
    rows_written: AtomicU64,
    rows_lost: AtomicU64,
    bytes_lost: AtomicU64,
    write_errors: AtomicU64,
    open_failures: AtomicU64,
    last_errno: AtomicI32,
    failing: AtomicBool,
}

impl Shared {
    fn publish(&self, s: &LogStats) {
        self.rows_written.store(s.rows_written, Ordering::Relaxed);
        self.rows_lost.store(s.rows_dropped, Ordering::Relaxed);
        self.bytes_lost.store(s.bytes_dropped, Ordering::Relaxed);
        self.open_failures.store(s.open_failures, Ordering::Relaxed);
        self.last_errno.store(s.last_failure_errno, Ordering::Relaxed);
        // `failing` before the error count: a reader that sees a new count (Acquire) sees the
        // episode's flag with it, so one failure episode raises one alarm.
        self.failing.store(s.last_errno != 0, Ordering::Release);
        self.write_errors.store(s.write_errors, Ordering::Release);
    }
}

/// The control thread's end.
pub struct EventSink {
    producer: heapless::spsc::Producer<'static, Event>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<LogStats>>,
    /// Events dropped because the hand-off queue was full (the writer was behind).
    pub queue_dropped: u64,
    /// Events handed to the writer.
    pub sent: u64,
}

impl EventSink {
    /// Starts the writer on the single file `path` (`greenwave sim --events`); `mode` says what
    /// happens to an existing log.
    pub fn create(
        path: &std::path::Path,
        mode: OpenMode,
        device_id: u16,
        clock: impl Into<TimeBase>,
    ) -> Result<EventSink, String> {
        let log = SingleCsvLog::open(path, device_id, clock, mode)?;
        Self::start(log, path.display().to_string())
    }

    /// Starts the writer on a rotating log in `dir` (`events-NNNNNNNN.csv` under the default byte
    /// budget, `events::rotate`).
    pub fn create_rotating(
        dir: &std::path::Path,
        device_id: u16,
        clock: impl Into<TimeBase>,
    ) -> Result<EventSink, String> {
        use crate::events::rotate::LogBudget;
        let log = RotatingCsvLog::open(dir, "events", device_id, clock, LogBudget::DEFAULT)?;
        Self::start(log, dir.display().to_string())
    }

    /// Starts the writer thread on an open log. `name` is for the log messages.
    pub fn start<L: LogFile>(mut log: L, name: String) -> Result<EventSink, String> {
        // Allocated once at start-up and shared for the life of the process.
        let queue: &'static mut Queue = Box::leak(Box::new(Queue::new()));
        let (producer, mut consumer) = queue.split();
        let shared = Arc::new(Shared::default());
        let sh = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("eventlog".into())
            .spawn(move || {
                let mut episode = Episode::default();
                sh.publish(&log.stats());
                loop {
                    let finishing = sh.done.load(Ordering::Acquire);
                    let mut any = false;
                    while let Some(ev) = consumer.dequeue() {
                        // A failed write is counted by the log (rows lost) and retried with later rows.
                        let _ = log.append(&ev);
                        any = true;
                    }
                    if finishing && !any {
                        break;
                    }
                    if !any {
                        let _ = log.flush();
                    }
                    let s = log.stats();
                    sh.publish(&s);
                    episode.update(&name, &s);
                    if !any {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                }
                let _ = log.sync();
                let s = log.stats();
                sh.publish(&s);
                episode.update(&name, &s);
                s
            })
            .map_err(|e| format!("cannot start the event log writer: {e}"))?;
        Ok(EventSink {
            producer,
            shared,
            thread: Some(thread),
            queue_dropped: 0,
            sent: 0,
        })
    }

    /// Queues one event; `wait` = block (yielding) while the queue is full instead of dropping.
    pub fn send(&mut self, ev: Event, wait: bool) {
        let mut ev = ev;
        loop {
            match self.producer.enqueue(ev) {
                Ok(()) => {
                    self.sent += 1;
                    return;
                }
                Err(back) if wait && self.thread.as_ref().is_some_and(|t| !t.is_finished()) => {
                    ev = back;
                    std::thread::yield_now();
                }
                Err(_) => {
                    self.queue_dropped += 1;
                    return;
                }
            }
        }
    }

    /// The counters now (atomic loads; no lock, no allocation).
    pub fn health(&self) -> LogHealth {
        let s = &self.shared;
        LogHealth {
            sent: self.sent,
            queue_dropped: self.queue_dropped,
            rows_written: s.rows_written.load(Ordering::Relaxed),
            rows_lost: s.rows_lost.load(Ordering::Relaxed),
            bytes_lost: s.bytes_lost.load(Ordering::Relaxed),
            write_errors: s.write_errors.load(Ordering::Acquire),
            open_failures: s.open_failures.load(Ordering::Relaxed),
            last_errno: s.last_errno.load(Ordering::Relaxed),
            failing: s.failing.load(Ordering::Acquire),
        }
    }

    /// Writes everything queued, syncs, stops the writer and returns the final counters. Never
    /// fails: what could not be written is in the counters.
    pub fn finish(mut self) -> LogHealth {
        self.shared.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("the event log writer panicked; rows it had not written are counted as lost");
                let unaccounted = self.sent.saturating_sub(
                    self.shared.rows_written.load(Ordering::Relaxed) + self.shared.rows_lost.load(Ordering::Relaxed),
                );
                self.shared.rows_lost.fetch_add(unaccounted, Ordering::Relaxed);
            }
        }
        self.health()
    }
}

/// One write-failure episode, for logging it once when it starts and once when it ends (a failure
/// that cleared within one batch of rows logs both at once).
#[derive(Default)]
struct Episode {
    failing: bool,
    errors: u64,
    lost_before: u64,
}

impl Episode {
    fn update(&mut self, name: &str, s: &LogStats) {
        let failing = s.last_errno != 0;
        let new_errors = s.write_errors > self.errors;
        if !self.failing && new_errors {
            log::error!(
                "event log {name}: {}; rows are lost (and counted) until writing works again",
                LogError::Io(s.last_failure_errno)
            );
        }
        if !failing && (self.failing || new_errors) {
            log::warn!(
                "event log {name}: writing again; {} rows were lost while it failed ({} lost in all)",
                s.rows_dropped - self.lost_before,
                s.rows_dropped
            );
        }
        if !failing {
            self.lost_before = s.rows_dropped;
        }
        self.errors = s.write_errors;
        self.failing = failing;
    }
}
