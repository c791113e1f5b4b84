//! The cabinet's compatibility card against a site file with a barrier typo
//! (`barriers = [[1, 2, 3, 4, 5, 6, 7, 8]]`: phase 8, westbound through, green with phase 2,
//! northbound through). The site check refuses it from the approaches and movements; a site that
//! got past that check is refused by the board's `[mmu]` card, and a monitor built from the card
//! latches flash on the first frame that shows 2 with 8, whatever the site's own matrix says.

use greenwave::config::Site;
use greenwave::hal::board::Board;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::monitor::card::{check_board, MmuCard};
use greenwave::monitor::{FaultKind, Monitor};
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::runtime::ControllerMode;
use greenwave::signal::frame::{lamp, Aspect};
use greenwave::signal::phase::PhaseId;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;
use std::path::Path;

#[path = "support/frames.rs"]
mod frames;
use frames::all_red;

const SITE: &str = include_str!("../board/sites/nema8-4leg.toml");
const GOOD_BARRIERS: &str = "barriers = [[1, 2, 5, 6], [3, 4, 7, 8]]";
const TYPO_BARRIERS: &str = "barriers = [[1, 2, 3, 4, 5, 6, 7, 8]]";

fn p(n: u8) -> PhaseId {
    PhaseId::new(n).unwrap()
}

fn site() -> Site {
    Site::parse(SITE, "nema8-4leg.toml").unwrap()
}

fn board() -> Board {
    Board::load(Path::new("board/host-fake.toml")).unwrap()
}

/// The site as the typo would make it had the geometry been mistyped to agree: one barrier group,
/// so only phases of the same ring conflict, and every phase arriving on one leg (movements of one
/// leg never cross) without flashing yellow arrows, so `Site::parse` accepts it. Only the board's
/// card stands between it and the street.
fn typo_site_unchecked() -> Site {
    let mut text = SITE.replace(GOOD_BARRIERS, TYPO_BARRIERS);
    for leg in ["N", "E", "W"] {
        text = text.replace(&format!("approach = \"{leg}\""), "approach = \"S\"");
    }
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("permissive"))
        .map(|l| format!("{l}\n"))
        .collect();
    Site::parse(&text, "typo.toml").unwrap()
}

#[test]
fn typo_site_is_refused_by_the_geometry_check() {
    let text = SITE.replace(GOOD_BARRIERS, TYPO_BARRIERS);
    let e = Site::parse(&text, "typo.toml").unwrap_err();
    let line = text.lines().position(|l| l.starts_with("barriers")).unwrap() + 1;
    assert_eq!(e.line, line, "{e}");
    assert_eq!(e.field, "structure.barriers");
    let msg = e.to_string();
    assert!(msg.contains("may run together") && msg.contains("crosses"), "{msg}");
    assert!(
        msg.contains("phases 2 and 8") && msg.contains("through from S crosses phase 8's through from E"),
        "{msg}"
    );
}

