#!/usr/bin/env bash
# B2, sizes: sourced by scripts/bench.sh (which sets ROOT, TARGET, WORK and WASM_OPT).
# `measure_sizes` builds every app with the wasm-release profile, runs wasm-bindgen and
# wasm-opt -Oz, prints `BENCH|…` lines, and writes what holds the minimal app's size (twiggy)
# to $SIZE_PROFILE as Markdown. Everything is built and measured in this run:
#
# - now: client/examples/minimal.rs, and the same built with feature tabs (sharing's cost);
# - before: the same app at START_COMMIT (where the size work began), and at BEFORE_COMMIT
#   (the last BENCHMARKS.md before the API rewrite: its `--example browser`), each extracted
#   from git history into $TARGET/bench-*;
# - the JavaScript clients, from their npm packages (tests/bench/js, pinned by its lock file),
#   each bundled from a tiny entry that uses it with esbuild --bundle --minify;
# - the ticker app (client/examples/ticker.rs, Yew + tether) against the same app on a plain
#   WebSocket (tests/bench/examples/ticker_plain.rs), and the whole www app.

BEFORE_COMMIT=c04de09
# Where the size work of issue 20 started (main, before it): its minimal app is B2's "before".
START_COMMIT=d3184f7
SIZE_PROFILE="$WORK/size-profile.md"
source "$ROOT/scripts/wasm_size.sh"

line() { # name value baseline unit limit note (single measurements: no spread)
  echo "BENCH|$1|$2||$3||$4|1|$5|$6"
}

# Builds an older tree of this repository (from git history, into $TARGET/bench-$1) with the
# same toolchain and profile, and optimises its app into $WORK/$1. Each old tree has a target
# directory of its own: cargo names a path package's artifacts by its path within its workspace,
# so an old tree's crates would overwrite this one's of the same name in a shared one.
build_old() { # name commit cargo-args… -- wasm
  local name="$1" commit="$2" dir="$TARGET/bench-$1"
  shift 2
  local args=()
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  if [ ! -f "$dir/Cargo.toml" ]; then
    mkdir -p "$dir"
    git -C "$ROOT" archive "$commit" | tar -x -C "$dir"
  fi
  (cd "$dir" && CARGO_TARGET_DIR="$dir/target" build_wasm "${args[@]}")
  optimise "$dir/target/wasm32-unknown-unknown/wasm-release/$2" "$WORK/$name"
}

# The JS clients' min+gzip, as "name version bytes" lines; says so when npm cannot fetch them.
js_sizes() {
  local dir="$ROOT/tests/bench/js"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --silent >"$WORK/npm.log" 2>&1); then
    echo "npm ci failed in tests/bench/js (registry unreachable?): $(tail -3 "$WORK/npm.log")" >&2
    return 1
  fi
  mkdir -p "$WORK/js"
  local e version
  for e in phoenix centrifuge graphql-ws socket.io-client websocket; do
    (cd "$dir" && ./node_modules/.bin/esbuild "entries/$e.js" --bundle --minify --format=esm \
      --platform=browser --log-level=warning --outfile="$WORK/js/$e.js")
    version=$(cd "$dir" && node -p "try { require('./node_modules/$e/package.json').version } catch { '' }")
    echo "$e ${version:-none} $(gzip -9 -c "$WORK/js/$e.js" | wc -c)"
  done
}

