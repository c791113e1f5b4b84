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

/// The cell-by-cell decode, written plainly: every value dequantised by the affine formula, the
/// best class of every cell, the DFL of every passing cell. The fast path must match it bit for
/// bit.
fn reference_decode(
    branches: &[Branch<'_>],
    threshold: f32,
    iou: f32,
    out: &mut heapless::Vec<Detection, MAX_DETECTIONS>,
) -> Result<usize, DecodeError> {
    fn get(t: &QTensor<'_>, c: usize, y: usize, x: usize) -> f32 {
        let i = (c * t.height + y) * t.width + x;
        let q = t.data.get(i).copied().unwrap_or(0);
        i32::from(q).wrapping_sub(t.zero_point) as f32 * t.scale
    }
    fn dfl(t: &QTensor<'_>, side: usize, y: usize, x: usize) -> f32 {
        let mut v = [0f32; DFL_BINS];
        let mut max = f32::MIN;
        for (k, slot) in v.iter_mut().enumerate() {
            *slot = get(t, side * DFL_BINS + k, y, x);
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
    out.clear();
    let mut cand: Vec<Detection> = Vec::new();
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
                    if get(&ss, 0, y, x) < threshold {
                        continue;
                    }
                }
                let (mut best, mut class) = (f32::MIN, 0);
                for c in 0..CLASSES {
                    let v = get(&b.classes, c, y, x);
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
                cand.push(Detection {
                    x1: (cx - l) * s,
                    y1: (cy - t) * s,
                    x2: (cx + r) * s,
                    y2: (cy + bt) * s,
                    score: best,
                    class,
                });
            }
        }
    }
    let mut overflow = cand.len().saturating_sub(MAX_CANDIDATES);
    cand.truncate(MAX_CANDIDATES);
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

/// xorshift64*: a small seeded generator, so a failing case can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn step(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.step() % n as u64) as usize
    }
    fn i8(&mut self) -> i8 {
        self.step() as i8
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// Owned tensors of one generated branch.
struct Owned {
    stride: u32,
    h: usize,
    w: usize,
    boxes: Vec<i8>,
    classes: Vec<i8>,
    sum: Option<Vec<i8>>,
    zp: [i32; 3],
    scale: [f32; 3],
}

impl Owned {
    fn tensor<'a>(&self, data: &'a [i8], channels: usize, k: usize) -> QTensor<'a> {
        QTensor {
            data,
            channels,
            height: self.h,
            width: self.w,
            zero_point: self.zp[k],
            scale: self.scale[k],
        }
    }

    fn branch(&self) -> Branch<'_> {
        Branch {
            stride: self.stride,
            boxes: self.tensor(&self.boxes, BOX_CHANNELS, 0),
            classes: self.tensor(&self.classes, CLASSES, 1),
            score_sum: self.sum.as_deref().map(|d| self.tensor(d, 1, 2)),
        }
    }
}

const ZERO_POINTS: [i32; 8] = [0, 0, -128, 127, 5, -20, 300, i32::MIN];
const SCALES: [f32; 10] = [
    1.0 / 16.0,
    1.0 / 16.0,
    1.0 / 256.0,
    0.1,
    1.0,
    -1.0 / 16.0,
    0.0,
    1e-40,
    3e37,
    f32::NAN,
];

/// One branch: background class scores, a few hot cells (some with ties between classes, some
/// at the int8 extremes), box bins anywhere in the int8 range with occasional sharp peaks.
fn generate(rng: &mut Rng, big: bool) -> Owned {
    let (h, w) = if big {
        (20 + rng.below(21), 20 + rng.below(21))
    } else {
        (rng.below(13), rng.below(13))
    };
    let hw = h * w;
    let extra = rng.pick(&[0usize, 0, 7]);
    let background = rng.pick(&[-128i8, -100, -20, 0]);
    let mut classes: Vec<i8> = (0..CLASSES * hw + extra)
        .map(|_| background.saturating_add((rng.below(9) as i8) - 4))
        .collect();
    let hot = if big {
        rng.pick(&[0.05f32, 0.5, 0.9])
    } else {
        rng.pick(&[0.0f32, 0.1, 0.3, 1.0])
    };
    for cell in 0..hw {
        if (rng.below(1000) as f32) < hot * 1000.0 {
            let any = rng.i8();
            let q = rng.pick(&[i8::MAX, 100, 8, 7, 9, 0, any]);
            let c = rng.below(CLASSES);
            classes[c * hw + cell] = q;
            if rng.below(4) == 0 {
                // A tie: the first class with the best score wins.
                let c2 = rng.below(CLASSES);
                classes[c2 * hw + cell] = q;
            }
        }
    }
    let mut boxes: Vec<i8> = (0..BOX_CHANNELS * hw + extra).map(|_| rng.i8()).collect();
    for cell in 0..hw {
        if rng.below(3) == 0 {
            let side = rng.below(4);
            let bin = rng.below(DFL_BINS);
            boxes[(side * DFL_BINS + bin) * hw + cell] = i8::MAX;
        }
    }
    let sum = (rng.below(3) == 0).then(|| (0..hw + extra).map(|_| rng.i8()).collect());
    Owned {
        stride: rng.pick(&[8, 16, 32]),
        h,
        w,
        boxes,
        classes,
        sum,
        zp: [rng.pick(&ZERO_POINTS), rng.pick(&ZERO_POINTS), rng.pick(&ZERO_POINTS)],
        scale: [rng.pick(&SCALES), rng.pick(&SCALES), rng.pick(&SCALES)],
    }
}

