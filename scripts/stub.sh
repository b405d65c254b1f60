#!/usr/bin/env bash
# Starts the server stub in the background on 127.0.0.1 and reads its address.
# Source it; `start_stub ARGS…` sets STUB_PID and STUB_URL; `stop_stub` ends it.

STUB_BIN="${STUB_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/server-stub}"

start_stub() {
  STUB_LOG="$(mktemp -t stub.XXXXXX.log)"
  "$STUB_BIN" --host 127.0.0.1 "$@" >"$STUB_LOG" 2>&1 &
  STUB_PID=$!
  for _ in $(seq 1 200); do
    if grep -q '^listening on ' "$STUB_LOG"; then
      STUB_URL="$(grep -m1 '^listening on ' "$STUB_LOG" | awk '{print $3}')"
      export STUB_URL STUB_PID STUB_LOG
      return 0
    fi
    if ! kill -0 "$STUB_PID" 2>/dev/null; then
      echo "server stub exited early:" >&2
      cat "$STUB_LOG" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "server stub did not print its address within 10 s" >&2
  return 1
}

stop_stub() {
  if [ -n "${STUB_PID:-}" ] && kill -0 "$STUB_PID" 2>/dev/null; then
    kill "$STUB_PID" 2>/dev/null || true
    wait "$STUB_PID" 2>/dev/null || true
  fi
}
