#!/usr/bin/env bash
# One import path per public item of the published crates (tether-wire, tether-client,
# tether-server): rustdoc's JSON of each (stable rustdoc, its JSON output unlocked with
# RUSTC_BOOTSTRAP) read by scripts/public_api.py, which fails on an item reachable by two paths.
# The client twice: on the host (with `native`) and on wasm32 (with its `web` driver).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
json() { # crate target-dir-part [cargo args]: the host's docs are in target/doc
  local crate="$1" dir="$2"; shift 2
  RUSTC_BOOTSTRAP=1 cargo rustdoc -q -p "$crate" --lib "$@" \
    -- -Z unstable-options --output-format json
  echo "target/${dir}doc/${crate//-/_}.json"
}
host=""
status=0
python3 scripts/public_api.py "$(json tether-wire "$host" --all-features)" || status=1
# tether-server with every feature (`redis`, `faults`): the most it can expose.
python3 scripts/public_api.py "$(json tether-server "$host" --all-features)" || status=1
python3 scripts/public_api.py "$(json tether-client "$host" --features yew,tabs,resume,agents,native)" || status=1
python3 scripts/public_api.py "$(json tether-client wasm32-unknown-unknown/ --target wasm32-unknown-unknown --features yew,tabs,resume,agents)" || status=1
exit "$status"
