//! Bad site files give one clear error naming file, line and field, with a fix.

use greenwave::config::Site;

const GOOD: &str = include_str!("../board/sites/nema8-4leg.toml");

fn err(text: &str) -> String {
    match Site::parse(text, "site.toml") {
        Ok(_) => panic!("accepted a bad file"),
        Err(e) => e.to_string(),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).expect("needle")].lines().count() + usize::from(!text.is_empty())
}

#[test]
fn good_file_is_accepted() {
    let s = Site::parse(GOOD, "site.toml").unwrap();
    assert_eq!(s.phases().count(), 8);
    assert_eq!(s.ped_phases().len(), 4);
}

#[test]
fn missing_field() {
    let bad = GOOD.replacen("min_green_s = 10\n", "", 1);
    let e = err(&bad);
    assert!(e.contains("site.toml line"), "{e}");
    assert!(e.contains("min_green_s"), "{e}");
    assert!(e.contains("fix:"), "{e}");
}

#[test]
fn unknown_phase_in_detector() {
    let bad = GOOD.replacen("phase = 1\n", "phase = 9\n", 1);
    let e = err(&bad);
    assert!(e.contains("phase"), "{e}");
    assert!(e.contains(&format!("line {}", line_of(&bad, "phase = 9"))), "{e}");
}

#[test]
fn conflicting_barrier_layout() {
    // Ring 1 runs 1,2,3,4 but the barriers put 1 and 4 on one side, 2 and 3 on the other: the ring
    // would have to cross the barrier twice per cycle.
    let bad = GOOD.replacen(
        "barriers = [[1, 2, 5, 6], [3, 4, 7, 8]]",
        "barriers = [[1, 4, 5, 6], [2, 3, 7, 8]]",
        1,
    );
    let e = err(&bad);
    assert!(e.contains("barrier"), "{e}");
    assert!(e.contains(&format!("line {}", line_of(&bad, "rings ="))), "{e}");
    // A phase on both sides of a barrier.
    let bad = GOOD.replacen(
        "barriers = [[1, 2, 5, 6], [3, 4, 7, 8]]",
        "barriers = [[1, 2, 5, 6], [2, 3, 4, 7, 8]]",
        1,
    );
    let e = err(&bad);
    assert!(e.contains("barrier"), "{e}");
}

#[test]
fn negative_time() {
    let bad = GOOD.replacen("passage_s = 3.0", "passage_s = -3.0", 1);
    let e = err(&bad);
    assert!(e.contains("passage_s"), "{e}");
    assert!(
        e.contains(&format!("line {}", line_of(&bad, "passage_s = -3.0"))),
        "{e}"
    );
}

#[test]
fn yellow_below_three_seconds() {
    let bad = GOOD.replacen(
        "design_volume_vph = 510\n",
        "design_volume_vph = 510\nyellow_s = 2.5\n",
        1,
    );
    let e = err(&bad);
    assert!(e.contains("yellow_s"), "{e}");
    assert!(e.contains("3"), "{e}");
}

#[test]
fn walk_below_mutcd_minimum() {
    let bad = GOOD.replacen("walk_s = 7\n", "walk_s = 4\n", 1);
    let e = err(&bad);
    assert!(e.contains("walk_s"), "{e}");
}

#[test]
fn unknown_field_and_duplicate_phase() {
    let e = err(&GOOD.replacen("passage_s = 3.0", "pasage_s = 3.0", 1));
    assert!(e.contains("pasage_s"), "{e}");
    let e = err(&GOOD.replacen("number = 3\n", "number = 2\n", 1));
    assert!(e.contains("number") || e.contains("phase"), "{e}");
}

#[test]
fn load_reports_missing_file() {
    let e = Site::load(std::path::Path::new("no/such/site.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no/such/site.toml") && e.contains("cannot read"), "{e}");
}