#[test]
fn geometry_check_names_a_through_crossing_a_through() {
    // Only the through phases share a barrier by mistake: 2 (NB) with 8 (WB) (protected-only lefts).
    let text: String = SITE
        .lines()
        .filter(|l| !l.starts_with("permissive"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.replace(GOOD_BARRIERS, "barriers = [[1, 2, 5, 6, 8], [3, 4, 7]]");
    let text = text.replace(
        "rings = [[1, 2, 3, 4], [5, 6, 7, 8]]",
        "rings = [[1, 2, 3, 4], [5, 6, 8, 7]]",
    );
    let e = Site::parse(&text, "typo.toml").unwrap_err().to_string();
    assert!(
        e.contains("phases 2 and 8 may run together") && e.contains("through from S crosses phase 8's through from E"),
        "{e}"
    );
}

#[test]
fn every_vehicle_phase_states_approach_and_movements() {
    let text = SITE.replacen("approach = \"S\"\n", "", 1);
    let e = Site::parse(&text, "x.toml").unwrap_err().to_string();
    assert!(
        e.contains("phase 2 has no `approach`") && e.contains("fix: add approach"),
        "{e}"
    );
    let text = SITE.replacen("movements = [\"left\"]\n", "", 1);
    let e = Site::parse(&text, "x.toml").unwrap_err().to_string();
    assert!(e.contains("phase 1 has no `movements`"), "{e}");
    let text = SITE.replacen("approach = \"S\"", "approach = \"South\"", 1);
    let e = Site::parse(&text, "x.toml").unwrap_err().to_string();
    assert!(e.contains("unknown approach `South`"), "{e}");
}

#[test]
fn permissive_must_yield_to_the_opposing_through() {
    // Phase 1 (SB left) yielding to phase 2 is right; phase 5 (NB left, from S) yielding to 6 is
    // right; turn 5 around to the east leg and its arrow no longer faces phase 6.
    let text = SITE.replacen(
        "approach = \"S\"\nmovements = [\"left\"]",
        "approach = \"E\"\nmovements = [\"left\"]",
        1,
    );
    let e = Site::parse(&text, "x.toml").unwrap_err().to_string();
    assert!(e.contains("phase 5.permissive") && e.contains("opposite leg"), "{e}");
}

#[test]
fn yielding_left_on_a_circular_green_is_accepted() {
    // Two-phase site: each through phase carries its lefts on the circular green.
    let text = SITE
        .replace(
            "approach = \"S\"\nmovements = [\"through\", \"right\"]",
            "approach = \"S\"\nmovements = [\"through\", \"right\", \"left_yield\"]",
        )
        .replace(
            "approach = \"N\"\nmovements = [\"through\", \"right\"]",
            "approach = \"N\"\nmovements = [\"through\", \"right\", \"left_yield\"]",
        );
    Site::parse(&text, "x.toml").unwrap();
    // The same lefts as plain `left` cross the opposing through.
    let text = SITE.replace(
        "approach = \"N\"\nmovements = [\"through\", \"right\"]",
        "approach = \"N\"\nmovements = [\"through\", \"right\", \"left\"]",
    );
    let e = Site::parse(&text, "x.toml").unwrap_err().to_string();
    assert!(e.contains("phases 2 and 6") && e.contains("left from N"), "{e}");
}

#[test]
fn typo_site_past_the_geometry_check_is_refused_by_the_board_card() {
    let s = typo_site_unchecked();
    let e = check_board(&board(), &s, "board/host-fake.toml").unwrap_err();
    assert_eq!(e.field, "mmu.permitted");
    let msg = e.to_string();
    assert!(
        msg.contains("board/host-fake.toml line")
            && msg.contains("may run together (barrier 1 of [structure])")
            && msg.contains("does not permit channels"),
        "{msg}"
    );
    // The correct site fits the same board.
    check_board(&board(), &site(), "board/host-fake.toml").unwrap();
}

#[test]
fn board_without_a_card_is_refused() {
    let text = std::fs::read_to_string("board/host-fake.toml").unwrap();
    let cut = text.find("[mmu]").unwrap();
    let b = Board::parse(&text[..cut], "no-card.toml").unwrap();
    assert!(b.mmu.is_none());
    let e = check_board(&b, &site(), "no-card.toml").unwrap_err().to_string();
    assert!(
        e.contains("has no [mmu] compatibility card") && e.contains("--print-card"),
        "{e}"
    );
}

#[test]
fn card_minima_count_in_check_site() {
    let text = std::fs::read_to_string("board/host-fake.toml").unwrap().replace(
        "min_yellow_s = { 1 = 3.3, 2 = 3.3,",
        "min_yellow_s = { 1 = 3.3, 2 = 4.0,",
    );
    let b = Board::parse(&text, "long-yellow.toml").unwrap();
    let e = check_board(&b, &site(), "long-yellow.toml").unwrap_err().to_string();
    assert!(
        e.contains("mmu.min_yellow_s") && e.contains("phase 2 yellow 3.3 s is below the [mmu] card's minimum 4.0 s"),
        "{e}"
    );
}

/// The monitor takes its conflicts from the card: with the typo site's matrix (2 and 8 allowed)
/// and the board's card (2 and 8 not permitted), a frame with 2 and 8 green latches a conflict.
#[test]
fn monitor_latches_what_the_card_forbids_even_if_the_site_allows_it() {
    let s = typo_site_unchecked();
    assert!(!s.conflicts_with(p(2), p(8)), "the typo site lets 2 run with 8");
    let card = MmuCard::from(board().mmu.unwrap());
    let mut m = Monitor::new(&s, &card, Instant(0));
    let mut f = all_red(&s);
    assert!(m.check(Instant(0), &f).is_none());
    f.set_aspect(p(2), Aspect::Green);
    assert!(m.check(Instant(5_000), &f).is_none());
    f.set_aspect(p(8), Aspect::Green);
    let fault = m.check(Instant(5_100), &f).expect("2 with 8 must latch");
    assert_eq!(fault.kind, FaultKind::Conflict);
    assert_eq!((fault.a, fault.b), (Some(p(2)), Some(p(8))));
    assert!(m.latched().is_some());
    let on = m.flash_frame(Instant(6_000));
    assert!(s.phases().all(|q| on.veh[q.id.index()] == lamp::RED));
}

/// The card's fya list is the only flashing-yellow-arrow exception.
#[test]
fn arrow_without_a_card_pair_is_bad_permissive() {
    let s = site();
    let mut card = MmuCard::from_geometry(&s);
    card.set_fya(p(2), p(1)); // nonsense pair on another channel: 1 has its own
    let mut bare = MmuCard::EMPTY;
    for a in s.phases() {
        for b in s.phases() {
            if a.id != b.id && card.permits(a.id, b.id) {
                bare.permit(a.id, b.id);
            }
        }
        bare.set_min_yellow_ms(a.id, card.min_yellow_ms(a.id));
        bare.set_min_red_clear_ms(a.id, card.min_red_clear_ms(a.id));
    }
    let mut m = Monitor::new(&s, &bare, Instant(0));
    let mut f = all_red(&s);
    assert!(m.check(Instant(0), &f).is_none());
    f.set_aspect(p(2), Aspect::Green);
    assert!(m.check(Instant(5_000), &f).is_none());
    f.set_aspect(p(1), Aspect::FlashingYellow);
    let fault = m.check(Instant(5_100), &f).unwrap();
    assert_eq!(fault.kind, FaultKind::BadPermissive);
    // With the card's pair the same frame is fine.
    let mut m = Monitor::new(&s, &MmuCard::from_geometry(&s), Instant(0));
    let mut f = all_red(&s);
    assert!(m.check(Instant(0), &f).is_none());
    f.set_aspect(p(2), Aspect::Green);
    assert!(m.check(Instant(5_000), &f).is_none());
    f.set_aspect(p(1), Aspect::FlashingYellow);
    assert!(m.check(Instant(5_100), &f).is_none());
}

/// Through the whole loop: the engine runs the typo site's single barrier, the card-driven monitor
/// latches the first forbidden pair, and the street goes to flash.
#[test]
fn typo_site_in_the_loop_goes_to_flash() {
    let s = typo_site_unchecked();
    let card = MmuCard::from(board().mmu.unwrap());
    let traffic = SimTraffic::new(&s, 1.0, 5);
    let mut lp = ControlLoop::new(&s, &card, SimRelays::default(), SimWatchdog::default(), traffic);
    let mut k = 0u64;
    while lp.controller.status().mode != ControllerMode::Flash {
        lp.tick(Instant(k * 100), true);
        k += 1;
        assert!(k < 36_000, "an hour without the card catching the typo");
    }
    let fault = lp.controller.status().fault.unwrap();
    assert_eq!(fault.kind, FaultKind::Conflict);
    let (a, b) = (fault.a.unwrap(), fault.b.unwrap());
    assert!(!card.permits(a, b) && !s.conflicts_with(a, b), "{fault}");
}

/// A SIGHUP reload is checked against the loop's card: the typo site is refused and counted, the
/// running site carries on.
#[test]
fn reload_of_a_site_the_card_forbids_is_refused() {
    let s = site();
    let card = MmuCard::from(board().mmu.unwrap());
    let traffic = SimTraffic::new(&s, 1.0, 2);
    let mut lp = ControlLoop::new(&s, &card, SimRelays::default(), SimWatchdog::default(), traffic);
    for k in 0..100u64 {
        lp.tick(Instant(k * 100), true);
    }
    lp.reload(typo_site_unchecked());
    assert_eq!(lp.stats.reload_errors, 1);
    for k in 100..3_000u64 {
        lp.tick(Instant(k * 100), true);
    }
    assert_eq!(lp.stats.reloads, 0);
    assert_ne!(lp.controller.status().mode, ControllerMode::Flash);
    assert_eq!(lp.controller.site().groups.len(), 2, "the running site is kept");
}
