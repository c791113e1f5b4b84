//! Frame ring: N preallocated grayscale slots shared by one capture and one detection thread.
//!
//! Slot states: free → filled (by the writer) → leased (by the reader) → free. The writer takes a
//! free slot, else the oldest filled one (that unread frame is dropped and counted); it never
//! touches a leased or pinned slot, and if every other slot is taken the new frame is dropped and
//! counted. [`FrameRing::copy_newest`] pins the newest frame's slot while copying it out (for
//! snapshots): the frame stays where it was for the detection side, and is not overwritten meanwhile.
//! The reader leases the newest filled frame; older filled frames it skips are counted too. Each
//! slot has its own mutex (the writer fills one slot while the reader works on another without
//! contention) and a small mutex guards the bookkeeping. Everything is allocated in [`FrameRing::new`].

use crate::time::Instant;
use std::sync::{Mutex, MutexGuard};

/// Largest frame accepted (1920 × 1080 luma).
pub const MAX_FRAME_BYTES: usize = 1920 * 1080;
/// Most slots per camera.
pub const MAX_SLOTS: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    Filled {
        seq: u64,
        at: Instant,
    },
    Leased,
    /// Being copied out by [`FrameRing::copy_newest`]; `filled`: unread by the reader before.
    Pinned {
        seq: u64,
        at: Instant,
        filled: bool,
    },
}

/// Ring counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    pub written: u64,
    /// Filled frames overwritten before the reader got to them.
    pub dropped_unread: u64,
    /// Frames skipped by the reader because a newer one was there.
    pub skipped: u64,
    /// Frames lost because every other slot was leased.
    pub dropped_full: u64,
    pub leased: u64,
}

struct Meta {
    states: [State; MAX_SLOTS],
    seq: u64,
    last_write: Option<Instant>,
    /// Slot, sequence and time of the newest frame written, while its slot still holds it.
    newest: Option<(usize, u64, Instant)>,
    stats: RingStats,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RingError {
    Size { width: u32, height: u32 },
    Slots(usize),
}

impl core::fmt::Display for RingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RingError::Size { width, height } => write!(
                f,
                "frame size {width}x{height} is not supported (1..=1920 x 1..=1080 luma; fix camera.width/height)"
            ),
            RingError::Slots(n) => write!(f, "{n} frame slots: use 2 to {MAX_SLOTS} (camera.slots)"),
        }
    }
}

