//! Persistent controller state across reboots: fault history, lifetime counters and the learned
//! flow statistics the Webster fail-safe plan starts from after a reboot (docs/safety.md 6: the
//! fallback uses the last trusted flows, not only the design volumes).
//!
//! Each record lives in its own file so a damaged one costs only itself. The file is a small header
//! — magic `GWPS`, format version, record kind, payload length, CRC-32 (IEEE) over header and
//! payload — followed by the record in postcard. Writes are atomic: the new content goes to
//! `FILE.tmp`, is fsync'd, renamed over `FILE`, and the directory is fsync'd; a crash or SIGTERM at
//! any point leaves either the old or the new file, never a mix. On load, a missing file gives the
//! defaults, and a truncated, bit-flipped or foreign file is *reported* and gives the defaults —
//! never a panic; the damaged file is kept as `FILE.corrupt.N` (numbered, never overwritten, the
//! newest [`CORRUPT_KEEP`] kept). A failed write (disk full) is returned as a `Copy` error the runtime shows as a
//! fault; the controller keeps running and the last committed file stays intact.
//!
//! Cost: one record ≤ [`RECORD_MAX`] bytes, encoded on the stack; saving does not allocate (paths
//! are built once in [`Store::new`]).

use crate::fault::Fault;
use crate::limits::{FAULT_HISTORY, MAX_PHASES};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Largest encoded record (the fault history, 32 faults of ~30 bytes, is the biggest).
pub const RECORD_MAX: usize = 4096;
const MAGIC: [u8; 4] = *b"GWPS";
/// Bump when a record's layout changes; an older file is then reported and replaced by defaults.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes of the file header in front of the postcard body.
pub const HEADER: usize = 4 + 2 + 2 + 4 + 4;
/// Damaged copies kept per record (`FILE.corrupt.1`, `.2`, …): the newest are kept, the oldest
/// deleted beyond this, so a flash card that keeps corrupting a file cannot fill the partition.
pub const CORRUPT_KEEP: usize = 8;

/// A record type kept in its own file.
pub trait Record: Serialize + DeserializeOwned + Default {
    /// File kind number (guards against loading one record's file as another).
    const KIND: u16;
    /// File name inside the state directory.
    const FILE: &'static str;
}

/// Faults latched by the monitor, oldest first (the same history `faults` shows).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultHistory {
    pub faults: heapless::Vec<Fault, FAULT_HISTORY>,
}

impl Record for FaultHistory {
    const KIND: u16 = 1;
    const FILE: &'static str = "faults.bin";
}

/// Lifetime counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub boots: u64,
    pub ticks: u64,
    pub cycles: u64,
    pub faults: u64,
    pub events_logged: u64,
    pub events_dropped: u64,
    pub persist_failures: u64,
}

impl Record for Counters {
    const KIND: u16 = 2;
    const FILE: &'static str = "counters.bin";
}

/// Flow statistics learned from trusted detection, per phase index (veh/h), with how many cycles
/// they summarise. The Webster fallback after a reboot starts from these instead of design volumes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LearnedFlows {
    pub flows_vph: [f32; MAX_PHASES],
    pub cycles: u32,
    /// Unix seconds of the last update (0 = never).
    pub updated_unix_s: i64,
}

impl Record for LearnedFlows {
    const KIND: u16 = 3;
    const FILE: &'static str = "flows.bin";
}

/// Saturation flows measured at the stop line (`plan::saturation`), per lane by phase index (veh/h;
/// 0 = never measured), with the trusted cycles behind each. The Webster fail-safe after a reboot
/// is timed with these instead of the design figure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SaturationFlows {
    pub vphpl: [f32; MAX_PHASES],
    pub cycles: [u32; MAX_PHASES],
}

impl Record for SaturationFlows {
    const KIND: u16 = 4;
    const FILE: &'static str = "saturation.bin";
}

