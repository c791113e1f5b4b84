//! Change and clearance intervals derived from geometry, by the formulas traffic engineers use.
//!
//! - Yellow change (ITE, *Traffic Engineering Handbook* / "Guidelines for Determining Traffic Signal
//!   Change and Clearance Intervals", 2020): `Y = t + v / (2a + 2Gg)` with perception-reaction time
//!   `t = 1 s`, deceleration `a = 3.05 m/s²` (10 ft/s²), grade `G` as a decimal (downhill negative)
//!   and `g = 9.81 m/s²`; clamped to 3-6 s (MUTCD 4D.26 limits).
//! - Red clearance (ITE): `R = (W + L) / v`, intersection width `W` to the far side of the last
//!   conflicting lane, design vehicle length `L = 6.1 m` (20 ft).
//! - Pedestrian clearance (MUTCD 4E.06): crossing length at 1.07 m/s (3.5 ft/s).
//! - Walk: at least 7 s (MUTCD 4E.06).
//!
//! Every value is rounded up to the next 0.1 s so a derived interval is never shorter than the formula.

/// ITE perception-reaction time, seconds.
pub const REACTION_S: f64 = 1.0;
/// ITE comfortable deceleration, m/s² (10 ft/s²).
pub const DECEL_MPS2: f64 = 3.05;
pub const GRAVITY_MPS2: f64 = 9.81;
/// ITE design vehicle length for red clearance, metres (20 ft).
pub const VEHICLE_LEN_M: f64 = 6.1;
/// MUTCD 4E.06 walking speed for pedestrian clearance, m/s (3.5 ft/s).
pub const PED_SPEED_MPS: f64 = 1.07;
/// MUTCD 4D.26: yellow change interval is 3 to 6 s.
pub const YELLOW_MIN_MS: u32 = 3_000;
pub const YELLOW_MAX_MS: u32 = 6_000;
/// MUTCD 4D.26: a red clearance interval, when used, is at most 6 s (longer only by engineering study).
pub const RED_CLEAR_MAX_MS: u32 = 6_000;
/// greenwave always times a red clearance; 1 s is the floor the conflict monitor can verify at 10 Hz
/// with margin (MUTCD sets no minimum; many agencies use 1 s).
pub const RED_CLEAR_MIN_MS: u32 = 1_000;
/// MUTCD 4E.06: walk interval at least 7 s.
pub const WALK_MIN_MS: u32 = 7_000;
/// MUTCD 4E.06 / Figure 4E-2: the buffer interval (steady DON'T WALK before any conflicting
/// release) is at least 3 s.
pub const PED_BUFFER_MIN_MS: u32 = 3_000;
/// Shortest flashing DON'T WALK greenwave shows when the buffer interval counts towards the
/// pedestrian clearance time: the flashing warning is always shown long enough to be seen.
pub const PED_CHANGE_MIN_MS: u32 = 3_000;

/// The pedestrian change interval (flashing DON'T WALK) for a calculated pedestrian clearance time
/// `clearance_ms`. `buffer_ms`: the buffer interval that follows it (the phase's yellow change plus
/// red clearance, steady DON'T WALK) when the site lets it count towards the clearance time (MUTCD
/// 4E.06: "the sum of the time of the pedestrian change interval and the buffer interval shall not
/// be less than the calculated pedestrian clearance time"; Figure 4E-2), `None` when the whole
/// clearance time runs inside the green. A buffer below 3 s does not count.
pub fn ped_change_ms(clearance_ms: u32, buffer_ms: Option<u32>) -> u32 {
    match buffer_ms {
        Some(b) if b >= PED_BUFFER_MIN_MS => clearance_ms.saturating_sub(b).max(PED_CHANGE_MIN_MS.min(clearance_ms)),
        _ => clearance_ms,
    }
}

/// Seconds to milliseconds, rounded **up** to the next 100 ms.
pub fn ceil_ms(seconds: f64) -> u32 {
    if !seconds.is_finite() || seconds <= 0.0 {
        return 0;
    }
    let tenths = (seconds * 10.0 - 1e-9).ceil();
    (tenths as u32).saturating_mul(100)
}

pub fn kmh_to_mps(kmh: f64) -> f64 {
    kmh / 3.6
}

