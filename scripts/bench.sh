#!/usr/bin/env bash
# The bench command: every benchmark next to a baseline measured in the same run, one line each
# (value, baseline, ratio, units), and the same table with the machine's facts in BENCHMARKS.md.
# Servers listen on 127.0.0.1 only. Takes about 5 minutes on 2 cores. Not part of the test command.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
source scripts/stub.sh
ensure_browser_test_tools
ensure_wasm_opt
LINES="$(mktemp)"
trap 'stop_stub' EXIT

echo "==> B1, B3, B4, B5: browser benchmarks in headless Chromium"
cargo build --quiet --release -p tether-stub --bin server-stub
STUB_BIN="$ROOT/target/release/server-stub" start_stub --port 0 --test-control --dev \
  --queue-capacity 400000 --rate-burst 5000 --rate-per-sec 5000
(cd tests/bench && WASM_BINDGEN_TEST_TIMEOUT=600 TETHER_STUB_URL="$STUB_URL" \
  wasm-pack test --release --headless --chrome --test browser_bench -- --nocapture) 2>&1 |
  grep '^BENCH|' | tee -a "$LINES" >/dev/null
stop_stub

echo "==> B2: wasm size (profile wasm-release, wasm-bindgen, wasm-opt -Oz)"
FEATURES="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue"
size_of() { # name wasm-file → raw and gzip bytes after wasm-bindgen and wasm-opt -Oz
  local out; out="$(mktemp -d)"
  wasm-bindgen --target web --out-dir "$out" --out-name app "$2"
  # shellcheck disable=SC2086
  "$WASM_OPT" -Oz $FEATURES "$out/app_bg.wasm" -o "$out/opt.wasm"
  local raw gz js
  raw=$(wc -c <"$out/opt.wasm"); gz=$(gzip -9 -c "$out/opt.wasm" | wc -c); js=$(gzip -9 -c "$out/app.js" | wc -c)
  echo "BENCH|B2 $1 raw|$((raw / 1024)).$(((raw % 1024) * 10 / 1024))|8.4|KB|wasm after wasm-opt -Oz; baseline: phoenix min+gzip" >>"$LINES"
  echo "BENCH|B2 $1 gzip (wasm + JS glue)|$(((gz + js) / 1024)).$((((gz + js) % 1024) * 10 / 1024))|8.4|KB|baseline: phoenix 8.4 KB; socket.io-client 13.5 KB; centrifuge-js 23.7 KB (published min+gzip)" >>"$LINES"
}
cargo build --quiet --profile wasm-release --target wasm32-unknown-unknown -p tether --example browser
size_of "minimal client app (no Yew)" target/wasm32-unknown-unknown/wasm-release/examples/browser.wasm
cargo build --quiet --profile wasm-release --target wasm32-unknown-unknown -p tether-www
size_of "whole www app (Yew)" target/wasm32-unknown-unknown/wasm-release/tether-www.wasm

echo "==> B6: stub fan-out with native clients"
cargo run --quiet --release -p tether-bench --bin fanout | grep '^BENCH|' >>"$LINES"

echo
printf '%-58s %12s %12s %8s  %s\n' benchmark value baseline ratio units
TABLE="$(mktemp)"
while IFS='|' read -r _ name value baseline unit note; do
  ratio=$(awk -v v="$value" -v b="$baseline" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2fx", v / b }')
  printf '%-58s %12s %12s %8s  %s\n' "$name" "$value" "$baseline" "$ratio" "$unit"
  echo "| $name | $value | $baseline | $ratio | $unit | $note |" >>"$TABLE"
done <"$LINES"

{
  echo "# Benchmarks"
  echo
  echo "Written by \`bash scripts/bench.sh\` on $(date -u +%Y-%m-%d). Every value has a baseline measured in the same run."
  echo
  echo "- nproc: $(nproc)"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "- browser: $(chromium --version 2>/dev/null | head -1)"
  echo "- rustc: $(rustc --version)"
  echo
  echo "| benchmark | value | baseline | ratio | units | notes |"
  echo "|---|---|---|---|---|---|"
  cat "$TABLE"
} >BENCHMARKS.md
echo
echo "wrote BENCHMARKS.md"
