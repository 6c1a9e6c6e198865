#!/usr/bin/env bash
# The README's dashboard picture: the History page of experiment EXP's study, as headless
# Debian Chromium renders it from `python -m tune.dashboard` on 127.0.0.1.
#   bash docs/screenshot.sh EXP [OUT.png]     (default docs/dashboard-history.png; RESULTS_DIR=results)
set -euo pipefail
cd "$(dirname "$0")/.."
exp=${1:?usage: bash docs/screenshot.sh EXPERIMENT [OUT.png]}
out=${2:-docs/dashboard-history.png}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
.venv/bin/python -m tune.dashboard "$exp" --results-dir "${RESULTS_DIR:-results}" --port "$port" > "$log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$log" "$profile"' EXIT
profile=$(mktemp -d)
until grep -q "Ctrl-C stops" "$log"; do kill -0 $server 2>/dev/null || { cat "$log"; exit 1; }; sleep 0.5; done
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-dev-shm-usage --hide-scrollbars \
    --user-data-dir="$profile" --virtual-time-budget=20000 --window-size=1400,1000 \
    --screenshot="$out" "http://127.0.0.1:$port/dashboard/studies/1" 2>/dev/null
echo "wrote $out"
