//! Persistent controller state (learned flows, lifetime counters, fault history) kept by a
//! background thread, so the control thread never touches the disk.
//!
//! At start-up [`StateKeeper::start`] loads each record (a damaged or truncated file is reported and
//! replaced by defaults, `events::persist`), and the learned flows seed the Webster fail-safe plan:
//! after a reboot the fixed-time plan reflects the traffic measured before it, not only the design
//! volumes, and never on less than the flows of the last hour of trusted detection
//! (`plan::hour`). While running, the control thread offers snapshots through a fixed SPSC queue; the
//! thread writes them atomically. Each file is saved on its own, so one that cannot be written
//! (disk full, read-only medium, a directory in its place) does not keep the others from being
//! saved. Every failed file is counted (here, and in the saved counters' `persist_failures`) and
//! logged once when it starts failing and once when it is saved again; the controller keeps
//! running; the next successful save of that file clears its fault.

use crate::events::persist::{
    Counters, FaultHistory, LearnedFlows, LoadOutcome, PersistError, Record, SaturationFlows, Store,
};
use crate::plan::hour::HourFlows;
use crate::runtime::controller::Controller;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Snapshots queued to the writer.
pub const STATE_QUEUE: usize = 4;

/// Everything saved at once.
#[derive(Clone, Debug, Default)]
pub struct StateSnapshot {
    pub flows: LearnedFlows,
    pub saturation: SaturationFlows,
    pub hour: HourFlows,
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
            saturation: SaturationFlows {
                vphpl: *c.planner().saturation().vphpl(),
                cycles: *c.planner().saturation().cycles(),
            },
            hour: *c.planner().hour(),
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
    pub saturation: SaturationFlows,
    pub hour: HourFlows,
    pub counters: Counters,
    pub faults: FaultHistory,
    /// One line per record: loaded / missing / damaged (why), with the level to log it at
    /// (damage is a warning: learned state was lost).
    pub report: [(log::Level, String); 5],
}

/// The state writer's counters, per file save. `Copy`, read without locks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateHealth {
    /// File saves that succeeded.
    pub saves: u64,
    /// File saves that failed.
    pub failures: u64,
    /// A file's last save failed and it has not been saved since.
    pub failing: bool,
    /// Snapshots not queued because the writer was behind (a later one supersedes them).
    pub skipped: u64,
    /// errno of the most recent failure (0 = never failed).
    pub last_errno: i32,
}

/// One state file's writer-side view: saves it and logs its failure episodes.
fn save_file<R: Record>(store: &mut Store<R>, value: &R, shared: &Shared) {
    let was_failing = store.fault().is_some();
    match store.save(value) {
        Ok(()) => {
            shared.saves.fetch_add(1, Ordering::Relaxed);
            if was_failing {
                log::warn!("{} saved again; its storage fault is cleared", store.path().display());
            }
        }
        Err(e) => {
            // `failing` before the count, so a reader that sees the new count sees the episode too.
            shared.failing.store(true, Ordering::Release);
            shared.failures.fetch_add(1, Ordering::Release);
            if let PersistError::Io(n) = e {
                shared.last_errno.store(n, Ordering::Relaxed);
            }
            if !was_failing {
                log::error!(
                    "cannot save {}: {e}; running on, counting failures and retrying",
                    store.path().display()
                );
            }
        }
    }
}

#[derive(Default)]
struct Shared {
    done: AtomicBool,
    failing: AtomicBool,
    failures: AtomicU64,
    saves: AtomicU64,
    last_errno: AtomicI32,
}

type Queue = heapless::spsc::Queue<StateSnapshot, STATE_QUEUE>;

pub struct StateKeeper {
    producer: heapless::spsc::Producer<'static, StateSnapshot>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// Snapshots not queued because the writer was behind.
    pub skipped: u64,
}

