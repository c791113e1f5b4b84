//! A fake GPIO chip set: the simulated twin of the GPIO backends, for tests of the relay and input
//! drivers (write, read back, stuck relay, failing chip, bouncing contact).
//!
//! Each of [`GPIO_CHIPS`] chips has 64 lines. Requests claim lines exactly like the kernel does (a
//! second claim is `Busy`), outputs latch what was written, inputs show what the test drives, and a
//! line can be stuck high or low to model a welded relay or a shorted driver. Clones share the same
//! chips, so a test keeps a handle while the driver owns its request. No allocation after creation.

use crate::hal::gpio::{GpioOpenError, Levels, Line, LineRead, LineWrite};
use crate::hal::HalError;
use crate::limits::{GPIO_CHIPS, GPIO_LINES};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default, Clone, Copy)]
struct Chip {
    /// Level each line shows (output latch or driven input).
    level: u64,
    claimed: u64,
    stuck_mask: u64,
    stuck_level: u64,
}

#[derive(Debug, Default)]
struct State {
    chips: [Chip; GPIO_CHIPS],
    fail_io: bool,
    writes: u64,
}

/// Handle on the fake chips; clones share state.
#[derive(Debug, Clone, Default)]
pub struct FakeGpio(Arc<Mutex<State>>);

/// Lines claimed from a [`FakeGpio`]; released on drop.
#[derive(Debug)]
pub struct FakeLines {
    gpio: FakeGpio,
    lines: heapless::Vec<Line, GPIO_LINES>,
    output: bool,
}

fn bit(line: Line) -> u64 {
    1u64 << (line.offset % 64)
}

