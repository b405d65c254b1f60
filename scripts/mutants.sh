#!/usr/bin/env bash
# Mutation testing of the client's sans-IO core: cargo-mutants changes the code under
# client/src/core one way at a time and runs the client's native tests; a mutant they do not
# catch is a place the tests are blind. Not part of the test command (it takes a long while).
# Misses the tests cannot catch are listed in tests/MUTANTS.md, each with why it is equivalent.
# Usage: bash scripts/mutants.sh [FILE-GLOB ...]   (default: every file under client/src/core)
#        bash scripts/mutants.sh tabs [CARGO-MUTANTS-ARGS ...]   (the tabs' sans-IO cores: the
#        hub's core, serve and cursor, and the node's core, against the tabs' table tests and
#        tabs_hub; e.g. `tabs --shard 1/4`)
# Results: mutants.out/ (caught.txt, missed.txt, unviable.txt, timeout.txt, outcomes.json).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo-mutants >/dev/null; then
  echo "[mutants] cargo install cargo-mutants --locked (once)" >&2
  cargo install --quiet cargo-mutants --locked >&2
fi
if [ "${1:-}" = tabs ]; then
  shift
  # The cores' table tests are unit tests (--lib); tabs_hub runs the hub on a real client.
  # (`agents`: cargo-mutants builds every test target, and chat_posting needs it.)
  cargo mutants -p tether-client --features tabs,native,agents --copy-target=true \
    -f 'client/src/tabs/hub/core.rs' -f 'client/src/tabs/hub/serve.rs' \
    -f 'client/src/tabs/hub/cursor.rs' -f 'client/src/tabs/node/core.rs' \
    --timeout 60 --jobs "${MUTANTS_JOBS:-1}" "$@" -- --lib --test tabs_hub || true
  echo
  for kind in caught missed unviable timeout; do
    printf '%-9s %s\n' "$kind" "$(wc -l <"mutants.out/$kind.txt" 2>/dev/null || echo 0)"
  done
  exit 0
fi
globs=("$@")
[ ${#globs[@]} -gt 0 ] || globs=('client/src/core/**/*.rs')
args=()
for g in "${globs[@]}"; do args+=(-f "$g"); done
# The core's tests: its unit tests and the fake-clock integration tests (the property tests,
# the fuzzers and the schema checks add minutes per mutant and find nothing these miss).
cargo mutants -p tether-client "${args[@]}" --timeout 60 --jobs "${MUTANTS_JOBS:-1}" -- \
  --lib --test connection_lifecycle --test reconnect_table --test heartbeat --test subscriptions \
  --test without_acks --test outbox_requests --test reentrancy --test views --test sans_io \
  --test offline_topics || true
echo
for kind in caught missed unviable timeout; do
  printf '%-9s %s\n' "$kind" "$(wc -l <"mutants.out/$kind.txt" 2>/dev/null || echo 0)"
done
