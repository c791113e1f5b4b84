//! The site file's `[console]` table: the maintenance console's PIN, stored only as a salted,
//! iterated SHA-256 hash (`pin_hash = "sha256$ITERATIONS$SALT_HEX$DIGEST_HEX"`, made by
//! `greenwave pin-hash`). This is the one place the PIN is read; the console's lock
//! (`console::lock`) gets the parsed [`PinHash`]. Without a hash, mutating console commands are
//! disabled.
//!
//! Cost of a check: `iterations` SHA-256 compressions of 64 bytes (4096 ≈ 1-3 ms on a Pi 4), only
//! when a PIN is typed; no allocation.

use super::diag::{ConfigError, Source};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

/// The `[console]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSection {
    #[serde(default)]
    pub pin_hash: Option<Spanned<toml::Value>>,
}

/// The validated `[console]` table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// The PIN hash; `None`: no PIN, mutating console commands are disabled.
    pub pin: Option<PinHash>,
}

impl ConsoleConfig {
    /// Validates the `[console]` table of a site file (`None`: no table).
    pub fn from_section(src: Source, sec: Option<&Spanned<ConsoleSection>>) -> Result<ConsoleConfig, ConfigError> {
        let Some(v) = sec.and_then(|s| s.get_ref().pin_hash.as_ref()) else {
            return Ok(ConsoleConfig { pin: None });
        };
        let Some(text) = v.get_ref().as_str() else {
            return Err(src.err(
                v.span(),
                "console.pin_hash",
                "the PIN hash must be a string",
                "make one with `greenwave pin-hash` and write pin_hash = \"sha256$…\"",
            ));
        };
        let pin = PinHash::parse(text).map_err(|e| src.err(v.span(), "console.pin_hash", e.message(), e.fix()))?;
        Ok(ConsoleConfig { pin: Some(pin) })
    }
}

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

impl PinHashError {
    /// What is wrong.
    pub const fn message(&self) -> &'static str {
        match self {
            PinHashError::Format => "console PIN hash is not `sha256$ITERATIONS$SALT_HEX$DIGEST_HEX`",
            PinHashError::Iterations => "console PIN hash iterations must be 1 to 100000",
            PinHashError::Salt => "console PIN hash salt must be 32 hex digits",
            PinHashError::Digest => "console PIN hash digest must be 64 hex digits",
        }
    }

    /// How to fix it.
    pub const fn fix(&self) -> &'static str {
        "generate a new one with `greenwave pin-hash`"
    }
}

impl core::fmt::Display for PinHashError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (fix: {})", self.message(), self.fix())
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

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str =
        "sha256$1$30313233343536373839616263646566$94dff65984ac0f11677e3dfbd0ad64dc073f23d9336fb1160109548ce160afbc";

    fn parse(text: &str) -> Result<ConsoleConfig, ConfigError> {
        #[derive(Deserialize)]
        struct F {
            console: Option<Spanned<ConsoleSection>>,
        }
        let f: F = toml::from_str(text).unwrap();
        ConsoleConfig::from_section(Source::new(text, "site.toml"), f.console.as_ref())
    }

    #[test]
    fn pin_hash_is_read_with_its_line() {
        assert_eq!(parse("").unwrap().pin, None);
        let c = parse(&format!("[console]\npin_hash = \"{HASH}\"\n")).unwrap();
        assert!(c.pin.is_some_and(|p| p.verify(b"2468")));
        let e = parse("[console]\n\npin_hash = \"sha256$0$zz$zz\"\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "console.pin_hash"), "{e}");
        assert!(
            e.message.contains("iterations") && e.fix.contains("greenwave pin-hash"),
            "{e}"
        );
        let e = parse("[console]\npin_hash = 2468\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "console.pin_hash"), "{e}");
        assert!(e.message.contains("must be a string"), "{e}");
    }
}
