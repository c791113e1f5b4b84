#!/usr/bin/env bash
# Instructions per control tick, deterministic (valgrind callgrind counts instructions, not time).
# Runs `greenwave sim` for two durations and divides the difference by the extra ticks, so start-up
# (config parsing, allocation) cancels out.
#   tools/bench-callgrind.sh [site.toml]
set -euo pipefail
cd "$(dirname "$0")/.."
site=${1:-board/sites/nema8-4leg.toml}
command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install -y valgrind" >&2; exit 1; }
cargo build --release --quiet --bin greenwave
count() {
  local out; out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" target/release/greenwave sim --site "$site" --duration "$1" --seed 1 >/dev/null 2>&1
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}'
  rm -f "$out"
}
short=$(count 60)
long=$(count 660)
ticks=6000
echo "instructions: 60 s sim = $short, 660 s sim = $long"
echo "instructions per tick (engine + monitor + planner + sim traffic + loop): $(( (long - short) / ticks ))"
