#!/usr/bin/env bash
# The project's test command (README "Running tests"): every unit, integration and end-to-end test.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
cargo test --workspace
# API documentation (`cargo doc`): every intra-doc link resolves, no rustdoc warning.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
# Fleet telemetry: 20 simulated controllers for 10 s at 10x publish to a local mosquitto, no loss.
bash tools/mqtt-load.sh 20 10 10
# ATSPM (PyPI `atspm`) must ingest greenwave's event logs unmodified.
bash .ci/atspm.sh
# greenwave against a real SUMO.
bash .ci/sumo.sh
# Camera: V4L2 build, zone detector accuracy on rendered frames.
bash .ci/camera.sh
# Cross builds for the boards (aarch64, armv7) and the library tests under qemu-aarch64.
bash .ci/cross.sh
# Fuzz targets (>= 10^6 inputs in all) and a six-hour simulated soak with injected faults.
bash .ci/fuzz.sh
bash .ci/soak.sh
echo "tools/test.sh: all passed in $(( $(date +%s) - start )) s"
