#!/usr/bin/env bash
# CI: six simulated hours of `greenwave sim` with injected faults (tools/soak.sh), every segment's
# event log checked against the MMU card. CI uses a fixed seed (SOAK_SEED overrides it); a failure
# replays with `tools/soak.sh 6 SEED`. The release check runs `tools/soak.sh 168`.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
bash tools/soak.sh 6 "${SOAK_SEED:-2026}"
echo ".ci/soak.sh: finished in $(( $(date +%s) - t0 )) s (build included)"
