//! `greenwave sim --speed 1 --snmp` against Debian's net-snmp tools (`snmp` package: snmpget,
//! snmpwalk, snmpbulkwalk, snmpset), a real client written elsewhere:
//!
//! - an SNMPv2c walk and bulk walk of the NTCIP 1202 `asc` tree return the phase parameters and
//!   the phase status groups and end cleanly;
//! - the greens and yellows sampled during the run agree with the phase intervals rebuilt from the
//!   event log (Indiana codes 1, 8, 10; flashing yellow arrows 61-64);
//! - a SET of a phase vehicle call is refused with SNMPv2c and with a wrong SNMPv3 key, and with the
//!   right SNMPv3 user (authPriv, SHA-256, AES) it places the call, which the event log shows; a
//!   hold set and released shows as events 41/42.
//!
//! The test installs nothing: without `snmpwalk` on the PATH it says so loudly and passes
//! (CI installs the `snmp` package in .ci/run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ASC: &str = "1.3.6.1.4.1.1206.4.2.1";
const GREENS: &str = "1.3.6.1.4.1.1206.4.2.1.1.4.1.4.1";
const YELLOWS: &str = "1.3.6.1.4.1.1206.4.2.1.1.4.1.3.1";
const VEH_CALLS: &str = "1.3.6.1.4.1.1206.4.2.1.1.4.1.8.1";
const CONTROL_VEH_CALL: &str = "1.3.6.1.4.1.1206.4.2.1.1.5.1.6.1";
const CONTROL_HOLD: &str = "1.3.6.1.4.1.1206.4.2.1.1.5.1.4.1";
const AUTH: &str = "authpass-2718";
const PRIV: &str = "privpass-3141";

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct Out {
    ok: bool,
    text: String,
}

fn run(tool: &str, args: &[&str]) -> Out {
    let o = Command::new(tool)
        .args(args)
        .env("MIBS", "")
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    Out {
        ok: o.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

/// SNMPv2c arguments: options (`-…`) in `extra` before the host, the rest (OIDs, values) after.
fn v2c<'a>(host: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["-v2c", "-c", "public", "-t", "1", "-r", "2", "-On"];
    a.extend(extra.iter().filter(|x| x.starts_with('-')));
    a.push(host);
    a.extend(extra.iter().filter(|x| !x.starts_with('-')));
    a
}

fn v3<'a>(host: &'a str, auth: &'a str) -> Vec<&'a str> {
    vec![
        "-v3", "-l", "authPriv", "-u", "tmc", "-a", "SHA-256", "-A", auth, "-x", "AES", "-X", PRIV, "-t", "1", "-r",
        "2", "-On", host,
    ]
}

/// One sample: the wall clock before and after the request, and the two groups.
struct Sample {
    before: i64,
    after: i64,
    greens: u8,
    yellows: u8,
}

/// Per phase, the intervals [start, end) in Unix ms during which it was green / yellow.
#[derive(Default)]
struct Intervals {
    green: BTreeMap<u16, Vec<(i64, i64)>>,
    yellow: BTreeMap<u16, Vec<(i64, i64)>>,
    rows: Vec<(i64, u8, u16)>,
}

fn read_log(path: &Path) -> Intervals {
    let text = std::fs::read_to_string(path).unwrap();
    let zone = jiff::tz::TimeZone::system();
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 4 {
            continue;
        }
        let civil: jiff::civil::DateTime = f[0].trim().replace(' ', "T").parse().unwrap();
        let at = zone.to_timestamp(civil).unwrap().as_millisecond();
        rows.push((at, f[2].parse::<u8>().unwrap(), f[3].parse::<u16>().unwrap()));
    }
    let end = rows.last().map_or(0, |r| r.0) + 1;
    let mut iv = Intervals::default();
    let mut open_g: BTreeMap<u16, i64> = BTreeMap::new();
    let mut open_y: BTreeMap<u16, i64> = BTreeMap::new();
    for &(at, code, p) in &rows {
        match code {
            1 => {
                open_g.insert(p, at);
            }
            8 => {
                if let Some(s) = open_g.remove(&p) {
                    iv.green.entry(p).or_default().push((s, at));
                }
                open_y.insert(p, at);
            }
            // A flashing yellow arrow on left turn `p` (overlap numbered like the phase).
            61 => {
                open_y.insert(p, at);
            }
            10 | 64 => {
                if let Some(s) = open_y.remove(&p) {
                    iv.yellow.entry(p).or_default().push((s, at));
                }
            }
            _ => {}
        }
    }
    for (p, s) in open_g {
        iv.green.entry(p).or_default().push((s, end));
    }
    for (p, s) in open_y {
        iv.yellow.entry(p).or_default().push((s, end));
    }
    iv.rows = rows;
    iv
}

