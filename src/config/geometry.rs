//! Intersection geometry: which leg each vehicle phase comes from and which movements it serves,
//! and whether two movements can collide.
//!
//! The model is the one used to draw a conflict diagram (MUTCD 4D.05, 4D.17; the NEMA TS2
//! compatibility card is the same information in channel form): the legs sit on a circle at their
//! compass angle, traffic keeps right, and a movement is a chord from the inbound point of its leg
//! (angle + δ, counter-clockwise) to the outbound point of its destination leg (angle − δ). Two
//! movements of different legs conflict when their chords cross (the endpoints interleave around
//! the circle) or when they end on the same exit (a merge). Movements from the same leg never
//! conflict: they share a stop line and leave it in lane order.
//!
//! A left turn on a circular green in a shared lane (`left_yield`) crosses the opposing through
//! movement, but yields to it by law (Uniform Vehicle Code §11-402), so that crossing is allowed.
//!
//! Cost: a conflict test is a handful of integer comparisons; no allocation.

/// A leg of the intersection, by the compass direction it leaves the centre in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leg {
    N,
    NE,
    E,
    SE,
    S,
    SW,
    W,
    NW,
}

impl Leg {
    pub const ALL: [Leg; 8] = [Leg::N, Leg::NE, Leg::E, Leg::SE, Leg::S, Leg::SW, Leg::W, Leg::NW];

    pub fn parse(s: &str) -> Option<Leg> {
        Leg::ALL.into_iter().find(|l| l.name() == s)
    }

    pub const fn name(self) -> &'static str {
        match self {
            Leg::N => "N",
            Leg::NE => "NE",
            Leg::E => "E",
            Leg::SE => "SE",
            Leg::S => "S",
            Leg::SW => "SW",
            Leg::W => "W",
            Leg::NW => "NW",
        }
    }

    /// Angle in degrees, counter-clockwise from east (E = 0, N = 90, W = 180, S = 270).
    pub const fn angle_deg(self) -> u16 {
        match self {
            Leg::E => 0,
            Leg::NE => 45,
            Leg::N => 90,
            Leg::NW => 135,
            Leg::W => 180,
            Leg::SW => 225,
            Leg::S => 270,
            Leg::SE => 315,
        }
    }

    /// The leg at `angle_deg` (a multiple of 45 degrees, any turn count).
    const fn at(angle_deg: u16) -> Leg {
        match (angle_deg % 360) / 45 {
            0 => Leg::E,
            1 => Leg::NE,
            2 => Leg::N,
            3 => Leg::NW,
            4 => Leg::W,
            5 => Leg::SW,
            6 => Leg::S,
            _ => Leg::SE,
        }
    }

    /// The leg straight across.
    pub const fn opposite(self) -> Leg {
        Leg::at(self.angle_deg() + 180)
    }
}

impl core::fmt::Display for Leg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// One movement from an approach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    Left,
    Through,
    Right,
    UTurn,
    /// A left turn on a circular green that yields to the opposing traffic (shared or permissive
    /// lane without its own arrow).
    LeftYield,
}

impl Movement {
    pub const ALL: [Movement; 5] = [
        Movement::Left,
        Movement::Through,
        Movement::Right,
        Movement::UTurn,
        Movement::LeftYield,
    ];

    pub fn parse(s: &str) -> Option<Movement> {
        Movement::ALL.into_iter().find(|m| m.name() == s)
    }

    pub const fn name(self) -> &'static str {
        match self {
            Movement::Left => "left",
            Movement::Through => "through",
            Movement::Right => "right",
            Movement::UTurn => "u-turn",
            Movement::LeftYield => "left_yield",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Movement::Left => 1,
            Movement::Through => 2,
            Movement::Right => 4,
            Movement::UTurn => 8,
            Movement::LeftYield => 16,
        }
    }

    /// The leg a vehicle from `from` leaves by (right-hand traffic: a left turn from the south
    /// leg, heading north, leaves to the west).
    pub const fn exit(self, from: Leg) -> Leg {
        let a = from.angle_deg();
        match self {
            Movement::Through => Leg::at(a + 180),
            Movement::Left | Movement::LeftYield => Leg::at(a + 270),
            Movement::Right => Leg::at(a + 90),
            Movement::UTurn => from,
        }
    }

    pub const fn is_left(self) -> bool {
        matches!(self, Movement::Left | Movement::LeftYield)
    }
}

