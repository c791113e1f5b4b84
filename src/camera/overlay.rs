//! Zones drawn over a camera frame, for the technician who aims the camera and checks the zones:
//! each zone's outline, its stop-line edge drawn thicker, and a label `Z<zone> D<detector>` (the
//! zone's number in the camera table and the site detector it feeds) at its centre.
//!
//! One drawing routine serves two canvases: the greyscale frame of a snapshot (`camera::snapshot`,
//! JPEG) and the colour picture of `greenwave zones` (PNG), where the outline is yellow and the stop
//! line red. Lines have a dark border on each side so they stay visible on bright concrete and dark
//! asphalt alike. Every walk is bounded: corners are clamped to ±[`COORD_LIMIT`] pixels, a label
//! has at most [`LABEL_MAX`] characters, and drawing outside the canvas is clipped pixel by pixel.

/// Largest coordinate magnitude a corner may have before it is clamped, pixels.
pub const COORD_LIMIT: f32 = 16_384.0;
/// Characters of a zone label.
pub const LABEL_MAX: usize = 12;

/// A zone outline: four corners in order, pixels — stop-line left, stop-line right, far right, far
/// left (as in the camera's zone configuration).
pub type Quad = [(f32, f32); 4];

/// What a pixel is part of; each canvas chooses its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ink {
    /// A zone's outline.
    Outline,
    /// The dark border either side of a line, and behind a label.
    Border,
    /// The zone's stop-line edge (corners 1 → 2).
    StopLine,
    /// Label text.
    Text,
}

/// Something zones can be drawn on.
pub trait Canvas {
    fn width(&self) -> usize;
    fn height(&self) -> usize;
    /// Sets pixel (x, y) if it lies on the canvas.
    fn put(&mut self, x: i64, y: i64, ink: Ink);
}

/// One zone to draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZoneMark {
    /// The zone's number in its camera table (1-based).
    pub zone: u8,
    /// The site detector it feeds.
    pub detector: u8,
    pub quad: Quad,
}

/// A greyscale frame as a canvas: outlines, stop lines and text white (255), borders black (0).
pub struct LumaCanvas<'a> {
    pixels: &'a mut [u8],
    width: usize,
    height: usize,
}

impl<'a> LumaCanvas<'a> {
    /// `pixels` must be `width` × `height` bytes.
    pub fn new(pixels: &'a mut [u8], width: usize, height: usize) -> Option<LumaCanvas<'a>> {
        (width.checked_mul(height) == Some(pixels.len())).then_some(LumaCanvas { pixels, width, height })
    }
}

impl Canvas for LumaCanvas<'_> {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    fn put(&mut self, x: i64, y: i64, ink: Ink) {
        if let Some(i) = index(x, y, self.width, self.height) {
            if let Some(p) = self.pixels.get_mut(i) {
                *p = match ink {
                    Ink::Border => 0,
                    Ink::Outline | Ink::StopLine | Ink::Text => 255,
                };
            }
        }
    }
}

/// Outline colour on an RGB canvas (yellow).
pub const RGB_OUTLINE: [u8; 3] = [255, 220, 0];
/// Stop-line colour on an RGB canvas (red).
pub const RGB_STOP_LINE: [u8; 3] = [235, 30, 30];
/// Label text colour on an RGB canvas (white).
pub const RGB_TEXT: [u8; 3] = [255, 255, 255];
/// Border colour on an RGB canvas (black).
pub const RGB_BORDER: [u8; 3] = [0, 0, 0];

/// An 8-bit RGB picture made from a greyscale frame, for `greenwave zones`.
pub struct RgbCanvas {
    pub pixels: Vec<u8>,
    pub width: usize,
    pub height: usize,
}

impl RgbCanvas {
    /// The frame in grey; `None` unless `luma` is `width` × `height` bytes.
    pub fn from_luma(luma: &[u8], width: usize, height: usize) -> Option<RgbCanvas> {
        if width.checked_mul(height) != Some(luma.len()) {
            return None;
        }
        Some(RgbCanvas {
            pixels: luma.iter().flat_map(|v| [*v; 3]).collect(),
            width,
            height,
        })
    }

    /// The colour at (x, y).
    pub fn at(&self, x: usize, y: usize) -> Option<[u8; 3]> {
        let i = index(x as i64, y as i64, self.width, self.height)? * 3;
        let p = self.pixels.get(i..i + 3)?;
        Some([p[0], p[1], p[2]])
    }
}

