//! Fleet telemetry against a real broker: Debian's `mosquitto` with a TLS listener and a password
//! file, `greenwave sim --speed 1 --mqtt mqtts://…` publishing to it, `mosquitto_sub` (TLS, user)
//! receiving. Status, an injected detector fault's alarm and event batches arrive; the broker is
//! stopped for 30 s and started again: the publisher's counters show what it held and dropped, the
//! sequence numbers received never go back except for a QoS 1 duplicate, and the loop has no
//! overrun.
//!
//! Needs `mosquitto`, `mosquitto-clients` and `openssl` (.ci/run installs them); without mosquitto
//! the test says so loudly and passes without running.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_greenwave");
const SITE: &str = "board/sites/nema8-4leg.toml";
/// A fault-injection seed whose schedule stalls the detection 42 s into the run, after the broker
/// is back (detector faults, event 85, for the `alarm` topic); the event log says what it raised.
const FAULT_SEED: &str = "11";

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} || test -x /usr/sbin/{tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn mosquitto() -> String {
    if Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto".into()
    } else {
        "mosquitto".into()
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A CA, and a server certificate for 127.0.0.1 signed by it.
fn certificates(dir: &Path) {
    let p = |f: &str| dir.join(f).display().to_string();
    run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=greenwave test CA",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.pem"),
    ]));
    run(Command::new("openssl").args([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &p("server.key"),
        "-out",
        &p("server.csr"),
    ]));
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(Command::new("openssl").args([
        "x509",
        "-req",
        "-in",
        &p("server.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("san.ext"),
        "-out",
        &p("server.pem"),
    ]));
}

