//! The end-of-run summary of `greenwave sim` and `greenwave run`: the loop's [`LoopStats`] (the same
//! counters the console's `stats` shows) with the controller's and the simulated traffic's totals,
//! and what it means for the exit status. Formatted once, after the loop; allocates freely.

use crate::runtime::latency::WakeLatency;
use crate::sim::traffic::TrafficStats;
use crate::stats::LoopStats;

/// Exit status of `greenwave sim` when the run completed but something was lost: event rows not
/// written (or dropped), or a state file not saved. The summary says what.
pub const EXIT_LOSS: u8 = 3;

/// A short reason for an errno in the summary.
fn reason(errno: i32) -> String {
    use std::io::ErrorKind;
    let e = std::io::Error::from_raw_os_error(errno);
    match e.kind() {
        ErrorKind::StorageFull => "disk full".into(),
        ErrorKind::FileTooLarge => "file too large".into(),
        ErrorKind::ReadOnlyFilesystem => "read-only file system".into(),
        _ => e.to_string(),
    }
}

/// What `greenwave sim` and `greenwave run` print at the end.
#[derive(Clone, Debug)]
pub struct RunSummary {
    pub simulated_s: f64,
    pub loop_stats: LoopStats,
    /// The simulated traffic (None on a board).
    pub traffic: Option<TrafficStats>,
    pub faults: u32,
    pub fault: Option<crate::monitor::Fault>,
    pub cycles: u64,
    pub last_cycle_ms: u32,
    pub plan_cycle_ms: u32,
    pub wall_s: f64,
    /// Wake-up latency of the real-time loop (None at `--speed max`).
    pub wake: Option<WakeLatency>,
    pub stopped_by_signal: bool,
    pub learned: crate::plan::learned::LearnedStats,
    /// The planner's scenario pool: planning cycles completed, failed, timed out.
    pub scenarios: crate::scenario::PoolStats,
    /// Heap in use after start-up and at the end of the loop, bytes (0 without the counting
    /// allocator, `runtime::heap`).
    pub heap_start_bytes: u64,
    pub heap_end_bytes: u64,
    /// Scheduled action changes (the latest, local time) and their number; coordination
    /// transitions completed. None: the site has no schedule or pattern.
    pub schedule: Option<ScheduleSummary>,
}

/// The time-of-day schedule over a run.
#[derive(Clone, Debug, Default)]
pub struct ScheduleSummary {
    pub changes: u64,
    pub latest: Vec<(jiff::civil::DateTime, crate::config::schedule::Action)>,
    pub transitions: u64,
}

impl RunSummary {
    /// Something was lost: event rows not written or dropped, or a state file not saved.
    pub fn lossy(&self) -> bool {
        let l = &self.loop_stats;
        (l.event_log && l.events_missing() > 0) || l.events_ring_dropped > 0 || l.state_save_failures > 0
    }
}

