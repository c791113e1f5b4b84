//! The site file's cameras: up to [`MAX_CAMERAS`] `[[camera]]` tables (or one `[camera]` table, the
//! older form), each with its source (`source = "v4l2:/dev/videoN"` or `"file:CLIP.y4m"`, a path
//! relative to the site file, with `loop`), image size, frame rate, frame slots of its ring, stale
//! time, detector (`"cpu"` zone detector or `"npu"` YOLO, with `model`), and the zones
//! (`[[camera.zone]]`) it watches, one per lane, each feeding one site detector.
//!
//! The older `device = "/dev/videoN"` key is read as `source = "v4l2:/dev/videoN"`; with neither,
//! the source is `v4l2:/dev/video0`. Whether this build can open a V4L2 source (feature `v4l2`) is
//! decided when the cameras start, with the line of `source` in the error, so `greenwave check` on
//! a workstation still validates a board's site file.
//!
//! A zone is a quadrilateral in the image: stop-line left, stop-line right, far right, far left
//! (pixels), `length_m` apart along the road. The detector samples it bilinearly, which is only
//! meaningful for a convex quadrilateral whose corners go round it in order; so every corner must
//! lie inside the image, the quad may not cross itself nor be concave, and its detector must exist
//! in the site's `[[detector]]` tables. Errors name the file, line, field and fix.

use super::diag::{unspanned, ConfigError, Source};
use super::SiteData;
use crate::limits::MAX_DETECTORS;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Zones per camera.
pub const MAX_ZONES: usize = 16;
/// Cameras per site (one per approach of a four-leg intersection).
pub const MAX_CAMERAS: usize = 4;
/// Bytes of a camera device path.
pub const DEVICE_LEN: usize = 64;

/// Where a camera's frames come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraInput {
    /// A V4L2 device (`v4l2:/dev/videoN`; feature `v4l2`).
    V4l2(PathBuf),
    /// A recorded YUV4MPEG2 clip played at its frame rate (`file:CLIP.y4m`); `looping` repeats it.
    File { path: PathBuf, looping: bool },
}

impl core::fmt::Display for CameraInput {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CameraInput::V4l2(p) => write!(f, "{}", p.display()),
            CameraInput::File { path, looping } => {
                write!(f, "file:{}{}", path.display(), if *looping { " (loop)" } else { "" })
            }
        }
    }
}

/// Which detector a camera asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum DetectorKind {
    /// The CPU zone detector (`detect::zone`).
    #[default]
    Cpu = 0,
    /// YOLO on the RK3588 NPU (`detect::npu`, feature `rknpu`), the CPU zone detector standing by.
    Npu = 1,
}

impl DetectorKind {
    pub const fn name(self) -> &'static str {
        match self {
            DetectorKind::Cpu => "cpu",
            DetectorKind::Npu => "npu",
        }
    }
}

/// One zone as configured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZoneConfig {
    /// Site detector number this zone feeds (1-based).
    pub detector: u8,
    /// Image corners: stop-line left, stop-line right, far right, far left (pixels).
    pub quad: [(f32, f32); 4],
    pub length_m: f32,
    /// A virtual loop this far upstream of the stop line (`loop_m`): the zone's presence is then a
    /// vehicle over that line or a standing queue anywhere in the zone, and its count the vehicles
    /// that crossed the line — what an advance loop plus a queue detector report, so a planner's
    /// passage (gap) timing means the same as with loops. Without it the zone is one long
    /// presence detector (any vehicle in it) counting vehicles across the stop line.
    pub loop_m: Option<f32>,
}

/// One camera's configuration (a `[[camera]]` table).
#[derive(Clone, Debug, PartialEq)]
pub struct CameraConfig {
    pub source: CameraInput,
    /// Line of the `source` (or `device`) key in the site file, 0 when defaulted: start-up errors
    /// about the source cite it.
    pub source_line: usize,
    pub detector: DetectorKind,
    /// The NPU model (`detector = "npu"`), relative to the site file.
    pub model: PathBuf,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub slots: usize,
    pub stale_ms: u32,
    pub zones: heapless::Vec<ZoneConfig, MAX_ZONES>,
}

