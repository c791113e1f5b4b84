//! Console sessions over a real pseudo-terminal pair (openpty), compared with expected transcripts.
//!
//! The test plays the technician's laptop on the pty master; the console owns the slave through the
//! same `TermiosSerial` used for `/dev/ttyS0` (raw mode, 115200 baud, non-blocking). Time is passed
//! in, so the 60 s lockout and 10 min idle relock are exercised without waiting.
//!
//! To accept a changed transcript after reviewing the diff: `GREENWAVE_BLESS=1 cargo test --test console_pty`.

#[path = "support/console_target.rs"]
mod console_target;

use console_target::FixedController;
use greenwave::config::PlannerKind;
use greenwave::console::lock::PinHash;
use greenwave::console::view::Action;
use greenwave::console::Console;
use greenwave::hal::linux::serial::TermiosSerial;
use greenwave::time::Instant;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::pty::openpty;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant as WallInstant};

const SALT: [u8; 16] = *b"cabinet-0001-abc";
const PIN: &[u8] = b"2468";

fn nonblocking(fd: &OwnedFd) {
    let flags = OFlag::from_bits_truncate(fcntl(fd.as_fd(), FcntlArg::F_GETFL).unwrap());
    fcntl(fd.as_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
}

/// Printable form of terminal output: CRLF becomes a newline, other control bytes are escaped.
fn render(bytes: &[u8], out: &mut String) {
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\r', Some(b'\n')) => {
                out.push('\n');
                i += 1;
            }
            (b, _) if (0x20..0x7f).contains(&b) => out.push(b as char),
            (b, _) => out.push_str(&format!("\\x{b:02x}")),
        }
        i += 1;
    }
}

struct Session {
    master: OwnedFd,
    port: TermiosSerial,
    console: Console,
    target: FixedController,
    now: Instant,
    transcript: String,
}

impl Session {
    fn new() -> Session {
        let pty = openpty(None, None).expect("openpty");
        nonblocking(&pty.master);
        nonblocking(&pty.slave);
        let port = TermiosSerial::from_fd(pty.slave, 115_200).expect("raw mode on the pty slave");
        let mut console = Console::new(Some(PinHash::derive(PIN, SALT, 64)));
        let target = FixedController::new();
        console.start(target.site.name.as_str());
        let mut s = Session {
            master: pty.master,
            port,
            console,
            target,
            now: Instant(1_000),
            transcript: String::new(),
        };
        s.transcript.push_str("<<< start\n");
        s.settle();
        s
    }

    /// Polls the console until the line has been quiet for 40 ms (bounded to 3 s).
    fn settle(&mut self) {
        let deadline = WallInstant::now() + Duration::from_secs(3);
        let mut quiet_since = WallInstant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while WallInstant::now() < deadline {
            self.console
                .poll(&mut self.port, self.now, &mut self.target)
                .expect("console poll");
            match nix::unistd::read(self.master.as_fd(), &mut buf) {
                Ok(n) if n > 0 => {
                    got.extend_from_slice(&buf[..n]);
                    quiet_since = WallInstant::now();
                }
                _ => {
                    if quiet_since.elapsed() > Duration::from_millis(40) && self.console.pending_output().is_empty() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        render(&got, &mut self.transcript);
        self.transcript.push('\n');
    }

    /// Advances controller time, types `input` on the laptop, and records what came back.
    fn step(&mut self, advance_ms: u64, input: &[u8]) {
        self.now = Instant(self.now.0 + advance_ms);
        let mut shown = String::new();
        for &b in input {
            match b {
                b'\r' => shown.push_str("\\r"),
                b'\n' => shown.push_str("\\n"),
                0x20..=0x7e => shown.push(b as char),
                b => shown.push_str(&format!("\\x{b:02x}")),
            }
        }
        self.transcript.push_str(&format!(">>> t={} {}\n", self.now, shown));
        let mut written = 0;
        while written < input.len() {
            written += nix::unistd::write(self.master.as_fd(), &input[written..]).expect("write to pty master");
        }
        self.settle();
    }
}

fn check(name: &str, transcript: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(name);
    if std::env::var_os("GREENWAVE_BLESS").is_some() {
        std::fs::write(&path, transcript).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != transcript {
        let first = expected.lines().zip(transcript.lines()).position(|(a, b)| a != b);
        panic!(
            "console transcript differs from {} (first differing line {:?}); got:\n{transcript}",
            path.display(),
            first.map(|i| i + 1)
        );
    }
}

#[test]
fn read_only_session_with_garbage_and_overlong_lines() {
    let mut s = Session::new();
    s.step(0, b"help\r");
    s.step(100, b"status\r\n");
    // Line noise and arrow keys in the middle of a command are ignored; the command still runs.
    s.step(100, b"sta\xff\x00\x1b[A\x1b[1;5Ctu\x01\x80s\n");
    s.step(100, b"phases\r");
    s.step(100, b"detectors\r");
    s.step(100, b"timing\r");
    s.step(100, b"faults\r");
    s.step(100, b"scenarios\r");
    s.step(100, b"stats\r");
    // 100 characters: rejected whole, nothing runs.
    let mut long = b"events ".to_vec();
    long.extend(std::iter::repeat_n(b'9', 93));
    long.push(b'\r');
    s.step(100, &long);
    s.step(100, b"evnets 5\r");
    s.step(100, b"events 99\r");
    s.step(100, b"stat\x7fx\x08tus extra\r");
    s.step(100, b"clear fl\x03");
    s.step(100, b"\r\n");
    s.step(100, b"log level debug\r");
    s.step(100, b"clear flash\r");
    assert_eq!(
        s.target.applied.as_slice(),
        &[Action::SetLogLevel(log::LevelFilter::Debug)]
    );
    assert!(s.target.flash, "a locked console must not clear flash");
    check("read_only.txt", &s.transcript);
}

#[test]
fn pin_lockout_unlock_and_idle_relock() {
    let mut s = Session::new();
    s.step(0, b"recall 4\r");
    s.step(1_000, b"unlock 1111\r");
    s.step(1_000, b"unlock 1112\r");
    s.step(1_000, b"unlock 1113\r");
    // The right PIN during the lockout is not even checked.
    s.step(30_000, b"unlock 2468\r");
    s.step(29_000, b"unlock 2468\r");
    s.step(1_000, b"unlock 2468\r");
    s.step(1_000, b"set plan webster\r");
    s.step(1_000, b"preempt test 5\r");
    s.step(1_000, b"recall 9\r");
    s.step(1_000, b"clear flash\r");
    s.step(1_000, b"status\r");
    // 10 minutes without a command: the console locks itself and says so.
    s.step(600_000, b"");
    s.step(1_000, b"recall 2\r");
    s.step(1_000, b"unlock 2468\r");
    s.step(1_000, b"lock\r");
    s.step(1_000, b"recall 2\r");
    assert_eq!(s.target.planner, PlannerKind::Webster);
    assert!(!s.target.flash);
    assert_eq!(
        s.target.applied.as_slice(),
        &[
            Action::SetPlan(PlannerKind::Webster),
            Action::PreemptTest(5),
            Action::ClearFlash
        ]
    );
    check("pin_lockout.txt", &s.transcript);
}
