#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for a fixed budget on stable Rust — cargo-fuzz with
# `-s none`, libFuzzer's coverage guidance without a sanitizer — and prints the inputs each one
# executed. A crash stops the script with libFuzzer's report; the input is in fuzz/artifacts/TARGET/
# (replay it with `cargo fuzz run -s none TARGET fuzz/artifacts/TARGET/crash-…`).
#
# Usage: tools/fuzz.sh [RUNS_PER_TARGET] [MAX_SECONDS_PER_TARGET] [TARGET...]
#   defaults: 250000 runs, at most 120 s each, every target. Needs `cargo install cargo-fuzz`.
# Seeds: the shipped site and board files, and the small inputs in fuzz/seeds/TARGET/. What
# libFuzzer learns goes to fuzz/corpus/TARGET/ (not committed). Last line:
#   fuzz: N inputs in S s over T targets
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-250000}
secs=${2:-120}
shift $(( $# < 2 ? $# : 2 ))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(console_line site_parse board_parse state_record event_log y4m_read snmp_packet)
fi
cargo fuzz build -s none
total=0
start=$(date +%s)
printf '%-14s %10s %8s %12s\n' target inputs seconds inputs/s
for t in "${targets[@]}"; do
    work=fuzz/corpus/$t
    mkdir -p "$work"
    seeds=()
    [ -d "fuzz/seeds/$t" ] && seeds+=("fuzz/seeds/$t")
    case $t in
        site_parse) seeds+=(board/sites) ;;
        board_parse) seeds+=(board) ;;
    esac
    log=$(mktemp)
    t0=$(date +%s.%N)
    if ! cargo fuzz run -s none "$t" "$work" "${seeds[@]}" -- \
        -runs="$runs" -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $t FAILED (crash input in fuzz/artifacts/$t/)"
        exit 1
    fi
    t1=$(date +%s.%N)
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    n=${n:-0}
    # libFuzzer's own rate (execution time only) rounds its clock to whole seconds: below a few
    # seconds the rate over the wall time (cargo's start-up included) is the better figure.
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    rate=$(awk -v r="${rate:-0}" -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { w = n / (b - a); printf "%.0f", (b - a < 5 || r < w) ? w : r }')
    printf '%-14s %10d %8.1f %12s\n' "$t" "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$rate"
    rm -f "$log"
    total=$((total + n))
done
echo "fuzz: $total inputs in $(( $(date +%s) - start )) s over ${#targets[@]} targets"
