#!/usr/bin/env bash
# Fuzzes every decoder of untrusted input (STYLE.md §10) with cargo-fuzz and libFuzzer, each
# target for a bounded time, and fails when one crashes (a panic, a failed invariant, a
# sanitizer report, a timeout or running out of memory).
#
#   scripts/fuzz.sh                  every target, 30 s each
#   scripts/fuzz.sh query 600        one target, 10 minutes
#   scripts/fuzz.sh all 120          every target, 2 minutes each
#   scripts/fuzz.sh list             the targets
#
# Environment: FUZZ_SANITIZER=address|none (default address; `none` is faster but only
# catches panics and failed assertions), FUZZ_ARGS="..." extra libFuzzer flags (e.g. -max_len=16384, or
# "-fork=1 -ignore_crashes=1" to go on after a crash and collect every reproducer).
#
# Only the stable toolchain is needed: RUSTC_BOOTSTRAP=1 lets it take the -Z flags
# cargo-fuzz passes for the sanitizer-coverage instrumentation. Builds go to fuzz/target,
# apart from the crate's own target/. libFuzzer only reads the seeds in fuzz/corpus/<target>/
# (the snapshot and GeoIP ones are remade by the CLI before their targets run, so they follow
# the formats): what it finds goes to fuzz/target/corpus/<target>/ and is kept between runs;
# a crash's reproducer goes to fuzz/artifacts/<target>/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${1:-all}
SECONDS_EACH=${2:-30}
SANITIZER=${FUZZ_SANITIZER:-address}
read -r -a EXTRA_ARGS <<<"${FUZZ_ARGS:-}"

if ! [[ $SECONDS_EACH =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [TARGET|all|list] [SECONDS]" >&2
  exit 2
fi

export RUSTC_BOOTSTRAP=1
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked
fi

cd "$ROOT/fuzz"
mapfile -t ALL < <(cargo fuzz list)
if [[ $TARGET == list ]]; then
  printf '%s\n' "${ALL[@]}"
  exit 0
fi
if [[ $TARGET == all ]]; then
  TARGETS=("${ALL[@]}")
elif printf '%s\n' "${ALL[@]}" | grep -qx -- "$TARGET"; then
  TARGETS=("$TARGET")
else
  echo "unknown target '$TARGET'; targets: ${ALL[*]}" >&2
  exit 2
fi

# Seeds that depend on binary formats (snapshot images, GeoIP tables) are made by the CLI
# from the repository's fixtures, so they follow the formats when those change.
refresh_seeds() {
  local cli="cargo run --quiet --manifest-path $ROOT/Cargo.toml --bin edgedns --"
  local ipdb=$ROOT/tests/fixtures/ipdb
  export CARGO_TARGET_DIR=$ROOT/fuzz/target
  case $1 in
    snapshot)
      (cd "$ROOT" && $cli compile zones tests/zones -o fuzz/corpus/snapshot/seed-zones-and-test-zones.bin \
        && $cli compile zones -o fuzz/corpus/snapshot/seed-zones.bin \
        && $cli compile zones tests/zones --shard-kib 1 -o fuzz/corpus/snapshot/seed-small-shards.bin \
        && $cli compile tests/zones/nested.conformance.test.zone -o fuzz/corpus/snapshot/seed-nested.bin) >/dev/null
      ;;
    ipdb)
      (cd "$ROOT" && $cli geoip build --country-v4 "$ipdb/country-ipv4.csv" --country-v6 "$ipdb/country-ipv6.csv" \
          -o fuzz/corpus/ipdb/seed-country.bin \
          --asn-v4 "$ipdb/asn-ipv4.csv" --asn-v6 "$ipdb/asn-ipv6.csv" --asn-output fuzz/corpus/ipdb/seed-asn.bin \
        && $cli geoip build --country-v4 "$ipdb/country-ipv4.csv" --country-v6 "$ipdb/country-ipv6.csv" \
          -o fuzz/corpus/ipdb/seed-country-special.bin --keep-special-purpose) >/dev/null
      ;;
  esac
  unset CARGO_TARGET_DIR
}

echo "== building ${#TARGETS[@]} target(s) (sanitizer: $SANITIZER)"
if [[ ${#TARGETS[@]} -eq 1 ]]; then
  cargo fuzz build --sanitizer "$SANITIZER" "${TARGETS[0]}"
else
  cargo fuzz build --sanitizer "$SANITIZER"
fi

mkdir -p target/logs
FAILED=()
SUMMARY=()
for target in "${TARGETS[@]}"; do
  refresh_seeds "$target"
  mkdir -p "target/corpus/$target" "corpus/$target" "artifacts/$target"
  log=target/logs/$target.log
  echo "== $target: ${SECONDS_EACH}s (log: fuzz/$log)"
  before=$(find "artifacts/$target" -type f | wc -l)
  status=0
  # -timeout: one input taking 10 s is a hang worth reporting.
  cargo fuzz run --sanitizer "$SANITIZER" "$target" "target/corpus/$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -print_final_stats=1 "${EXTRA_ARGS[@]}" >"$log" 2>&1 || status=$?
  # With FUZZ_ARGS="-fork=1 -ignore_crashes=1" libFuzzer goes on after a crash and exits 0:
  # a new reproducer is what counts.
  after=$(find "artifacts/$target" -type f | wc -l)
  if [[ $status -eq 0 && $after -gt $before ]]; then
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(grep -oE 'corp: [0-9]+(/[0-9]+[a-zA-Z]*)?' "$log" | tail -1 | cut -d' ' -f2 || true)
  if [[ -z $runs ]]; then
    # Fork mode prints no final stats: its last status line counts the runs.
    runs=$(sed -nE 's/^#([0-9]+): .*/\1/p' "$log" | tail -1)
    [[ -n $runs ]] && speed=$((runs / SECONDS_EACH))
  fi
  line=$(printf '%-14s %10s runs %8s exec/s  corpus %s' "$target" "${runs:-?}" "${speed:-?}" "${corpus:-?}")
  if [[ $status -ne 0 ]]; then
    FAILED+=("$target")
    line="$line  FAILED (exit $status)"
    echo "-- $target failed; the end of its log:"
    grep -vE '^#[0-9]+' "$log" | tail -60 || true
  fi
  echo "$line"
  SUMMARY+=("$line")
done

echo "== summary (${SECONDS_EACH}s per target, sanitizer: $SANITIZER)"
printf '%s\n' "${SUMMARY[@]}"
if [[ ${#FAILED[@]} -gt 0 ]]; then
  echo "crashed: ${FAILED[*]}; reproducers in fuzz/artifacts/<target>/ (replay: RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>, from fuzz/)" >&2
  exit 1
fi
echo "no crash"
