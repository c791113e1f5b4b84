//! Log records to standard error that never panic and never allocate.
//!
//! `eprintln!` panics when standard error cannot be written — and when it is redirected to a file on
//! the partition that just filled up, the first record about the full disk would take down the
//! thread that logs it (the control thread included). Here a failed write is counted
//! ([`lost_lines`]) and otherwise ignored: the controller keeps running, and the losses it logs are
//! in its own counters anyway. Records are formatted straight into the locked stream (no
//! intermediate string), as `2026-01-01T00:00:00.000Z LEVEL [target] message`, the level taken from
//! `RUST_LOG` (default `info`) and changed at run time by the console's `log level`.

use crate::events::csv::civil_from_days;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

static LOST: AtomicU64 = AtomicU64::new(0);

/// Log lines that could not be written to standard error.
pub fn lost_lines() -> u64 {
    LOST.load(Ordering::Relaxed)
}

struct StderrLog;

static LOGGER: StderrLog = StderrLog;

/// Installs the logger (once, at start-up).
pub fn init() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<log::LevelFilter>().ok())
        .unwrap_or(log::LevelFilter::Info);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &log::Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let (y, mo, d) = civil_from_days(ms.div_euclid(86_400_000));
        let t = ms.rem_euclid(86_400_000);
        let mut err = std::io::stderr().lock();
        let res = writeln!(
            err,
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z {:<5} [{}] {}",
            t / 3_600_000,
            t / 60_000 % 60,
            t / 1000 % 60,
            t % 1000,
            r.level(),
            r.target(),
            r.args()
        );
        if res.is_err() {
            LOST.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}
