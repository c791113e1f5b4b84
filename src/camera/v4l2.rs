//! V4L2 capture (feature `v4l2`): a camera thread streams frames by mmap and copies their luma
//! into the [`FrameRing`], reconnecting with backoff when the device disappears.
//!
//! Format negotiation asks for `GREY`, then `YUYV` (luma = every other byte), at the configured
//! size; a device that only offers compressed formats (MJPG, H.264) is refused with a clear error —
//! decoding would allocate and cost more than a small board can spare. Every failure becomes a
//! [`CaptureState`] the loop turns into detector health (stale → the Webster fail-safe), never a
//! crash. Per frame the thread reuses the driver's mmap buffers and the ring's slots: no allocation.
//!
//! Frame rate: the configured `fps` is asked of the device (`VIDIOC_S_PARM` frame interval); many
//! UVC cameras round it or ignore it, so frames arriving faster than `fps` are also skipped in the
//! thread ([`FrameRateLimit`]) — detection never sees more frames than it was sized for.

use crate::camera::pipeline::CaptureStage;
use crate::camera::set::CaptureState;
use crate::time::Instant;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use v4l::buffer::Type;
use v4l::io::traits::CaptureStream;
use v4l::prelude::*;
use v4l::video::Capture as _;
use v4l::FourCC;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pixels {
    Grey,
    Yuyv,
}

/// Opens `path` and negotiates a luma-capable format at `width` × `height`.
fn open(path: &Path, width: u32, height: u32) -> Result<(Device, Pixels, u32), String> {
    let dev = Device::with_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut last = String::new();
    for (fourcc, px) in [(*b"GREY", Pixels::Grey), (*b"YUYV", Pixels::Yuyv)] {
        let mut fmt = dev
            .format()
            .map_err(|e| format!("{}: cannot read the format: {e}", path.display()))?;
        fmt.width = width;
        fmt.height = height;
        fmt.fourcc = FourCC::new(&fourcc);
        match dev.set_format(&fmt) {
            Ok(got) if got.fourcc == FourCC::new(&fourcc) && got.width == width && got.height == height => {
                let stride = got.stride.max(if px == Pixels::Yuyv { width * 2 } else { width });
                return Ok((dev, px, stride));
            }
            Ok(got) => last = format!("offers {} {}x{}", got.fourcc, got.width, got.height),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "{}: no GREY or YUYV format at {width}x{height} ({last}); set camera.width/height to a size the camera lists (`v4l2-ctl --list-formats-ext`)",
        path.display()
    ))
}

/// Asks the device for `fps` frames per second; returns what it granted (frames per second,
/// rounded down), or why it refused. A device may round the interval to one it supports.
fn request_fps(dev: &Device, fps: u32) -> Result<u32, String> {
    let got = dev
        .set_params(&v4l::video::capture::Parameters::with_fps(fps.max(1)))
        .map_err(|e| e.to_string())?;
    let (n, d) = (got.interval.numerator, got.interval.denominator);
    Ok(d.checked_div(n).unwrap_or(0))
}

pub use crate::camera::pipeline::FrameRateLimit;

/// Copies the luma plane of one frame into `out` (`width × height`).
fn luma(src: &[u8], px: Pixels, width: u32, height: u32, stride: u32, out: &mut [u8]) -> Result<(), io::Error> {
    let (w, h, stride) = (width as usize, height as usize, stride as usize);
    let step = if px == Pixels::Yuyv { 2 } else { 1 };
    if src.len() < stride * (h - 1) + w * step || out.len() < w * h {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "short frame"));
    }
    for y in 0..h {
        let row = &src[y * stride..];
        let dst = &mut out[y * w..(y + 1) * w];
        for (x, d) in dst.iter_mut().enumerate() {
            *d = row[x * step];
        }
    }
    Ok(())
}

/// The capture thread's handle.
pub struct Capture {
    state: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Capture {
    /// Starts streaming `path` through `stage` (its ring, at no more than its `fps`, which is also
    /// asked of the device); `state` reports the [`CaptureState`]; `clock` gives the time frames
    /// are stamped with.
    pub fn start(
        path: PathBuf,
        mut stage: CaptureStage,
        state: Arc<AtomicU8>,
        fps: u32,
        clock: impl Fn() -> Instant + Send + 'static,
    ) -> Result<Capture, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let (h2, s2) = (Arc::clone(&state), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("camera".into())
            .spawn(move || {
                let mut backoff = Duration::from_millis(200);
                let (w, hh) = (stage.ring().width(), stage.ring().height());
                while !s2.load(Ordering::Relaxed) {
                    match open(&path, w, hh) {
                        Ok((dev, px, stride)) => {
                            match request_fps(&dev, fps) {
                                Ok(got) if got > fps => log::warn!(
                                    "camera {}: asked for {fps} fps, the device runs {got} fps; extra frames are skipped",
                                    path.display()
                                ),
                                Ok(got) => log::info!("camera {}: {got} fps (asked {fps})", path.display()),
                                Err(e) => log::warn!(
                                    "camera {}: cannot set {fps} fps ({e}); extra frames are skipped",
                                    path.display()
                                ),
                            }
                            let stream = MmapStream::with_buffers(&dev, Type::VideoCapture, 4);
                            let Ok(mut stream) = stream else {
                                h2.store(CaptureState::Reconnecting as u8, Ordering::Relaxed);
                                std::thread::sleep(backoff);
                                continue;
                            };
                            stream.set_timeout(Duration::from_millis(1000));
                            backoff = Duration::from_millis(200);
                            while !s2.load(Ordering::Relaxed) {
                                match stream.next() {
                                    Ok((buf, _meta)) => {
                                        h2.store(CaptureState::Streaming as u8, Ordering::Relaxed);
                                        let _ = stage.push(clock(), |slot| luma(buf, px, w, hh, stride, slot));
                                    }
                                    Err(e) => {
                                        log::warn!("camera {}: {e}; reconnecting", path.display());
                                        break;
                                    }
                                }
                            }
                            h2.store(CaptureState::Reconnecting as u8, Ordering::Relaxed);
                        }
                        Err(e) if e.contains("no GREY or YUYV") => {
                            log::error!("{e}");
                            h2.store(CaptureState::Unsupported as u8, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_secs(10));
                        }
                        Err(e) => {
                            log::warn!("{e}; retrying in {backoff:?}");
                            h2.store(CaptureState::Reconnecting as u8, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            })
            .map_err(|e| format!("cannot start the camera thread: {e}"))?;
        Ok(Capture {
            state,
            stop,
            thread: Some(thread),
        })
    }

    pub fn state(&self) -> CaptureState {
        CaptureState::from_u8(self.state.load(Ordering::Relaxed))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_luma_with_stride_and_short_frames() {
        // 3x2 YUYV with a 8-byte stride: Y at even bytes.
        let src = [10, 0, 11, 0, 12, 0, 99, 99, 20, 0, 21, 0, 22, 0, 99, 99];
        let mut out = [0u8; 6];
        luma(&src, Pixels::Yuyv, 3, 2, 8, &mut out).unwrap();
        assert_eq!(out, [10, 11, 12, 20, 21, 22]);
        assert!(luma(&src[..9], Pixels::Yuyv, 3, 2, 8, &mut out).is_err());
    }

    #[test]
    fn a_missing_device_is_a_clear_error() {
        let e = open(Path::new("/dev/video-missing"), 640, 480).err().unwrap();
        assert!(e.contains("/dev/video-missing"), "{e}");
    }
}