/// A camera table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSection {
    #[serde(default)]
    device: Option<Spanned<String>>,
    #[serde(default)]
    source: Option<Spanned<String>>,
    #[serde(default, rename = "loop")]
    looping: Option<Spanned<bool>>,
    #[serde(default)]
    detector: Option<Spanned<String>>,
    #[serde(default)]
    model: Option<Spanned<String>>,
    #[serde(default = "default_width")]
    width: Spanned<i64>,
    #[serde(default = "default_height")]
    height: Spanned<i64>,
    #[serde(default = "default_fps")]
    fps: Spanned<i64>,
    #[serde(default = "default_slots")]
    slots: Spanned<i64>,
    #[serde(default = "default_stale")]
    stale_ms: Spanned<i64>,
    #[serde(default)]
    zone: Option<Spanned<Vec<Spanned<ZoneSection>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneSection {
    detector: Spanned<i64>,
    quad: Spanned<Vec<Spanned<Vec<Spanned<f64>>>>>,
    #[serde(default = "default_length")]
    length_m: Spanned<f64>,
    loop_m: Option<Spanned<f64>>,
}

/// The NPU model when a camera names none: beside the site file.
pub const DEFAULT_MODEL: &str = "yolov8n.rknn";
fn default_width() -> Spanned<i64> {
    unspanned(640)
}
fn default_height() -> Spanned<i64> {
    unspanned(480)
}
fn default_fps() -> Spanned<i64> {
    unspanned(10)
}
fn default_slots() -> Spanned<i64> {
    unspanned(4)
}
fn default_stale() -> Spanned<i64> {
    unspanned(2000)
}
fn default_length() -> Spanned<f64> {
    unspanned(80.0)
}

const CORNERS: &str = "stop-line left, stop-line right, far right, far left";

impl CameraConfig {
    /// A camera built in code (a renderer or a tool, not a site file): `source` names it in
    /// status lines; CPU detector, 4 slots, 2 s stale time.
    pub fn new(
        source: CameraInput,
        width: u32,
        height: u32,
        fps: u32,
        zones: heapless::Vec<ZoneConfig, MAX_ZONES>,
    ) -> CameraConfig {
        CameraConfig {
            source,
            source_line: 0,
            detector: DetectorKind::Cpu,
            model: PathBuf::from(DEFAULT_MODEL),
            width,
            height,
            fps,
            slots: 4,
            stale_ms: 2000,
            zones,
        }
    }

    /// Parses and validates a camera table on its own (the body of `[camera]`: `width = …`,
    /// `[[zone]]` …); `file` names the source in errors and is the base of relative paths. Zones
    /// are not checked against a site's detectors here (see [`CameraConfig::from_section`]).
    pub fn parse(text: &str, file: &str) -> Result<CameraConfig, ConfigError> {
        let src = Source::new(text, file);
        let sec: CameraSection = toml::from_str(text).map_err(|e| src.toml(&e, "the README's camera section"))?;
        CameraConfig::validate(src, &sec, "", None)
    }

    /// Validates one camera table of a site file against the validated site (each zone must feed
    /// one of its detectors); `prefix` names the table in errors (`camera.` or `camera[1].`).
    pub fn from_section(
        src: Source,
        sec: &CameraSection,
        prefix: &str,
        site: &SiteData,
    ) -> Result<CameraConfig, ConfigError> {
        CameraConfig::validate(src, sec, prefix, Some(site))
    }

