#!/usr/bin/env bash
# SUMO co-simulation checks: installs SUMO 1.28 (tools/setup-sumo.sh), then runs greenwave-sumo's
# tests against the real SUMO (TraCI codec on captured bytes, greenwave driving SUMO, fail-safe on
# lost detection, emergency preemption, transit priority, learned-table training, SUMO failure
# handling) and one reference benchmark, checked against the adaptive planner's goal.
set -euo pipefail
cd "$(dirname "$0")/.."
SUMO_HOME=$(bash tools/setup-sumo.sh)
export SUMO_HOME GREENWAVE_REQUIRE_SUMO=1
cargo test -p greenwave-sumo
cargo run --release -q -p greenwave-sumo -- bench --scenario balanced --planners actuated,adaptive --json target/sumo-bench/ci-balanced.json
# The adaptive planner's goal on the reference demand (seeded, so deterministic): at most 0.75x
# SUMO actuated's delay on the same signal heads.
python3 - target/sumo-bench/ci-balanced.json <<'PY'
import json, sys
sc = json.load(open(sys.argv[1]))["scenarios"][0]
score = {c["name"]: c["score_s"] for c in sc["controllers"]}
ratio = score["greenwave adaptive"] / score["sumo actuated"]
print(f"balanced: greenwave adaptive {ratio:.2f}x SUMO actuated")
sys.exit(0 if ratio <= 0.75 else 1)
PY
