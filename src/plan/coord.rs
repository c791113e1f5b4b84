//! Coordination: a pattern timer that drives the engine through force-offs, gap-outs, omits and
//! walk inhibits ([`Directive::Coordinated`]).
//!
//! ## The pattern timer
//! A pattern (`config::schedule::Pattern`) lays its splits out on the cycle
//! ([`Layout`]: ring by ring, barrier group by barrier group, lagging phases
//! last in their group). The **local cycle timer** is `(local time − sync reference) mod cycle`, the
//! sync reference being local midnight (NTCIP 1202 default); the coordinated phases' reference
//! point (start of green, or of yellow) falls where the timer equals the offset. The controller
//! runs its own position in the layout (`pos`), advanced with the monotonic clock; the wall clock
//! only gives the **target**. In step, `pos` follows the target; otherwise a transition brings it
//! there:
//! - **short way**: in the coordinated phases' common green, either lengthen the cycle (the
//!   position stops for up to 20 % of the cycle) or shorten it (the position jumps ahead by up to
//!   17 % of the cycle, never more than leaves every coordinated phase its min green, or walk +
//!   pedestrian clearance), whichever reaches the target in fewer cycles; one correction per cycle;
//! - **dwell**: the position stops in the coordinated phases' common green until in step.
//!
//! A clock step (NTP, RTC, daylight saving) moves only the target: nothing is cut, the transition
//! follows.
//!
//! ## What the engine is told each tick
//! - a **coordinated phase** is on recall and holds its green until the position reaches its
//!   force-off (the yield point, event 151); after it, it yields to any call that may be served
//!   and otherwise rests in green. A coordinated green that started early (the phases before it
//!   gapped out) holds until the yield point; one that started late (a transition, a preemption)
//!   yields after its min green.
//! - a **non-coordinated phase** is actuated inside its **permissive window**: from its ring's
//!   yield point to the latest start that still gives it its min green before its force-off; a
//!   call outside the window stays locked and waits for the next window (omit). Its green ends at
//!   its force-off (split end − yellow − red clearance) or earlier by gap-out; its walk starts
//!   only while walk + pedestrian clearance end before the force-off.
//! - **adaptive coordination** (`adaptive = true`): greens end by the adaptive planner's rule
//!   (queue served) instead of the gap timer, and a non-coordinated phase may use the split of the
//!   uncalled phases after it in its ring and barrier group; the coordinated phases' start and
//!   yield points, hence the offset, do not move.
//!
//! The engine still times min green, walk, pedestrian clearance, yellow and red clearance itself
//! and never shortens them; the conflict monitor checks every frame as always.
//!
//! Events: 131 pattern change, 132 cycle length, 133 offset, 134-149 split of phase 1-16 (on a
//! pattern change, for values that changed), 150 coordination cycle state (0 free, 1 in step,
//! 2 transition add, 3 transition subtract, 4 transition dwell), 151 coordinated phase yield
//! point (Indiana hi-res enumeration).
//!
//! Pure, allocation-free, O(rings + phases) per tick.

use crate::config::schedule::{layout, Layout, Pattern, TransitionMode};
use crate::config::{Recall, Site};
use crate::events::{code, EventRing};
use crate::limits::{MAX_PHASES, MAX_RINGS};
use crate::phase::{PhaseId, PhaseSet};
use crate::signal::engine::{Demand, Directive, Engine, Interval, PedInterval};
use crate::time::Instant;

/// A position this close to the target is in step (it is set to the target): the wall clock's
/// followed drift (≤ 0.1 s at a time) and tick rounding never start a transition.
pub const SNAP_MS: u32 = 1_000;
/// Most the cycle is lengthened per cycle by a short-way transition, percent of the cycle.
pub const LENGTHEN_PCT: u32 = 20;
/// Most the cycle is shortened per cycle by a short-way transition, percent of the cycle.
pub const SHORTEN_PCT: u32 = 17;
/// The position stops this far before the end of the coordinated phases' common green.
const FREEZE_LEAD_MS: u32 = 1_000;

/// Coordination cycle state (Indiana event 150 parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CycleState {
    Free = 0,
    InStep = 1,
    /// Transition lengthening the cycle.
    Add = 2,
    /// Transition shortening the cycle.
    Subtract = 3,
    /// Coordinated phases dwelling in green.
    Dwell = 4,
}

