//! Camera snapshots for the maintenance technician: a luma frame with the lane zones outlined,
//! encoded as a greyscale JPEG, kept in a directory under a byte budget.
//!
//! Aiming a camera and drawing its zones is checked by eye: the snapshot shows the zone quads
//! (the same corners the zone detector uses) over what the camera sees. Zone outlines are drawn
//! with a dark border on each side of a bright line, so they stay visible on bright pavement and
//! on dark asphalt alike. [`SnapshotDir`] keeps the newest files within a byte budget (16 MiB by
//! default), deleting the oldest first, writes each file atomically (temporary name, then rename)
//! and reports a full or read-only disk as a [`SnapshotError`] value: snapshots are a diagnostic
//! and never stop the controller. Encoding and writing allocate; this runs on request, off the
//! control path.

pub mod service;

use std::fs;
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

/// Default byte budget of a snapshot directory.
pub const DEFAULT_BUDGET_BYTES: u64 = crate::limits::SNAPSHOT_BUDGET_BYTES;
/// JPEG quality used by [`encode_jpeg`] callers that have no preference (1..=100).
pub const DEFAULT_QUALITY: u8 = 85;

const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".jpg";

use super::overlay::{self, LumaCanvas};
pub use super::overlay::{Quad, ZoneMark};

/// Why a snapshot was not produced or kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The frame is not `width` × `height` bytes, or the size cannot be a JPEG (0 or > 65535).
    Frame { width: u32, height: u32, len: usize },
    /// The encoder refused the frame.
    Encode,
    /// One snapshot is larger than the whole budget.
    TooLarge { bytes: u64, budget: u64 },
    /// The disk is full (ENOSPC) or over quota.
    DiskFull,
    /// The file system is mounted read-only or the directory is not writable.
    ReadOnly,
    /// Any other I/O failure.
    Io(ErrorKind),
}

impl core::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SnapshotError::Frame { width, height, len } => {
                write!(
                    f,
                    "frame of {len} bytes is not a {width}x{height} luma image (1..=65535 each way)"
                )
            }
            SnapshotError::Encode => write!(f, "the JPEG encoder refused the frame"),
            SnapshotError::TooLarge { bytes, budget } => {
                write!(
                    f,
                    "snapshot of {bytes} bytes exceeds the directory budget of {budget} bytes"
                )
            }
            SnapshotError::DiskFull => write!(f, "snapshot not saved: disk full"),
            SnapshotError::ReadOnly => write!(f, "snapshot not saved: read-only or unwritable directory"),
            SnapshotError::Io(k) => write!(f, "snapshot not saved: {k}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl From<io::Error> for SnapshotError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge => SnapshotError::DiskFull,
            ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied => SnapshotError::ReadOnly,
            k => SnapshotError::Io(k),
        }
    }
}

fn frame_ok(frame: &[u8], width: u32, height: u32) -> Result<(usize, usize), SnapshotError> {
    let (w, h) = (width as usize, height as usize);
    if width == 0 || height == 0 || width > u32::from(u16::MAX) || height > u32::from(u16::MAX) || frame.len() != w * h
    {
        return Err(SnapshotError::Frame {
            width,
            height,
            len: frame.len(),
        });
    }
    Ok((w, h))
}

/// Outlines each quad on a `width` × `height` luma frame: a bright (255) line with a dark (0)
/// line on either side. Corners outside the frame are clipped; a quad with a non-finite corner is
/// skipped.
pub fn draw_quads(frame: &mut [u8], width: u32, height: u32, quads: &[Quad]) -> Result<(), SnapshotError> {
    let (w, h) = frame_ok(frame, width, height)?;
    let len = frame.len();
    let mut c = LumaCanvas::new(frame, w, h).ok_or(SnapshotError::Frame { width, height, len })?;
    overlay::outline(&mut c, quads);
    Ok(())
}

/// Draws zones as a technician reads them (`camera::overlay::draw_zones`: outline, thicker stop
/// line, `Z<zone> D<detector>` label) on a `width` × `height` luma frame.
pub fn draw_zone_marks(frame: &mut [u8], width: u32, height: u32, zones: &[ZoneMark]) -> Result<(), SnapshotError> {
    let (w, h) = frame_ok(frame, width, height)?;
    let len = frame.len();
    let mut c = LumaCanvas::new(frame, w, h).ok_or(SnapshotError::Frame { width, height, len })?;
    overlay::draw_zones(&mut c, zones);
    Ok(())
}

