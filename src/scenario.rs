//! Scenario pool: a fixed number of slots for planning-cycle contexts (docs/architecture.md, Memory
//! and bounds).
//!
//! A *scenario* is the work context of one planning cycle (flows measured over the cycle, the plan
//! computed from them). It lives in one of `N` preallocated slots and goes through
//!
//! ```text
//!   Free → Created → Running → Completed | Failed → Closed → Free
//! ```
//!
//! [`ScenarioPool::acquire`] hands out a [`ScenarioGuard`]; dropping the guard closes the slot on
//! every path — early return, `?`, or a panic unwinding through it — and a guard dropped without
//! [`ScenarioGuard::complete`] counts as failed. Finishing after the deadline counts as timed out.
//! The pool never grows: when every slot is taken, `acquire` returns `None` and the exhaustion is
//! counted (a fault the console shows), it does not allocate.
//!
//! Single-threaded (interior `Cell`/`RefCell`); the control thread owns it. O(N) per acquire.

use crate::time::Instant;
use core::cell::{Cell, RefCell, RefMut};

/// Lifecycle state of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScenarioState {
    Free,
    Created,
    Running,
    Completed,
    Failed,
    Closed,
}

/// Pool counters (shown by the console's `scenarios` command).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub created: u64,
    pub completed: u64,
    pub failed: u64,
    pub timed_out: u64,
    /// `acquire` found no free slot.
    pub exhausted: u64,
    pub in_use: u32,
    pub capacity: u32,
}

struct Slot<T> {
    state: Cell<ScenarioState>,
    deadline: Cell<Instant>,
    ctx: RefCell<T>,
}

/// `N` preallocated scenario slots holding a `T` each.
pub struct ScenarioPool<T, const N: usize> {
    slots: [Slot<T>; N],
    stats: Cell<PoolStats>,
}

impl<T: Default, const N: usize> Default for ScenarioPool<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Default, const N: usize> ScenarioPool<T, N> {
    const CAPACITY_OK: () = assert!(N > 1, "a scenario pool needs at least two slots");

    pub fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_OK;
        ScenarioPool {
            slots: core::array::from_fn(|_| Slot {
                state: Cell::new(ScenarioState::Free),
                deadline: Cell::new(Instant::ZERO),
                ctx: RefCell::new(T::default()),
            }),
            stats: Cell::new(PoolStats {
                capacity: N as u32,
                ..PoolStats::default()
            }),
        }
    }
}

impl<T, const N: usize> ScenarioPool<T, N> {
    pub fn stats(&self) -> PoolStats {
        self.stats.get()
    }

    /// Continues the counters of a pool this one replaces (a configuration reload): created,
    /// completed, failed, timed out and exhausted carry on; slots in use and capacity are this
    /// pool's own.
    pub fn carry_stats(&self, from: PoolStats) {
        self.update(|s| {
            s.created += from.created;
            s.completed += from.completed;
            s.failed += from.failed;
            s.timed_out += from.timed_out;
            s.exhausted += from.exhausted;
        });
    }

    fn update(&self, f: impl FnOnce(&mut PoolStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// Takes a free slot for a scenario that must finish by `deadline`. `init` prepares the context
    /// in place (the slot's previous contents are overwritten, nothing is allocated).
    pub fn acquire(&self, deadline: Instant, init: impl FnOnce(&mut T)) -> Option<ScenarioGuard<'_, T>> {
        let Some((index, slot)) = self
            .slots
            .iter()
            .enumerate()
            .find(|(_, s)| s.state.get() == ScenarioState::Free)
        else {
            self.update(|s| s.exhausted += 1);
            return None;
        };
        let Ok(mut ctx) = slot.ctx.try_borrow_mut() else {
            self.update(|s| s.exhausted += 1);
            return None;
        };
        init(&mut ctx);
        drop(ctx);
        slot.state.set(ScenarioState::Created);
        slot.deadline.set(deadline);
        self.update(|s| {
            s.created += 1;
            s.in_use += 1;
        });
        Some(ScenarioGuard {
            slot,
            pool_stats: &self.stats,
            index,
        })
    }

    /// State of slot `i` (for status displays and tests).
    pub fn state(&self, i: usize) -> Option<ScenarioState> {
        self.slots.get(i).map(|s| s.state.get())
    }
}

/// Owns one slot until dropped; the drop closes it and returns it to the pool.
pub struct ScenarioGuard<'a, T> {
    slot: &'a Slot<T>,
    pool_stats: &'a Cell<PoolStats>,
    index: usize,
}