impl core::fmt::Display for Movement {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of movements (bit set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Movements(pub u8);

impl Movements {
    pub const EMPTY: Movements = Movements(0);

    pub const fn with(self, m: Movement) -> Movements {
        Movements(self.0 | m.bit())
    }

    pub const fn contains(self, m: Movement) -> bool {
        self.0 & m.bit() != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Movement> {
        Movement::ALL.into_iter().filter(move |m| self.contains(*m))
    }
}

/// Where a phase's vehicles come from and where they may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Approach {
    pub leg: Leg,
    pub movements: Movements,
}

/// Half the angle between a leg's inbound and outbound lanes on the model circle (less than half
/// the 45° between neighbouring legs, so the points of different legs never coincide).
const DELTA_DEG: u16 = 10;

/// Endpoints of a movement's chord, degrees counter-clockwise from east.
const fn chord(from: Leg, m: Movement) -> (u16, u16) {
    let inbound = (from.angle_deg() + DELTA_DEG) % 360;
    let outbound = (m.exit(from).angle_deg() + 360 - DELTA_DEG) % 360;
    (inbound, outbound)
}

/// `x` lies strictly inside the counter-clockwise arc from `a` to `b`.
const fn inside(a: u16, b: u16, x: u16) -> bool {
    let span = (b + 360 - a) % 360;
    let off = (x + 360 - a) % 360;
    off > 0 && off < span
}

/// Whether two movements collide (crossing or merging), by the geometry alone. Movements from the
/// same leg never do.
pub const fn collide(a_leg: Leg, a: Movement, b_leg: Leg, b: Movement) -> bool {
    if a_leg as u8 == b_leg as u8 {
        return false;
    }
    if a.exit(a_leg) as u8 == b.exit(b_leg) as u8 {
        return true;
    }
    let (a1, a2) = chord(a_leg, a);
    let (b1, b2) = chord(b_leg, b);
    inside(a1, a2, b1) != inside(a1, a2, b2)
}

/// A collision the law resolves: a yielding left turn against any movement of the opposing leg.
pub const fn yields(a_leg: Leg, a: Movement, b_leg: Leg, b: Movement) -> bool {
    let opposing = a_leg.opposite() as u8 == b_leg as u8;
    opposing && (matches!(a, Movement::LeftYield) || matches!(b, Movement::LeftYield))
}

/// The first pair of movements of `a` and `b` that collide and that no yielding left resolves,
/// with `arrow_ab` (phase a is a left turn with a flashing yellow arrow yielding to phase b) and
/// `arrow_ba` (the reverse) resolving a left against the opposing leg's movements as well.
pub fn first_conflict(a: Approach, b: Approach, arrow_ab: bool, arrow_ba: bool) -> Option<(Movement, Movement)> {
    let opposing = a.leg.opposite() == b.leg;
    for ma in a.movements.iter() {
        for mb in b.movements.iter() {
            if !collide(a.leg, ma, b.leg, mb) || yields(a.leg, ma, b.leg, mb) {
                continue;
            }
            if opposing && ((arrow_ab && ma.is_left()) || (arrow_ba && mb.is_left())) {
                continue;
            }
            return Some((ma, mb));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use Movement::*;

    #[test]
    fn exits_keep_right() {
        assert_eq!(Through.exit(Leg::S), Leg::N);
        assert_eq!(Left.exit(Leg::S), Leg::W);
        assert_eq!(Right.exit(Leg::S), Leg::E);
        assert_eq!(Left.exit(Leg::N), Leg::E);
        assert_eq!(Right.exit(Leg::W), Leg::S);
        assert_eq!(UTurn.exit(Leg::E), Leg::E);
        assert_eq!(Leg::NE.opposite(), Leg::SW);
    }

    #[test]
    fn standard_four_leg_conflicts() {
        // Crossing throughs.
        assert!(collide(Leg::S, Through, Leg::E, Through));
        // Opposing throughs and opposing rights do not meet.
        assert!(!collide(Leg::S, Through, Leg::N, Through));
        assert!(!collide(Leg::S, Right, Leg::N, Right));
        // Opposing lefts pass each other (right-hand traffic).
        assert!(!collide(Leg::S, Left, Leg::N, Left));
        // A left crosses the opposing through and merges with the opposing right.
        assert!(collide(Leg::N, Left, Leg::S, Through));
        assert!(collide(Leg::S, Left, Leg::N, Right));
        // A right merges with the crossing through from the left.
        assert!(collide(Leg::S, Right, Leg::W, Through));
        assert!(!collide(Leg::S, Right, Leg::E, Through));
        // Same leg: never.
        assert!(!collide(Leg::S, Left, Leg::S, Through));
        // A U-turn only merges.
        assert!(collide(Leg::S, UTurn, Leg::N, Through));
        assert!(!collide(Leg::S, UTurn, Leg::E, Through));
    }

    #[test]
    fn skewed_legs() {
        // A diagonal leg: through from NE leaves to SW and crosses the south-north through.
        assert_eq!(Through.exit(Leg::NE), Leg::SW);
        assert!(collide(Leg::NE, Through, Leg::S, Through));
        // Its right turn (to SE) stays clear of the opposite leg's right turn (to NW).
        assert!(!collide(Leg::NE, Right, Leg::SW, Right));
    }

    #[test]
    fn yielding_left_and_arrow_excuse_only_the_opposing_leg() {
        let nb = Approach {
            leg: Leg::S,
            movements: Movements::EMPTY.with(Through).with(LeftYield),
        };
        let sb = Approach {
            leg: Leg::N,
            movements: Movements::EMPTY.with(Through).with(Right),
        };
        assert_eq!(first_conflict(nb, sb, false, false), None);
        let eb = Approach {
            leg: Leg::W,
            movements: Movements::EMPTY.with(Through),
        };
        assert_eq!(first_conflict(nb, eb, false, false), Some((Through, Through)));
        let sb_left = Approach {
            leg: Leg::N,
            movements: Movements::EMPTY.with(Left),
        };
        let nb_through = Approach {
            leg: Leg::S,
            movements: Movements::EMPTY.with(Through),
        };
        assert_eq!(first_conflict(sb_left, nb_through, false, false), Some((Left, Through)));
        assert_eq!(first_conflict(sb_left, nb_through, true, false), None);
        assert_eq!(first_conflict(nb_through, sb_left, false, true), None);
    }
}
