//! The board's GPIO chips behind [`GpioBank`]: each chip through the driver its board file names —
//! the Linux GPIO character device (`gpiocdev`, v2 uAPI; feature `gpio-cdev`) or the Raspberry Pi
//! SoC GPIO (`rppal`; feature `rpi`). Lines are requested once at start-up (outputs driven to the
//! released level, inputs with the board's pull-ups expected in hardware); per-tick writes and
//! reads reuse preallocated value buffers.

use crate::hal::board::{Board, ChipDriver, LineRef, MAX_CHIPS};
use crate::hal::gpio::GpioBank;
use crate::hal::HalError;

/// Which lines of the board a bank takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Outputs,
    Inputs,
}

enum ChipBackend {
    #[cfg(feature = "gpio-cdev")]
    Cdev(cdev::CdevChip),
    #[cfg(feature = "rpi")]
    Rpi(rpi::RpiChip),
    Fake(crate::hal::sim::gpio::FakeGpio),
    /// No lines of this role on the chip.
    Unused,
}

pub struct LinuxBank {
    chips: heapless::Vec<ChipBackend, MAX_CHIPS>,
}

fn lines_of(board: &Board, role: Role, chip: u8) -> Vec<u8> {
    let mut v: Vec<LineRef> = Vec::new();
    match role {
        Role::Outputs => {
            for h in board.heads.iter().flatten() {
                v.extend([h.red, h.yellow, h.green]);
                v.extend(h.fya);
            }
            for p in board.peds.iter().flatten() {
                v.extend([p.walk, p.dont_walk]);
            }
            v.extend(board.flash_transfer);
        }
        Role::Inputs => v.extend(board.inputs.iter().map(|i| i.line)),
    }
    let mut o: Vec<u8> = v.into_iter().filter(|l| l.chip == chip).map(|l| l.offset).collect();
    o.sort_unstable();
    o
}

impl LinuxBank {
    /// Requests the board's lines of `role`. Start-up only (allocates). Errors say which chip and
    /// how to fix it (driver not built in, device missing, line busy).
    pub fn open(board: &Board, role: Role) -> Result<LinuxBank, String> {
        let mut chips = heapless::Vec::new();
        for (i, chip) in board.chips.iter().enumerate() {
            let offsets = lines_of(board, role, i as u8);
            let backend = if offsets.is_empty() {
                ChipBackend::Unused
            } else {
                // The released level of outputs: off (high on active-low relay boards).
                let idle_high = board.active_low;
                match chip.driver {
                    ChipDriver::Fake => {
                        let fake = crate::hal::sim::gpio::FakeGpio::new();
                        if role == Role::Inputs {
                            // Idle inputs: pulled up (inactive for the usual active-low switches).
                            for o in &offsets {
                                fake.set_input(0, *o, true);
                            }
                        }
                        ChipBackend::Fake(fake)
                    }
                    #[cfg(feature = "gpio-cdev")]
                    ChipDriver::Cdev => {
                        ChipBackend::Cdev(cdev::CdevChip::open(chip.path.as_str(), &offsets, role, idle_high)?)
                    }
                    #[cfg(feature = "rpi")]
                    ChipDriver::Rpi => ChipBackend::Rpi(rpi::RpiChip::open(&offsets, role, idle_high)?),
                    #[allow(unreachable_patterns)]
                    other => {
                        let _ = idle_high;
                        return Err(format!(
                            "chip {} ({}) uses driver {:?}, which this build lacks: rebuild with `--features {}`",
                            i,
                            chip.path,
                            other,
                            if other == ChipDriver::Rpi { "rpi" } else { "gpio-cdev" }
                        ));
                    }
                }
            };
            let _ = chips.push(backend);
        }
        Ok(LinuxBank { chips })
    }
}

impl GpioBank for LinuxBank {
    fn write(&mut self, chip: usize, mask: u64, levels: u64) -> Result<(), HalError> {
        match self.chips.get_mut(chip) {
            #[cfg(feature = "gpio-cdev")]
            Some(ChipBackend::Cdev(c)) => c.write(mask, levels),
            #[cfg(feature = "rpi")]
            Some(ChipBackend::Rpi(c)) => c.write(mask, levels),
            Some(ChipBackend::Fake(c)) => c.write(0, mask, levels),
            _ => {
                let _ = (mask, levels);
                Err(HalError::Unavailable)
            }
        }
    }