pub struct FrameRing {
    width: u32,
    height: u32,
    slots: Vec<Mutex<Box<[u8]>>>,
    meta: Mutex<Meta>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking holder cannot leave a frame half-valid in a way that matters more than losing
    // the camera; keep going with the data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FrameRing {
    /// Allocates `slots` frames of `width` × `height` bytes (start-up only).
    pub fn new(slots: usize, width: u32, height: u32) -> Result<FrameRing, RingError> {
        let bytes = (width as usize).saturating_mul(height as usize);
        if width == 0 || height == 0 || width > 1920 || height > 1080 || bytes > MAX_FRAME_BYTES {
            return Err(RingError::Size { width, height });
        }
        if !(2..=MAX_SLOTS).contains(&slots) {
            return Err(RingError::Slots(slots));
        }
        Ok(FrameRing {
            width,
            height,
            slots: (0..slots)
                .map(|_| Mutex::new(vec![0u8; bytes].into_boxed_slice()))
                .collect(),
            meta: Mutex::new(Meta {
                states: [State::Free; MAX_SLOTS],
                seq: 0,
                last_write: None,
                newest: None,
                stats: RingStats::default(),
            }),
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn stats(&self) -> RingStats {
        lock(&self.meta).stats
    }

    /// No frame written for more than `stale_ms` (or never).
    pub fn stale(&self, now: Instant, stale_ms: u32) -> bool {
        lock(&self.meta)
            .last_write
            .is_none_or(|t| now.since(t) > u64::from(stale_ms))
    }

    /// Writes one frame captured at `at`: `fill` gets the slot's bytes. Returns false if the frame
    /// was dropped (every other slot leased) or `fill` failed.
    pub fn write<E>(&self, at: Instant, fill: impl FnOnce(&mut [u8]) -> Result<(), E>) -> Result<bool, E> {
        let n = self.slots.len();
        let idx = {
            let mut m = lock(&self.meta);
            let free = (0..n).find(|i| m.states.get(*i) == Some(&State::Free));
            let oldest = (0..n)
                .filter_map(|i| match m.states.get(i) {
                    Some(State::Filled { seq, .. }) => Some((*seq, i)),
                    _ => None,
                })
                .min()
                .map(|(_, i)| i);
            match (free, oldest) {
                (Some(i), _) => Some(i),
                (None, Some(i)) => {
                    m.stats.dropped_unread += 1;
                    Some(i)
                }
                (None, None) => {
                    m.stats.dropped_full += 1;
                    None
                }
            }
            .inspect(|i| {
                // Reserved for writing: the reader cannot lease it meanwhile.
                if let Some(s) = m.states.get_mut(*i) {
                    *s = State::Leased;
                }
                // The slot's old frame is gone (or half-gone) from here on.
                if m.newest.is_some_and(|(n, _, _)| n == *i) {
                    m.newest = None;
                }
            })
        };
        let Some(i) = idx else { return Ok(false) };
        let r = match self.slots.get(i) {
            Some(slot) => fill(&mut lock(slot)),
            None => return Ok(false),
        };
        let mut m = lock(&self.meta);
        match r {
            Ok(()) => {
                m.seq += 1;
                let seq = m.seq;
                if let Some(s) = m.states.get_mut(i) {
                    *s = State::Filled { seq, at };
                }
                m.last_write = Some(at);
                m.newest = Some((i, seq, at));
                m.stats.written += 1;
                Ok(true)
            }
            Err(e) => {
                if let Some(s) = m.states.get_mut(i) {
                    *s = State::Free;
                }
                Err(e)
            }
        }
    }

    /// Leases the newest frame, if any; the guard returns the slot when dropped.
    pub fn lease_latest(&self) -> Option<FrameLease<'_>> {
        let n = self.slots.len();
        let (i, at, seq) = {
            let mut m = lock(&self.meta);
            let newest = (0..n)
                .filter_map(|i| match m.states.get(i) {
                    Some(State::Filled { seq, at }) => Some((*seq, *at, i)),
                    _ => None,
                })
                .max()?;
            let (seq, at, i) = newest;
            // Older unread frames are skipped: detection always works on the newest view.
            for j in 0..n {
                if j != i {
                    if let Some(s @ State::Filled { .. }) = m.states.get_mut(j) {
                        *s = State::Free;
                        m.stats.skipped += 1;
                    }
                }
            }
            if let Some(s) = m.states.get_mut(i) {
                *s = State::Leased;
            }
            m.stats.leased += 1;
            (i, at, seq)
        };
        let data = lock(self.slots.get(i)?);
        Some(FrameLease {
            ring: self,
            index: i,
            data,
            at,
            seq,
        })
    }
}

impl FrameRing {
    /// Copies the newest frame written into `out` (`width × height` bytes) without taking it from
    /// the detection side, and returns when it was captured and its sequence number. `None` when
    /// no frame is held, `out` has the wrong size, or the newest frame is being processed by the
    /// detection side right now (try again a few milliseconds later). The slot is pinned while the
    /// copy runs, so the capture side writes elsewhere; it never waits for the copy.
    pub fn copy_newest(&self, out: &mut [u8]) -> Option<(Instant, u64)> {
        if out.len() != (self.width as usize) * (self.height as usize) {
            return None;
        }
        let (i, seq, at, filled) = {
            let mut m = lock(&self.meta);
            let (i, seq, at) = m.newest?;
            let slot = m.states.get_mut(i)?;
            let filled = match *slot {
                State::Free => false,
                State::Filled { seq: s, .. } if s == seq => true,
                _ => return None,
            };
            *slot = State::Pinned { seq, at, filled };
            (i, seq, at, filled)
        };
        if let Some(slot) = self.slots.get(i) {
            out.copy_from_slice(&lock(slot));
        }
        let mut m = lock(&self.meta);
        if let Some(s) = m.states.get_mut(i) {
            *s = if filled { State::Filled { seq, at } } else { State::Free };
        }
        Some((at, seq))
    }
}

/// A leased frame; dropping it frees the slot.
pub struct FrameLease<'a> {
    ring: &'a FrameRing,
    index: usize,
    data: MutexGuard<'a, Box<[u8]>>,
    pub at: Instant,
    pub seq: u64,
}

impl FrameLease<'_> {
    pub fn pixels(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for FrameLease<'_> {
    fn drop(&mut self) {
        let mut m = lock(&self.ring.meta);
        if let Some(s) = m.states.get_mut(self.index) {
            *s = State::Free;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(r: &FrameRing, t: u64, v: u8) -> bool {
        r.write(Instant(t), |b: &mut [u8]| -> Result<(), ()> {
            b.fill(v);
            Ok(())
        })
        .unwrap()
    }

    #[test]
    fn newest_frame_is_leased_and_drops_are_counted() {
        let r = FrameRing::new(3, 4, 2).unwrap();
        assert!(r.lease_latest().is_none());
        assert!(put(&r, 0, 1) && put(&r, 100, 2) && put(&r, 200, 3));
        // Ring full of unread frames: the oldest is overwritten.
        assert!(put(&r, 300, 4));
        assert_eq!(r.stats().dropped_unread, 1);
        {
            let l = r.lease_latest().unwrap();
            assert_eq!(l.pixels()[0], 4);
            assert_eq!(l.at, Instant(300));
            // While leased, writes go to the other slots.
            assert!(put(&r, 400, 5) && put(&r, 500, 6));
            assert!(put(&r, 600, 7), "oldest unread (400) overwritten, never the leased one");
            assert_eq!(l.pixels()[0], 4);
        }
        let l = r.lease_latest().unwrap();
        assert_eq!(l.pixels()[0], 7);
        assert!(r.stats().skipped >= 2);
    }

    #[test]
    fn the_newest_frame_is_copied_without_taking_it_from_detection() {
        let r = FrameRing::new(2, 4, 2).unwrap();
        let mut out = [0u8; 8];
        assert_eq!(r.copy_newest(&mut out), None, "no frame yet");
        put(&r, 100, 1);
        put(&r, 200, 2);
        assert_eq!(r.copy_newest(&mut out), Some((Instant(200), 2)));
        assert_eq!(out, [2; 8]);
        // Detection still gets it.
        let l = r.lease_latest().unwrap();
        assert_eq!((l.pixels()[0], l.seq), (2, 2));
        assert_eq!(r.copy_newest(&mut out), None, "being processed");
        drop(l);
        // Consumed by detection, still held in its slot: a snapshot can copy it.
        out = [0; 8];
        assert_eq!(r.copy_newest(&mut out), Some((Instant(200), 2)));
        assert_eq!(out, [2; 8]);
        // Overwritten: the next frame is the newest.
        put(&r, 300, 3);
        put(&r, 400, 4);
        assert_eq!(r.copy_newest(&mut out), Some((Instant(400), 4)));
        assert_eq!(r.copy_newest(&mut [0u8; 3]), None, "wrong size");
    }

    #[test]
    fn sizes_are_checked_and_staleness_seen() {
        assert!(FrameRing::new(1, 4, 4).is_err());
        assert!(FrameRing::new(4, 0, 4).is_err());
        assert!(FrameRing::new(4, 4000, 4).is_err());
        let r = FrameRing::new(2, 4, 4).unwrap();
        assert!(r.stale(Instant(0), 500), "no frame yet");
        put(&r, 1000, 1);
        assert!(!r.stale(Instant(1400), 500));
        assert!(r.stale(Instant(1600), 500));
        // A failed capture leaves the slot free and the error with the caller.
        assert_eq!(r.write(Instant(2000), |_: &mut [u8]| Err("EIO")), Err("EIO"));
    }

    #[test]
    fn capture_and_detection_threads_share_the_ring() {
        let r = std::sync::Arc::new(FrameRing::new(4, 64, 48).unwrap());
        let w = std::sync::Arc::clone(&r);
        let writer = std::thread::spawn(move || {
            for k in 0..2000u64 {
                put(&w, k, (k % 251) as u8);
            }
        });
        let mut seen = 0;
        let mut last_seq = 0;
        while !writer.is_finished() || seen == 0 {
            if let Some(l) = r.lease_latest() {
                assert!(l.seq > last_seq, "frames come in order");
                last_seq = l.seq;
                let v = l.pixels()[0];
                assert!(l.pixels().iter().all(|p| *p == v), "a frame is never torn");
                seen += 1;
            }
        }
        writer.join().unwrap();
        let s = r.stats();
        assert_eq!(s.written + s.dropped_full, 2000);
        assert!(seen > 0);
    }
}