    fn validate(
        src: Source,
        sec: &CameraSection,
        prefix: &str,
        site: Option<&SiteData>,
    ) -> Result<CameraConfig, ConfigError> {
        let base = Path::new(src.file).parent().unwrap_or(Path::new(""));
        let (source, source_line) = input(src, sec, prefix, base)?;
        let detector = match &sec.detector {
            None => DetectorKind::Cpu,
            Some(d) => match d.get_ref().as_str() {
                "cpu" => DetectorKind::Cpu,
                "npu" => DetectorKind::Npu,
                other => {
                    return Err(src.err(
                        d.span(),
                        &format!("{prefix}detector"),
                        format!("unknown detector \"{other}\""),
                        "use \"cpu\" (zone detector) or \"npu\" (YOLO on the RK3588 NPU, CPU as fallback)",
                    ))
                }
            },
        };
        let model = match &sec.model {
            Some(m) if m.get_ref().is_empty() => {
                return Err(src.err(
                    m.span(),
                    &format!("{prefix}model"),
                    "the model path is empty",
                    "name the .rknn file (relative to the site file), or leave `model` out",
                ))
            }
            Some(m) => base.join(m.get_ref()),
            None => base.join(DEFAULT_MODEL),
        };
        let int = |v: &Spanned<i64>, k: &str, lo: i64, hi: i64| -> Result<i64, ConfigError> {
            let x = *v.get_ref();
            if (lo..=hi).contains(&x) {
                Ok(x)
            } else {
                Err(src.err(
                    v.span(),
                    &format!("{prefix}{k}"),
                    format!("{x} is out of range"),
                    format!("use {lo} to {hi}"),
                ))
            }
        };
        let mut c = CameraConfig {
            source,
            source_line,
            detector,
            model,
            width: int(&sec.width, "width", 16, 1920)? as u32,
            height: int(&sec.height, "height", 16, 1080)? as u32,
            fps: int(&sec.fps, "fps", 1, 60)? as u32,
            slots: int(&sec.slots, "slots", 2, 16)? as usize,
            stale_ms: int(&sec.stale_ms, "stale_ms", 100, 60_000)? as u32,
            zones: heapless::Vec::new(),
        };
        let zone_table = if prefix.is_empty() {
            "[[zone]]"
        } else {
            "[[camera.zone]]"
        };
        let Some(zones) = &sec.zone else {
            return Err(src.err(
                super::diag::NO_SPAN,
                &format!("{prefix}zone"),
                format!("no {zone_table} tables: the camera watches no lane"),
                format!("add a {zone_table} per lane with `detector` and `quad` ({CORNERS})"),
            ));
        };
        for (i, z) in zones.get_ref().iter().enumerate() {
            let z = z.get_ref();
            let f = |k: &str| format!("{prefix}zone[{i}].{k}");
            let det = u8::try_from(*z.detector.get_ref())
                .ok()
                .filter(|d| (1..=MAX_DETECTORS as u8).contains(d))
                .ok_or_else(|| {
                    src.err(
                        z.detector.span(),
                        &f("detector"),
                        format!("detector {} is out of range", z.detector.get_ref()),
                        format!("site detectors are numbered 1 to {MAX_DETECTORS}"),
                    )
                })?;
            if let Some(site) = site {
                if site
                    .detectors
                    .get(usize::from(det) - 1)
                    .and_then(|d| d.as_ref())
                    .is_none()
                {
                    return Err(src.err(
                        z.detector.span(),
                        &f("detector"),
                        format!("zone {i} feeds detector {det}, which the site has no [[detector]] for"),
                        "name a configured detector, or add a [[detector]] with that number and its phase",
                    ));
                }
            }
            let quad = corners(src, &z.quad, &f("quad"), c.width, c.height)?;
            let len = *z.length_m.get_ref();
            if !(5.0..=300.0).contains(&len) {
                return Err(src.err(
                    z.length_m.span(),
                    &f("length_m"),
                    format!("{len} m is out of range"),
                    "use 5 to 300 m (the distance from the stop line to the zone's far edge)",
                ));
            }
            let loop_m = match &z.loop_m {
                None => None,
                Some(l) => {
                    let v = *l.get_ref();
                    if !(v >= 0.0 && v < len) {
                        return Err(src.err(
                            l.span(),
                            &f("loop_m"),
                            format!("a virtual loop {v} m from the stop line is outside the {len} m zone"),
                            "use a distance from 0 up to the zone's length_m",
                        ));
                    }
                    Some(v as f32)
                }
            };
            c.zones
                .push(ZoneConfig {
                    detector: det,
                    quad,
                    length_m: len as f32,
                    loop_m,
                })
                .map_err(|_| {
                    src.err(
                        zones.span(),
                        &format!("{prefix}zone"),
                        "too many zones",
                        format!("use at most {MAX_ZONES} zones per camera"),
                    )
                })?;
        }
        Ok(c)
    }
}

/// The site file's `camera` key as one table.
#[derive(Deserialize)]
struct OneCamera {
    camera: Spanned<CameraSection>,
}

/// The site file's `camera` key as an array of tables.
#[derive(Deserialize)]
struct ManyCameras {
    camera: Spanned<Vec<Spanned<CameraSection>>>,
}

