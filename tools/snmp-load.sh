#!/usr/bin/env bash
# SNMP load on a running controller: starts `greenwave sim --speed 1 --snmp` on the 4-leg NEMA
# site, sends REQUESTS SNMPv2c GET/GETNEXT requests from several sources at once
# (examples/snmp_load.rs), and prints the answered latency percentiles and the loop's overruns
# from the run summary (both must hold: every request answered, 0 overruns).
#
# Usage: tools/snmp-load.sh [REQUESTS=10000] [SOURCES=10] [RATE_PER_SOURCE=190]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-10000}
sources=${2:-10}
rate=${3:-190}
cargo build --release --bin greenwave --example snmp_load
target=${CARGO_TARGET_DIR:-target}
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Long enough for the load at the paced rate, plus margin.
duration=$(( requests / (sources * rate) + 15 ))
out=$(mktemp)
"$target/release/greenwave" sim --site board/sites/nema8-4leg.toml --speed 1 --duration "$duration" \
    --snmp "127.0.0.1:$port" --snmp-community public >"$out" 2>"$out.err" &
sim=$!
sleep 2
status=0
"$target/release/examples/snmp_load" "127.0.0.1:$port" "$requests" "$sources" "$rate" public || status=$?
wait "$sim"
grep -E '^ticks' "$out"
grep -E 'snmp: [0-9]+ datagrams' "$out.err" | sed 's/.*snmp: /agent: /'
overruns=$(sed -n 's/^ticks.*(\([0-9]*\) overruns.*/\1/p' "$out")
rm -f "$out" "$out.err"
if [ "$status" -ne 0 ] || [ "${overruns:-1}" -ne 0 ]; then
    echo "snmp-load: FAILED (load exit $status, overruns ${overruns:-?})"
    exit 1
fi
echo "snmp-load: OK (${overruns} overruns)"
