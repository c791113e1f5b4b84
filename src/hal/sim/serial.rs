//! Simulated serial port: the twin of `hal::linux::serial::TermiosSerial`. What the test puts in
//! `input` is read; what is written lands in `output`, up to `accept_per_write` bytes per call (to
//! exercise partial writes, as a slow UART does). Fixed capacity; overflow is counted.

use crate::hal::{HalError, Serial};

pub struct SimSerial {
    pub input: heapless::Deque<u8, 1024>,
    pub output: heapless::Vec<u8, 16384>,
    pub accept_per_write: usize,
    pub output_dropped: usize,
}

impl Default for SimSerial {
    fn default() -> Self {
        SimSerial {
            input: heapless::Deque::new(),
            output: heapless::Vec::new(),
            accept_per_write: usize::MAX,
            output_dropped: 0,
        }
    }
}

impl SimSerial {
    /// Queues bytes for the console to read; returns how many fitted.
    pub fn type_bytes(&mut self, bytes: &[u8]) -> usize {
        bytes.iter().take_while(|&&b| self.input.push_back(b).is_ok()).count()
    }
}

impl Serial for SimSerial {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HalError> {
        let mut n = 0;
        for slot in buf.iter_mut() {
            match self.input.pop_front() {
                Some(b) => {
                    *slot = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, HalError> {
        let n = buf.len().min(self.accept_per_write);
        for &b in buf.iter().take(n) {
            if self.output.push(b).is_err() {
                self.output_dropped += 1;
            }
        }
        Ok(n)
    }
}
