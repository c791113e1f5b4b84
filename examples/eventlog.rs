//! Runs the controller on the simulated intersection and writes its hi-res events through the
//! rotating event log, as the board does.
//!
//! usage: cargo run --example eventlog -- SITE.toml DIR SECONDS [FILE_BYTES TOTAL_BYTES]

use greenwave::config::Site;
use greenwave::events::csv::WallClock;
use greenwave::events::rotate::{LogBudget, RotatingCsvLog};
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 3 && a.len() != 5 {
        eprintln!("usage: eventlog SITE.toml DIR SECONDS [FILE_BYTES TOTAL_BYTES]");
        return ExitCode::from(2);
    }
    let num = |s: &str| s.parse::<u64>().map_err(|_| format!("`{s}` is not a number"));
    let run = || -> Result<(), String> {
        let site = Site::load(&PathBuf::from(&a[0])).map_err(|e| e.to_string())?;
        let seconds = num(&a[2])?;
        let budget = if a.len() == 5 {
            LogBudget {
                file_bytes: num(&a[3])?,
                total_bytes: num(&a[4])?,
            }
        } else {
            LogBudget::DEFAULT
        };
        // 2026-01-01 06:00 UTC: a weekday morning.
        let clock = WallClock {
            unix_ms_at_zero: 1_767_247_200_000,
        };
        let mut log = RotatingCsvLog::open(&PathBuf::from(&a[1]), "events", site.device_id, clock, budget)?;
        let mut lp = ControlLoop::new(
            &site,
            &greenwave::monitor::card::MmuCard::from_geometry(&site),
            SimRelays::default(),
            SimWatchdog::default(),
            SimTraffic::new(&site, 1.0, 1),
        );
        let tick = u64::from(site.tick_ms);
        for k in 0..seconds * 1000 / tick {
            lp.tick(Instant(k * tick), true);
            while let Some(ev) = lp.controller.events_mut().pop() {
                if let Err(e) = log.append(&ev) {
                    eprintln!("{e}");
                }
            }
            if k % 10 == 0 {
                log.flush().map_err(|e| e.to_string())?;
            }
        }
        log.sync().map_err(|e| e.to_string())?;
        let s = log.stats();
        println!(
            "{} rows written, {} dropped, {} files opened, {} deleted, {} bytes kept",
            s.rows_written,
            s.rows_dropped,
            s.files_opened,
            s.files_deleted,
            log.total_bytes()
        );
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
