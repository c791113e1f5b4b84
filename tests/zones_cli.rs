//! Zone setup from the command line: `greenwave zones` draws a camera's zones over a frame of a
//! recorded clip as a PNG (decoded here, pixel by pixel), and `greenwave check` refuses each kind of
//! bad zone — a corner outside the image, a concave quad, a self-crossing quad, a zone feeding a
//! detector the site does not have — naming the file, line, field and fix.

use greenwave::camera::overlay::{RGB_OUTLINE, RGB_STOP_LINE, RGB_TEXT};
use greenwave::camera::y4m::{Chroma, FrameRate, Y4mWriter};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");
const W: u32 = 320;
const H: u32 = 240;
/// Two lanes: zone 1 feeds detector 1, zone 2 detector 2 (both in the site file).
const CAMERA: &str = "
[camera]
width = 320
height = 240

[[camera.zone]]
detector = 1
quad = [[40, 220], [120, 220], [110, 60], [60, 60]]

[[camera.zone]]
detector = 2
quad = [[180, 220], [280, 220], [250, 60], [200, 60]]
";

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("greenwave-zones-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn site(dir: &Path, camera: &str) -> PathBuf {
    let base = std::fs::read_to_string("board/sites/nema8-4leg.toml").unwrap();
    let p = dir.join("site.toml");
    std::fs::write(&p, format!("{base}{camera}")).unwrap();
    p
}

fn clip(dir: &Path, w: u32, h: u32) -> PathBuf {
    let p = dir.join("clip.y4m");
    let mut y = Y4mWriter::new(
        std::fs::File::create(&p).unwrap(),
        w,
        h,
        FrameRate { num: 10, den: 1 },
        Chroma::C420,
    )
    .unwrap();
    // Frame 0 (the one drawn on) is a flat 100 grey; later frames differ.
    y.write_frame(&vec![100; (w * h) as usize]).unwrap();
    y.write_frame(&vec![30; (w * h) as usize]).unwrap();
    y.flush().unwrap();
    p
}

