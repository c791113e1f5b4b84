//! Termios serial port for the maintenance console (`/dev/ttyS0`, `/dev/ttyAMA0`, a USB adapter,
//! or a pseudo-terminal).
//!
//! Opened once at start-up (may allocate), then polled from the control loop: the port is in raw
//! mode (`cfmakeraw`: no echo, no line discipline, no CR/LF translation, 8N1), `VMIN = 0`,
//! `VTIME = 0`, and the descriptor is `O_NONBLOCK`, so a read or write never waits; a full output
//! queue is `Ok(0)` / [`HalError::WouldBlock`] and the console tries again next tick. `CLOCAL`
//! ignores modem lines so an unplugged laptop cannot hang the port. The original terminal settings
//! are restored on `Drop` (which does not run on SIGKILL; the port is then left raw, harmlessly).
//!
//! Uses nix's safe termios wrappers; no `unsafe` here.

use crate::hal::{HalError, Serial};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::sys::termios::{self, BaudRate, ControlFlags, SetArg, SpecialCharacterIndices, Termios};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Baud rates the console accepts (what picocom/minicom offer and UARTs on the boards support).
pub const BAUD_RATES: [u32; 8] = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600];

fn baud(b: u32) -> Option<BaudRate> {
    Some(match b {
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115200 => BaudRate::B115200,
        230400 => BaudRate::B230400,
        460800 => BaudRate::B460800,
        921600 => BaudRate::B921600,
        _ => return None,
    })
}

/// Why the console port could not be opened. Start-up only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialOpenError {
    /// The baud rate is not one of [`BAUD_RATES`]; fix the board file's `console.baud`.
    Baud(u32),
    /// `open` failed (missing device, permissions: add the service user to `dialout`).
    Open(PathBuf, Errno),
    /// The path is not a terminal (fix `console.tty` in the board file).
    NotATty(PathBuf),
    /// Reading or setting the terminal attributes failed.
    Termios(PathBuf, Errno),
}

impl core::fmt::Display for SerialOpenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SerialOpenError::Baud(b) => {
                write!(
                    f,
                    "console baud rate {b} is not supported (fix: use one of {BAUD_RATES:?})"
                )
            }
            SerialOpenError::Open(p, e) => write!(
                f,
                "cannot open console tty {}: {e} (fix: check the device exists and the user is in group `dialout`)",
                p.display()
            ),
            SerialOpenError::NotATty(p) => {
                write!(
                    f,
                    "{} is not a terminal (fix: point `console.tty` at a serial device)",
                    p.display()
                )
            }
            SerialOpenError::Termios(p, e) => write!(f, "cannot set up terminal {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for SerialOpenError {}

/// A raw, non-blocking serial port.
pub struct TermiosSerial {
    fd: OwnedFd,
    saved: Option<Termios>,
}

/// Puts an open terminal in raw 8N1 mode at `baud`, non-blocking reads; returns the previous settings.
pub fn make_raw(fd: BorrowedFd<'_>, baud_rate: u32) -> Result<Termios, (Option<Errno>, u32)> {
    let b = baud(baud_rate).ok_or((None, baud_rate))?;
    let saved = termios::tcgetattr(fd).map_err(|e| (Some(e), baud_rate))?;
    let mut t = saved.clone();
    termios::cfmakeraw(&mut t);
    termios::cfsetspeed(&mut t, b).map_err(|e| (Some(e), baud_rate))?;
    t.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
    t.control_flags &= !(ControlFlags::CRTSCTS | ControlFlags::CSTOPB | ControlFlags::PARENB);
    t.control_chars[SpecialCharacterIndices::VMIN as usize] = 0;
    t.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    termios::tcsetattr(fd, SetArg::TCSANOW, &t).map_err(|e| (Some(e), baud_rate))?;
    Ok(saved)
}

impl TermiosSerial {
    /// Opens `path` as the console: raw mode, `baud`, non-blocking, not the controlling terminal.
    pub fn open(path: &Path, baud_rate: u32) -> Result<TermiosSerial, SerialOpenError> {
        if baud(baud_rate).is_none() {
            return Err(SerialOpenError::Baud(baud_rate));
        }
        let fd = open(
            path,
            OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| SerialOpenError::Open(path.to_path_buf(), e))?;
        TermiosSerial::from_fd(fd, baud_rate).map_err(|e| match e {
            SerialOpenError::NotATty(_) => SerialOpenError::NotATty(path.to_path_buf()),
            SerialOpenError::Termios(_, e) => SerialOpenError::Termios(path.to_path_buf(), e),
            other => other,
        })
    }

    /// Takes an already open terminal descriptor (e.g. a pseudo-terminal from `openpty`). The
    /// descriptor should be `O_NONBLOCK`; `VMIN = VTIME = 0` keeps reads from waiting either way.
    pub fn from_fd(fd: OwnedFd, baud_rate: u32) -> Result<TermiosSerial, SerialOpenError> {
        if !nix::unistd::isatty(fd.as_fd()).unwrap_or(false) {
            return Err(SerialOpenError::NotATty(PathBuf::new()));
        }
        let saved = make_raw(fd.as_fd(), baud_rate).map_err(|(e, b)| match e {
            None => SerialOpenError::Baud(b),
            Some(e) => SerialOpenError::Termios(PathBuf::new(), e),
        })?;
        Ok(TermiosSerial { fd, saved: Some(saved) })
    }
}

fn os(e: Errno) -> HalError {
    match e {
        Errno::EAGAIN => HalError::WouldBlock,
        // The other end hung up (USB adapter unplugged, pty closed): nothing to read, try later.
        Errno::EIO => HalError::Unavailable,
        e => HalError::Os(e as i32),
    }
}

impl Serial for TermiosSerial {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HalError> {
        match nix::unistd::read(self.fd.as_fd(), buf) {
            Ok(n) => Ok(n),
            Err(Errno::EAGAIN | Errno::EINTR) => Ok(0),
            Err(e) => Err(os(e)),
        }
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, HalError> {
        if buf.is_empty() {
            return Ok(0);
        }
        match nix::unistd::write(self.fd.as_fd(), buf) {
            Ok(n) => Ok(n),
            Err(Errno::EAGAIN | Errno::EINTR) => Ok(0),
            Err(e) => Err(os(e)),
        }
    }
}

impl Drop for TermiosSerial {
    fn drop(&mut self) {
        if let Some(t) = self.saved.take() {
            let _ = termios::tcsetattr(self.fd.as_fd(), SetArg::TCSANOW, &t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_baud_and_not_a_tty_are_clear_errors() {
        let e = TermiosSerial::open(Path::new("/dev/null"), 12345).err().unwrap();
        assert!(e.to_string().contains("12345 is not supported"), "{e}");
        let e = TermiosSerial::open(Path::new("/dev/null"), 115200).err().unwrap();
        assert_eq!(e, SerialOpenError::NotATty(PathBuf::from("/dev/null")));
        let e = TermiosSerial::open(Path::new("/nonexistent/tty"), 115200)
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("cannot open console tty /nonexistent/tty"),
            "{e}"
        );
    }
}
