//! The board file's `[mqtt]` table: fleet telemetry to an MQTT broker (`central::mqtt`), off unless
//! the table is there.
//!
//! ```toml
//! [mqtt]
//! url = "mqtts://broker.city.example:8883"
//! client_id = "greenwave-main-elm"       # default: greenwave-<device id>
//! username = "cabinet-0042"
//! password_file = "/etc/greenwave/mqtt.secret"   # mode 0600, the password on its first line
//! ca_file = "/etc/greenwave/mqtt-ca.pem"         # the CA that signed the broker's certificate
//! client_cert = "/etc/greenwave/mqtt-client.pem" # optional: client-certificate authentication
//! client_key = "/etc/greenwave/mqtt-client.key"
//! queue = 1000             # messages held while the broker is away (oldest dropped beyond)
//! status_period_ms = 1000  # status publications
//! keepalive_s = 30
//! ```
//!
//! The device id of the topics (`greenwave/<device-id>/…`) is the site's `device_id`. Secrets are
//! never in the board file: the password is read from `password_file` at start-up; `greenwave
//! check` warns when that file (or the client key) can be read by the group or by others.

use super::diag::{ConfigError, Source};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Default outgoing queue (messages): 1000 holds about eight minutes of status and event batches.
pub const DEFAULT_QUEUE: usize = 1000;
/// Largest outgoing queue accepted (messages; a batch is at most a few tens of kB).
pub const MAX_QUEUE: usize = 100_000;
pub const DEFAULT_STATUS_PERIOD_MS: u32 = 1000;
pub const DEFAULT_KEEPALIVE_S: u16 = 30;

/// The `[mqtt]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSection {
    pub url: Spanned<String>,
    #[serde(default)]
    pub client_id: Option<Spanned<String>>,
    #[serde(default)]
    pub username: Option<Spanned<String>>,
    #[serde(default)]
    pub password_file: Option<Spanned<String>>,
    #[serde(default)]
    pub ca_file: Option<Spanned<String>>,
    #[serde(default)]
    pub client_cert: Option<Spanned<String>>,
    #[serde(default)]
    pub client_key: Option<Spanned<String>>,
    #[serde(default)]
    pub queue: Option<Spanned<i64>>,
    #[serde(default)]
    pub status_period_ms: Option<Spanned<i64>>,
    #[serde(default)]
    pub keepalive_s: Option<Spanned<i64>>,
}

/// A validated MQTT configuration (from the board file or from `greenwave sim --mqtt …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqttConfig {
    /// The broker URL as given (for messages).
    pub url: String,
    pub host: String,
    pub port: u16,
    /// `mqtts://`: TLS (the broker's certificate checked against `ca_file`, or the system's roots).
    pub tls: bool,
    /// MQTT client id; `None`: `greenwave-<device id>`.
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM) for certificate authentication.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Messages held while the broker is away.
    pub queue: usize,
    pub status_period_ms: u32,
    pub keepalive_s: u16,
}

/// Why a broker URL was refused.
pub fn parse_url(url: &str) -> Result<(String, u16, bool), String> {
    let (rest, tls, default_port) = if let Some(r) = url.strip_prefix("mqtts://") {
        (r, true, 8883)
    } else if let Some(r) = url.strip_prefix("mqtt://") {
        (r, false, 1883)
    } else {
        return Err(format!(
            "`{url}` is not an MQTT broker URL: write mqtts://HOST:PORT (TLS) or mqtt://HOST:PORT"
        ));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') || rest.contains('@') || rest.is_empty() {
        return Err(format!(
            "`{url}`: give only HOST[:PORT] after the scheme (credentials go in the password file)"
        ));
    }
    let (host, port) = match rest.rsplit_once(':') {
        // An IPv6 literal is bracketed: [::1]:8883.
        Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.starts_with('[')) => {
            let port = p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("`{url}`: port `{p}` is not 1..65535"))?;
            (h, port)
        }
        _ => (rest, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_string(), port, tls))
}

