//! The control loop's counters: one `Copy` struct the loop keeps up to date every tick, which the
//! console's `stats` and `faults` show and the end-of-run summary prints. Every event the controller
//! generated ends up in exactly one of: written, lost (the write failed), dropped (the hand-off
//! queue or the controller's ring was full), or — without an event log — only shown on the console.
//!
//! Plain data (no I/O, no clock): the runtime fills it, the console reads it without knowing the
//! runtime. Fixed size, no allocation.

/// Loop counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopStats {
    pub ticks: u64,
    /// Real-time ticks that missed a whole tick boundary.
    pub overruns: u64,
    /// The longest tick's work (controller, relays, services), ns.
    pub worst_tick_ns: u64,
    pub relay_errors: u64,
    pub watchdog_kicks: u64,
    /// Events the controller generated.
    pub events_generated: u64,
    /// Events dropped because the controller's event ring was full.
    pub events_ring_dropped: u64,
    /// An event log is being written (the event log fields mean something).
    pub event_log: bool,
    /// Event rows on disk (counted once the write succeeded).
    pub events_logged: u64,
    /// Event rows lost because the write failed (disk full, I/O error, a log file not created).
    pub events_lost: u64,
    /// Bytes of the lost rows.
    pub log_bytes_lost: u64,
    pub log_write_errors: u64,
    /// Event log files that could not be created (rotation included).
    pub log_open_failures: u64,
    /// errno of the most recent event log failure (0 = none).
    pub log_errno: i32,
    /// Event log writes are failing now.
    pub log_failing: bool,
    /// Events dropped because the writer's hand-off queue was full.
    pub events_queue_dropped: u64,
    /// Controller state is being saved (the state fields mean something).
    pub state: bool,
    /// State file saves that succeeded / failed, snapshots skipped (writer behind).
    pub state_saves: u64,
    pub state_save_failures: u64,
    pub state_skipped: u64,
    /// errno of the most recent failed state save (0 = none).
    pub state_errno: i32,
    /// A state file's last save failed.
    pub state_failing: bool,
    /// Alarms raised for write failures (one per episode).
    pub loss_alarms: u64,
    pub reloads: u64,
    pub reload_errors: u64,
    /// SIGHUPs that found the site file unchanged (nothing to hand over).
    pub reloads_unchanged: u64,
    /// Sleeps interrupted by a signal and resumed to their deadline.
    pub interrupted_sleeps: u64,
    /// Real-time wake-ups later than the stall limit (`runtime::control_loop::STALL_LIMIT_MS`).
    pub stalls: u64,
    /// Wall-clock steps seen in real time (`runtime::wallclock`); signal timing ignores them.
    pub clock_steps: u64,
    /// Heap allocations in the whole process since start-up finished (the control path makes
    /// none; the event log and state writers may). None without the counting allocator
    /// (`runtime::heap`), as in library users and tests: shown as "n/a", never as 0.
    pub allocations: Option<u64>,
    /// Heap bytes in use (None without the counting allocator).
    pub heap_bytes: Option<u64>,
    /// Resident set size, kB (`/proc/self/statm`; None when it cannot be read).
    pub rss_kb: Option<u32>,
    /// Camera snapshot counters (`camera::snapshot::service`); None when no camera takes snapshots.
    pub snapshots: Option<SnapshotHealth>,
    /// MQTT telemetry counters (`central::mqtt`); None when it does not run.
    pub mqtt: Option<MqttHealth>,
}

impl LoopStats {
    /// Events that did not reach a log that was configured: lost plus dropped.
    pub fn events_missing(&self) -> u64 {
        self.events_lost + self.events_queue_dropped + self.events_ring_dropped
    }

    /// Something was lost to the event log or the state files, or their writes are failing now.
    pub fn storage_fault(&self) -> bool {
        self.events_lost + self.events_queue_dropped + self.state_save_failures > 0
            || self.log_failing
            || self.state_failing
    }
}

/// A failed snapshot, as the console and the log name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SnapshotFault {
    DiskFull = 1,
    ReadOnly = 2,
    Io = 3,
    Encode = 4,
    TooLarge = 5,
}

impl SnapshotFault {
    pub const fn name(self) -> &'static str {
        match self {
            SnapshotFault::DiskFull => "disk full",
            SnapshotFault::ReadOnly => "read-only or unwritable",
            SnapshotFault::Io => "I/O error",
            SnapshotFault::Encode => "encoder refused the frame",
            SnapshotFault::TooLarge => "larger than the budget",
        }
    }
}

/// The camera snapshot service's counters (`camera::snapshot::service`), read without locks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotHealth {
    /// Requests handed to the writer.
    pub requested: u64,
    /// Requests dropped because the queue was full.
    pub dropped: u64,
    /// Snapshots saved.
    pub written: u64,
    /// Requests for a camera that had no frame.
    pub no_frame: u64,
    /// Snapshots that could not be saved.
    pub failed: u64,
    /// The last save failed and none succeeded since.
    pub failing: bool,
    /// What the most recent failure was.
    pub last_fault: Option<SnapshotFault>,
    /// Draw + encode + write time of the last saved snapshot, µs.
    pub last_write_us: u32,
}

/// MQTT telemetry counters (`central::mqtt`), as the console and the summary show them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MqttHealth {
    /// Connected to the broker now.
    pub connected: bool,
    /// Messages queued over the run.
    pub queued: u64,
    /// Messages waiting or unacknowledged now.
    pub held: u64,
    /// Messages handed to the client (resends included), and of those sent again after a lost
    /// connection.
    pub sent: u64,
    pub resent: u64,
    /// Messages the broker acknowledged.
    pub acked: u64,
    /// Messages dropped from a full queue, the oldest first.
    pub dropped_oldest: u64,
    /// Connections after the first.
    pub reconnects: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Events the loop could not hand over (hand-off queue full).
    pub events_dropped: u64,
}

impl core::fmt::Display for MqttHealth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}  queued {}  sent {} ({} resent)  acked {}  held {}  dropped oldest {}  reconnects {}  \
             connect failures {}  events dropped {}",
            if self.connected { "connected" } else { "disconnected" },
            self.queued,
            self.sent,
            self.resent,
            self.acked,
            self.held,
            self.dropped_oldest,
            self.reconnects,
            self.connect_failures,
            self.events_dropped
        )
    }
}
