//! Event log writer: a thread that drains events from the control thread into a CSV file.
//!
//! The control thread never writes files: it moves events from the engine's ring into a
//! fixed-capacity single-producer/single-consumer queue (`heapless::spsc`, allocated once at
//! start-up), and this thread formats them (Indiana hi-res CSV, `events::csv`) and writes them. If
//! the writer falls behind, the queue is full and the control thread either drops the event and
//! counts it (real-time mode) or waits for room (a simulation run as fast as possible, where
//! losing events would be pointless).

use crate::events::csv::{write_row_io, WallClock, HEADER};
use crate::events::Event;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Queue capacity between the control thread and the writer.
pub const LOG_QUEUE: usize = 4096;

type Queue = heapless::spsc::Queue<Event, LOG_QUEUE>;

/// The control thread's end.
pub struct EventSink {
    producer: heapless::spsc::Producer<'static, Event>,
    done: Arc<AtomicBool>,
    /// The writer's result: rows written and rows it had to drop (write failures, disk full).
    thread: Option<JoinHandle<std::io::Result<(u64, u64)>>>,
    /// Events dropped because the writer was behind.
    pub dropped: u64,
    pub sent: u64,
}

impl EventSink {
    /// Creates `path` (with the CSV header) and starts the writer thread.
    pub fn create(path: &std::path::Path, device_id: u16, clock: WallClock) -> std::io::Result<EventSink> {
        let file = std::fs::File::create(path)?;
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
        writeln!(out, "{HEADER}")?;
        // Allocated once at start-up and shared for the life of the process.
        let queue: &'static mut Queue = Box::leak(Box::new(Queue::new()));
        let (producer, mut consumer) = queue.split();
        let done = Arc::new(AtomicBool::new(false));
        let done2 = Arc::clone(&done);
        let thread = std::thread::Builder::new().name("eventlog".into()).spawn(move || {
            let mut written = 0u64;
            loop {
                let finishing = done2.load(Ordering::Acquire);
                let mut any = false;
                while let Some(ev) = consumer.dequeue() {
                    write_row_io(&mut out, clock, device_id, &ev)?;
                    written += 1;
                    any = true;
                }
                if finishing && !any {
                    break;
                }
                if !any {
                    out.flush()?;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
            out.flush()?;
            out.get_ref().sync_all()?;
            Ok((written, 0))
        })?;
        Ok(EventSink {
            producer,
            done,
            thread: Some(thread),
            dropped: 0,
            sent: 0,
        })
    }

    /// Starts the writer on a rotating log in `dir` (`events-NNNNNNNN.csv` under the default byte
    /// budget, `events::rotate`).
    pub fn create_rotating(dir: &std::path::Path, device_id: u16, clock: WallClock) -> Result<EventSink, String> {
        use crate::events::rotate::{LogBudget, RotatingCsvLog};
        let mut log = RotatingCsvLog::open(dir, "events", device_id, clock, LogBudget::DEFAULT)?;
        let queue: &'static mut Queue = Box::leak(Box::new(Queue::new()));
        let (producer, mut consumer) = queue.split();
        let done = Arc::new(AtomicBool::new(false));
        let done2 = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("eventlog".into())
            .spawn(move || {
                loop {
                    let finishing = done2.load(Ordering::Acquire);
                    let mut any = false;
                    while let Some(ev) = consumer.dequeue() {
                        // A failed write (disk full) is counted by the log (rows dropped) and retried
                        // on later rows; its own counters are the truth about what reached the disk.
                        let _ = log.append(&ev);
                        any = true;
                    }
                    if finishing && !any {
                        break;
                    }
                    if !any {
                        let _ = log.flush();
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                }
                let _ = log.sync();
                let st = log.stats();
                Ok((st.rows_written, st.rows_dropped))
            })
            .map_err(|e| format!("cannot start the event log writer: {e}"))?;
        Ok(EventSink {
            producer,
            done,
            thread: Some(thread),
            dropped: 0,
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
                    self.dropped += 1;
                    return;
                }
            }
        }
    }

    /// Flushes everything queued and waits for the writer; returns rows written.
    pub fn finish(self) -> std::io::Result<u64> {
        self.finish_counted().map(|(written, _)| written)
    }

    /// Like [`EventSink::finish`]; returns rows written and rows the writer dropped (failed writes).
    pub fn finish_counted(mut self) -> std::io::Result<(u64, u64)> {
        self.done.store(true, Ordering::Release);
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("event log writer panicked"))),
            None => Ok((0, 0)),
        }
    }
}