    fn read(&mut self, chip: usize, mask: u64) -> Result<u64, HalError> {
        match self.chips.get_mut(chip) {
            #[cfg(feature = "gpio-cdev")]
            Some(ChipBackend::Cdev(c)) => c.read(mask),
            #[cfg(feature = "rpi")]
            Some(ChipBackend::Rpi(c)) => c.read(mask),
            Some(ChipBackend::Fake(c)) => c.read(0, mask),
            _ => {
                let _ = mask;
                Err(HalError::Unavailable)
            }
        }
    }
}

#[cfg(feature = "gpio-cdev")]
mod cdev {
    use super::Role;
    use crate::hal::HalError;
    use gpiocdev::line::{Value, Values};

    pub struct CdevChip {
        req: gpiocdev::Request,
        offsets: Vec<u32>,
        values: Values,
    }

    impl CdevChip {
        pub fn open(path: &str, offsets: &[u8], role: Role, idle_high: bool) -> Result<CdevChip, String> {
            let offsets: Vec<u32> = offsets.iter().map(|o| u32::from(*o)).collect();
            let mut b = gpiocdev::Request::builder();
            b.on_chip(path).with_consumer("greenwave").with_lines(&offsets);
            match role {
                Role::Outputs => b.as_output(if idle_high { Value::Active } else { Value::Inactive }),
                Role::Inputs => b.as_input(),
            };
            let req = b.request().map_err(|e| {
                format!("{path}: cannot request lines {offsets:?}: {e} (does the chip exist? is a line used by another program or the device tree?)")
            })?;
            // One entry per line, so per-tick `set` only overwrites (no allocation).
            let values = Values::from_offsets(&offsets);
            Ok(CdevChip { req, offsets, values })
        }

        pub fn write(&mut self, mask: u64, levels: u64) -> Result<(), HalError> {
            for &o in &self.offsets {
                if mask & (1 << o) != 0 {
                    self.values.set(
                        o,
                        if levels & (1 << o) != 0 {
                            Value::Active
                        } else {
                            Value::Inactive
                        },
                    );
                }
            }
            self.req
                .set_values(&self.values)
                .map_err(|_| HalError::Os(nix::libc::EIO))
        }

        pub fn read(&mut self, mask: u64) -> Result<u64, HalError> {
            self.req
                .values(&mut self.values)
                .map_err(|_| HalError::Os(nix::libc::EIO))?;
            let mut v = 0u64;
            for &o in &self.offsets {
                if mask & (1 << o) != 0 && self.values.get(o) == Some(Value::Active) {
                    v |= 1 << o;
                }
            }
            Ok(v)
        }
    }
}

#[cfg(feature = "rpi")]
mod rpi {
    use super::Role;
    use crate::hal::HalError;
    use rppal::gpio::{Gpio, InputPin, OutputPin};

    pub struct RpiChip {
        outputs: Vec<(u8, OutputPin)>,
        inputs: Vec<(u8, InputPin)>,
    }

    impl RpiChip {
        pub fn open(offsets: &[u8], role: Role, idle_high: bool) -> Result<RpiChip, String> {
            let gpio =
                Gpio::new().map_err(|e| format!("Raspberry Pi GPIO: {e} (is this a Pi? /dev/gpiomem readable?)"))?;
            let mut c = RpiChip {
                outputs: Vec::new(),
                inputs: Vec::new(),
            };
            for &o in offsets {
                let pin = gpio.get(o).map_err(|e| format!("BCM GPIO {o}: {e}"))?;
                match role {
                    Role::Outputs => {
                        let mut p = if idle_high {
                            pin.into_output_high()
                        } else {
                            pin.into_output_low()
                        };
                        // Keep the level when the program ends (the relay board decides what
                        // de-energised means); rppal would otherwise reset the pin on drop.
                        p.set_reset_on_drop(false);
                        c.outputs.push((o, p));
                    }
                    Role::Inputs => c.inputs.push((o, pin.into_input())),
                }
            }
            Ok(c)
        }

        pub fn write(&mut self, mask: u64, levels: u64) -> Result<(), HalError> {
            for (o, p) in self.outputs.iter_mut() {
                if mask & (1 << *o) != 0 {
                    if levels & (1 << *o) != 0 {
                        p.set_high();
                    } else {
                        p.set_low();
                    }
                }
            }
            Ok(())
        }

        pub fn read(&mut self, mask: u64) -> Result<u64, HalError> {
            let mut v = 0u64;
            for (o, p) in self.outputs.iter() {
                if mask & (1 << *o) != 0 && p.is_set_high() {
                    v |= 1 << *o;
                }
            }
            for (o, p) in self.inputs.iter() {
                if mask & (1 << *o) != 0 && p.is_high() {
                    v |= 1 << *o;
                }
            }
            Ok(v)
        }
    }
}
