//! Cost of one control tick, in nanoseconds, with ratios to baselines measured in the same run
//! (machines here are noisy: compare ratios, not absolute numbers).
//!
//! - `loop`: a full `ControlLoop` tick — simulated traffic, planner, engine, monitor, relays with
//!   read-back, watchdog — plus draining the event ring, at 1.2x design volumes.
//! - `controller`: `Controller::tick` alone on recorded detector snapshots.
//! - `baseline copy`: copying the tick's inputs and outputs (a DetectorSnapshot and an
//!   OutputFrame) — the floor any implementation pays.
//!
//! Run: `cargo bench --bench tick`. Instruction counts (deterministic): `tools/bench-callgrind.sh`.

use greenwave::config::Site;
use greenwave::detect::DetectorSnapshot;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::hal::InputFrame;
use greenwave::runtime::control_loop::ControlLoop;
use greenwave::runtime::Controller;
use greenwave::signal::frame::OutputFrame;
use greenwave::sim::traffic::SimTraffic;
use greenwave::time::Instant;
use std::hint::black_box;
use std::time::Instant as Wall;

const TICKS: u64 = 2_000_000;

fn main() {
    let site = Site::load(std::path::Path::new("board/sites/nema8-4leg.toml")).expect("site");

    // Full loop.
    let mut lp = ControlLoop::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        SimTraffic::new(&site, 1.2, 1),
    );
    let t = Wall::now();
    for k in 0..TICKS {
        lp.tick(Instant(k * 100), true);
        while lp.controller.events_mut().pop().is_some() {}
    }
    let loop_ns = t.elapsed().as_nanos() as f64 / TICKS as f64;

    // Record the inputs once, then time the controller alone.
    let mut traffic = SimTraffic::new(&site, 1.2, 1);
    let mut rec: Vec<(DetectorSnapshot, InputFrame)> = Vec::with_capacity(100_000);
    let mut c = Controller::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let mut f = OutputFrame::ALL_RED;
    for k in 0..100_000u64 {
        let (d, i) = traffic.step(Instant(k * 100), &f);
        f = c.tick(Instant(k * 100), &d, &i);
        rec.push((d, i));
    }
    let mut c = Controller::new(
        &site,
        &greenwave::monitor::card::MmuCard::from_geometry(&site),
        Instant(0),
    );
    let t = Wall::now();
    for k in 0..TICKS {
        let (d, i) = &rec[(k % 100_000) as usize];
        let mut d = *d;
        d.at = Instant(k * 100);
        black_box(c.tick(Instant(k * 100), &d, i));
        while c.events_mut().pop().is_some() {}
    }
    let ctl_ns = t.elapsed().as_nanos() as f64 / TICKS as f64;

    // Baseline: move the same data around.
    let t = Wall::now();
    let mut out = OutputFrame::ALL_RED;
    for k in 0..TICKS {
        let (d, i) = &rec[(k % 100_000) as usize];
        let d = black_box(*d);
        let i = black_box(*i);
        out.veh[(k % 8) as usize] ^= (d.presence.0 as u8) ^ i.preempt;
        black_box(out);
    }
    let base_ns = t.elapsed().as_nanos() as f64 / TICKS as f64;

    println!("ticks per measurement: {TICKS}");
    println!(
        "loop          {loop_ns:8.1} ns/tick   {:6.1}x baseline",
        loop_ns / base_ns
    );
    println!(
        "controller    {ctl_ns:8.1} ns/tick   {:6.1}x baseline",
        ctl_ns / base_ns
    );
    println!("baseline copy {base_ns:8.1} ns/tick");
    println!("budget use at 100 ms tick: {:.5} %", loop_ns / 100e6 * 100.0);
}
