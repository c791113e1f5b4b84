//! Board-file parsing: lines on several chips, line-exact errors, the `[mmu]` card section.

mod parse {
    use super::super::*;

    const MINI: &str = r#"
[board]
name = "test"
chips = [{ path = "/dev/gpiochip0", driver = "cdev" }, { path = "/dev/gpiochip1", driver = "cdev" }]
active_low = true
flash_transfer = "1:15"

[[head]]
phase = 2
red = 1
yellow = 2
green = "1:3"

[[ped]]
phase = 2
walk = 4
dont_walk = 5

[[input]]
kind = "ped"
phase = 2
line = 6

[[input]]
kind = "preempt"
number = 1
line = 7
"#;

    #[test]
    fn a_board_without_a_flash_transfer_relay_is_refused() {
        let text = MINI.replace("flash_transfer = \"1:15\"\n", "");
        let e = Board::parse(&text, "b.toml").unwrap_err().to_string();
        assert!(
            e.contains("board.flash_transfer") && e.contains("no flash-transfer relay"),
            "{e}"
        );
    }

    #[test]
    fn one_chip_listed_twice_is_refused_however_spelled() {
        for second in ["/dev/gpiochip0", "/dev//gpiochip0", "/dev/../dev/./gpiochip0"] {
            let text = MINI.replace("/dev/gpiochip1", second);
            let e = Board::parse(&text, "b.toml").unwrap_err().to_string();
            assert!(e.contains("board.chips") && e.contains("again"), "{second}: {e}");
        }
    }

