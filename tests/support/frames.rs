//! Frames for monitor tests.

use greenwave::config::Site;
use greenwave::signal::frame::OutputFrame;
use greenwave::signal::phase::PhaseId;

/// A frame as the engine renders all red for `site` (pedestrian heads only where configured).
pub fn all_red(site: &Site) -> OutputFrame {
    let mut f = OutputFrame::ALL_RED;
    for q in PhaseId::all() {
        if site.phase(q).is_some_and(|ph| ph.ped.is_none()) {
            f.ped[q.index()] = 0;
        }
    }
    f
}
