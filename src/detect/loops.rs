//! Inductive-loop detector channels: the cabinet's detector cards close a contact per channel while
//! a vehicle is over the loop.
//!
//! Each channel is debounced (a level must hold for `debounce_ms` before it is believed), counts a
//! vehicle on every believed rising edge, and runs the diagnostics a detector card or a controller
//! does (NTCIP 1202 §2.3.2, `vehicleDetectorOptions`/`vehicleDetectorAlarms`):
//!
//! - **max presence** — presence held longer than `max_presence_ms` is a shorted loop or a card
//!   stuck on (`StuckOn`, Indiana 87);
//! - **no activity** — no actuation for `no_activity_ms` is an open loop or a dead card (`StuckOff`,
//!   Indiana 86);
//! - **erratic counts** — more than `max_changes_per_min` believed changes in one minute is a
//!   chattering loop (`ExcessiveChange`, Indiana 88).
//!
//! A limit of 0 turns that diagnostic off. A channel leaves a fault state as soon as the condition
//! ends (presence drops, a vehicle is seen, a full minute passes below the change limit); the
//! planner then still needs its own period of good data before it trusts the channel again.
//!
//! On a board the channels are read with the other cabinet inputs (`hal::gpio::GpioInputs`, raw
//! levels in `InputFrame::loops`) and combined with the camera zones' snapshot each tick
//! ([`LoopDetectors::combine`]): a detector may be fed by a zone, a loop, or both.
//!
//! Fixed-size state; [`LoopDetectors::update`] and [`LoopDetectors::combine`] do not allocate and
//! do constant work per channel.

use crate::detect::{DetectorHealth, DetectorSet, DetectorSnapshot};
use crate::time::Instant;

/// One channel's configuration, and the channels per controller (one per detector channel).
pub use crate::config::board::{LoopConfig, MAX_LOOPS};

/// Window of the erratic-count diagnostic (NTCIP 1202 counts changes per minute).
pub const CHATTER_WINDOW_MS: u64 = 60_000;

/// One channel's debouncer and diagnostics.
#[derive(Clone, Copy, Debug)]
struct Channel {
    /// Raw level last read, and since when it has held.
    raw: bool,
    raw_since: Instant,
    /// Believed (debounced) presence and when it last changed.
    present: bool,
    changed_at: Instant,
    /// Last believed rising edge (an actuation), for the no-activity check.
    last_on: Instant,
    count: u16,
    window_start: Instant,
    changes: u16,
    /// Changes counted in the last complete window (what the chatter verdict is based on while the
    /// current window fills).
    last_window_changes: u16,
    health: DetectorHealth,
    started: bool,
}

impl Channel {
    const NEW: Channel = Channel {
        raw: false,
        raw_since: Instant::ZERO,
        present: false,
        changed_at: Instant::ZERO,
        last_on: Instant::ZERO,
        count: 0,
        window_start: Instant::ZERO,
        changes: 0,
        last_window_changes: 0,
        health: DetectorHealth::Unknown,
        started: false,
    };

    fn update(&mut self, cfg: &LoopConfig, now: Instant, level: bool) {
        if !self.started {
            // The first reading is believed as it is: there is no history to debounce against.
            *self = Channel {
                raw: level,
                raw_since: now,
                present: level,
                changed_at: now,
                last_on: now,
                window_start: now,
                started: true,
                health: DetectorHealth::Ok,
                ..Channel::NEW
            };
            return;
        }
        if level != self.raw {
            self.raw = level;
            self.raw_since = now;
        }
        if self.raw != self.present && now.since(self.raw_since) >= u64::from(cfg.debounce_ms) {
            self.present = self.raw;
            self.changed_at = now;
            self.changes = self.changes.saturating_add(1);
            if self.present {
                self.count = self.count.wrapping_add(1);
                self.last_on = now;
            }
        }
        if now.since(self.window_start) >= CHATTER_WINDOW_MS {
            self.last_window_changes = self.changes;
            self.changes = 0;
            self.window_start = now;
        }
        let limit = cfg.max_changes_per_min;
        self.health = if limit > 0 && (self.changes > limit || self.last_window_changes > limit) {
            DetectorHealth::ExcessiveChange
        } else if cfg.max_presence_ms > 0 && self.present && now.since(self.changed_at) > u64::from(cfg.max_presence_ms)
        {
            DetectorHealth::StuckOn
        } else if cfg.no_activity_ms > 0 && !self.present && now.since(self.last_on) > u64::from(cfg.no_activity_ms) {
            DetectorHealth::StuckOff
        } else {
            DetectorHealth::Ok
        };
    }
}