struct Broker {
    conf: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Broker {
    fn start(&mut self) {
        let child = Command::new(mosquitto())
            .args(["-c", &self.conf.display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "mosquitto did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM: mosquitto saves its persistent sessions and exits.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), nix::sys::signal::SIGTERM);
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One received message: topic and JSON payload.
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// `mosquitto_sub` with a persistent QoS 1 session (the broker keeps what arrives while it
/// reconnects), printing `topic payload` lines.
fn subscribe(dir: &Path, port: u16, got: &Received) -> Child {
    let mut child = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--cafile"])
        .arg(dir.join("ca.pem"))
        .args([
            "-u",
            "dashboard",
            "-P",
            "dash-pw",
            "-q",
            "1",
            "-c",
            "-i",
            "greenwave-test-sub",
        ])
        .args(["-t", "greenwave/#", "-v"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto_sub");
    let out = child.stdout.take().unwrap();
    let got = got.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some((t, p)) = line.split_once(' ') {
                got.lock().unwrap().push((t.to_string(), p.to_string()));
            }
        }
    });
    child
}

/// The number after `"key":` in a JSON text.
fn num(json: &str, key: &str) -> Option<i64> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = json[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

/// The value of `key` in a summary line `key  value`.
fn figure(line: &str, key: &str) -> u64 {
    let at = line.find(key).unwrap_or_else(|| panic!("no `{key}` in {line}")) + key.len();
    line[at..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number after `{key}` in {line}"))
}

/// A mosquitto configuration in `dir`: TLS listener on a free port with a test CA, password file
/// with users `cabinet` (cab-pw) and `dashboard` (dash-pw), persistent sessions. Not started.
fn tls_broker(dir: &Path) -> Broker {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("db")).unwrap();
    certificates(dir);
    let pw = dir.join("passwd");
    run(Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&pw)
        .args(["cabinet", "cab-pw"]));
    run(Command::new("mosquitto_passwd")
        .args(["-b"])
        .arg(&pw)
        .args(["dashboard", "dash-pw"]));
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    // Started as root, mosquitto changes to the user named here (by default `mosquitto`, who could
    // not read this test's key): stay the user running the test.
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n\
             allow_anonymous false\npassword_file {pw}\npersistence true\npersistence_location {d}/db/\n\
             log_dest none\nuser {user}\n",
            user = user.trim(),
            d = dir.display(),
            pw = pw.display()
        ),
    )
    .unwrap();
    let secret = dir.join("cabinet.secret");
    std::fs::write(&secret, "cab-pw\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    Broker {
        conf,
        port,
        child: None,
    }
}

#[test]
fn telemetry_reaches_a_tls_broker_and_survives_its_restart() {
    if !have("mosquitto") || !have("mosquitto_sub") || !have("openssl") {
        eprintln!(
            "\n\n*** SKIPPED mqtt_broker: mosquitto, mosquitto-clients or openssl is not installed \
             (apt-get install mosquitto mosquitto-clients openssl) ***\n\n"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("greenwave-mqtt-{}", std::process::id()));
    let mut broker = tls_broker(&dir);
    broker.start();
    let got: Received = Arc::default();
    let port = broker.port;
    let mut sub = subscribe(&dir, port, &got);
    std::thread::sleep(Duration::from_millis(500));

    let secret = dir.join("cabinet.secret");
    let events = dir.join("events.csv");
    let t0 = Instant::now();
    let sim = Command::new(BIN)
        .args([
            "sim",
            "--site",
            SITE,
            "--speed",
            "1",
            "--duration",
            "56",
            "--faults",
            FAULT_SEED,
        ])
        .args(["--mqtt", &format!("mqtts://127.0.0.1:{port}"), "--mqtt-ca"])
        .arg(dir.join("ca.pem"))
        .args(["--mqtt-user", "cabinet", "--mqtt-password-file"])
        .arg(&secret)
        .args(["--mqtt-queue", "30", "--events"])
        .arg(&events)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Up for 8 s, away for 30 s, up again until the run ends.
    std::thread::sleep(Duration::from_secs(8));
    let before = got.lock().unwrap().len();
    assert!(before > 0, "nothing arrived in the first 8 s");
    broker.stop();
    std::thread::sleep(Duration::from_secs(30));
    broker.start();
    let out = sim.wait_with_output().unwrap();
    let wall = t0.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "sim failed: {stdout}\n{stderr}");
    // What the broker still holds for the subscriber arrives now.
    std::thread::sleep(Duration::from_secs(2));
    let _ = sub.kill();
    let _ = sub.wait();
    broker.stop();
    let msgs = got.lock().unwrap().clone();
    eprintln!(
        "{stdout}\n{} messages received; run took {:.1} s",
        msgs.len(),
        wall.as_secs_f64()
    );

    // Topics and payloads.
    let of = |t: &str| -> Vec<&(String, String)> {
        let want = format!("greenwave/1/{t}");
        msgs.iter().filter(|(topic, _)| *topic == want).collect()
    };
    assert!(
        msgs.iter().all(|(t, _)| t.starts_with("greenwave/1/")),
        "device id 1 topics only"
    );
    let statuses = of("status");
    assert!(statuses.len() >= 15, "{} status messages", statuses.len());
    assert!(statuses
        .iter()
        .all(|(_, p)| p.contains("\"mode\":") && p.contains("\"groups\":")));
    let batches = of("events");
    assert!(!batches.is_empty(), "no event batch");
    let rows: usize = batches.iter().map(|(_, p)| p.matches("\"EventId\":").count()).sum();
    assert!(rows > 50, "{rows} event rows");
    // The injected fault: its alarm message matches an alarm row of the CSV log.
    let csv = std::fs::read_to_string(&events).unwrap();
    let alarm_rows: Vec<(i64, i64)> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let (code, param) = (f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?);
            // Detector faults, controller alarms, flash on (the clean stop's at the end).
            ((84..=88).contains(&code) || code == 174 || (code == 173 && param == 1)).then_some((code, param))
        })
        .collect();
    assert!(!alarm_rows.is_empty(), "the fault seed raised no alarm in the log");
    let alarms = of("alarm");
    assert!(!alarms.is_empty(), "no alarm message; log has {alarm_rows:?}");
    for (_, p) in &alarms {
        let key = (num(p, "EventId").unwrap(), num(p, "Parameter").unwrap());
        assert!(alarm_rows.contains(&key), "alarm {p} is not in the log");
    }
    assert!(
        alarms
            .iter()
            .any(|(_, p)| num(p, "EventId").is_some_and(|c| (84..=88).contains(&c))),
        "no detector fault alarm; log has {alarm_rows:?}"
    );

