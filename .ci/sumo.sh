#!/usr/bin/env bash
# SUMO co-simulation checks: installs SUMO 1.28 (tools/setup-sumo.sh), then runs greenwave-sumo's
# tests against the real SUMO (TraCI codec on captured bytes, greenwave driving SUMO, fail-safe on
# lost detection, emergency preemption, SUMO failure handling) and one reference benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
SUMO_HOME=$(bash tools/setup-sumo.sh)
export SUMO_HOME GREENWAVE_REQUIRE_SUMO=1
cargo test -p greenwave-sumo
cargo run --release -q -p greenwave-sumo -- bench --scenario balanced --planners actuated,adaptive --json target/sumo-bench/ci-balanced.json