/// The count a channel reports when combined with a zone: a counter of its own that advances by
/// the vehicles the trusted source saw this tick, so switching between the loop's and the zone's
/// counters (a loop fails, a camera returns) never makes the count jump.
#[derive(Clone, Copy, Debug, Default)]
struct Combined {
    count: u16,
    last_loop: u16,
    last_zone: u16,
    zone_ok: bool,
    /// Combined at least once (the counter starts at the loop's).
    primed: bool,
}

/// One loop channel for the console: the contact as read, what is believed, and since when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopView {
    /// Site detector number the channel feeds.
    pub detector: u8,
    /// The contact as last read (before debouncing).
    pub raw: bool,
    /// Believed presence (debounced).
    pub present: bool,
    pub count: u16,
    pub health: DetectorHealth,
    /// When the believed presence last changed.
    pub changed_at: Instant,
}

/// Every loop channel of the cabinet.
#[derive(Clone, Debug)]
pub struct LoopDetectors {
    cfg: heapless::Vec<LoopConfig, MAX_LOOPS>,
    ch: [Channel; MAX_LOOPS],
    combined: [Combined; MAX_LOOPS],
}

impl LoopDetectors {
    pub fn new(cfg: heapless::Vec<LoopConfig, MAX_LOOPS>) -> LoopDetectors {
        LoopDetectors {
            cfg,
            ch: [Channel::NEW; MAX_LOOPS],
            combined: [Combined::default(); MAX_LOOPS],
        }
    }

    /// Configured channel `i` for the console.
    pub fn view(&self, i: usize) -> Option<LoopView> {
        let cfg = self.cfg.get(i)?;
        let c = self.ch.get(i)?;
        Some(LoopView {
            detector: cfg.detector,
            raw: c.raw,
            present: c.present,
            count: c.count,
            health: c.health,
            changed_at: c.changed_at,
        })
    }

    pub fn configs(&self) -> &[LoopConfig] {
        &self.cfg
    }

    pub fn is_empty(&self) -> bool {
        self.cfg.is_empty()
    }

    /// Takes this tick's raw levels (bit `i` = configured channel `i`, already corrected for
    /// active-low wiring).
    pub fn update(&mut self, now: Instant, levels: u32) {
        for (i, (cfg, ch)) in self.cfg.iter().zip(self.ch.iter_mut()).enumerate() {
            ch.update(cfg, now, levels & (1 << i) != 0);
        }
    }

    /// Presence, count and health of configured channel `i`.
    pub fn channel(&self, i: usize) -> Option<(bool, u16, DetectorHealth)> {
        self.cfg.get(i)?;
        self.ch.get(i).map(|c| (c.present, c.count, c.health))
    }

    /// Writes the loops into `snap` by detector number; other detectors untouched. A detector that
    /// is also fed by a camera zone is merged with [`merge`] by the caller instead.
    pub fn fill(&self, snap: &mut DetectorSnapshot) {
        for (cfg, ch) in self.cfg.iter().zip(self.ch.iter()) {
            let i = usize::from(cfg.detector.saturating_sub(1));
            snap.presence.set(i, ch.present && ch.health.trusted());
            if let (Some(n), Some(h)) = (snap.counts.get_mut(i), snap.health.get_mut(i)) {
                *n = ch.count;
                *h = ch.health;
            }
        }
    }
}

