//! GPIO lines through the Linux GPIO character device, v2 uAPI (`/dev/gpiochipN`), with the
//! `gpiocdev` crate. Feature `gpio-cdev`. Drives RK3588 boards (Rock 5B, Orange Pi 5), the Pi 5
//! (RP1) and I2C expanders (MCP23017 relay boards) alike.
//!
//! One line request per chip, opened once with every line of the board file in the requested state
//! (outputs de-energised), then each tick one `GPIO_V2_LINE_SET_VALUES_IOCTL` and one
//! `GPIO_V2_LINE_GET_VALUES_IOCTL` per chip. The value buffers are allocated at open and reused, so
//! the loop does not allocate. Lines on different chips are written one chip after another (a few
//! microseconds apart, far below relay switching times of ~10 ms).
//!
//! Chip names in board files: a `/dev` path, `gpiochipN`, `i2c:BUS-ADDR` (the expander at that I2C
//! address, found through sysfs) or the chip label (`pinctrl-rp1`, `gpio3`); a label must be unique.

use crate::hal::gpio::{Bias, GpioOpenError, Levels, Line, LineRead, LineWrite};
use crate::hal::HalError;
use crate::limits::{DEVICE_PATH_LEN, GPIO_CHIPS, GPIO_LINES};
use gpiocdev::line::{Value, Values};
use gpiocdev::Request;
use std::path::PathBuf;

/// Consumer name shown by `gpioinfo` for claimed lines.
pub const CONSUMER: &str = "greenwave";

struct ChipRequest {
    req: Request,
    values: Values,
    /// For each entry of `values` (sorted by offset): the caller's line index.
    index: heapless::Vec<u8, GPIO_LINES>,
}

/// Lines claimed on one or more GPIO chips.
pub struct CdevLines {
    reqs: heapless::Vec<ChipRequest, GPIO_CHIPS>,
    len: usize,
}

/// Finds the device of a chip name from the board file.
pub fn resolve_chip(name: &str) -> Result<PathBuf, GpioOpenError> {
    if name.starts_with('/') {
        return Ok(PathBuf::from(name));
    }
    if name.starts_with("gpiochip") && name[8..].chars().all(|c| c.is_ascii_digit()) {
        return Ok(PathBuf::from("/dev").join(name));
    }
    if let Some(dev) = name.strip_prefix("i2c:") {
        // An I2C GPIO expander's sysfs device directory holds a `gpiochipN` child.
        let dir = PathBuf::from("/sys/bus/i2c/devices").join(dev);
        let entries = std::fs::read_dir(&dir).map_err(|_| GpioOpenError::ChipNotFound(name.into()))?;
        for e in entries.flatten() {
            let f = e.file_name();
            let f = f.to_string_lossy();
            if f.starts_with("gpiochip") && f[8..].chars().all(|c| c.is_ascii_digit()) {
                return Ok(PathBuf::from("/dev").join(&*f));
            }
        }
        return Err(GpioOpenError::ChipNotFound(name.into()));
    }
    let mut found = None;
    let chips = gpiocdev::chip::chips().map_err(|_| GpioOpenError::ChipNotFound(name.into()))?;
    for p in chips {
        let Ok(chip) = gpiocdev::Chip::from_path(&p) else {
            continue;
        };
        let Ok(info) = chip.info() else { continue };
        if info.label == name {
            if found.is_some() {
                return Err(GpioOpenError::ChipAmbiguous(name.into()));
            }
            found = Some(p);
        }
    }
    found.ok_or_else(|| GpioOpenError::ChipNotFound(name.into()))
}

fn open_error(chip: &str, offset: u32, e: gpiocdev::Error) -> GpioOpenError {
    let errno = match &e {
        gpiocdev::Error::Uapi(_, gpiocdev_uapi::Error::Os(errno)) => Some(errno.0),
        gpiocdev::Error::Os(errno) => Some(errno.0),
        _ => None,
    };
    match errno {
        Some(nix::libc::EBUSY) => GpioOpenError::Busy {
            chip: chip.into(),
            offset,
        },
        Some(nix::libc::EINVAL) => GpioOpenError::NoSuchLine {
            chip: chip.into(),
            offset,
        },
        _ => GpioOpenError::Os {
            chip: chip.into(),
            message: e.to_string(),
        },
    }
}

