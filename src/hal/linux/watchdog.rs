//! The Linux hardware watchdog, `/dev/watchdog` (kernel `Documentation/watchdog/watchdog-api.rst`).
//!
//! Opening the device arms it. [`LinuxWatchdog::open`] sets the timeout (`WDIOC_SETTIMEOUT`) and
//! reads back what the driver accepted (`WDIOC_GETTIMEOUT`: drivers round to what the hardware
//! can count). Each healthy tick the supervisor calls [`Watchdog::kick`] (`WDIOC_KEEPALIVE`); if the
//! kicks stop for the timeout the board resets, and the de-energised flash-transfer relay puts the
//! intersection in flash. A clean exit writes the magic character `'V'` before closing
//! ([`Watchdog::disarm`]), which stops the timer on drivers with `WDIOF_MAGICCLOSE` unless the
//! kernel was built with `nowayout`. Closing without it (crash, SIGKILL) leaves the timer running.
//!
//! The API also accepts a write of any data as a keep-alive. Where the keep-alive ioctl is not
//! available (`ENOTTY`: a regular file or FIFO standing in for the device in tests, or a driver
//! without it) the driver falls back to writing one byte. The descriptor is non-blocking, so a
//! kick never waits. Cost per kick: one ioctl or one one-byte write.
#![allow(unsafe_code)]

use crate::hal::{HalError, Watchdog};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::libc::c_int;
use nix::sys::stat::Mode;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

// <linux/watchdog.h>: WATCHDOG_IOCTL_BASE 'W'.
nix::ioctl_read!(wdioc_keepalive, b'W', 5, c_int);
nix::ioctl_readwrite!(wdioc_settimeout, b'W', 6, c_int);
nix::ioctl_read!(wdioc_gettimeout, b'W', 7, c_int);

/// How keep-alives reach the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAlive {
    /// `WDIOC_KEEPALIVE`.
    Ioctl,
    /// A one-byte write (the API's other keep-alive).
    Write,
}

/// Why the watchdog could not be opened. Start-up only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchdogOpenError {
    /// `open` failed: missing driver or device, permissions, or another process holds it (`EBUSY`:
    /// systemd's `RuntimeWatchdogSec` or a watchdog daemon).
    Open(PathBuf, Errno),
    /// The driver refused the timeout.
    Timeout {
        path: PathBuf,
        timeout_s: u32,
        errno: Errno,
    },
}

