//! PIN lock of the console's mutating commands (`clear flash`, `set plan`, `preempt test`,
//! `recall`).
//!
//! The PIN is stored in the board configuration only as a salted, iterated SHA-256 hash
//! (`sha256$ITERATIONS$SALT_HEX$DIGEST_HEX`, make one with [`PinHash::derive`]), so a copied
//! config file does not reveal it directly. On-line guessing is limited the way cabinet
//! controllers limit it: three wrong PINs lock the console for 60 s, and an unlocked console
//! locks itself after 10 minutes without a command (a technician who walks away does not leave
//! the intersection open to the next person at the cabinet).
//!
//! Time comes in as [`Instant`] arguments; nothing here reads a clock. Cost: one check is
//! `iterations` SHA-256 compressions of 64 bytes (4096 ≈ 1-3 ms on a Pi 4), only when a PIN is
//! typed; no allocation.

use crate::time::Instant;
use sha2::{Digest, Sha256};

pub const MAX_WRONG: u8 = 3;
pub const LOCKOUT_MS: u32 = 60_000;
pub const IDLE_RELOCK_MS: u32 = 600_000;
/// Default hash iterations for new PIN hashes.
pub const DEFAULT_ITERATIONS: u32 = 4096;
const MAX_ITERATIONS: u32 = 100_000;

/// A salted, iterated SHA-256 PIN hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PinHash {
    iterations: u32,
    salt: [u8; 16],
    digest: [u8; 32],
}

impl core::fmt::Debug for PinHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PinHash(sha256, {} iterations)", self.iterations)
    }
}

/// Why a configured PIN hash string was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinHashError {
    /// Not `sha256$ITERATIONS$SALT$DIGEST`.
    Format,
    /// Iterations not in 1..=100000.
    Iterations,
    /// Salt is not 32 hex digits.
    Salt,
    /// Digest is not 64 hex digits.
    Digest,
}

impl core::fmt::Display for PinHashError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PinHashError::Format => "console PIN hash is not `sha256$ITERATIONS$SALT_HEX$DIGEST_HEX`",
            PinHashError::Iterations => "console PIN hash iterations must be 1 to 100000",
            PinHashError::Salt => "console PIN hash salt must be 32 hex digits",
            PinHashError::Digest => "console PIN hash digest must be 64 hex digits",
        })?;
        f.write_str(" (fix: generate a new one with `greenwave pin-hash`)")
    }
}

fn hex_into(s: &str, out: &mut [u8]) -> bool {
    if s.len() != out.len() * 2 {
        return false;
    }
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let d = |c: u8| (c as char).to_digit(16);
        match (pair.first().copied().and_then(d), pair.get(1).copied().and_then(d)) {
            (Some(h), Some(l)) => *o = (h * 16 + l) as u8,
            _ => return false,
        }
    }
    true
}

impl PinHash {
    /// Hashes `pin` with `salt`: `d0 = SHA256(salt || pin)`, `d(i+1) = SHA256(d(i) || salt)`.
    pub fn derive(pin: &[u8], salt: [u8; 16], iterations: u32) -> PinHash {
        let iterations = iterations.clamp(1, MAX_ITERATIONS);
        let mut d: [u8; 32] = Sha256::new().chain_update(salt).chain_update(pin).finalize().into();
        for _ in 1..iterations {
            d = Sha256::new().chain_update(d).chain_update(salt).finalize().into();
        }
        PinHash {
            iterations,
            salt,
            digest: d,
        }
    }