impl CycleState {
    pub const fn name(self) -> &'static str {
        match self {
            CycleState::Free => "free",
            CycleState::InStep => "in step",
            CycleState::Add => "transition (lengthening)",
            CycleState::Subtract => "transition (shortening)",
            CycleState::Dwell => "transition (dwell)",
        }
    }
}

/// What the pattern timer is told each tick besides the engine's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Local time since midnight, ms (None: the wall clock is not known; the position runs on
    /// without a target).
    pub local_ms: Option<u64>,
    /// The adaptive planner's green-end decisions (used by an `adaptive` pattern).
    pub adaptive_end: PhaseSet,
}

#[derive(Clone, Copy, Debug)]
struct Correction {
    kind: CycleState,
    remaining_ms: u32,
}

/// The running pattern.
#[derive(Clone, Debug)]
struct Running {
    pattern: Pattern,
    layout: Layout,
    /// Position in the layout, ms in `[0, cycle)`.
    pos: u32,
    last: Instant,
    corr: Option<Correction>,
    /// The position is in the common green and this visit's correction is decided.
    visit_planned: bool,
    /// Per ring: the coordinated phase holds its green until the yield point.
    hold: [bool; MAX_RINGS],
    coord_green: [bool; MAX_RINGS],
}

/// The pattern timer of one controller.
#[derive(Clone, Debug)]
pub struct Coordinator {
    run: Option<Running>,
    state: CycleState,
    /// Transitions started and completed (in step again).
    pub transitions: u64,
    /// Cycles the position completed.
    pub cycles: u64,
}

impl Default for Coordinator {
    fn default() -> Self {
        Self::new()
    }
}

fn wrap(x: i64, c: u32) -> u32 {
    u32::try_from(x.rem_euclid(i64::from(c.max(1)))).unwrap_or(0)
}

/// `b − a` in `(−c/2, c/2]`.
fn signed(a: u32, b: u32, c: u32) -> i64 {
    let d = i64::from(wrap(i64::from(b) - i64::from(a), c));
    if d > i64::from(c / 2) {
        d - i64::from(c)
    } else {
        d
    }
}

/// Change interval of every phase index (`Site::change_ms`).
fn changes(site: &Site) -> [u32; MAX_PHASES] {
    let mut out = [0; MAX_PHASES];
    for (i, c) in out.iter_mut().enumerate() {
        if let Some(p) = PhaseId::from_index(i) {
            *c = site.change_ms(p);
        }
    }
    out
}

impl Coordinator {
    pub const fn new() -> Coordinator {
        Coordinator {
            run: None,
            state: CycleState::Free,
            transitions: 0,
            cycles: 0,
        }
    }

    /// The running pattern's number.
    pub fn pattern(&self) -> Option<u8> {
        self.run.as_ref().map(|r| r.pattern.number)
    }

    pub fn state(&self) -> CycleState {
        self.state
    }

