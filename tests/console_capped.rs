//! The console's `timing` on a controller whose design demand does not fit the site's limits: the
//! Webster plan shown is the capped one, with the reason.

#[path = "support/console_session.rs"]
mod console_session;

use console_session::console_session;
use greenwave::config::Site;
use greenwave::stats::LoopStats;

#[test]
fn timing_shows_why_the_plan_is_capped() {
    // A directional peak: SB left 400 veh/h (max green 20 s), NB through 1500 veh/h (max green 45 s).
    let text = include_str!("../board/sites/nema8-4leg.toml")
        .replacen("design_volume_vph = 90\n", "design_volume_vph = 400\n", 1)
        .replacen("design_volume_vph = 510\n", "design_volume_vph = 1500\n", 1)
        // Every left on its arrow, sized for all its turners: Webster's arithmetic as computed.
        .replacen(
            "flash = \"red\"\n",
            "flash = \"red\"\nfixed_time_lefts = \"protected\"\n",
            1,
        );
    let site = Site::parse(&text, "peak.toml").unwrap();
    let out = console_session(&site, LoopStats::default(), 20, 10, b"timing\r");
    assert!(out.contains("splits 1:20.0 2:45.0"), "{out}");
    assert!(
        out.contains(
            "demand does not fit: Webster cycle 224.3 s capped to 120 s; phase 1 green 26.2 s capped to 20 s \
             (max green); phase 2 green 49.2 s capped to 45 s (max green)"
        ),
        "{out}"
    );
}