/// Every camera of a site file (`raw`: its `camera` key as read, if any), validated against the
/// site. `[camera]` is one camera (errors name `camera.…`); `[[camera]]` are up to
/// [`MAX_CAMERAS`] (errors name `camera[i].…`).
pub fn cameras(src: Source, raw: Option<&toml::Value>, site: &SiteData) -> Result<Vec<CameraConfig>, ConfigError> {
    let example = "board/sites/nema8-4leg.toml";
    match raw {
        None => Ok(Vec::new()),
        Some(toml::Value::Table(_)) => {
            let one: OneCamera = toml::from_str(src.text).map_err(|e| src.toml(&e, example))?;
            Ok(vec![CameraConfig::from_section(
                src,
                one.camera.get_ref(),
                "camera.",
                site,
            )?])
        }
        Some(toml::Value::Array(_)) => {
            let many: ManyCameras = toml::from_str(src.text).map_err(|e| src.toml(&e, example))?;
            let list = many.camera.get_ref();
            if list.len() > MAX_CAMERAS {
                let at = list.get(MAX_CAMERAS).map_or(many.camera.span(), |c| c.span());
                return Err(src.err(
                    at,
                    "camera",
                    format!("{} cameras", list.len()),
                    format!("use at most {MAX_CAMERAS} [[camera]] tables (one per approach, or one overhead)"),
                ));
            }
            list.iter()
                .enumerate()
                .map(|(i, c)| CameraConfig::from_section(src, c.get_ref(), &format!("camera[{i}]."), site))
                .collect()
        }
        Some(_) => Err(ConfigError::whole(
            src.file,
            "camera",
            "`camera` is neither a table nor an array of tables",
            "write one `[camera]` table or up to four `[[camera]]` tables",
        )),
    }
}

/// The camera's source from `source` (or the older `device`) and `loop`, and the line it is on.
fn input(src: Source, sec: &CameraSection, prefix: &str, base: &Path) -> Result<(CameraInput, usize), ConfigError> {
    let field = format!("{prefix}source");
    let looping = sec.looping.as_ref().map(|l| (*l.get_ref(), l.span()));
    let (text, span) = match (&sec.source, &sec.device) {
        (Some(s), Some(d)) => return Err(src.err(
            d.span(),
            &format!("{prefix}device"),
            format!("both `source` and `device` are given (`source` is {})", s.get_ref()),
            "keep `source` alone (`device = \"/dev/videoN\"` is the older spelling of `source = \"v4l2:/dev/videoN\"`)",
        )),
        (Some(s), None) => (s.get_ref().clone(), s.span()),
        (None, Some(d)) => (format!("v4l2:{}", d.get_ref()), d.span()),
        (None, None) => ("v4l2:/dev/video0".to_string(), super::diag::NO_SPAN),
    };
    let line = src.line(span.clone());
    let fix = "write `source = \"v4l2:/dev/videoN\"` (a camera) or `source = \"file:CLIP.y4m\"` (a recorded clip, relative to the site file)";
    if let Some(dev) = text.strip_prefix("v4l2:") {
        if dev.is_empty() || dev.len() > DEVICE_LEN {
            return Err(src.err(
                span,
                &field,
                format!("`{text}`: the device path is empty or longer than {DEVICE_LEN} bytes"),
                fix,
            ));
        }
        if let Some((_, l)) = looping {
            return Err(src.err(
                l,
                &format!("{prefix}loop"),
                "`loop` applies to a file: source only",
                "remove `loop` from a v4l2: camera",
            ));
        }
        return Ok((CameraInput::V4l2(PathBuf::from(dev)), line));
    }
    if let Some(path) = text.strip_prefix("file:") {
        if path.is_empty() {
            return Err(src.err(span, &field, "`file:` names no clip", fix));
        }
        let looping = looping.is_some_and(|(l, _)| l);
        return Ok((
            CameraInput::File {
                path: base.join(path),
                looping,
            },
            line,
        ));
    }
    Err(src.err(span, &field, format!("`{text}` is not a camera source"), fix))
}