/// Encodes a `width` × `height` luma frame as a baseline greyscale JPEG of `quality` (1..=100).
pub fn encode_jpeg(frame: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, SnapshotError> {
    let mut out = Vec::with_capacity(frame.len() / 4 + 1024);
    encode_jpeg_into(frame, width, height, quality, &mut out)?;
    Ok(out)
}

/// [`encode_jpeg`] into `out` (cleared first), reusing its capacity: a snapshot writer keeps one
/// buffer for the whole run.
pub fn encode_jpeg_into(
    frame: &[u8],
    width: u32,
    height: u32,
    quality: u8,
    out: &mut Vec<u8>,
) -> Result<(), SnapshotError> {
    frame_ok(frame, width, height)?;
    out.clear();
    let enc = jpeg_encoder::Encoder::new(&mut *out, quality.clamp(1, 100));
    // Both fit u16: checked by frame_ok.
    enc.encode(frame, width as u16, height as u16, jpeg_encoder::ColorType::Luma)
        .map_err(|_| SnapshotError::Encode)
}

/// A directory of snapshots kept under a byte budget, oldest deleted first.
pub struct SnapshotDir {
    dir: PathBuf,
    budget: u64,
    next: u64,
}

/// Sequence number of a snapshot file name (`snapshot-<seq>.jpg` or `snapshot-<seq>-<tag>.jpg`),
/// if it is one.
fn sequence(name: &str) -> Option<u64> {
    let body = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let digits = body.split_once('-').map_or(body, |(d, _)| d);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Longest tag of a snapshot file name.
pub const TAG_MAX: usize = 32;

/// One snapshot file: its sequence number, size and name.
struct Entry {
    seq: u64,
    bytes: u64,
    name: std::ffi::OsString,
}

impl SnapshotDir {
    /// Uses `dir` (created if missing) with a budget of `budget` bytes; numbering continues after
    /// the snapshots already there.
    pub fn new(dir: &Path, budget: u64) -> Result<SnapshotDir, SnapshotError> {
        fs::create_dir_all(dir)?;
        let mut d = SnapshotDir {
            dir: dir.to_path_buf(),
            budget,
            next: 0,
        };
        d.next = d.list()?.last().map_or(0, |e| e.seq + 1);
        Ok(d)
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Snapshot files, oldest first.
    fn list(&self) -> Result<Vec<Entry>, SnapshotError> {
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(seq) = name.to_str().and_then(sequence) else {
                continue;
            };
            files.push(Entry {
                seq,
                bytes: entry.metadata()?.len(),
                name,
            });
        }
        files.sort_unstable_by(|a, b| (a.seq, &a.name).cmp(&(b.seq, &b.name)));
        Ok(files)
    }

    /// Bytes the snapshots take now.
    pub fn used(&self) -> Result<u64, SnapshotError> {
        Ok(self.list()?.iter().map(|e| e.bytes).sum())
    }

    /// Saves one snapshot as `snapshot-<seq>.jpg`, first deleting the oldest ones until it fits the
    /// budget. Returns its path.
    pub fn save(&mut self, jpeg: &[u8]) -> Result<PathBuf, SnapshotError> {
        self.save_tagged(jpeg, "")
    }

    /// [`SnapshotDir::save`] with a tag in the name, `snapshot-<seq>-<tag>.jpg` (what the picture is:
    /// `cam2-fault10`). The tag keeps ASCII letters, digits and `-` (others become `-`), at most
    /// [`TAG_MAX`] characters.
    pub fn save_tagged(&mut self, jpeg: &[u8], tag: &str) -> Result<PathBuf, SnapshotError> {
        let bytes = jpeg.len() as u64;
        if bytes > self.budget {
            return Err(SnapshotError::TooLarge {
                bytes,
                budget: self.budget,
            });
        }
        let files = self.list()?;
        let mut used: u64 = files.iter().map(|e| e.bytes).sum();
        for e in &files {
            if used.saturating_add(bytes) <= self.budget {
                break;
            }
            match fs::remove_file(self.dir.join(&e.name)) {
                Ok(()) => {}
                // Removed meanwhile by someone else: the space is free all the same.
                Err(err) if err.kind() == ErrorKind::NotFound => {}
                Err(err) => return Err(err.into()),
            }
            used -= e.bytes;
        }
        let mut name = format!("{PREFIX}{:010}", self.next);
        if !tag.is_empty() {
            name.push('-');
            name.extend(
                tag.chars()
                    .take(TAG_MAX)
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }),
            );
        }
        name.push_str(SUFFIX);
        let path = self.dir.join(name);
        let tmp = path.with_extension("jpg.tmp");
        if let Err(e) = write_atomic(&tmp, &path, jpeg) {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        self.next += 1;
        Ok(path)
    }
}

/// Writes `bytes` to `tmp`, syncs, and renames it to `path`: a reader never sees half a file.
fn write_atomic(tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::File::create(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("greenwave-snap-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn quads_are_outlined_bright_with_dark_borders_and_clipped() {
        let (w, h) = (40u32, 30u32);
        let mut f = vec![128u8; 1200];
        let q: Quad = [(10.0, 25.0), (30.0, 25.0), (30.0, 5.0), (10.0, 5.0)];
        // Partly outside, and one with a NaN corner (skipped).
        let off: Quad = [(-100.0, -100.0), (1e30, 15.0), (35.0, 1e9), (0.0, 29.0)];
        let bad: Quad = [(f32::NAN, 0.0), (5.0, 5.0), (6.0, 6.0), (7.0, 7.0)];
        draw_quads(&mut f, w, h, &[q, off, bad]).unwrap();
        let px = |x: usize, y: usize| f[y * 40 + x];
        for x in 10..=30 {
            assert_eq!(px(x, 25), 255, "bottom edge at x {x}");
            assert_eq!(px(x, 5), 255, "top edge at x {x}");
        }
        for y in 5..=25 {
            assert_eq!(px(10, y), 255, "left edge at y {y}");
            assert_eq!(px(30, y), 255, "right edge at y {y}");
        }
        assert_eq!(px(20, 26), 0, "dark border below the bottom edge");
        assert_eq!(px(20, 24), 0, "dark border inside the bottom edge");
        assert_eq!(px(20, 15), 128, "the inside is untouched");
        assert_eq!(px(2, 2), 128, "the NaN quad was skipped");
        let frame = draw_quads(&mut f, w, h + 1, &[q]);
        assert_eq!(
            frame,
            Err(SnapshotError::Frame {
                width: 40,
                height: 31,
                len: 1200
            })
        );
    }

    #[test]
    fn frames_encode_as_greyscale_jpeg_of_their_size() {
        let (w, h) = (64u32, 48u32);
        let mut f: Vec<u8> = (0..w * h).map(|i| ((i % w) * 3 + (i / w) * 2) as u8).collect();
        draw_quads(&mut f, w, h, &[[(8.0, 40.0), (56.0, 40.0), (50.0, 8.0), (14.0, 8.0)]]).unwrap();
        let jpg = encode_jpeg(&f, w, h, DEFAULT_QUALITY).unwrap();
        let mut dec = jpeg_decoder::Decoder::new(jpg.as_slice());
        let pixels = dec.decode().unwrap();
        let info = dec.info().unwrap();
        assert_eq!((info.width, info.height), (64, 48));
        assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::L8);
        let err: Vec<u32> = f.iter().zip(&pixels).map(|(a, b)| u32::from(a.abs_diff(*b))).collect();
        let mean = err.iter().sum::<u32>() as f32 / err.len() as f32;
        assert!(mean < 4.0, "mean error {mean}");
        // The outline survives compression: bright on the edge, dark beside it.
        assert!(
            pixels[40 * 64 + 30] > 200 && pixels[41 * 64 + 30] < 60,
            "{:?}",
            &pixels[39 * 64 + 30..42 * 64 + 30]
        );
        assert_eq!(&jpg[..2], &[0xff, 0xd8], "SOI");
        assert_eq!(&jpg[jpg.len() - 2..], &[0xff, 0xd9], "EOI");
        // The baseline frame header: precision 8, height, width, one component.
        let sof = jpg.windows(2).position(|m| m == [0xff, 0xc0]).expect("SOF0");
        let hdr = &jpg[sof + 4..sof + 10];
        assert_eq!(hdr, &[8, 0, 48, 0, 64, 1]);
        assert!(encode_jpeg(&f, w, h + 1, 85).is_err());
        assert!(encode_jpeg(&[], 0, 0, 85).is_err());
        assert!(encode_jpeg(&vec![0; 70_000], 70_000, 1, 85).is_err());
    }

    #[test]
    fn the_directory_keeps_the_newest_snapshots_within_its_budget() {
        let dir = temp_dir("budget");
        let mut d = SnapshotDir::new(&dir, 3_500).unwrap();
        let mut paths = Vec::new();
        for k in 0..6u8 {
            paths.push(d.save(&[k; 1_000]).unwrap());
            assert!(d.used().unwrap() <= 3_500);
        }
        let kept: Vec<bool> = paths.iter().map(|p| p.exists()).collect();
        assert_eq!(kept, [false, false, false, true, true, true], "oldest deleted first");
        assert_eq!(fs::read(&paths[5]).unwrap(), vec![5u8; 1_000]);
        // Other files in the directory are left alone and numbering resumes after a restart.
        fs::write(dir.join("notes.txt"), b"keep").unwrap();
        let mut d = SnapshotDir::new(&dir, 3_500).unwrap();
        let p = d.save(&[9; 2_000]).unwrap();
        assert!(p.ends_with("snapshot-0000000006.jpg"), "{}", p.display());
        assert!(dir.join("notes.txt").exists());
        assert_eq!(d.used().unwrap(), 3_000);
        assert_eq!(
            d.save(&[0; 3_501]),
            Err(SnapshotError::TooLarge {
                bytes: 3_501,
                budget: 3_500
            })
        );
        assert_eq!(DEFAULT_BUDGET_BYTES, 16 * 1024 * 1024);
        // Tagged names count against the budget and the numbering like the others.
        let t = d.save_tagged(&[7; 1_000], "cam2-fault/10").unwrap();
        assert!(t.ends_with("snapshot-0000000007-cam2-fault-10.jpg"), "{}", t.display());
        assert_eq!(d.used().unwrap(), 3_000);
        d.save(&[8; 2_000]).unwrap();
        assert!(!p.exists() && t.exists(), "the oldest went to make room");
        let d = SnapshotDir::new(&dir, 3_500).unwrap();
        assert_eq!(d.next, 9, "numbering resumes after tagged names too");
        assert_eq!(sequence("snapshot-12-x.jpg"), Some(12));
        assert_eq!(sequence("snapshot--x.jpg"), None);
        assert_eq!(sequence("snapshot-1.jpg.tmp"), None);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn disk_failures_are_error_values() {
        use nix::errno::Errno;
        let os = |e: Errno| SnapshotError::from(io::Error::from_raw_os_error(e as i32));
        assert_eq!(os(Errno::ENOSPC), SnapshotError::DiskFull);
        assert_eq!(os(Errno::EDQUOT), SnapshotError::DiskFull);
        assert_eq!(os(Errno::EROFS), SnapshotError::ReadOnly);
        assert_eq!(os(Errno::EACCES), SnapshotError::ReadOnly);
        assert!(matches!(os(Errno::EIO), SnapshotError::Io(_)));
        // A directory that cannot be one (a file is in the way) fails with a value, not a panic.
        let file = temp_dir("file");
        fs::write(&file, b"x").unwrap();
        assert!(SnapshotDir::new(&file.join("sub"), 1_000).is_err());
        // Writing after the directory disappeared is an error too.
        let dir = temp_dir("gone");
        let mut d = SnapshotDir::new(&dir, 1_000).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(d.save(&[1; 10]), Err(SnapshotError::Io(ErrorKind::NotFound)));
        let _ = fs::remove_file(&file);
        // A full device: /dev/full refuses every write with ENOSPC.
        if Path::new("/dev/full").exists() {
            let mut f = fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
            let e = f.write_all(&[0; 4096]).and_then(|_| f.flush()).unwrap_err();
            assert_eq!(SnapshotError::from(e), SnapshotError::DiskFull);
        }
    }
}
