#!/usr/bin/env bash
# Installs Eclipse SUMO 1.28.0 (headless binaries from PyPI) into a venv and prints SUMO_HOME.
#   tools/setup-sumo.sh            # venv at target/sumo-venv (or $GREENWAVE_SUMO_VENV)
# The real binaries are $SUMO_HOME/bin/{sumo,netconvert}; greenwave-sumo finds them through the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${GREENWAVE_SUMO_VENV:-$PWD/target/sumo-venv}
# Shared libraries the SUMO binaries link against (Debian package names).
missing=()
for pkg in libgl1 libx11-6 libxext6 libxrender1 python3-venv; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if ! "$VENV/bin/python" -c 'import sumo' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet eclipse-sumo==1.28.0 >&2
fi
"$VENV/bin/python" -c 'import sumo; print(sumo.SUMO_HOME)'