/// The four corners of a zone: each `[x, y]` inside the image, going round a convex quadrilateral.
fn corners(
    src: Source,
    q: &Spanned<Vec<Spanned<Vec<Spanned<f64>>>>>,
    field: &str,
    width: u32,
    height: u32,
) -> Result<[(f32, f32); 4], ConfigError> {
    let [a, b, c, d] = q.get_ref().as_slice() else {
        return Err(src.err(
            q.span(),
            field,
            format!("{} corners", q.get_ref().len()),
            format!("give four [x, y] corners: {CORNERS}"),
        ));
    };
    let mut out = [(0.0f32, 0.0f32); 4];
    for (k, (p, slot)) in [a, b, c, d].into_iter().zip(out.iter_mut()).enumerate() {
        let [x, y] = p.get_ref().as_slice() else {
            return Err(src.err(
                p.span(),
                field,
                format!("corner {k} has {} numbers", p.get_ref().len()),
                "write each corner as [x, y] in pixels",
            ));
        };
        let (x, y) = (*x.get_ref(), *y.get_ref());
        if !(x.is_finite() && y.is_finite()) || x < 0.0 || y < 0.0 || x >= f64::from(width) || y >= f64::from(height) {
            return Err(src.err(
                p.span(),
                field,
                format!("corner {k} ({x}, {y}) is outside the {width}x{height} image"),
                format!("use 0 <= x < {width} and 0 <= y < {height}, or correct the camera's width/height"),
            ));
        }
        *slot = (x as f32, y as f32);
    }
    match shape(out.map(|(x, y)| (f64::from(x), f64::from(y)))) {
        Shape::Convex => Ok(out),
        Shape::Crossed => Err(src.err(
            q.span(),
            field,
            "the quad crosses itself (two of its edges intersect)",
            format!("list the corners going round the lane: {CORNERS}"),
        )),
        Shape::Concave => Err(src.err(
            q.span(),
            field,
            "the quad is not convex (a corner points inwards, or three corners are in a line)",
            format!("give the lane's four corners ({CORNERS}); the zone must be a convex quadrilateral"),
        )),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Convex,
    Crossed,
    Concave,
}

/// A quadrilateral given by its corners in order: convex when every turn goes the same way (the
/// cross products of consecutive edges all have one sign, none zero); crossed (a bow tie) when two
/// opposite edges intersect; otherwise concave or degenerate.
fn shape(p: [(f64, f64); 4]) -> Shape {
    let at = |i: usize| p[i % 4];
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let turns = [0, 1, 2, 3].map(|i| cross(at(i), at(i + 1), at(i + 2)));
    if turns.iter().all(|t| *t > 0.0) || turns.iter().all(|t| *t < 0.0) {
        return Shape::Convex;
    }
    // Proper intersection of segments ab and cd.
    let crosses = |a, b, c, d| cross(a, b, c) * cross(a, b, d) < 0.0 && cross(c, d, a) * cross(c, d, b) < 0.0;
    if crosses(at(0), at(1), at(2), at(3)) || crosses(at(1), at(2), at(3), at(0)) {
        Shape::Crossed
    } else {
        Shape::Concave
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        "width = 64\nheight = 64\n[[zone]]\ndetector = 3\nquad = [[10, 60], [20, 60], [20, 4], [10, 4]]\n";

    fn bad(t: &str) -> ConfigError {
        CameraConfig::parse(t, "camera.toml").unwrap_err()
    }

    #[test]
    fn a_good_table_parses_with_defaults() {
        let c = CameraConfig::parse(GOOD, "camera.toml").unwrap();
        assert_eq!((c.width, c.height, c.fps, c.slots, c.stale_ms), (64, 64, 10, 4, 2000));
        assert_eq!(c.source, CameraInput::V4l2(PathBuf::from("/dev/video0")));
        assert_eq!((c.detector, c.source_line), (DetectorKind::Cpu, 0));
        assert_eq!(c.zones[0].detector, 3);
        assert_eq!(c.zones[0].quad[1], (20.0, 60.0));
        assert_eq!(c.zones[0].length_m, 80.0);
    }

    #[test]
    fn errors_name_line_field_and_fix() {
        let e = bad("width = 64\nheight = 64\n");
        assert_eq!(e.field, "zone", "{e}");
        let e = bad(&GOOD.replace(
            "[[10, 60], [20, 60], [20, 4], [10, 4]]",
            "[[10, 60], [20, 60], [20, 4]]",
        ));
        assert_eq!((e.line, e.field.as_str()), (5, "zone[0].quad"), "{e}");
        assert!(e.message.contains("3 corners") && e.fix.contains("four"), "{e}");
        let e = bad("width = 5\n[[zone]]\ndetector = 1\nquad = []\n");
        assert_eq!((e.line, e.field.as_str()), (1, "width"), "{e}");
        let e = bad(&GOOD.replace("detector = 3", "detector = 0"));
        assert_eq!((e.line, e.field.as_str()), (4, "zone[0].detector"), "{e}");
        let e = bad(&GOOD.replace("[[zone]]", "[[zone]]\nlenght_m = 3"));
        assert!(e.message.contains("lenght_m"), "{e}");
    }

    #[test]
    fn sources_detectors_and_models() {
        let c = CameraConfig::parse(
            &format!("source = \"file:clips/north.y4m\"\nloop = true\ndetector = \"npu\"\n{GOOD}"),
            "sites/a.toml",
        )
        .unwrap();
        assert_eq!(
            c.source,
            CameraInput::File {
                path: PathBuf::from("sites/clips/north.y4m"),
                looping: true
            }
        );
        assert_eq!((c.source_line, c.detector), (1, DetectorKind::Npu));
        assert_eq!(c.model, PathBuf::from("sites/yolov8n.rknn"));
        assert_eq!(c.source.to_string(), "file:sites/clips/north.y4m (loop)");
        let c = CameraConfig::parse(&format!("device = \"/dev/video2\"\n{GOOD}"), "a.toml").unwrap();
        assert_eq!(c.source, CameraInput::V4l2(PathBuf::from("/dev/video2")));
        let e = bad(&format!("source = \"rtsp://cam\"\n{GOOD}"));
        assert_eq!((e.line, e.field.as_str()), (1, "source"), "{e}");
        assert!(e.fix.contains("v4l2:") && e.fix.contains("file:"), "{e}");
        let e = bad(&format!("source = \"v4l2:/dev/video1\"\nloop = true\n{GOOD}"));
        assert_eq!((e.line, e.field.as_str()), (2, "loop"), "{e}");
        let e = bad(&format!(
            "source = \"v4l2:/dev/video1\"\ndevice = \"/dev/video1\"\n{GOOD}"
        ));
        assert_eq!((e.line, e.field.as_str()), (2, "device"), "{e}");
        let e = bad(&format!("detector = \"gpu\"\n{GOOD}"));
        assert_eq!((e.line, e.field.as_str()), (1, "detector"), "{e}");
        assert!(e.fix.contains("\"cpu\"") && e.fix.contains("\"npu\""), "{e}");
    }

    #[test]
    fn corners_outside_the_image_are_refused() {
        let e = bad(&GOOD.replace("[20, 60], [20, 4]", "[200, 60], [20, 4]"));
        assert_eq!((e.line, e.field.as_str()), (5, "zone[0].quad"), "{e}");
        assert!(
            e.message.contains("corner 1 (200, 60) is outside the 64x64 image"),
            "{e}"
        );
        let e = bad(&GOOD.replace("[10, 4]]", "[10, 64]]"));
        assert!(e.message.contains("corner 3"), "{e}");
    }

    #[test]
    fn a_self_crossing_quad_is_refused() {
        // Far right and far left swapped: a bow tie.
        let e = bad(&GOOD.replace(
            "[[10, 60], [20, 60], [20, 4], [10, 4]]",
            "[[10, 60], [20, 60], [10, 4], [20, 4]]",
        ));
        assert_eq!((e.line, e.field.as_str()), (5, "zone[0].quad"), "{e}");
        assert!(
            e.message.contains("crosses itself") && e.fix.contains("stop-line left"),
            "{e}"
        );
    }

    #[test]
    fn a_concave_or_flat_quad_is_refused() {
        // The far-right corner pushed inside the triangle of the other three.
        let e = bad(&GOOD.replace("[20, 4]", "[12, 50]"));
        assert!(e.message.contains("not convex"), "{e}");
        // Three corners in a line.
        let e = bad(&GOOD
            .replace("[20, 4]", "[20, 30]")
            .replace("[20, 60]", "[20, 50]")
            .replace("[10, 4]", "[20, 10]"));
        assert!(e.message.contains("not convex"), "{e}");
    }

    #[test]
    fn shapes() {
        let sq = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
        assert_eq!(shape(sq), Shape::Convex);
        assert_eq!(shape([sq[3], sq[2], sq[1], sq[0]]), Shape::Convex);
        assert_eq!(shape([sq[0], sq[1], sq[3], sq[2]]), Shape::Crossed);
        assert_eq!(shape([(0.0, 0.0), (4.0, 0.0), (1.0, 1.0), (0.0, 4.0)]), Shape::Concave);
    }
}
