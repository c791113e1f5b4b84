//! The SNMP agent's thread: a UDP socket bound at start-up, one datagram at a time through
//! [`Protocol`], a per-source rate limit, and the command channel to the control loop.
//!
//! The thread reads the newest unit status from its [`StatusReader`] (a triple buffer: the loop
//! never waits for it) and sends accepted SETs as [`Request`]s; the loop applies at most
//! `command::QUEUE` of them per tick. A flood of requests costs this thread's CPU and nothing
//! else: what exceeds a source's token bucket is dropped unanswered and counted.
//!
//! `snmpEngineBoots` (RFC 3414 2.2.2) must grow with every start so that an old message cannot be
//! replayed after a restart: it is the number of seconds from 2020-01-01 to the start (a cabinet's
//! clock is kept by NTP or an RTC across restarts), enough until 2088.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use super::mib::Identity;
use super::proto::{Commands, Counters, Now, Protocol, Refusal, Settings, MAX_PACKET};
use super::usm::{UserKeys, MIN_PASSWORD};
use crate::central::command::{CommandClient, Origin, Request, QUEUE};
use crate::central::status::StatusReader;
use crate::config::snmp::SnmpUser;
use crate::config::Site;
use crate::console::view::Action;

/// Sources tracked by the rate limiter; when full, the one heard from least recently is replaced.
pub const MAX_SOURCES: usize = 64;
/// How long a SET waits for the control loop to apply it.
const SET_TIMEOUT: Duration = Duration::from_millis(2_000);

/// What the agent needs at start-up.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub listen: SocketAddr,
    /// SNMPv2c read-only community; `None`: v2c off.
    pub community: Option<String>,
    /// SNMPv3 users (SETs need one).
    pub users: Vec<SnmpUser>,
    pub rate_per_s: u32,
    pub burst: u32,
}

impl AgentConfig {
    /// The agent's settings with the SNMPv3 users read from `users` (start-up; logs a warning
    /// when the file is readable by group or others).
    pub fn load(
        listen: SocketAddr,
        community: Option<&str>,
        users: Option<&std::path::Path>,
        rate_per_s: u32,
        burst: u32,
    ) -> Result<AgentConfig, String> {
        let users = match users {
            None => Vec::new(),
            Some(p) => {
                if let Some(w) = crate::config::snmp::secret_file_warning(p) {
                    log::warn!("{w}");
                }
                crate::config::snmp::load_users(p).map_err(|e| e.to_string())?
            }
        };
        Ok(AgentConfig {
            listen,
            community: community.map(str::to_string),
            users,
            rate_per_s,
            burst,
        })
    }

    /// The settings of a board file's `[snmp]` table.
    pub fn from_board(c: &crate::config::snmp::SnmpConfig) -> Result<AgentConfig, String> {
        AgentConfig::load(
            c.listen,
            c.community.as_deref(),
            c.users.as_deref().map(std::path::Path::new),
            c.rate_per_s,
            c.burst,
        )
    }
}

/// The running agent; dropping it stops the thread and logs its counters.
pub struct AgentHandle {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Counters>>,
    /// The address the socket is bound to (the port chosen by the system for port 0).
    pub local: SocketAddr,
}

impl Drop for AgentHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(Ok(c)) = self.thread.take().map(|t| t.join()) {
            log::info!(
                "snmp: {} datagrams, {} answered, {} malformed, {} oversize, {} rate-limited, {} bad community, \
                 {} SETs applied, {} refused, {} unauthorised; usm: {} unknown engine, {} unknown user, \
                 {} wrong digest, {} not in time window, {} decryption errors",
                c.received,
                c.answered,
                c.malformed,
                c.oversize,
                c.rate_limited,
                c.bad_community,
                c.sets_applied,
                c.sets_refused,
                c.set_unauthorized,
                c.usm[4],
                c.usm[3],
                c.usm[5],
                c.usm[2],
                c.usm[6],
            );
        }
    }
}

/// snmpEngineID (RFC 3411 5): enterprise 1206 (NTCIP), format 5 (administratively assigned
/// octets): "greenwave" and the site's device ID.
pub fn engine_id(device_id: u16) -> Vec<u8> {
    let mut id = vec![0x80, 0x00, 0x04, 0xb6, 0x05];
    id.extend_from_slice(b"greenwave");
    id.extend_from_slice(&device_id.to_be_bytes());
    id
}