    #[test]
    fn two_paths_to_one_device_are_refused() {
        // A symlink to an existing file stands in for /dev/gpiochipN (absent on a host).
        let dir = std::env::temp_dir().join(format!("greenwave-board-id-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let (real, link) = (dir.join("gpiochip0"), dir.join("gpiochip-header"));
        std::fs::write(&real, b"").expect("file");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let text = MINI
            .replace("/dev/gpiochip0", &real.display().to_string())
            .replace("/dev/gpiochip1", &link.display().to_string());
        let path = dir.join("b.toml");
        std::fs::write(&path, text).expect("board file");
        let e = Board::load(&path).unwrap_err().to_string();
        assert!(e.contains("are the same device"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// One line rule for every file (`config::diag`): an error whose span starts a line is on that
    /// line, also the empty span the TOML parser gives for a mistake at the first byte of the file.
    #[test]
    fn an_error_at_the_start_of_a_line_is_on_that_line() {
        let e = Board::parse("=1\n[board]\n", "b.toml").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        assert!(e.to_string().starts_with("b.toml line 1:"), "{e}");
        let e = Board::parse(&format!("{MINI}=1\n"), "b.toml").unwrap_err();
        assert_eq!(e.line, MINI.lines().count() + 1, "{e}");
        // The same rule as the site file's.
        let s = crate::config::Site::parse("=1\n", "s.toml").unwrap_err();
        assert_eq!(s.line, 1, "{s}");
    }

    #[test]
    fn parses_lines_on_several_chips() {
        let b = Board::parse(MINI, "b.toml").unwrap();
        let h = b.heads[1].unwrap();
        assert_eq!(h.green, LineRef { chip: 1, offset: 3 });
        assert_eq!(b.flash_transfer, Some(LineRef { chip: 1, offset: 15 }));
        assert_eq!(b.inputs.len(), 2);
        assert_eq!(b.inputs[1].kind, InputKind::Preempt(1));
        assert_eq!(b.debounce_ms, 30);
        assert_eq!(b.snapshot_budget_mib, 16, "the snapshot budget defaults to 16 MiB");
    }

    #[test]
    fn the_snapshot_budget_is_set_and_range_checked() {
        let with = |v: &str| {
            MINI.replace(
                "active_low = true",
                &format!("active_low = true\nsnapshot_budget_mib = {v}"),
            )
        };
        assert_eq!(Board::parse(&with("64"), "b.toml").unwrap().snapshot_budget_mib, 64);
        for bad in ["0", "5000", "-1"] {
            let e = Board::parse(&with(bad), "b.toml").unwrap_err().to_string();
            assert!(
                e.contains("b.toml line 6") && e.contains("board.snapshot_budget_mib") && e.contains("1 to 4096"),
                "{e}"
            );
        }
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = Board::parse(&MINI.replace("walk = 4", "walk = 2"), "b.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("b.toml line 16") && e.contains("ped.walk") && e.contains("used twice"),
            "{e}"
        );
        let e = Board::parse(&MINI.replace("green = \"1:3\"", "green = \"5:3\""), "b.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("head.green") && e.contains("chip 5"), "{e}");
        let e = Board::parse(&MINI.replace("red = 1", "red = 99"), "b.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("head.red") && e.contains("out of range"), "{e}");
        let e = Board::parse(&MINI.replace("kind = \"ped\"", "kind = \"bell\""), "b.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("input.kind"), "{e}");
        let e = Board::parse(&MINI.replace("driver = \"cdev\" },", "driver = \"sysfs\" },"), "b.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("board.chips.driver"), "{e}");
    }
}

mod card {
    use super::super::*;

    const CARD: &str = r#"
[board]
name = "card"
chips = [{ path = "/dev/gpiochip0", driver = "cdev" }]
flash_transfer = 4

[mmu]
permitted = [[1, 5], [2, 6]]
fya = [[1, 2]]
min_yellow_s = { 1 = 3.0, 2 = 3.3 }
min_red_clear_s = { 1 = 1.0, 2 = 1.9 }
"#;

    fn err(text: &str) -> BoardError {
        Board::parse(text, "card.toml").unwrap_err()
    }

    #[test]
    fn card_parses_symmetric() {
        let b = Board::parse(CARD, "card.toml").unwrap();
        let c = b.mmu.unwrap();
        let p = |n| PhaseId::new(n).unwrap();
        assert!(c.permits(p(5), p(1)) && c.permits(p(2), p(6)) && !c.permits(p(1), p(2)));
        assert_eq!(c.fya(p(1)), Some(p(2)));
        assert_eq!(c.min_yellow_ms(p(2)), 3_300);
        assert_eq!(c.min_red_clear_ms(p(1)), 1_000);
        assert_eq!(b.mmu_line, 7);
    }

    #[test]
    fn card_errors_name_line_and_field() {
        let e = err(&CARD.replace("[[1, 5], [2, 6]]", "[[1, 5],\n  [5, 1]]"));
        assert_eq!((e.line, e.field.as_str()), (9, "mmu.permitted"), "{e}");
        assert!(e.message.contains("channels 5+1 are listed twice"), "{e}");
        let e = err(&CARD.replace("[[1, 5], [2, 6]]", "[[3, 3]]"));
        assert_eq!((e.line, e.field.as_str()), (8, "mmu.permitted"), "{e}");
        assert!(e.message.contains("channel 3 is paired with itself"), "{e}");
        let e = err(&CARD.replace("[[1, 5], [2, 6]]", "[[1, 9]]"));
        assert_eq!((e.line, e.field.as_str()), (8, "mmu.permitted"), "{e}");
        assert!(e.message.contains("channel 9 does not exist"), "{e}");
        let e = err(&CARD.replace("[[1, 5], [2, 6]]", "[[1, 5, 6]]"));
        assert!(e.message.contains("3 channels in one pair"), "{e}");
        let e = err(&CARD.replace("fya = [[1, 2]]", "fya = [[1, 2], [1, 6]]"));
        assert_eq!((e.line, e.field.as_str()), (9, "mmu.fya"), "{e}");
        assert!(e.message.contains("already has the fya pair [1, 2]"), "{e}");
        let e = err(&CARD.replace("{ 1 = 3.0, 2 = 3.3 }", "{ 1 = 3.0, 2 = 2.5 }"));
        assert_eq!((e.line, e.field.as_str()), (10, "mmu.min_yellow_s"), "{e}");
        assert!(e.message.contains("channel 2: 2.5 s is out of range"), "{e}");
        let e = err(&CARD.replace("{ 1 = 1.0, 2 = 1.9 }", "{ 1 = 1.0, 12 = 1.9 }"));
        assert_eq!((e.line, e.field.as_str()), (11, "mmu.min_red_clear_s"), "{e}");
        let e = err(&CARD.replace("fya = [[1, 2]]", "fya = [[1, 2]]\njumpers = 3"));
        assert!(e.to_string().contains("jumpers"), "{e}");
        let e = err(&CARD.replace("permitted = [[1, 5], [2, 6]]\n", ""));
        assert!(e.to_string().contains("permitted"), "{e}");
    }
}

/// `[[input]] kind = "detector"`: loop channels, their limits, and the errors for each.
mod detectors {
    use super::super::*;

    const BASE: &str = r#"[board]
name = "loops"
chips = [{ path = "/dev/gpiochip0", driver = "cdev" }]
flash_transfer = 1

[[input]]
kind = "ped"
phase = 2
line = 6

[[input]]
kind = "detector"
channel = 3
line = 7

[[input]]
kind = "detector"
channel = 5
line = 8
active_low = false
debounce_ms = 20
max_presence_s = 120
no_activity_s = 0
max_changes_per_min = 200
"#;

    fn err(text: &str) -> ConfigError {
        Board::parse(text, "b.toml").unwrap_err()
    }

    #[test]
    fn detector_inputs_carry_their_channel_and_diagnostics() {
        let b = Board::parse(BASE, "b.toml").unwrap();
        let loops = b.loop_configs();
        assert_eq!(loops.len(), 2);
        assert_eq!(loops[0], LoopConfig::with_defaults(3), "defaults when nothing is given");
        assert_eq!(
            loops[1],
            LoopConfig {
                detector: 5,
                debounce_ms: 20,
                max_presence_ms: 120_000,
                no_activity_ms: 0,
                max_changes_per_min: 200,
            }
        );
        assert!(b.inputs[1].active_low, "detector card outputs pull low by default");
        assert!(!b.inputs[2].active_low);
        assert_eq!((b.inputs[1].file_line, b.inputs[2].file_line), (11, 16));
        assert_eq!(b.loop_configs().iter().map(|c| c.detector).collect::<Vec<_>>(), [3, 5]);
    }

    #[test]
    fn detector_inputs_are_refused_with_line_field_and_fix() {
        let cases: [(&str, &str, usize, &str, &str); 11] = [
            ("channel = 3\n", "", 12, "input.channel", "needs `channel`"),
            (
                "channel = 3\n",
                "channel = 0\n",
                13,
                "input.channel",
                "detector 0 does not exist",
            ),
            (
                "channel = 3\n",
                "channel = 33\n",
                13,
                "input.channel",
                "detector 33 does not exist",
            ),
            (
                "channel = 5\n",
                "channel = 3\n",
                18,
                "input.channel",
                "detector 3 is fed by two loop inputs",
            ),
            ("line = 8\n", "line = 7\n", 19, "input.line", "line 0:7 is used twice"),
            ("line = 8\n", "line = 6\n", 19, "input.line", "line 0:6 is used twice"),
            (
                "debounce_ms = 20",
                "debounce_ms = 1500",
                21,
                "input.debounce_ms",
                "1500 is out of range",
            ),
            (
                "max_presence_s = 120",
                "max_presence_s = 30",
                22,
                "input.max_presence_s",
                "30 is out of range",
            ),
            (
                "no_activity_s = 0",
                "no_activity_s = 20000",
                23,
                "input.no_activity_s",
                "20000 is out of range",
            ),
            ("= 200", "= 60", 24, "input.max_changes_per_min", "60 is out of range"),
            (
                "phase = 2\n",
                "phase = 2\nchannel = 1\n",
                9,
                "input.channel",
                "a ped input takes no `channel`",
            ),
        ];
        for (from, to, line, field, msg) in cases {
            assert!(BASE.contains(from), "{from}");
            let e = err(&BASE.replacen(from, to, 1));
            assert_eq!((e.line, e.field.as_str()), (line, field), "{from} -> {to}: {e}");
            assert!(e.message.contains(msg), "{from} -> {to}: {e}");
            assert!(!e.fix.is_empty(), "{e}");
        }
        let e = err(&BASE.replace("debounce_ms = 20", "debounce_ms = -1"));
        assert_eq!(e.field, "input.debounce_ms", "{e}");
        let e = err(&BASE.replace("kind = \"detector\"\nchannel = 3", "kind = \"detektor\"\nchannel = 3"));
        assert!(e.fix.contains("detector"), "{e}");
    }

    #[test]
    fn zero_turns_a_diagnostic_off_but_not_the_debounce_range() {
        let text = BASE
            .replace("max_presence_s = 120", "max_presence_s = 0")
            .replace("max_changes_per_min = 200", "max_changes_per_min = 0")
            .replace("debounce_ms = 20", "debounce_ms = 0");
        let c = Board::parse(&text, "b.toml").unwrap().loop_configs()[1];
        assert_eq!(
            (
                c.debounce_ms,
                c.max_presence_ms,
                c.no_activity_ms,
                c.max_changes_per_min
            ),
            (0, 0, 0, 0)
        );
    }

    #[test]
    fn a_detector_input_must_feed_a_site_detector() {
        let site = crate::config::Site::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/board/sites/nema8-4leg.toml"
        )))
        .unwrap();
        let b = Board::parse(BASE, "b.toml").unwrap();
        b.check_detectors(&site, "b.toml").unwrap();
        // The site has detectors 1 to 12.
        let b = Board::parse(&BASE.replace("channel = 5", "channel = 13"), "b.toml").unwrap();
        let e = b.check_detectors(&site, "b.toml").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (16, "input.channel"), "{e}");
        assert!(
            e.message.contains("detector 13") && e.fix.contains("[[detector]]"),
            "{e}"
        );
        // Its longest cycle is 120 s: a shorter max presence would fault a queue waiting a red.
        let b = Board::parse(&BASE.replace("max_presence_s = 120", "max_presence_s = 90"), "b.toml").unwrap();
        let e = b.check_detectors(&site, "b.toml").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (16, "input.max_presence_s"), "{e}");
        assert!(
            e.message
                .contains("max presence 90 s is shorter than the site's longest cycle (120 s)")
                && e.fix.contains("at least 120 s"),
            "{e}"
        );
    }
}