impl core::fmt::Display for WatchdogOpenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WatchdogOpenError::Open(p, Errno::EBUSY) => write!(
                f,
                "watchdog {} is held by another process (fix: unset systemd's RuntimeWatchdogSec or stop the watchdog daemon)",
                p.display()
            ),
            WatchdogOpenError::Open(p, e) => write!(
                f,
                "cannot open watchdog {}: {e} (fix: load the board's watchdog driver, e.g. `modprobe softdog` for a test, and check the service's DeviceAllow/permissions)",
                p.display()
            ),
            WatchdogOpenError::Timeout { path, timeout_s, errno } => write!(
                f,
                "watchdog {} refused a {timeout_s} s timeout: {errno} (fix: choose a timeout the driver supports in the board file's watchdog.timeout_s)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for WatchdogOpenError {}

/// An open, armed `/dev/watchdog`.
#[derive(Debug)]
pub struct LinuxWatchdog {
    fd: Option<OwnedFd>,
    keepalive: KeepAlive,
    timeout_s: Option<u32>,
    kicks: u64,
}

fn write_byte(fd: &OwnedFd, b: u8) -> Result<(), HalError> {
    match nix::unistd::write(fd, &[b]) {
        Ok(1) => Ok(()),
        Ok(_) => Err(HalError::WouldBlock),
        Err(Errno::EAGAIN) => Err(HalError::WouldBlock),
        Err(e) => Err(HalError::Os(e as i32)),
    }
}

impl LinuxWatchdog {
    /// Opens (and so arms) the watchdog at `path` and sets its timeout.
    pub fn open(path: &Path, timeout_s: u32) -> Result<LinuxWatchdog, WatchdogOpenError> {
        let fd = open(
            path,
            OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK,
            Mode::empty(),
        )
        .map_err(|e| WatchdogOpenError::Open(path.to_path_buf(), e))?;
        let mut t: c_int = c_int::try_from(timeout_s).unwrap_or(c_int::MAX);
        // SAFETY: `fd` is an open descriptor owned for the whole call; WDIOC_SETTIMEOUT reads and
        // writes one `int`, and `t` is a live, aligned `c_int`.
        let set = unsafe { wdioc_settimeout(fd.as_raw_fd(), &mut t) };
        let (keepalive, timeout) = match set {
            Ok(_) => {
                let mut got: c_int = 0;
                // SAFETY: as above; WDIOC_GETTIMEOUT writes one `int` into `got`.
                let r = unsafe { wdioc_gettimeout(fd.as_raw_fd(), &mut got) };
                let accepted = r.ok().and_then(|_| u32::try_from(got).ok()).or(u32::try_from(t).ok());
                (KeepAlive::Ioctl, accepted)
            }
            // Not a watchdog character device (file or FIFO in tests): writes keep it alive.
            Err(Errno::ENOTTY) => (KeepAlive::Write, None),
            Err(errno) => {
                // Leave the device armed as little as possible: the timer runs with its default
                // timeout until the magic close.
                let _ = write_byte(&fd, b'V');
                return Err(WatchdogOpenError::Timeout {
                    path: path.to_path_buf(),
                    timeout_s,
                    errno,
                });
            }
        };
        Ok(LinuxWatchdog {
            fd: Some(fd),
            keepalive,
            timeout_s: timeout,
            kicks: 0,
        })
    }

    /// The timeout the driver accepted (`None` when the device has no timeout ioctls).
    pub fn timeout_s(&self) -> Option<u32> {
        self.timeout_s
    }

    pub fn keepalive(&self) -> KeepAlive {
        self.keepalive
    }

    pub fn kicks(&self) -> u64 {
        self.kicks
    }
}

impl Watchdog for LinuxWatchdog {
    fn kick(&mut self) -> Result<(), HalError> {
        let Some(fd) = self.fd.as_ref() else {
            return Err(HalError::Unavailable);
        };
        if self.keepalive == KeepAlive::Ioctl {
            let mut dummy: c_int = 0;
            // SAFETY: `fd` is open; WDIOC_KEEPALIVE is declared _IOR(int) and may write one `int`
            // into `dummy`, a live aligned `c_int`.
            match unsafe { wdioc_keepalive(fd.as_raw_fd(), &mut dummy) } {
                Ok(_) => {
                    self.kicks += 1;
                    return Ok(());
                }
                Err(Errno::ENOTTY) | Err(Errno::EINVAL) => self.keepalive = KeepAlive::Write,
                Err(e) => return Err(HalError::Os(e as i32)),
            }
        }
        // Any byte but 'V' keeps the timer alive without arming the magic close.
        write_byte(fd, 0)?;
        self.kicks += 1;
        Ok(())
    }

    /// Magic close: write `'V'`, then close. After this the watchdog is gone; later kicks fail.
    fn disarm(&mut self) -> Result<(), HalError> {
        let Some(fd) = self.fd.take() else {
            return Ok(());
        };
        let r = write_byte(&fd, b'V');
        drop(fd);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("greenwave-wd-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    #[test]
    fn regular_file_falls_back_to_write_keepalive_and_magic_close() {
        let p = tmp("file");
        std::fs::write(&p, b"").unwrap();
        let mut wd = LinuxWatchdog::open(&p, 10).unwrap();
        assert_eq!(wd.keepalive(), KeepAlive::Write);
        assert_eq!(wd.timeout_s(), None);
        wd.kick().unwrap();
        wd.kick().unwrap();
        wd.disarm().unwrap();
        assert_eq!(wd.kick(), Err(HalError::Unavailable), "no kicks after the magic close");
        assert_eq!(std::fs::read(&p).unwrap(), b"\0\0V");
        assert_eq!(wd.kicks(), 2);
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn fifo_sees_kicks_and_the_magic_close_and_needs_a_reader() {
        let p = tmp("fifo");
        nix::unistd::mkfifo(&p, Mode::S_IRUSR | Mode::S_IWUSR).unwrap();
        // No reader: a non-blocking open fails at once instead of hanging start-up.
        match LinuxWatchdog::open(&p, 5) {
            Err(e @ WatchdogOpenError::Open(_, Errno::ENXIO)) => assert!(e.to_string().contains("fix:")),
            other => panic!("{other:?}"),
        }
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags_nonblock()
            .open(&p)
            .unwrap();
        let mut wd = LinuxWatchdog::open(&p, 5).unwrap();
        for _ in 0..3 {
            wd.kick().unwrap();
        }
        wd.disarm().unwrap();
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"\0\0\0V");
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn missing_device_names_the_fix() {
        let e = LinuxWatchdog::open(Path::new("/nonexistent/watchdog"), 10).unwrap_err();
        assert!(matches!(e, WatchdogOpenError::Open(_, Errno::ENOENT)));
        assert!(e.to_string().contains("modprobe"), "{e}");
    }

    trait NonBlock {
        fn custom_flags_nonblock(&mut self) -> &mut Self;
    }
    impl NonBlock for std::fs::OpenOptions {
        fn custom_flags_nonblock(&mut self) -> &mut Self {
            use std::os::unix::fs::OpenOptionsExt;
            self.custom_flags(nix::libc::O_NONBLOCK)
        }
    }
}