impl<T> ScenarioGuard<'_, T> {
    pub fn index(&self) -> usize {
        self.index
    }

    pub fn state(&self) -> ScenarioState {
        self.slot.state.get()
    }

    /// Created → Running.
    pub fn start(&mut self) {
        if self.slot.state.get() == ScenarioState::Created {
            self.slot.state.set(ScenarioState::Running);
        }
    }

    /// The context, borrowed for the guard's lifetime (None if borrowed already).
    pub fn ctx(&self) -> Option<RefMut<'_, T>> {
        self.slot.ctx.try_borrow_mut().ok()
    }

    fn bump(&self, f: impl FnOnce(&mut PoolStats)) {
        let mut s = self.pool_stats.get();
        f(&mut s);
        self.pool_stats.set(s);
    }

    /// Running → Completed. Completing after the deadline counts as timed out (and failed: the
    /// result is late and must not be used). Returns whether the result may be used.
    pub fn complete(&mut self, now: Instant) -> bool {
        if !matches!(self.slot.state.get(), ScenarioState::Running | ScenarioState::Created) {
            return false;
        }
        if now > self.slot.deadline.get() {
            self.slot.state.set(ScenarioState::Failed);
            self.bump(|s| {
                s.timed_out += 1;
                s.failed += 1;
            });
            return false;
        }
        self.slot.state.set(ScenarioState::Completed);
        self.bump(|s| s.completed += 1);
        true
    }

    /// Running → Failed.
    pub fn fail(&mut self) {
        if matches!(self.slot.state.get(), ScenarioState::Running | ScenarioState::Created) {
            self.slot.state.set(ScenarioState::Failed);
            self.bump(|s| s.failed += 1);
        }
    }
}

impl<T> Drop for ScenarioGuard<'_, T> {
    fn drop(&mut self) {
        // Every path ends here: unfinished work is a failure; the slot is closed and freed.
        self.fail();
        self.slot.state.set(ScenarioState::Closed);
        self.slot.state.set(ScenarioState::Free);
        self.bump(|s| s.in_use = s.in_use.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_and_counters() {
        let pool: ScenarioPool<u32, 2> = ScenarioPool::new();
        {
            let mut g = pool.acquire(Instant(100), |c| *c = 7).unwrap();
            assert_eq!(g.state(), ScenarioState::Created);
            g.start();
            assert_eq!(*g.ctx().unwrap(), 7);
            assert!(g.complete(Instant(50)));
        }
        {
            let mut g = pool.acquire(Instant(100), |_| {}).unwrap();
            g.start();
            assert!(!g.complete(Instant(101)), "late result must not be used");
        }
        {
            let mut g = pool.acquire(Instant(100), |_| {}).unwrap();
            g.start(); // dropped without completing
        }
        let s = pool.stats();
        assert_eq!(
            (s.created, s.completed, s.failed, s.timed_out, s.in_use),
            (3, 1, 2, 1, 0)
        );
        assert_eq!(pool.state(0), Some(ScenarioState::Free));
    }

    #[test]
    fn exhaustion_is_counted_not_grown() {
        let pool: ScenarioPool<u8, 2> = ScenarioPool::new();
        let a = pool.acquire(Instant(1), |_| {});
        let b = pool.acquire(Instant(1), |_| {});
        assert!(a.is_some() && b.is_some());
        assert!(pool.acquire(Instant(1), |_| {}).is_none());
        assert_eq!(pool.stats().exhausted, 1);
        drop(a);
        assert!(pool.acquire(Instant(1), |_| {}).is_some());
    }

    #[test]
    fn panic_closes_the_slot() {
        let pool: ScenarioPool<u8, 2> = ScenarioPool::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut g = pool.acquire(Instant(1), |_| {}).unwrap();
            g.start();
            panic!("planner bug");
        }));
        assert!(r.is_err());
        let s = pool.stats();
        assert_eq!((s.failed, s.in_use), (1, 0));
        assert_eq!(pool.state(0), Some(ScenarioState::Free));
    }
}