fn describe<R: Record>(name: &str, store: &Store<R>, o: LoadOutcome) -> (log::Level, String) {
    match o {
        LoadOutcome::Loaded => (log::Level::Info, format!("{name}: loaded")),
        LoadOutcome::Missing => (log::Level::Info, format!("{name}: none yet (defaults)")),
        LoadOutcome::Damaged(d) => (
            log::Level::Warn,
            match store.kept_corrupt() {
                Some(p) => format!("{name}: DAMAGED ({d}); kept as {}, defaults used", p.display()),
                None => format!("{name}: DAMAGED ({d}); could not be kept aside, defaults used"),
            },
        ),
        LoadOutcome::Unreadable(e) => (
            log::Level::Warn,
            format!(
                "{name}: unreadable ({}); defaults used",
                std::io::Error::from_raw_os_error(e)
            ),
        ),
    }
}

impl StateKeeper {
    /// Opens the stores in `dir` (created if missing), loads them, starts the writer.
    pub fn start(dir: &Path) -> Result<(StateKeeper, Loaded), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("state directory {}: {e}", dir.display()))?;
        let mut flows_store = Store::<LearnedFlows>::new(dir)?;
        let mut counters_store = Store::<Counters>::new(dir)?;
        let mut faults_store = Store::<FaultHistory>::new(dir)?;
        let mut saturation_store = Store::<SaturationFlows>::new(dir)?;
        let mut hour_store = Store::<HourFlows>::new(dir)?;
        let (flows, fo) = flows_store.load();
        let (saturation, so) = saturation_store.load();
        let (hour, po) = hour_store.load();
        let (mut counters, co) = counters_store.load();
        let (faults, ho) = faults_store.load();
        counters.boots += 1;
        let loaded = Loaded {
            flows,
            saturation,
            hour,
            counters,
            faults,
            report: [
                describe("learned flows", &flows_store, fo),
                describe("counters", &counters_store, co),
                describe("fault history", &faults_store, ho),
                describe("saturation flows", &saturation_store, so),
                describe("hourly flows", &hour_store, po),
            ],
        };
        // Allocated once at start-up and shared for the life of the process.
        let queue: &'static mut Queue = Box::leak(Box::new(Queue::new()));
        let (producer, mut consumer) = queue.split();
        let shared = Arc::new(Shared::default());
        let sh = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("state".into())
            .spawn(move || loop {
                let finishing = sh.done.load(Ordering::Acquire);
                let mut any = false;
                while let Some(mut snap) = consumer.dequeue() {
                    any = true;
                    // Each file on its own: one that cannot be written does not stop the others.
                    save_file(&mut flows_store, &snap.flows, &sh);
                    save_file(&mut saturation_store, &snap.saturation, &sh);
                    save_file(&mut hour_store, &snap.hour, &sh);
                    save_file(&mut faults_store, &snap.faults, &sh);
                    // The counters go last so they carry this run's failed saves, this round's too.
                    snap.counters.persist_failures += sh.failures.load(Ordering::Relaxed);
                    save_file(&mut counters_store, &snap.counters, &sh);
                    let failing = flows_store.fault().is_some()
                        || saturation_store.fault().is_some()
                        || hour_store.fault().is_some()
                        || faults_store.fault().is_some()
                        || counters_store.fault().is_some();
                    sh.failing.store(failing, Ordering::Release);
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
                shared,
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

    /// A file's save failed and no later save of it succeeded yet.
    pub fn failing(&self) -> bool {
        self.shared.failing.load(Ordering::Acquire)
    }

    /// File saves that failed.
    pub fn failures(&self) -> u64 {
        self.shared.failures.load(Ordering::Acquire)
    }

    /// File saves that succeeded.
    pub fn saves(&self) -> u64 {
        self.shared.saves.load(Ordering::Relaxed)
    }

    /// The counters now (atomic loads; no lock, no allocation).
    pub fn health(&self) -> StateHealth {
        StateHealth {
            saves: self.saves(),
            failures: self.failures(),
            failing: self.failing(),
            skipped: self.skipped,
            last_errno: self.shared.last_errno.load(Ordering::Relaxed),
        }
    }

    /// Writes what is queued, stops the writer and returns the final counters.
    pub fn finish(mut self) -> StateHealth {
        self.shared.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("the state writer panicked; the last state may not be saved");
            }
        }
        self.health()
    }
}
