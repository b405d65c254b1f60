#!/usr/bin/env bash
# An app that pins an older wasm-bindgen (tests/wasm-bindgen-compat, outside the workspace)
# resolves a fresh lock file with tether-client and builds for wasm32: the library takes any
# wasm-bindgen 0.2, and only the workspace's own tools pin the CLI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP="$ROOT/tests/wasm-bindgen-compat"
export CARGO_TARGET_DIR="$ROOT/target/wasm-bindgen-compat"
rm -f "$APP/Cargo.lock"
trap 'rm -f "$APP/Cargo.lock"' EXIT
cargo generate-lockfile --manifest-path "$APP/Cargo.toml"
pinned="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$APP/Cargo.lock")"
cargo build --manifest-path "$APP/Cargo.toml" --target wasm32-unknown-unknown
echo "wasm-bindgen compat: an app on wasm-bindgen $pinned builds with tether-client"