    /// The running pattern is an adaptive one.
    pub fn adaptive(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.pattern.adaptive)
    }

    /// The cycle timer the controller runs (equal to the local cycle timer when in step), ms.
    pub fn cycle_timer_ms(&self) -> Option<u32> {
        let r = self.run.as_ref()?;
        let c = r.pattern.cycle_ms;
        Some(wrap(
            i64::from(r.pos) - i64::from(r.layout.reference_ms) + i64::from(r.pattern.offset_ms),
            c,
        ))
    }

    /// Where `local_ms` (ms since the sync reference, local midnight) puts the position of `p`.
    fn target(p: &Pattern, l: &Layout, local_ms: u64) -> u32 {
        let c = u64::from(p.cycle_ms.max(1));
        let timer = (local_ms % c) as i64;
        wrap(timer - i64::from(p.offset_ms) + i64::from(l.reference_ms), p.cycle_ms)
    }

    fn set_state(&mut self, s: CycleState, now: Instant, ev: &mut EventRing) {
        if s != self.state {
            if s == CycleState::InStep && self.state != CycleState::Free {
                self.transitions += 1;
            }
            self.state = s;
            ev.push(now, code::COORD_CYCLE_STATE, s as u16);
        }
    }

    /// Runs `pattern` from now. `local_ms`: local time since midnight. From free operation the
    /// position starts at the target (in step); from another pattern it keeps its place in the
    /// cycle (scaled to the new cycle) and transitions. Logs 131 and every cycle, offset and split
    /// that differs from the pattern before (all of them from free).
    pub fn start(&mut self, site: &Site, pattern: &Pattern, now: Instant, local_ms: u64, ev: &mut EventRing) {
        let l = layout(pattern, &site.rings, &site.groups, &changes(site));
        let target = Self::target(pattern, &l, local_ms);
        let old = self.run.take();
        ev.push(now, code::PATTERN_CHANGE, u16::from(pattern.number));
        let before = old.as_ref().map(|o| &o.pattern);
        if before.is_none_or(|b| b.cycle_ms != pattern.cycle_ms) {
            ev.push(now, code::CYCLE_LENGTH_CHANGE, secs(pattern.cycle_ms));
        }
        if before.is_none_or(|b| b.offset_ms != pattern.offset_ms) {
            ev.push(now, code::OFFSET_LENGTH_CHANGE, secs(pattern.offset_ms));
        }
        for ph in site.phases() {
            let i = ph.id.index();
            let s = pattern.split_ms.get(i).copied().unwrap_or(0);
            if before.is_none_or(|b| b.split_ms.get(i).copied().unwrap_or(0) != s) {
                ev.push(now, code::SPLIT_CHANGE_BASE + ph.id.number(), secs(s));
            }
        }
        let pos = match &old {
            None => target,
            Some(o) => {
                let scaled = u64::from(o.pos) * u64::from(pattern.cycle_ms) / u64::from(o.pattern.cycle_ms.max(1));
                wrap(scaled as i64, pattern.cycle_ms)
            }
        };
        self.run = Some(Running {
            pattern: pattern.clone(),
            layout: l,
            pos,
            last: now,
            corr: None,
            visit_planned: false,
            hold: [false; MAX_RINGS],
            coord_green: [false; MAX_RINGS],
        });
        if old.is_none() {
            self.set_state(CycleState::InStep, now, ev);
        }
    }

    /// Back to uncoordinated operation (free, fixed time or flash).
    pub fn stop(&mut self, now: Instant, ev: &mut EventRing) {
        if self.run.take().is_some() {
            self.set_state(CycleState::Free, now, ev);
        }
    }

    /// One tick of coordinated operation: the directive for the engine, and the coordinated phases'
    /// recall added to `demand`. Returns None when no pattern runs.
    pub fn tick(
        &mut self,
        site: &Site,
        now: Instant,
        seen: Seen,
        engine: &Engine,
        demand: &mut Demand,
        ev: &mut EventRing,
    ) -> Option<Directive> {
        let Seen { local_ms, adaptive_end } = seen;
        let mut state = self.state;
        let mut cycles = 0;
        let directive = {
            let r = self.run.as_mut()?;
            let c = r.pattern.cycle_ms.max(1);
            let (ws, we) = r.layout.common_green();
            let in_window = |x: u32| x >= ws && x < we;
            let freeze_at = we.saturating_sub(FREEZE_LEAD_MS).max(ws);
            let dt = u32::try_from(now.since(r.last).min(u64::from(c))).unwrap_or(0);
            r.last = now;
            let prev = r.pos;
            // 1. Advance, or stop in the common green (lengthening, dwell).
            let mut advance = dt;
            if let Some(k) = r.corr.as_mut() {
                if matches!(k.kind, CycleState::Add | CycleState::Dwell) && in_window(r.pos) && r.pos >= freeze_at {
                    let stop = if k.kind == CycleState::Dwell {
                        dt
                    } else {
                        dt.min(k.remaining_ms)
                    };
                    k.remaining_ms -= stop.min(k.remaining_ms);
                    advance = dt - stop;
                }
            }
            r.pos = wrap(i64::from(r.pos) + i64::from(advance), c);
            if !in_window(r.pos) {
                r.visit_planned = false;
                if r.corr.is_some_and(|k| k.kind != CycleState::Dwell) {
                    r.corr = None;
                }
            }
            // 2. Against the target: in step, or decide this cycle's correction in the common green.
            if let Some(local) = local_ms {
                let target = Self::target(&r.pattern, &r.layout, local);
                let e = signed(r.pos, target, c);
                if e.unsigned_abs() <= u64::from(SNAP_MS) {
                    r.pos = target;
                    r.corr = None;
                    state = CycleState::InStep;
                } else if in_window(r.pos) && !r.visit_planned {
                    r.visit_planned = true;
                    let k = plan_correction(site, &r.pattern, &r.layout, e);
                    state = k.kind;
                    r.corr = Some(k);
                }
            }
            // 3. Shortening: jump ahead once every coordinated green has reached its min green.
            if let Some(k) = r.corr {
                if k.kind == CycleState::Subtract && in_window(r.pos) && coord_greens_ready(engine, &r.layout) {
                    let room = freeze_at.saturating_sub(r.pos);
                    r.pos += k.remaining_ms.min(room);
                    r.corr = None;
                }
            }
            if r.pos < prev && wrap(i64::from(r.pos) - i64::from(prev), c) < c / 2 {
                cycles += 1;
            }
            // 4. Yield points and the coordinated phases' hold.
            for (ri, ring) in engine.rings().iter().enumerate().take(site.rings.len().min(MAX_RINGS)) {
                let Some(cp) = r.layout.coord.get(ri).copied().flatten() else {
                    continue;
                };
                let fo = r.layout.force_off_ms.get(cp.index()).copied().unwrap_or(0);
                let green = ring.phase == Some(cp) && ring.interval == Interval::Green;
                let was = r.coord_green.get(ri).copied().unwrap_or(false);
                if green && !was {
                    let late = wrap(i64::from(r.pos) - i64::from(fo), c) < late_window(site, &r.pattern, cp, ri);
                    if let Some(h) = r.hold.get_mut(ri) {
                        *h = !late;
                    }
                }
                if let Some(g) = r.coord_green.get_mut(ri) {
                    *g = green;
                }
                let dist = wrap(i64::from(fo) - i64::from(prev), c);
                let moved = wrap(i64::from(r.pos) - i64::from(prev), c);
                if dist > 0 && dist <= moved {
                    ev.push(now, code::COORD_YIELD_POINT, u16::from(cp.number()));
                    if let Some(h) = r.hold.get_mut(ri) {
                        *h = false;
                    }
                }
            }
            directive(site, r, now, engine, adaptive_end, demand)
        };
        self.cycles += cycles;
        self.set_state(state, now, ev);
        Some(directive)
    }
}

