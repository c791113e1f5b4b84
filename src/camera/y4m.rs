//! Recorded clips as a camera: frames read from a YUV4MPEG2 file (`file:` camera source), luma only.
//!
//! YUV4MPEG2 is the uncompressed stream `ffmpeg -f yuv4mpegpipe` and `x264`/`mpv` read and write: one
//! ASCII header line `YUV4MPEG2 W<width> H<height> F<num>:<den> [I<interlacing>] [A<aspect>]
//! [C<colour space>] [X<comment>]…`, then per frame a line `FRAME[ <params>]` followed by the
//! planes, luma first (width × height bytes), then the chroma planes (and an alpha plane for
//! `C444alpha`). Width, height and frame rate are required; the colour space defaults to 4:2:0.
//! Accepted colour spaces are the 8-bit ones: `C420` and its siting variants (`C420jpeg`,
//! `C420paldv`, `C420mpeg2`), `C422`, `C444`, `C444alpha`, `Cmono`; the deeper `p10`/`p12`/`p16`
//! and `mono16` forms are refused (the zone detector works on 8-bit luma). Chroma planes of odd
//! sizes round up, as ffmpeg writes them.
//!
//! [`Y4mReader::open`] reads and checks the header against the configured camera size and
//! allocates one frame buffer; [`Y4mReader::next_frame`] then copies each frame's luma into a
//! caller's buffer (a [`FrameRing`](super::ring::FrameRing) slot) with no further allocation. Every
//! line read is bounded ([`HEADER_MAX_BYTES`], [`FRAME_HEADER_MAX_BYTES`]) and every malformed input
//! is a [`Y4mError`], never a panic. The clip's frame rate ([`FrameRate`]) and each frame's
//! presentation time let a capture thread pace the clip as a live camera would; at the end of the
//! file the reader either rewinds to the first frame or reports [`Y4mError::End`].
//!
//! [`Y4mWriter`] produces clips (neutral chroma) from luma frames: synthetic test clips and
//! rendered scenes.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Widest frame accepted (the frame ring's limit).
pub const MAX_WIDTH: u32 = 1920;
/// Tallest frame accepted (the frame ring's limit).
pub const MAX_HEIGHT: u32 = 1080;
/// Bytes of the stream header line, newline included. ffmpeg writes ~60; comments (`X…`) may add
/// some, but a line longer than this is not a YUV4MPEG2 header.
pub const HEADER_MAX_BYTES: usize = 1024;
/// Bytes of one `FRAME` line, newline included (ffmpeg writes `FRAME\n`).
pub const FRAME_HEADER_MAX_BYTES: usize = 256;
/// Fastest clip accepted, frames per second.
pub const MAX_FPS: u32 = 1000;
/// Slowest clip accepted: one frame per this many seconds.
pub const MAX_FRAME_INTERVAL_S: u32 = 60;

const MAGIC: &[u8] = b"YUV4MPEG2";
const FRAME_MAGIC: &[u8] = b"FRAME";

/// Planes after the luma plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chroma {
    /// 4:2:0, two chroma planes of ⌈w/2⌉ × ⌈h/2⌉ (the default).
    C420,
    /// 4:2:2, two chroma planes of ⌈w/2⌉ × h.
    C422,
    /// 4:4:4, two full-size chroma planes.
    C444,
    /// 4:4:4 and a full-size alpha plane.
    C444Alpha,
    /// Luma only.
    Mono,
}

impl Chroma {
    /// Parses the value of a `C` header parameter; `None` for a colour space this reader cannot use.
    pub fn parse(tag: &[u8]) -> Option<Chroma> {
        // Anything else (the `p10`, `p12`, `p16`, `mono16` depths: two bytes per sample) is refused.
        if let Some(rest) = tag.strip_prefix(b"420") {
            // Siting variants only: `jpeg`, `paldv`, `mpeg2`.
            return (rest.is_empty() || rest == b"jpeg" || rest == b"paldv" || rest == b"mpeg2")
                .then_some(Chroma::C420);
        }
        if let Some(rest) = tag.strip_prefix(b"422") {
            return rest.is_empty().then_some(Chroma::C422);
        }
        if let Some(rest) = tag.strip_prefix(b"444") {
            return match rest {
                b"" => Some(Chroma::C444),
                b"alpha" => Some(Chroma::C444Alpha),
                _ => None,
            };
        }
        (tag == b"mono").then_some(Chroma::Mono)
    }

