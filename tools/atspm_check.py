"""Ingests greenwave hi-res event logs with the `atspm` package (PyPI) unmodified and checks that
its aggregations yield performance measures consistent with the raw rows.

usage: atspm_check.py SITE.toml 'LOGDIR/*.csv' [more globs or files...]

Run by .ci/atspm.sh. Exits non-zero with a message on any mismatch.
"""
import sys
import tomllib

import duckdb
from atspm import SignalDataProcessor


def main():
    site_path, sources = sys.argv[1], sys.argv[2:]
    with open(site_path, "rb") as f:
        site = tomllib.load(f)
    device = site["site"]["device_id"]
    # Detector configuration as ATSPM wants it: each stop-bar detector is a presence detector (split
    # failures) and counts actuations on yellow and red.
    rows = []
    for d in site.get("detector", []):
        for function in ("Presence", "Yellow_Red"):
            rows.append((device, d["phase"], d["number"], function))
    con = duckdb.connect()
    config = con.query(
        "SELECT * FROM (VALUES " + ",".join(f"({a},{b},{c},'{d}')" for a, b, c, d in rows) + ") t(DeviceId, Phase, Parameter, Function)"
    ).df()

    # Raw truth straight from the files, to compare the measures with.
    src = "[" + ",".join("'" + s.replace("'", "''") + "'" for s in sources) + "]"
    raw = con.query(f"SELECT * FROM read_csv({src}, header=true)").df()
    n_rows = len(raw)
    n_on = int((raw.EventId == 82).sum())
    n_term = int(raw.EventId.isin([4, 5, 6]).sum())
    n_yellow = int((raw.EventId == 8).sum())
    print(f"raw: {n_rows} rows, {n_on} detector-on, {n_term} terminations, {n_yellow} yellows")

    failures = []
    # atspm reads each path with DuckDB, so a glob over the rotated files is one source.
    raw_data = sources[0] if len(sources) == 1 else raw
    with SignalDataProcessor(
        raw_data=raw_data,
        detector_config=config,
        bin_size=15,
        verbose=0,
        aggregations=[
            {"name": "has_data", "params": {"no_data_min": 5, "min_data_points": 3}},
            {"name": "actuations", "params": {}},
            {"name": "terminations", "params": {}},
            {"name": "yellow_red", "params": {"latency_offset_seconds": 0}},
            {"name": "split_failures", "params": {"red_time": 5, "red_occupancy_threshold": 0.80,
                                                  "green_occupancy_threshold": 0.80, "by_approach": False}},
            {"name": "ped", "params": {}},
        ],
    ) as p:
        p.load()
        p.aggregate()
        tables = {r[0] for r in p.conn.query("SHOW TABLES").fetchall()}
        print("atspm tables:", sorted(tables))
        loaded = p.conn.query("SELECT COUNT(*) FROM raw_data").fetchone()[0]
        act = p.conn.query("SELECT * FROM actuations").df()
        term = p.conn.query("SELECT * FROM terminations").df()
        yr = p.conn.query("SELECT * FROM yellow_red").df()
        hd = p.conn.query("SELECT * FROM has_data").df()
        sf = p.conn.query("SELECT * FROM split_failures").df() if "split_failures" in tables else None
        ped = p.conn.query("SELECT * FROM ped").df() if "ped" in tables else None

    print(f"atspm: loaded {loaded} rows; has_data {len(hd)} bins; actuations {int(act.Total.sum())} in {len(act)} rows; "
          f"terminations {int(term.Total.sum())} in {len(term)} rows; yellow_red {len(yr)} rows; "
          f"split_failures {0 if sf is None else len(sf)} rows; ped {0 if ped is None else len(ped)} rows")
    if loaded != n_rows:
        failures.append(f"atspm loaded {loaded} rows, the files hold {n_rows} (duplicates or unparsed rows)")
    if int(act.Total.sum()) != n_on:
        failures.append(f"actuations total {int(act.Total.sum())} != {n_on} detector-on events")
    if int(term.Total.sum()) != n_term:
        failures.append(f"terminations total {int(term.Total.sum())} != {n_term} gap/max/force-off events")
    if len(yr) == 0:
        failures.append("yellow_red produced no measures")
    if len(hd) == 0:
        failures.append("has_data marked no 15-minute bin as having data")
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("OK: atspm ingested the greenwave log unmodified and produced measures")


if __name__ == "__main__":
    main()
