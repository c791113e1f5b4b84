//! Every fixed capacity of the controller, in one place (docs/conventions.md 10; the README lists
//! them).
//!
//! Nothing in the control path grows after start-up: each container below is a `heapless` type sized
//! by one of these constants, and overflow is counted and reported instead of allocating.

/// Vehicle phases, NEMA numbering 1..=8 (NEMA TS2 dual-ring, 8-phase controller).
pub const MAX_PHASES: usize = 8;
/// Rings of the ring-and-barrier diagram. Two for NEMA; one for a purely sequential layout.
pub const MAX_RINGS: usize = 4;
/// Barrier (concurrency) groups.
pub const MAX_GROUPS: usize = 4;
/// Vehicle detectors (Indiana event parameter 1..=64; this build keeps 32).
pub const MAX_DETECTORS: usize = 32;
/// Events the engine can emit between two drains of the event ring (one tick normally emits < 20).
pub const EVENT_RING: usize = 1024;
/// Emergency-vehicle preempt inputs.
pub const MAX_PREEMPTS: usize = 4;
/// Planning-cycle contexts alive at once (docs/architecture.md, Memory and bounds).
pub const SCENARIO_SLOTS: usize = 4;
/// Latched faults kept in the fault history.
pub const FAULT_HISTORY: usize = 32;
/// Characters of a site or phase name.
pub const NAME_LEN: usize = 32;
/// Coordination patterns of a site (`[[pattern]]`, numbered 1..=MAX_PATTERNS).
pub const MAX_PATTERNS: usize = 16;
/// Day plans of a time-of-day schedule (`[[day_plan]]`).
pub const MAX_DAY_PLANS: usize = 16;
/// Events (time → action) of one day plan.
pub const MAX_DAY_EVENTS: usize = 16;
/// Holidays of the schedule's calendar.
pub const MAX_HOLIDAYS: usize = 32;

const _: () = assert!(MAX_PHASES <= 16, "PhaseSet is a u16 bit set");
const _: () = assert!(MAX_DETECTORS <= 32, "DetectorSet is a u32 bit set");
const _: () = assert!(EVENT_RING > 1 && SCENARIO_SLOTS > 1);

/// Characters of one console command line (a longer line is rejected whole).
pub const CONSOLE_LINE: usize = 80;
/// Bytes of console output buffered for the serial port (the longest command output fits).
pub const CONSOLE_OUT: usize = 4096;
/// Recent events the console keeps for `events N`.
pub const CONSOLE_EVENTS: usize = 64;

/// Bytes of a site or board file (TOML written by hand). The shipped files are 3-6 KB; a full
/// 8-phase, 32-detector site with camera zones stays under 64 KB, so 2 MiB is ample and still
/// parses in milliseconds.
pub const CONFIG_FILE_MAX_BYTES: u64 = 2 << 20;
/// Bytes of a hi-res event log (CSV) read by `greenwave plot`. A line is ~30 bytes and a busy
/// intersection logs under a million events a day (~30 MB), so 256 MiB is about a week of one
/// cabinet; parsing keeps 16 bytes per event, well under the file's own size in memory.
pub const EVENT_LOG_MAX_BYTES: u64 = 256 << 20;
/// Bytes of a learned planner table (`greenwave train`): the table is ~4 KB of postcard.
pub const MODEL_FILE_MAX_BYTES: u64 = 1 << 20;
/// Bytes of an NPU detection model (`.rknn`): YOLO-class models for the RK3588 are 5-30 MB.
pub const NPU_MODEL_MAX_BYTES: u64 = 128 << 20;
/// Bytes of a TrueType font for the timing diagram (DejaVu Sans is ~750 KB; CJK fonts reach ~20 MB).
pub const FONT_FILE_MAX_BYTES: u64 = 32 << 20;

/// Default byte budget of the camera snapshot directory (`camera::snapshot`, the board file's
/// `snapshot_budget_mib`): about 250 snapshots of 640 × 480.
pub const SNAPSHOT_BUDGET_BYTES: u64 = 16 << 20;
