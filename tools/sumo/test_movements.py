"""Tests of movements.py on hand-made tripinfo files (run by .ci/sumo.sh)."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import movements  # noqa: E402


def tripinfo(rows):
    f = tempfile.NamedTemporaryFile("w", suffix=".tripinfo.xml", delete=False)
    f.write("<tripinfos>\n")
    for vid, loss, delay, wait in rows:
        f.write(f'  <tripinfo id="{vid}" timeLoss="{loss}" departDelay="{delay}" waitingTime="{wait}"/>\n')
    f.write("</tripinfos>\n")
    f.close()
    return f.name


class Movements(unittest.TestCase):
    def test_stops_waits_and_scores_per_movement(self):
        b = movements.read(
            tripinfo(
                [
                    ("N2C_t_0.0", 2.0, 0.0, 0.0),
                    ("S2C_t_0.1", 12.0, 0.5, 4.0),
                    ("E2C_t_0.0", 3.0, 0.0, 0.0),
                    ("W2C_l_0.1", 30.0, 0.0, 20.0),
                ]
            )
        )
        self.assertEqual(b.total, 4)
        self.assertAlmostEqual(b.mean_score(), (2.0 + 12.5 + 3.0 + 30.0) / 4)
        rows = {r[0]: r for r in b.rows()}
        self.assertEqual(list(rows), ["left", "through"])
        _, n, share, wait, free, score = rows["through"]
        self.assertEqual(n, 3)
        self.assertAlmostEqual(share, 1 / 3)
        self.assertAlmostEqual(wait, 4.0)
        self.assertAlmostEqual(free, 2.5)
        self.assertAlmostEqual(score, (2.0 + 12.5 + 3.0) / 3)
        self.assertEqual(rows["left"][1:4], (1, 1.0, 20.0))

    def test_a_vehicle_id_from_another_network_is_refused(self):
        with self.assertRaises(ValueError):
            movements.read(tripinfo([("veh0", 2, 0, 0)]))

    def test_a_file_with_no_arrival_is_refused(self):
        with self.assertRaises(ValueError):
            movements.read(tripinfo([]))


if __name__ == "__main__":
    unittest.main()
