//! The site file as written on disk (the board file's is `board/file.rs`): TOML, deserialized with spans so that every validation error can
//! name the line. Field names carry their units (`_s`, `_m`, `_kmh`, `_vph`).
//!
//! Also the one way the controller reads an input file ([`read_text`], [`read_bytes`]): only a
//! regular file, and at most a stated number of bytes (the limits are in [`crate::limits`]), so a
//! path to a FIFO, a terminal or `/dev/zero` is refused at once instead of blocking or filling memory.

use serde::Deserialize;
use std::io::Read;
use std::path::Path;
use toml::Spanned;

/// Why an input file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// Opening, inspecting or reading failed.
    Io(std::io::Error),
    /// Not a regular file (the kind: directory, FIFO, character device...): fix the path.
    NotRegular(&'static str),
    /// Larger than the limit for this kind of file, bytes.
    TooLarge { limit: u64 },
    /// Text expected, but not UTF-8.
    NotUtf8,
}

impl core::fmt::Display for ReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::NotRegular(kind) => write!(f, "not a regular file ({kind}); give the path of a file"),
            ReadError::TooLarge { limit } => write!(f, "larger than the {} limit for this file", Bytes(*limit)),
            ReadError::NotUtf8 => f.write_str("not UTF-8 text"),
        }
    }
}

impl std::error::Error for ReadError {}

/// A byte count in the largest whole binary unit (`2 MiB`, `256 MiB`, `700 bytes`).
struct Bytes(u64);

impl core::fmt::Display for Bytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        const MIB: u64 = 1 << 20;
        const KIB: u64 = 1 << 10;
        match self.0 {
            b if b >= MIB && b % MIB == 0 => write!(f, "{} MiB", b / MIB),
            b if b >= KIB && b % KIB == 0 => write!(f, "{} KiB", b / KIB),
            b => write!(f, "{b} bytes"),
        }
    }
}

/// Reads a whole regular file of at most `max_bytes`. The file is opened non-blocking (a FIFO
/// without a writer would otherwise block the open) and checked with `fstat` on the open handle,
/// so the file checked is the file read; at most `max_bytes + 1` bytes are ever read.
pub fn read_bytes(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    let t = meta.file_type();
    if !t.is_file() {
        return Err(ReadError::NotRegular(if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() {
            "a character device"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a file"
        }));
    }
    if meta.len() > max_bytes {
        return Err(ReadError::TooLarge { limit: max_bytes });
    }
    // The size may change between fstat and read (a log being written): the cap still holds.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(ReadError::TooLarge { limit: max_bytes });
    }
    Ok(bytes)
}

