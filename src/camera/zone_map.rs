//! `greenwave zones`: a camera's zones drawn over what it sees, as a PNG for the technician who
//! aims the camera and draws the zones.
//!
//! The frame comes from a recorded clip (`--frame CLIP.y4m`, its first frame: record one at the
//! pole with `ffmpeg -i … -pix_fmt gray clip.y4m`) or from the camera itself (`--device
//! /dev/videoN`, feature `v4l2`: the capture thread of `camera::v4l2` runs until the first frame
//! arrives). Each zone is drawn as `camera::overlay` draws it — yellow outline, red stop-line edge,
//! `Z<zone> D<detector>` at its centre — over the frame in grey, so a zone off its lane, a stop line
//! on the wrong edge or a zone feeding the wrong detector shows at a glance.

use super::overlay::{draw_zones, RgbCanvas, ZoneMark};
use super::y4m::Y4mReader;
use crate::config::camera::CameraConfig;
use std::path::Path;

/// Where the frame comes from.
#[derive(Clone, Copy, Debug)]
pub enum FrameSource<'a> {
    /// A YUV4MPEG2 clip: its first frame.
    Clip(&'a Path),
    /// A V4L2 device: the first frame it delivers.
    Device(&'a Path),
}

/// How long `--device` waits for the camera's first frame.
pub const DEVICE_WAIT_S: u64 = 10;

/// One luma frame of the camera's configured size from `src`.
pub fn grab(src: FrameSource<'_>, cam: &CameraConfig) -> Result<Vec<u8>, String> {
    let mut frame = vec![0u8; cam.width as usize * cam.height as usize];
    match src {
        FrameSource::Clip(path) => {
            let mut r =
                Y4mReader::open(path, cam.width, cam.height, false).map_err(|e| format!("{}: {e}", path.display()))?;
            r.next_frame(&mut frame)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        FrameSource::Device(path) => grab_device(path, cam, &mut frame)?,
    }
    Ok(frame)
}

#[cfg(feature = "v4l2")]
fn grab_device(path: &Path, cam: &CameraConfig, out: &mut [u8]) -> Result<(), String> {
    use super::pipeline::{CameraCounters, CaptureStage};
    use super::ring::FrameRing;
    use super::set::CaptureState;
    use super::v4l2::Capture;
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::sync::Arc;
    let ring = Arc::new(FrameRing::new(2, cam.width, cam.height).map_err(|e| e.to_string())?);
    let stage = CaptureStage::new(Arc::clone(&ring), cam.fps, Arc::new(CameraCounters::default()));
    let state = Arc::new(AtomicU8::new(CaptureState::Starting as u8));
    let start = std::time::Instant::now();
    let clock = move || crate::time::Instant(start.elapsed().as_millis() as u64);
    let _capture = Capture::start(path.to_path_buf(), stage, Arc::clone(&state), cam.fps, clock)?;
    let now_state = || CaptureState::from_u8(state.load(Ordering::Relaxed));
    while start.elapsed().as_secs() < DEVICE_WAIT_S {
        if let Some(lease) = ring.lease_latest() {
            out.copy_from_slice(lease.pixels());
            return Ok(());
        }
        if now_state() == CaptureState::Unsupported {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(format!(
        "{}: no frame within {DEVICE_WAIT_S} s (camera state: {:?}); check the device, its cable and that it \
         offers GREY or YUYV at {}x{}",
        path.display(),
        now_state(),
        cam.width,
        cam.height
    ))
}

#[cfg(not(feature = "v4l2"))]
fn grab_device(path: &Path, _cam: &CameraConfig, _out: &mut [u8]) -> Result<(), String> {
    Err(format!(
        "{}: this build has no V4L2 capture: rebuild with `--features v4l2`, or record a clip at the pole and \
         use `--frame CLIP.y4m`",
        path.display()
    ))
}

/// The camera's zones, numbered from 1 in table order.
pub fn marks(cam: &CameraConfig) -> Vec<ZoneMark> {
    cam.zones
        .iter()
        .enumerate()
        .map(|(i, z)| ZoneMark {
            zone: (i + 1).min(usize::from(u8::MAX)) as u8,
            detector: z.detector,
            quad: z.quad,
        })
        .collect()
}

/// The frame in grey with every zone drawn.
pub fn render(cam: &CameraConfig, frame: &[u8]) -> Result<RgbCanvas, String> {
    let (w, h) = (cam.width as usize, cam.height as usize);
    let mut img =
        RgbCanvas::from_luma(frame, w, h).ok_or_else(|| format!("a frame of {} bytes is not {w}x{h}", frame.len()))?;
    draw_zones(&mut img, &marks(cam));
    Ok(img)
}

/// Writes `img` as an 8-bit RGB PNG.
pub fn write_png(path: &Path, img: &RgbCanvas) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| err(&e))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), img.width as u32, img.height as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| err(&e))?;
    w.write_image_data(&img.pixels).map_err(|e| err(&e))?;
    w.finish().map_err(|e| err(&e))
}

/// `greenwave zones`: grabs a frame, draws the zones, writes the PNG. Returns the zones drawn.
pub fn draw_to_png(cam: &CameraConfig, src: FrameSource<'_>, out: &Path) -> Result<usize, String> {
    let frame = grab(src, cam)?;
    let img = render(cam, &frame)?;
    write_png(out, &img)?;
    Ok(cam.zones.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_without_v4l2_or_a_missing_clip_is_a_clear_error() {
        let cam = CameraConfig::parse(
            "width = 64\nheight = 48\n[[zone]]\ndetector = 2\nquad = [[4, 40], [30, 40], [26, 6], [8, 6]]\n",
            "camera.toml",
        )
        .unwrap();
        let e = grab(FrameSource::Clip(Path::new("/nonexistent/clip.y4m")), &cam).unwrap_err();
        assert!(e.contains("/nonexistent/clip.y4m"), "{e}");
        #[cfg(not(feature = "v4l2"))]
        {
            let e = grab(FrameSource::Device(Path::new("/dev/video0")), &cam).unwrap_err();
            assert!(e.contains("--features v4l2") && e.contains("--frame"), "{e}");
        }
        let img = render(&cam, &vec![90; 64 * 48]).unwrap();
        assert_eq!(img.at(17, 40), Some(super::super::overlay::RGB_STOP_LINE));
        assert!(render(&cam, &[0; 10]).is_err());
    }
}
