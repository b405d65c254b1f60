#!/usr/bin/env bash
# Hidden tabs, measured: the demo app's events page in three tabs of one user in headful
# Chromium under Xvfb, the tab-sharing leader in a background tab for ten minutes (by default)
# with Chromium's intensive wake-up throttling brought forward to 10 s
# (--enable-features=IntensiveWakeUpThrottling:grace_period_seconds/10), its two followers in
# the foreground. Prints the leader's heartbeat as a wire tap in front of the stub saw it, each
# tab's events against the stub's publish log, the sockets and closes at the stub, and how often
# a chained 250 ms timer woke in each tab and in a hidden control tab without the app (which
# shows whether the throttling took effect). Exits non-zero
# if a tab lost or repeated an event. Not part of the test command: it runs for minutes.
# Usage: bash scripts/hidden_tabs.sh [--secs N] [--publish-ms N] [--grace-secs N]
#   (--grace-secs 0: Chromium's own 5-minute grace period)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/tools.sh
ensure_wasm_target
ensure_chromium
ensure_wasm_bindgen
ensure_trunk
ensure_xvfb

# The app's production build, as the test command makes it.
trunk build --release
cargo build --quiet -p tether-tests --bin hidden_tabs
chromium --version
xvfb-run --auto-servernum --server-args="-screen 0 1920x1080x24" \
  "$ROOT/target/debug/hidden_tabs" "$@"