/// Why a file was not usable. Reported, then the defaults are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// Shorter than its header says (power cut during a non-atomic copy, disk error).
    Truncated { len: usize, expected: usize },
    /// Not a greenwave state file.
    BadMagic,
    /// Written by another format version.
    Version(u16),
    /// A different record's file under this name.
    WrongKind(u16),
    /// Larger than any record can be.
    TooLarge(usize),
    /// Checksum mismatch: bits changed on disk.
    Crc { stored: u32, computed: u32 },
    /// The checksum matched but the content does not decode (written by a buggy build).
    Decode,
}

impl core::fmt::Display for Damage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Damage::Truncated { len, expected } => write!(f, "truncated ({len} of {expected} bytes)"),
            Damage::BadMagic => f.write_str("not a greenwave state file"),
            Damage::Version(v) => write!(f, "format version {v}, this build reads {FORMAT_VERSION}"),
            Damage::WrongKind(k) => write!(f, "holds record kind {k}, not this record"),
            Damage::TooLarge(n) => write!(f, "{n} bytes, more than any record"),
            Damage::Crc { stored, computed } => {
                write!(
                    f,
                    "checksum mismatch (stored {stored:08x}, computed {computed:08x}): the file is corrupt"
                )
            }
            Damage::Decode => f.write_str("content does not decode"),
        }
    }
}

/// What `load` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadOutcome {
    Loaded,
    /// No file yet (first boot): defaults.
    Missing,
    /// The file was damaged: defaults; the file is kept as `FILE.corrupt.N` for inspection
    /// ([`Store::kept_corrupt`]).
    Damaged(Damage),
    /// The file could not be read (errno): defaults.
    Unreadable(i32),
}

/// A failed save. The previous committed file is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersistError {
    /// The record does not fit [`RECORD_MAX`] (a programming error, caught in tests).
    Encode,
    /// Write, fsync or rename failed (errno; ENOSPC = disk full, EFBIG = file size limit).
    Io(i32),
}

impl core::fmt::Display for PersistError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PersistError::Encode => write!(f, "state record larger than {RECORD_MAX} bytes"),
            PersistError::Io(e) => write!(
                f,
                "saving controller state failed: {} (the last saved state is kept; free space on the state partition)",
                std::io::Error::from_raw_os_error(*e)
            ),
        }
    }
}

fn io(e: &std::io::Error) -> PersistError {
    PersistError::Io(e.raw_os_error().unwrap_or(0))
}

/// Encodes `value` into `buf` with header and CRC; returns the used length.
pub fn encode<R: Record>(value: &R, buf: &mut [u8; RECORD_MAX + HEADER]) -> Result<usize, PersistError> {
    let (head, body) = buf.split_at_mut(HEADER);
    let n = postcard::to_slice(value, body).map_err(|_| PersistError::Encode)?.len();
    head[..4].copy_from_slice(&MAGIC);
    head[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    head[6..8].copy_from_slice(&R::KIND.to_le_bytes());
    head[8..12].copy_from_slice(&(n as u32).to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&head[..12]);
    h.update(&body[..n]);
    head[12..16].copy_from_slice(&h.finalize().to_le_bytes());
    Ok(HEADER + n)
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

/// Checks and decodes a file's bytes.
pub fn decode<R: Record>(bytes: &[u8]) -> Result<R, Damage> {
    if bytes.len() < HEADER {
        if bytes.len() >= 4 && bytes[..4] != MAGIC {
            return Err(Damage::BadMagic);
        }
        return Err(Damage::Truncated {
            len: bytes.len(),
            expected: HEADER,
        });
    }
    if bytes[..4] != MAGIC {
        return Err(Damage::BadMagic);
    }
    let len = le32(bytes, 8) as usize;
    if len > RECORD_MAX {
        return Err(Damage::TooLarge(len));
    }
    if bytes.len() < HEADER + len {
        return Err(Damage::Truncated {
            len: bytes.len(),
            expected: HEADER + len,
        });
    }
    let body = &bytes[HEADER..HEADER + len];
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[..12]);
    h.update(body);
    let computed = h.finalize();
    let stored = le32(bytes, 12);
    if stored != computed {
        return Err(Damage::Crc { stored, computed });
    }
    // Version and kind are checked after the CRC so a flipped bit there reads as corruption.
    let version = le16(bytes, 4);
    if version != FORMAT_VERSION {
        return Err(Damage::Version(version));
    }
    let kind = le16(bytes, 6);
    if kind != R::KIND {
        return Err(Damage::WrongKind(kind));
    }
    match postcard::from_bytes::<R>(body) {
        Ok(v) if bytes.len() == HEADER + len => Ok(v),
        Ok(_) => Err(Damage::TooLarge(bytes.len())),
        Err(_) => Err(Damage::Decode),
    }
}

/// One record's file in the state directory.
pub struct Store<R: Record> {
    path: PathBuf,
    tmp: PathBuf,
    dir: PathBuf,
    last_error: Option<PersistError>,
    saves: u64,
    failures: u64,
    kept: Option<PathBuf>,
    _r: core::marker::PhantomData<R>,
}

/// New content written and fsync'd to `FILE.tmp`, not yet renamed over `FILE` (see [`Store::stage`]).
#[must_use = "a staged record is only saved by commit()"]
pub struct Staged<'a, R: Record> {
    store: &'a mut Store<R>,
}