/// [`read_bytes`] for UTF-8 text.
pub fn read_text(path: &Path, max_bytes: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bytes(path, max_bytes)?).map_err(|_| ReadError::NotUtf8)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteFile {
    pub site: SiteSection,
    pub structure: Spanned<StructureSection>,
    #[serde(default)]
    pub phase: Vec<Spanned<PhaseSection>>,
    #[serde(default)]
    pub detector: Vec<Spanned<DetectorSection>>,
    #[serde(default)]
    pub preempt: Vec<Spanned<PreemptSection>>,
    #[serde(default)]
    pub transit: Option<Spanned<TransitSection>>,
    /// Read by the SUMO bridge (`tools/sumo`), not by the controller.
    #[serde(default)]
    pub sumo: Option<toml::Value>,
    /// The cameras and their zones: one `[camera]` table or up to four `[[camera]]` tables, read
    /// with their spans by [`super::camera::cameras`].
    #[serde(default)]
    pub camera: Option<toml::Value>,
    /// Console settings: the PIN hash ([`super::console`]).
    #[serde(default)]
    pub console: Option<Spanned<super::console::ConsoleSection>>,
    /// Coordination patterns, day plans and the week calendar ([`super::schedule`]).
    #[serde(default)]
    pub pattern: Vec<Spanned<super::schedule::PatternSection>>,
    #[serde(default)]
    pub day_plan: Vec<Spanned<super::schedule::DayPlanSection>>,
    #[serde(default)]
    pub schedule: Option<Spanned<super::schedule::ScheduleSection>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSection {
    pub name: Spanned<String>,
    #[serde(default = "one")]
    pub device_id: Spanned<i64>,
    #[serde(default = "default_tick")]
    pub tick_ms: Spanned<i64>,
    /// "green": rest in the green of the last phase served when nothing else calls; "red": all red.
    #[serde(default = "default_rest")]
    pub rest: Spanned<String>,
    /// "actuated" or "webster" (fixed time).
    #[serde(default = "default_planner")]
    pub planner: Spanned<String>,
    #[serde(default = "default_cycle_min")]
    pub cycle_min_s: Spanned<f64>,
    #[serde(default = "default_cycle_max")]
    pub cycle_max_s: Spanned<f64>,
    /// All-red time at start-up and after a flash is cleared, before the first green.
    #[serde(default = "default_startup_red")]
    pub startup_red_s: Spanned<f64>,
    /// Saturation flow per lane for the Webster plan (HCM base 1900 pc/h/ln; 1800 is common practice).
    #[serde(default = "default_sat")]
    pub saturation_flow_vphpl: Spanned<f64>,
    /// Default flash colour of vehicle heads: "red" or "yellow".
    #[serde(default = "default_flash")]
    pub flash: Spanned<String>,
    /// Detector data older than this is stale (fall back to Webster).
    #[serde(default = "default_stale")]
    pub detector_stale_s: Spanned<f64>,
    /// IANA time zone of the intersection (e.g. "America/Chicago"); default: the system's
    /// (/etc/localtime).
    #[serde(default)]
    pub time_zone: Option<Spanned<String>>,
    /// Where the calculated pedestrian clearance time runs: "green" (all of it as flashing DON'T
    /// WALK inside the green) or "buffer" (the buffer interval — the steady DON'T WALK during the
    /// phase's yellow change and red clearance — counts towards it, MUTCD 4E.06 and Figure 4E-2).
    #[serde(default)]
    pub ped_clearance: Option<Spanned<String>>,
    /// Protected/permissive left turns in the fixed-time (Webster) plan: "by-volume" (the default:
    /// a left light enough to be served on its flashing yellow arrow runs permissive-only, the
    /// others protected every cycle) or "protected" (every protected left every cycle).
    #[serde(default)]
    pub fixed_time_lefts: Option<Spanned<String>>,
    /// Event-log timestamps: "local" (the default; what ATSPM expects) or "utc".
    #[serde(default)]
    pub event_time: Option<Spanned<String>>,
    /// Run this coordination pattern at all times (a site without a `[schedule]`).
    #[serde(default)]
    pub pattern: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructureSection {
    /// Each ring is its phase sequence, e.g. `[[1, 2, 3, 4], [5, 6, 7, 8]]`.
    pub rings: Spanned<Vec<Vec<Spanned<i64>>>>,
    /// Barrier (concurrency) groups in service order, e.g. `[[1, 2, 5, 6], [3, 4, 7, 8]]`.
    pub barriers: Spanned<Vec<Vec<Spanned<i64>>>>,
    /// Extra conflicting pairs beyond those implied by rings and barriers.
    #[serde(default = "no_pairs")]
    pub conflicts: Spanned<Vec<Vec<Spanned<i64>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSection {
    pub number: Spanned<i64>,
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    pub min_green_s: Spanned<f64>,
    pub max_green_s: Spanned<f64>,
    /// Dynamic max limit (NTCIP 1202 v03 `phaseDynamicMaxLimit`): the running max green may grow
    /// up to this after successive max-outs. With `dynamic_step_s`; absent = off.
    #[serde(default)]
    pub dynamic_max_s: Option<Spanned<f64>>,
    /// Dynamic max step (NTCIP 1202 v03 `phaseDynamicMaxStep`).
    #[serde(default)]
    pub dynamic_step_s: Option<Spanned<f64>>,
    pub passage_s: Spanned<f64>,
    #[serde(default = "default_recall")]
    pub recall: Spanned<String>,
    pub speed_kmh: Spanned<f64>,
    #[serde(default = "zero")]
    pub grade_pct: Spanned<f64>,
    /// Distance from the stop line to the far side of the last conflicting lane (ITE `W`).
    pub crossing_width_m: Spanned<f64>,
    #[serde(default = "one")]
    pub lanes: Spanned<i64>,
    pub design_volume_vph: Spanned<f64>,
    /// Overrides of the derived intervals; never accepted below the derived minimums' floors.
    #[serde(default)]
    pub yellow_s: Option<Spanned<f64>>,
    #[serde(default)]
    pub red_clear_s: Option<Spanned<f64>>,
    #[serde(default)]
    pub flash: Option<Spanned<String>>,
    #[serde(default)]
    pub ped: Option<Spanned<PedSection>>,
    /// Protected/permissive left turn: the opposing through phase during whose green this left
    /// turn may go permissively on a flashing yellow arrow.
    #[serde(default)]
    pub permissive: Option<Spanned<i64>>,
    /// The leg the phase's vehicles arrive on: "N", "NE", "E", "SE", "S", "SW", "W" or "NW".
    #[serde(default)]
    pub approach: Option<Spanned<String>>,
    /// What the phase's vehicles may do: "left", "through", "right", "u-turn", "left_yield".
    #[serde(default)]
    pub movements: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PedSection {
    pub crossing_m: Spanned<f64>,
    #[serde(default = "default_walk")]
    pub walk_s: Spanned<f64>,
    #[serde(default)]
    pub clearance_s: Option<Spanned<f64>>,
    /// Pedestrians demand rate for the simulator (per hour).
    #[serde(default = "default_ped_rate")]
    pub design_volume_pph: Spanned<f64>,
    #[serde(default)]
    pub recall: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSection {
    pub number: Spanned<i64>,
    pub phase: Spanned<i64>,
    /// The detector places calls on its phase when the phase is not green.
    #[serde(default = "yes")]
    pub call: bool,
    /// The detector extends its phase's green (gap timing) while green.
    #[serde(default = "yes")]
    pub extend: bool,
    #[serde(default)]
    pub name: Option<Spanned<String>>,
}

/// Emergency-vehicle preemption input (NTCIP 1202 preempt parameters, simplified).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreemptSection {
    /// Preempt input 1..=8 (cabinet preempt line, optical or radio receiver); lower numbers win.
    pub number: Spanned<i64>,
    /// Phases held green during the dwell (the preempted approach), mutually compatible.
    pub dwell_phases: Spanned<Vec<Spanned<i64>>>,
    /// Shortest green a phase being ended for the preempt may show (may shorten min green).
    #[serde(default = "default_preempt_min_green")]
    pub min_green_s: Spanned<f64>,
    /// Shortest pedestrian clearance when a crossing is ended for the preempt (WALK is cut short).
    #[serde(default)]
    pub ped_clearance_s: Option<Spanned<f64>>,
    /// Shortest dwell green.
    #[serde(default = "default_dwell")]
    pub dwell_s: Spanned<f64>,
}

/// Transit signal priority limits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitSection {
    /// Longest green extension for a checked-in bus.
    #[serde(default = "default_tsp_ext")]
    pub max_extension_s: Spanned<f64>,
    /// Early green: end conflicting greens as soon as their min green allows.
    #[serde(default = "yes")]
    pub early_green: bool,
}

fn default_preempt_min_green() -> Spanned<f64> {
    sp(5.0)
}
fn default_dwell() -> Spanned<f64> {
    sp(10.0)
}
fn default_tsp_ext() -> Spanned<f64> {
    sp(10.0)
}

fn sp<T>(v: T) -> Spanned<T> {
    super::diag::unspanned(v)
}
fn no_pairs() -> Spanned<Vec<Vec<Spanned<i64>>>> {
    sp(Vec::new())
}
fn zero() -> Spanned<f64> {
    sp(0.0)
}
fn one() -> Spanned<i64> {
    sp(1)
}
fn yes() -> bool {
    true
}
fn default_tick() -> Spanned<i64> {
    sp(100)
}
fn default_rest() -> Spanned<String> {
    sp("green".into())
}
fn default_planner() -> Spanned<String> {
    sp("actuated".into())
}
fn default_cycle_min() -> Spanned<f64> {
    sp(40.0)
}
fn default_cycle_max() -> Spanned<f64> {
    sp(120.0)
}
fn default_startup_red() -> Spanned<f64> {
    sp(4.0)
}
fn default_sat() -> Spanned<f64> {
    sp(1800.0)
}
fn default_flash() -> Spanned<String> {
    sp("red".into())
}
fn default_stale() -> Spanned<f64> {
    sp(2.0)
}
fn default_recall() -> Spanned<String> {
    sp("none".into())
}
fn default_walk() -> Spanned<f64> {
    sp(7.0)
}
fn default_ped_rate() -> Spanned<f64> {
    sp(30.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("greenwave-read-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn reads_within_the_limit_and_refuses_beyond() {
        let d = temp("limit");
        let p = d.join("f.txt");
        std::fs::write(&p, "0123456789").unwrap();
        assert_eq!(read_text(&p, 10).unwrap(), "0123456789");
        let e = read_text(&p, 9).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { limit: 9 }), "{e:?}");
        assert_eq!(e.to_string(), "larger than the 9 bytes limit for this file");
        assert_eq!(Bytes(2 << 20).to_string(), "2 MiB");
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(matches!(read_text(&p, 10), Err(ReadError::NotUtf8)));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let d = temp("kinds");
        assert!(matches!(read_bytes(&d, 100), Err(ReadError::NotRegular("a directory"))));
        assert!(matches!(
            read_bytes(Path::new("/dev/zero"), 100),
            Err(ReadError::NotRegular("a character device"))
        ));
        let fifo = d.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // No writer: a blocking open would hang here.
        assert!(matches!(read_bytes(&fifo, 100), Err(ReadError::NotRegular("a FIFO"))));
        assert!(matches!(read_bytes(&d.join("missing"), 100), Err(ReadError::Io(_))));
        let _ = std::fs::remove_dir_all(&d);
    }
}