impl LoopDetectors {
    /// Combines the loops (after this tick's [`LoopDetectors::update`]) with `snap`, the other
    /// sources' snapshot polled at `now`. Each loop channel is merged with the zone reading of
    /// the same detector by [`merge`]; a detector no zone reports (`Unknown`) takes the loop's
    /// reading alone. The loops were read this tick, so a stalled camera must not make them look
    /// old: a snapshot older than `stale_ms` first has every reading it reports marked `Stale`
    /// (per detector, as the planner would judge the whole snapshot) and is then current, so the
    /// camera's detectors fail and the loops carry on. Detectors without a loop are left as they
    /// are.
    pub fn combine(&mut self, now: Instant, snap: &mut DetectorSnapshot, stale_ms: u32) {
        if now.since(snap.at) > u64::from(stale_ms) {
            for (i, (h, q)) in snap.health.iter_mut().zip(snap.queue_m.iter_mut()).enumerate() {
                if *h != DetectorHealth::Unknown {
                    *h = DetectorHealth::Stale;
                    *q = 0.0;
                    snap.presence.set(i, false);
                }
            }
            snap.at = now;
        }
        for ((cfg, ch), out) in self.cfg.iter().zip(self.ch.iter()).zip(self.combined.iter_mut()) {
            let i = usize::from(cfg.detector.saturating_sub(1));
            let (Some(h), Some(n), Some(q)) = (snap.health.get_mut(i), snap.counts.get_mut(i), snap.queue_m.get_mut(i))
            else {
                continue;
            };
            let zone = Reading {
                present: snap.presence.contains(i),
                count: *n,
                queue_m: *q,
                health: *h,
            };
            let lp = Reading {
                present: ch.present,
                count: ch.count,
                queue_m: 0.0,
                health: ch.health,
            };
            let m = merge(lp, zone);
            let (loop_ok, zone_ok) = (lp.health.trusted(), zone.health.trusted());
            // The loop's counter is continuous (its own debounced edges); a camera's may restart
            // with its detection thread, so the zone's counts are taken only between two trusted
            // readings.
            let seen = if loop_ok && out.primed {
                lp.count.wrapping_sub(out.last_loop)
            } else if !loop_ok && zone_ok && out.zone_ok {
                zone.count.wrapping_sub(out.last_zone)
            } else {
                0
            };
            let base = if out.primed { out.count } else { lp.count };
            *out = Combined {
                count: base.wrapping_add(seen),
                last_loop: lp.count,
                last_zone: zone.count,
                zone_ok,
                primed: true,
            };
            *h = m.health;
            *n = out.count;
            *q = m.queue_m;
            snap.presence.set(i, m.present);
        }
    }
}

/// One detector's reading from one source, for merging a channel fed by a loop and a camera zone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    pub present: bool,
    pub count: u16,
    pub queue_m: f32,
    pub health: DetectorHealth,
}

/// Merges a loop and a camera zone feeding the same detector: a healthy source is believed over a
/// failed one; with both healthy, presence is either's (a loop misses nothing over its own
/// footprint, a zone sees further upstream), the count is the loop's (a loop counts axles over a
/// fixed footprint, the better counter) and the queue the camera's (a loop cannot see a queue).
/// With both failed, the loop's fault is reported (it names the cabinet hardware to check).
pub fn merge(lp: Reading, zone: Reading) -> Reading {
    match (lp.health.trusted(), zone.health.trusted()) {
        (true, true) => Reading {
            present: lp.present || zone.present,
            count: lp.count,
            queue_m: zone.queue_m,
            health: DetectorHealth::Ok,
        },
        (true, false) => Reading { queue_m: 0.0, ..lp },
        (false, true) => zone,
        (false, false) => Reading {
            present: false,
            queue_m: 0.0,
            ..lp
        },
    }
}