fn secs(ms: u32) -> u16 {
    u16::try_from(ms.div_ceil(1000)).unwrap_or(u16::MAX).min(255)
}

/// Time after its yield point within which a coordinated green that starts has started late
/// (missed its yield point) rather than early: its change interval plus the shortest service of
/// another phase of its ring.
fn late_window(site: &Site, pat: &Pattern, cp: PhaseId, ring: usize) -> u32 {
    let other = site
        .rings
        .get(ring)
        .into_iter()
        .flat_map(|r| r.phases.iter())
        .filter(|q| **q != cp && pat.split(**q) > 0)
        .filter_map(|q| site.phase(*q).map(|ph| ph.min_green_ms + site.change_ms(*q)))
        .min()
        .unwrap_or(0);
    site.change_ms(cp) + other
}

/// Every coordinated phase is green and past its min green.
fn coord_greens_ready(engine: &Engine, l: &Layout) -> bool {
    l.coord.iter().enumerate().all(|(ri, c)| match c {
        None => true,
        Some(cp) => engine
            .rings()
            .get(ri)
            .is_some_and(|g| g.phase == Some(*cp) && g.interval == Interval::Green && g.min_done),
    })
}

/// This cycle's correction for a position `e` ms behind the target (negative: ahead).
fn plan_correction(site: &Site, pat: &Pattern, l: &Layout, e: i64) -> Correction {
    let c = pat.cycle_ms.max(1);
    let behind = wrap(e, c); // shortening needed to catch up
    let ahead = c - behind.min(c); // lengthening needed to wait
    if pat.transition == TransitionMode::Dwell {
        return Correction {
            kind: CycleState::Dwell,
            remaining_ms: u32::MAX,
        };
    }
    // Shortening leaves each coordinated phase its min green (or walk + pedestrian clearance).
    let slack = l
        .coord
        .iter()
        .flatten()
        .map(|cp| {
            let i = cp.index();
            let green = l.force_off_ms.get(i).copied().unwrap_or(0) - l.start_ms.get(i).copied().unwrap_or(0);
            green.saturating_sub(site.phase(*cp).map_or(u32::MAX, |ph| ph.min_green_with_ped_ms()))
        })
        .min()
        .unwrap_or(0)
        .min(l.common_green_ms().saturating_sub(FREEZE_LEAD_MS));
    let sub_max = (c * SHORTEN_PCT / 100).min(slack);
    let add_max = (c * LENGTHEN_PCT / 100).max(1);
    let sub_cycles = if sub_max == 0 {
        u32::MAX
    } else {
        behind.div_ceil(sub_max)
    };
    let add_cycles = ahead.div_ceil(add_max);
    if sub_cycles < add_cycles {
        Correction {
            kind: CycleState::Subtract,
            remaining_ms: behind.min(sub_max),
        }
    } else {
        Correction {
            kind: CycleState::Add,
            remaining_ms: ahead.min(add_max),
        }
    }
}