/// ITE yellow change interval in ms, clamped to 3-6 s.
pub fn yellow_ms(speed_kmh: f64, grade_pct: f64) -> u32 {
    let v = kmh_to_mps(speed_kmh);
    let denom = 2.0 * DECEL_MPS2 + 2.0 * (grade_pct / 100.0) * GRAVITY_MPS2;
    // A grade steep enough to make the denominator non-positive is rejected by validation; clamp anyway.
    let y = if denom > 0.1 {
        REACTION_S + v / denom
    } else {
        YELLOW_MAX_MS as f64 / 1000.0
    };
    ceil_ms(y).clamp(YELLOW_MIN_MS, YELLOW_MAX_MS)
}

/// ITE red clearance in ms, `(W + L) / v`, clamped to greenwave's 1 s floor and MUTCD's 6 s.
pub fn red_clear_ms(crossing_width_m: f64, speed_kmh: f64) -> u32 {
    let v = kmh_to_mps(speed_kmh).max(1.0);
    ceil_ms((crossing_width_m + VEHICLE_LEN_M) / v).clamp(RED_CLEAR_MIN_MS, RED_CLEAR_MAX_MS)
}

/// MUTCD pedestrian clearance (flashing DON'T WALK) in ms.
pub fn ped_clear_ms(crossing_m: f64) -> u32 {
    ceil_ms(crossing_m / PED_SPEED_MPS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ite_yellow_hand_computed() {
        // 50 km/h = 13.889 m/s, level: 1 + 13.889 / 6.1 = 3.277 s -> 3.3 s.
        assert_eq!(yellow_ms(50.0, 0.0), 3_300);
        // 70 km/h = 19.444 m/s, level: 1 + 19.444 / 6.1 = 4.188 s -> 4.2 s.
        assert_eq!(yellow_ms(70.0, 0.0), 4_200);
        // 70 km/h, 4 % downhill: 1 + 19.444 / (6.1 - 0.7848) = 4.658 s -> 4.7 s.
        assert_eq!(yellow_ms(70.0, -4.0), 4_700);
        // 30 km/h: 1 + 8.333 / 6.1 = 2.366 s -> clamped to the MUTCD 3 s minimum.
        assert_eq!(yellow_ms(30.0, 0.0), 3_000);
        // 110 km/h: 1 + 30.556 / 6.1 = 6.009 s -> clamped to 6 s.
        assert_eq!(yellow_ms(110.0, 0.0), 6_000);
    }

    #[test]
    fn ite_red_clearance_hand_computed() {
        // (20 + 6.1) / 13.889 = 1.879 s -> 1.9 s.
        assert_eq!(red_clear_ms(20.0, 50.0), 1_900);
        // (30 + 6.1) / 8.333 = 4.332 s -> 4.4 s.
        assert_eq!(red_clear_ms(30.0, 30.0), 4_400);
        // Narrow: (4 + 6.1) / 19.444 = 0.519 s -> floor 1 s.
        assert_eq!(red_clear_ms(4.0, 70.0), 1_000);
    }

    #[test]
    fn mutcd_ped_clearance_hand_computed() {
        // 17.5 m / 1.07 m/s = 16.355 s -> 16.4 s.
        assert_eq!(ped_clear_ms(17.5), 16_400);
        // 10.7 m / 1.07 = 10.0 s exactly.
        assert_eq!(ped_clear_ms(10.7), 10_000);
    }

    #[test]
    fn buffer_interval_counts_towards_the_pedestrian_clearance_time() {
        // 16.9 s clearance, yellow 3.0 + red 2.8 = 5.8 s buffer: 11.1 s of flashing DON'T WALK.
        assert_eq!(ped_change_ms(16_900, Some(5_800)), 11_100);
        // Inside the green: the whole clearance flashes.
        assert_eq!(ped_change_ms(16_900, None), 16_900);
        // A buffer under 3 s does not count (MUTCD 4E.06: at least 3 s).
        assert_eq!(ped_change_ms(16_900, Some(2_900)), 16_900);
        // The flashing warning never drops below 3 s, nor above the clearance itself.
        assert_eq!(ped_change_ms(7_500, Some(5_100)), 3_000);
        assert_eq!(ped_change_ms(2_000, Some(5_100)), 2_000);
    }

    #[test]
    fn ceil_rounds_up() {
        assert_eq!(ceil_ms(3.0), 3_000);
        assert_eq!(ceil_ms(3.01), 3_100);
        assert_eq!(ceil_ms(-1.0), 0);
        assert_eq!(ceil_ms(f64::NAN), 0);
    }
}
