#!/usr/bin/env bash
# The test command: every test in the workspace. Installs missing tools first (scripts/tools.sh),
# and redis-server (the Redis broker's tests start their own), then: formatting, lints (native
# and wasm32), `cargo check` and `cargo doc` on the host, the published crates' checks (one
# import path per item, packaging, the MSRV, an app on an older wasm-bindgen), the ticker
# example (Yew and Leptos), the production build of the app (Trunk) and the server's minimal
# example, the starters (scripts/starters.sh), the size budgets of the apps as
# they ship (scripts/size_gate.sh), the native tests of every crate (the end-to-end tests of
# the built app in headless Chromium among them), and the browser tests of the client and the
# ticker example against a live stub on 127.0.0.1.
# Ends with "N passed, M failed".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
source scripts/stub.sh

step() { echo; echo "==> $*"; }
# A clean clone gains nothing from incremental state, and it is most of a target directory.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
LOGS="$(mktemp -d)"
trap 'stop_stub' EXIT

step "tools"
ensure_browser_test_tools
ensure_trunk
ensure_redis

step "format"
cargo fmt --all -- --check

step "lint (native and wasm32)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p tether-client --lib --examples --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p tether-client --lib --examples --features yew --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p tether-client --lib --examples --features resume --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p tether-client --lib --examples --features leptos,tabs --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p tether-www --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p tether-tests -p tether-bench --tests --examples --target wasm32-unknown-unknown -- -D warnings
# The server library without its default JWT authenticator and without the Redis broker (the
# workspace lint above builds it with `jwt`, and with `faults` and `redis` through the stub).
cargo clippy -p tether-server --lib --no-default-features -- -D warnings
cargo clippy -p tether-server --lib --no-default-features --features redis -- -D warnings

step "host check and docs (the library off wasm32: hooks inert, every public item documented)"
cargo check -p tether-client --all-features
RUSTDOCFLAGS="-D warnings" cargo doc -p tether-client --no-deps --features yew,leptos,tabs,native,resume
RUSTDOCFLAGS="-D warnings" cargo doc -p tether-wire --no-deps --all-features
RUSTDOCFLAGS="-D warnings" cargo doc -p tether-server --no-deps --all-features

step "published crates: one path per public item, packaging, MSRV, any wasm-bindgen 0.2"
bash scripts/public_api.sh
# Packages tether-wire, tether-client and tether-server as crates.io would get them (metadata,
# files, path dependencies with versions); `--no-verify` skips rebuilding them from the
# packages, which the builds and tests here already cover.
cargo package --no-verify -p tether-wire -p tether-client -p tether-server
bash scripts/msrv.sh
bash scripts/wasm_bindgen_compat.sh

step "builds: the ticker example in Yew and in Leptos (wasm32), the app's production build (www/dist), the server's minimal example"
cargo build -p tether-client --example ticker --features yew --target wasm32-unknown-unknown
cargo build -p tether-client --example ticker_leptos --features leptos --target wasm32-unknown-unknown
trunk build --release
# server/tests/minimal.rs runs this binary as a process (cargo test builds it too), and
# tests/tests/nodes.rs runs the stub's binary as its nodes.
cargo build -p tether-server --example minimal_server
cargo build -p tether-stub --bin server-stub

step "size budgets (tests/size-budgets.toml: the apps as they ship, against their budgets)"
# Deterministic for a toolchain, so a check, not a timing; over a budget counts as a failure
# below and names the twiggy commands to run.
bash scripts/size_gate.sh 2>&1 | tee "$LOGS/size.log" || true

step "starters (starters/yew and starters/leptos, each copied and built with trunk build --release, offline)"
bash scripts/starters.sh 2>&1 | tee "$LOGS/starters.log" || true

step "native tests (with the end-to-end test in headless Chromium)"
# --show-output prints what passing tests wrote: only the reduced chaos run and the herd
# report, with their counts (faults, events, lost, duplicated, reordered, the histogram).
cargo test --workspace -- --show-output 2>&1 | tee "$LOGS/native.log"

step "browser tests (headless Chromium, live stub)"
cargo build -p tether-stub --bin server-stub
start_stub --port 0 --test-control --dev --open-topic ticker:
echo "stub at $STUB_URL"
# --nocapture shows the one line the browser chaos run logs with its counts. wasm-pack passes
# what follows its first `--` to `cargo build`, and what follows a second one to the runner.
(cd tests && TETHER_STUB_URL="$STUB_URL" wasm-pack test --headless --chrome -- -- --nocapture) 2>&1 |
  tee "$LOGS/browser.log"

step "semver (cargo-semver-checks against the last release's revision, scripts/semver-baseline)"
bash scripts/semver.sh

count() { # file → "passed failed" summed over every cargo-style result line
  grep -E '^test result: ' "$1" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' |
    awk '{p+=$1; f+=$2} END {print p+0, f+0}'
}
read -r np nf <<<"$(count "$LOGS/native.log")"
read -r bp bf <<<"$(count "$LOGS/browser.log")"
# The size gate's tally; a gate that did not get to print one (a build failed) is a failure.
read -r sp sf <<<"$(sed -nE 's/^size: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$LOGS/size.log" | tail -1)"
sp=${sp:-0}
sf=${sf:-1}
# The starters' tally, likewise (two starters: a script that stopped early fails both).
read -r tp tf <<<"$(sed -nE 's/^starters: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$LOGS/starters.log" | tail -1)"
tp=${tp:-0}
tf=${tf:-2}
echo
echo "native: $np passed, $nf failed; browser: $bp passed, $bf failed; size: $sp passed, $sf failed; starters: $tp passed, $tf failed"
echo "$((np + bp + sp + tp)) passed, $((nf + bf + sf + tf)) failed"
[ "$((nf + bf + sf + tf))" -eq 0 ] && [ "$bp" -gt 0 ] && [ "$np" -gt 0 ]