/// Whether phase `p` is in some interval at an instant of [a, b] / outside at an instant of it.
fn lit_in(iv: &[(i64, i64)], a: i64, b: i64) -> bool {
    iv.iter().any(|&(s, e)| s <= b && e > a)
}

fn dark_in(iv: &[(i64, i64)], a: i64, b: i64) -> bool {
    !iv.iter().any(|&(s, e)| s <= a && e > b)
}

fn agrees(bits: u8, iv: &BTreeMap<u16, Vec<(i64, i64)>>, a: i64, b: i64) -> Result<(), String> {
    for p in 1..=8u16 {
        let on = bits & (1 << (p - 1)) != 0;
        let ivs = iv.get(&p).map_or(&[][..], |v| v.as_slice());
        if on && !lit_in(ivs, a, b) {
            return Err(format!("phase {p} reported lit but the log has it dark"));
        }
        if !on && !dark_in(ivs, a, b) {
            return Err(format!("phase {p} reported dark but the log has it lit throughout"));
        }
    }
    Ok(())
}

fn values(o: &Out) -> Vec<u8> {
    o.text.lines().filter_map(|l| l.trim().parse::<u8>().ok()).collect()
}

#[test]
fn net_snmp_reads_the_ntcip_objects_and_writes_only_with_snmpv3_authpriv() {
    for tool in ["snmpwalk", "snmpbulkwalk", "snmpget", "snmpset"] {
        if !have(tool) {
            eprintln!("\n*** SKIPPED snmp_netsnmp: `{tool}` is not installed (apt-get install snmp) ***\n");
            return;
        }
    }
    let dir = std::env::temp_dir().join(format!("gw-snmp-it-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let users = dir.join("users.toml");
    std::fs::write(
        &users,
        format!(
            "[[user]]\nname = \"tmc\"\nauth = \"SHA-256\"\nauth_password = \"{AUTH}\"\nprivacy = \"AES\"\npriv_password = \"{PRIV}\"\n"
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let host = format!("udp:127.0.0.1:{port}");
    let events = dir.join("events.csv");
    let site = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("board/sites/nema8-4leg.toml");
    let sim = Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(["sim", "--site"])
        .arg(&site)
        .args([
            "--speed",
            "1",
            "--duration",
            "40",
            "--snmp",
            &listen,
            "--snmp-community",
            "public",
        ])
        .arg("--snmp-users")
        .arg(&users)
        .arg("--events")
        .arg(&events)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Up within a few seconds: the agent binds before the loop starts, and the phase table is
    // there once the loop has published its first status.
    let mut up = false;
    for _ in 0..100 {
        let o = run("snmpget", &v2c(&host, &["1.3.6.1.4.1.1206.4.2.1.1.2.1.4.2"]));
        if o.ok && o.text.contains("INTEGER") {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "the agent did not answer");

    // Walks: phase parameters and status groups, ending cleanly at the end of the subtree.
    let walk = run("snmpwalk", &v2c(&host, &[ASC]));
    assert!(walk.ok, "snmpwalk failed: {}", walk.text);
    for (oid, what) in [
        (".1.3.6.1.4.1.1206.4.2.1.1.2.1.4.2 = INTEGER: 10", "phase 2 min green"),
        (".1.3.6.1.4.1.1206.4.2.1.1.2.1.6.2 = INTEGER: 45", "phase 2 max 1"),
        (
            ".1.3.6.1.4.1.1206.4.2.1.1.2.1.8.2 = INTEGER: 33",
            "phase 2 yellow (tenths)",
        ),
        (".1.3.6.1.4.1.1206.4.2.1.1.2.1.22.5 = INTEGER: 2", "phase 5 ring"),
        (".1.3.6.1.4.1.1206.4.2.1.1.4.1.4.1 = INTEGER:", "phaseStatusGroupGreens"),
        (
            ".1.3.6.1.4.1.1206.4.2.1.1.4.1.11.1 = INTEGER:",
            "phaseStatusGroupPhaseNexts",
        ),
        (
            ".1.3.6.1.4.1.1206.4.2.1.2.4.1.2.1 =",
            "vehicleDetectorStatusGroupActive",
        ),
        (".1.3.6.1.4.1.1206.4.2.1.3.9.0 =", "shortAlarmStatus"),
        (
            ".1.3.6.1.4.1.1206.4.2.1.4.10.0 = INTEGER: 254",
            "coordPatternStatus (free)",
        ),
    ] {
        assert!(walk.text.contains(oid), "walk lacks {what} ({oid}):\n{}", walk.text);
    }
    assert!(!walk.text.contains("No more variables"), "{}", walk.text);
    let bulk = run("snmpbulkwalk", &v2c(&host, &[ASC]));
    assert!(bulk.ok, "snmpbulkwalk failed: {}", bulk.text);
    let names = |t: &str| {
        t.lines()
            .filter_map(|l| l.split(" = ").next().map(str::to_string))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&walk.text), names(&bulk.text), "GETNEXT and GETBULK walks differ");
    let missing = run(
        "snmpget",
        &v2c(
            &host,
            &["1.3.6.1.4.1.1206.4.2.1.1.2.1.4.9", "1.3.6.1.4.1.1206.4.2.1.1.99.0"],
        ),
    );
    assert!(
        missing.text.contains("No Such Instance") && missing.text.contains("No Such Object"),
        "{}",
        missing.text
    );

    // Sample greens and yellows for a while.
    let mut samples = Vec::new();
    for _ in 0..60 {
        let before = unix_ms();
        let o = run("snmpget", &v2c(&host, &["-Oqv", GREENS, YELLOWS]));
        let after = unix_ms();
        let v = values(&o);
        if o.ok && v.len() == 2 {
            samples.push(Sample {
                before,
                after,
                greens: v[0],
                yellows: v[1],
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(samples.len() >= 50, "only {} samples answered", samples.len());

    // SETs. A vehicle call on a phase that is neither called nor green now.
    let now = run("snmpget", &v2c(&host, &["-Oqv", VEH_CALLS, GREENS]));
    let v = values(&now);
    let busy = v.iter().fold(0u8, |m, x| m | x);
    let phase = (1..=8u8).find(|p| busy & (1 << (p - 1)) == 0).unwrap_or(3);
    let bit = (1u16 << (phase - 1)).to_string();
    let refused = run("snmpset", &v2c(&host, &[CONTROL_VEH_CALL, "i", &bit]));
    assert!(
        !refused.ok && refused.text.contains("authorizationError"),
        "v2c SET: {}",
        refused.text
    );
    let mut wrong = v3(&host, "not-the-auth-key");
    wrong.extend_from_slice(&[CONTROL_VEH_CALL, "i", &bit]);
    let refused = run("snmpset", &wrong);
    assert!(
        !refused.ok && refused.text.contains("Authentication failure"),
        "wrong key SET: {}",
        refused.text
    );
    let set_at = unix_ms();
    let mut right = v3(&host, AUTH);
    right.extend_from_slice(&[CONTROL_VEH_CALL, "i", &bit]);
    let placed = run("snmpset", &right);
    assert!(placed.ok, "authPriv SET: {}", placed.text);
    let mut read = v3(&host, AUTH);
    read.push(GREENS);
    assert!(run("snmpget", &read).ok, "authPriv GET failed");
    let mut hold = v3(&host, AUTH);
    hold.extend_from_slice(&[CONTROL_HOLD, "i", "2"]);
    assert!(run("snmpset", &hold).ok);
    let mut release = v3(&host, AUTH);
    release.extend_from_slice(&[CONTROL_HOLD, "i", "0"]);
    assert!(run("snmpset", &release).ok);

    let out = sim.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sim failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("(0 overruns"), "{stdout}");
    assert!(
        stderr.contains("1 unauthorised") && stderr.contains("1 wrong digest"),
        "{stderr}"
    );

    let log = read_log(&events);
    let mut lit = 0;
    for s in &samples {
        // The log has 0.1 s resolution; allow one tick either side of the request.
        let (a, b) = (s.before - 100, s.after + 100);
        agrees(s.greens, &log.green, a, b).unwrap_or_else(|e| panic!("greens {:08b} at {a}..{b}: {e}", s.greens));
        agrees(s.yellows, &log.yellow, a, b).unwrap_or_else(|e| panic!("yellows {:08b} at {a}..{b}: {e}", s.yellows));
        lit += usize::from(s.greens != 0);
    }
    assert!(lit > samples.len() / 2, "too few samples saw a green");
    let call = log
        .rows
        .iter()
        .find(|&&(at, code, p)| code == 43 && p == u16::from(phase) && at >= set_at - 200);
    assert!(call.is_some(), "no call registered on phase {phase} after the SET");
    assert!(log.rows.iter().any(|&(_, c, p)| c == 41 && p == 2), "no hold event");
    assert!(
        log.rows.iter().any(|&(_, c, p)| c == 42 && p == 2),
        "no hold release event"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
