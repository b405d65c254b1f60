#!/usr/bin/env bash
# Installs the tools the run and test commands need, only when they are missing.
# Idempotent: on a machine that has everything it returns in well under a second.
# Source it and call the `ensure_*` functions, or run it to ensure everything.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

WASM_PACK_VERSION="0.15.1"
TRUNK_VERSION="0.21.14"

log() { echo "[tools] $*" >&2; }

# The wasm-bindgen CLI must match the library version exactly; read it from Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_wasm_target() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown && return
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown >&2
}

ensure_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return; fi
  log "installing chromium and chromium-driver from apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
}

# `cargo install` only when the installed binary does not print the wanted version.
cargo_install_pinned() { # crate version binary [extra args]
  local crate="$1" version="$2" bin="$3"; shift 3
  if command -v "$bin" >/dev/null && "$bin" --version 2>/dev/null | grep -q "$version"; then return; fi
  log "cargo install $crate $version (takes a few minutes, once)"
  # --locked first for reproducibility. Some lock files name a crate version the registry no
  # longer serves (wasm-bindgen-cli 0.2.130's does), so cargo refuses it; that is expected, and
  # the fallback resolves fresh versions. Cargo's own refusal is kept out of sight unless the
  # fallback fails too.
  local first_try
  first_try="$(mktemp)"
  if cargo install --quiet "$crate" --version "$version" --locked "$@" 2>"$first_try"; then
    rm -f "$first_try"
    return
  fi
  log "$crate $version: its lock file cannot be used as published (expected for some crates);"
  log "installing it with freshly resolved dependencies instead, which is fine"
  if ! cargo install --quiet "$crate" --version "$version" "$@" >&2; then
    log "the locked attempt had said:"
    cat "$first_try" >&2
    rm -f "$first_try"
    return 1
  fi
  rm -f "$first_try"
}

# The semver check of the published crates (scripts/semver.sh) against the recorded baseline.
SEMVER_CHECKS_VERSION="0.51.0"
ensure_semver_checks() { cargo_install_pinned cargo-semver-checks "$SEMVER_CHECKS_VERSION" cargo-semver-checks; }

ensure_wasm_bindgen() { cargo_install_pinned wasm-bindgen-cli "$(wasm_bindgen_version)" wasm-bindgen; }
ensure_wasm_pack() { cargo_install_pinned wasm-pack "$WASM_PACK_VERSION" wasm-pack; }
ensure_trunk() { cargo_install_pinned trunk "$TRUNK_VERSION" trunk; }

# binaryen's wasm-opt, recent enough for today's Rust wasm (Debian's is too old): from npm, into
# the git-ignored .tools/ of the repository.
BINARYEN_VERSION="132.0.0"
WASM_OPT="$ROOT/.tools/node_modules/.bin/wasm-opt"
ensure_wasm_opt() {
  if [ -x "$WASM_OPT" ] && "$WASM_OPT" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then return; fi
  log "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm into .tools/"
  mkdir -p "$ROOT/.tools"
  (cd "$ROOT/.tools" && npm install --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION" >&2)
}

# Debian's redis-server: the Redis broker's tests start their own (a free loopback port,
# persistence off) and stop it.
ensure_redis() {
  command -v redis-server >/dev/null && return
  log "installing redis-server from apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}

# Debian's Xvfb (and xvfb-run): a display for headful Chromium (scripts/hidden_tabs.sh).
ensure_xvfb() {
  command -v xvfb-run >/dev/null && command -v Xvfb >/dev/null && return
  log "installing xvfb from apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb xauth >/dev/null
}

ensure_browser_test_tools() {
  ensure_wasm_target
  ensure_chromium
  ensure_wasm_bindgen
  ensure_wasm_pack
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  ensure_browser_test_tools
  ensure_trunk
  ensure_redis
fi
