//! PIN lock of the console's mutating commands (`clear flash`, `set plan`, `preempt test`,
//! `recall`).
//!
//! The PIN is stored in the site file (`[console] pin_hash`, read by `config::console`) only as a
//! salted, iterated SHA-256 hash (`sha256$ITERATIONS$SALT_HEX$DIGEST_HEX`, make one with
//! [`PinHash::derive`] / `greenwave pin-hash`), so a copied site file does not reveal it directly. On-line guessing is limited the way cabinet
//! controllers limit it: three wrong PINs lock the console for 60 s, and an unlocked console
//! locks itself after 10 minutes without a command (a technician who walks away does not leave
//! the intersection open to the next person at the cabinet).
//!
//! Time comes in as [`Instant`] arguments; nothing here reads a clock. Cost: one check is
//! `iterations` SHA-256 compressions of 64 bytes (4096 ≈ 1-3 ms on a Pi 4), only when a PIN is
//! typed; no allocation.

pub use crate::config::console::{PinHash, PinHashError, DEFAULT_ITERATIONS};
use crate::time::Instant;

pub const MAX_WRONG: u8 = 3;
pub const LOCKOUT_MS: u32 = 60_000;
pub const IDLE_RELOCK_MS: u32 = 600_000;
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
