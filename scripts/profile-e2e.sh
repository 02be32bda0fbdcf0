#!/usr/bin/env bash
# Where a query's CPU goes inside workerd: V8's CPU profile of the no-op baseline and of the
# Worker under the e2e load of scripts/bench-e2e.sh (same zone, front and query mix).
#
#   scripts/profile-e2e.sh [OUT_DIR]      (default .run/bench/profile)
#
# Builds the working tree's Worker keeping its function names (the shipped build is
# stripped, so its wasm frames would be anonymous): CARGO_PROFILE_RELEASE_STRIP=false, and
# wasm-opt with `-g` (the same -O passes, names kept), into OUT_DIR/build with its own cargo
# target directory. Then runs bench-e2e.sh with BENCH_TARGETS="noop ref" BENCH_PROFILE=1 and
# one measured run each; the profiles and their summaries are .run/bench/profile-*.{cpuprofile,md}.
# A profile costs the isolate a few percent: its numbers are not the benchmark's.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$EDGEDNS_ROOT"

out="${1:-$RUN_DIR/bench/profile}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
wrapper="$out/wasm-opt-g"
real_opt="$WASM_OPT_BIN"
printf '#!/bin/sh\nexec %q "$@" -g\n' "$real_opt" >"$wrapper"
chmod +x "$wrapper"
log "building the Worker with its names into $out/build"
CARGO_TARGET_DIR="${PROFILE_TARGET_DIR:-${CARGO_TARGET_DIR:-$EDGEDNS_ROOT/target}-names}" CARGO_PROFILE_RELEASE_STRIP=false \
  WASM_OPT_BIN="$wrapper" worker-build --release -d "${out#"$EDGEDNS_ROOT"/}/build" >"$out/build.log" 2>&1 \
  || { tail -n 30 "$out/build.log" >&2; die "the named build failed"; }
# The export the shipped bundle has (make worker does the same).
node scripts/object-entry.mjs "$out/build/index.js"
BENCH_TARGETS="${BENCH_TARGETS:-noop ref}" BENCH_REF_BUILD="$out/build" BENCH_REF_NAME="${BENCH_REF_NAME:-named build, profiled}" \
  BENCH_PROFILE=1 BENCH_REPEAT="${BENCH_REPEAT:-1}" BENCH_OUT="$out/e2e.md" scripts/bench-e2e.sh
for target in noop ref; do
  [[ -s "$RUN_DIR/bench/profile-$target.md" ]] && cp "$RUN_DIR/bench/profile-$target.md" "$RUN_DIR/bench/profile-$target.cpuprofile" "$out/"
done
log "profiles in $out (profile-noop.md, profile-ref.md; .cpuprofile opens in DevTools)"