impl<R: Record> Store<R> {
    /// The store for `R` in `dir` (created if missing). Start-up only.
    pub fn new(dir: &Path) -> Result<Store<R>, String> {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "cannot create state directory {}: {e} (fix: check the board file's state_dir and permissions)",
                dir.display()
            )
        })?;
        let path = dir.join(R::FILE);
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        Ok(Store {
            path,
            tmp: PathBuf::from(tmp),
            dir: dir.to_path_buf(),
            last_error: None,
            saves: 0,
            failures: 0,
            kept: None,
            _r: core::marker::PhantomData,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last save's error, cleared by the next successful save (a fault while `Some`).
    pub fn fault(&self) -> Option<PersistError> {
        self.last_error
    }

    pub fn saves(&self) -> u64 {
        self.saves
    }

    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Loads the record. Never fails: damage is reported in the outcome and gives the defaults. A
    /// leftover `FILE.tmp` (crash before the rename) is removed: its content was never committed.
    /// A damaged file is renamed to the next free `FILE.corrupt.N` so the next save does not hide the
    /// evidence; earlier copies are never overwritten, and only the newest [`CORRUPT_KEEP`] are kept.
    /// Start-up only (lists the directory).
    pub fn load(&mut self) -> (R, LoadOutcome) {
        let _ = std::fs::remove_file(&self.tmp);
        let mut bytes = [0u8; RECORD_MAX + HEADER + 1];
        let read = File::open(&self.path).and_then(|mut f| {
            let mut n = 0;
            // Bounded: a file larger than the buffer is damage, detected below.
            while n < bytes.len() {
                match f.read(&mut bytes[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            Ok(n)
        });
        let n = match read {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (R::default(), LoadOutcome::Missing),
            Err(e) => return (R::default(), LoadOutcome::Unreadable(e.raw_os_error().unwrap_or(0))),
        };
        match decode::<R>(&bytes[..n]) {
            Ok(v) => (v, LoadOutcome::Loaded),
            Err(d) => {
                self.kept = self.keep_corrupt();
                (R::default(), LoadOutcome::Damaged(d))
            }
        }
    }

    /// Where the last damaged file was kept (None if it could not be moved aside).
    pub fn kept_corrupt(&self) -> Option<&Path> {
        self.kept.as_deref()
    }

    /// Renames the damaged file to `FILE.corrupt.N`, N one above the highest kept, then deletes
    /// the oldest copies beyond [`CORRUPT_KEEP`].
    fn keep_corrupt(&self) -> Option<PathBuf> {
        let prefix = format!("{}.corrupt.", R::FILE);
        let mut kept: Vec<u64> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str()?.strip_prefix(&prefix)?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        kept.sort_unstable();
        let mut n = kept.last().map_or(1, |m| m + 1);
        // Never over an existing name, even one this listing missed.
        while self.dir.join(format!("{prefix}{n}")).symlink_metadata().is_ok() {
            n += 1;
        }
        let dest = self.dir.join(format!("{prefix}{n}"));
        if let Err(e) = std::fs::rename(&self.path, &dest) {
            log::warn!(
                "cannot keep the damaged {} aside as {}: {e}",
                self.path.display(),
                dest.display()
            );
            return None;
        }
        kept.push(n);
        let excess = kept.len().saturating_sub(CORRUPT_KEEP);
        for old in kept.iter().take(excess) {
            let p = self.dir.join(format!("{prefix}{old}"));
            match std::fs::remove_file(&p) {
                Ok(()) => log::info!(
                    "deleted {} (only the newest {CORRUPT_KEEP} damaged copies are kept)",
                    p.display()
                ),
                Err(e) => log::warn!("cannot delete the old damaged copy {}: {e}", p.display()),
            }
        }
        Some(dest)
    }

    /// First half of a save: encode, write `FILE.tmp`, fsync it. `FILE` is untouched.
    pub fn stage(&mut self, value: &R) -> Result<Staged<'_, R>, PersistError> {
        let mut buf = [0u8; RECORD_MAX + HEADER];
        let r = encode(value, &mut buf).and_then(|n| {
            let mut f = File::create(&self.tmp).map_err(|e| io(&e))?;
            f.write_all(&buf[..n]).map_err(|e| io(&e))?;
            f.sync_all().map_err(|e| io(&e))
        });
        match r {
            Ok(()) => Ok(Staged { store: self }),
            Err(e) => {
                let _ = std::fs::remove_file(&self.tmp);
                Err(self.failed(e))
            }
        }
    }

    /// Atomic save: [`Store::stage`] then [`Staged::commit`].
    pub fn save(&mut self, value: &R) -> Result<(), PersistError> {
        self.stage(value)?.commit()
    }

    fn failed(&mut self, e: PersistError) -> PersistError {
        self.failures += 1;
        self.last_error = Some(e);
        e
    }
}

impl<R: Record> Staged<'_, R> {
    /// Second half: rename over the committed file and fsync the directory so the rename itself
    /// survives a power cut.
    pub fn commit(self) -> Result<(), PersistError> {
        let s = self.store;
        if let Err(e) = std::fs::rename(&s.tmp, &s.path) {
            let _ = std::fs::remove_file(&s.tmp);
            return Err(s.failed(io(&e)));
        }
        if let Err(e) = File::open(&s.dir).and_then(|d| d.sync_all()) {
            return Err(s.failed(io(&e)));
        }
        s.saves += 1;
        s.last_error = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_single_bit_flip_is_caught() {
        let c = Counters {
            boots: 3,
            ticks: 1_234_567,
            cycles: 900,
            faults: 2,
            ..Counters::default()
        };
        let mut buf = [0u8; RECORD_MAX + HEADER];
        let n = encode(&c, &mut buf).unwrap();
        assert_eq!(decode::<Counters>(&buf[..n]), Ok(c));
        assert_eq!(
            decode::<LearnedFlows>(&buf[..n]),
            Err(Damage::WrongKind(Counters::KIND))
        );
        for bit in 0..n * 8 {
            let mut b = buf;
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(decode::<Counters>(&b[..n]).is_err(), "flip of bit {bit} went unnoticed");
        }
        for len in 0..n {
            assert!(
                decode::<Counters>(&buf[..len]).is_err(),
                "truncation to {len} bytes went unnoticed"
            );
        }
    }
}
