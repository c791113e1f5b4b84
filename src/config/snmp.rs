//! The board file's `[snmp]` table (the NTCIP 1202 agent, `central::snmp`) and its secrets file.
//!
//! ```toml
//! [snmp]
//! listen = "0.0.0.0:161"
//! # community = "public"                   # SNMPv2c, read-only; none unless written here
//! users = "/etc/greenwave/snmp-users.toml"  # SNMPv3 users (mode 0600): the only way to write
//! # rate_per_s = 200                       # per-source request limit and burst
//! # burst = 400
//! ```
//!
//! The secrets file holds one `[[user]]` table per SNMPv3 user:
//!
//! ```toml
//! [[user]]
//! name = "tmc"
//! auth = "SHA-256"          # usmHMAC192SHA256AuthProtocol (RFC 7860), the only one offered
//! auth_password = "…"       # at least 8 characters (RFC 3414 11.2)
//! privacy = "AES"           # usmAesCfb128Protocol (RFC 3826), the only one offered
//! priv_password = "…"
//! ```
//!
//! It is read once at start-up; `greenwave check` warns when group or others may read it.

use super::diag::{ConfigError, Source};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use toml::Spanned;

/// Longest community and user name accepted.
pub const NAME_MAX: usize = 32;
/// Most SNMPv3 users in one secrets file.
pub const MAX_USERS: usize = 16;
/// RFC 3414 11.2.
const MIN_PASSWORD: usize = 8;

/// The `[snmp]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnmpSection {
    pub listen: Spanned<String>,
    #[serde(default)]
    pub community: Option<Spanned<String>>,
    #[serde(default)]
    pub users: Option<Spanned<String>>,
    #[serde(default)]
    pub rate_per_s: Option<Spanned<i64>>,
    #[serde(default)]
    pub burst: Option<Spanned<i64>>,
}

/// The validated `[snmp]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnmpConfig {
    pub listen: SocketAddr,
    pub community: Option<heapless::String<NAME_MAX>>,
    /// The secrets file with the SNMPv3 users.
    pub users: Option<heapless::String<{ super::board::PATH_LEN }>>,
    pub rate_per_s: u32,
    pub burst: u32,
}

/// Default per-source rate limit (requests per second, burst).
pub const DEFAULT_RATE: u32 = 200;
pub const DEFAULT_BURST: u32 = 400;

