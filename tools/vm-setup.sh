#!/usr/bin/env bash
# Host packages for tools/vm-test.sh: qemu-system-x86 (from bookworm-backports, whose build coexists
# with the preinstalled qemu-utils 10; bookworm's own 7.2 package would remove it), busybox-static
# and cpio for the initramfs, binutils (strip, and strings for kernel modules' dependencies),
# xz-utils for compressed kernel modules. Debian 12 hosts; needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in binutils busybox-static cpio xz-utils; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ! command -v qemu-system-x86_64 >/dev/null; then
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        # Same mirror as the system's bookworm entry, backports suite.
        src=$(grep -ls "^Suites:.*\bbookworm\b" /etc/apt/sources.list.d/*.sources | head -n1)
        [ -n "$src" ] || { echo "vm-setup.sh: no bookworm .sources file to derive backports from" >&2; exit 1; }
        uri=$(sed -n 's/^URIs: *//p' "$src" | head -n1)
        key=$(sed -n 's/^Signed-By: *//p' "$src" | head -n1)
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$uri" "$key" \
            >/etc/apt/sources.list.d/bookworm-backports.sources
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86
fi
if [ ${#need[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
