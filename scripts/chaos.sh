#!/usr/bin/env bash
# The chaos command: the full seeded chaos run (>= 200 faults over 50 topics) and a 300-client
# thundering herd against an in-process stub, the full run across two stub processes on one
# Redis (node kills, Redis restarts keeping and losing data, socket faults), then fixed-length
# fuzz runs (proptest) of the client's frame decoder, the core state machine and the stub's
# inbound decoder.
# Usage: bash scripts/chaos.sh [--seed N] [--faults N] [--clients N]; FUZZ_CASES sets the fuzz length.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CASES="${FUZZ_CASES:-20000}"
source scripts/tools.sh
ensure_redis

# The run across nodes starts the stub's binary next to the chaos binary's.
cargo build --quiet --release -p tether-stub --bin server-stub
cargo run --quiet --release -p tether-tests --bin chaos -- "$@"

echo
echo "== fuzz: $CASES cases per property"
LOG="$(mktemp)"
PROPTEST_CASES="$CASES" cargo test --quiet --release -p tether-wire --all-features --lib -- never_panics 2>&1 | tee -a "$LOG"
PROPTEST_CASES="$CASES" cargo test --quiet --release -p tether-client --lib -- never_panics 2>&1 | tee -a "$LOG"
PROPTEST_CASES="$CASES" cargo test --quiet --release -p tether-client --test fuzz --test properties 2>&1 | tee -a "$LOG"
PROPTEST_CASES="$CASES" cargo test --quiet --release -p tether-stub --test fuzz 2>&1 | tee -a "$LOG"
props=$(grep -E '^test result: ok' "$LOG" | sed -E 's/.*ok\. ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
echo "fuzz: $props properties x $CASES cases = $((props * CASES)) executions, 0 crashes"
