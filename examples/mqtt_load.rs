//! Fleet telemetry under load (tools/mqtt-load.sh): N simulated controllers in one process, each
//! its own control loop thread on the simulated street with its own MQTT publisher, publishing to
//! one broker for a wall-clock duration at a multiple of real time, while `mosquitto_sub` counts
//! what arrives.
//!
//! Reports messages per second, loss (queued by the publishers but never received, after
//! de-duplicating QoS 1 resends by device and sequence number), overruns, and the CPU cost of
//! publishing per controller as a share of the control tick (per-thread CPU time from
//! /proc/self/task/*/schedstat, sampled each second so threads that end are still counted).

use clap::Parser;
use greenwave::config::mqtt::MqttConfig;
use greenwave::config::Site;
use greenwave::hal::sim::{SimRelays, SimWatchdog};
use greenwave::monitor::card::MmuCard;
use greenwave::runtime::control_loop::{run, ControlLoop, LoopOptions, Speed};
use greenwave::runtime::realtime::Signals;
use greenwave::sim::traffic::SimTraffic;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Simulated controllers (device ids 1..=N).
    #[arg(long, default_value_t = 200)]
    controllers: u16,
    /// Wall-clock seconds to run.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Factor of real time.
    #[arg(long, default_value_t = 10.0)]
    speed: f64,
    #[arg(long, default_value = "board/sites/nema8-4leg.toml")]
    site: PathBuf,
    /// Broker URL (mqtts://HOST:PORT or mqtt://HOST:PORT).
    #[arg(long)]
    url: String,
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Publishers' user and password file.
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// The counting subscriber's user and password.
    #[arg(long)]
    sub_user: Option<String>,
    #[arg(long)]
    sub_password: Option<String>,
    /// Run the controllers without telemetry (the baseline of the loop's own cost).
    #[arg(long)]
    no_mqtt: bool,
}

/// Nanoseconds of CPU per thread, the most seen, by thread id, with the thread's name.
type Cpu = Arc<Mutex<HashMap<u32, (String, u64)>>>;

fn sample_threads(cpu: &Cpu) {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    let mut m = cpu.lock().unwrap();
    for e in dir.flatten() {
        let Ok(tid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let name = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(e.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()));
        if let Some(ns) = ns {
            let slot = m.entry(tid).or_insert((name.trim().to_string(), 0));
            slot.1 = slot.1.max(ns);
        }
    }
}

fn num(json: &str, key: &str) -> Option<u64> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    json[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|d| d.parse().ok())
}

