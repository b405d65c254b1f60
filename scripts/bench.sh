#!/usr/bin/env bash
# The bench command: every benchmark next to a baseline measured in the same run, written to
# BENCHMARKS.md as one line each: value and baseline (the median of their runs, with the spread
# min–max for timings), ratio, units, runs, what limits it, and notes; then what holds the
# size of the minimal app (twiggy). Servers listen on 127.0.0.1 only. Not part of the test
# command. Honours CARGO_TARGET_DIR. Takes about 15 minutes on 2 cores once built.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TARGET_DIR="$TARGET"
STUB_BIN="${STUB_BIN:-$TARGET/release/server-stub}"
source scripts/stub.sh
ensure_browser_test_tools
ensure_wasm_opt
ensure_twiggy() { cargo_install_pinned twiggy 0.8.0 twiggy; }
ensure_twiggy
WORK="$(mktemp -d)"
LINES="$WORK/lines"
touch "$LINES"
trap 'stop_stub' EXIT
START=$SECONDS
# Other processes' CPU during a stage: the machine's busy time (/proc/stat) minus this script's
# and its waited-for children's (/proc/$$/stat), in % of one core; "200%" is both cores busy.
# Only for stages whose processes this script reaps (cargo, wasm-opt, npm, the fanout binary).
load() { cut -d' ' -f1 /proc/loadavg; }
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
ours() { awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat; }
mark() { MARK_BUSY=$(busy); MARK_OURS=$(ours); MARK_AT=$SECONDS; }
others() { # → % of a core used by other processes since `mark`
  awk -v b="$(busy)" -v o="$(ours)" -v b0="$MARK_BUSY" -v o0="$MARK_OURS" -v t="$((SECONDS - MARK_AT))" \
    'BEGIN { v = t > 0 ? ((b - b0) - (o - o0)) / t : 0; printf "%.0f%%", v < 0 ? 0 : v }'
}
LOADS="before B1, B3-B5: $(load)"

echo "==> B1, B3, B4, B5: browser benchmarks in headless Chromium"
cargo build --quiet --release -p tether-stub --bin server-stub
# A raised send queue (in frames and in bytes), so that B1's bursts are not cut off as a slow
# consumer, and a raised inbound rate limit for B3's baseline (2,048 subscribe frames). B5 posts
# 12,000 chat messages as one user (six runs of 2,000), past the stub's per-user bounds on
# stored records and runs in flight (10,000 and 16): those are raised too, or the posts past
# them are refused with LIMIT and B5 waits for messages that never come.
start_stub --port 0 --test-control --dev \
  --queue-capacity 400000 --queue-bytes 268435456 --rate-burst 5000 --rate-per-sec 5000 \
  --max-records-per-user 1000000 --max-stored-bytes-per-user 1073741824 --max-runs-per-user 100000
if ! (cd tests/bench && WASM_BINDGEN_TEST_TIMEOUT=900 TETHER_STUB_URL="$STUB_URL" \
  wasm-pack test --release --headless --chrome --test browser_bench -- --nocapture) \
  >"$WORK/browser.log" 2>&1; then
  tail -60 "$WORK/browser.log"
  grep 'B4 LEAK' "$WORK/browser.log" >&2 || true
  echo "the browser benchmarks failed (log: $WORK/browser.log)" >&2
  exit 1
fi
grep '^BENCH|' "$WORK/browser.log" >>"$LINES"
stop_stub

LOADS="$LOADS; before B2: $(load)"
mark
echo "==> B2: sizes (profile wasm-release, wasm-bindgen, wasm-opt -Oz; gzip -9)"
source tests/bench/sizes.sh
measure_sizes >>"$LINES"

OTHERS="during B2: $(others)"
LOADS="$LOADS; before B6: $(load)"
mark
echo "==> B6: stub fan-out with native clients"
cargo build --quiet --release -p tether-bench --bin fanout
FANOUT_STATUS=0
"$TARGET/release/fanout" 2>&1 | tee "$WORK/fanout.log" | grep -v '^BENCH|' || FANOUT_STATUS=${PIPESTATUS[0]}
if [ "$FANOUT_STATUS" -ne 0 ]; then
  echo "B6 failed (status $FANOUT_STATUS): an event was lost or repeated, or a client lost its socket for good:" >&2
  grep '^B6 INVARIANT BROKEN' "$WORK/fanout.log" >&2 || tail -20 "$WORK/fanout.log" >&2
  exit 1
fi
grep '^BENCH|' "$WORK/fanout.log" >>"$LINES"
OTHERS="$OTHERS; during B6: $(others)"

LOADS="$LOADS; before B7: $(load)"
echo "==> B7: fan-out through the broker: in memory, Redis with one node, Redis with two (processes)"
ensure_redis
cargo build --quiet --release -p tether-bench --bin fanout-nodes
"$TARGET/release/fanout-nodes" | tee "$WORK/nodes.log" | grep -v '^BENCH|' || true
grep '^BENCH|' "$WORK/nodes.log" >>"$LINES"

TABLE="$WORK/table"
printf '%-70s %16s %16s %8s  %s\n' benchmark value baseline ratio units
cell() { if [ -n "$2" ]; then echo "$1 ($2)"; else echo "$1"; fi; }
while IFS='|' read -r _ name value vspread baseline bspread unit runs limit note; do
  ratio=$(awk -v v="$value" -v b="$baseline" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2fx", v / b }')
  printf '%-70s %16s %16s %8s  %s\n' "$name" "$value" "$baseline" "$ratio" "$unit"
  echo "| $name | $(cell "$value" "$vspread") | $(cell "$baseline" "$bspread") | $ratio | $unit | $runs | $limit | $note |" >>"$TABLE"
done <"$LINES"
MINUTES="$(((SECONDS - START) / 60))m$(((SECONDS - START) % 60))s"

{
  echo "# Benchmarks"
  echo
  echo "Written by \`bash scripts/bench.sh\` on $(date -u +%Y-%m-%d) in $MINUTES. Every baseline was measured in"
  echo "the same run. A value is the median of its runs with their spread (min–max) in parentheses;"
  echo "the client's runs and the baseline's alternate. \"limited by\" says what bounds the figure."
  echo
  echo "- nproc: $(nproc)"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "- browser: $(chromium --version 2>/dev/null | head -1)"
  echo "- rustc: $(rustc --version)"
  echo "- load average (1 min) $LOADS; after: $(load)"
  echo "- CPU used by other processes, in % of one core of $(nproc): $OTHERS (not measured during"
  echo "  B1-B5: Chromium's processes are not all reaped by this script, so their CPU cannot be told"
  echo "  from other processes'). Other work on the machine shows in the timings; B6 and B7 also"
  echo "  report it for each step or run."
  echo
  echo "| benchmark | value | baseline | ratio | units | runs | limited by | notes |"
  echo "|---|---|---|---|---|---|---|---|"
  cat "$TABLE"
  cat "$SIZE_PROFILE"
} >BENCHMARKS.md
echo
echo "wrote BENCHMARKS.md ($MINUTES)"
