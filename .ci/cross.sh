#!/usr/bin/env bash
# Cross builds for the boards and the test suite under qemu-user (aarch64), with every hardware
# feature the manifest has and without the default (host) features: no `plot` (plotters) on a
# board. Installs the Debian cross toolchains, qemu-user and the rustup targets.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user libclang1-14; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
rustup target add aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf >/dev/null
# Every hardware feature present in Cargo.toml.
features=$(for f in rpi gpio-cdev v4l2 rknpu; do if grep -q "^$f = " Cargo.toml; then printf '%s,' "$f"; fi; done)
features=${features%,}
echo "hardware features: $features"
for t in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
    cargo build --release --target "$t" --no-default-features --features "$features" --bin greenwave
done
# The library's unit tests (engine, monitor, planner, config, hal twins) on emulated aarch64.
cargo test --release --target aarch64-unknown-linux-gnu --no-default-features --features "$features" --lib
