#!/usr/bin/env bash
# Mutation testing: cargo-mutants changes the code one way at a time and runs the tests; a
# mutant they do not catch is a place the tests are blind. Not part of the test command (it
# takes a long while). Misses the tests cannot catch are listed in tests/MUTANTS.md, each with
# why it is equivalent.
# - The client's sans-IO core (default): every file under client/src/core against the core's
#   native tests.
# - `server`: the server's delivery and hub (server/src/delivery, server/src/hub, once the
#   stub's ws/ and hub/) against tether-server's own tests (unit tests and its integration
#   tests but the Redis one). cargo-mutants runs only the mutated package's tests, so the
#   mutants these miss are judged again against the stub's socket tests by
#   scripts/mutants_against.py (see tests/MUTANTS.md).
# - `tabs`: the tabs' sans-IO cores (the hub's core, serve and cursor, and the node's core)
#   against the tabs' table tests and tabs_hub; what follows `tabs` goes to cargo-mutants
#   (e.g. `tabs --shard 1/4`).
# Usage: bash scripts/mutants.sh [server] [FILE-GLOB ...]; MUTANTS_JOBS (1), MUTANTS_SHARD
# (k/n, cargo-mutants' --shard); bash scripts/mutants.sh tabs [CARGO-MUTANTS-ARGS ...].
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
mode=core
if [ "${1:-}" = server ]; then mode=server; shift; fi
globs=("$@")
if [ ${#globs[@]} -eq 0 ]; then
  case "$mode" in
    core) globs=('client/src/core/**/*.rs') ;;
    server) globs=('server/src/delivery/**/*.rs' 'server/src/hub/**/*.rs') ;;
  esac
fi
timeout=60
[ "$mode" = core ] || timeout=180 # the server's socket tests take longer
args=(--timeout "$timeout" --jobs "${MUTANTS_JOBS:-1}")
for g in "${globs[@]}"; do args+=(-f "$g"); done
[ -z "${MUTANTS_SHARD:-}" ] || args+=(--shard "$MUTANTS_SHARD")
if [ "$mode" = core ]; then
  # The core's tests: its unit tests and the fake-clock integration tests (the property tests,
  # the fuzzers and the schema checks add minutes per mutant and find nothing these miss).
  cargo mutants -p tether-client "${args[@]}" -- \
    --lib --test connection_lifecycle --test reconnect_table --test heartbeat --test subscriptions \
    --test without_acks --test outbox_requests --test reentrancy --test views --test sans_io \
    --test offline_topics || true
else
  # The server's own tests (its unit tests exercise the hub's cursors and the delivery's
  # queue, meter and registry; join, layers, minimal and unavailable run real sockets).
  cargo mutants -p tether-server "${args[@]}" -- \
    --lib --test join --test layers --test minimal --test unavailable || true
fi
echo
for kind in caught missed unviable timeout; do
  printf '%-9s %s\n' "$kind" "$(wc -l <"mutants.out/$kind.txt" 2>/dev/null || echo 0)"
done
