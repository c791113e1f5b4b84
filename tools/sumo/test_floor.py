"""Tests of floor.py on hand-made tripinfo files (run by .ci/sumo.sh)."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import floor  # noqa: E402


def tripinfo(rows):
    f = tempfile.NamedTemporaryFile("w", suffix=".tripinfo.xml", delete=False)
    f.write("<tripinfos>\n")
    for vid, loss, wait in rows:
        f.write(f'  <tripinfo id="{vid}" timeLoss="{loss}" departDelay="0.00" waitingTime="{wait}"/>\n')
    f.write("</tripinfos>\n")
    f.close()
    return f.name


class Floor(unittest.TestCase):
    def test_symmetric_two_streets_rest_on_the_minimum_greens(self):
        # One free (2 s) and one stopped (12 s, 4 s waiting) through vehicle per street: free loss 2 s,
        # stop penalty 8 s. With 10 s minimum greens, 3 s yellow and 2 s all-red, each red is
        # 10 + 3 + 2 x 2 = 17 s in a 30 s cycle: 2 + 17/30 x (8 + 17/2) = 11.35 s.
        path = tripinfo([("N2C_t_0.0", 2, 0), ("S2C_t_0.1", 12, 4), ("E2C_t_0.0", 2, 0), ("W2C_t_0.1", 12, 4)])
        b = floor.read(path)
        self.assertAlmostEqual(b.mean_score(), 7.0)
        self.assertAlmostEqual(b.stop_penalty(), 8.0)
        loss, g_ns, g_ew, c = floor.floor(b, 10.0, 3.0, 2.0, 1800.0, 1.0)
        self.assertAlmostEqual(loss, 2 + 17 / 30 * (8 + 17 / 2), places=6)
        self.assertEqual((g_ns, g_ew, c), (10.0, 10.0, 30.0))

    def test_a_saturated_street_gets_the_green_its_flow_needs(self):
        # 3,000 NS vehicles in an hour on two through lanes per approach: 750 veh/h/lane, y = 0.417,
        # so the NS green with its yellow must be at least 0.417 of the cycle.
        rows = [(f"N2C_t_0.{k}", 2, 0) for k in range(3000)] + [("E2C_t_0.0", 2, 0)]
        b = floor.read(tripinfo(rows))
        _, g_ns, g_ew, c = floor.floor(b, 10.0, 3.0, 2.0, 1800.0, 1.0)
        self.assertGreaterEqual((g_ns + 3.0) / c, 3000 / 4 / 1800 - 1e-9)
        self.assertEqual(g_ew, 10.0)

    def test_a_vehicle_id_from_another_network_is_refused(self):
        with self.assertRaises(ValueError):
            floor.read(tripinfo([("veh0", 2, 0)]))

    def test_a_file_with_no_arrival_is_refused(self):
        with self.assertRaises(ValueError):
            floor.read(tripinfo([]))


if __name__ == "__main__":
    unittest.main()
