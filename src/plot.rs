//! Timing diagrams: `greenwave plot --events FILE.csv --out FILE.svg|png [--from T --to T]`.
//!
//! Draws the ring/phase timeline an engineer reads to check a cycle at a glance — green, yellow,
//! red clearance per phase, walk and pedestrian clearance per crossing, detector presence,
//! preempt and flash — from the hi-res event log (the same file ATSPM ingests). Phases are rows
//! in NEMA order, so ring 1 (phases 1-4) sits above ring 2 (5-8) as on a ring-and-barrier diagram.
//! Drawing is done by `plotters` (SVG and PNG backends).
//!
//! A host tool, not part of the control path: it allocates freely. Text needs a TrueType font,
//! loaded at run time (DejaVu Sans from Debian's `fonts-dejavu-core`, or `GREENWAVE_FONT`). The
//! whole module (the [`timeline`](crate::plot::timeline) builder included: nothing else uses it)
//! is compiled only with the `plot` feature, on by default and left out of board builds; without
//! it `greenwave plot` exits 1 saying how to get a diagram (`src/main.rs`).
//!
//! Bounded: the log is read up to [`crate::limits::EVENT_LOG_MAX_BYTES`]; a diagram holds at most
//! [`MAX_ROWS`](crate::plot::MAX_ROWS) rows, [`MAX_SPAN_S`](crate::plot::MAX_SPAN_S) of time and
//! [`MAX_SPANS`](crate::plot::MAX_SPANS) bars, and a log beyond those is refused with a message
//! saying how to narrow it (`--from`/`--to`). The image is drawn into a
//! temporary file beside the output and renamed over it only when complete, so a failure never
//! leaves a partial diagram; a panic inside the drawing library is caught and reported as an error.

pub mod timeline;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use timeline::{Bound, Kind, Row, Timeline};

/// Options of `greenwave plot` (also its command-line arguments).
#[derive(Clone, Debug, clap::Args)]
pub struct PlotOptions {
    /// Event log to draw.
    #[arg(long, value_name = "FILE.csv")]
    pub events: PathBuf,
    /// Diagram to write; the extension picks the format.
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub out: PathBuf,
    /// Start of the window: `YYYY-MM-DD HH:MM:SS` or seconds from the log start.
    #[arg(long, value_name = "T", value_parser = parse_bound, allow_negative_numbers = true)]
    pub from: Option<Bound>,
    /// End of the window, as --from.
    #[arg(long, value_name = "T", value_parser = parse_bound, allow_negative_numbers = true)]
    pub to: Option<Bound>,
}

/// Rows of one diagram. A controller logs at most 16 phases, 16 crossings, 64 detectors (the
/// Indiana parameter range), 10 preempts and flash: 107 rows. Each row is 24 px, so 128 rows make a
/// 3,200 px tall image; the bitmap backend's pixel arithmetic overflows long before a log's 65,536
/// possible parameters would fit.
pub const MAX_ROWS: usize = 128;
/// Time window of one diagram, seconds: a day. The diagram is 1,600 px wide, so a day is already
/// 54 s per pixel — more time is unreadable, narrow it with `--from`/`--to`.
pub const MAX_SPAN_S: f64 = 86_400.0;
/// Bars (green, yellow, walk, detector on, ...) of one diagram. A busy intersection makes about
/// 60,000 in a day; an SVG bar is ~120 bytes, so this bound keeps an SVG under ~50 MB.
pub const MAX_SPANS: usize = 400_000;

const FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

fn load_font() -> Result<(), String> {
    let candidates: Vec<PathBuf> = std::env::var_os("GREENWAVE_FONT")
        .map(PathBuf::from)
        .into_iter()
        .chain(FONT_PATHS.iter().map(PathBuf::from))
        .collect();
    for p in &candidates {
        if let Ok(bytes) = crate::config::file::read_bytes(p, crate::limits::FONT_FILE_MAX_BYTES) {
            // plotters keeps registered fonts for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            return plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| format!("{} is not a usable TrueType font", p.display()));
        }
    }
    Err(
        "no TrueType font found for the diagram's text (fix: `apt-get install fonts-dejavu-core`, or set \
         GREENWAVE_FONT=/path/to/font.ttf)"
            .into(),
    )
}

fn color(k: Kind) -> RGBColor {
    match k {
        Kind::Green => RGBColor(0, 150, 60),
        Kind::Permissive => RGBColor(250, 230, 140),
        Kind::Yellow => RGBColor(245, 195, 0),
        Kind::RedClear => RGBColor(210, 30, 30),
        Kind::Walk => RGBColor(240, 240, 240),
        Kind::PedClear => RGBColor(255, 140, 0),
        Kind::Detector => RGBColor(70, 70, 90),
        Kind::Preempt => RGBColor(140, 60, 200),
        Kind::Flash => RGBColor(255, 90, 0),
    }
}