    /// The header tag written for this colour space.
    pub const fn tag(self) -> &'static str {
        match self {
            Chroma::C420 => "420jpeg",
            Chroma::C422 => "422",
            Chroma::C444 => "444",
            Chroma::C444Alpha => "444alpha",
            Chroma::Mono => "mono",
        }
    }

    /// Bytes after the luma plane in one `width` × `height` frame.
    pub const fn extra_bytes(self, width: usize, height: usize) -> usize {
        let (hw, hh) = (width.div_ceil(2), height.div_ceil(2));
        match self {
            Chroma::C420 => 2 * hw * hh,
            Chroma::C422 => 2 * hw * height,
            Chroma::C444 => 2 * width * height,
            Chroma::C444Alpha => 3 * width * height,
            Chroma::Mono => 0,
        }
    }
}

/// A clip's frame rate, `num / den` frames per second (`F30000:1001` is 29.97 fps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRate {
    pub num: u32,
    pub den: u32,
}

impl FrameRate {
    /// Whether the rate lies between one frame per [`MAX_FRAME_INTERVAL_S`] and [`MAX_FPS`].
    pub const fn is_valid(self) -> bool {
        self.num > 0
            && self.den > 0
            && (self.num as u64) <= MAX_FPS as u64 * self.den as u64
            && (self.den as u64) <= MAX_FRAME_INTERVAL_S as u64 * self.num as u64
    }

    /// Time between frames, nanoseconds (rounded down).
    pub const fn interval_ns(self) -> u64 {
        self.pts_ns(1)
    }

    /// Presentation time of frame `index` (0-based) from the first, nanoseconds: exact for the
    /// whole clip, so pacing against it does not drift (saturates past ~584 years).
    pub const fn pts_ns(self, index: u64) -> u64 {
        if self.num == 0 {
            return u64::MAX;
        }
        let t = index as u128 * self.den as u128 * 1_000_000_000 / self.num as u128;
        if t > u64::MAX as u128 {
            u64::MAX
        } else {
            t as u64
        }
    }
}

/// What went wrong reading a clip. Small and `Copy`: the capture thread reports it per frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Y4mError {
    /// The file could not be opened or read.
    Io(io::ErrorKind),
    /// The file does not start with `YUV4MPEG2 `.
    BadMagic,
    /// The header line is longer than [`HEADER_MAX_BYTES`].
    HeaderTooLong,
    /// The file ends inside the header line.
    HeaderTruncated,
    /// The header lacks the `W`, `H` or `F` parameter.
    Missing(char),
    /// A `W`, `H` or `F` value is not a number (or a ratio `num:den` for `F`).
    BadValue(char),
    /// Zero or larger than [`MAX_WIDTH`] × [`MAX_HEIGHT`].
    Dimensions { width: u32, height: u32 },
    /// The clip's size is not the configured camera size.
    SizeMismatch { clip: (u32, u32), camera: (u32, u32) },
    /// A frame rate outside one frame per [`MAX_FRAME_INTERVAL_S`] s ..= [`MAX_FPS`] fps.
    FrameRate(FrameRate),
    /// A colour space other than the 8-bit 4:2:0, 4:2:2, 4:4:4 or mono ones.
    Colorspace,
    /// Frame `frame` (0-based in the clip) does not start with a `FRAME` line.
    BadFrameMarker { frame: u64 },
    /// Frame `frame`'s `FRAME` line is longer than [`FRAME_HEADER_MAX_BYTES`].
    FrameHeaderTooLong { frame: u64 },
    /// The file ends inside frame `frame`.
    Truncated { frame: u64 },
    /// The caller's buffer is not one luma plane.
    OutputSize { expected: usize, got: usize },
    /// The clip holds no frame (a looping reader would have nothing to repeat).
    Empty,
    /// The last frame was read and the reader does not loop.
    End,
}

