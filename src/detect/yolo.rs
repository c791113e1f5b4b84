//! YOLOv8 / YOLO11 output decoding for RKNN-quantised models (the RK3588 NPU path), pure and
//! allocation-free.
//!
//! The RKNN model-zoo export splits the detection head into three stride branches (8, 16, 32); per
//! branch a box tensor of 64 channels (4 box sides × 16 DFL bins), a class tensor of 80 channels
//! (COCO, sigmoid already applied) and optionally a 1-channel score-sum tensor used to skip empty
//! cells. Tensors are int8 NCHW with an affine quantisation: `real = (q − zero_point) × scale`.
//!
//! Decoding per cell `(row, col)` of a branch with stride `s`: skip if the score sum (when present)
//! is below the threshold; take the best class score; if above the threshold, each box side is the
//! expectation of the softmax over its 16 DFL bins (Distribution Focal Loss, Li et al. 2020), and
//! the box is `x1 = (col + 0.5 − l)·s, y1 = (row + 0.5 − t)·s, x2 = (col + 0.5 + r)·s,
//! y2 = (row + 0.5 + b)·s` in input-image pixels. Candidates go into a fixed buffer; per-class
//! non-maximum suppression (IoU > 0.45) keeps the best. Traffic classes are mapped to
//! [`RoadUser`]; boxes are assigned to lane zones by their bottom-centre point (where the vehicle
//! touches the road).

/// DFL bins per box side.
pub const DFL_BINS: usize = 16;
/// Box tensor channels.
pub const BOX_CHANNELS: usize = 4 * DFL_BINS;
/// COCO classes.
pub const CLASSES: usize = 80;
/// Candidates kept before NMS.
pub const MAX_CANDIDATES: usize = 512;
/// Detections after NMS.
pub const MAX_DETECTIONS: usize = 128;

/// Road users greenwave counts, from COCO class ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoadUser {
    Person,
    Bicycle,
    Car,
    Motorcycle,
    Bus,
    Truck,
}

impl RoadUser {
    pub const fn from_coco(class: usize) -> Option<RoadUser> {
        match class {
            0 => Some(RoadUser::Person),
            1 => Some(RoadUser::Bicycle),
            2 => Some(RoadUser::Car),
            3 => Some(RoadUser::Motorcycle),
            5 => Some(RoadUser::Bus),
            7 => Some(RoadUser::Truck),
            _ => None,
        }
    }

    /// Vehicles that occupy a traffic lane (pedestrians and bicycles are counted separately).
    pub const fn is_vehicle(self) -> bool {
        matches!(
            self,
            RoadUser::Car | RoadUser::Motorcycle | RoadUser::Bus | RoadUser::Truck
        )
    }
}

/// One int8 tensor of a branch, NCHW with N = 1.
#[derive(Clone, Copy, Debug)]
pub struct QTensor<'a> {
    pub data: &'a [i8],
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub zero_point: i32,
    pub scale: f32,
}

impl QTensor<'_> {
    #[inline]
    fn get(&self, c: usize, y: usize, x: usize) -> f32 {
        let i = (c * self.height + y) * self.width + x;
        let q = self.data.get(i).copied().unwrap_or(0);
        (i32::from(q) - self.zero_point) as f32 * self.scale
    }

    fn shape_ok(&self, channels: usize) -> bool {
        self.channels == channels && self.data.len() >= channels * self.height * self.width
    }
}

/// One stride branch of the head.
#[derive(Clone, Copy, Debug)]
pub struct Branch<'a> {
    pub stride: u32,
    pub boxes: QTensor<'a>,
    pub classes: QTensor<'a>,
    pub score_sum: Option<QTensor<'a>>,
}

/// A detection in input-image pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
    pub class: usize,
}

impl Detection {
    fn area(&self) -> f32 {
        (self.x2 - self.x1).max(0.0) * (self.y2 - self.y1).max(0.0)
    }

    pub fn iou(&self, o: &Detection) -> f32 {
        let w = (self.x2.min(o.x2) - self.x1.max(o.x1)).max(0.0);
        let h = (self.y2.min(o.y2) - self.y1.max(o.y1)).max(0.0);
        let inter = w * h;
        let union = self.area() + o.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }

    pub fn road_user(&self) -> Option<RoadUser> {
        RoadUser::from_coco(self.class)
    }

    /// Where the object meets the road.
    pub fn bottom_centre(&self) -> (f32, f32) {
        ((self.x1 + self.x2) / 2.0, self.y2)
    }
}

/// Decoding errors (a model whose outputs do not have the expected shape).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Branch `n`'s tensors have the wrong channel count or size.
    Shape(usize),
}

