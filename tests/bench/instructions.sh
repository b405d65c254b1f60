#!/usr/bin/env bash
# Instructions per event on B1's dispatch path (tests/bench/examples/dispatch_instructions.rs),
# without the browser: the client built for wasm32 with the profile B1 uses (release), run by
# Node with its optimising compiler only (--no-liftoff) on one thread, under valgrind's
# callgrind. Prints the instructions of `prepare(N)` + `dispatch()` minus `prepare(N)` alone,
# per event. Repeats closely where Chromium's timings swing, so this judges a change to the
# dispatch path before the bench command times it. An engineering tool, not in the test or
# bench command. Needs valgrind and node. KEEP=dir keeps callgrind's files there.
#
#   bash tests/bench/instructions.sh [events, default 150000]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
ensure_wasm_target
ensure_wasm_bindgen
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
EVENTS="${1:-150000}"
[[ $EVENTS =~ ^[1-9][0-9]*$ ]] || { echo "events must be a positive number, not $EVENTS" >&2; exit 1; }
for tool in valgrind node; do
  command -v "$tool" >/dev/null || { echo "instructions.sh needs $tool" >&2; exit 1; }
done
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cargo build --quiet --release --target wasm32-unknown-unknown -p tether-bench --example dispatch_instructions
wasm-bindgen --target nodejs --out-dir "$WORK" --out-name harness \
  "$TARGET/wasm32-unknown-unknown/release/examples/dispatch_instructions.wasm"
cat >"$WORK/run.js" <<'JS'
const h = require('./harness.js');
const [mode, n] = [process.argv[2], Number(process.argv[3])];
h.prepare(n);
if (mode === 'dispatch') h.dispatch();
JS
count() { # mode → instructions of the whole process
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$1" \
    node --no-liftoff --single-threaded "$WORK/run.js" "$1" "$EVENTS" 2>"$WORK/log.$1" >/dev/null ||
    { cat "$WORK/log.$1" >&2; exit 1; }
  local n
  n=$(awk '/^summary:|^totals:/ { print $2; exit }' "$WORK/cg.$1")
  [[ $n =~ ^[0-9]+$ ]] || { echo "no instruction count in callgrind's output" >&2; exit 1; }
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$WORK/cg.$1" "$KEEP/"; fi
  echo "$n"
}
prepare=$(count prepare)
dispatch=$(count dispatch)
awk -v d="$dispatch" -v p="$prepare" -v n="$EVENTS" \
  'BEGIN { printf "%d events: %.0f instructions per event (prepare and dispatch %.0f, prepare alone %.0f)\n", n, (d - p) / n, d, p }'