fn main() {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.site).expect("site file");
    let base = Site::parse(&text, "site").expect("site");
    let tick_ms = base.tick_ms;
    // One site per controller, numbered 1..=N (the topics' device id).
    let site_of = |device: u16| {
        let t: String = text
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("device_id") {
                    format!("device_id = {device}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        Site::parse(&t, "site").expect("site")
    };
    let mut cfg = MqttConfig::from_url(&args.url).expect("url");
    cfg.ca_file = args.ca.clone();
    cfg.username = args.user.clone();
    cfg.password_file = args.password_file.clone();

    // The counting subscriber: every message of every device, QoS 1.
    type Seen = HashMap<u64, BTreeSet<u64>>;
    let received: Arc<Mutex<(Seen, u64)>> = Arc::default();
    let mut sub = None;
    if !args.no_mqtt {
        let (host, port, _) = greenwave::config::mqtt::parse_url(&args.url).expect("url");
        let mut c = Command::new("mosquitto_sub");
        c.args(["-h", &host, "-p", &port.to_string(), "-q", "1", "-t", "greenwave/#"]);
        if let Some(ca) = &args.ca {
            c.arg("--cafile").arg(ca);
        }
        if let (Some(u), Some(p)) = (&args.sub_user, &args.sub_password) {
            c.args(["-u", u, "-P", p]);
        }
        let mut child = c.stdout(Stdio::piped()).spawn().expect("mosquitto_sub");
        let out = child.stdout.take().unwrap();
        let rx = received.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let (Some(d), Some(s)) = (num(&line, "device"), num(&line, "seq")) else {
                    continue;
                };
                let mut g = rx.lock().unwrap();
                g.1 += 1;
                g.0.entry(d).or_default().insert(s);
            }
        });
        sub = Some(child);
        std::thread::sleep(Duration::from_millis(500));
    }

    let cpu: Cpu = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (cpu, done) = (cpu.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                sample_threads(&cpu);
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let t0 = Instant::now();
    let simulated_s = (args.seconds as f64 * args.speed).round() as u64;
    let mut loops = Vec::new();
    for i in 0..args.controllers {
        let site = site_of(i + 1);
        assert_eq!(site.device_id, i + 1);
        let mqtt = (!args.no_mqtt).then(|| cfg.clone());
        let path = args.site.clone();
        let speed = args.speed;
        let handle = std::thread::Builder::new()
            .name(format!("loop-{}", i + 1))
            .spawn(move || {
                let card = MmuCard::from_geometry(&site);
                let traffic = SimTraffic::new(&site, 1.0, u64::from(site.device_id));
                let mut lp = ControlLoop::new(&site, &card, SimRelays::default(), SimWatchdog::default(), traffic);
                let mut opts = LoopOptions {
                    site_path: path,
                    duration_s: Some(simulated_s),
                    speed: Speed::Factor(speed),
                    start_unix_ms: greenwave::runtime::control_loop::unix_now_ms(),
                    event_log: None,
                    state_dir: None,
                    console: None,
                    model: None,
                    planner_override: None,
                    reload_check: None,
                    snmp: None,
                    mqtt,
                };
                run(&mut lp, &site, &mut opts, &Signals::unregistered()).expect("run")
            })
            .expect("thread");
        loops.push(handle);
    }
    let summaries: Vec<_> = loops.into_iter().map(|h| h.join().expect("loop")).collect();
    let wall = t0.elapsed().as_secs_f64();
    sample_threads(&cpu);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.join();
    std::thread::sleep(Duration::from_secs(2));
    if let Some(mut c) = sub {
        let _ = c.kill();
        let _ = c.wait();
    }

    let ticks: u64 = summaries.iter().map(|s| s.loop_stats.ticks).sum();
    let overruns: u64 = summaries.iter().map(|s| s.loop_stats.overruns).sum();
    let worst_us = summaries.iter().map(|s| s.loop_stats.worst_tick_ns).max().unwrap_or(0) / 1000;
    let mut by_class: BTreeMap<&str, u64> = BTreeMap::new();
    for (name, ns) in cpu.lock().unwrap().values() {
        let class = if name.starts_with("loop-") {
            "loop"
        } else if name.starts_with("mqtt-") {
            "mqtt"
        } else {
            "other"
        };
        *by_class.entry(class).or_default() += ns;
    }
    let n = f64::from(args.controllers);
    let per_tick = |ns: u64| ns as f64 / ticks.max(1) as f64 / 1000.0;
    let tick_wall_us = f64::from(tick_ms) * 1000.0 / args.speed;
    println!(
        "controllers {}  speed {}x  wall {wall:.1} s  ticks {ticks}  overruns {overruns}  worst tick {worst_us} us",
        args.controllers, args.speed
    );
    let loop_ns = by_class.get("loop").copied().unwrap_or(0);
    println!(
        "loop CPU          {:.1} us per tick ({:.2} % of a {:.1} ms tick at {}x)",
        per_tick(loop_ns),
        per_tick(loop_ns) * 100.0 / tick_wall_us,
        tick_wall_us / 1000.0,
        args.speed
    );
    if args.no_mqtt {
        return;
    }
    let mqtt_ns = by_class.get("mqtt").copied().unwrap_or(0);
    println!(
        "publishing CPU    {:.1} us per controller per tick ({:.2} % of the tick, {:.1} % of the loop's own) — {:.3} s CPU per controller",
        per_tick(mqtt_ns),
        per_tick(mqtt_ns) * 100.0 / tick_wall_us,
        per_tick(mqtt_ns) * 100.0 / per_tick(loop_ns).max(1e-9),
        mqtt_ns as f64 / 1e9 / n
    );
    let h: Vec<_> = summaries.iter().filter_map(|s| s.loop_stats.mqtt).collect();
    let queued: u64 = h.iter().map(|m| m.queued).sum();
    let acked: u64 = h.iter().map(|m| m.acked).sum();
    let dropped: u64 = h.iter().map(|m| m.dropped_oldest).sum();
    let ev_dropped: u64 = h.iter().map(|m| m.events_dropped).sum();
    let g = received.lock().unwrap();
    let distinct: u64 = g.0.values().map(|s| s.len() as u64).sum();
    let lines = g.1;
    println!(
        "messages          {queued} queued, {acked} acknowledged, {distinct} received ({} duplicates), {:.0} messages/s",
        lines - distinct,
        lines as f64 / wall
    );
    println!(
        "loss              {} (queued but never received); dropped oldest {dropped}; events dropped at the hand-off {ev_dropped}; devices heard {}",
        queued.saturating_sub(distinct),
        g.0.len()
    );
}