    // Sequence numbers: a number not above the highest seen must be a duplicate of one seen (QoS 1
    // resend), never a message arriving late; gaps are the drops the counters report.
    let mut seen = BTreeSet::new();
    let mut highest = 0;
    let mut dups = 0;
    for (t, p) in &msgs {
        let seq = num(p, "seq").unwrap_or_else(|| panic!("no seq in {t} {p}"));
        assert_eq!(num(p, "device"), Some(1));
        if seq <= highest {
            assert!(
                seen.contains(&seq),
                "seq {seq} arrived after {highest} and is not a duplicate"
            );
            dups += 1;
        } else {
            highest = seq;
        }
        seen.insert(seq);
    }
    let gaps = highest as usize - seen.len();

    // The publisher's counters in the run summary.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("mqtt "))
        .unwrap_or_else(|| panic!("no mqtt line in the summary: {stdout}"));
    let queued = figure(line, "queued");
    let acked = figure(line, "acked");
    let dropped = figure(line, "dropped oldest");
    let reconnects = figure(line, "reconnects");
    eprintln!(
        "received {} distinct, highest seq {highest}, {gaps} missing, {dups} duplicates; {line}",
        seen.len()
    );
    assert!(reconnects >= 1, "{line}");
    // 30 s away with a 30-message queue: a status a second and the event batches were held, the
    // oldest dropped.
    assert!(dropped >= 10, "{line}");
    assert_eq!(queued, highest as u64, "every queued message numbered: {line}");
    assert!(acked + dropped <= queued && acked + dropped + 40 >= queued, "{line}");
    // Every message dropped is a gap; every gap is a message the broker never acknowledged (dropped
    // while it was away, or still unacknowledged when the run ended).
    assert!(gaps as u64 >= dropped, "{gaps} missing but {dropped} dropped: {line}");
    assert!(
        gaps as u64 <= queued - acked,
        "{gaps} missing, {} not acknowledged: {line}",
        queued - acked
    );
    // No overrun: the telemetry never touched the loop's timing.
    let ticks = stdout.lines().find(|l| l.starts_with("ticks")).unwrap();
    assert!(ticks.contains("(0 overruns"), "{ticks}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `greenwave check --board` names the broker and warns about a password file others may read;
/// a bad `[mqtt]` table is refused with its line.
#[test]
fn check_warns_about_a_readable_secret() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("greenwave-mqtt-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("mqtt.secret");
    std::fs::write(&secret, "pw\n").unwrap();
    let board = dir.join("board.toml");
    let shipped = std::fs::read_to_string("board/host-fake.toml").unwrap();
    std::fs::write(
        &board,
        format!(
            "{shipped}\n[mqtt]\nurl = \"mqtts://broker.example:8883\"\nusername = \"cab\"\npassword_file = \"{}\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let check = || {
        let out = Command::new(BIN)
            .args(["check", "--site", SITE, "--board"])
            .arg(&board)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = check();
    assert!(
        s.contains("mqtt: mqtts://broker.example:8883 as greenwave-1, topics greenwave/1/status|alarm|events"),
        "{s}"
    );
    assert!(!s.contains("warning"), "{s}");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = check();
    assert!(s.contains("is readable by everyone (mode 644): chmod 600"), "{s}");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(check().contains("is readable by its group (mode 640)"));

    std::fs::write(&board, format!("{shipped}\n[mqtt]\nurl = \"http://broker.example\"\n")).unwrap();
    let out = Command::new(BIN)
        .args(["check", "--site", SITE, "--board"])
        .arg(&board)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("mqtt.url") && err.contains("not an MQTT broker URL"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

/// The loop's side of the telemetry — the status copy, every drained event handed over, the
/// counters read — allocates nothing and never waits, whether the broker is there or not (here it
/// is not: nothing listens on the port). A hand-off queue the publisher cannot keep up with drops
/// and counts.
#[test]
fn the_loop_hands_over_without_allocating() {
    use greenwave::config::mqtt::MqttConfig;
    use greenwave::config::Site;
    use greenwave::hal::sim::{SimRelays, SimWatchdog};
    use greenwave::monitor::card::MmuCard;
    use greenwave::runtime::central::CentralLink;
    use greenwave::runtime::control_loop::ControlLoop;
    use greenwave::sim::traffic::SimTraffic;
    use greenwave::time::Instant as At;
    use std::sync::atomic::Ordering;

    let site = Site::load(Path::new(SITE)).unwrap();
    let mut lp = ControlLoop::new(
        &site,
        &MmuCard::from_geometry(&site),
        SimRelays::default(),
        SimWatchdog::default(),
        SimTraffic::new(&site, 2.0, 7),
    );
    let mut cfg = MqttConfig::from_url(&format!("mqtt://127.0.0.1:{}", free_port())).unwrap();
    cfg.queue = 10;
    let (link, publisher) = greenwave::central::mqtt::start(&cfg, site.device_id, None).unwrap();
    let mut central = CentralLink::default();
    assert!(central.status.push(publisher).is_ok());
    central.mqtt = Some(link);
    lp.tick(At(0), true);
    let tick = u64::from(site.tick_ms);
    let mut offered = 0u64;
    let mut health = Default::default();
    let t0 = Instant::now();
    counting_alloc::COUNTING.store(true, Ordering::SeqCst);
    for k in 1..=300_000u64 {
        lp.tick(At(k * tick), true);
        while let Some(ev) = lp.controller.events_mut().pop() {
            central.offer_event(&ev, 1_700_000_000_000);
            offered += 1;
        }
        central.publish(&lp.controller, &lp.last_det, &lp.last_inputs, &lp.stats, true, 0);
        health = central.mqtt.as_ref().unwrap().health();
    }
    counting_alloc::COUNTING.store(false, Ordering::SeqCst);
    let wall = t0.elapsed();
    let allocs = counting_alloc::ALLOCS.load(Ordering::SeqCst);
    assert_eq!(allocs, 0, "the hand-off allocated {allocs} times");
    assert!(offered > 10_000, "{offered} events");
    assert!(!health.connected);
    eprintln!("{offered} events offered in {wall:?}: {health}");
    // Nobody listening: status messages were queued and, past the queue's 10, the oldest dropped.
    std::thread::sleep(Duration::from_millis(1500));
    let end = central.mqtt.take().unwrap().finish();
    assert!(end.queued >= 1 && end.acked == 0 && end.connect_failures >= 1, "{end}");
    assert!(end.held <= 10 + greenwave::central::mqtt::WINDOW as u64, "{end}");
}

/// `greenwave run` starts the telemetry from the board file's `[mqtt]` table (the dry-run board):
/// its status and events reach the broker, and its summary counts them.
#[test]
fn a_board_publishes_what_its_mqtt_table_says() {
    if !have("mosquitto") || !have("mosquitto_sub") || !have("openssl") {
        eprintln!(
            "\n\n*** SKIPPED mqtt_broker (board): mosquitto, mosquitto-clients or openssl is not installed ***\n\n"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("greenwave-mqtt-board-{}", std::process::id()));
    let mut broker = tls_broker(&dir);
    broker.start();
    let got: Received = Arc::default();
    let mut sub = subscribe(&dir, broker.port, &got);
    std::thread::sleep(Duration::from_millis(500));
    let shipped = std::fs::read_to_string("board/host-fake.toml").unwrap();
    let board = dir.join("board.toml");
    std::fs::write(
        &board,
        shipped
            .replace(
                "event_dir = \"target/host-fake/events\"",
                &format!("event_dir = \"{}\"", dir.join("events").display()),
            )
            .replace(
                "state_dir = \"target/host-fake/state\"",
                &format!("state_dir = \"{}\"", dir.join("state").display()),
            )
            + &format!(
                "\n[mqtt]\nurl = \"mqtts://127.0.0.1:{}\"\nusername = \"cabinet\"\npassword_file = \"{d}/cabinet.secret\"\n\
                 ca_file = \"{d}/ca.pem\"\nclient_id = \"cabinet-main-elm\"\n",
                broker.port,
                d = dir.display()
            ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["run", "--site", SITE, "--duration", "4", "--board"])
        .arg(&board)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_secs(1));
    let _ = sub.kill();
    let _ = sub.wait();
    broker.stop();
    let msgs = got.lock().unwrap().clone();
    let line = stdout
        .lines()
        .find(|l| l.starts_with("mqtt "))
        .unwrap_or_else(|| panic!("no mqtt line: {stdout}"));
    let acked = figure(line, "acked");
    assert!(acked >= 4 && figure(line, "dropped oldest") == 0, "{line}");
    assert_eq!(msgs.len() as u64, acked, "{line}");
    assert!(msgs.iter().any(|(t, _)| t == "greenwave/1/status"));
    assert!(msgs.iter().any(|(t, _)| t == "greenwave/1/events"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Client-certificate authentication: a broker that requires a certificate signed by its CA and
/// takes the certificate's name as the user accepts the controller's `--mqtt-cert/--mqtt-key`.
#[test]
fn a_client_certificate_authenticates() {
    if !have("mosquitto") || !have("openssl") {
        eprintln!("\n\n*** SKIPPED mqtt_broker (certificate): mosquitto or openssl is not installed ***\n\n");
        return;
    }
    let dir = std::env::temp_dir().join(format!("greenwave-mqtt-cert-{}", std::process::id()));
    let mut broker = tls_broker(&dir);
    let p = |f: &str| dir.join(f).display().to_string();
    run(Command::new("openssl").args([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=cabinet-0042",
        "-keyout",
        &p("client.key"),
        "-out",
        &p("client.csr"),
    ]));
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    run(Command::new("openssl").args([
        "x509",
        "-req",
        "-in",
        &p("client.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("client.ext"),
        "-out",
        &p("client.pem"),
    ]));
    // No password file on this broker: the certificate is the credential.
    let conf = std::fs::read_to_string(&broker.conf).unwrap();
    let conf: String = conf
        .lines()
        .filter(|l| !l.starts_with("password_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(
        &broker.conf,
        conf + "require_certificate true\nuse_identity_as_username true\n",
    )
    .unwrap();
    broker.start();
    let run_sim = |with_cert: bool| {
        let mut c = Command::new(BIN);
        c.args(["sim", "--site", SITE, "--speed", "1", "--duration", "3"])
            .args(["--mqtt", &format!("mqtts://127.0.0.1:{}", broker.port), "--mqtt-ca"])
            .arg(dir.join("ca.pem"));
        if with_cert {
            c.arg("--mqtt-cert")
                .arg(dir.join("client.pem"))
                .arg("--mqtt-key")
                .arg(dir.join("client.key"));
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        stdout
            .lines()
            .find(|l| l.starts_with("mqtt "))
            .unwrap_or_else(|| panic!("no mqtt line: {stdout}"))
            .to_string()
    };
    let with = run_sim(true);
    assert!(
        figure(&with, "acked") >= 3 && figure(&with, "connect failures") == 0,
        "{with}"
    );
    let without = run_sim(false);
    assert!(
        figure(&without, "acked") == 0 && figure(&without, "connect failures") >= 1,
        "{without}"
    );
    broker.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
