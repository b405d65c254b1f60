#!/usr/bin/env bash
# The run command: starts the server stub (simulator on) on 127.0.0.1:8787 and the Yew app with
# `trunk serve` on 127.0.0.1:8080, which proxies /api (REST and the WebSocket) to the stub, and
# prints the URL to open. Ctrl-C stops both. Installs missing tools first (scripts/tools.sh).
#
# `scripts/run.sh --stub-only`: only the stub, on the same fixed port 127.0.0.1:8787, for an app
# of your own (the starters in starters/ proxy to it): dev token `dev-token`, test control on
# (`POST /api/test/publish?topic=ticker:BTC&kind=price` publishes), topics `ticker:*` open.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
source scripts/stub.sh
APP_PORT="${APP_PORT:-8080}"
STUB_PORT=8787 # Trunk.toml's proxies point here

if [ "${1:-}" = "--stub-only" ]; then
  cargo build --quiet -p tether-stub --bin server-stub
  trap stop_stub EXIT
  trap 'exit 130' INT TERM
  start_stub --port "$STUB_PORT" --dev --test-control --open-topic ticker:
  echo "stub running at $STUB_URL (token: dev-token; Ctrl-C stops it)"
  wait "$STUB_PID"
  exit
fi

ensure_wasm_target
ensure_wasm_bindgen
ensure_trunk
cargo build --quiet -p tether-stub --bin server-stub
TRUNK_PID=""
cleanup() {
  [ -n "$TRUNK_PID" ] && kill "$TRUNK_PID" 2>/dev/null
  stop_stub
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_stub --port "$STUB_PORT" --simulate --dev
echo "stub running at $STUB_URL (token: dev-token); building the app…"
# Trunk.toml proxies /api/ws/v2 (WebSocket) and /api/ (REST) to 127.0.0.1:8787. While the stub
# is down, Trunk's WebSocket proxy logs an ERROR for every reconnect attempt of the app: its
# module (trunk::proxy) is silenced, unless RUST_LOG is set. REST proxy errors still show. (Trunk
# 0.21 has no proxy log setting in Trunk.toml; --log and RUST_LOG are its only filters.)
RUST_LOG="${RUST_LOG:-error,trunk=info,trunk::proxy=off}" \
  trunk serve --address 127.0.0.1 --port "$APP_PORT" &
TRUNK_PID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$APP_PORT/"; do
  kill -0 "$TRUNK_PID" 2>/dev/null || { echo "trunk serve exited" >&2; exit 1; }
  sleep 0.5
done
echo
echo "  Open http://127.0.0.1:$APP_PORT/   (the app; /api is proxied to the stub)"
echo "  Stub stats: $STUB_URL/api/stats"
echo
wait "$TRUNK_PID"
