#!/usr/bin/env bash
# The run command: builds and starts the server stub with the simulator on, on 127.0.0.1, and
# prints the URL to open. Ctrl-C stops it (the stub closes its sockets with 1001).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${PORT:-8787}"

cargo build --quiet -p tether-stub --bin server-stub
echo
echo "  Stub:  http://127.0.0.1:$PORT/   (token: dev-token)"
echo "  Stats: http://127.0.0.1:$PORT/api/stats"
echo "  WS:    ws://127.0.0.1:$PORT/api/ws/v2?token=dev-token"
echo
exec "$ROOT/target/debug/server-stub" --host 127.0.0.1 --port "$PORT" --simulate --dev