impl MqttConfig {
    /// A configuration with the defaults for everything but the broker.
    pub fn from_url(url: &str) -> Result<MqttConfig, String> {
        let (host, port, tls) = parse_url(url)?;
        Ok(MqttConfig {
            url: url.to_string(),
            host,
            port,
            tls,
            client_id: None,
            username: None,
            password_file: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            queue: DEFAULT_QUEUE,
            status_period_ms: DEFAULT_STATUS_PERIOD_MS,
            keepalive_s: DEFAULT_KEEPALIVE_S,
        })
    }

    /// Validates the `[mqtt]` table of a board file.
    pub fn from_section(src: Source, sec: &MqttSection) -> Result<MqttConfig, ConfigError> {
        let url = sec.url.get_ref();
        let mut c = MqttConfig::from_url(url).map_err(|e| {
            src.err(
                sec.url.span(),
                "mqtt.url",
                e,
                "e.g. url = \"mqtts://broker.example:8883\"",
            )
        })?;
        let text = |v: &Option<Spanned<String>>, field: &str| -> Result<Option<String>, ConfigError> {
            match v {
                None => Ok(None),
                Some(s) if s.get_ref().trim().is_empty() => {
                    Err(src.err(s.span(), field, "empty", "give a value or leave the key out"))
                }
                Some(s) => Ok(Some(s.get_ref().clone())),
            }
        };
        c.client_id = text(&sec.client_id, "mqtt.client_id")?;
        if let (Some(id), Some(s)) = (&c.client_id, &sec.client_id) {
            // MQTT 3.1.1 3.1.3.1: a server must accept ids of 1..23 characters; most accept more.
            if id.len() > 64 {
                return Err(src.err(s.span(), "mqtt.client_id", "longer than 64 bytes", "use a shorter id"));
            }
        }
        c.username = text(&sec.username, "mqtt.username")?;
        c.password_file = text(&sec.password_file, "mqtt.password_file")?.map(PathBuf::from);
        c.ca_file = text(&sec.ca_file, "mqtt.ca_file")?.map(PathBuf::from);
        c.client_cert = text(&sec.client_cert, "mqtt.client_cert")?.map(PathBuf::from);
        c.client_key = text(&sec.client_key, "mqtt.client_key")?.map(PathBuf::from);
        if c.client_cert.is_some() != c.client_key.is_some() {
            let span = sec
                .client_cert
                .as_ref()
                .or(sec.client_key.as_ref())
                .map_or(sec.url.span(), |s| s.span());
            return Err(src.err(
                span,
                "mqtt.client_cert",
                "client_cert and client_key go together",
                "give both (PEM files) for certificate authentication, or neither",
            ));
        }
        if !c.tls && (c.ca_file.is_some() || c.client_cert.is_some()) {
            return Err(src.err(
                sec.url.span(),
                "mqtt.url",
                "certificates are configured but the URL is not mqtts://",
                "use mqtts://HOST:PORT",
            ));
        }
        if c.password_file.is_some() && c.username.is_none() {
            return Err(src.err(
                sec.password_file.as_ref().map_or(sec.url.span(), |s| s.span()),
                "mqtt.password_file",
                "a password without a username",
                "add username = \"…\"",
            ));
        }
        let int = |v: &Option<Spanned<i64>>, field: &str, lo: i64, hi: i64| -> Result<Option<i64>, ConfigError> {
            match v {
                None => Ok(None),
                Some(x) if (lo..=hi).contains(x.get_ref()) => Ok(Some(*x.get_ref())),
                Some(x) => Err(src.err(
                    x.span(),
                    field,
                    format!("{} is out of range", x.get_ref()),
                    format!("use {lo} to {hi}"),
                )),
            }
        };
        if let Some(q) = int(&sec.queue, "mqtt.queue", 10, MAX_QUEUE as i64)? {
            c.queue = q as usize;
        }
        if let Some(p) = int(&sec.status_period_ms, "mqtt.status_period_ms", 100, 3_600_000)? {
            c.status_period_ms = p as u32;
        }
        if let Some(k) = int(&sec.keepalive_s, "mqtt.keepalive_s", 5, 3600)? {
            c.keepalive_s = k as u16;
        }
        Ok(c)
    }