impl Canvas for RgbCanvas {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    fn put(&mut self, x: i64, y: i64, ink: Ink) {
        if let Some(i) = index(x, y, self.width, self.height) {
            if let Some(p) = self.pixels.get_mut(i * 3..i * 3 + 3) {
                p.copy_from_slice(&match ink {
                    Ink::Outline => RGB_OUTLINE,
                    Ink::Border => RGB_BORDER,
                    Ink::StopLine => RGB_STOP_LINE,
                    Ink::Text => RGB_TEXT,
                });
            }
        }
    }
}

fn index(x: i64, y: i64, w: usize, h: usize) -> Option<usize> {
    (x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h).then(|| y as usize * w + x as usize)
}

/// Bresenham's line from `a` to `b`, clipped pixel by pixel; at most 2 × [`COORD_LIMIT`] + 1 steps
/// for clamped corners.
fn line<C: Canvas + ?Sized>(c: &mut C, a: (i64, i64), b: (i64, i64), ink: Ink) {
    let (mut x, mut y) = a;
    let (dx, dy) = ((b.0 - a.0).abs(), -(b.1 - a.1).abs());
    let (sx, sy) = (if a.0 < b.0 { 1 } else { -1 }, if a.1 < b.1 { 1 } else { -1 });
    let mut err = dx + dy;
    for _ in 0..=dx.max(-dy) {
        c.put(x, y, ink);
        if (x, y) == b {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

/// A band `reach` pixels either side of the line from `a` to `b` (Chebyshev offsets).
fn band<C: Canvas + ?Sized>(c: &mut C, a: (i64, i64), b: (i64, i64), reach: i64, ink: Ink) {
    for ox in -reach..=reach {
        for oy in -reach..=reach {
            line(c, (a.0 + ox, a.1 + oy), (b.0 + ox, b.1 + oy), ink);
        }
    }
}

fn corner(p: (f32, f32)) -> Option<(i64, i64)> {
    let c = |v: f32| v.is_finite().then(|| v.round().clamp(-COORD_LIMIT, COORD_LIMIT) as i64);
    Some((c(p.0)?, c(p.1)?))
}

/// The quad's corners rounded to pixels; `None` if one is not finite.
fn corners(q: &Quad) -> Option<[(i64, i64); 4]> {
    Some([corner(q[0])?, corner(q[1])?, corner(q[2])?, corner(q[3])?])
}

/// Line and text scale for a canvas: 1 below 480 pixels on the short side, 2 from 480 (VGA), 3 from
/// 720, 4 from 960.
fn scale(c: &(impl Canvas + ?Sized)) -> i64 {
    (c.width().min(c.height()) / 240).clamp(1, 4) as i64
}

/// Outlines `quads` (no stop line, no label), one pixel wide with a dark border either side.
/// A quad with a non-finite corner is skipped.
pub fn outline<C: Canvas + ?Sized>(c: &mut C, quads: &[Quad]) {
    for q in quads {
        let Some(p) = corners(q) else { continue };
        // Dark borders first (offset one pixel each way), the bright line over them.
        for (ox, oy, ink) in [
            (-1, 0, Ink::Border),
            (1, 0, Ink::Border),
            (0, -1, Ink::Border),
            (0, 1, Ink::Border),
            (0, 0, Ink::Outline),
        ] {
            for (a, b) in p.iter().zip(p.iter().cycle().skip(1)) {
                line(c, (a.0 + ox, a.1 + oy), (b.0 + ox, b.1 + oy), ink);
            }
        }
    }
}

/// Draws each zone: its outline, its stop-line edge thicker, and its label at its centre (kept
/// inside the canvas). A zone with a non-finite corner is skipped.
pub fn draw_zones<C: Canvas + ?Sized>(c: &mut C, zones: &[ZoneMark]) {
    let s = scale(c);
    for z in zones {
        let Some(p) = corners(&z.quad) else { continue };
        let half = s / 2;
        let edges = || p.iter().zip(p.iter().cycle().skip(1));
        // Every border first, so no edge's border cuts into another edge's line at a corner.
        for (k, (a, b)) in edges().enumerate() {
            band(c, *a, *b, half + 1 + i64::from(k == 0), Ink::Border);
        }
        for (a, b) in edges().skip(1) {
            band(c, *a, *b, half, Ink::Outline);
        }
        // The stop line (corners 1 → 2) last, thicker, over the side edges' ends.
        band(c, p[0], p[1], half + 1, Ink::StopLine);
    }
    // Labels over every outline, so a neighbouring zone's edge never hides one.
    for z in zones {
        let Some(p) = corners(&z.quad) else { continue };
        let cx = p.iter().map(|q| q.0).sum::<i64>() / 4;
        let cy = p.iter().map(|q| q.1).sum::<i64>() / 4;
        let mut text: heapless::String<LABEL_MAX> = heapless::String::new();
        let _ = core::fmt::Write::write_fmt(&mut text, format_args!("Z{} D{}", z.zone, z.detector));
        label(c, cx, cy, &text, s);
    }
}

/// Glyph width and height of the built-in font, pixels at scale 1.
const GLYPH_W: i64 = 5;
const GLYPH_H: i64 = 7;

/// The 5 × 7 glyphs of the characters a label uses (bit 4 is the left column).
fn glyph(ch: char) -> [u8; 7] {
    match ch {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        _ => [0; 7],
    }
}

/// Writes `text` centred on (cx, cy) at `scale`, white on a black box, moved inside the canvas.
fn label<C: Canvas + ?Sized>(c: &mut C, cx: i64, cy: i64, text: &str, scale: i64) {
    let n = text.chars().count().min(LABEL_MAX) as i64;
    let (w, h) = ((n * (GLYPH_W + 1) + 1) * scale, (GLYPH_H + 2) * scale);
    let x0 = (cx - w / 2).clamp(0, (c.width() as i64 - w).max(0));
    let y0 = (cy - h / 2).clamp(0, (c.height() as i64 - h).max(0));
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            c.put(x, y, Ink::Border);
        }
    }
    for (k, ch) in text.chars().take(LABEL_MAX).enumerate() {
        let gx = x0 + (1 + k as i64 * (GLYPH_W + 1)) * scale;
        let gy = y0 + scale;
        for (row, bits) in glyph(ch).iter().enumerate() {
            for col in 0..GLYPH_W {
                if bits & (0x10 >> col) != 0 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            c.put(gx + col * scale + dx, gy + row as i64 * scale + dy, Ink::Text);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(w: usize, h: usize) -> RgbCanvas {
        RgbCanvas::from_luma(&vec![128; w * h], w, h).unwrap()
    }

    #[test]
    fn zones_get_outline_stop_line_and_label() {
        let mut c = grey(200, 150);
        let z = ZoneMark {
            zone: 2,
            detector: 7,
            quad: [(40.0, 140.0), (160.0, 140.0), (130.0, 20.0), (70.0, 20.0)],
        };
        draw_zones(&mut c, &[z]);
        // The far edge (corners 3 → 4) is outline, the stop-line edge (1 → 2) red.
        for x in 70..=130 {
            assert_eq!(c.at(x, 20), Some(RGB_OUTLINE), "far edge at x {x}");
        }
        for x in 40..=160 {
            assert_eq!(c.at(x, 140), Some(RGB_STOP_LINE), "stop line at x {x}");
            assert_eq!(c.at(x, 141), Some(RGB_STOP_LINE), "the stop line is thicker");
        }
        assert_eq!(c.at(100, 19), Some(RGB_BORDER), "dark border outside the far edge");
        assert_eq!(c.at(100, 18), Some([128; 3]), "one pixel of border");
        assert_eq!(c.at(100, 142), Some(RGB_BORDER), "dark border outside the stop line");
        // The label sits at the centre: white text on a black box.
        let around: Vec<[u8; 3]> = (70..130)
            .flat_map(|x| (70..90).map(move |y| (x, y)))
            .filter_map(|(x, y)| c.at(x, y))
            .collect();
        assert!(around.contains(&RGB_TEXT) && around.contains(&RGB_BORDER));
        // Outside every zone the frame is untouched.
        assert_eq!(c.at(5, 5), Some([128; 3]));
    }

    #[test]
    fn text_reads_as_the_font_says() {
        let mut c = grey(40, 12);
        label(&mut c, 20, 6, "Z1", 1);
        // 'Z' top row is five pixels set, '1' has its stem in the middle column.
        let row: Vec<bool> = (0..40).map(|x| c.at(x, 3) == Some(RGB_TEXT)).collect();
        assert_eq!(row.iter().filter(|b| **b).count(), 5 + 1, "{row:?}");
    }

    #[test]
    fn luma_canvas_and_clipping() {
        let mut f = vec![100u8; 30 * 20];
        let mut c = LumaCanvas::new(&mut f, 30, 20).unwrap();
        draw_zones(
            &mut c,
            &[
                ZoneMark {
                    zone: 1,
                    detector: 1,
                    quad: [(-1e9, 1e9), (1e30, 10.0), (25.0, -5.0), (2.0, 2.0)],
                },
                ZoneMark {
                    zone: 2,
                    detector: 2,
                    quad: [(f32::NAN, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, 4.0)],
                },
            ],
        );
        assert!(f.contains(&255) && f.contains(&0));
        assert!(LumaCanvas::new(&mut [0u8; 10], 3, 3).is_none());
        assert!(RgbCanvas::from_luma(&[0u8; 10], 3, 3).is_none());
    }
}
