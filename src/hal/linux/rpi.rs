//! GPIO lines of the Raspberry Pi's own 40-pin header through `rppal` (feature `rpi`), BCM
//! numbering. rppal maps the GPIO registers (`/dev/gpiomem`, RP1's `/dev/gpiomem0` on the Pi 5),
//! so a write or read of all lines costs a few register accesses and no system call.
//!
//! Use it for small cabinets wired to the header; relay boards on I2C expanders need the
//! `gpio-cdev` backend. rppal would reset pins on drop; the relay driver's own `Drop` puts the
//! outputs in the flash state first, and pins are left as that state (`set_reset_on_drop(false)`)
//! so a relay does not chatter while the process exits.

use crate::hal::gpio::{Bias, GpioOpenError, Levels, Line, LineRead, LineWrite};
use crate::hal::HalError;
use crate::limits::GPIO_LINES;
use rppal::gpio::{Gpio, InputPin, Level, OutputPin};

enum Pin {
    Out(OutputPin),
    In(InputPin),
}

/// Header pins claimed through rppal.
pub struct RpiLines {
    pins: heapless::Vec<Pin, GPIO_LINES>,
}

fn open_error(e: rppal::gpio::Error, offset: u32) -> GpioOpenError {
    let chip = "rpi header".to_string();
    match e {
        rppal::gpio::Error::PinUsed(_) => GpioOpenError::Busy { chip, offset },
        rppal::gpio::Error::PinNotAvailable(_) => GpioOpenError::NoSuchLine { chip, offset },
        other => GpioOpenError::Os {
            chip,
            message: other.to_string(),
        },
    }
}

impl RpiLines {
    /// Claims BCM pins `lines` (all on chip 0) as outputs at `initial`, or as inputs when `input`
    /// is `Some(bias)`.
    pub fn open(lines: &[Line], initial: Levels, input: Option<Bias>) -> Result<RpiLines, GpioOpenError> {
        let gpio = Gpio::new().map_err(|e| open_error(e, 0))?;
        let mut pins = heapless::Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if l.chip != 0 {
                return Err(GpioOpenError::Unsupported(
                    "the rpi backend drives only the Pi's own header (use backend = \"gpio-cdev\")".into(),
                ));
            }
            let bcm = u8::try_from(l.offset).map_err(|_| GpioOpenError::NoSuchLine {
                chip: "rpi header".into(),
                offset: l.offset,
            })?;
            let pin = gpio.get(bcm).map_err(|e| open_error(e, l.offset))?;
            let p = match input {
                None => {
                    let mut o = if initial.get(i) {
                        pin.into_output_high()
                    } else {
                        pin.into_output_low()
                    };
                    o.set_reset_on_drop(false);
                    Pin::Out(o)
                }
                Some(Bias::PullUp) => Pin::In(pin.into_input_pullup()),
                Some(Bias::PullDown) => Pin::In(pin.into_input_pulldown()),
                Some(Bias::Off) => Pin::In(pin.into_input()),
            };
            if pins.push(p).is_err() {
                return Err(GpioOpenError::Unsupported(format!("more than {GPIO_LINES} lines")));
            }
        }
        Ok(RpiLines { pins })
    }
}

impl LineRead for RpiLines {
    fn len(&self) -> usize {
        self.pins.len()
    }
    fn read(&mut self) -> Result<Levels, HalError> {
        let mut out = Levels(0);
        for (i, p) in self.pins.iter().enumerate() {
            // An output pin reads the level register (GPLEV), i.e. the pin itself, not the latch.
            let high = match p {
                Pin::Out(o) => o.is_set_high(),
                Pin::In(x) => x.read() == Level::High,
            };
            out.set(i, high);
        }
        Ok(out)
    }
}

impl LineWrite for RpiLines {
    fn write(&mut self, levels: Levels) -> Result<(), HalError> {
        for (i, p) in self.pins.iter_mut().enumerate() {
            match p {
                Pin::Out(o) => o.write(if levels.get(i) { Level::High } else { Level::Low }),
                Pin::In(_) => return Err(HalError::Unavailable),
            }
        }
        Ok(())
    }
}
