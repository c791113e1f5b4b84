#!/usr/bin/env bash
# The project's test command (README "Running tests").
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
