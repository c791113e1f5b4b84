//! Persistent controller state (learned flows, lifetime counters, fault history) kept by a
//! background thread, so the control thread never touches the disk.
//!
//! At start-up [`StateKeeper::start`] loads each record (a damaged or truncated file is reported and
//! replaced by defaults, `events::persist`), and the learned flows seed the Webster fail-safe plan:
//! after a reboot the fixed-time plan reflects the traffic measured before it, not only the design
//! volumes. While running, the control thread offers snapshots through a fixed SPSC queue; the
//! thread writes them atomically. A failed write (disk full, read-only medium) is counted and
//! logged and the controller keeps running; the next successful save clears the fault.

use crate::events::persist::{Counters, FaultHistory, LearnedFlows, LoadOutcome, Store};
use crate::runtime::controller::Controller;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Snapshots queued to the writer.
pub const STATE_QUEUE: usize = 4;

/// Everything saved at once.
#[derive(Clone, Debug, Default)]
pub struct StateSnapshot {
    pub flows: LearnedFlows,
    pub counters: Counters,
    pub faults: FaultHistory,
}

impl StateSnapshot {
    /// What the controller knows now, on top of the counters loaded at start-up.
    /// `prior_cycles`: cycles the flows loaded at start-up summarised.
    pub fn of(c: &Controller, base: &Counters, prior_cycles: u32, unix_s: i64) -> StateSnapshot {
        let s = c.status();
        let mut faults = FaultHistory::default();
        for f in c.monitor().history() {
            let _ = faults.faults.push(*f);
        }
        StateSnapshot {
            flows: LearnedFlows {
                flows_vph: *c.planner().flows_vph(),
                cycles: prior_cycles.saturating_add(u32::try_from(s.replans).unwrap_or(u32::MAX)),
                updated_unix_s: unix_s,
            },
            counters: Counters {
                boots: base.boots,
                ticks: base.ticks + s.ticks,
                cycles: base.cycles + s.cycles,
                faults: base.faults + u64::from(s.faults_total),
                events_logged: base.events_logged + s.events_total,
                events_dropped: base.events_dropped + s.events_dropped,
                persist_failures: base.persist_failures,
            },
            faults,
        }
    }
}

/// What start-up found on disk.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub flows: LearnedFlows,
    pub counters: Counters,
    pub faults: FaultHistory,
    /// One line per record: loaded / missing / damaged (why).
    pub report: [String; 3],
}

type Queue = heapless::spsc::Queue<StateSnapshot, STATE_QUEUE>;

pub struct StateKeeper {
    producer: heapless::spsc::Producer<'static, StateSnapshot>,
    done: Arc<AtomicBool>,
    failing: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
    saves: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    /// Snapshots not queued because the writer was behind.
    pub skipped: u64,
}

fn describe(name: &str, o: LoadOutcome) -> String {
    match o {
        LoadOutcome::Loaded => format!("{name}: loaded"),
        LoadOutcome::Missing => format!("{name}: none yet (defaults)"),
        LoadOutcome::Damaged(d) => format!("{name}: DAMAGED ({d}); kept as .corrupt, defaults used"),
        LoadOutcome::Unreadable(e) => format!("{name}: unreadable (errno {e}); defaults used"),
    }
}

impl StateKeeper {
    /// Opens the stores in `dir` (created if missing), loads them, starts the writer.
    pub fn start(dir: &Path) -> Result<(StateKeeper, Loaded), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("state directory {}: {e}", dir.display()))?;
        let mut flows_store = Store::<LearnedFlows>::new(dir)?;
        let mut counters_store = Store::<Counters>::new(dir)?;
        let mut faults_store = Store::<FaultHistory>::new(dir)?;
        let (flows, fo) = flows_store.load();
        let (mut counters, co) = counters_store.load();
        let (faults, ho) = faults_store.load();
        counters.boots += 1;
        let loaded = Loaded {
            flows,
            counters,
            faults,
            report: [
                describe("learned flows", fo),
                describe("counters", co),
                describe("fault history", ho),
            ],
        };
        // Allocated once at start-up and shared for the life of the process.
        let queue: &'static mut Queue = Box::leak(Box::new(Queue::new()));
        let (producer, mut consumer) = queue.split();
        let done = Arc::new(AtomicBool::new(false));
        let failing = Arc::new(AtomicBool::new(false));
        let failures = Arc::new(AtomicU64::new(0));
        let saves = Arc::new(AtomicU64::new(0));
        let (d2, f2, n2, s2) = (
            Arc::clone(&done),
            Arc::clone(&failing),
            Arc::clone(&failures),
            Arc::clone(&saves),
        );
        let thread = std::thread::Builder::new()
            .name("state".into())
            .spawn(move || loop {
                let finishing = d2.load(Ordering::Acquire);
                let mut any = false;
                while let Some(snap) = consumer.dequeue() {
                    any = true;
                    let r = flows_store
                        .save(&snap.flows)
                        .and_then(|_| counters_store.save(&snap.counters))
                        .and_then(|_| faults_store.save(&snap.faults));
                    match r {
                        Ok(()) => {
                            if f2.swap(false, Ordering::AcqRel) {
                                log::info!("state files written again; the storage fault is cleared");
                            }
                            s2.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            n2.fetch_add(1, Ordering::Relaxed);
                            if !f2.swap(true, Ordering::AcqRel) {
                                log::error!("cannot save controller state ({e:?}); running on, will retry");
                            }
                        }
                    }
                }
                if finishing && !any {
                    break;
                }
                if !any {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            })
            .map_err(|e| format!("cannot start the state writer: {e}"))?;
        Ok((
            StateKeeper {
                producer,
                done,
                failing,
                failures,
                saves,
                thread: Some(thread),
                skipped: 0,
            },
            loaded,
        ))
    }

    /// Queue a snapshot for writing (never blocks; a full queue skips this one).
    pub fn offer(&mut self, snap: StateSnapshot) {
        if self.producer.enqueue(snap).is_err() {
            self.skipped += 1;
        }
    }

    /// Queue a snapshot, waiting for room (shutdown only: the final state must not be skipped).
    pub fn offer_wait(&mut self, snap: StateSnapshot) {
        let mut snap = snap;
        loop {
            match self.producer.enqueue(snap) {
                Ok(()) => return,
                Err(back) if self.thread.as_ref().is_some_and(|t| !t.is_finished()) => {
                    snap = back;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(_) => {
                    self.skipped += 1;
                    return;
                }
            }
        }
    }

    /// A save failed and no later save succeeded yet.
    pub fn failing(&self) -> bool {
        self.failing.load(Ordering::Acquire)
    }

    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    pub fn saves(&self) -> u64 {
        self.saves.load(Ordering::Relaxed)
    }

    /// Writes what is queued and stops the writer.
    pub fn finish(mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
