//! A counting `#[global_allocator]` for the zero-allocation proofs (docs/conventions.md 20): it
//! forwards every call to the system allocator and, while `COUNTING` is set on the calling thread,
//! counts allocations and reallocations in `ALLOCS`. Only the thread that armed it counts, so the
//! test harness's own thread (which allocates to report a slow test) cannot make the proof flaky.
//! Include with `#[path = "support/counting_alloc.rs"] mod counting_alloc;`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
}

/// Arms or disarms counting for the calling thread (`store` mirrors an atomic flag's API).
pub struct Switch;

impl Switch {
    pub fn store(&self, on: bool, _order: Ordering) {
        ON.with(|c| c.set(on));
    }
}

pub static COUNTING: Switch = Switch;
pub static ALLOCS: AtomicU64 = AtomicU64::new(0);

fn counting() -> bool {
    ON.try_with(|c| c.get()).unwrap_or(false)
}

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;
