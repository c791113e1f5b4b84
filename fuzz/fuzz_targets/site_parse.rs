//! Site-file fuzzing: any text given to the site parser yields a validated site or a line-exact
//! error, never a panic. A site that parses must stay internally consistent (every phase it lists
//! can be looked up, yellow and red clearance are not zero).
#![no_main]

use greenwave::config::Site;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else { return };
    if let Ok(site) = Site::parse(text, "fuzz.toml") {
        for ph in site.phases() {
            assert!(site.phase(ph.id).is_some());
            assert!(ph.yellow_ms > 0);
            let _ = site.change_ms(ph.id);
        }
        let _ = greenwave::plan::webster::plan(&site, &greenwave::plan::webster::design_flows(&site));
    }
});
