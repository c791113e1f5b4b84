#!/usr/bin/env bash
# Install greenwave on a cabinet board: over ssh onto a running board, or into a root-filesystem
# folder (a mounted SD-card image or a build tree) to be flashed.
#
#   tools/install.sh --board rpi4 --site board/sites/nema8-4leg.toml --ssh pi@cabinet-17 [--start]
#   tools/install.sh --board rock5b --site my-site.toml --root /mnt/sdcard-root
#
# Options:
#   --board NAME|FILE   board profile (board/NAME.toml or a path)
#   --site FILE         intersection (site) file
#   --target TRIPLE     aarch64-unknown-linux-gnu (default) or armv7-unknown-linux-gnueabihf
#   --binary FILE       the cross-built binary (default target/TRIPLE/release/greenwave)
#   --ssh USER@HOST     install onto a running board (sudo on the board); enables the service
#   --root DIR          install into a root-filesystem folder; enables the service there
#   --start             with --ssh: (re)start the service now. Only on a cabinet that may switch
#                       from flash to signal operation now, with a technician present.
#
# Before copying, the binary itself (under qemu-user) validates the site file and checks that the
# board file wires every phase and crossing of it; nothing is installed if either is wrong.
# Installed files:
#   /usr/local/bin/greenwave                      (0755)
#   /etc/greenwave/{board,site}.toml, README.md   (0644, read-only to the service)
#   /etc/systemd/system/greenwave.service         (board/greenwave.service)
#   /etc/udev/rules.d/99-greenwave.rules          (device groups)
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "install.sh: $*" >&2; exit 1; }

board="" site="" target="aarch64-unknown-linux-gnu" binary="" ssh_dest="" root="" start=0
while [ $# -gt 0 ]; do
    case "$1" in
        --board) board="$2"; shift 2 ;;
        --site) site="$2"; shift 2 ;;
        --target) target="$2"; shift 2 ;;
        --binary) binary="$2"; shift 2 ;;
        --ssh) ssh_dest="$2"; shift 2 ;;
        --root) root="$2"; shift 2 ;;
        --start) start=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[ -n "$board" ] || die "missing --board (one of: $(ls board/*.toml | xargs -n1 basename | sed 's/\.toml$//' | paste -sd' '))"
[ -n "$site" ] || die "missing --site FILE"
[ -n "$ssh_dest" ] || [ -n "$root" ] || die "give --ssh USER@HOST or --root DIR"
[ -z "$ssh_dest" ] || [ -z "$root" ] || die "give only one of --ssh and --root"
[ -f "$board" ] || board="board/$board.toml"
[ -f "$board" ] || die "no board file $board"
[ -f "$site" ] || die "no site file $site"

case "$target" in
    aarch64-unknown-linux-gnu) qemu="qemu-aarch64 -L /usr/aarch64-linux-gnu"; arch="aarch64" ;;
    armv7-unknown-linux-gnueabihf) qemu="qemu-arm -L /usr/arm-linux-gnueabihf"; arch="armv7l" ;;
    *) die "unsupported --target $target" ;;
esac
binary="${binary:-target/$target/release/greenwave}"
[ -x "$binary" ] || die "no binary $binary (build it: cargo build --release --target $target --features rpi,gpio-cdev; see .ci/cross.sh)"

# Validate with the very binary that will run on the board.
if command -v "${qemu%% *}" >/dev/null; then
    $qemu "$binary" check --site "$site" --board "$board" >/dev/null ||
        die "the site or board file is not valid (run: $qemu $binary check --site $site --board $board)"
    echo "install.sh: $site and $board validated by $binary"
else
    echo "install.sh: warning: ${qemu%% *} not found; files not validated before install" >&2
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$binary" "$stage/usr/local/bin/greenwave"
install -D -m 0644 "$board" "$stage/etc/greenwave/board.toml"
install -D -m 0644 "$site" "$stage/etc/greenwave/site.toml"
install -D -m 0644 README.md "$stage/etc/greenwave/README.md"
install -D -m 0644 board/greenwave.service "$stage/etc/systemd/system/greenwave.service"
install -D -m 0644 board/99-greenwave.rules "$stage/etc/udev/rules.d/99-greenwave.rules"
mkdir -p "$stage/etc/systemd/system/multi-user.target.wants"
ln -s /etc/systemd/system/greenwave.service "$stage/etc/systemd/system/multi-user.target.wants/greenwave.service"

if [ -n "$root" ]; then
    [ -d "$root/etc" ] || die "$root does not look like a root filesystem (no etc/)"
    cp -a --no-preserve=ownership "$stage/." "$root/"
    # Groups the unit's SupplementaryGroups needs; groupadd --root edits the image's /etc/group.
    for g in gpio greenwave-hw; do
        grep -q "^$g:" "$root/etc/group" 2>/dev/null && continue
        if [ "$(id -u)" = 0 ] && command -v groupadd >/dev/null; then
            groupadd --root "$(realpath "$root")" --system "$g"
        else
            echo "install.sh: add system group '$g' in the image (as root: groupadd --root $root --system $g)" >&2
        fi
    done
    echo "install.sh: installed into $root (service enabled; starts at boot)"
    exit 0
fi

remote_arch=$(ssh "$ssh_dest" uname -m)
case "$remote_arch" in
    "$arch"|armv8l) ;;
    *) [ "$arch" = armv7l ] && [ "$remote_arch" = aarch64 ] ||
        die "$ssh_dest is $remote_arch but the binary is for $target" ;;
esac
tar -C "$stage" -cf - . | ssh "$ssh_dest" 'sudo tar --no-same-owner -C / -xf - &&
    for g in gpio greenwave-hw; do getent group $g >/dev/null || sudo groupadd --system $g; done &&
    sudo udevadm control --reload && sudo udevadm trigger &&
    sudo systemctl daemon-reload && sudo systemctl enable greenwave.service'
if [ "$start" = 1 ]; then
    ssh "$ssh_dest" 'sudo systemctl restart greenwave.service && sleep 2 && systemctl --no-pager status greenwave.service'
else
    echo "install.sh: installed on $ssh_dest (enabled; starts at next boot, or run with --start)"
fi