fn run(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn zones_are_drawn_over_the_first_frame_of_a_clip() {
    let dir = temp("draw");
    let site = site(&dir, CAMERA);
    let clip = clip(&dir, W, H);
    let out = dir.join("zones.png");
    let (ok, stdout, stderr) = run(&[
        "zones",
        "--site",
        s(&site),
        "--camera",
        "1",
        "--frame",
        s(&clip),
        "--out",
        s(&out),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("2 zones"), "{stdout}");

    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut px = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut px).unwrap();
    assert_eq!((info.width, info.height), (W, H));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let at = |x: u32, y: u32| -> [u8; 3] {
        let i = ((y * W + x) * 3) as usize;
        [px[i], px[i + 1], px[i + 2]]
    };
    // Far edges (corners 3 → 4) in the outline colour, stop lines (corners 1 → 2) in red.
    for x in 60..=110 {
        assert_eq!(at(x, 60), RGB_OUTLINE, "zone 1 far edge at x {x}");
    }
    for x in 200..=250 {
        assert_eq!(at(x, 60), RGB_OUTLINE, "zone 2 far edge at x {x}");
    }
    for x in 40..=120 {
        assert_eq!(at(x, 220), RGB_STOP_LINE, "zone 1 stop line at x {x}");
    }
    for x in 180..=280 {
        assert_eq!(at(x, 220), RGB_STOP_LINE, "zone 2 stop line at x {x}");
    }
    // The left side edge of zone 1 at mid-height: (40,220) → (60,60), x = 50 at y = 140.
    assert!((48..=52).any(|x| at(x, 140) == RGB_OUTLINE), "zone 1 left edge");
    // Labels at the zones' centres, and the frame itself (grey 100) elsewhere.
    let label = |cx: u32, cy: u32| (cx - 25..cx + 25).any(|x| (cy - 8..cy + 8).any(|y| at(x, y) == RGB_TEXT));
    assert!(label(82, 140) && label(227, 140), "zone labels");
    assert_eq!(at(5, 5), [100, 100, 100], "the clip's first frame in grey");
    assert_eq!(at(150, 140), [100, 100, 100], "between the zones");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zones_refuses_what_it_cannot_draw_with_a_clear_error() {
    let dir = temp("errors");
    let site = site(&dir, CAMERA);
    let clip = clip(&dir, W, H);
    let out = dir.join("z.png");
    let base = ["zones", "--site", s(&site), "--out", s(&out)];
    let with = |more: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(more);
        run(&a)
    };
    let (ok, _, e) = with(&["--camera", "2", "--frame", s(&clip)]);
    assert!(!ok && e.contains("no camera 2"), "{e}");
    let (ok, _, e) = with(&["--camera", "1"]);
    assert!(!ok && e.contains("--frame") && e.contains("--device"), "{e}");
    let (ok, _, e) = with(&["--camera", "1", "--frame", s(&clip), "--device", "/dev/video0"]);
    assert!(!ok && e.contains("cannot be used with"), "{e}");
    let small = clip_small(&dir);
    let (ok, _, e) = with(&["--camera", "1", "--frame", s(&small)]);
    assert!(
        !ok && e.contains("clip is 160x120 but the camera is configured as 320x240"),
        "{e}"
    );
    #[cfg(not(feature = "v4l2"))]
    {
        let (ok, _, e) = with(&["--camera", "1", "--device", "/dev/video0"]);
        assert!(!ok && e.contains("--features v4l2"), "{e}");
    }
    assert!(!out.exists(), "no picture is written on an error");
    let _ = std::fs::remove_dir_all(&dir);
}

fn clip_small(dir: &Path) -> PathBuf {
    let d = dir.join("small");
    std::fs::create_dir_all(&d).unwrap();
    clip(&d, 160, 120)
}

#[test]
fn check_refuses_bad_zones_with_file_line_field_and_fix() {
    let dir = temp("check");
    let good = "quad = [[40, 220], [120, 220], [110, 60], [60, 60]]";
    let cases = [
        (
            "quad = [[40, 220], [120, 240], [110, 60], [60, 60]]",
            "`camera.zone[0].quad`: corner 1 (120, 240) is outside the 320x240 image",
            "use 0 <= x < 320 and 0 <= y < 240",
        ),
        (
            "quad = [[40, 220], [120, 220], [60, 60], [110, 60]]",
            "`camera.zone[0].quad`: the quad crosses itself",
            "list the corners going round the lane",
        ),
        (
            "quad = [[40, 220], [120, 220], [80, 180], [60, 60]]",
            "`camera.zone[0].quad`: the quad is not convex",
            "must be a convex quadrilateral",
        ),
    ];
    let line = CAMERA.lines().position(|l| l == good).unwrap();
    for (quad, message, fix) in cases {
        let bad = site(&dir, &CAMERA.replacen(good, quad, 1));
        let (ok, _, e) = run(&["check", "--site", s(&bad)]);
        assert!(!ok, "{quad}: accepted");
        let base_lines = std::fs::read_to_string("board/sites/nema8-4leg.toml")
            .unwrap()
            .lines()
            .count();
        let at = format!("{} line {}", s(&bad), base_lines + line + 1);
        assert!(e.contains(&at), "{quad}: {e} (expected {at})");
        assert!(
            e.contains(message) && e.contains("(fix: ") && e.contains(fix),
            "{quad}: {e}"
        );
    }
    // A zone feeding a detector the site does not have (the site numbers 1 to 12).
    let bad = site(&dir, &CAMERA.replacen("detector = 2", "detector = 13", 1));
    let (ok, _, e) = run(&["check", "--site", s(&bad)]);
    assert!(!ok);
    assert!(
        e.contains("`camera.zone[1].detector`: zone 1 feeds detector 13, which the site has no [[detector]] for")
            && e.contains("(fix: name a configured detector"),
        "{e}"
    );
    // The good camera passes and is reported.
    let good = site(&dir, CAMERA);
    let (ok, out, e) = run(&["check", "--site", s(&good)]);
    assert!(ok, "{e}");
    assert!(
        out.contains("camera: /dev/video0 320x240 at 10 fps, 2 zones, cpu detector"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