    /// Parses the configured form `sha256$ITERATIONS$SALT_HEX$DIGEST_HEX`.
    pub fn parse(s: &str) -> Result<PinHash, PinHashError> {
        let mut parts = s.trim().split('$');
        let (Some("sha256"), Some(it), Some(salt_hex), Some(digest_hex), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PinHashError::Format);
        };
        let iterations: u32 = it.parse().map_err(|_| PinHashError::Iterations)?;
        if !(1..=MAX_ITERATIONS).contains(&iterations) {
            return Err(PinHashError::Iterations);
        }
        let mut salt = [0; 16];
        let mut digest = [0; 32];
        if !hex_into(salt_hex, &mut salt) {
            return Err(PinHashError::Salt);
        }
        if !hex_into(digest_hex, &mut digest) {
            return Err(PinHashError::Digest);
        }
        Ok(PinHash {
            iterations,
            salt,
            digest,
        })
    }

    /// Whether `pin` matches. The comparison takes the same time wherever the first difference is.
    pub fn verify(&self, pin: &[u8]) -> bool {
        let d = PinHash::derive(pin, self.salt, self.iterations).digest;
        d.iter().zip(self.digest.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl core::fmt::Display for PinHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "sha256${}$", self.iterations)?;
        for b in self.salt {
            write!(f, "{b:02x}")?;
        }
        f.write_str("$")?;
        for b in self.digest {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Result of an `unlock` attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unlock {
    Unlocked,
    /// Wrong PIN; this many tries remain before the lockout.
    Wrong {
        remaining: u8,
    },
    /// Wrong PIN, and that was the last try: locked out for `ms`.
    LockedOut {
        ms: u32,
    },
    /// Still locked out from earlier wrong PINs; the PIN was not checked.
    StillLockedOut {
        ms: u32,
    },
    /// No PIN hash is configured: mutating commands are disabled.
    NoPin,
}

/// Lock state of the console.
#[derive(Clone, Copy, Debug)]
pub struct PinLock {
    hash: Option<PinHash>,
    unlocked_until_idle: Option<Instant>,
    wrong: u8,
    lockout_until: Option<Instant>,
}

impl PinLock {
    pub const fn new(hash: Option<PinHash>) -> Self {
        PinLock {
            hash,
            unlocked_until_idle: None,
            wrong: 0,
            lockout_until: None,
        }
    }

    /// Applies the idle timeout; returns true when this call relocked the console.
    pub fn poll(&mut self, now: Instant) -> bool {
        if let Some(t) = self.unlocked_until_idle {
            if now >= t {
                self.unlocked_until_idle = None;
                return true;
            }
        }
        if self.lockout_until.is_some_and(|t| now >= t) {
            self.lockout_until = None;
            self.wrong = 0;
        }
        false
    }

    /// Unlocked as of the last [`PinLock::poll`] (does not apply the idle timeout).
    pub fn unlocked(&self) -> bool {
        self.unlocked_until_idle.is_some()
    }

    pub fn is_unlocked(&mut self, now: Instant) -> bool {
        self.poll(now);
        self.unlocked_until_idle.is_some()
    }

    /// A command was typed: an unlocked console stays unlocked for another idle period.
    pub fn touch(&mut self, now: Instant) {
        if self.unlocked_until_idle.is_some() {
            self.unlocked_until_idle = Some(now.plus_ms(IDLE_RELOCK_MS));
        }
    }

    pub fn lock(&mut self) {
        self.unlocked_until_idle = None;
    }

    /// Milliseconds of lockout left (0 when not locked out).
    pub fn lockout_remaining_ms(&self, now: Instant) -> u32 {
        self.lockout_until.map_or(0, |t| t.since_ms(now))
    }

    pub fn try_unlock(&mut self, pin: &[u8], now: Instant) -> Unlock {
        self.poll(now);
        let Some(hash) = self.hash else {
            return Unlock::NoPin;
        };
        if let Some(t) = self.lockout_until {
            return Unlock::StillLockedOut { ms: t.since_ms(now) };
        }
        if hash.verify(pin) {
            self.wrong = 0;
            self.unlocked_until_idle = Some(now.plus_ms(IDLE_RELOCK_MS));
            return Unlock::Unlocked;
        }
        self.unlocked_until_idle = None;
        self.wrong = self.wrong.saturating_add(1);
        if self.wrong >= MAX_WRONG {
            self.lockout_until = Some(now.plus_ms(LOCKOUT_MS));
            Unlock::LockedOut { ms: LOCKOUT_MS }
        } else {
            Unlock::Wrong {
                remaining: MAX_WRONG - self.wrong,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; 16] = *b"0123456789abcdef";

    #[test]
    fn hash_round_trip_and_errors() {
        let h = PinHash::derive(b"2468", SALT, 16);
        let s = h.to_string();
        assert_eq!(PinHash::parse(&s), Ok(h));
        assert!(h.verify(b"2468"));
        assert!(!h.verify(b"2469"));
        assert_eq!(PinHash::parse("md5$1$00$00"), Err(PinHashError::Format));
        assert_eq!(
            PinHash::parse(&s.replace("sha256$16$", "sha256$0$")),
            Err(PinHashError::Iterations)
        );
        assert_eq!(PinHash::parse(&s.replacen("30", "zz", 1)), Err(PinHashError::Salt));
        // Known-answer: one iteration is SHA-256("0123456789abcdef" "2468").
        // (printf '0123456789abcdef2468' | sha256sum)
        let one = PinHash::derive(b"2468", SALT, 1).to_string();
        assert_eq!(
            one,
            "sha256$1$30313233343536373839616263646566$94dff65984ac0f11677e3dfbd0ad64dc073f23d9336fb1160109548ce160afbc"
        );
    }

    #[test]
    fn three_wrong_pins_lock_out_for_a_minute_then_idle_relock() {
        let mut l = PinLock::new(Some(PinHash::derive(b"2468", SALT, 16)));
        let t0 = Instant(1_000);
        assert_eq!(l.try_unlock(b"1111", t0), Unlock::Wrong { remaining: 2 });
        assert_eq!(l.try_unlock(b"1112", t0), Unlock::Wrong { remaining: 1 });
        assert_eq!(l.try_unlock(b"1113", t0), Unlock::LockedOut { ms: LOCKOUT_MS });
        // The right PIN is not even checked during the lockout.
        assert_eq!(
            l.try_unlock(b"2468", t0.plus_ms(59_000)),
            Unlock::StillLockedOut { ms: 1_000 }
        );
        assert!(!l.is_unlocked(t0.plus_ms(59_000)));
        assert_eq!(l.try_unlock(b"2468", t0.plus_ms(60_000)), Unlock::Unlocked);
        let t1 = t0.plus_ms(60_000);
        assert!(l.is_unlocked(t1.plus_ms(IDLE_RELOCK_MS - 1)));
        l.touch(t1.plus_ms(IDLE_RELOCK_MS - 1));
        assert!(l.is_unlocked(t1.plus_ms(IDLE_RELOCK_MS + 5)));
        assert!(l.poll(t1.plus_ms(2 * IDLE_RELOCK_MS)));
        assert!(!l.is_unlocked(t1.plus_ms(2 * IDLE_RELOCK_MS)));
        assert_eq!(PinLock::new(None).try_unlock(b"1234", t0), Unlock::NoPin);
    }
}