impl SnmpConfig {
    /// Validates an `[snmp]` table.
    pub fn from_section(src: Source, sec: &SnmpSection) -> Result<SnmpConfig, ConfigError> {
        let listen = sec.listen.get_ref().parse::<SocketAddr>().map_err(|_| {
            src.err(
                sec.listen.span(),
                "snmp.listen",
                "not an address and port",
                "write listen = \"0.0.0.0:161\" (or a single interface's address)",
            )
        })?;
        let community = match &sec.community {
            None => None,
            Some(c) => Some(
                heapless::String::try_from(c.get_ref().as_str())
                    .ok()
                    .filter(|s: &heapless::String<NAME_MAX>| !s.is_empty())
                    .ok_or_else(|| {
                        src.err(
                            c.span(),
                            "snmp.community",
                            "empty or longer than 32 bytes",
                            "leave it out to turn SNMPv2c off, or give a short read-only community",
                        )
                    })?,
            ),
        };
        let users = match &sec.users {
            None => None,
            Some(u) => Some(
                heapless::String::try_from(u.get_ref().as_str())
                    .map_err(|_| src.err(u.span(), "snmp.users", "path too long", "use a shorter path"))?,
            ),
        };
        let count = |v: &Option<Spanned<i64>>, field: &str, default: u32| -> Result<u32, ConfigError> {
            match v {
                None => Ok(default),
                Some(n) => u32::try_from(*n.get_ref())
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| src.err(n.span(), field, "out of range", "use 1 to 100000")),
            }
        };
        Ok(SnmpConfig {
            listen,
            community,
            users,
            rate_per_s: count(&sec.rate_per_s, "snmp.rate_per_s", DEFAULT_RATE)?,
            burst: count(&sec.burst, "snmp.burst", DEFAULT_BURST)?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    user: Vec<Spanned<UserSection>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSection {
    name: Spanned<String>,
    #[serde(default)]
    auth: Option<Spanned<String>>,
    auth_password: Spanned<String>,
    #[serde(default)]
    privacy: Option<Spanned<String>>,
    priv_password: Spanned<String>,
}

/// One SNMPv3 user of the secrets file.
#[derive(Clone, PartialEq, Eq)]
pub struct SnmpUser {
    pub name: String,
    pub auth_password: String,
    pub priv_password: String,
}

impl core::fmt::Debug for SnmpUser {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never the passwords.
        write!(f, "SnmpUser({})", self.name)
    }
}

/// Parses a secrets file's text; `file` names it in errors (which never quote a password).
pub fn parse_users(text: &str, file: &str) -> Result<Vec<SnmpUser>, ConfigError> {
    let src = Source::new(text, file);
    let raw: UsersFile = toml::from_str(text).map_err(|e| src.toml(&e, "an SNMPv3 users file"))?;
    if raw.user.len() > MAX_USERS {
        return Err(ConfigError::whole(
            file,
            "user",
            format!("{} users, at most {MAX_USERS}", raw.user.len()),
            "keep one user per management system",
        ));
    }
    let mut out: Vec<SnmpUser> = Vec::with_capacity(raw.user.len());
    for u in &raw.user {
        let u = u.get_ref();
        let name = u.name.get_ref();
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(src.err(
                u.name.span(),
                "user.name",
                "empty or longer than 32 bytes",
                "use a short user name",
            ));
        }
        if out.iter().any(|o| o.name == *name) {
            return Err(src.err(
                u.name.span(),
                "user.name",
                "a user of this name is already listed",
                "list each user once",
            ));
        }
        if let Some(a) = &u.auth {
            if !a.get_ref().eq_ignore_ascii_case("SHA-256") {
                return Err(src.err(
                    a.span(),
                    "user.auth",
                    "unsupported authentication",
                    "use auth = \"SHA-256\"",
                ));
            }
        }
        if let Some(p) = &u.privacy {
            if !p.get_ref().eq_ignore_ascii_case("AES") && !p.get_ref().eq_ignore_ascii_case("AES-128") {
                return Err(src.err(p.span(), "user.privacy", "unsupported privacy", "use privacy = \"AES\""));
            }
        }
        for (pw, field) in [
            (&u.auth_password, "user.auth_password"),
            (&u.priv_password, "user.priv_password"),
        ] {
            if pw.get_ref().chars().count() < MIN_PASSWORD {
                return Err(src.err(
                    pw.span(),
                    field,
                    "shorter than 8 characters",
                    "RFC 3414 11.2 asks for at least 8; use a long random passphrase",
                ));
            }
        }
        out.push(SnmpUser {
            name: name.clone(),
            auth_password: u.auth_password.get_ref().clone(),
            priv_password: u.priv_password.get_ref().clone(),
        });
    }
    Ok(out)
}

/// Reads and parses a secrets file.
pub fn load_users(path: &Path) -> Result<Vec<SnmpUser>, ConfigError> {
    let file = path.display().to_string();
    let text = super::file::read_text(path, crate::limits::CONFIG_FILE_MAX_BYTES).map_err(|e| {
        super::diag::unreadable(
            &file,
            "SNMPv3 users file",
            e,
            "check [snmp] users = … in the board file",
        )
    })?;
    parse_users(&text, &file)
}

/// A warning when group or others may read the secrets file at `path` (it should be 0600).
pub fn secret_file_warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "{}: mode {:04o} lets other users read the SNMPv3 keys; run `chmod 600 {}`",
            path.display(),
            mode & 0o7777,
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> Result<SnmpConfig, ConfigError> {
        #[derive(Deserialize)]
        struct F {
            snmp: SnmpSection,
        }
        let f: F = toml::from_str(text).unwrap();
        SnmpConfig::from_section(Source::new(text, "b.toml"), &f.snmp)
    }

    #[test]
    fn a_table_with_defaults_and_errors_that_name_the_field() {
        let c = section("[snmp]\nlisten = \"127.0.0.1:1161\"\n").unwrap();
        assert_eq!(c.listen, "127.0.0.1:1161".parse().unwrap());
        assert_eq!(
            (c.community, c.rate_per_s, c.burst),
            (None, DEFAULT_RATE, DEFAULT_BURST)
        );
        let e = section("[snmp]\nlisten = \"nowhere\"\n").unwrap_err().to_string();
        assert!(e.contains("snmp.listen"), "{e}");
        let e = section("[snmp]\nlisten = \"0.0.0.0:161\"\nrate_per_s = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("snmp.rate_per_s"), "{e}");
    }

    #[test]
    fn users_need_long_passwords_and_sha2_aes() {
        let ok = "[[user]]\nname = \"tmc\"\nauth = \"SHA-256\"\nauth_password = \"abcdefgh1\"\nprivacy = \"AES\"\npriv_password = \"ijklmnop2\"\n";
        let u = parse_users(ok, "u.toml").unwrap();
        assert_eq!(u.len(), 1);
        assert_eq!(format!("{:?}", u[0]), "SnmpUser(tmc)");
        let short = ok.replace("abcdefgh1", "abc");
        let e = parse_users(&short, "u.toml").unwrap_err().to_string();
        assert!(e.contains("auth_password") && !e.contains("abc\""), "{e}");
        let md5 = ok.replace("SHA-256", "MD5");
        assert!(parse_users(&md5, "u.toml").is_err());
    }

    #[test]
    fn a_readable_secret_file_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("gw-snmp-perm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("users.toml");
        std::fs::write(&p, "").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(secret_file_warning(&p), None);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(secret_file_warning(&p).unwrap().contains("0644"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
