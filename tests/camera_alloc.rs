//! Zero allocations with four `file:` cameras streaming (docs/conventions.md 20): none in the
//! control loop over 100,000 ticks (camera sources polled, snapshots merged, the supervisor asked
//! about detection), and none in any thread of the process — capture (clip reads, rewinds
//! included), detection and hand-off — in steady state.
//!
//! This file's allocator counts per armed thread (the loop) and, while the window is open, in
//! every thread; it holds one test so no other test's thread runs meanwhile.

use greenwave::camera::set::CameraSet;
use greenwave::config::SiteConfig;
use greenwave::hal::sim::{SimInputs, SimRelays, SimWatchdog};
use greenwave::runtime::board::Cabinet;
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::runtime::supervisor::Supervisor;
use greenwave::time::Instant;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

#[path = "support/clips.rs"]
mod clips;

struct Counting;

thread_local! {
    static LOOP_THREAD: Cell<bool> = const { Cell::new(false) };
}
static ALL_THREADS: AtomicBool = AtomicBool::new(false);
static LOOP_ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALL_ALLOCS: AtomicU64 = AtomicU64::new(0);

fn count() {
    if LOOP_THREAD.try_with(|c| c.get()).unwrap_or(false) {
        LOOP_ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
    if ALL_THREADS.load(Ordering::Relaxed) {
        ALL_ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn four_file_cameras_stream_without_allocating() {
    let d = std::env::temp_dir().join(format!("gw-camera-alloc-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    // 15 frames at 10 fps: each clip rewinds every 1.5 s, several times inside the window.
    clips::write_clip(&d.join("road.y4m"), 15, 10);
    let text = std::fs::read_to_string("board/sites/nema8-4leg.toml").unwrap() + &clips::four_cameras("road.y4m", 2);
    let site_path = d.join("site.toml");
    let cfg = SiteConfig::parse(&text, &site_path.display().to_string()).unwrap();
    let site = cfg.site;
    let (cameras, sources) = CameraSet::start(&cfg.cameras, &site_path).unwrap();
    let street = Cabinet {
        inputs: SimInputs::default(),
        sources: sources.into_iter().map(|s| Box::new(s) as _).collect(),
        cameras,
    };
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        street,
    );
    lp.supervisor = Supervisor::new(site.tick_ms, Some(2 * site.tick_ms));
    let mut frame = vec![0u8; (clips::W * clips::H) as usize];
    // Warm-up: every thread past its first frames and first use of every lock; the NPU fallback
    // alarm raised.
    let mut k = 0u64;
    let warm = std::time::Instant::now();
    while warm.elapsed() < Duration::from_millis(1500) {
        k += 1;
        lp.tick(Instant(k * 100), true);
        while lp.controller.events_mut().pop().is_some() {}
        let _ = lp.street.cameras.copy_newest(0, &mut frame);
        std::thread::sleep(Duration::from_millis(10));
    }
    let processed = |lp: &ControlLoop<SimRelays, SimWatchdog, Cabinet<SimInputs>>| -> u64 {
        (0..4)
            .map(|i| lp.street.cameras.counters(i).unwrap().processed.load(Ordering::Relaxed))
            .sum()
    };
    // The allocator does count (in this thread and in any other).
    LOOP_THREAD.with(|c| c.set(true));
    ALL_THREADS.store(true, Ordering::SeqCst);
    drop(std::hint::black_box(vec![1u8; 64]));
    std::thread::spawn(|| drop(std::hint::black_box(vec![1u8; 64])))
        .join()
        .unwrap();
    ALL_THREADS.store(false, Ordering::SeqCst);
    LOOP_THREAD.with(|c| c.set(false));
    assert_eq!(LOOP_ALLOCS.swap(0, Ordering::SeqCst), 1);
    assert!(ALL_ALLOCS.swap(0, Ordering::SeqCst) >= 2);
    let before = processed(&lp);
    let kicks = lp.watchdog.kicks;
    let window = std::time::Instant::now();
    ALL_THREADS.store(true, Ordering::SeqCst);
    LOOP_THREAD.with(|c| c.set(true));
    let mut copies = 0;
    for _ in 0..100_000 {
        k += 1;
        lp.tick(Instant(k * 100), true);
        while lp.controller.events_mut().pop().is_some() {}
        if k % 1000 == 0 && lp.street.cameras.copy_newest(k as usize % 4, &mut frame).is_some() {
            copies += 1;
        }
    }
    LOOP_THREAD.with(|c| c.set(false));
    // Keep the window open for 4 s of streaming in all: ~160 frames through four cameras.
    if let Some(rest) = Duration::from_secs(4).checked_sub(window.elapsed()) {
        std::thread::sleep(rest);
    }
    ALL_THREADS.store(false, Ordering::SeqCst);
    let (in_loop, everywhere) = (LOOP_ALLOCS.load(Ordering::SeqCst), ALL_ALLOCS.load(Ordering::SeqCst));
    let frames = processed(&lp) - before;
    let det = lp.last_det;
    assert_eq!(in_loop, 0, "{in_loop} allocations in 100,000 ticks of the control loop");
    assert_eq!(
        everywhere, 0,
        "{everywhere} allocations in capture and detection ({frames} frames)"
    );
    assert!(frames >= 120, "only {frames} frames processed in the window");
    assert!(copies > 0, "snapshots copied the newest frame");
    assert!(lp.watchdog.kicks > kicks, "detection on time: the watchdog was kicked");
    assert!(
        (0..12).all(|i| det.health[i] == greenwave::detect::DetectorHealth::Ok),
        "{:?}",
        det.health
    );
    drop(lp);
    let _ = std::fs::remove_dir_all(&d);
}
