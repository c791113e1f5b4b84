//! Fleet telemetry over MQTT: a publisher thread posts the unit status, alarms and event-log
//! batches to `greenwave/<device-id>/{status,alarm,events}` on a broker, QoS 1, over TLS with a
//! username/password or a client certificate (README "Fleet telemetry over MQTT").
//!
//! Off unless configured (`[mqtt]` in the board file, `config::mqtt`; `greenwave sim --mqtt URL`).
//! The control loop's side is two hand-offs that never wait and never allocate:
//!
//! - the unit status, through the triple buffer every central service reads
//!   (`central::status`); the publisher takes the newest one every `status_period_ms`;
//! - the events it drains each tick, through a fixed single-producer, single-consumer queue
//!   ([`MqttLink::offer`], [`EVENT_QUEUE`] entries); a full queue drops the event and counts it.
//!
//! Two threads do the rest, off the control path:
//!
//! - the publisher formats messages (`payload`), queues them in a bounded outbox that drops the
//!   oldest while the broker is away (`outbox`), and hands them to the MQTT client at most
//!   [`WINDOW`] unacknowledged at a time;
//! - the connection thread runs the client's event loop (rumqttc), reports connections, packet
//!   ids and acknowledgements to the publisher, and reconnects after a loss with an exponential
//!   backoff capped at [`BACKOFF_MAX_MS`] (with a per-device offset, so a fleet that lost its
//!   broker does not return in one burst). Each connection is a new client with a clean session:
//!   what the broker had not acknowledged is sent again by the publisher, first and in order.
//!
//! Counters ([`MqttHealth`]) are atomics the loop reads each tick for the console's `stats` and the
//! run summary.

pub mod outbox;
pub mod payload;

use crate::central::status::{self, StatusPublisher, StatusReader};
use crate::config::mqtt::{read_password, MqttConfig};
use crate::events::csv::{TimeBase, WallClock};
use crate::events::Event;
pub use crate::stats::MqttHealth;
use outbox::{Msg, Outbox, Topic};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant as WallInstant};

/// Events the loop may hand over between two wake-ups of the publisher (every [`POLL_MS`]): at
/// the busiest a controller logs a few hundred events a second, a few per poll.
pub const EVENT_QUEUE: usize = 1024;
/// Messages handed to the client and not yet acknowledged.
pub const WINDOW: usize = 32;
/// The publisher's wake-up period: alarms go out within this.
pub const POLL_MS: u64 = 20;
/// Event rows per batch message (a batch also goes out every status period).
pub const BATCH_ROWS: usize = 256;
/// First and longest wait between connection attempts.
pub const BACKOFF_MIN_MS: u64 = 500;
pub const BACKOFF_MAX_MS: u64 = 8_000;
/// How long the end of a run waits for queued messages to be acknowledged.
pub const FLUSH_MS: u64 = 2_000;
/// Largest message (a batch of [`BATCH_ROWS`] rows is ~20 kB).
const MAX_PACKET: usize = 256 * 1024;

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    connected: AtomicBool,
    queued: AtomicU64,
    held: AtomicU64,
    sent: AtomicU64,
    resent: AtomicU64,
    acked: AtomicU64,
    dropped_oldest: AtomicU64,
    reconnects: AtomicU64,
    connect_failures: AtomicU64,
    events_dropped: AtomicU64,
}

impl Shared {
    fn health(&self) -> MqttHealth {
        let r = Ordering::Relaxed;
        MqttHealth {
            connected: self.connected.load(r),
            queued: self.queued.load(r),
            held: self.held.load(r),
            sent: self.sent.load(r),
            resent: self.resent.load(r),
            acked: self.acked.load(r),
            dropped_oldest: self.dropped_oldest.load(r),
            reconnects: self.reconnects.load(r),
            connect_failures: self.connect_failures.load(r),
            events_dropped: self.events_dropped.load(r),
        }
    }
}

/// One event and the Unix time (ms) of it.
type EventItem = (Event, i64);
type EventQueue = heapless::spsc::Queue<EventItem, EVENT_QUEUE>;

/// The control loop's end of the telemetry: hands events over, reads the counters, stops the
/// publisher at the end of the run.
pub struct MqttLink {
    events: heapless::spsc::Producer<'static, EventItem>,
    events_dropped: u64,
    shared: Arc<Shared>,
    publisher: Option<std::thread::JoinHandle<()>>,
}

impl MqttLink {
    /// Hands one event over (no wait, no allocation); counted and dropped when the queue is full.
    pub fn offer(&mut self, ev: &Event, unix_ms: i64) {
        if self.events.enqueue((*ev, unix_ms)).is_err() {
            self.events_dropped += 1;
            self.shared.events_dropped.store(self.events_dropped, Ordering::Relaxed);
        }
    }

