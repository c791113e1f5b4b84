#!/usr/bin/env bash
# ATSPM ingestion test: the `atspm` package from PyPI must read greenwave's hi-res event logs
# unmodified and produce performance measures (tools/atspm_check.py checks them against the rows).
#   1. a one-hour `greenwave sim` run (single CSV file);
#   2. the same controller through the rotating event log under a byte budget (a glob of files).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${ATSPM_VENV:-target/atspm-venv}
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt-get install -y --no-install-recommends python3-venv
fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import atspm' 2>/dev/null; then
    python3 -m venv "$VENV"
    # atspm 2.6 calls DuckDB relation methods that DuckDB 2.0 removed (`fetchone` on a relation).
    "$VENV/bin/pip" install --quiet 'atspm==2.6.*' 'duckdb>=1.1,<2'
fi
cargo build --quiet --bin greenwave --example eventlog
OUT=target/atspm-logs
rm -rf "$OUT" && mkdir -p "$OUT/rotated"
SITE=board/sites/nema8-4leg.toml
target/debug/greenwave sim --site "$SITE" --duration 3600 --speed max --events "$OUT/sim.csv" >/dev/null
echo "sim log: $(wc -l < "$OUT/sim.csv") lines, $(stat -c %s "$OUT/sim.csv") bytes"
"$VENV/bin/python" tools/atspm_check.py "$SITE" "$OUT/sim.csv"
# Two hours through 64 kB files under a 256 kB budget: rotation and deletion happen.
target/debug/examples/eventlog "$SITE" "$OUT/rotated" 7200 65536 262144
ls -l "$OUT/rotated"
"$VENV/bin/python" tools/atspm_check.py "$SITE" "$OUT/rotated/*.csv"
