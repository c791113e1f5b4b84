#!/usr/bin/env bash
# Fleet telemetry under load: CONTROLLERS simulated controllers (one process, one control loop
# thread and one MQTT publisher each; examples/mqtt_load.rs) publish to one local mosquitto over
# TLS with a password file for SECONDS of wall time at SPEED× real time, while mosquitto_sub
# counts what arrives. Prints messages/s, loss (0 expected: QoS 1 with the broker up), overruns,
# and the CPU cost of publishing per controller as a share of the control tick; then the same
# controllers without telemetry, for the loop's own CPU per tick.
#
# Usage: tools/mqtt-load.sh [CONTROLLERS] [SECONDS] [SPEED]     (defaults 200 60 10)
# Needs: mosquitto, mosquitto-clients, openssl (Debian packages).
# Exit status 1 when anything was lost or a controller was not heard.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
secs=${2:-60}
speed=${3:-10}
for tool in mosquitto_sub mosquitto_passwd openssl; do
    command -v "$tool" >/dev/null || { echo "mqtt-load: $tool is missing (apt-get install mosquitto mosquitto-clients openssl)" >&2; exit 2; }
done
broker=$(command -v mosquitto || echo /usr/sbin/mosquitto)
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -days 2 -subj "/CN=mqtt-load CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req $ec -subj "/CN=127.0.0.1" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
echo "subjectAltName=IP:127.0.0.1" > "$dir/san.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/san.ext" -out "$dir/server.pem" 2>/dev/null
mosquitto_passwd -c -b "$dir/passwd" cabinet cab-pw
mosquitto_passwd -b "$dir/passwd" counter count-pw
printf 'cab-pw\n' > "$dir/cabinet.secret"
chmod 600 "$dir/cabinet.secret"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
cafile $dir/ca.pem
certfile $dir/server.pem
keyfile $dir/server.key
allow_anonymous false
password_file $dir/passwd
# The counting subscriber must not lose what it is slow to take.
max_queued_messages 0
max_inflight_messages 0
log_dest none
user $(id -un)
CONF
"$broker" -c "$dir/mosquitto.conf" 2>/dev/null &
pid=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
cargo build --release --example mqtt_load >/dev/null
bin=${CARGO_TARGET_DIR:-target}/release/examples/mqtt_load
echo "mqtt-load: $n controllers, $secs s at ${speed}x, broker mqtts://127.0.0.1:$port (TLS, password)"
out=$("$bin" --controllers "$n" --seconds "$secs" --speed "$speed" --url "mqtts://127.0.0.1:$port" \
    --ca "$dir/ca.pem" --user cabinet --password-file "$dir/cabinet.secret" \
    --sub-user counter --sub-password count-pw 2>"$dir/stderr") || { cat "$dir/stderr" >&2; exit 1; }
echo "$out"
echo "baseline without telemetry:"
"$bin" --controllers "$n" --seconds "$secs" --speed "$speed" --url "mqtts://127.0.0.1:$port" --no-mqtt 2>/dev/null
loss=$(echo "$out" | sed -n 's/^loss *\([0-9]*\).*/\1/p')
heard=$(echo "$out" | sed -n 's/.*devices heard \([0-9]*\).*/\1/p')
if [ "$loss" != 0 ] || [ "$heard" != "$n" ]; then
    echo "mqtt-load: FAILED (loss $loss, $heard of $n controllers heard)" >&2
    exit 1
fi
echo "mqtt-load: passed (loss 0, all $n controllers heard)"
