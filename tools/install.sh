#!/usr/bin/env bash
# Installs greenwave onto a board: the cross-built binary, the board and site files, the systemd
# unit and a udev rule for the watchdog group.
#   tools/install.sh --target aarch64-unknown-linux-gnu --board board/rpi4.toml --site board/sites/nema8-4leg.toml \
#       (--host pi@10.0.0.5 | --root /mnt/sdcard-rootfs)
# --host copies over ssh (the user needs sudo on the board); --root writes into a mounted image or
# folder (e.g. an SD card's root file system) for flashing. The service is enabled (it starts at the
# next boot); --start also starts it now, which takes a cabinet out of flash into signal operation —
# only with a technician at the cabinet. --mqtt-secret FILE installs the MQTT password file named by
# the board's [mqtt] password_file as /etc/greenwave/mqtt.secret, mode 0600, owned by the service
# user; without it nothing for telemetry is installed (and without [mqtt] nothing connects out).
# The SNMP agent is off unless the board file has an [snmp] table: nothing listens by default.
# --snmp-users FILE installs the SNMPv3 users file as /etc/greenwave/snmp-users.toml, mode 0600,
# owned by the service user (the board file's [snmp] users = … names that path).
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu board="" site="" host="" root="" start="" mqtt_secret="" snmp_users=""
while [ $# -gt 0 ]; do
    case "$1" in
        --target) target=$2; shift 2 ;;
        --board) board=$2; shift 2 ;;
        --site) site=$2; shift 2 ;;
        --host) host=$2; shift 2 ;;
        --root) root=$2; shift 2 ;;
        --start) start="--now"; shift ;;
        --snmp-users) snmp_users=$2; shift 2 ;;
        --mqtt-secret) mqtt_secret=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$board" ] && [ -n "$site" ] || { echo "need --board and --site" >&2; exit 2; }
[ -n "$host" ] || [ -n "$root" ] || { echo "need --host USER@BOARD or --root DIR" >&2; exit 2; }
bin=target/$target/release/greenwave
# Validate before anything leaves this machine: a bad file must never reach a cabinet. (This is the
# workstation's own build; the board binary is the cross build below, without default features.)
cargo run --release --quiet -- check --site "$site" --board "$board" >/dev/null
[ -x "$bin" ] || { echo "build first: cargo build --release --target $target --no-default-features --features rpi,gpio-cdev" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$bin" "$stage/opt/greenwave/bin/greenwave"
install -D -m 0644 README.md "$stage/opt/greenwave/README.md"
install -D -m 0644 "$board" "$stage/etc/greenwave/board.toml"
install -D -m 0644 "$site" "$stage/etc/greenwave/site.toml"
install -D -m 0644 board/greenwave.service "$stage/etc/systemd/system/greenwave.service"
[ -z "$mqtt_secret" ] || install -D -m 0600 "$mqtt_secret" "$stage/etc/greenwave/mqtt.secret"
[ -z "$snmp_users" ] || install -D -m 0600 "$snmp_users" "$stage/etc/greenwave/snmp-users.toml"
install -d "$stage/etc/udev/rules.d"
echo 'KERNEL=="watchdog*", GROUP="watchdog", MODE="0660"' > "$stage/etc/udev/rules.d/60-greenwave-watchdog.rules"
# Raspberry Pi OS ships a `gpio` group owning /dev/gpiochip*; Armbian and vendor RK3588 images do
# not: the same rule gives the group access there.
echo 'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"' > "$stage/etc/udev/rules.d/60-greenwave-gpio.rules"
if [ -n "$root" ]; then
    cp -a "$stage/." "$root/"
    echo "installed into $root; on first boot: groupadd -r watchdog; groupadd -r gpio (if missing); useradd -r -G gpio,dialout,watchdog greenwave;${mqtt_secret:+ chown greenwave: /etc/greenwave/mqtt.secret;}${snmp_users:+ chown greenwave: /etc/greenwave/snmp-users.toml;} systemctl enable greenwave"
else
    tar -C "$stage" -czf - . | ssh "$host" 'sudo tar -C / -xzf - && (getent group watchdog >/dev/null || sudo groupadd -r watchdog) && (getent group gpio >/dev/null || sudo groupadd -r gpio) && (id greenwave >/dev/null 2>&1 || sudo useradd -r -G gpio,dialout,watchdog greenwave) && (! sudo test -e /etc/greenwave/mqtt.secret || sudo chown greenwave: /etc/greenwave/mqtt.secret) && (! sudo test -e /etc/greenwave/snmp-users.toml || sudo chown greenwave: /etc/greenwave/snmp-users.toml) && sudo udevadm control --reload && sudo systemctl daemon-reload && sudo systemctl enable '"$start"' greenwave && sudo systemctl status --no-pager greenwave | head -5'
fi