impl core::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let l = &self.loop_stats;
        writeln!(
            f,
            "simulated time    {:.1} s ({:.2} s wall, {:.0}x real time)",
            self.simulated_s,
            self.wall_s,
            self.simulated_s / self.wall_s.max(1e-9)
        )?;
        writeln!(
            f,
            "ticks             {} ({} overruns, worst tick {:.1} us)",
            l.ticks,
            l.overruns,
            l.worst_tick_ns as f64 / 1000.0
        )?;
        if let Some(t) = &self.traffic {
            writeln!(
                f,
                "vehicles          {} arrived, {} served, {} still queued, {} spilled back",
                t.arrived, t.served, t.queued, t.spilled
            )?;
            writeln!(
                f,
                "mean delay        {:.1} s per served vehicle (model)",
                t.mean_delay_s()
            )?;
            writeln!(f, "pedestrian calls  {}", t.ped_calls)?;
        }
        writeln!(
            f,
            "cycles            {} (last {:.1} s, Webster plan {:.1} s)",
            self.cycles,
            self.last_cycle_ms as f64 / 1000.0,
            self.plan_cycle_ms as f64 / 1000.0
        )?;
        if let Some(s) = &self.schedule {
            write!(f, "schedule          {} action changes", s.changes)?;
            if s.latest.len() as u64 != s.changes {
                write!(f, " (the last {})", s.latest.len())?;
            }
            for (i, (at, action)) in s.latest.iter().enumerate() {
                write!(
                    f,
                    "{}{:04}-{:02}-{:02} {:02}:{:02} {action}",
                    if i == 0 { ": " } else { ", " },
                    at.year(),
                    at.month(),
                    at.day(),
                    at.hour(),
                    at.minute()
                )?;
            }
            writeln!(f)?;
            writeln!(
                f,
                "coordination      {} transitions to a new offset completed",
                s.transitions
            )?;
        }
        if self.heap_start_bytes > 0 {
            writeln!(
                f,
                "heap in use       {} B after start-up, {} B at the end (growth {} B)",
                self.heap_start_bytes,
                self.heap_end_bytes,
                self.heap_end_bytes as i64 - self.heap_start_bytes as i64
            )?;
        }
        write!(f, "events            {} generated", l.events_generated)?;
        if l.event_log {
            write!(f, ", {} written, {} lost", l.events_logged, l.events_lost)?;
            if l.events_lost > 0 || l.log_write_errors > 0 {
                write!(
                    f,
                    " ({}: {} write errors, {} bytes",
                    reason(l.log_errno),
                    l.log_write_errors,
                    l.log_bytes_lost
                )?;
                if l.log_open_failures > 0 {
                    write!(f, ", {} log files not created", l.log_open_failures)?;
                }
                write!(f, ")")?;
            }
            if l.events_queue_dropped > 0 {
                write!(f, ", {} dropped (log queue full)", l.events_queue_dropped)?;
            }
        } else {
            write!(f, " (no event log)")?;
        }
        if l.events_ring_dropped > 0 {
            write!(f, ", {} dropped (event ring full)", l.events_ring_dropped)?;
        }
        writeln!(f)?;
        if l.state {
            write!(
                f,
                "state saves       {} ok, {} failed",
                l.state_saves, l.state_save_failures
            )?;
            if l.state_save_failures > 0 {
                write!(f, " ({})", reason(l.state_errno))?;
            }
            if l.state_skipped > 0 {
                write!(f, ", {} snapshots skipped (writer behind)", l.state_skipped)?;
            }
            writeln!(f)?;
        }
        if l.loss_alarms > 0 {
            writeln!(f, "storage alarms    {} (event 174, not latching flash)", l.loss_alarms)?;
        }
        if let Some(m) = &l.mqtt {
            writeln!(f, "mqtt              {m}")?;
        }
        writeln!(
            f,
            "reloads           {} ({} rejected, {} unchanged)",
            l.reloads, l.reload_errors, l.reloads_unchanged
        )?;
        if let Some(w) = &self.wake {
            writeln!(f, "wake-up latency   {w}")?;
            writeln!(
                f,
                "signals           {} sleeps interrupted and resumed, {} stalls, {} wall-clock steps",
                l.interrupted_sleeps, l.stalls, l.clock_steps
            )?;
        }
        if self.learned.confident + self.learned.deferred > 0 {
            let n = (self.learned.confident + self.learned.deferred) as f64;
            writeln!(
                f,
                "learned planner   {:.0} % of decisions confident",
                self.learned.confident as f64 * 100.0 / n
            )?;
        }
        let sc = &self.scenarios;
        if sc.timed_out + sc.failed + sc.exhausted > 0 {
            writeln!(
                f,
                "planning cycles   {} completed, {} failed ({} timed out), {} without a free slot",
                sc.completed, sc.failed, sc.timed_out, sc.exhausted
            )?;
        }
        write!(f, "faults            {}", self.faults)?;
        if let Some(fault) = &self.fault {
            write!(f, " (flash latched: {fault})")?;
        }
        Ok(())
    }
}
