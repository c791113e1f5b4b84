//! Fitting durations to a total within per-element bounds: how the plan stretches or shrinks the
//! greens of a ring, and the groups of a cycle, to a target length (water-filling).

use super::round_100;
use crate::limits::MAX_PHASES;

/// Moves `v` (each kept within `lo[i]..=hi[i]`) so that its sum reaches `target` as nearly as the
/// bounds allow. Growth is shared by the weights `w` (flow ratios; equal shares when all are zero),
/// in 100 ms steps with the remainder to the last element (as Webster's splits are rounded);
/// a reduction is taken from each element in proportion to its time above its minimum.
/// Water-filling: an element that would pass a bound stops at it and the others share the rest.
/// O(n²) for n ≤ MAX_PHASES.
pub(super) fn fit(v: &mut [u32], lo: &[u32], hi: &[u32], w: &[f32], target: u32) {
    let n = v.len().min(lo.len()).min(hi.len()).min(w.len());
    // Each round either finishes or pins at least one element at a bound.
    for _ in 0..=2 * n + 1 {
        let sum: u32 = v[..n].iter().sum();
        if sum == target {
            return;
        }
        let grow = sum < target;
        let need = sum.abs_diff(target);
        let room = |v: &[u32], i: usize| {
            if grow {
                hi[i].saturating_sub(v[i])
            } else {
                v[i].saturating_sub(lo[i])
            }
        };
        let weight = |v: &[u32], i: usize| {
            let x = if grow { w[i] } else { room(v, i) as f32 };
            if x.is_finite() && x > 0.0 {
                x
            } else {
                0.0
            }
        };
        let active = || (0..n).filter(|&i| room(v, i) > 0);
        let count = active().count();
        let Some(last) = active().next_back() else {
            return; // every element at its bound
        };
        let wsum: f32 = active().map(|i| weight(v, i)).sum();
        let share = |v: &[u32], i: usize| {
            if wsum > 0.0 {
                need as f32 * weight(v, i) / wsum
            } else {
                need as f32 / count as f32
            }
        };
        let pins: heapless::Vec<usize, MAX_PHASES> = active().filter(|&i| share(v, i) >= room(v, i) as f32).collect();
        if !pins.is_empty() && pins.len() < count {
            for &i in pins.iter() {
                let r = room(v, i);
                v[i] = if grow { v[i] + r } else { v[i] - r };
            }
            continue;
        }
        let mut given = 0u32;
        let shares: heapless::Vec<(usize, u32), MAX_PHASES> = active()
            .map(|i| {
                let s = if i == last { need } else { round_100(share(v, i)) };
                (i, s)
            })
            .collect();
        for (i, s) in shares {
            let d = s.min(need - given).min(room(v, i));
            v[i] = if grow { v[i] + d } else { v[i] - d };
            given += d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn growth_follows_the_weights_and_stops_at_bounds() {
        let mut v = [10_000, 10_000];
        fit(&mut v, &[5_000, 5_000], &[40_000, 40_000], &[0.3, 0.1], 30_000);
        assert_eq!(v, [17_500, 12_500]);
        // The heavier element reaches its maximum; the other takes the rest.
        let mut v = [10_000, 10_000];
        fit(&mut v, &[5_000, 5_000], &[12_000, 40_000], &[0.3, 0.1], 30_000);
        assert_eq!(v, [12_000, 18_000]);
    }

    #[test]
    fn reduction_follows_the_time_above_the_minima_and_never_cuts_them() {
        let mut v = [20_000, 10_000];
        fit(&mut v, &[5_000, 8_000], &[40_000, 40_000], &[0.3, 0.1], 21_000);
        assert_eq!(v, [12_100, 8_900]);
        let mut v = [16_000, 16_000];
        fit(&mut v, &[15_000, 15_000], &[40_000, 40_000], &[0.5, 0.5], 20_000);
        assert_eq!(v, [15_000, 15_000], "minima above the target stay");
    }
}