#[test]
fn camera_and_console_are_validated_with_the_site() {
    use greenwave::config::SiteConfig;
    let camera = "\n[camera]\nwidth = 320\nheight = 240\n\n[[camera.zone]]\ndetector = 12\nquad = [[10, 230], [40, 230], [40, 20], [10, 20]]\n";
    let cfg = SiteConfig::parse(&format!("{GOOD}{camera}"), "site.toml").unwrap();
    assert_eq!(cfg.cameras[0].zones[0].detector, 12);
    assert_eq!(cfg.console.pin, None);
    let bad = format!("{GOOD}{}", camera.replace("detector = 12", "detector = 20"));
    let e = SiteConfig::parse(&bad, "site.toml").unwrap_err();
    assert_eq!(e.field, "camera.zone[0].detector", "{e}");
    assert_eq!(e.line, line_of(&bad, "detector = 20"), "{e}");
    assert!(e.message.contains("no [[detector]]") && !e.fix.is_empty(), "{e}");
    // `Site::parse` is the same validation: a site with a bad camera table is not a valid site.
    assert_eq!(Site::parse(&bad, "site.toml").unwrap_err(), e);
    let bad = format!("{GOOD}\n[console]\npin_hash = \"sha256$1$00$00\"\n");
    let e = SiteConfig::parse(&bad, "site.toml").unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.line),
        ("console.pin_hash", line_of(&bad, "pin_hash")),
        "{e}"
    );
}

#[test]
fn up_to_four_camera_tables_each_with_its_source() {
    use greenwave::config::camera::{CameraInput, DetectorKind};
    use greenwave::config::SiteConfig;
    let table = |src: &str, det: u8| {
        format!(
            "\n[[camera]]\nsource = \"{src}\"\nwidth = 320\nheight = 240\ndetector = \"npu\"\n\n[[camera.zone]]\ndetector = {det}\nquad = [[10, 230], [40, 230], [40, 20], [10, 20]]\n"
        )
    };
    let two = format!("{GOOD}{}{}", table("file:clips/n.y4m", 1), table("v4l2:/dev/video3", 2));
    let cfg = SiteConfig::parse(&two, "sites/x.toml").unwrap();
    assert_eq!(cfg.cameras.len(), 2);
    assert_eq!(
        cfg.cameras[0].source,
        CameraInput::File {
            path: "sites/clips/n.y4m".into(),
            looping: false
        },
        "a clip is found beside the site file"
    );
    assert_eq!(cfg.cameras[1].source, CameraInput::V4l2("/dev/video3".into()));
    assert_eq!(cfg.cameras[1].detector, DetectorKind::Npu);
    assert_eq!(cfg.cameras[1].source_line, line_of(&two, "source = \"v4l2"));
    // An error in the second table names it and its line.
    let bad = format!("{GOOD}{}{}", table("file:a.y4m", 1), table("file:b.y4m", 20));
    let e = SiteConfig::parse(&bad, "site.toml").unwrap_err();
    assert_eq!(e.field, "camera[1].zone[0].detector", "{e}");
    assert_eq!(e.line, line_of(&bad, "detector = 20"), "{e}");
    let bad = format!("{GOOD}{}", table("http://cam/1", 1));
    let e = SiteConfig::parse(&bad, "site.toml").unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.line),
        ("camera[0].source", line_of(&bad, "source = \"http")),
        "{e}"
    );
    // Five cameras: the fifth table is refused.
    let five: String = (1..=5).map(|d| table("file:c.y4m", d)).collect();
    let bad = format!("{GOOD}{five}");
    let e = SiteConfig::parse(&bad, "site.toml").unwrap_err();
    assert_eq!(e.field, "camera", "{e}");
    assert!(e.message.contains("5 cameras") && e.fix.contains("at most 4"), "{e}");
    // An unknown key in a camera table keeps its line.
    let bad = format!("{GOOD}{}", table("file:c.y4m", 1).replace("width = 320", "widht = 320"));
    let e = SiteConfig::parse(&bad, "site.toml").unwrap_err();
    assert!(e.message.contains("widht"), "{e}");
    assert_eq!(e.line, line_of(&bad, "widht"), "{e}");
}

