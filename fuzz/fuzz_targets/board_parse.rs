//! Board-file fuzzing: any text given to the board parser yields a validated board or a line-exact
//! error, never a panic; a board that parses can be checked against the shipped site, and its MMU
//! card converted for `greenwave verify`.
#![no_main]

use greenwave::config::Site;
use greenwave::hal::board::Board;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn site() -> Option<&'static Site> {
    static SITE: OnceLock<Option<Site>> = OnceLock::new();
    SITE.get_or_init(|| Site::parse(include_str!("../../board/sites/nema8-4leg.toml"), "nema8-4leg.toml").ok())
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else { return };
    if let Ok(board) = Board::parse(text, "fuzz.toml") {
        if let Some(card) = &board.mmu {
            let _ = greenwave::verify::MmuCard::from_card(card);
        }
        if let Some(site) = site() {
            let _ = greenwave::monitor::card::check_board(&board, site, "fuzz.toml");
        }
    }
});