impl core::fmt::Display for Y4mError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Y4mError::Io(k) => write!(f, "cannot read the clip: {k}"),
            Y4mError::BadMagic => write!(
                f,
                "not a YUV4MPEG2 clip (convert with `ffmpeg -i IN -pix_fmt gray OUT.y4m`)"
            ),
            Y4mError::HeaderTooLong => write!(f, "YUV4MPEG2 header longer than {HEADER_MAX_BYTES} bytes"),
            Y4mError::HeaderTruncated => write!(f, "the clip ends inside its YUV4MPEG2 header"),
            Y4mError::Missing(c) => write!(f, "YUV4MPEG2 header has no {c} parameter"),
            Y4mError::BadValue(c) => write!(f, "YUV4MPEG2 header parameter {c} is not a valid number"),
            Y4mError::Dimensions { width, height } => write!(
                f,
                "clip size {width}x{height} is not supported (1..={MAX_WIDTH} x 1..={MAX_HEIGHT})"
            ),
            Y4mError::SizeMismatch { clip, camera } => write!(
                f,
                "clip is {}x{} but the camera is configured as {}x{} (fix camera.width/height or scale the clip)",
                clip.0, clip.1, camera.0, camera.1
            ),
            Y4mError::FrameRate(r) => write!(
                f,
                "clip frame rate {}:{} is outside 1/{MAX_FRAME_INTERVAL_S}..={MAX_FPS} fps",
                r.num, r.den
            ),
            Y4mError::Colorspace => write!(
                f,
                "clip colour space is not 8-bit 4:2:0, 4:2:2, 4:4:4 or mono (convert with `-pix_fmt gray`)"
            ),
            Y4mError::BadFrameMarker { frame } => write!(f, "clip frame {frame} does not start with FRAME"),
            Y4mError::FrameHeaderTooLong { frame } => {
                write!(
                    f,
                    "clip frame {frame}: FRAME line longer than {FRAME_HEADER_MAX_BYTES} bytes"
                )
            }
            Y4mError::Truncated { frame } => write!(f, "the clip ends inside frame {frame}"),
            Y4mError::OutputSize { expected, got } => {
                write!(f, "frame buffer holds {got} bytes, one luma plane is {expected}")
            }
            Y4mError::Empty => write!(f, "the clip holds no frame"),
            Y4mError::End => write!(f, "end of the clip"),
        }
    }
}

impl std::error::Error for Y4mError {}

impl From<io::Error> for Y4mError {
    fn from(e: io::Error) -> Self {
        Y4mError::Io(e.kind())
    }
}

/// One frame handed to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Frames delivered before this one since the reader was opened (0-based).
    pub index: u64,
    /// Position of the frame in the clip (0-based).
    pub clip_index: u64,
    /// The clip was rewound to reach this frame.
    pub rewound: bool,
    /// When the frame is due, nanoseconds after the first: `index` frame intervals.
    pub pts_ns: u64,
}

/// The stream header, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    pub rate: FrameRate,
    pub chroma: Chroma,
}

