#!/usr/bin/env bash
# How an app ships, measured: sourced by the size gate (scripts/size_gate.sh, in the test
# command) and the bench (tests/bench/sizes.sh). Expects ROOT, TARGET and WASM_OPT (from
# scripts/tools.sh's ensure_wasm_opt).
#
# The shipping build: cargo's profile wasm-release (opt-level z, LTO, one codegen unit, panic
# abort), wasm-bindgen --target web, wasm-opt -Oz (dropping the producers and target-features
# sections, which no browser reads); what a page downloads is the wasm, its JS glue and the
# JS snippets the glue imports (feature tabs has one), each gzip -9.

WASM_STRIP="--strip-producers --strip-target-features"
WASM_FEATURES="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue"
WASM_OUT="$TARGET/wasm32-unknown-unknown/wasm-release"

build_wasm() { # cargo args… (wasm-release, wasm32)
  cargo build --quiet --profile wasm-release --target wasm32-unknown-unknown "$@"
}

# wasm-bindgen, then wasm-opt -Oz, into $2 (opt.wasm and app.js); with "names", function names
# are kept for twiggy (the code is the same; the names section comes on top).
optimise() { # wasm out-dir [names]
  mkdir -p "$2"
  if [ "${3:-}" = names ]; then
    wasm-bindgen --target web --keep-debug --out-dir "$2" --out-name app "$1"
    # shellcheck disable=SC2086
    "$WASM_OPT" -Oz -g $WASM_STRIP $WASM_FEATURES "$2/app_bg.wasm" -o "$2/opt.wasm"
  else
    wasm-bindgen --target web --out-dir "$2" --out-name app "$1"
    # shellcheck disable=SC2086
    "$WASM_OPT" -Oz $WASM_STRIP $WASM_FEATURES "$2/app_bg.wasm" -o "$2/opt.wasm"
  fi
}

raw_of() { wc -c <"$1/opt.wasm"; }
# wasm gzip -9 plus its JS glue gzip -9, and any JS snippet the glue imports (wasm-bindgen's
# inline_js, under snippets/), each gzip -9: what a page downloads.
gz_of() {
  local total snippet
  total=$(($(gzip -9 -c "$1/opt.wasm" | wc -c) + $(gzip -9 -c "$1/app.js" | wc -c)))
  while IFS= read -r snippet; do
    total=$((total + $(gzip -9 -c "$snippet" | wc -c)))
  done < <(find "$1" -path '*/snippets/*' -name '*.js' 2>/dev/null | sort)
  echo "$total"
}
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
