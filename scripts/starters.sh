#!/usr/bin/env bash
# Builds each starter (starters/yew, starters/leptos) the way a user would: copied into a
# temporary folder, its `tether-client` pointed at this checkout, then `trunk build --release`
# offline (index.html sets data-wasm-opt="0": Trunk would download wasm-opt). The copy gets the
# workspace's lock file, so nothing new is resolved, and builds in target/starters, kept
# between runs. Ends with "starters: N passed, M failed".
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
ensure_wasm_target
ensure_wasm_bindgen
ensure_trunk

WORK="$(mktemp -d -t tether-starters.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export CARGO_TARGET_DIR="$ROOT/target/starters"
export CARGO_NET_OFFLINE=true
passed=0
failed=0
for starter in yew leptos; do
  copy="$WORK/$starter"
  cp -r "starters/$starter" "$copy"
  rm -rf "$copy/dist"
  sed -i "s#path = \"../../client\"#path = \"$ROOT/client\"#" "$copy/Cargo.toml"
  cp Cargo.lock "$copy/Cargo.lock"
  if (cd "$copy" && trunk build --release) && compgen -G "$copy/dist/*.wasm" >/dev/null &&
    grep -q '\.wasm' "$copy/dist/index.html"; then
    echo "starter $starter: built ($(du -k "$copy"/dist/*.wasm | awk '{print $1}') KiB of wasm)"
    passed=$((passed + 1))
  else
    echo "starter $starter: FAILED to build"
    failed=$((failed + 1))
  fi
done
echo "starters: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
