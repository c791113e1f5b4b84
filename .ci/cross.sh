#!/usr/bin/env bash
# Cross builds for the cabinet boards, and the library tests on emulated aarch64.
#
#   1. Debian cross toolchains + qemu-user (+ libclang when the v4l2 feature exists), rustup targets
#   2. release builds for aarch64-unknown-linux-gnu and armv7-unknown-linux-gnueabihf with every
#      hardware feature Cargo.toml declares (rpi, gpio-cdev, v4l2, rknpu)
#   3. `cargo test --release --lib` for aarch64, run under qemu-aarch64 (the runner in
#      .cargo/config.toml): the optimised code that ships, and it reuses step 2's dependencies
#      (a dev-profile test build would compile them all again: ~7 min instead of ~1 here)
#
# Prints the duration of each step. Run from anywhere: bash .ci/cross.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export DEBIAN_FRONTEND=noninteractive

t0=$(date +%s)
step() { echo "cross.sh: $1 in $(( $(date +%s) - $2 )) s"; }

# Hardware features present in Cargo.toml's [features] table, comma-separated.
features=$(sed -n '/^\[features\]/,/^\[/p' Cargo.toml | grep -oE '^(rpi|gpio-cdev|v4l2|rknpu)\b' | paste -sd, - || true)
echo "cross.sh: hardware features: ${features:-none}"

pkgs=(gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross qemu-user)
case ",$features," in *,v4l2,*) pkgs+=(libclang-dev) ;; esac
need=()
for pkg in "${pkgs[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
rustup target add aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf >/dev/null
step "toolchains ready" "$t0"

feat=()
[ -n "$features" ] && feat=(--features "$features")
for target in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
    t=$(date +%s)
    cargo build --release --locked --target "$target" "${feat[@]}"
    file "target/$target/release/greenwave" 2>/dev/null || ls -l "target/$target/release/greenwave"
    step "release build $target" "$t"
done

t=$(date +%s)
cargo test --release --locked --target aarch64-unknown-linux-gnu "${feat[@]}" --lib
step "lib tests under qemu-aarch64" "$t"

step "all done" "$t0"