/// Reads one byte; `None` at the end of the input.
fn byte<R: Read>(r: &mut R) -> io::Result<Option<u8>> {
    let mut b = [0u8; 1];
    loop {
        match r.read(&mut b) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(b[0])),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A decimal `u32` of 1 to 10 digits.
fn number(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter()
        .try_fold(0u32, |n, d| n.checked_mul(10)?.checked_add(u32::from(d - b'0')))
}

impl Header {
    /// Reads and parses the header line (bounded by [`HEADER_MAX_BYTES`]); returns it and its length
    /// in bytes, newline included.
    pub fn read<R: Read>(r: &mut R) -> Result<(Header, u64), Y4mError> {
        let mut line = [0u8; HEADER_MAX_BYTES];
        let mut n = 0;
        loop {
            let Some(b) = byte(r)? else {
                // The bytes so far matched the magic: an empty file is not a clip, a cut one is.
                return Err(if n == 0 {
                    Y4mError::BadMagic
                } else {
                    Y4mError::HeaderTruncated
                });
            };
            // The magic is checked as it arrives: a file of another kind fails here, not on length.
            if let Some(m) = MAGIC.get(n) {
                if b != *m {
                    return Err(Y4mError::BadMagic);
                }
            } else if n == MAGIC.len() && b != b' ' && b != b'\n' {
                return Err(Y4mError::BadMagic);
            }
            if b == b'\n' {
                break;
            }
            match line.get_mut(n) {
                Some(slot) => *slot = b,
                None => return Err(Y4mError::HeaderTooLong),
            }
            n += 1;
            if n >= HEADER_MAX_BYTES {
                return Err(Y4mError::HeaderTooLong);
            }
        }
        let header = Header::parse(line.get(..n).unwrap_or(&[]))?;
        Ok((header, n as u64 + 1))
    }

    /// Parses a header line without its newline.
    pub fn parse(line: &[u8]) -> Result<Header, Y4mError> {
        let mut tokens = line.split(|b| *b == b' ').filter(|t| !t.is_empty());
        if tokens.next() != Some(MAGIC) {
            return Err(Y4mError::BadMagic);
        }
        let (mut width, mut height, mut rate, mut chroma) = (None, None, None, Chroma::C420);
        for t in tokens {
            let (tag, value) = t.split_at(1);
            match tag {
                b"W" => width = Some(number(value).ok_or(Y4mError::BadValue('W'))?),
                b"H" => height = Some(number(value).ok_or(Y4mError::BadValue('H'))?),
                b"F" => {
                    let mut parts = value.splitn(2, |b| *b == b':');
                    let num = parts.next().and_then(number);
                    let den = parts.next().and_then(number);
                    match (num, den) {
                        (Some(num), Some(den)) => rate = Some(FrameRate { num, den }),
                        _ => return Err(Y4mError::BadValue('F')),
                    }
                }
                b"C" => chroma = Chroma::parse(value).ok_or(Y4mError::Colorspace)?,
                // Interlacing (the luma plane is a whole frame either way), pixel aspect, comments
                // and parameters of later revisions do not change where the luma is.
                _ => {}
            }
        }
        let width = width.ok_or(Y4mError::Missing('W'))?;
        let height = height.ok_or(Y4mError::Missing('H'))?;
        let rate = rate.ok_or(Y4mError::Missing('F'))?;
        if width == 0 || height == 0 || width > MAX_WIDTH || height > MAX_HEIGHT {
            return Err(Y4mError::Dimensions { width, height });
        }
        if !rate.is_valid() {
            return Err(Y4mError::FrameRate(rate));
        }
        Ok(Header {
            width,
            height,
            rate,
            chroma,
        })
    }

    /// Bytes of the luma plane.
    pub const fn luma_bytes(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Bytes of every plane of one frame.
    pub const fn frame_bytes(&self) -> usize {
        self.luma_bytes() + self.chroma.extra_bytes(self.width as usize, self.height as usize)
    }
}

/// A clip being played as a camera.
pub struct Y4mReader<R> {
    src: BufReader<R>,
    header: Header,
    /// Where the first `FRAME` line starts.
    first_frame: u64,
    looping: bool,
    /// One whole frame (every plane), allocated at open.
    frame: Box<[u8]>,
    delivered: u64,
    clip_index: u64,
}

impl Y4mReader<File> {
    /// Opens the clip at `path` for a camera of `width` × `height`; with `looping` the clip repeats
    /// from its first frame at the end of the file. Allocates the frame buffer (start-up only).
    pub fn open(path: &Path, width: u32, height: u32, looping: bool) -> Result<Y4mReader<File>, Y4mError> {
        Y4mReader::new(File::open(path)?, width, height, looping)
    }
}

impl<R: Read + Seek> Y4mReader<R> {
    /// Reads the header from `src` (positioned at the start of the clip) and checks it against the
    /// camera size.
    pub fn new(src: R, width: u32, height: u32, looping: bool) -> Result<Y4mReader<R>, Y4mError> {
        let mut src = BufReader::new(src);
        let start = src.stream_position()?;
        let (header, len) = Header::read(&mut src)?;
        if (header.width, header.height) != (width, height) {
            return Err(Y4mError::SizeMismatch {
                clip: (header.width, header.height),
                camera: (width, height),
            });
        }
        Ok(Y4mReader {
            src,
            header,
            first_frame: start.saturating_add(len),
            looping,
            frame: vec![0u8; header.frame_bytes()].into_boxed_slice(),
            delivered: 0,
            clip_index: 0,
        })
    }

    pub fn header(&self) -> Header {
        self.header
    }

    /// The clip's frame rate, for pacing.
    pub fn frame_rate(&self) -> FrameRate {
        self.header.rate
    }

    /// Reads the next frame and copies its luma plane into `out` (exactly width × height bytes).
    /// At the end of the clip a looping reader rewinds to the first frame; otherwise
    /// [`Y4mError::End`] is returned (and again on every later call). `out` is written only when a
    /// whole frame was read. No allocation.
    pub fn next_frame(&mut self, out: &mut [u8]) -> Result<FrameInfo, Y4mError> {
        let luma = self.header.luma_bytes();
        if out.len() != luma {
            return Err(Y4mError::OutputSize {
                expected: luma,
                got: out.len(),
            });
        }
        let mut rewound = false;
        if !self.read_frame()? {
            if !self.looping {
                return Err(Y4mError::End);
            }
            if self.clip_index == 0 {
                return Err(Y4mError::Empty);
            }
            self.src.seek(SeekFrom::Start(self.first_frame))?;
            self.clip_index = 0;
            rewound = true;
            if !self.read_frame()? {
                // The file shrank under the reader.
                return Err(Y4mError::Empty);
            }
        }
        if let Some(plane) = self.frame.get(..luma) {
            out.copy_from_slice(plane);
        }
        let info = FrameInfo {
            index: self.delivered,
            clip_index: self.clip_index,
            rewound,
            pts_ns: self.header.rate.pts_ns(self.delivered),
        };
        self.delivered += 1;
        self.clip_index += 1;
        Ok(info)
    }

    /// Reads one `FRAME` line and the planes into the frame buffer; false at a clean end of file.
    fn read_frame(&mut self) -> Result<bool, Y4mError> {
        let frame = self.clip_index;
        let mut n = 0usize;
        loop {
            let Some(b) = byte(&mut self.src)? else {
                return if n == 0 {
                    Ok(false)
                } else {
                    Err(Y4mError::Truncated { frame })
                };
            };
            match FRAME_MAGIC.get(n) {
                Some(m) if b != *m => return Err(Y4mError::BadFrameMarker { frame }),
                Some(_) => {}
                None if n == FRAME_MAGIC.len() && b != b' ' && b != b'\n' => {
                    return Err(Y4mError::BadFrameMarker { frame })
                }
                None => {}
            }
            n += 1;
            if b == b'\n' {
                break;
            }
            if n >= FRAME_HEADER_MAX_BYTES {
                return Err(Y4mError::FrameHeaderTooLong { frame });
            }
        }
        match self.src.read_exact(&mut self.frame) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(Y4mError::Truncated { frame }),
            Err(e) => Err(e.into()),
        }
    }
}

/// Writes a clip from luma frames (chroma neutral grey, alpha opaque).
pub struct Y4mWriter<W: Write> {
    out: W,
    width: u32,
    height: u32,
    chroma: Chroma,
}

impl<W: Write> Y4mWriter<W> {
    /// Writes the header (progressive, square pixels).
    pub fn new(mut out: W, width: u32, height: u32, rate: FrameRate, chroma: Chroma) -> io::Result<Y4mWriter<W>> {
        writeln!(
            out,
            "YUV4MPEG2 W{width} H{height} F{}:{} Ip A1:1 C{}",
            rate.num,
            rate.den,
            chroma.tag()
        )?;
        Ok(Y4mWriter {
            out,
            width,
            height,
            chroma,
        })
    }

    /// Appends one frame; `luma` must be width × height bytes.
    pub fn write_frame(&mut self, luma: &[u8]) -> io::Result<()> {
        let (w, h) = (self.width as usize, self.height as usize);
        if luma.len() != w * h {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("luma frame of {} bytes, expected {w}x{h}", luma.len()),
            ));
        }
        self.out.write_all(b"FRAME\n")?;
        self.out.write_all(luma)?;
        let (chroma, alpha) = match self.chroma {
            Chroma::C444Alpha => (2 * w * h, w * h),
            c => (c.extra_bytes(w, h), 0),
        };
        fill(&mut self.out, 128, chroma)?;
        fill(&mut self.out, 255, alpha)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Writes `n` bytes of `value` without a buffer of that size.
fn fill<W: Write>(out: &mut W, value: u8, mut n: usize) -> io::Result<()> {
    let chunk = [value; 4096];
    while n > 0 {
        let k = n.min(chunk.len());
        out.write_all(&chunk[..k])?;
        n -= k;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