fn clock_label(unix_ms: i64) -> String {
    let s = unix_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Reads the log and writes the diagram; returns a one-line summary.
pub fn plot(opts: &PlotOptions) -> Result<String, String> {
    let text = crate::config::file::read_text(&opts.events, crate::limits::EVENT_LOG_MAX_BYTES)
        .map_err(|e| format!("cannot read event log {}: {e}", opts.events.display()))?;
    let tl = timeline::parse(&text, opts.from, opts.to).map_err(|e| format!("{}: {e}", opts.events.display()))?;
    drop(text);
    check_bounds(&tl).map_err(|e| format!("{}: {e}", opts.events.display()))?;
    let ext = opts
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext != "svg" && ext != "png" {
        return Err(format!("output {}: use a .svg or .png file name", opts.out.display()));
    }
    load_font()?;
    let size = (1600u32, 110 + 24 * tl.rows.len().max(1) as u32);
    // Drawn beside the output (same file system, so the rename is atomic) under a name with the
    // same extension (the bitmap backend picks the format from it).
    let tmp = temp_path(&opts.out, &ext);
    let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match ext.as_str() {
        "svg" => draw(SVGBackend::new(&tmp, size).into_drawing_area(), &tl),
        _ => draw(BitMapBackend::new(&tmp, size).into_drawing_area(), &tl),
    }))
    .unwrap_or_else(|_| Err("the drawing library failed (panic); no diagram written".into()))
    .and_then(|()| std::fs::rename(&tmp, &opts.out).map_err(|e| e.to_string()));
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot draw {}: {e}", opts.out.display()));
    }
    Ok(format!(
        "{}: {} rows, {} spans, {} events, {:.0} s from {}",
        opts.out.display(),
        tl.rows.len(),
        tl.spans.len(),
        tl.events_in_window,
        tl.length_s,
        clock_label(tl.start_unix_ms)
    ))
}

/// Refuses a timeline too large for one diagram ([`MAX_ROWS`], [`MAX_SPAN_S`], [`MAX_SPANS`]).
pub fn check_bounds(tl: &Timeline) -> Result<(), String> {
    if tl.rows.len() > MAX_ROWS {
        return Err(format!(
            "{} diagram rows (phases, crossings, detectors, preempts): at most {MAX_ROWS} fit one diagram; \
             is this a hi-res event log of one intersection?",
            tl.rows.len()
        ));
    }
    if tl.length_s > MAX_SPAN_S {
        return Err(format!(
            "the window is {:.0} s long: at most {MAX_SPAN_S:.0} s (a day) fit one diagram; choose a window \
             with --from and --to",
            tl.length_s
        ));
    }
    if tl.spans.len() > MAX_SPANS {
        return Err(format!(
            "{} bars: at most {MAX_SPANS} fit one diagram; choose a shorter window with --from and --to",
            tl.spans.len()
        ));
    }
    Ok(())
}

/// `DIR/.NAME.partial-PID.EXT` for `DIR/NAME`.
fn temp_path(out: &Path, ext: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!(".{name}.partial-{}.{ext}", std::process::id()))
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, plotters::coord::Shift>, tl: &Timeline) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let n = tl.rows.len() as i32;
    // Row 0 at the top: plotters' y grows upwards.
    let y_of = |row: &Row| n - 1 - tl.rows.iter().position(|r| r == row).unwrap_or(0) as i32;
    let t0 = tl.start_unix_ms;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("greenwave timing diagram, {} + {:.0} s", clock_label(t0), tl.length_s),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(80)
        // 12 % more time axis on the right keeps the legend clear of the bars.
        .build_cartesian_2d(0.0..tl.length_s * 1.12, (0..n).into_segmented())
        .map_err(e)?;
    let x_fmt = |x: &f64| clock_label(t0 + (x * 1000.0) as i64);
    let y_fmt = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => tl
            .rows
            .get((n - 1 - i) as usize)
            .map(|r| r.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_labels(16)
        .x_label_formatter(&x_fmt)
        .y_labels(n as usize)
        .y_label_formatter(&y_fmt)
        .x_desc("time of day")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(e)?;
    for kind in Kind::ALL {
        if !tl.spans.iter().any(|s| s.kind == kind) {
            continue;
        }
        let c = color(kind);
        let thin = matches!(kind, Kind::Detector);
        chart
            .draw_series(tl.spans.iter().filter(|s| s.kind == kind).map(|s| {
                let y = y_of(&s.row);
                let mut r = Rectangle::new(
                    [
                        (s.start_s, SegmentValue::Exact(y)),
                        (s.end_s, SegmentValue::Exact(y + 1)),
                    ],
                    c.filled(),
                );
                r.set_margin(if thin { 7 } else { 3 }, if thin { 7 } else { 3 }, 0, 0);
                r
            }))
            .map_err(e)?
            .label(kind.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        if kind == Kind::Walk {
            // A white walk bar needs an outline to be seen.
            chart
                .draw_series(tl.spans.iter().filter(|s| s.kind == kind).map(|s| {
                    let y = y_of(&s.row);
                    let mut r = Rectangle::new(
                        [
                            (s.start_s, SegmentValue::Exact(y)),
                            (s.end_s, SegmentValue::Exact(y + 1)),
                        ],
                        BLACK.stroke_width(1),
                    );
                    r.set_margin(3, 3, 0, 0);
                    r
                }))
                .map_err(e)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

/// A `--from`/`--to` value for the argument parser.
fn parse_bound(v: &str) -> Result<Bound, String> {
    Bound::parse(v).ok_or_else(|| "want `YYYY-MM-DD HH:MM:SS` or seconds from the log start".into())
}

/// Convenience for tools: plot `events` into `out` over `[from_s, to_s)` seconds from the start.
pub fn plot_window(events: &Path, out: &Path, from_s: f64, to_s: f64) -> Result<String, String> {
    plot(&PlotOptions {
        events: events.to_path_buf(),
        out: out.to_path_buf(),
        from: Some(Bound::Offset(from_s)),
        to: Some(Bound::Offset(to_s)),
    })
}
