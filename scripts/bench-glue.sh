#!/usr/bin/env bash
# What a DoH request costs inside one workerd isolate, without HTTP, TLS or the front: the
# built Worker, a reference build and the no-op Worker called by benches/glue/driver.js on the
# same prebuilt requests (the part 5 query mix, 100k-record zone, KV from a read-only disk
# service), their rounds taking turns. See the driver for the cases. A benchmark: prints
# numbers, asserts nothing about time.
#
#   scripts/bench-glue.sh                 (needs build/index.js: make worker)
#
# Settings (environment):
#   BENCH_GLUE_REF=DIR        a reference build (index.js + index_bg.wasm) measured beside
#                             build/ (default: build/ again, which shows the noise)
#   BENCH_GLUE_REF_NAME=TEXT  what the reference is
#   BENCH_GLUE_ROUNDS=15      timed rounds of the 10,000 queries per case (after a warm-up round)
#   BENCH_GLUE_CASES=a,b      only these cases (default: all)
#   BENCH_RECORDS=100000      records of the generated zone
#   BENCH_GLUE_DNSSEC=off     13 or 15: the zone signs (`dnssec = true`, a fresh key of that
#                             algorithm as its secret), for the cases worker-do, worker-nx-do;
#                             a reference build from before signing cannot read it (format 7)
#   BENCH_GLUE_PERF=0         1: Linux perf samples workerd while the driver runs (V8 writes
#                             /tmp/perf-<pid>.map with `--perf-basic-prof`, so JIT-compiled
#                             JavaScript and wasm functions have names); the report by symbol
#                             is written to .run/bench/glue/perf.txt. Wasm stays in its
#                             optimizing tier, which V8's own profiler through the inspector
#                             does not allow (part 8).
#   BENCH_GLUE_VARS="A=1 B=2" more variables for every Worker of the run (ANALYTICS_SAMPLE_RATE=0, say)
#   BENCH_OUT=.run/bench/glue.md
# Port 19791 (127.0.0.1).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$EDGEDNS_ROOT"

ref="${BENCH_GLUE_REF:-build}"
ref_name="${BENCH_GLUE_REF_NAME:-the same build again}"
rounds="${BENCH_GLUE_ROUNDS:-15}"
cases="${BENCH_GLUE_CASES:-}"
records="${BENCH_RECORDS:-100000}"
dnssec="${BENCH_GLUE_DNSSEC:-off}"
perf="${BENCH_GLUE_PERF:-0}"
dir="$RUN_DIR/bench/glue"
out="${BENCH_OUT:-$RUN_DIR/bench/glue.md}"
port=19791
target_dir="${CARGO_TARGET_DIR:-$EDGEDNS_ROOT/target}"
WORKERD="${WORKERD:-$NODE_BIN/workerd}"
[[ -x "$WORKERD" ]] || die "workerd missing (npm ci)"
for build in build "$ref"; do
  [[ -f "$build/index.js" && -f "$build/index_bg.wasm" ]] || die "$build holds no index.js + index_bg.wasm (make worker)"
done

workerd_pid=""
cleanup() { [[ -n "$workerd_pid" ]] && kill -TERM -- "-$workerd_pid" 2>/dev/null; true; }
trap cleanup EXIT

log "glue: generating bench.test. with $records records"
cargo build --quiet --release --example bench_zone --bin edgedns
rm -rf "$dir" && mkdir -p "$dir/kv" "$dir/run"
"$target_dir/release/examples/bench_zone" "$records" "$dir/data" 10000 >/dev/null
key_vars=()
read -r -a extra_vars <<<"${BENCH_GLUE_VARS:-}"
if [[ "$dnssec" != off ]]; then
  routes="$dir/data/zone/bench.test.routes.toml"
  { echo "dnssec = true"; cat "$routes"; } >"$routes.new" && mv "$routes.new" "$routes"
  "$target_dir/release/edgedns" dnssec keygen bench.test --algorithm "$dnssec" --dev-vars "$dir/keys.vars" >/dev/null
  key_vars=("DNSSEC_KEY_BENCH_TEST=$(sed -n 's/^DNSSEC_KEY_BENCH_TEST="\(.*\)"$/\1/p' "$dir/keys.vars")")
fi
"$target_dir/release/edgedns" compile --kv-dir "$dir/kv" "$dir/data/zone" >/dev/null

wdir="$dir/run"
v8_flags=()
[[ "$perf" == 1 ]] && v8_flags=(--v8-flag --perf-basic-prof)
# The reference's module imports its wasm by name: renamed with it.
sed 's|"\./index_bg\.wasm"|"./ref_bg.wasm"|' "$ref/index.js" >"$wdir/ref.js"
grep -q '"./ref_bg.wasm"' "$wdir/ref.js" || die "$ref/index.js does not import ./index_bg.wasm"
cp "$ref/index_bg.wasm" "$wdir/ref_bg.wasm"
cp benches/glue/driver.js "$wdir/driver.js"
cp benches/noop-worker/index.js "$wdir/noop.js"
cp src/worker/runtime.js "$wdir/runtime.js"
cp "$dir/data/queries.txt" "$wdir/queries.txt"
# The driver is the entry module; it imports the Worker (build/, copied in by workerd_config),
# the reference and the no-op Worker, and reads the queries as text.
workerd_config "$wdir" "$port" --kv "$dir/kv" --main driver.js \
  --module ref.js --module ref_bg.wasm --module noop.js --module runtime.js --module queries.txt \
  SNAPSHOT_REFRESH_SECONDS=30 SHARD_CACHE_KIB=8192 "${key_vars[@]}" "${extra_vars[@]}" "${v8_flags[@]}"
