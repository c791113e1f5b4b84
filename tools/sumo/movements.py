"""Where the time loss goes on the reference 4-leg: per approach movement, how many stopped and how long.

usage: movements.py TRIPINFO.xml [...]

Reads SUMO tripinfo files written by `greenwave-sumo bench` / `run` on the reference scenarios
(vehicle ids `<from>2C_<movement>_...`: N/S/E/W approach, l/t/r movement) and prints per file the
mean score (time loss + depart delay per vehicle, the bench's score) and, per movement (left,
through, right): vehicles, the share that stopped (SUMO `waitingTime` > 0), the mean wait of those
that stopped, the mean score of those that did not, and the movement's mean score.

Two controllers that score alike can get there differently: fewer stops with longer waits, or
more stops with shorter ones; left turners served well at the throughs' expense, or the reverse.
"""
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

    def add(self, vid, time_loss, depart_delay, waiting):
        parts = vid.split("_")
        if len(parts) < 2 or parts[1] not in MOVEMENTS or not parts[0].endswith("2C"):
            raise ValueError(f"vehicle id `{vid}` is not a reference scenario id (<from>2C_<l|t|r>_...)")
        m = parts[1]
        s = time_loss + depart_delay
        self.n[m] += 1
        self.score[m] += s
        if waiting > 0.0:
            self.stopped[m] += 1
            self.wait[m] += waiting
        else:
            self.free_score[m] += s

    @property
    def total(self):
        return sum(self.n.values())

    def mean_score(self):
        return sum(self.score.values()) / self.total

    def rows(self):
        """(movement, vehicles, stopped share, mean wait of the stopped, mean score of the others,
        mean score) per movement present, left, through, right."""
        out = []
        for m in MOVEMENTS:
            n = self.n[m]
            if not n:
                continue
            st = self.stopped[m]
            free = n - st
            out.append(
                (
                    MOVEMENTS[m],
                    n,
                    st / n,
                    self.wait[m] / st if st else 0.0,
                    self.free_score[m] / free if free else 0.0,
                    self.score[m] / n,
                )
            )
        return out


def read(path):
    b = Breakdown()
    for t in ET.parse(path).getroot().iter("tripinfo"):
        b.add(t.get("id"), float(t.get("timeLoss")), float(t.get("departDelay")), float(t.get("waitingTime")))
    if b.total == 0:
        raise ValueError(f"{path}: no vehicle arrived")
    return b


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    for path in argv:
        try:
            b = read(path)
        except (ET.ParseError, OSError, ValueError, TypeError) as e:
            print(f"movements.py: {path}: {e}", file=sys.stderr)
            return 1
        print(f"{path}: score {b.mean_score():.2f} s, {b.total} vehicles")
        for name, n, share, wait, free, score in b.rows():
            print(
                f"  {name:<8} {n:5d} veh  stopped {100 * share:5.1f} %  wait {wait:5.1f} s"
                f"  not stopped {free:4.1f} s  score {score:5.1f} s"
            )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        # The reader went away (`| head`): nothing left to print to.
        sys.exit(0)
