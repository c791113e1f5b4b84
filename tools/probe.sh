#!/usr/bin/env bash
# Hostile-input probe (release check): mutated site, board, state and event-log files and a full
# disk against the real binary; prints panics, hangs, unsafe configurations accepted by `check`,
# check/run disagreements and uncounted losses (tools/probe.py). Needs root for the full-disk tmpfs.
#   bash tools/probe.sh [--seed N] [--sites N] [--boards N] [--states N] [--csvs N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin greenwave
exec python3 tools/probe.py "$@"
