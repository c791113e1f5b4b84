//! Linux hardware watchdog (`/dev/watchdog`, Documentation/watchdog/watchdog-api.rst).
//!
//! Opening the device arms it. `WDIOC_SETTIMEOUT` sets the timeout, `WDIOC_KEEPALIVE` kicks it;
//! writing the magic character `V` before closing disarms it on a clean exit. Closing without `V`
//! (a crash) leaves it armed and the board resets when the timeout passes — into hardware flash,
//! since the flash-transfer relay falls back with the GPIO lines.
//!
//! The watchdog API also accepts any write as a keep-alive; that path serves when the ioctls are
//! not available (e.g. tests against a FIFO or file, or a driver without `WDIOC_KEEPALIVE`).
#![allow(unsafe_code)]

use crate::hal::{HalError, Watchdog};
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

nix::ioctl_read!(wdioc_keepalive, b'W', 5, nix::libc::c_int);
nix::ioctl_readwrite!(wdioc_settimeout, b'W', 6, nix::libc::c_int);
nix::ioctl_read!(wdioc_gettimeout, b'W', 7, nix::libc::c_int);

fn os(e: std::io::Error) -> HalError {
    HalError::Os(e.raw_os_error().unwrap_or(0))
}

pub struct LinuxWatchdog {
    file: Option<File>,
    ioctl: bool,
    timeout_s: u32,
}

impl LinuxWatchdog {
    /// Opens (arms) the watchdog and asks for `timeout_s`; returns the timeout the driver granted.
    pub fn open(path: &Path, timeout_s: u32) -> Result<LinuxWatchdog, String> {
        // Non-blocking: a FIFO standing in for the device (tests) without a reader fails at once
        // (ENXIO) instead of hanging start-up, and a kick can never wait. /dev/watchdog ignores it.
        let file = File::options()
            .write(true)
            .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| {
                format!(
                    "cannot open the watchdog {}: {e} (is the driver loaded? e.g. `modprobe softdog`; permissions?)",
                    path.display()
                )
            })?;
        let fd = file.as_raw_fd();
        let mut t: nix::libc::c_int = nix::libc::c_int::try_from(timeout_s).unwrap_or(nix::libc::c_int::MAX);
        // SAFETY: `fd` is an open descriptor owned by `file` for the duration of the call; `t` is a
        // valid c_int the kernel reads and writes back; the call keeps no pointer.
        let ioctl = unsafe { wdioc_settimeout(fd, &mut t) }.is_ok();
        let mut granted = timeout_s;
        if ioctl {
            let mut g: nix::libc::c_int = 0;
            // SAFETY: as above; `g` receives the timeout.
            if unsafe { wdioc_gettimeout(fd, &mut g) }.is_ok() {
                granted = u32::try_from(g).unwrap_or(timeout_s);
            }
        } else {
            log::warn!("{}: no watchdog ioctls; kicking by writes", path.display());
        }
        Ok(LinuxWatchdog {
            file: Some(file),
            ioctl,
            timeout_s: granted,
        })
    }

    pub fn timeout_s(&self) -> u32 {
        self.timeout_s
    }

    pub fn uses_ioctl(&self) -> bool {
        self.ioctl
    }
}

impl Watchdog for LinuxWatchdog {
    fn kick(&mut self) -> Result<(), HalError> {
        let Some(f) = self.file.as_mut() else {
            return Err(HalError::Unavailable);
        };
        if self.ioctl {
            let mut dummy: nix::libc::c_int = 0;
            // SAFETY: the descriptor belongs to `f` and stays open during the call; `dummy` is a
            // valid c_int (WDIOC_KEEPALIVE ignores it).
            return unsafe { wdioc_keepalive(f.as_raw_fd(), &mut dummy) }
                .map(|_| ())
                .map_err(|e| HalError::Os(e as i32));
        }
        f.write_all(b"\0").map_err(os)
    }

    fn disarm(&mut self) -> Result<(), HalError> {
        let Some(mut f) = self.file.take() else { return Ok(()) };
        let r = f.write_all(b"V").map_err(os);
        drop(f);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kicks_by_write_and_magic_close_on_a_plain_file() {
        let p = std::env::temp_dir().join(format!("gw-wd-{}", std::process::id()));
        std::fs::write(&p, b"").unwrap();
        let mut w = LinuxWatchdog::open(&p, 10).unwrap();
        assert!(!w.uses_ioctl(), "a regular file has no watchdog ioctls");
        w.kick().unwrap();
        w.kick().unwrap();
        w.disarm().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"\0\0V");
        assert_eq!(w.kick(), Err(HalError::Unavailable), "closed after the magic close");
        let e = LinuxWatchdog::open(Path::new("/nonexistent/watchdog"), 10)
            .err()
            .unwrap();
        assert!(e.contains("modprobe softdog"), "{e}");
    }

    #[test]
    fn fifo_gets_the_keep_alives_and_the_magic_close_and_needs_a_reader() {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let p = std::env::temp_dir().join(format!("gw-wd-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR).unwrap();
        // No reader yet: the open fails at once (ENXIO) rather than blocking start-up.
        assert!(LinuxWatchdog::open(&p, 5).is_err());
        let mut reader = std::fs::File::options()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&p)
            .unwrap();
        let mut w = LinuxWatchdog::open(&p, 5).unwrap();
        assert!(!w.uses_ioctl(), "a FIFO has no watchdog ioctls");
        for _ in 0..3 {
            w.kick().unwrap();
        }
        w.disarm().unwrap();
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"\0\0\0V");
        let _ = std::fs::remove_file(&p);
    }
}
