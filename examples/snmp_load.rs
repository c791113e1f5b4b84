//! SNMP load against a running controller (`tools/snmp-load.sh` starts one): N SNMPv2c requests,
//! alternating GET of the phase status groups and GETNEXT steps of a walk over the NTCIP 1202 `asc`
//! tree, from several management stations at once (one UDP socket per source address
//! 127.0.0.1, 127.0.0.2, …, each with one request outstanding and paced under the agent's
//! per-source limit). Prints the answered count and the latency percentiles.
//!
//! Usage: snmp_load ADDR:PORT [REQUESTS=10000] [SOURCES=10] [RATE_PER_SOURCE=190] [COMMUNITY=public]

use rasn::types::{ObjectIdentifier, OctetString};
use rasn_snmp::v2::{GetNextRequest, GetRequest, Pdu, Pdus, VarBind, VarBindValue};
use rasn_snmp::v2c;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const ASC: &[u32] = &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1];
const GREENS: &[u32] = &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 4, 1];
const YELLOWS: &[u32] = &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 3, 1];

fn oid(a: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new(a.to_vec()).expect("valid OID")
}

fn packet(community: &str, id: i32, next: Option<&ObjectIdentifier>) -> Vec<u8> {
    let bind = |o: ObjectIdentifier| VarBind {
        name: o,
        value: VarBindValue::Unspecified,
    };
    let data = match next {
        Some(o) => Pdus::GetNextRequest(GetNextRequest(Pdu {
            request_id: id,
            error_status: 0,
            error_index: 0,
            variable_bindings: vec![bind(o.clone())],
        })),
        None => Pdus::GetRequest(GetRequest(Pdu {
            request_id: id,
            error_status: 0,
            error_index: 0,
            variable_bindings: vec![bind(oid(GREENS)), bind(oid(YELLOWS))],
        })),
    };
    rasn::ber::encode(&v2c::Message {
        version: 1.into(),
        community: OctetString::from(community.as_bytes()),
        data,
    })
    .expect("encodable")
}

struct Result {
    latencies_us: Vec<u64>,
    lost: usize,
    errors: usize,
}

fn station(target: SocketAddr, source: u8, n: usize, rate: f64, community: &str) -> Result {
    let sock = UdpSocket::bind(("127.0.0.".to_string() + &source.to_string(), 0)).expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut lat = Vec::with_capacity(n);
    let (mut lost, mut errors) = (0, 0);
    let mut walk = oid(ASC);
    let period = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut buf = [0u8; 2048];
    for k in 0..n {
        let due = start + period * k as u32;
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        let id = (i32::from(source) << 24) | k as i32;
        let req = packet(community, id, (k % 2 == 1).then_some(&walk));
        let t0 = Instant::now();
        sock.send_to(&req, target).expect("send");
        loop {
            match sock.recv_from(&mut buf) {
                Ok((len, _)) => {
                    let Ok(m) = rasn::ber::decode::<v2c::Message<Pdus>>(&buf[..len]) else {
                        errors += 1;
                        break;
                    };
                    let Pdus::Response(r) = m.data else {
                        errors += 1;
                        break;
                    };
                    if r.0.request_id != id {
                        continue; // a late answer to an earlier request
                    }
                    lat.push(t0.elapsed().as_micros() as u64);
                    if r.0.error_status != 0 {
                        errors += 1;
                    }
                    if k % 2 == 1 {
                        match r.0.variable_bindings.first() {
                            Some(vb) if vb.value != VarBindValue::EndOfMibView && vb.name.starts_with(ASC) => {
                                walk = vb.name.clone()
                            }
                            _ => walk = oid(ASC), // end of the subtree: walk again
                        }
                    }
                    break;
                }
                Err(_) => {
                    lost += 1;
                    break;
                }
            }
        }
    }
    Result {
        latencies_us: lat,
        lost,
        errors,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(target) = args.get(1).and_then(|a| a.parse::<SocketAddr>().ok()) else {
        eprintln!("usage: snmp_load ADDR:PORT [REQUESTS] [SOURCES] [RATE_PER_SOURCE] [COMMUNITY]");
        std::process::exit(2);
    };
    let total: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let sources: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10).clamp(1, 200);
    let rate: f64 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(190.0);
    let community = args.get(5).cloned().unwrap_or_else(|| "public".into());
    let t0 = Instant::now();
    let threads: Vec<_> = (0..sources)
        .map(|i| {
            let n = total / sources + usize::from(i < total % sources);
            let c = community.clone();
            std::thread::spawn(move || station(target, (i + 1) as u8, n, rate, &c))
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    let (mut lost, mut errors) = (0, 0);
    for t in threads {
        let r = t.join().expect("station");
        all.extend(r.latencies_us);
        lost += r.lost;
        errors += r.errors;
    }
    let wall = t0.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |q: f64| {
        all.get(((all.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "snmp load: {total} requests (GET + GETNEXT) from {sources} sources in {wall:.1} s ({:.0}/s)",
        total as f64 / wall
    );
    println!("answered {} lost {lost} errors {errors}", all.len());
    println!(
        "latency us: p50 {} p90 {} p99 {} max {}",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        all.last().copied().unwrap_or(0)
    );
    if lost > 0 || errors > 0 || all.len() != total {
        std::process::exit(1);
    }
}
