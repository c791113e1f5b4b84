#!/usr/bin/env bash
# Camera checks: the V4L2 backend builds (bindgen needs libclang), the camera/detector tests pass,
# and the zone detector is measured on 10 minutes of rendered traffic.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -q '^v4l2 = ' Cargo.toml; then
    dpkg -s libclang1-14 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends libclang1-14; }
    cargo build --features v4l2 --lib
fi
cargo test --test camera_no_alloc
cargo run --release -q -p greenwave-camera-eval -- --seconds 600
