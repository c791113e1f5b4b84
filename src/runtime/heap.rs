//! Heap accounting for the `greenwave` binary: a counting global allocator.
//!
//! [`Counting`] forwards every call unchanged to the system allocator and keeps two relaxed atomic
//! counters, bytes in use and allocations made, so a run can print its heap after start-up and at
//! the end (docs/architecture.md, Memory and bounds: months of running with flat memory). Only the
//! binary installs it (`#[global_allocator]` in `main.rs`); without it [`in_use_bytes`] and
//! [`allocations`] stay 0.
//!
//! Cost: two relaxed atomic adds per allocation, nothing on the control path (which does not
//! allocate after start-up).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

static IN_USE: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counted.
pub struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the wrapper only updates
// counters, which never affects the pointers or layouts handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            IN_USE.fetch_add(layout.size() as u64, Ordering::Relaxed);
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            IN_USE.fetch_add(layout.size() as u64, Ordering::Relaxed);
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            IN_USE.fetch_add(new_size as u64, Ordering::Relaxed);
            IN_USE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
}

/// Whether [`Counting`] is the global allocator (it has counted something: a process that installs
/// it allocates before `main`).
pub fn installed() -> bool {
    allocations() > 0
}

/// Bytes currently allocated through [`Counting`] (0 when it is not the global allocator).
pub fn in_use_bytes() -> u64 {
    IN_USE.load(Ordering::Relaxed)
}

/// Allocations (and reallocations) made through [`Counting`] since the process started.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}
