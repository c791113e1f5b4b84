//! Exercises greenwave's Linux watchdog driver against a real watchdog device; `tools/vm-test.sh`
//! runs it inside a VM with the kernel's `softdog` driver.
//!
//! ```text
//! watchdog_probe DEVICE kick SECONDS TIMEOUT_S   kick every 500 ms for SECONDS, magic close, then
//!                                                stay up 2 × TIMEOUT_S to show the close disarmed it
//! watchdog_probe DEVICE hang TIMEOUT_S           kick three times, then stop: the device must reset
//!                                                the machine within TIMEOUT_S
//! ```
//! Every line starts with `PROBE` and the seconds since the probe started, for the script to check.

use greenwave::hal::linux::watchdog::LinuxWatchdog;
use greenwave::hal::Watchdog;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let t0 = Instant::now();
    let say = |msg: &str| println!("PROBE {:6.2} {msg}", t0.elapsed().as_secs_f64());
    let num = |i: usize, def: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(def);
    let (Some(dev), Some(mode)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: watchdog_probe DEVICE kick SECONDS TIMEOUT_S | DEVICE hang TIMEOUT_S");
        return ExitCode::from(2);
    };
    let timeout_s = if mode == "kick" { num(4, 3) } else { num(3, 3) };
    let mut wd = match LinuxWatchdog::open(Path::new(dev), u32::try_from(timeout_s).unwrap_or(3)) {
        Ok(w) => w,
        Err(e) => {
            say(&format!("open failed: {e}"));
            return ExitCode::FAILURE;
        }
    };
    say(&format!(
        "opened {dev}: timeout {} s granted, keep-alive by {}",
        wd.timeout_s(),
        if wd.uses_ioctl() { "WDIOC_KEEPALIVE" } else { "write" }
    ));
    match mode.as_str() {
        "kick" => {
            let secs = num(3, 6);
            let mut kicks = 0u32;
            while t0.elapsed() < Duration::from_secs(secs) {
                if let Err(e) = wd.kick() {
                    say(&format!("kick failed: {e}"));
                    return ExitCode::FAILURE;
                }
                kicks += 1;
                std::thread::sleep(Duration::from_millis(500));
            }
            say(&format!(
                "{kicks} kicks over {secs} s, longer than the {} s timeout",
                wd.timeout_s()
            ));
            if let Err(e) = wd.disarm() {
                say(&format!("magic close failed: {e}"));
                return ExitCode::FAILURE;
            }
            say("magic close written");
            std::thread::sleep(Duration::from_secs(2 * timeout_s));
            say(&format!(
                "still running {} s after the magic close: disarmed",
                2 * timeout_s
            ));
            ExitCode::SUCCESS
        }
        "hang" => {
            for _ in 0..3 {
                let _ = wd.kick();
                std::thread::sleep(Duration::from_millis(500));
            }
            say("stopped kicking (simulated hang); expecting a reset");
            std::thread::sleep(Duration::from_secs(4 * timeout_s + 10));
            say("NOT RESET: the watchdog did not fire");
            ExitCode::FAILURE
        }
        other => {
            eprintln!("unknown mode {other}");
            ExitCode::from(2)
        }
    }
}
