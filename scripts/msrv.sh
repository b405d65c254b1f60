#!/usr/bin/env bash
# The declared MSRV (`rust-version` in Cargo.toml) holds: the published crates build with that
# toolchain, with every feature on the host and with the browser's on wasm32. Installs the
# toolchain (minimal profile, with the wasm32 target) once.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
msrv="$(sed -nE 's/^rust-version = "([0-9.]+)"/\1/p' Cargo.toml)"
if ! rustup run "$msrv" rustc --version >/dev/null 2>&1 ||
  ! rustup target list --toolchain "$msrv" --installed | grep -qx wasm32-unknown-unknown; then
  echo "[msrv] installing Rust $msrv (minimal, with wasm32)" >&2
  rustup toolchain install "$msrv" --profile minimal --target wasm32-unknown-unknown >&2
fi
# A target directory of its own: another compiler's artifacts would only evict the main ones.
export CARGO_TARGET_DIR="$ROOT/target/msrv"
cargo "+$msrv" check -p tether-wire -p tether-server --all-features
cargo "+$msrv" check -p tether-client --features yew,tabs,resume,agents,ssr,native
cargo "+$msrv" check -p tether-client --features yew,tabs,resume,agents --target wasm32-unknown-unknown
echo "msrv: Rust $msrv builds tether-wire, tether-server and tether-client"