impl FakeGpio {
    pub fn new() -> FakeGpio {
        FakeGpio::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T, HalError> {
        match self.0.lock() {
            Ok(mut s) => Ok(f(&mut s)),
            Err(_) => Err(HalError::Unavailable),
        }
    }

    fn claim(&self, lines: &[Line], output: bool, initial: Levels) -> Result<FakeLines, GpioOpenError> {
        let mut v = heapless::Vec::new();
        let res = self.with(|s| {
            for (i, &l) in lines.iter().enumerate() {
                let Some(chip) = s.chips.get(usize::from(l.chip)) else {
                    return Err(GpioOpenError::ChipNotFound(format!("fake{}", l.chip)));
                };
                if l.offset >= 64 {
                    return Err(GpioOpenError::NoSuchLine {
                        chip: format!("fake{}", l.chip),
                        offset: l.offset,
                    });
                }
                let earlier = lines.iter().take(i).any(|&e| e == l);
                if chip.claimed & bit(l) != 0 || earlier {
                    return Err(GpioOpenError::Busy {
                        chip: format!("fake{}", l.chip),
                        offset: l.offset,
                    });
                }
                if v.push(l).is_err() {
                    return Err(GpioOpenError::Unsupported(format!(
                        "a request holds at most {GPIO_LINES} lines"
                    )));
                }
            }
            for (i, l) in v.iter().enumerate() {
                let chip = &mut s.chips[usize::from(l.chip)];
                chip.claimed |= bit(*l);
                if output {
                    if initial.get(i) {
                        chip.level |= bit(*l);
                    } else {
                        chip.level &= !bit(*l);
                    }
                }
            }
            Ok(())
        });
        match res {
            Ok(Ok(())) => Ok(FakeLines {
                gpio: self.clone(),
                lines: v,
                output,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(GpioOpenError::Unsupported("fake GPIO state poisoned".into())),
        }
    }

    /// Claims `lines` as outputs set to `initial`.
    pub fn request_outputs(&self, lines: &[Line], initial: Levels) -> Result<FakeLines, GpioOpenError> {
        self.claim(lines, true, initial)
    }

    /// Claims `lines` as inputs.
    pub fn request_inputs(&self, lines: &[Line]) -> Result<FakeLines, GpioOpenError> {
        self.claim(lines, false, Levels(0))
    }

    /// The level the pin shows (a stuck line shows its stuck level).
    pub fn level(&self, line: Line) -> bool {
        self.with(|s| {
            s.chips
                .get(usize::from(line.chip))
                .map(|c| {
                    let v = (c.level & !c.stuck_mask) | (c.stuck_level & c.stuck_mask);
                    v & bit(line) != 0
                })
                .unwrap_or(false)
        })
        .unwrap_or(false)
    }

    /// Drives an input line from outside (a button, contact or door switch).
    pub fn drive(&self, line: Line, high: bool) {
        let _ = self.with(|s| {
            if let Some(c) = s.chips.get_mut(usize::from(line.chip)) {
                if high {
                    c.level |= bit(line);
                } else {
                    c.level &= !bit(line);
                }
            }
        });
    }

    /// Sticks a line at a level (`None` frees it): a welded relay contact or a shorted driver.
    pub fn stick(&self, line: Line, level: Option<bool>) {
        let _ = self.with(|s| {
            if let Some(c) = s.chips.get_mut(usize::from(line.chip)) {
                match level {
                    Some(high) => {
                        c.stuck_mask |= bit(line);
                        if high {
                            c.stuck_level |= bit(line);
                        } else {
                            c.stuck_level &= !bit(line);
                        }
                    }
                    None => c.stuck_mask &= !bit(line),
                }
            }
        });
    }

    /// Makes every read and write fail (chip unplugged, driver error).
    pub fn fail_io(&self, fail: bool) {
        let _ = self.with(|s| s.fail_io = fail);
    }

    /// Number of successful writes over all requests.
    pub fn writes(&self) -> u64 {
        self.with(|s| s.writes).unwrap_or(0)
    }

    /// Whether a line is claimed by some request.
    pub fn claimed(&self, line: Line) -> bool {
        self.with(|s| {
            s.chips
                .get(usize::from(line.chip))
                .is_some_and(|c| c.claimed & bit(line) != 0)
        })
        .unwrap_or(false)
    }
}

impl LineRead for FakeLines {
    fn len(&self) -> usize {
        self.lines.len()
    }
    fn read(&mut self) -> Result<Levels, HalError> {
        let lines = &self.lines;
        self.gpio.with(|s| {
            if s.fail_io {
                return Err(HalError::Os(nix::libc::EIO));
            }
            let mut out = Levels(0);
            for (i, l) in lines.iter().enumerate() {
                if let Some(c) = s.chips.get(usize::from(l.chip)) {
                    let v = (c.level & !c.stuck_mask) | (c.stuck_level & c.stuck_mask);
                    out.set(i, v & bit(*l) != 0);
                }
            }
            Ok(out)
        })?
    }
}

impl LineWrite for FakeLines {
    fn write(&mut self, levels: Levels) -> Result<(), HalError> {
        if !self.output {
            return Err(HalError::Unavailable);
        }
        let lines = &self.lines;
        self.gpio.with(|s| {
            if s.fail_io {
                return Err(HalError::Os(nix::libc::EIO));
            }
            for (i, l) in lines.iter().enumerate() {
                if let Some(c) = s.chips.get_mut(usize::from(l.chip)) {
                    if levels.get(i) {
                        c.level |= bit(*l);
                    } else {
                        c.level &= !bit(*l);
                    }
                }
            }
            s.writes += 1;
            Ok(())
        })?
    }
}

impl Drop for FakeLines {
    fn drop(&mut self) {
        let lines = &self.lines;
        let _ = self.gpio.with(|s| {
            for l in lines.iter() {
                if let Some(c) = s.chips.get_mut(usize::from(l.chip)) {
                    c.claimed &= !bit(*l);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Line = Line { chip: 0, offset: 3 };
    const B: Line = Line { chip: 1, offset: 63 };

    #[test]
    fn claims_like_the_kernel() {
        let g = FakeGpio::new();
        let out = g.request_outputs(&[A, B], Levels(0b10)).unwrap();
        assert!(!g.level(A) && g.level(B));
        assert!(matches!(
            g.request_inputs(&[A]),
            Err(GpioOpenError::Busy { offset: 3, .. })
        ));
        assert!(matches!(
            g.request_inputs(&[Line { chip: 2, offset: 1 }, Line { chip: 2, offset: 1 }]),
            Err(GpioOpenError::Busy { .. })
        ));
        assert!(matches!(
            g.request_inputs(&[Line { chip: 0, offset: 64 }]),
            Err(GpioOpenError::NoSuchLine { offset: 64, .. })
        ));
        drop(out);
        assert!(!g.claimed(A));
        assert!(g.request_inputs(&[A]).is_ok());
    }

    #[test]
    fn stuck_line_shows_in_read_back() {
        let g = FakeGpio::new();
        let mut out = g.request_outputs(&[A, B], Levels(0)).unwrap();
        out.write(Levels(0b01)).unwrap();
        assert_eq!(out.read().unwrap(), Levels(0b01));
        g.stick(B, Some(true));
        out.write(Levels(0b01)).unwrap();
        assert_eq!(out.read().unwrap(), Levels(0b11));
        g.fail_io(true);
        assert_eq!(out.write(Levels(0)), Err(HalError::Os(nix::libc::EIO)));
    }
}
