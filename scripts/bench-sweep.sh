#!/usr/bin/env bash
# The 1M-record sweep through workerd (issue 14 goal 3; BENCHMARKS.md part 7): the built Worker,
# alone in a fresh workerd with its default settings (shard budget, refresh), reads the generated
# 1M-record zone from a read-only disk KV directory, as a publish would have written it. One name
# first, alone (the first query of a cold isolate), then every name of the zone asked twice by
# benches/sweep-workerd.mjs (plain HTTP DoH GETs on 127.0.0.1, every answer checked); after each
# step the isolate's counters and wasm memory (/admin/isolate) and workerd's RSS; after the last,
# V8's JavaScript heap (inspector) before and after a forced collection. A wrong answer fails
# the run. A benchmark: prints numbers, asserts nothing about time or memory.
#
#   scripts/bench-sweep.sh                (needs build/index.js: make worker)
#
# Settings (environment):
#   BENCH_SWEEP_RECORDS=1000000   records of the generated zone
#   BENCH_SWEEP_CONCURRENCY=32    requests the client keeps in flight
#   BENCH_OUT=.run/bench/sweep.md the table (the raw figures: .run/bench/sweep/result.json)
# Ports 19792 (HTTP) and 19793 (workerd's inspector, read once the passes are over), 127.0.0.1.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$EDGEDNS_ROOT"

records="${BENCH_SWEEP_RECORDS:-1000000}"
concurrency="${BENCH_SWEEP_CONCURRENCY:-32}"
dir="$RUN_DIR/bench/sweep"
out="${BENCH_OUT:-$RUN_DIR/bench/sweep.md}"
port=19792 inspector=127.0.0.1:19793
target_dir="${CARGO_TARGET_DIR:-$EDGEDNS_ROOT/target}"
WORKERD="${WORKERD:-$NODE_BIN/workerd}"
[[ -x "$WORKERD" ]] || die "workerd missing (npm ci)"
[[ -f build/index.js && -f build/index_bg.wasm ]] || die "build/ holds no index.js + index_bg.wasm (make worker)"

workerd_pid=""
cleanup() { [[ -n "$workerd_pid" ]] && kill -TERM -- "-$workerd_pid" 2>/dev/null; true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

log "sweep: generating bench.test. with $records records, compiling it into a KV directory"
cargo build --quiet --release --example bench_zone --bin edgedns
rm -rf "$dir" && mkdir -p "$dir/kv"
"$target_dir/release/examples/bench_zone" "$records" "$dir/data" 1 >/dev/null
# Every key a publish writes (pointer, manifest, shards), one file per key.
"$target_dir/release/edgedns" compile --kv-dir "$dir/kv" "$dir/data/zone" >/dev/null

# The Worker's own defaults (no SHARD_CACHE_KIB, no SNAPSHOT_REFRESH_SECONDS): only the admin
# token, so that /admin/isolate answers. A fresh token per run.
token="sweep-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
# --expose-gc: after the passes, the client forces a collection to see the JavaScript heap's
# live part (nothing calls gc() before).
workerd_config "$dir" "$port" --v8-flag --expose-gc "ADMIN_TOKEN=$token"
# One workerd process serving one Worker runs it in one isolate: the counters read after each
# pass are that isolate's, cumulative (the client checks the request count adds up).
(cd "$dir" && exec setsid "$WORKERD" serve --inspector-addr="$inspector" workerd.capnp </dev/null >"$dir/workerd.log" 2>&1) &
workerd_pid=$!
# Wait for the socket without sending the Worker a request: the first one is measured.
for _ in $(seq 200); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
ss -Hltn "sport = :$port" | grep -q . || { tail -n 20 "$dir/workerd.log" >&2; die "workerd did not listen on 127.0.0.1:$port"; }
[[ "$(cat "/proc/$workerd_pid/comm")" == workerd ]] || die "pid $workerd_pid is not workerd"

log "sweep: every name, twice, $concurrency in flight (workerd pid $workerd_pid)"
node benches/sweep-workerd.mjs "$port" "$token" "$workerd_pid" "$dir/data/zone" "$dir/result.json" "$concurrency" "$inspector" \
  || { tail -n 20 "$dir/workerd.log" >&2; die "the sweep failed (see above; log: $dir/workerd.log)"; }
alive=yes; kill -0 "$workerd_pid" 2>/dev/null || alive=no
[[ $alive == yes ]] || die "workerd died during the sweep (log: $dir/workerd.log)"

# The table: each step's KV reads (its own, not cumulative), then the state after it.
node - "$dir/result.json" <<'JS' | tee "$out"
const fs = require("fs");
const r = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const n = (x) => Math.round(x).toLocaleString("en-US");
const mb = (bytes) => (bytes / 1e6).toFixed(1);
const lines = [
  `${n(r.names)} names (every owner of the master and routes files), type A, canonical order; ${r.concurrency} requests in flight; first query: \`${r.first_name}\`.`,
  "",
  "| step | names | KV reads, request path (bytes) | KV reads, background | requests served (queries + the status read) | shards held | encoded bytes held | wasm memory (\`memory_bytes\`) | workerd VmRSS (VmHWM) | wall | µs per name |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
];
let before = { kv_reads_request: 0, kv_bytes_request: 0, kv_reads_background: 0, requests: 0 };
for (const s of r.steps) {
  const c = s.counts;
  lines.push(`| ${s.step} | ${n(s.names)} | ${n(c.kv_reads_request - before.kv_reads_request)} (${n(c.kv_bytes_request - before.kv_bytes_request)}) | ${n(c.kv_reads_background - before.kv_reads_background)} | ${n(c.requests - before.requests)} | ${s.shards_held} of ${s.shards_total} | ${n(s.held_bytes)} | ${n(s.memory_bytes)} (${mb(s.memory_bytes)} MB) | ${mb(s.vm_rss_kib * 1024)} MB (${mb(s.vm_hwm_kib * 1024)} MB) | ${s.names > 1 ? `${s.seconds.toFixed(1)} s | ${(s.seconds * 1e6 / s.names).toFixed(1)}` : `${(s.seconds * 1e3).toFixed(1)} ms | –`} |`);
  before = c;
}
if (r.js_heap) {
  const h = r.js_heap;
  lines.push("", `V8's JavaScript heap after pass 2 (inspector, \`Runtime.getHeapUsage\`): ${mb(h.used_bytes)} MB used of ${mb(h.total_bytes)} MB reserved; after a forced full collection (\`gc()\`, workerd run with \`--expose-gc\`) ${mb(h.after_gc_used_bytes)} MB used of ${mb(h.after_gc_total_bytes)} MB.`);
}
console.log(lines.join("\n"));
JS
