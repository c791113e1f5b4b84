#!/usr/bin/env bash
# CI: installs cargo-fuzz if missing and runs every fuzz target (tools/fuzz.sh) for at least 10^6
# inputs in total; any crash fails the build. Every target x 250 000 runs, each capped at 120 s.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo fuzz --version >/dev/null 2>&1; then
    t0=$(date +%s)
    cargo install cargo-fuzz --locked
    echo "cargo-fuzz installed in $(( $(date +%s) - t0 )) s"
fi
out=$(mktemp)
bash tools/fuzz.sh 250000 120 | tee "$out"
total=$(sed -n 's/^fuzz: \([0-9]*\) inputs.*/\1/p' "$out")
rm -f "$out"
if [ "${total:-0}" -lt 1000000 ]; then
    echo "fuzz: only ${total:-0} inputs ran (need 1000000): a target is too slow for its time cap"
    exit 1
fi