fn hal_error(e: gpiocdev::Error) -> HalError {
    match e {
        gpiocdev::Error::Uapi(_, gpiocdev_uapi::Error::Os(errno)) | gpiocdev::Error::Os(errno) => HalError::Os(errno.0),
        _ => HalError::Unavailable,
    }
}

/// How to claim the lines.
#[derive(Clone, Copy, Debug)]
pub enum Direction {
    /// Outputs, driven to these levels from the moment they are claimed.
    Output(Levels),
    Input(Bias),
}

impl CdevLines {
    /// Claims `lines` (chip index into `chips`) as one request per chip.
    pub fn open(
        chips: &[heapless::String<DEVICE_PATH_LEN>],
        lines: &[Line],
        dir: Direction,
    ) -> Result<CdevLines, GpioOpenError> {
        let mut reqs = heapless::Vec::new();
        for (ci, name) in chips.iter().enumerate() {
            let mut on_chip: Vec<(u32, u8)> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| usize::from(l.chip) == ci)
                .map(|(i, l)| (l.offset, u8::try_from(i).unwrap_or(u8::MAX)))
                .collect();
            if on_chip.is_empty() {
                continue;
            }
            on_chip.sort_unstable();
            let path = resolve_chip(name)?;
            let offsets: Vec<u32> = on_chip.iter().map(|(o, _)| *o).collect();
            let mut b = Request::builder();
            b.on_chip(&path).with_consumer(CONSUMER);
            match dir {
                Direction::Output(initial) => {
                    let mut vals = Values::default();
                    for (o, i) in &on_chip {
                        vals.set(
                            *o,
                            if initial.get(usize::from(*i)) {
                                Value::Active
                            } else {
                                Value::Inactive
                            },
                        );
                    }
                    b.with_output_lines(&vals);
                }
                Direction::Input(bias) => {
                    b.with_lines(&offsets).as_input().with_bias(match bias {
                        Bias::Off => gpiocdev::line::Bias::Disabled,
                        Bias::PullUp => gpiocdev::line::Bias::PullUp,
                        Bias::PullDown => gpiocdev::line::Bias::PullDown,
                    });
                }
            }
            let req = b
                .request()
                .map_err(|e| open_error(name, offsets.first().copied().unwrap_or(0), e))?;
            let index = on_chip.iter().map(|(_, i)| *i).collect();
            let values = Values::from_offsets(&offsets);
            reqs.push(ChipRequest { req, values, index })
                .map_err(|_| GpioOpenError::Unsupported(format!("more than {GPIO_CHIPS} GPIO chips")))?;
        }
        Ok(CdevLines { reqs, len: lines.len() })
    }
}

impl LineRead for CdevLines {
    fn len(&self) -> usize {
        self.len
    }
    fn read(&mut self) -> Result<Levels, HalError> {
        let mut out = Levels(0);
        for r in self.reqs.iter_mut() {
            // `values` is pre-filled with every offset, so the crate updates it in place.
            r.req.values(&mut r.values).map_err(hal_error)?;
            for (lv, i) in r.values.iter().zip(r.index.iter()) {
                out.set(usize::from(*i), lv.value == Value::Active);
            }
        }
        Ok(out)
    }
}

impl LineWrite for CdevLines {
    fn write(&mut self, levels: Levels) -> Result<(), HalError> {
        for r in self.reqs.iter_mut() {
            for (lv, i) in r.values.iter_mut().zip(r.index.iter()) {
                lv.value = if levels.get(usize::from(*i)) {
                    Value::Active
                } else {
                    Value::Inactive
                };
            }
            r.req.set_values(&r.values).map_err(hal_error)?;
        }
        Ok(())
    }
}