/// Softmax expectation over 16 DFL bins.
fn dfl(t: &QTensor<'_>, side: usize, y: usize, x: usize) -> f32 {
    let mut v = [0f32; DFL_BINS];
    let mut max = f32::MIN;
    for (k, slot) in v.iter_mut().enumerate() {
        *slot = t.get(side * DFL_BINS + k, y, x);
        max = max.max(*slot);
    }
    let mut sum = 0.0;
    let mut acc = 0.0;
    for (k, x) in v.iter().enumerate() {
        let e = (x - max).exp();
        sum += e;
        acc += e * k as f32;
    }
    if sum > 0.0 {
        acc / sum
    } else {
        0.0
    }
}

/// Decodes the branches into `out` (cleared first), keeping detections of score ≥ `threshold`
/// after per-class NMS at `iou`. Returns the number of candidates that did not fit the buffer.
pub fn decode(
    branches: &[Branch<'_>],
    threshold: f32,
    iou: f32,
    out: &mut heapless::Vec<Detection, MAX_DETECTIONS>,
) -> Result<usize, DecodeError> {
    out.clear();
    let mut cand: heapless::Vec<Detection, MAX_CANDIDATES> = heapless::Vec::new();
    let mut overflow = 0;
    for (n, b) in branches.iter().enumerate() {
        let (h, w) = (b.boxes.height, b.boxes.width);
        let ok = b.boxes.shape_ok(BOX_CHANNELS)
            && b.classes.shape_ok(CLASSES)
            && b.classes.height == h
            && b.classes.width == w
            && b.score_sum
                .is_none_or(|s| s.shape_ok(1) && s.height == h && s.width == w);
        if !ok {
            return Err(DecodeError::Shape(n));
        }
        let s = b.stride as f32;
        for y in 0..h {
            for x in 0..w {
                if let Some(ss) = b.score_sum {
                    if ss.get(0, y, x) < threshold {
                        continue;
                    }
                }
                let (mut best, mut class) = (f32::MIN, 0);
                for c in 0..CLASSES {
                    let v = b.classes.get(c, y, x);
                    if v > best {
                        best = v;
                        class = c;
                    }
                }
                if best < threshold {
                    continue;
                }
                let (l, t, r, bt) = (
                    dfl(&b.boxes, 0, y, x),
                    dfl(&b.boxes, 1, y, x),
                    dfl(&b.boxes, 2, y, x),
                    dfl(&b.boxes, 3, y, x),
                );
                let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
                let d = Detection {
                    x1: (cx - l) * s,
                    y1: (cy - t) * s,
                    x2: (cx + r) * s,
                    y2: (cy + bt) * s,
                    score: best,
                    class,
                };
                if cand.push(d).is_err() {
                    overflow += 1;
                }
            }
        }
    }
    // Best first, then greedy per-class suppression.
    cand.sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
    for d in cand.iter() {
        if out.iter().any(|k| k.class == d.class && k.iou(d) > iou) {
            continue;
        }
        if out.push(*d).is_err() {
            overflow += 1;
        }
    }
    Ok(overflow)
}

/// Whether point `p` lies inside the convex quad `q` (corners in order).
pub fn in_quad(p: (f32, f32), q: &[(f32, f32); 4]) -> bool {
    let mut sign = 0i8;
    for i in 0..4 {
        let a = q[i];
        let b = q[(i + 1) % 4];
        let cross = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
        let s = if cross > 0.0 {
            1
        } else if cross < 0.0 {
            -1
        } else {
            0
        };
        if s != 0 {
            if sign == 0 {
                sign = s;
            } else if s != sign {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds int8 tensors (scale 1/16, zero point 0) for a 640-pixel input at stride 32 (20 × 20)
    /// holding one box of class `class` at cell (row, col) with DFL sides peaked at `sides` bins.
    fn branch_with(row: usize, col: usize, class: usize, sides: [usize; 4], score: i8) -> (Vec<i8>, Vec<i8>) {
        let (h, w) = (20, 20);
        let mut boxes = vec![-100i8; BOX_CHANNELS * h * w];
        for (side, bin) in sides.iter().enumerate() {
            // A sharp peak: softmax ≈ one-hot, so the expectation ≈ the bin.
            boxes[((side * DFL_BINS + bin) * h + row) * w + col] = 100;
        }
        let mut classes = vec![-128i8; CLASSES * h * w];
        classes[(class * h + row) * w + col] = score;
        (boxes, classes)
    }

    #[test]
    fn decodes_a_known_box_and_class() {
        let (bx, cl) = branch_with(10, 5, 2, [2, 3, 4, 1], 14); // score 14/16 = 0.875
        let t = |d: &'static [i8], c| QTensor {
            data: d,
            channels: c,
            height: 20,
            width: 20,
            zero_point: 0,
            scale: 1.0 / 16.0,
        };
        let bx: &'static [i8] = Box::leak(bx.into_boxed_slice());
        let cl: &'static [i8] = Box::leak(cl.into_boxed_slice());
        let b = Branch {
            stride: 32,
            boxes: t(bx, BOX_CHANNELS),
            classes: t(cl, CLASSES),
            score_sum: None,
        };
        let mut out = heapless::Vec::new();
        assert_eq!(decode(&[b], 0.5, 0.45, &mut out), Ok(0));
        assert_eq!(out.len(), 1);
        let d = out[0];
        assert_eq!(d.class, 2);
        assert_eq!(d.road_user(), Some(RoadUser::Car));
        assert!((d.score - 0.875).abs() < 1e-6);
        // Cell centre (5.5, 10.5) × 32 = (176, 336); sides l=2, t=3, r=4, b=1 bins × 32.
        let close = |a: f32, b: f32| (a - b).abs() < 0.5;
        assert!(close(d.x1, 176.0 - 64.0) && close(d.y1, 336.0 - 96.0), "{d:?}");
        assert!(close(d.x2, 176.0 + 128.0) && close(d.y2, 336.0 + 32.0), "{d:?}");
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes_and_shapes_are_checked() {
        let mut out = heapless::Vec::new();
        let a = Detection {
            x1: 0.0,
            y1: 0.0,
            x2: 10.0,
            y2: 10.0,
            score: 0.9,
            class: 2,
        };
        let b = Detection {
            x1: 1.0,
            y1: 1.0,
            x2: 11.0,
            y2: 11.0,
            score: 0.8,
            class: 2,
        };
        assert!(a.iou(&b) > 0.45);
        // Through the decoder: two neighbouring cells predicting the same car.
        let (mut bx, mut cl) = branch_with(10, 5, 7, [2, 2, 2, 2], 15);
        let (bx2, cl2) = branch_with(10, 6, 7, [3, 2, 1, 2], 12);
        for (d, s) in bx.iter_mut().zip(bx2.iter()) {
            *d = (*d).max(*s);
        }
        for (d, s) in cl.iter_mut().zip(cl2.iter()) {
            *d = (*d).max(*s);
        }
        let bx: &'static [i8] = Box::leak(bx.into_boxed_slice());
        let cl: &'static [i8] = Box::leak(cl.into_boxed_slice());
        let t = |d: &'static [i8], c| QTensor {
            data: d,
            channels: c,
            height: 20,
            width: 20,
            zero_point: 0,
            scale: 1.0 / 16.0,
        };
        let br = Branch {
            stride: 32,
            boxes: t(bx, BOX_CHANNELS),
            classes: t(cl, CLASSES),
            score_sum: None,
        };
        decode(&[br], 0.5, 0.45, &mut out).unwrap();
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].road_user(), Some(RoadUser::Truck));
        assert!((out[0].score - 15.0 / 16.0).abs() < 1e-6);
        // A model with the wrong head is refused.
        let bad = Branch {
            stride: 32,
            boxes: t(bx, 32),
            classes: t(cl, CLASSES),
            score_sum: None,
        };
        assert_eq!(decode(&[bad], 0.5, 0.45, &mut out), Err(DecodeError::Shape(0)));
    }

    #[test]
    fn score_sum_skips_cells_and_zones_take_the_bottom_centre() {
        let (bx, cl) = branch_with(3, 3, 5, [1, 1, 1, 1], 15);
        let sum = vec![-128i8; 400];
        let bx: &'static [i8] = Box::leak(bx.into_boxed_slice());
        let cl: &'static [i8] = Box::leak(cl.into_boxed_slice());
        let sum: &'static [i8] = Box::leak(sum.into_boxed_slice());
        let t = |d: &'static [i8], c| QTensor {
            data: d,
            channels: c,
            height: 20,
            width: 20,
            zero_point: 0,
            scale: 1.0 / 16.0,
        };
        let br = Branch {
            stride: 32,
            boxes: t(bx, BOX_CHANNELS),
            classes: t(cl, CLASSES),
            score_sum: Some(t(sum, 1)),
        };
        let mut out = heapless::Vec::new();
        decode(&[br], 0.5, 0.45, &mut out).unwrap();
        assert!(out.is_empty(), "score sum below threshold skips the cell");
        let q = [(100.0, 400.0), (140.0, 400.0), (140.0, 200.0), (100.0, 200.0)];
        assert!(in_quad((120.0, 350.0), &q));
        assert!(!in_quad((150.0, 350.0), &q));
        let d = Detection {
            x1: 110.0,
            y1: 300.0,
            x2: 130.0,
            y2: 390.0,
            score: 0.9,
            class: 2,
        };
        assert!(in_quad(d.bottom_centre(), &q));
    }
}
