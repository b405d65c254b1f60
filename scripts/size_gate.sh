#!/usr/bin/env bash
# The size gate, a step of the test command: builds each app of tests/size-budgets.toml as it
# ships (scripts/wasm_size.sh) and checks what a page downloads against the app's budget. One
# line per app; for an app over its budget, the twiggy commands that show what grew. Ends with
# "size: N passed, M failed" and exits 1 if any app is over. SIZE_BUDGETS names another
# budgets file (to see the gate fail: a copy with a budget below the size).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
ensure_wasm_target
ensure_wasm_bindgen
ensure_wasm_opt
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
source scripts/wasm_size.sh
BUDGETS="${SIZE_BUDGETS:-$ROOT/tests/size-budgets.toml}"
OUT="$TARGET/size-gate"
rm -rf "$OUT"

# The budgets file's apps, one line each: name|cargo arguments|wasm|budget.
apps() {
  awk -F' = ' '
    /^\[.*\]$/ { if (name != "") print name "|" build "|" wasm "|" budget
                 name = substr($0, 2, length($0) - 2); build = wasm = budget = "" }
    /^build = / { build = $2; gsub(/"/, "", build) }
    /^wasm = / { wasm = $2; gsub(/"/, "", wasm) }
    /^budget = / { budget = $2 }
    END { if (name != "") print name "|" build "|" wasm "|" budget }' "$BUDGETS"
}

passed=0
failed=0
while IFS='|' read -r name build wasm budget; do
  # shellcheck disable=SC2086
  build_wasm $build
  optimise "$WASM_OUT/$wasm" "$OUT/$name"
  size=$(gz_of "$OUT/$name")
  if [ "$size" -le "$budget" ]; then
    passed=$((passed + 1))
    echo "size $name: $size B gzip ($(kb "$size") KB), budget $budget B: ok"
  else
    failed=$((failed + 1))
    echo "size $name: $size B gzip ($(kb "$size") KB) is over its budget of $budget B by $((size - budget)) B"
    echo "  what holds it (twiggy: cargo install twiggy --version 0.8.0):"
    echo "    wasm-bindgen --target web --keep-debug --out-dir $OUT/$name-names --out-name app $WASM_OUT/$wasm"
    echo "    $WASM_OPT -Oz -g $WASM_STRIP $WASM_FEATURES $OUT/$name-names/app_bg.wasm -o $OUT/$name-names/opt.wasm"
    echo "    twiggy top -n 30 $OUT/$name-names/opt.wasm"
    echo "    twiggy dominators -d 4 -r 60 $OUT/$name-names/opt.wasm"
    echo "  and what grew against main: build main's app the same way and run twiggy diff old.wasm new.wasm"
  fi
done < <(apps)
echo "size: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