/// The engine directive at the running position.
fn directive(
    site: &Site,
    r: &Running,
    now: Instant,
    engine: &Engine,
    adaptive_end: PhaseSet,
    demand: &mut Demand,
) -> Directive {
    let c = r.pattern.cycle_ms.max(1);
    let pos = r.pos;
    let calls = engine
        .calls()
        .union(engine.ped_calls())
        .union(demand.veh)
        .union(demand.ped);
    let greens = engine.greens();
    let (mut force_off, mut gap_out, mut omit, mut no_walk) =
        (PhaseSet::EMPTY, PhaseSet::EMPTY, PhaseSet::EMPTY, PhaseSet::EMPTY);
    for (ri, ring) in site.rings.iter().enumerate().take(MAX_RINGS) {
        let Some(cp) = r.layout.coord.get(ri).copied().flatten() else {
            continue;
        };
        let yield_at = r.layout.force_off_ms.get(cp.index()).copied().unwrap_or(0);
        let hold = r.hold.get(ri).copied().unwrap_or(false);
        let ring_state = engine.rings().get(ri);
        for &p in ring.phases.iter() {
            let Some(ph) = site.phase(p) else { continue };
            let service = ph.ped.map_or(0, |pd| pd.service_ms());
            if p == cp {
                demand.veh.insert(p);
                if !hold {
                    force_off.insert(p);
                }
                let to_yield = wrap(i64::from(yield_at) - i64::from(pos), c);
                if !hold || to_yield < service {
                    no_walk.insert(p);
                }
                continue;
            }
            // Permissive window: from the ring's yield point to the force-off.
            let fo = force_off_point(site, r, ring.phases.as_slice(), p, calls);
            let window = wrap(i64::from(fo) - i64::from(yield_at), c);
            let rel = wrap(i64::from(pos) - i64::from(yield_at), c);
            if greens.contains(p) && rel >= window {
                force_off.insert(p);
            }
            if rel >= window || window - rel < ph.min_green_ms {
                omit.insert(p);
            }
            if rel >= window || window - rel < service {
                no_walk.insert(p);
            }
            let gap = if r.pattern.adaptive {
                adaptive_end.contains(p)
            } else {
                ph.recall != Recall::Max
                    && ring_state.is_some_and(|g| {
                        g.phase == Some(p)
                            && g.interval == Interval::Green
                            && g.ped == PedInterval::DontWalk
                            && now.since(g.last_actuation) >= u64::from(ph.passage_ms)
                    })
            };
            if gap {
                gap_out.insert(p);
            }
        }
    }
    // A coordinated green yields only to a call that may be served now: with nothing else to serve
    // it rests in green, also at a site that otherwise rests in red.
    let coord = r.pattern.coordinated_set();
    if calls.difference(omit).difference(coord).is_empty() {
        force_off = force_off.difference(coord);
    }
    Directive::Coordinated {
        force_off,
        gap_out,
        omit,
        no_walk,
    }
}

/// The force-off point of non-coordinated phase `p`: its split end less its change interval; in
/// an adaptive pattern, the split end of the last uncalled phase after it in its ring and barrier
/// group (never past the group, so the coordinated phases' start and yield points stay).
fn force_off_point(site: &Site, r: &Running, ring: &[PhaseId], p: PhaseId, calls: PhaseSet) -> u32 {
    let i = p.index();
    let own = r.layout.force_off_ms.get(i).copied().unwrap_or(0);
    if !r.pattern.adaptive {
        return own;
    }
    let change = site.change_ms(p);
    let group = site.group_of(p);
    let mut end = r.layout.start_ms.get(i).copied().unwrap_or(0) + r.pattern.split(p);
    let coord = r.pattern.coordinated_set();
    // Phases of the ring and group after `p`, in layout order.
    for _ in 0..MAX_PHASES {
        let next = ring.iter().copied().find(|q| {
            site.group_of(*q) == group
                && r.layout.start_ms.get(q.index()).copied() == Some(end)
                && r.pattern.split(*q) > 0
        });
        match next {
            Some(q) if !coord.contains(q) && !calls.contains(q) => end += r.pattern.split(q),
            _ => break,
        }
    }
    end.saturating_sub(change).max(own)
}
