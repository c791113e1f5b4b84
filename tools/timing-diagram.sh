#!/usr/bin/env bash
# Regenerates the reference timing diagram linked from the README: one simulated hour of the
# reference intersection, 200 s of it drawn (about two cycles).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin greenwave --example plot
tmp=$(mktemp -d)
target/debug/greenwave sim --site board/sites/nema8-4leg.toml --duration 3600 --speed max --events "$tmp/events.csv" >/dev/null
target/debug/examples/plot --events "$tmp/events.csv" --out tools/docs/timing-nema8-4leg.svg --from 600 --to 800
target/debug/examples/plot --events "$tmp/events.csv" --out tools/docs/timing-nema8-4leg.png --from 600 --to 800
rm -rf "$tmp"