fn assert_same(branches: &[Branch<'_>], threshold: f32, iou: f32, what: &str) {
    let (mut fast, mut slow) = (heapless::Vec::new(), heapless::Vec::new());
    let a = decode(branches, threshold, iou, &mut fast);
    let b = reference_decode(branches, threshold, iou, &mut slow);
    assert_eq!(a, b, "{what}: overflow / error");
    assert_eq!(fast.len(), slow.len(), "{what}: count");
    for (f, s) in fast.iter().zip(slow.iter()) {
        let bits = |d: &Detection| {
            (
                d.x1.to_bits(),
                d.y1.to_bits(),
                d.x2.to_bits(),
                d.y2.to_bits(),
                d.score.to_bits(),
                d.class,
            )
        };
        assert_eq!(bits(f), bits(s), "{what}: {f:?} vs {s:?}");
    }
}

#[test]
fn fast_decode_matches_the_reference_on_generated_heads() {
    let thresholds = [
        0.5f32,
        0.5,
        0.25,
        0.0,
        -0.5,
        1.0,
        7.9,
        f32::MIN,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    let ious = [0.45f32, 0.0, 1.0, 0.7];
    let mut detections = 0;
    let mut overflowed = 0;
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let big = seed % 25 == 0;
        let n = 1 + rng.below(3);
        let owned: Vec<Owned> = (0..n).map(|_| generate(&mut rng, big)).collect();
        let branches: Vec<Branch<'_>> = owned.iter().map(Owned::branch).collect();
        let threshold = rng.pick(&thresholds);
        let iou = rng.pick(&ious);
        assert_same(&branches, threshold, iou, &format!("seed {seed}"));
        let mut out = heapless::Vec::new();
        if let Ok(o) = decode(&branches, threshold, iou, &mut out) {
            detections += out.len();
            overflowed += usize::from(o > 0);
        }
    }
    // The generator reaches the interesting paths: detections found, and buffers overflowing.
    assert!(detections > 300, "{detections} detections over all seeds");
    assert!(overflowed > 0, "no case overflowed the candidate or output buffers");
}

#[test]
fn fast_decode_matches_the_reference_on_the_benchmark_head() {
    // The head of benches/camera.rs: 80², 40², 20² cells, flat box bins, three hot cells each.
    let sizes = [80usize, 40, 20];
    let owned: Vec<Owned> = sizes
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let mut classes = vec![-100i8; CLASSES * s * s];
            for cell in [5usize, 77, 300] {
                if cell < s * s {
                    classes[2 * s * s + cell] = 100;
                }
            }
            Owned {
                stride: 8 << i,
                h: s,
                w: s,
                boxes: vec![3; BOX_CHANNELS * s * s],
                classes,
                sum: None,
                zp: [0; 3],
                scale: [1.0 / 16.0; 3],
            }
        })
        .collect();
    let branches: Vec<Branch<'_>> = owned.iter().map(Owned::branch).collect();
    for threshold in [0.5, 0.25, 6.25, 6.3] {
        assert_same(&branches, threshold, 0.45, &format!("threshold {threshold}"));
    }
    let mut out = heapless::Vec::new();
    assert_eq!(decode(&branches, 0.5, 0.45, &mut out), Ok(0));
    assert_eq!(out.len(), 9);
    assert!(out.iter().all(|d| d.class == 2 && d.score == 6.25));
}

#[test]
fn a_shape_whose_size_overflows_is_refused() {
    let data = [0i8; 64];
    let t = |channels, height| QTensor {
        data: &data,
        channels,
        height,
        width: 4,
        zero_point: 0,
        scale: 1.0,
    };
    let b = Branch {
        stride: 8,
        boxes: t(BOX_CHANNELS, usize::MAX / 8),
        classes: t(CLASSES, usize::MAX / 8),
        score_sum: None,
    };
    let mut out = heapless::Vec::new();
    assert_eq!(decode(&[b], 0.5, 0.45, &mut out), Err(DecodeError::Shape(0)));
}