    /// Secret files (the password file, the client key) that the group or others may read, with
    /// their modes: `greenwave check` warns about each.
    pub fn exposed_secrets(&self) -> Vec<(PathBuf, u32)> {
        [self.password_file.as_deref(), self.client_key.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|p| secret_mode(p).filter(|m| m & 0o077 != 0).map(|m| (p.to_path_buf(), m)))
            .collect()
    }
}

/// The permission bits of a file (None when it cannot be read).
pub fn secret_mode(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).ok().map(|m| m.permissions().mode() & 0o777)
}

/// Reads the password: the first line of `path`, without its line end. Refuses an empty one.
pub fn read_password(path: &Path) -> Result<String, String> {
    let text = super::file::read_text(path, 4096)
        .map_err(|e| format!("cannot read the MQTT password file {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(format!("the MQTT password file {} is empty", path.display()));
    }
    Ok(line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("mqtts://b.example:8884").unwrap(),
            ("b.example".into(), 8884, true)
        );
        assert_eq!(
            parse_url("mqtts://b.example").unwrap(),
            ("b.example".into(), 8883, true)
        );
        assert_eq!(
            parse_url("mqtt://127.0.0.1/").unwrap(),
            ("127.0.0.1".into(), 1883, false)
        );
        assert_eq!(parse_url("mqtts://[::1]:9000").unwrap(), ("::1".into(), 9000, true));
        assert!(parse_url("http://b.example").is_err());
        assert!(parse_url("mqtts://user:pw@b.example").is_err());
        assert!(parse_url("mqtts://b.example:0").is_err());
        assert!(parse_url("mqtts://b.example:x").is_err());
        assert!(parse_url("mqtts://").is_err());
    }

    fn section(toml_text: &str) -> Result<MqttConfig, ConfigError> {
        #[derive(Deserialize)]
        struct F {
            mqtt: MqttSection,
        }
        let f: F = toml::from_str(toml_text).unwrap();
        MqttConfig::from_section(Source::new(toml_text, "b.toml"), &f.mqtt)
    }

    #[test]
    fn sections() {
        let c = section(
            "[mqtt]\nurl = \"mqtts://h:1\"\nusername = \"u\"\npassword_file = \"/p\"\nca_file = \"/ca\"\nqueue = 50\n",
        )
        .unwrap();
        assert_eq!((c.queue, c.username.as_deref()), (50, Some("u")));
        assert_eq!(c.status_period_ms, DEFAULT_STATUS_PERIOD_MS);
        let e = section("[mqtt]\nurl = \"mqtt://h\"\nca_file = \"/ca\"\n").unwrap_err();
        assert_eq!(e.field, "mqtt.url");
        let e = section("[mqtt]\nurl = \"mqtts://h\"\nclient_cert = \"/c\"\n").unwrap_err();
        assert_eq!(e.field, "mqtt.client_cert");
        let e = section("[mqtt]\nurl = \"mqtts://h\"\nqueue = 1\n").unwrap_err();
        assert_eq!((e.field.as_str(), e.line), ("mqtt.queue", 3));
        let e = section("[mqtt]\nurl = \"mqtts://h\"\npassword_file = \"/p\"\n").unwrap_err();
        assert_eq!(e.field, "mqtt.password_file");
    }

    #[test]
    fn exposed_secrets_are_found() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("gw-mqtt-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("pw");
        std::fs::write(&p, "s3cret\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut c = MqttConfig::from_url("mqtts://h").unwrap();
        c.password_file = Some(p.clone());
        assert!(c.exposed_secrets().is_empty());
        assert_eq!(read_password(&p).unwrap(), "s3cret");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(c.exposed_secrets(), vec![(p.clone(), 0o644)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
