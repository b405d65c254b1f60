#!/usr/bin/env bash
# The semver check of the published crates: cargo-semver-checks compares the public API of
# tether-wire, tether-client and tether-server in the working tree with the last release's,
# built from the git revision recorded in scripts/semver-baseline (no tags: the revision where
# that version was cut). A breaking change without a major bump (for 0.x: a minor bump) fails.
# After a release, record its revision there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
ensure_semver_checks
baseline="$(grep -Eo '^[0-9a-f]{40}' scripts/semver-baseline)"
cargo semver-checks --baseline-rev "$baseline" -p tether-wire -p tether-client -p tether-server
