#!/usr/bin/env bash
# Loop wake-up latency under load (release check, not CI): `greenwave run` on the in-memory board
# and cyclictest side by side for DURATION seconds while stress-ng loads every CPU, memory and I/O.
# Both run SCHED_FIFO priority 50 with a 100 ms period (the loop's 10 Hz tick), so cyclictest's
# figures are the machine's own floor for the loop's. Prints p50 / p99 / max of both, in µs.
#
# Usage: tools/latency.sh [DURATION_S]     (default 60; needs root for SCHED_FIFO and mlockall)
# Needs: stress-ng and cyclictest (Debian: apt-get install stress-ng rt-tests).
# The loop's figures come from the run summary's line
#   wake-up latency   p50 12 us, p99 85 us, max 410 us (600 wake-ups)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-60}
for tool in stress-ng cyclictest; do
    command -v "$tool" >/dev/null || {
        echo "latency: $tool missing (apt-get install stress-ng rt-tests)"
        exit 1
    }
done
if [ -z "${GREENWAVE:-}" ]; then
    cargo build --release --bin greenwave -q
    GREENWAVE=target/release/greenwave
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cpus=$(nproc)

stress-ng --cpu "$cpus" --vm 1 --vm-bytes 128M --io 1 --hdd 1 --hdd-bytes 64M \
    --timeout "$((dur + 10))s" --quiet &
stress=$!
sleep 2
cyclictest -m -p 50 -i 100000 -D "$dur" -h 100000 -q >"$work/cyclictest.txt" 2>"$work/cyclictest.err" &
cyc=$!
"$GREENWAVE" run --board board/host-fake.toml --site board/sites/nema8-4leg.toml --duration "$dur" \
    >"$work/run.txt" 2>"$work/run.err" || {
    tail -n 20 "$work/run.err"
    echo "latency: greenwave run failed"
}
wait "$cyc" || true
kill "$stress" 2>/dev/null || true
wait "$stress" 2>/dev/null || true

# The loop: p50, p99, max from the summary line.
line=$(grep '^wake-up latency' "$work/run.txt" || true)
if [ -z "$line" ]; then
    echo "latency: no \`wake-up latency\` line in the run summary:"
    cat "$work/run.txt"
    exit 1
fi
read -r gp50 gp99 gmax gn < <(echo "$line" | sed -n 's/.*p50 \([0-9]*\) us, p99 \([0-9]*\) us, max \([0-9]*\) us (\([0-9]*\) wake-ups).*/\1 \2 \3 \4/p')

# cyclictest: histogram lines "USEC COUNT..." (one count column per thread), then "# Max Latencies".
read -r cp50 cp99 cmax cn < <(awk '
    /^[0-9]+[ \t]/ { us = $1 + 0; n = 0; for (i = 2; i <= NF; i++) n += $i; if (n > 0) { h[us] += n; total += n; if (us > top) top = us } }
    /^# Max Latencies:/ { max = $4 + 0 }
    /^# Histogram Overflows:/ { over = $4 + 0 }
    END {
        all = total + over
        p50 = -1; p99 = -1; c = 0
        for (us = 0; us <= top; us++) {
            c += h[us]
            if (p50 < 0 && c >= 0.5 * all) p50 = us
            if (p99 < 0 && c >= 0.99 * all) p99 = us
        }
        if (p50 < 0) p50 = "overflow"
        if (p99 < 0) p99 = "overflow"
        print p50, p99, max, all
    }' "$work/cyclictest.txt")

echo "wake-up latency under stress-ng ($cpus CPU workers, vm, io, hdd), ${dur} s, SCHED_FIFO 50, 100 ms period"
printf '%-22s %8s %8s %8s %10s\n' "" "p50 us" "p99 us" "max us" "wake-ups"
printf '%-22s %8s %8s %8s %10s\n' "greenwave run (loop)" "${gp50:-?}" "${gp99:-?}" "${gmax:-?}" "${gn:-?}"
printf '%-22s %8s %8s %8s %10s\n' "cyclictest" "${cp50:-?}" "${cp99:-?}" "${cmax:-?}" "${cn:-?}"