    /// The counters now (relaxed atomic loads).
    pub fn health(&self) -> MqttHealth {
        self.shared.health()
    }

    /// Stops the publisher: what is queued gets up to [`FLUSH_MS`] to be acknowledged (with a
    /// last status and event batch), then the connection is closed. Returns the final counters.
    pub fn finish(mut self) -> MqttHealth {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.publisher.take() {
            let _ = t.join();
        }
        self.shared.health()
    }
}

impl Drop for MqttLink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// The TLS settings of `cfg` (PEM files read now): the broker checked against `ca_file` or the
/// system's roots, a client certificate when configured.
fn tls_config(cfg: &MqttConfig) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.ca_file {
        Some(ca) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
                .and_then(|it| it.collect::<Result<_, _>>())
                .map_err(|e| format!("MQTT CA file {}: {e}", ca.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("MQTT CA file {}: no usable certificate", ca.display()));
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                return Err(
                    "mqtts:// without `ca_file` and no system CA certificates found: set the CA that signed \
                            the broker's certificate (ca_file, or --mqtt-ca)"
                        .into(),
                );
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots);
    match (&cfg.client_cert, &cfg.client_key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<Result<_, _>>())
                .map_err(|e| format!("MQTT client certificate {}: {e}", cert.display()))?;
            let key =
                PrivateKeyDer::from_pem_file(key).map_err(|e| format!("MQTT client key {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("MQTT client certificate: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// The client id `cfg` asks for, or `greenwave-<device id>`.
pub fn client_id(cfg: &MqttConfig, device_id: u16) -> String {
    cfg.client_id
        .clone()
        .unwrap_or_else(|| format!("greenwave-{device_id}"))
}

/// Starts the telemetry threads for `cfg` (start-up: reads the secrets and certificates, may fail;
/// the broker need not be up). `zone`: the site's time zone for event timestamps (None: UTC).
/// Returns the loop's end and the status publisher to push into `runtime::central::CentralLink`.
pub fn start(
    cfg: &MqttConfig,
    device_id: u16,
    zone: Option<jiff::tz::TimeZone>,
) -> Result<(MqttLink, StatusPublisher), String> {
    let mut opts = rumqttc::MqttOptions::new(client_id(cfg, device_id), cfg.host.clone(), cfg.port);
    opts.set_keep_alive(Duration::from_secs(u64::from(cfg.keepalive_s)))
        .set_clean_session(true)
        .set_inflight(WINDOW as u16)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET);
    if let Some(user) = &cfg.username {
        let password = match &cfg.password_file {
            Some(p) => read_password(p)?,
            None => String::new(),
        };
        opts.set_credentials(user.clone(), password);
    }
    if cfg.tls {
        let tls = tls_config(cfg)?;
        opts.set_transport(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(
            Arc::new(tls),
        )));
    }
    let (status_tx, status_rx) = status::channel();
    let queue: &'static mut EventQueue = Box::leak(Box::new(EventQueue::new()));
    let (ev_tx, ev_rx) = queue.split();
    let shared = Arc::new(Shared::default());
    let (note_tx, note_rx) = mpsc::channel();
    let boot = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    {
        let shared = shared.clone();
        let url = cfg.url.clone();
        std::thread::Builder::new()
            .name("mqtt-conn".into())
            .spawn(move || connection(opts, url, device_id, &shared, &note_tx))
            .map_err(|e| format!("cannot start the MQTT connection thread: {e}"))?;
    }
    let publisher = {
        let shared = shared.clone();
        let p = Publisher {
            device: device_id,
            boot,
            seq: 0,
            topics: [Topic::Status, Topic::Alarm, Topic::Events].map(|t| format!("greenwave/{device_id}/{}", t.name())),
            period: Duration::from_millis(u64::from(cfg.status_period_ms)),
            time: TimeBase::new(WallClock { unix_ms_at_zero: 0 }, zone, None),
            outbox: Outbox::new(cfg.queue),
            client: None,
            status: status_rx,
            events: ev_rx,
            notes: note_rx,
            reconnects: 0,
            connect_failures: 0,
            connections: 0,
        };
        std::thread::Builder::new()
            .name("mqtt-pub".into())
            .spawn(move || p.run(&shared))
            .map_err(|e| format!("cannot start the MQTT publisher thread: {e}"))?
    };
    log::info!(
        "MQTT telemetry to {} as greenwave/{device_id}/… (queue {} messages, status every {} ms)",
        cfg.url,
        cfg.queue,
        cfg.status_period_ms
    );
    Ok((
        MqttLink {
            events: ev_tx,
            events_dropped: 0,
            shared,
            publisher: Some(publisher),
        },
        status_tx,
    ))
}

/// What the connection thread tells the publisher.
enum Note {
    /// Connected (the broker accepted us); publish through this client.
    Up(rumqttc::Client),
    /// The client sent a publish with this packet id.
    Published(u16),
    /// The broker acknowledged this packet id.
    Acked(u16),
    /// The connection was lost (or an attempt failed, `was_up` false).
    Down { was_up: bool },
}

/// Sleeps up to `ms`, waking early when asked to stop.
fn nap(ms: u64, shared: &Shared) {
    let end = WallInstant::now() + Duration::from_millis(ms);
    while !shared.stop.load(Ordering::Relaxed) {
        let left = end.saturating_duration_since(WallInstant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// The connection thread: one client per connection, its event loop run until the connection is
/// lost, then a backoff before the next attempt.
fn connection(opts: rumqttc::MqttOptions, url: String, device: u16, shared: &Shared, notes: &mpsc::Sender<Note>) {
    use rumqttc::{Event as E, Outgoing, Packet};
    let mut backoff = BACKOFF_MIN_MS;
    let mut failures_in_a_row = 0u32;
    while !shared.stop.load(Ordering::Relaxed) {
        let (client, mut conn) = rumqttc::Client::new(opts.clone(), WINDOW * 2);
        let mut client = Some(client);
        let mut up = false;
        let mut reason = String::new();
        for note in conn.iter() {
            match note {
                Ok(E::Incoming(Packet::ConnAck(_))) => {
                    up = true;
                    backoff = BACKOFF_MIN_MS;
                    if failures_in_a_row > 0 {
                        log::info!("MQTT: connected to {url} after {failures_in_a_row} failed attempts");
                    }
                    failures_in_a_row = 0;
                    if let Some(c) = client.take() {
                        if notes.send(Note::Up(c)).is_err() {
                            return;
                        }
                    }
                }
                Ok(E::Outgoing(Outgoing::Publish(pkid))) => {
                    let _ = notes.send(Note::Published(pkid));
                }
                Ok(E::Incoming(Packet::PubAck(a))) => {
                    let _ = notes.send(Note::Acked(a.pkid));
                }
                Ok(E::Outgoing(Outgoing::Disconnect)) => {
                    reason = "closed".into();
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    reason = e.to_string();
                    break;
                }
            }
            if shared.stop.load(Ordering::Relaxed) && !up {
                break;
            }
        }
        drop(conn);
        if notes.send(Note::Down { was_up: up }).is_err() || shared.stop.load(Ordering::Relaxed) {
            return;
        }
        if up {
            log::warn!("MQTT: connection to {url} lost ({reason}); reconnecting");
        } else {
            failures_in_a_row += 1;
            // The first failure of an episode, then every 16th: a broker away for hours must not
            // fill the log.
            if failures_in_a_row % 16 == 1 {
                log::warn!("MQTT: cannot connect to {url}: {reason} (attempt {failures_in_a_row}, retrying)");
            }
        }
        // Capped exponential backoff, offset per device (0-22 %) so a fleet does not return at once.
        let wait = backoff + backoff * u64::from(device % 8) / 32;
        nap(wait, shared);
        backoff = (backoff * 2).min(BACKOFF_MAX_MS);
    }
}

/// The publisher thread's state.
struct Publisher {
    device: u16,
    boot: i64,
    seq: u64,
    /// Topic names, by [`Topic`] order.
    topics: [String; 3],
    period: Duration,
    time: TimeBase,
    outbox: Outbox,
    client: Option<rumqttc::Client>,
    status: StatusReader,
    events: heapless::spsc::Consumer<'static, EventItem>,
    notes: mpsc::Receiver<Note>,
    reconnects: u64,
    connect_failures: u64,
    connections: u64,
}

impl Publisher {
    fn header(&mut self) -> payload::Header {
        self.seq += 1;
        payload::Header {
            device: self.device,
            boot: self.boot,
            seq: self.seq,
        }
    }

    fn note(&mut self, n: Note) {
        match n {
            Note::Up(c) => {
                self.client = Some(c);
                self.connections += 1;
                if self.connections > 1 {
                    self.reconnects += 1;
                }
            }
            Note::Published(pkid) => self.outbox.published(pkid),
            Note::Acked(pkid) => {
                let _ = self.outbox.acked(pkid);
            }
            Note::Down { was_up } => {
                self.client = None;
                if was_up {
                    self.outbox.connection_lost();
                } else {
                    self.connect_failures += 1;
                }
            }
        }
    }

    fn status_msg(&mut self, shared: &Shared) {
        let s = *self.status.latest();
        if s.seq == 0 {
            return;
        }
        let c = payload::Counters {
            dropped_oldest: self.outbox.counters.dropped_oldest,
            reconnects: self.reconnects,
            events_dropped: shared.events_dropped.load(Ordering::Relaxed),
        };
        let h = self.header();
        let mut o = String::with_capacity(1024);
        payload::status(&mut o, &h, &mut self.time, &s, &c);
        self.outbox.push(Msg {
            seq: h.seq,
            topic: Topic::Status,
            payload: o.into_bytes(),
        });
    }

    /// Closes the open batch `b` (if it has rows) into a message.
    fn flush_batch(&mut self, b: &mut Batch, shared: &Shared) {
        if b.rows == 0 {
            return;
        }
        // Numbered when queued, so `seq` follows the order of the queue.
        let h = self.header();
        let mut o = String::with_capacity(b.text.len() + 128);
        payload::batch_start(&mut o, &h);
        o.push_str(&b.text);
        payload::batch_end(&mut o, shared.events_dropped.load(Ordering::Relaxed));
        b.text.clear();
        self.outbox.push(Msg {
            seq: h.seq,
            topic: Topic::Events,
            payload: o.into_bytes(),
        });
        b.rows = 0;
    }

    /// Takes the events the loop handed over: alarms at once, every event into the batch.
    fn take_events(&mut self, b: &mut Batch, shared: &Shared) {
        while let Some((ev, unix_ms)) = self.events.dequeue() {
            if payload::is_alarm(&ev) {
                let h = self.header();
                let mut o = String::with_capacity(256);
                payload::alarm(&mut o, &h, &mut self.time, &ev, unix_ms);
                self.outbox.push(Msg {
                    seq: h.seq,
                    topic: Topic::Alarm,
                    payload: o.into_bytes(),
                });
            }
            if b.rows == 0 {
                b.opened = WallInstant::now();
            }
            payload::batch_row(&mut b.text, self.device, &mut self.time, &ev, unix_ms, b.rows == 0);
            b.rows += 1;
            if b.rows >= BATCH_ROWS {
                self.flush_batch(b, shared);
            }
        }
    }

    /// Hands queued messages to the client while it has room.
    fn hand_over(&mut self) {
        let Some(client) = self.client.as_ref() else { return };
        while let Some(m) = self.outbox.next(WINDOW) {
            let topic = &self.topics[m.topic as usize];
            if client
                .try_publish(topic.as_str(), rumqttc::QoS::AtLeastOnce, false, m.payload.clone())
                .is_err()
            {
                self.outbox.unsend();
                break;
            }
        }
    }

    fn publish_counters(&self, shared: &Shared) {
        let r = Ordering::Relaxed;
        let c = &self.outbox.counters;
        shared.connected.store(self.client.is_some(), r);
        shared.queued.store(c.queued, r);
        shared.held.store(self.outbox.held() as u64, r);
        shared.sent.store(c.sent, r);
        shared.resent.store(c.resent, r);
        shared.acked.store(c.acked, r);
        shared.dropped_oldest.store(c.dropped_oldest, r);
        shared.reconnects.store(self.reconnects, r);
        shared.connect_failures.store(self.connect_failures, r);
    }

    fn run(mut self, shared: &Shared) {
        let mut batch = Batch {
            rows: 0,
            opened: WallInstant::now(),
            text: String::with_capacity(64 * BATCH_ROWS),
        };
        let mut next_status = WallInstant::now();
        let mut flush_until: Option<WallInstant> = None;
        loop {
            match self.notes.recv_timeout(Duration::from_millis(POLL_MS)) {
                Ok(n) => {
                    self.note(n);
                    while let Ok(n) = self.notes.try_recv() {
                        self.note(n);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // The connection thread has ended (the run is stopping): keep the pace.
                Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(Duration::from_millis(POLL_MS)),
            }
            self.take_events(&mut batch, shared);
            let now = WallInstant::now();
            if batch.rows > 0 && now.duration_since(batch.opened) >= self.period {
                self.flush_batch(&mut batch, shared);
            }
            if now >= next_status {
                self.status_msg(shared);
                next_status += self.period;
                if next_status < now {
                    // Behind (a stopped clock, a suspended process): no burst of statuses.
                    next_status = now + self.period;
                }
            }
            if flush_until.is_none() && shared.stop.load(Ordering::Relaxed) {
                // The end of the run: the last events and status go out with the rest.
                self.take_events(&mut batch, shared);
                self.flush_batch(&mut batch, shared);
                self.status_msg(shared);
                flush_until = Some(now + Duration::from_millis(FLUSH_MS));
            }
            self.hand_over();
            self.publish_counters(shared);
            if let Some(until) = flush_until {
                if self.outbox.held() == 0 || now >= until {
                    if let Some(c) = self.client.take() {
                        let _ = c.try_disconnect();
                    }
                    shared.connected.store(false, Ordering::Relaxed);
                    return;
                }
            }
        }
    }
}

/// The event batch being filled: its rows, numbered and framed when it is queued.
struct Batch {
    rows: usize,
    opened: WallInstant,
    text: String,
}
