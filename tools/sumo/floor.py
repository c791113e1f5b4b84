"""Where the time loss goes, and how low any controller could take it, on the reference 4-leg.

usage: floor.py [--min-green S] [--yellow S] [--all-red S] [--sat VPHPL] TRIPINFO.xml [...]

Reads SUMO tripinfo files written by `greenwave-sumo bench` / `run` on the reference scenarios
(vehicle ids `<from>2C_<movement>_...`: N/S/E/W approach, l/t/r movement) and prints per file:

* per movement: vehicles, the share that stopped (SUMO `waitingTime` > 0), their mean wait, and
  the mean score (time loss + depart delay);
* the two-street floor: the lowest score any controller could reach with the site's minimum greens
  and change intervals, under the model below, and 0.85x the file's own score for comparison.

The floor model (a two-phase signal, the cheapest structure that serves both streets):
  each street's effective red is the other street's green + one yellow + two all-reds
  (r_NS = g_EW + Y + 2R: vehicles may still enter on yellow, so it counts as green here);
  a vehicle that arrives on red stops (Poisson arrivals see time averages: P(stop) = r / C, with
  C = g_NS + g_EW + 2 (Y + R)); a stopped vehicle loses the through movement's measured stop
  penalty (score - wait of stopped throughs: deceleration and start-up) plus the mean residual red
  r / 2; a vehicle that does not stop loses its movement's measured free loss. Both greens are at
  least the minimum green, and each street's green (with its yellow) carries its through lanes'
  flow at the saturation flow (Webster's capacity condition). The best (g_NS, g_EW) is searched on
  a 1 s grid, then refined to 0.1 s.

Every assumption favours the controller: left turners are charged like throughs (no yielding to
the opposing flow, no protected phase), a stopped vehicle waits no queue discharge, and the red is
as short as the minimum green allows. The one thing the model does not credit is anticipation:
a controller that sees vehicles upstream (loops 30 m back, zones 80 m) can hold a green for a
vehicle about to arrive, which gap-out actuation already does. So the floor is an estimate of how
far a controller can go, not a theorem. On the reference `balanced` and `peak` demands (seeds 42,
1, 2, 3), SUMO actuated with permissive lefts and greenwave adaptive both score 2-6 % above it.
"""
import argparse
import collections
import sys
import xml.etree.ElementTree as ET

MOVEMENTS = {"l": "left", "t": "through", "r": "right"}


class Breakdown:
    """Per-movement tallies from one tripinfo file."""

    def __init__(self):
        self.n = collections.Counter()
        self.stopped = collections.Counter()
        self.score = collections.Counter()
        self.wait = collections.Counter()
        self.free_score = collections.Counter()
        self.stopped_score = collections.Counter()
        self.street = collections.Counter()
        self.street_lefts = collections.Counter()

    def add(self, vid, time_loss, depart_delay, waiting):
        parts = vid.split("_")
        if len(parts) < 2 or parts[1] not in MOVEMENTS or not parts[0].endswith("2C"):
            raise ValueError(f"vehicle id `{vid}` is not a reference scenario id (<from>2C_<l|t|r>_...)")
        m, street = parts[1], "NS" if parts[0][0] in "NS" else "EW"
        s = time_loss + depart_delay
        self.n[m] += 1
        self.street[street] += 1
        if m == "l":
            self.street_lefts[street] += 1
        self.score[m] += s
        if waiting > 0.0:
            self.stopped[m] += 1
            self.wait[m] += waiting
            self.stopped_score[m] += s
        else:
            self.free_score[m] += s

    @property
    def total(self):
        return sum(self.n.values())

    def mean_score(self):
        return sum(self.score.values()) / self.total

    def free_loss(self, m):
        free = self.n[m] - self.stopped[m]
        if free:
            return self.free_score[m] / free
        return self.free_loss("t") if m != "t" and self.n["t"] > self.stopped["t"] else 0.0

    def stop_penalty(self):
        st = self.stopped["t"]
        return (self.stopped_score["t"] - self.wait["t"]) / st if st else 0.0


