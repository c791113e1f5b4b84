//! `greenwave run` on the dry-run board (`board/host-fake.toml`) with its event log and state under
//! a test directory and its serial console on a pseudo-terminal, for the tests that talk to a
//! running board.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// Starts `bin run --board … --site site --duration 60` with the board's event and state
/// directories in `d` and `board_extra` added to its `[board]` table. Returns the process, the
/// pty's master end (type console lines into it) and everything the console printed so far.
pub fn start(bin: &str, d: &Path, site: &Path, board_extra: &str) -> (Child, File, Arc<Mutex<String>>) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = nix::unistd::ttyname(&pty.slave).unwrap();
    let board = std::fs::read_to_string("board/host-fake.toml")
        .unwrap()
        .replace(
            "event_dir = \"target/host-fake/events\"",
            &format!("event_dir = \"{}\"", d.join("events").display()),
        )
        .replace(
            "state_dir = \"target/host-fake/state\"",
            &format!(
                "state_dir = \"{}\"\nconsole = \"{}\"{board_extra}",
                d.join("state").display(),
                slave.display()
            ),
        );
    let board_path = d.join("board.toml");
    std::fs::write(&board_path, board).unwrap();
    let child = Command::new(bin)
        .arg("run")
        .arg("--board")
        .arg(&board_path)
        .arg("--site")
        .arg(site)
        .args(["--duration", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let master = File::from(pty.master);
    let seen = Arc::new(Mutex::new(String::new()));
    let mut reader = master.try_clone().unwrap();
    let s2 = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            s2.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    (child, master, seen)
}
