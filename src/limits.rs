//! Every fixed capacity of the controller, in one place (STYLE.md 10; the README lists them).
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
/// Planning-cycle contexts alive at once (DESIGN.md section 6).
pub const SCENARIO_SLOTS: usize = 4;
/// Latched faults kept in the fault history.
pub const FAULT_HISTORY: usize = 32;
/// Characters of a site or phase name.
pub const NAME_LEN: usize = 32;

const _: () = assert!(MAX_PHASES <= 16, "PhaseSet is a u16 bit set");
const _: () = assert!(MAX_DETECTORS <= 32, "DetectorSet is a u32 bit set");
const _: () = assert!(EVENT_RING > 1 && SCENARIO_SLOTS > 1);

/// Characters of one console command line (a longer line is rejected whole).
pub const CONSOLE_LINE: usize = 80;
/// Bytes of console output buffered for the serial port (the longest command output fits).
pub const CONSOLE_OUT: usize = 4096;
/// Recent events the console keeps for `events N`.
pub const CONSOLE_EVENTS: usize = 64;