def read(path):
    b = Breakdown()
    for t in ET.parse(path).getroot().iter("tripinfo"):
        b.add(t.get("id"), float(t.get("timeLoss")), float(t.get("departDelay")), float(t.get("waitingTime")))
    if b.total == 0:
        raise ValueError(f"{path}: no vehicle arrived")
    return b


def floor(b, min_green, yellow, all_red, sat_vphpl, hours, through_lanes=2):
    """The two-street floor (module doc) for the flows and measured constants in `b`.

    Returns (floor score, g_NS, g_EW, cycle)."""
    n = b.total
    share = {s: b.street[s] / n for s in ("NS", "EW")}
    free = sum(b.n[m] / n * b.free_loss(m) for m in b.n)
    pen = b.stop_penalty()
    # Flow per through lane (through and right share the lanes; lefts have their own lane).
    y = {}
    for s in ("NS", "EW"):
        lane_vph = (b.street[s] - b.street_lefts[s]) / hours / (2 * through_lanes)
        y[s] = lane_vph / sat_vphpl
    def loss(g_ns, g_ew):
        c = g_ns + g_ew + 2 * (yellow + all_red)
        if (g_ns + yellow) / c < y["NS"] or (g_ew + yellow) / c < y["EW"]:
            return None
        r = {"NS": g_ew + yellow + 2 * all_red, "EW": g_ns + yellow + 2 * all_red}
        return (free + sum(share[s] * r[s] / c * (pen + r[s] / 2) for s in r), g_ns, g_ew, c)

    def search(ns, ew):
        found = [v for v in (loss(a, b) for a in ns for b in ew) if v is not None]
        return min(found) if found else None

    # A 1 s grid up to 120 s greens, then 0.1 s around its best.
    coarse = [min_green + k for k in range(0, 111)]
    best = search(coarse, coarse)
    if best is not None:
        near = lambda g: [x for x in (round(g + k / 10, 1) for k in range(-10, 11)) if x >= min_green]
        best = search(near(best[1]), near(best[2]))
    return best


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-green", type=float, default=10.0, help="through minimum green, s (site: 10)")
    ap.add_argument("--yellow", type=float, default=3.3, help="yellow change interval, s (site at 50 km/h: 3.3)")
    ap.add_argument("--all-red", type=float, default=1.9, help="red clearance, s (site: 1.9)")
    ap.add_argument("--sat", type=float, default=1800.0, help="saturation flow, veh/h/lane")
    ap.add_argument("--hours", type=float, default=1.0, help="length of the demand, h (reference: 1)")
    ap.add_argument("tripinfo", nargs="+")
    a = ap.parse_args(argv)
    for path in a.tripinfo:
        try:
            b = read(path)
        except (ET.ParseError, OSError, ValueError, TypeError) as e:
            print(f"floor.py: {path}: {e}", file=sys.stderr)
            return 1
        score = b.mean_score()
        f, g_ns, g_ew, c = floor(b, a.min_green, a.yellow, a.all_red, a.sat, a.hours)
        print(f"{path}")
        for m in ("l", "t", "r"):
            if b.n[m]:
                st = b.stopped[m]
                print(
                    f"  {MOVEMENTS[m]:<8} {b.n[m]:5d} veh  stopped {100 * st / b.n[m]:5.1f} %"
                    f"  wait {b.wait[m] / st if st else 0.0:5.1f} s  score {b.score[m] / b.n[m]:5.1f} s"
                )
        print(
            f"  score {score:.2f} s   floor {f:.2f} s ({f / score:.2f}x; greens {g_ns:.1f} / {g_ew:.1f} s,"
            f" cycle {c:.1f} s; stop penalty {b.stop_penalty():.2f} s)   0.85x = {0.85 * score:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