/// The set of detectors fed by `cfg` (for checks that every site detector has a source).
pub fn detectors_of(cfg: &[LoopConfig]) -> DetectorSet {
    let mut s = DetectorSet::EMPTY;
    for c in cfg {
        s.set(usize::from(c.detector.saturating_sub(1)), true);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(cfg: LoopConfig) -> LoopDetectors {
        let mut v = heapless::Vec::new();
        v.push(cfg).unwrap();
        LoopDetectors::new(v)
    }

    /// Runs `levels(t_ms)` every 10 ms from `from` to `to` (exclusive).
    fn run(d: &mut LoopDetectors, from: u64, to: u64, levels: impl Fn(u64) -> bool) {
        let mut t = from;
        while t < to {
            d.update(Instant(t), u32::from(levels(t)));
            t += 10;
        }
    }

    #[test]
    fn bounce_shorter_than_debounce_is_ignored() {
        let mut d = one(LoopConfig::with_defaults(3));
        run(&mut d, 0, 1_000, |_| false);
        // 30 ms spikes every 200 ms: contact bounce, not vehicles.
        run(&mut d, 1_000, 3_000, |t| t % 200 < 30);
        assert_eq!(d.channel(0), Some((false, 0, DetectorHealth::Ok)));
        // A vehicle: 400 ms of presence counts once, believed after the debounce.
        run(&mut d, 3_000, 3_040, |_| true);
        assert!(!d.channel(0).unwrap().0, "not yet believed at 40 ms");
        run(&mut d, 3_040, 3_400, |_| true);
        assert_eq!(d.channel(0), Some((true, 1, DetectorHealth::Ok)));
        run(&mut d, 3_400, 4_000, |_| false);
        assert_eq!(d.channel(0), Some((false, 1, DetectorHealth::Ok)));
    }

    #[test]
    fn held_presence_is_stuck_on_and_recovers() {
        let mut cfg = LoopConfig::with_defaults(1);
        cfg.max_presence_ms = 10_000;
        let mut d = one(cfg);
        run(&mut d, 0, 100, |_| false);
        run(&mut d, 100, 10_000, |_| true);
        assert_eq!(d.channel(0).unwrap().2, DetectorHealth::Ok);
        run(&mut d, 10_000, 10_300, |_| true);
        assert_eq!(d.channel(0).unwrap().2, DetectorHealth::StuckOn);
        let mut snap = DetectorSnapshot::EMPTY;
        d.fill(&mut snap);
        assert!(!snap.presence.contains(0), "a stuck channel places no presence");
        assert_eq!(snap.health[0], DetectorHealth::StuckOn);
        run(&mut d, 10_300, 11_000, |_| false);
        assert_eq!(d.channel(0).unwrap().2, DetectorHealth::Ok);
    }

    #[test]
    fn silence_is_stuck_off_until_a_vehicle() {
        let mut cfg = LoopConfig::with_defaults(2);
        cfg.no_activity_ms = 60_000;
        let mut d = one(cfg);
        run(&mut d, 0, 60_000, |_| false);
        assert_eq!(d.channel(0).unwrap().2, DetectorHealth::Ok);
        run(&mut d, 60_000, 61_000, |_| false);
        assert_eq!(d.channel(0).unwrap().2, DetectorHealth::StuckOff);
        run(&mut d, 61_000, 61_500, |_| true);
        assert_eq!(d.channel(0), Some((true, 1, DetectorHealth::Ok)));
    }

    #[test]
    fn chatter_is_erratic_and_clears_after_a_quiet_minute() {
        let mut d = one(LoopConfig::with_defaults(4));
        run(&mut d, 0, 100, |_| false);
        // 100 ms on / 100 ms off: 10 changes a second, well past 120 a minute.
        run(&mut d, 100, 20_000, |t| (t / 100) % 2 == 1);
        assert_eq!(d.channel(0).unwrap().2, DetectorHealth::ExcessiveChange);
        // Normal traffic: a car every 4 s. The verdict holds through the window that saw chatter.
        let normal = |t: u64| t % 4_000 < 500;
        run(&mut d, 20_000, 60_000, normal);
        assert_eq!(d.channel(0).unwrap().2, DetectorHealth::ExcessiveChange);
        run(&mut d, 60_000, 125_000, normal);
        assert_eq!(d.channel(0).unwrap().2, DetectorHealth::Ok);
    }

    #[test]
    fn zero_limits_turn_diagnostics_off() {
        let cfg = LoopConfig {
            detector: 1,
            debounce_ms: 0,
            max_presence_ms: 0,
            no_activity_ms: 0,
            max_changes_per_min: 0,
        };
        let mut d = one(cfg);
        run(&mut d, 0, 10, |_| false);
        run(&mut d, 10, 4_000_000, |_| true);
        assert_eq!(d.channel(0), Some((true, 1, DetectorHealth::Ok)));
    }

    /// A camera snapshot at `at` reporting detector `i` (index) healthy with `count` and a queue.
    fn zone(at: u64, i: usize, present: bool, count: u16) -> DetectorSnapshot {
        let mut s = DetectorSnapshot {
            at: Instant(at),
            ..DetectorSnapshot::EMPTY
        };
        s.health[i] = DetectorHealth::Ok;
        s.presence.set(i, present);
        s.counts[i] = count;
        s.queue_m[i] = 14.0;
        s
    }

    #[test]
    fn combine_fills_loop_only_detectors_and_leaves_the_others() {
        let mut d = one(LoopConfig::with_defaults(3));
        run(&mut d, 0, 1_000, |t| t >= 500);
        let mut snap = zone(1_000, 7, true, 9);
        d.combine(Instant(1_000), &mut snap, 2_000);
        assert_eq!(snap.health[2], DetectorHealth::Ok);
        assert!(snap.presence.contains(2));
        assert_eq!(snap.counts[2], 1);
        assert_eq!(snap.queue_m[2], 0.0, "a loop cannot see a queue");
        assert_eq!(
            (snap.health[7], snap.counts[7], snap.queue_m[7]),
            (DetectorHealth::Ok, 9, 14.0)
        );
        assert!(snap.presence.contains(7));
        assert_eq!(snap.health[0], DetectorHealth::Unknown);
        assert_eq!(snap.at, Instant(1_000));
    }

    #[test]
    fn combine_counts_without_a_jump_when_the_source_changes() {
        let mut cfg = LoopConfig::with_defaults(1);
        cfg.max_presence_ms = 60_000;
        let mut d = one(cfg);
        let mut t = 0;
        let mut step = |d: &mut LoopDetectors, level: bool, zone_count: u16| {
            t += 100;
            d.update(Instant(t), u32::from(level));
            let mut snap = zone(t, 0, false, zone_count);
            d.combine(Instant(t), &mut snap, 2_000);
            snap
        };
        // Three vehicles on the loop while the camera's own counter is far away (it started at
        // 500): the combined count follows the loop.
        let mut s = step(&mut d, false, 500);
        for k in 0..3u16 {
            for _ in 0..5 {
                s = step(&mut d, true, 500 + k);
            }
            for _ in 0..5 {
                s = step(&mut d, false, 500 + k);
            }
        }
        assert_eq!(s.counts[0], 3);
        assert_eq!(s.queue_m[0], 14.0, "the queue is the camera's");
        // A fourth vehicle arrives and the loop sticks on under it; the zone carries on counting
        // from its own counter.
        for _ in 0..700 {
            s = step(&mut d, true, 503);
        }
        assert_eq!(s.health[0], DetectorHealth::Ok, "the camera's healthy reading is used");
        assert_eq!(s.counts[0], 4, "no jump to the camera's counter");
        s = step(&mut d, true, 505);
        assert_eq!(s.counts[0], 6, "two vehicles seen by the camera");
        assert!(!s.presence.contains(0), "the stuck loop places no presence");
    }

    #[test]
    fn a_stalled_camera_fails_its_own_detectors_not_the_loops() {
        let mut d = one(LoopConfig::with_defaults(2));
        run(&mut d, 0, 10_000, |t| t > 9_000);
        let mut snap = zone(4_000, 5, true, 40);
        snap.health[1] = DetectorHealth::Ok; // the camera also sees detector 2, the loop's
        d.combine(Instant(10_000), &mut snap, 2_000);
        assert_eq!(snap.at, Instant(10_000), "the loops were read now");
        assert_eq!(snap.health[5], DetectorHealth::Stale);
        assert!(!snap.presence.contains(5));
        assert_eq!(snap.health[1], DetectorHealth::Ok, "the loop carries detector 2");
        assert!(snap.presence.contains(1));
        assert_eq!(snap.health[0], DetectorHealth::Unknown, "nothing feeds detector 1");
        // A fresh snapshot is left as old as it is.
        let mut snap = zone(9_000, 5, true, 40);
        d.combine(Instant(10_000), &mut snap, 2_000);
        assert_eq!((snap.at, snap.health[5]), (Instant(9_000), DetectorHealth::Ok));
    }

    #[test]
    fn merge_prefers_the_healthy_source() {
        let ok = |present, count, queue_m| Reading {
            present,
            count,
            queue_m,
            health: DetectorHealth::Ok,
        };
        let m = merge(ok(false, 10, 0.0), ok(true, 7, 21.0));
        assert_eq!(
            m,
            Reading {
                present: true,
                count: 10,
                queue_m: 21.0,
                health: DetectorHealth::Ok
            }
        );
        let bad_loop = Reading {
            health: DetectorHealth::StuckOn,
            ..ok(true, 10, 0.0)
        };
        assert_eq!(merge(bad_loop, ok(false, 7, 3.0)), ok(false, 7, 3.0));
        let stale = Reading {
            health: DetectorHealth::Stale,
            ..ok(true, 7, 30.0)
        };
        assert_eq!(merge(ok(true, 10, 0.0), stale), ok(true, 10, 0.0));
        let both = merge(bad_loop, stale);
        assert_eq!(both.health, DetectorHealth::StuckOn);
        assert!(!both.present);
    }
}