(cd "$wdir" && exec setsid "$WORKERD" serve workerd.capnp </dev/null >"$wdir/workerd.log" 2>&1) &
workerd_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
log "glue: build/ and $ref ($ref_name), $rounds rounds"
perf_pid=""
if [[ "$perf" == 1 ]]; then
  command -v perf >/dev/null || die "BENCH_GLUE_PERF=1 needs Linux perf (Debian: linux-perf)"
  # The workerd process itself (setsid made it the group's leader, the shell's child).
  server="$(pgrep -g "$workerd_pid" -x workerd | head -n1)"
  perf record -q -F 1999 -g -p "$server" -o "$dir/perf.data" >/dev/null 2>&1 &
  perf_pid=$!
fi
json="$(curl -s -m 900 "http://127.0.0.1:$port/__glue?rounds=$rounds${cases:+&cases=$cases}")" || die "the driver did not answer (log: $wdir/workerd.log)"
if [[ -n "$perf_pid" ]]; then
  kill -INT "$perf_pid" && wait "$perf_pid" || true
  perf report -i "$dir/perf.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null >"$dir/perf.txt" || true
  log "glue: perf report by symbol in $dir/perf.txt"
fi
[[ "$json" == "{"* ]] || { tail -n 20 "$wdir/workerd.log" >&2; die "the driver said: $json"; }
echo "$json" >"$dir/result.json"

node - "$json" "$ref_name" <<'JS' | tee "$out"
const [json, refName] = process.argv.slice(2);
const r = JSON.parse(json);
const what = {
  empty: "no Worker: a bare `new Response(null)`",
  construct: "the entrypoint made, its `fetch` looked up",
  head: "`requestHead` (runtime.js) alone",
  respond: "`respondKept` (runtime.js) alone: a DoH answer's body, its headers kept",
  "respond-text": "`respond` (runtime.js) alone: a DoH answer's headers and body",
  noop: "(n) the no-op Worker",
  worker: "(b) the Worker (build/)",
  "worker-404": "the Worker, a path it does not serve (404)",
  ref: `(r) the reference build (${refName})`,
  "ref-404": "the reference build, a path it does not serve (404)",
  "worker-edns": "the Worker, every query with EDNS, DO=0 (unsigned)",
  "worker-do": "the Worker, every query with DO=1 (signed, warm cache)",
  "worker-nx": "the Worker, 1,000 new nonexistent names a round",
  "worker-nx-do": "the same with DO=1 (an NSEC signed per query: cold)",
};
const us = (ns) => (ns / 1000).toFixed(1);
const lines = ["| case | µs per request (median round) | rounds' range | answered 200 |", "|---|---:|---:|---:|"];
for (const [name, c] of Object.entries(r)) lines.push(`| ${what[name] ?? name} | ${us(c.median_ns)} | ${us(c.min_ns)}–${us(c.max_ns)} | ${c.ok} of ${c.requests} |`);
// A difference is taken round by round (the two cases ran moments apart), then its median: the
// machine's drift between rounds falls out.
const difference = (a, b) => {
  const each = a.rounds_ns.map((ns, i) => ns - b.rounds_ns[i]).sort((x, y) => x - y);
  return `**${us(each[each.length >> 1])}** | ${us(each[0])}–${us(each[each.length - 1])}`;
};
if (r.noop && r.worker) lines.push(`| **the Worker − the no-op Worker** (round by round) | ${difference(r.worker, r.noop)} | |`);
if (r.ref && r.worker) lines.push(`| **the Worker − the reference** (round by round) | ${difference(r.worker, r.ref)} | |`);
// Signed against unsigned, round by round, as a ratio.
const ratio = (a, b) => {
  const each = a.rounds_ns.map((ns, i) => ns / b.rounds_ns[i]).sort((x, y) => x - y);
  return `**${each[each.length >> 1].toFixed(2)}×** | ${each[0].toFixed(2)}–${each[each.length - 1].toFixed(2)}×`;
};
const unsigned = r["worker-edns"] ?? r.worker;
if (r["worker-do"] && unsigned) lines.push(`| **signed (warm) ÷ unsigned with EDNS** (round by round) | ${ratio(r["worker-do"], unsigned)} | |`);
if (r["worker-nx-do"] && r["worker-nx"]) lines.push(`| **signed (cold) − unsigned, nonexistent names** (round by round) | ${difference(r["worker-nx-do"], r["worker-nx"])} | |`);
console.log(lines.join("\n"));
JS