#[test]
fn time_zone_must_be_an_iana_zone() {
    let ok = GOOD.replacen(
        "flash = \"red\"\n",
        "flash = \"red\"\ntime_zone = \"America/Chicago\"\nevent_time = \"utc\"\n",
        1,
    );
    let s = Site::parse(&ok, "site.toml").unwrap();
    assert_eq!(s.time_zone.as_str(), "America/Chicago");
    assert!(s.event_time_utc);
    let bad = GOOD.replacen(
        "flash = \"red\"\n",
        "flash = \"red\"\ntime_zone = \"America/Chikago\"\n",
        1,
    );
    let e = err(&bad);
    assert!(e.contains("site.time_zone"), "{e}");
    assert!(e.contains("America/Chikago"), "{e}");
    assert!(e.contains(&format!("line {}", line_of(&bad, "time_zone ="))), "{e}");
    assert!(e.contains("fix:"), "{e}");
    let bad = GOOD.replacen("flash = \"red\"\n", "flash = \"red\"\nevent_time = \"gps\"\n", 1);
    assert!(err(&bad).contains("site.event_time"));
}

#[test]
fn dynamic_max_needs_a_limit_above_max_green_and_a_step_that_fits() {
    let with = |extra: &str| GOOD.replacen("max_green_s = 45\n", &format!("max_green_s = 45\n{extra}"), 1);
    let ok = Site::parse(&with("dynamic_max_s = 60\ndynamic_step_s = 5\n"), "site.toml").unwrap();
    let ph = ok
        .phases()
        .find(|ph| ph.dynamic_step_ms > 0)
        .expect("a phase with dynamic max");
    assert_eq!(
        (ph.max_green_ms, ph.dynamic_max_ms, ph.dynamic_step_ms),
        (45_000, 60_000, 5_000)
    );
    // Phases without it keep their max green as the limit and no step.
    assert!(ok
        .phases()
        .filter(|p| p.id != ph.id)
        .all(|p| p.dynamic_step_ms == 0 && p.dynamic_max_ms == p.max_green_ms));
    let e = err(&with("dynamic_max_s = 40\ndynamic_step_s = 5\n"));
    assert!(e.contains("dynamic_max_s") && e.contains("not above max green"), "{e}");
    let e = err(&with("dynamic_max_s = 50\ndynamic_step_s = 10\n"));
    assert!(e.contains("dynamic_step_s") && e.contains("fix:"), "{e}");
    let e = err(&with("dynamic_step_s = 5\n"));
    assert!(e.contains("dynamic_step_s") && e.contains("both"), "{e}");
    let e = err(&with("dynamic_max_s = 60\n"));
    assert!(e.contains("dynamic_max_s") && e.contains("both"), "{e}");
}

#[test]
fn ped_clearance_placement_is_green_or_buffer() {
    let with = |v: &str| GOOD.replacen("[site]\n", &format!("[site]\nped_clearance = \"{v}\"\n"), 1);
    let green = Site::parse(GOOD, "site.toml").unwrap();
    let buffer = Site::parse(&with("buffer"), "site.toml").unwrap();
    for (g, b) in green.phases().zip(buffer.phases()) {
        if let (Some(pg), Some(pb)) = (g.ped, b.ped) {
            assert_eq!(pg.change_ms, pg.clearance_ms, "default: all of it in the green");
            assert_eq!(
                pb.clearance_ms, pg.clearance_ms,
                "the clearance time itself never changes"
            );
            assert!(pb.change_ms < pb.clearance_ms);
            assert!(pb.change_ms + b.yellow_ms + b.red_clear_ms >= pb.clearance_ms);
        }
    }
    let e = err(&with("yellow"));
    assert!(e.contains("site.ped_clearance") && e.contains("fix:"), "{e}");
}
