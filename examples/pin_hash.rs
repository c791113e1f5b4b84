//! Makes the console PIN hash for the board file (`console.pin_hash`), as `greenwave pin-hash` does:
//! reads the PIN (4-12 digits) from standard input, draws a random salt from /dev/urandom.
//!
//! echo 2468 | cargo run --example pin_hash

use greenwave::console::command::{PIN_MAX, PIN_MIN};
use greenwave::console::lock::{PinHash, DEFAULT_ITERATIONS};
use std::io::Read;

fn main() -> std::process::ExitCode {
    let mut pin = String::new();
    if std::io::stdin().read_line(&mut pin).is_err() {
        eprintln!("error: cannot read the PIN from standard input");
        return std::process::ExitCode::from(1);
    }
    let pin = pin.trim();
    if !(PIN_MIN..=PIN_MAX).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        eprintln!("error: the PIN must be {PIN_MIN} to {PIN_MAX} digits");
        return std::process::ExitCode::from(1);
    }
    let mut salt = [0u8; 16];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut salt)) {
        eprintln!("error: cannot read /dev/urandom for the salt: {e}");
        return std::process::ExitCode::from(1);
    }
    println!("{}", PinHash::derive(pin.as_bytes(), salt, DEFAULT_ITERATIONS));
    std::process::ExitCode::SUCCESS
}
