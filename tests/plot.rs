//! Timing diagram from a real controller run: the SVG has one bar per interval the log holds, the
//! rows and legend are labelled, and the PNG is a valid image of the expected size.

#[path = "support/sim_events.rs"]
mod sim_events;

use greenwave::events::csv::{write_row, WallClock, HEADER};
use greenwave::plot::{plot, timeline, PlotOptions};

#[test]
fn svg_and_png_from_a_simulated_hour() {
    let events = sim_events::sim_events(900);
    let mut csv = format!("{HEADER}\n");
    let clock = WallClock {
        unix_ms_at_zero: 1_767_247_200_000,
    };
    for ev in &events {
        write_row(&mut csv, clock, 1, ev).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("gw-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("events.csv");
    std::fs::write(&log, &csv).unwrap();

    let tl = timeline::parse(
        &csv,
        Some(timeline::Bound::Offset(300.0)),
        Some(timeline::Bound::Offset(500.0)),
    )
    .unwrap();
    let greens = tl.spans.iter().filter(|s| s.kind == timeline::Kind::Green).count();
    assert!(greens >= 8, "only {greens} greens in 200 s");

    let opts = |out: &str| PlotOptions {
        events: log.clone(),
        out: dir.join(out),
        from: Some(timeline::Bound::Offset(300.0)),
        to: Some(timeline::Bound::Offset(500.0)),
    };
    let summary = plot(&opts("d.svg")).unwrap();
    println!("{summary}");
    let svg = std::fs::read_to_string(dir.join("d.svg")).unwrap();
    // Green bars are filled with the green colour; there is one per green span.
    let green_fill = "fill=\"#00963C\"";
    assert_eq!(
        svg.matches(green_fill).count(),
        greens + 1,
        "one rect per green span plus the legend swatch"
    );
    for label in [
        "phase 2",
        "phase 6",
        "ped 4",
        "det 1",
        "red clearance",
        "ped clearance",
        "detector on",
    ] {
        assert!(svg.contains(&format!("\n{label}\n</text>")), "label `{label}` missing");
    }

    plot(&opts("d.png")).unwrap();
    let png = std::fs::read(dir.join("d.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 1600);

    let bad = plot(&opts("d.gif")).unwrap_err();
    assert!(bad.contains(".svg or .png"), "{bad}");
    let _ = std::fs::remove_dir_all(&dir);
}