/// snmpEngineBoots for a start at `unix_s` (see the module docs).
pub fn boots_at(unix_s: i64) -> u32 {
    const FROM_2020: i64 = 1_577_836_800;
    u32::try_from((unix_s - FROM_2020).clamp(1, i64::from(i32::MAX))).unwrap_or(1)
}

fn random_u64() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_err()
    {
        // No entropy device: the clock's nanoseconds (salts must only not repeat, RFC 3826).
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        return t;
    }
    u64::from_ne_bytes(b)
}

/// Per-source token buckets in a fixed table.
pub struct Limiter {
    sources: [Option<(IpAddr, f64, StdInstant)>; MAX_SOURCES],
    rate: f64,
    burst: f64,
}

impl Limiter {
    pub fn new(rate_per_s: u32, burst: u32) -> Limiter {
        Limiter {
            sources: [None; MAX_SOURCES],
            rate: f64::from(rate_per_s.max(1)),
            burst: f64::from(burst.max(1)),
        }
    }

    /// Whether one more request from `ip` at `now` is within its bucket.
    pub fn allow(&mut self, ip: IpAddr, now: StdInstant) -> bool {
        let slot = match self.sources.iter().position(|s| s.is_some_and(|(a, ..)| a == ip)) {
            Some(i) => i,
            None => {
                // A free slot, else the source heard from least recently.
                let i = self.sources.iter().position(Option::is_none).unwrap_or_else(|| {
                    (0..MAX_SOURCES)
                        .min_by_key(|i| self.sources.get(*i).copied().flatten().map(|(_, _, t)| t))
                        .unwrap_or(0)
                });
                if let Some(s) = self.sources.get_mut(i) {
                    *s = Some((ip, self.burst, now));
                }
                i
            }
        };
        let Some(Some((_, tokens, at))) = self.sources.get_mut(slot) else {
            return false;
        };
        let dt = now.saturating_duration_since(*at).as_secs_f64();
        *tokens = (*tokens + dt * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// SETs to the control loop over the command channel, in batches of at most the queue's size.
struct LoopCommands {
    client: CommandClient,
    next_id: u32,
}

impl Commands for LoopCommands {
    fn apply(&mut self, actions: &[Action]) -> Result<(), (usize, Refusal)> {
        for (c, chunk) in actions.chunks(QUEUE).enumerate() {
            // Answers to earlier requests that timed out are stale now.
            while self.client.reply().is_some() {}
            let first = self.next_id;
            for (k, a) in chunk.iter().enumerate() {
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1);
                let r = Request {
                    id,
                    origin: Origin::Snmp,
                    action: *a,
                };
                if self.client.send(r).is_err() {
                    return Err((c * QUEUE + k, Refusal::Busy));
                }
            }
            let mut pending = chunk.len();
            let until = StdInstant::now() + SET_TIMEOUT;
            while pending > 0 {
                let Some(reply) = self.client.reply() else {
                    if StdInstant::now() > until {
                        return Err((c * QUEUE + chunk.len() - pending, Refusal::Busy));
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                };
                let k = reply.id.wrapping_sub(first) as usize;
                if k >= chunk.len() {
                    continue; // stale
                }
                pending -= 1;
                if let Err(why) = reply.result {
                    return Err((c * QUEUE + k, Refusal::Refused(why)));
                }
            }
        }
        Ok(())
    }
}

/// Binds the socket, derives the users' keys and starts the agent's thread (start-up only).
pub fn start(
    cfg: &AgentConfig,
    site: &Site,
    status: StatusReader,
    commands: CommandClient,
) -> Result<AgentHandle, String> {
    let socket = UdpSocket::bind(cfg.listen).map_err(|e| format!("snmp: cannot listen on {}: {e}", cfg.listen))?;
    let local = socket.local_addr().map_err(|e| format!("snmp: {e}"))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| format!("snmp: {e}"))?;
    let engine_id = engine_id(site.device_id);
    let unix_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut users = Vec::with_capacity(cfg.users.len());
    for u in &cfg.users {
        if u.auth_password.len() < MIN_PASSWORD || u.priv_password.len() < MIN_PASSWORD {
            return Err(format!(
                "snmp: user {}: passwords must have at least {MIN_PASSWORD} characters (RFC 3414 11.2)",
                u.name
            ));
        }
        users.push(UserKeys::from_passwords(
            &u.name,
            &u.auth_password,
            &u.priv_password,
            &engine_id,
        ));
    }
    let settings = Settings {
        community: cfg.community.clone(),
        users,
        engine_id,
        boots: boots_at(unix_s),
        salt: random_u64(),
    };
    let ident = Identity {
        descr: format!(
            "greenwave {} adaptive traffic signal controller (NTCIP 1202), site {}",
            env!("CARGO_PKG_VERSION"),
            site.name
        ),
        name: site.name.to_string(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let limiter = Limiter::new(cfg.rate_per_s, cfg.burst);
    let thread = std::thread::Builder::new()
        .name("snmp".into())
        .spawn(move || serve(socket, Protocol::new(settings), ident, status, commands, limiter, &flag))
        .map_err(|e| format!("snmp: cannot start the agent thread: {e}"))?;
    log::info!(
        "snmp: NTCIP 1202 agent on {local} (v2c {}, {} SNMPv3 user(s))",
        if cfg.community.is_some() { "read-only" } else { "off" },
        cfg.users.len()
    );
    Ok(AgentHandle {
        stop,
        thread: Some(thread),
        local,
    })
}

fn serve(
    socket: UdpSocket,
    mut proto: Protocol,
    ident: Identity,
    mut status: StatusReader,
    client: CommandClient,
    mut limiter: Limiter,
    stop: &AtomicBool,
) -> Counters {
    let started = StdInstant::now();
    let mut cmds = LoopCommands { client, next_id: 1 };
    // One octet more than accepted: a datagram that fills it was larger (and truncated).
    let mut buf = [0u8; MAX_PACKET + 1];
    while !stop.load(Ordering::Relaxed) {
        let (n, src) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(e) => {
                log::warn!("snmp: receive failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let t = StdInstant::now();
        if !limiter.allow(src.ip(), t) {
            proto.counters.received += 1;
            proto.counters.rate_limited += 1;
            continue;
        }
        let up = t.saturating_duration_since(started);
        let now = Now {
            status: status.latest(),
            ident: &ident,
            engine_time_s: u32::try_from(up.as_secs()).unwrap_or(u32::MAX),
            uptime_cs: u32::try_from(up.as_millis() / 10).unwrap_or(u32::MAX),
        };
        // The decoder is fuzzed (fuzz/fuzz_targets/snmp_packet.rs); should a datagram still make
        // it panic, that datagram is dropped and counted and the agent goes on.
        let packet = buf.get(..n).unwrap_or(&[]);
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| proto.handle(packet, &now, &mut cmds)));
        let Ok(answer) = answer else {
            proto.counters.malformed += 1;
            log::error!("snmp: a datagram from {src} failed in the decoder; dropped");
            continue;
        };
        let Some(out) = answer else {
            continue;
        };
        if let Err(e) = socket.send_to(&out, src) {
            log::debug!("snmp: answer to {src} not sent: {e}");
        }
    }
    proto.counters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_burst_then_its_rate() {
        let mut l = Limiter::new(10, 5);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = StdInstant::now();
        assert_eq!((0..8).filter(|_| l.allow(a, t0)).count(), 5);
        // Another source has its own bucket.
        assert!(l.allow(b, t0));
        // 0.3 s later: three more tokens.
        let t1 = t0 + Duration::from_millis(300);
        assert_eq!((0..8).filter(|_| l.allow(a, t1)).count(), 3);
    }

    #[test]
    fn the_table_stays_bounded_under_many_sources() {
        let mut l = Limiter::new(1, 1);
        let t = StdInstant::now();
        for i in 0..1000u32 {
            assert!(l.allow(IpAddr::from(i.to_be_bytes()), t));
        }
        assert_eq!(l.sources.iter().filter(|s| s.is_some()).count(), MAX_SOURCES);
    }

    #[test]
    fn the_engine_id_follows_rfc_3411() {
        let id = engine_id(0x0102);
        assert_eq!(&id[..5], &[0x80, 0, 0x04, 0xb6, 5]);
        assert!(id.len() >= 5 && id.len() <= 32);
        assert!(boots_at(1_800_000_000) > boots_at(1_700_000_000));
        assert_eq!(boots_at(0), 1);
    }
}