# twiggy's items summed by crate (the first path segment of each name), as "bytes<TAB>crate"
# lines, largest first; data segments, imports and the like apart; the names section left out.
crate_sizes() { # wasm
  twiggy top -n 100000 --format csv "$1" | tail -n +2 | awk -F, '
    { size = $(NF - 3); name = $1; for (i = 2; i <= NF - 4; i++) name = name "," $i
      gsub(/^"|"$/, "", name)
      if (name ~ /function names|custom section|subsection/) next
      if (name ~ /^data segment/) c = "(data segments: strings, tables)"
      else if (name ~ /^import /) c = "(imports)"
      else if (name ~ /^(__wbg|__wbindgen)/) c = "wasm_bindgen"
      else {
        s = name; sub(/^[<&*( ]*(mut |dyn |const )?/, "", s)
        c = match(s, /^[A-Za-z_][A-Za-z0-9_]*/) ? substr(s, 1, RLENGTH) : "(other)"
        if (c ~ /^(char|str|u8|u16|u32|u64|usize|i32|i64|isize|f32|f64|bool|T)$/) c = "core"
        if (c ~ /^(type|code|global|table|memory|elem|export|start|custom)$/) c = "(other)"
      }
      total[c] += size }
    END { for (c in total) printf "%d\t%s\n", total[c], c }' | sort -rn
}

# The crates of a build as a Markdown table: crate, KB, share.
by_crate() { # wasm
  crate_sizes "$1" | awk -F'\t' '{ size[NR] = $1; name[NR] = $2; all += $1 }
    END { for (i = 1; i <= NR && i <= 12; i++) printf "| %s | %.1f | %.1f%% |\n", name[i], size[i] / 1024, 100 * size[i] / all }'
}

# What changed by crate from one build to another: crate, KB before, KB after, change.
crate_diff() { # from.wasm to.wasm
  crate_sizes "$1" >"$WORK/from-crates"
  crate_sizes "$2" >"$WORK/to-crates"
  awk -F'\t' 'FNR == NR { from[$2] = $1; next } { to[$2] = $1 }
    END { for (c in to) d[c] = to[c] - from[c]; for (c in from) if (!(c in to)) d[c] = -from[c]
          for (c in d) if (d[c] != 0) printf "%d\t%s\t%.1f\t%.1f\n", d[c], c, from[c] / 1024, to[c] / 1024 }' \
    "$WORK/from-crates" "$WORK/to-crates" | sort -rn | sed -n 1,12p |
    awk -F'\t' '{ printf "| %s | %s | %s | %+.1f |\n", $2, $3, $4, $1 / 1024 }'
}

# Items grouped by what their names say they do (an item can fall in more than one group), as a
# Markdown table: what, KB, items.
themes() { # wasm
  twiggy top -n 100000 --format csv "$1" | tail -n +2 | awk -F, '
    BEGIN { n = split("BTreeMap code|btree|BTreeMap;" \
                      "formatting (core::fmt, Display, Debug, format!)|fmt::|Formatter|Display|Debug;" \
                      "serde_json::Value|serde_json::value::de|serde_json::value::Value|ValueVisitor|serde_json::map;" \
                      "serde_json deserializer|serde_json::de::|Deserializer<;" \
                      "allocator (dlmalloc, or the small allocator)|dlmalloc|small_alloc;" \
                      "sorting (slice::sort)|slice::sort;" \
                      "panics and unwraps|panic|unwrap_failed|expect_failed", groups, ";") }
    { size = $(NF - 3); name = $1; for (i = 2; i <= NF - 4; i++) name = name "," $i
      for (g = 1; g <= n; g++) {
        m = split(groups[g], pat, "|")
        for (k = 2; k <= m; k++) if (index(name, pat[k])) { total[g] += size; count[g]++; break }
      } }
    END { for (g = 1; g <= n; g++) { split(groups[g], pat, "|"); printf "| %s | %.1f | %d |\n", pat[1], total[g] / 1024, count[g] } }'
}

# twiggy top without the names section and without the symbols' hashes.
top_items() { # wasm count
  twiggy top -n "$2" "$1" | grep -v 'function names' | sed -E 's/::h[0-9a-f]{16}//; s/\[[0-9a-f]{16}\]//g'
}

measure_sizes() {
  # Each old tree is built and optimised before the next build: an old tree's minimal app is
  # written where this one's goes.
  build_old before "$BEFORE_COMMIT" -p tether --example browser -- examples/browser.wasm
  build_old start "$START_COMMIT" -p tether-client --example minimal -- examples/minimal.wasm
  build_wasm -p tether-client --example minimal --features tabs
  optimise "$WASM_OUT/examples/minimal.wasm" "$WORK/minimal-tabs"
  optimise "$WASM_OUT/examples/minimal.wasm" "$WORK/minimal-tabs-names" names
  build_wasm -p tether-client --example minimal
  optimise "$WASM_OUT/examples/minimal.wasm" "$WORK/minimal"
  optimise "$WASM_OUT/examples/minimal.wasm" "$WORK/minimal-names" names
  build_wasm -p tether-client --example ticker --features yew
  optimise "$WASM_OUT/examples/ticker.wasm" "$WORK/ticker"
  optimise "$WASM_OUT/examples/ticker.wasm" "$WORK/ticker-names" names
  build_wasm -p tether-bench --example ticker_plain
  optimise "$WASM_OUT/examples/ticker_plain.wasm" "$WORK/plain"
  optimise "$WASM_OUT/examples/ticker_plain.wasm" "$WORK/plain-names" names
  build_wasm -p tether-www
  optimise "$WASM_OUT/tether-www.wasm" "$WORK/www"

  local after_gz start_gz before_gz tabs_gz aim=40
  after_gz=$(gz_of "$WORK/minimal")
  start_gz=$(gz_of "$WORK/start")
  before_gz=$(gz_of "$WORK/before")
  tabs_gz=$(gz_of "$WORK/minimal-tabs")
  local held="what the app compiles in (twiggy: see What holds the minimal app's size); aim: ${aim} KB gzip or less"
  line "B2 minimal client app (no Yew), gzip (wasm + JS glue): now vs before the size work" \
    "$(kb "$after_gz")" "$(kb "$start_gz")" KB "$held" \
    "now: client/examples/minimal.rs; before: the same app at $START_COMMIT (where issue 20 started), both built in this run with the profile wasm-release, wasm-bindgen and wasm-opt -Oz"
  line "B2 minimal client app (no Yew), raw wasm: now vs before the size work" \
    "$(kb "$(raw_of "$WORK/minimal")")" "$(kb "$(raw_of "$WORK/start")")" KB "$held" "wasm after wasm-opt -Oz; before: $START_COMMIT"
  line "B2 minimal client app (no Yew), gzip: now vs before the API rewrite" \
    "$(kb "$after_gz")" "$(kb "$before_gz")" KB "$held" \
    "before: the same app at $BEFORE_COMMIT (--example browser, the last figure before the rewrite), built in this run the same way"
  line "B2 tab sharing's cost: the minimal app built with feature tabs minus without (gzip)" \
    "$(kb $((tabs_gz - after_gz)))" "$(kb "$after_gz")" KB \
    "the hub, the tab node, the tabs' channel and locks (twiggy: see What tab sharing adds); aim: 15 KB gzip or less" \
    "with tabs: $(kb "$tabs_gz") KB (the app turns sharing on, with Config::share_across_tabs); baseline: the minimal app without the feature"

  if js_sizes >"$WORK/js-sizes"; then
    local name version bytes
    while read -r name version bytes; do
      if [ "$name" = websocket ]; then
        line "B2 minimal client app vs a hand-written WebSocket client (gzip)" "$(kb "$after_gz")" "$(kb "$bytes")" KB \
          "the baseline has no reconnect, heartbeat, replay or typed decoding" \
          "baseline: tests/bench/js/entries/websocket.js (WebSocket + JSON.parse + Map), esbuild --bundle --minify, gzip -9"
      else
        local reached=""
        if [ "$name" = centrifuge ]; then
          if [ "$after_gz" -le "$bytes" ]; then reached="; the moonshot (centrifuge's size or less) is reached"
          else reached="; the moonshot (centrifuge's size or less) is not reached: $(kb $((after_gz - bytes))) KB to go"; fi
        fi
        line "B2 minimal client app vs $name $version (gzip)" "$(kb "$after_gz")" "$(kb "$bytes")" KB \
          "each side's code; the JS clients also need no runtime (the wasm app carries its allocator: here tether's small one)$reached" \
          "baseline: npm $name $version used by tests/bench/js/entries/$name.js, esbuild --bundle --minify, gzip -9"
      fi
    done <"$WORK/js-sizes"
  else
    line "B2 JavaScript clients (phoenix, centrifuge, graphql-ws, socket.io-client)" 0 0 KB \
      "npm ci failed in this run: the packages could not be fetched" "not measured"
  fi

  local ticker plain www
  ticker=$(gz_of "$WORK/ticker")
  plain=$(gz_of "$WORK/plain")
  www=$(gz_of "$WORK/www")
  line "B2 tether's marginal size in a Yew app (gzip): ticker with tether minus the same app on a plain WebSocket" \
    "$(kb $((ticker - plain)))" "$(kb "$plain")" KB \
    "what tether adds over the plain socket app (by crate in What tether adds to a Yew app); aim: 30 KB gzip or less" \
    "ticker (client/examples/ticker.rs) $(kb "$ticker") KB; baseline: the same components on web_sys::WebSocket + serde_json (tests/bench/examples/ticker_plain.rs) $(kb "$plain") KB"
  line "B2 ticker app (Yew + tether), gzip (wasm + JS glue)" "$(kb "$ticker")" "$(kb "$plain")" KB \
    "Yew itself (the baseline is mostly Yew)" "baseline: the same app on a plain WebSocket"
  line "B2 whole www app (Yew + tether + agents + tabs), gzip (wasm, JS glue and snippets)" "$(kb "$www")" "$(kb "$plain")" KB \
    "the app's own views and the agents platform on top of Yew" "baseline: the ticker app on a plain WebSocket (Yew's share)"

  {
    echo
    echo "## What holds the minimal app's size"
    echo
    echo "twiggy on the minimal app built with names kept (wasm-bindgen --keep-debug, wasm-opt -Oz -g;"
    echo "the names section itself is left out). By crate, the first path segment of each item, in raw"
    echo "KB before gzip:"
    echo
    echo "| crate | KB | share |"
    echo "|---|---|---|"
    by_crate "$WORK/minimal-names/opt.wasm"
    echo
    echo "By what the items do (names matched by substring; an item can count twice):"
    echo
    echo "| what | KB | items |"
    echo "|---|---|---|"
    themes "$WORK/minimal-names/opt.wasm"
    echo
    echo "The largest items (\`twiggy top\`, raw bytes before gzip):"
    echo
    echo '```text'
    top_items "$WORK/minimal-names/opt.wasm" 16
    echo '```'
    echo
    echo "## What tether adds to a Yew app"
    echo
    echo "The ticker app on tether against the same app on a plain WebSocket, by crate (twiggy, names"
    echo "kept, raw KB before gzip), largest changes first:"
    echo
    echo "| crate | plain WebSocket | tether | change |"
    echo "|---|---|---|---|"
    crate_diff "$WORK/plain-names/opt.wasm" "$WORK/ticker-names/opt.wasm"
    echo
    echo "tether's largest items in the ticker app:"
    echo
    echo '```text'
    top_items "$WORK/ticker-names/opt.wasm" 400 | grep -E 'Shallow|tether' | sed -n 1,13p
    echo '```'
    echo
    echo "## What tab sharing adds"
    echo
    echo "The minimal app built with feature tabs against without, by crate (twiggy, names kept, raw"
    echo "KB before gzip), largest changes first:"
    echo
    echo "| crate | without | with tabs | change |"
    echo "|---|---|---|---|"
    crate_diff "$WORK/minimal-names/opt.wasm" "$WORK/minimal-tabs-names/opt.wasm"
  } >"$SIZE_PROFILE"
}
