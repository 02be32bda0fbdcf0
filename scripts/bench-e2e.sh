#!/usr/bin/env bash
# End-to-end DoH load, side by side, in one run: the same generated zone and the same dnsperf
# query mix against
#   (a) the Worker under `wrangler dev`, through the nginx TLS + HTTP/2 front;
#   (n) the baseline: a no-op JavaScript Worker (benches/noop-worker/index.js: decodes the
#       query, answers the question with no records) in the same workerd, through the same
#       front: what the runtime and the front cost a query before any Worker code runs;
#   (b) the same built Worker served by workerd directly (no wrangler / miniflare in the path;
#       KV is a read-only disk service holding the published image), through the same front;
#   (r) optionally, another build of the Worker served the same way (BENCH_REF_BUILD: a
#       directory holding its index.js and index_bg.wasm), to compare two versions in one run;
#   (c) BIND 9.18's own DoH listener (TLS + HTTP/2 in named), the zone loaded as a primary.
# A benchmark: prints numbers, asserts nothing about time. Not part of `make test`.
#
#   scripts/bench-e2e.sh            (needs build/index.js: make worker)
#
# Settings (environment):
#   BENCH_RECORDS=100000   records of the generated zone (benches/support/zonegen.rs)
#   BENCH_SHARD_KIB=4096   the Worker's shard budget (SHARD_CACHE_KIB): enough to hold the whole 100k zone
#   BENCH_SECONDS=15       length of each throughput run
#   BENCH_CLIENTS=4 BENCH_OUTSTANDING=64   dnsperf -c / -q of the throughput run
#   BENCH_REPEAT=3         throughput runs per target (the median one is reported)
#   BENCH_LATENCY_SECONDS=5 BENCH_LIGHT_QPS=100   the light-load run (-c 1 -Q 100)
#   BENCH_TARGETS="wrangler noop workerd bind"  which of (a) (n) (b) (c) to run (add `ref`
#                          for (r), with BENCH_REF_BUILD=DIR and BENCH_REF_NAME="what it is")
#   BENCH_OUT=.run/bench/e2e.md            the Markdown table written (also printed)
#   BENCH_PROFILE=0        1: workerd runs with its inspector on BENCH_INSPECTOR (127.0.0.1:19298), and after the
#                          measured runs each workerd target gets one more run of BENCH_SECONDS
#                          under V8's CPU profiler (benches/profile-workerd.mjs): the profile is
#                          .run/bench/profile-<target>.cpuprofile, its summary profile-<target>.md
#                          (scripts/profile-e2e.sh builds a Worker that keeps its function names)
# Ports (all 127.0.0.1): 19787 wrangler dev, 19443 its front; 19788 workerd, 19444 its front;
# 19453 BIND DoH (19053 BIND UDP/TCP); (n) 19794 behind 19445, (r) 19795 behind 19446. Logs and state under .run/bench/.
#
# The workerd targets (n), (b) and (r) run side by side, each in its own workerd behind its own
# front, and take turns run by run (n b r n b r ...; idle, a server costs nothing measurable), so
# that the machine's drift over the minutes of a run falls on all of them alike: on this shared
# machine the no-op Worker's CPU per query read 70 and 92 µs in two runs ten minutes apart, more
# than the differences measured. Their ratios are also given round by round (each run
# against the no-op Worker's run of the same round), with the median. With BENCH_PROFILE=1
# (one inspector port) they run one at a time, as (a) and (c) always do.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$EDGEDNS_ROOT"

records="${BENCH_RECORDS:-100000}"
# The query mix is spread evenly over every host, so the whole zone is the working set: the
# Worker keeps every shard of it (4 MiB covers the 100k zone's 3.3 MB) to measure the steady
# state; what a shard miss costs is part 6 of scripts/bench.sh.
shard_kib="${BENCH_SHARD_KIB:-4096}"
seconds="${BENCH_SECONDS:-15}"
clients="${BENCH_CLIENTS:-4}"
outstanding="${BENCH_OUTSTANDING:-64}"
latency_seconds="${BENCH_LATENCY_SECONDS:-5}"
light_qps="${BENCH_LIGHT_QPS:-100}"
repeat="${BENCH_REPEAT:-3}"
profile="${BENCH_PROFILE:-0}" inspector="${BENCH_INSPECTOR:-127.0.0.1:19298}"
targets="${BENCH_TARGETS:-wrangler noop workerd bind}"
ref_build="${BENCH_REF_BUILD:-}"
ref_name="${BENCH_REF_NAME:-another build}"
dir="$RUN_DIR/bench"
out="${BENCH_OUT:-$dir/e2e.md}"
target_dir="${CARGO_TARGET_DIR:-$EDGEDNS_ROOT/target}"

wrangler_port=19787 wrangler_front=19443
declare -A wport wfront wpid
wport[workerd]=19788 wfront[workerd]=19444
wport[noop]=19794 wfront[noop]=19445
wport[ref]=19795 wfront[ref]=19446
bind_doh=19453 bind_dns=19053

WORKERD="${WORKERD:-$NODE_BIN/workerd}"
NAMED="${NAMED:-$(command -v named || echo /usr/sbin/named)}"

for tool in dnsperf kdig nginx openssl; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || die "$tool missing (make setup)"
done
[[ -x "$NAMED" ]] || die "named missing (apt-get install bind9)"
[[ -x "$WORKERD" ]] || die "workerd missing (npm ci)"
[[ -f build/index.js && -f build/index_bg.wasm ]] || die "build/index.js missing (make worker)"

mkdir -p "$dir"

# ------------------------------------------------------------------ cleanup of all we start
named_pid=""
cleanup() {
  set +e
  local target
  for target in "${!wpid[@]}"; do
    kill -TERM -- "-${wpid[$target]}" 2>/dev/null || kill -TERM "${wpid[$target]}" 2>/dev/null
    "$EDGEDNS_ROOT/scripts/front.sh" stop "${wfront[$target]}" "${wport[$target]}" "$dir/front-$target" 2>/dev/null
  done
  if [[ -n "$named_pid" ]]; then kill -TERM "$named_pid" 2>/dev/null; fi
  STACK_NAME=bench STACK_HTTP_PORT=$wrangler_port STACK_H2_PORT=$wrangler_front \
    "$EDGEDNS_ROOT/scripts/stack.sh" stop 2>/dev/null
  for pid in "${wpid[@]}" "$named_pid"; do
    [[ -n "$pid" ]] || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # PORT LABEL LOG
  for _ in $(seq 200); do
    local code
    code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/dns-query" 2>/dev/null || true)"
    [[ -n "$code" && "$code" != 000 ]] && return 0
    sleep 0.1
  done
  tail -n 30 "$3" >&2 || true
  die "$2 did not answer on 127.0.0.1:$1 (log: $3)"
}

# ------------------------------------------------------------------ the zone and the queries
log "generating bench.test. with $records records"
cargo build --quiet --release --example bench_zone --bin edgedns
cli="$target_dir/release/edgedns"
rm -rf "$dir/data"
"$target_dir/release/examples/bench_zone" "$records" "$dir/data" 10000 >/dev/null
zone_dir="$dir/data/zone" queries="$dir/data/queries.txt"

# ------------------------------------------------------------------ (a) wrangler dev + front
start_wrangler() {
  log "(a) wrangler dev :$wrangler_port behind the front :$wrangler_front"
  STACK_NAME=bench STACK_HTTP_PORT=$wrangler_port STACK_H2_PORT=$wrangler_front \
    STACK_STATE="$dir/wrangler-state" STACK_ZONES="$zone_dir" STACK_REFRESH_SECONDS=30 STACK_VARS="SHARD_CACHE_KIB:$shard_kib" \
    STACK_LOG_LEVEL=warn EDGEDNS_CLI="$cli" "$EDGEDNS_ROOT/scripts/stack.sh" start
}

# ------------------------------------------------------------------ (n) (b) (r) workerd + front
start_workerd() { # TARGET: workerd (build/), ref (BENCH_REF_BUILD), noop (benches/noop-worker)
  local kind=$1 wdir="$dir/workerd-$1" workerd_port=${wport[$1]} workerd_front=${wfront[$1]}
  log "(${kind}) workerd :$workerd_port behind the front :$workerd_front"
  rm -rf "$wdir"
  mkdir -p "$wdir/kv"
  if [[ $kind == noop ]]; then
    cp benches/noop-worker/index.js "$wdir/index.js"
    cat >"$wdir/workerd.capnp" <<CAPNP
# Generated by scripts/bench-e2e.sh: the no-op JavaScript Worker, the baseline.
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .noop) ],
  sockets = [ (name = "http", address = "127.0.0.1:$workerd_port", http = (), service = "main") ],
);
const noop :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "index.js") ],
  compatibilityDate = "$(sed -n 's/^compatibility_date *= *"\(.*\)"/\1/p' wrangler.toml)",
);
CAPNP
  else
    # The published layout of KV, one file per key, served by a read-only disk service: the
    # KV binding's GET /<key> reads the file (absent keys are 404, i.e. null).
    "$cli" compile --kv-dir "$wdir/kv" "$zone_dir" >/dev/null
    local build=()
    if [[ $kind == ref ]]; then
      [[ -f "$ref_build/index.js" && -f "$ref_build/index_bg.wasm" ]] || die "BENCH_REF_BUILD=$ref_build holds no index.js + index_bg.wasm"
      build=(--build "$ref_build")
    fi
    # capnp embeds paths relative to the config file.
    workerd_config "$wdir" "$workerd_port" "${build[@]}" SNAPSHOT_REFRESH_SECONDS=30 "SHARD_CACHE_KIB=$shard_kib"
  fi
  local inspect=()
  [[ $profile == 1 ]] && inspect=(--inspector-addr="$inspector")
  (cd "$wdir" && exec setsid "$WORKERD" serve "${inspect[@]}" workerd.capnp </dev/null >"$wdir/workerd.log" 2>&1) &
  wpid[$kind]=$!
  wait_http "$workerd_port" workerd "$wdir/workerd.log"
  "$EDGEDNS_ROOT/scripts/front.sh" start "$workerd_front" "$workerd_port" "$dir/front-$kind"
}
stop_workerd() { # TARGET
  local pid=${wpid[$1]}
  scripts/front.sh stop "${wfront[$1]}" "${wport[$1]}" "$dir/front-$1"
  kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; unset "wpid[$1]"
}

# ------------------------------------------------------------------ (c) BIND 9.18 DoH
start_bind() {
  log "(c) BIND $("$NAMED" -v | awk '{print $2}') DoH :$bind_doh"
  local bdir="$dir/bind"
  rm -rf "$bdir"
  mkdir -p "$bdir"
  cp "$zone_dir/bench.test.zone" "$bdir/"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$bdir/key.pem" -out "$bdir/cert.pem" >/dev/null 2>&1
  cat >"$bdir/named.conf" <<NAMED
// Generated by scripts/bench-e2e.sh.
options {
  directory "$bdir";
  pid-file "$bdir/named.pid";
  session-keyfile "$bdir/session.key";
  listen-on port $bind_dns { 127.0.0.1; };
  listen-on-v6 { none; };
  listen-on port $bind_doh tls local-tls http local-http { 127.0.0.1; };
  recursion no;
  notify no;
  allow-query { any; };
};
tls local-tls { key-file "$bdir/key.pem"; cert-file "$bdir/cert.pem"; };
http local-http { endpoints { "/dns-query"; }; };
controls { };
zone "bench.test" { type primary; file "$bdir/bench.test.zone"; };
NAMED
  # As root, drop to the package's unprivileged user (it owns the directory).
  local user=()
  if [[ $EUID -eq 0 ]] && id bind >/dev/null 2>&1; then
    chown -R bind: "$bdir"
    user=(-u bind)
  fi
  "$NAMED" -f -g "${user[@]}" -c "$bdir/named.conf" </dev/null >"$bdir/named.log" 2>&1 &
  named_pid=$!
  for _ in $(seq 100); do
    grep -q 'running$' "$bdir/named.log" 2>/dev/null && return 0
    kill -0 "$named_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$bdir/named.log" >&2
  die "named did not start (log: $bdir/named.log)"
}

# ------------------------------------------------------------------ measuring
# The same answers from every target, before any load.
check_answers() { # LABEL PORT
  local answers=""
  for q in "h1.bench.test. A" "c1.bench.test. A" "x1.wild.bench.test. A" "nope.bench.test. A"; do
    read -r name type <<<"$q"
    answers+="$(kdig +https @127.0.0.1 -p "$2" "$name" "$type" +noall +answer +header \
      | grep -oE 'status: [A-Z]+|IN[[:space:]]+(A|CNAME)[[:space:]]+[^[:space:]]+' | tr -s '[:space:]' ' ')"$'\n'
  done
  printf '%s' "$answers" >"$dir/answers-$1.txt"
  [[ -n "$answers" ]] || die "$1 gave no answers"
}

# CPU time (clock ticks) of processes: by process group (wrangler and workerd are started with
# setsid, nginx daemonizes with setsid), or of one process with its threads (named).
ticks_of_pids() {
  local total=0 pid fields
  for pid in "$@"; do
    fields="$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null)" || continue
    # After "pid (comm)": state is field 3, utime 14, stime 15 -> 12th and 13th here.
    total=$((total + $(awk '{print $12 + $13}' <<<"$fields")))
  done
  echo "$total"
}
group_pids() { ps -e -o pgid=,pid= | awk -v g="$1" '$1 == g {print $2}'; }
pidfile_value() { [[ -s "$1" ]] && cat "$1" || echo 0; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; } # busy idle
component_ticks() { # TARGET -> "server front"
  local server=0 front=0
  case "$1" in
    wrangler)
      server="$(ticks_of_pids $(group_pids "$(pidfile_value "$RUN_DIR/bench-wrangler.pid")"))"
      front="$(ticks_of_pids $(group_pids "$(pidfile_value "$RUN_DIR/front-bench/nginx.pid")"))" ;;
    workerd|noop|ref)
      server="$(ticks_of_pids $(group_pids "${wpid[$1]}"))"
      front="$(ticks_of_pids $(group_pids "$(pidfile_value "$dir/front-$1/nginx.pid")"))" ;;
    bind) server="$(ticks_of_pids "$named_pid")" ;;
  esac
  echo "$server $front"
}

# dnsperf -v prints one line per query: `> RCODE name type latency`; percentiles come from them.
run_dnsperf() { # LABEL PORT MODE(throughput|latency)
  local label=$1 port=$2 mode=$3 args
  if [[ $mode == throughput ]]; then args=(-l "$seconds" -c "$clients" -q "$outstanding")
  else args=(-l "$latency_seconds" -c 1 -q 10 -Q "$light_qps"); fi
  local raw="$dir/dnsperf-$label-$mode.txt"
  local before_components before_machine
  before_components="$(component_ticks "$label")" before_machine="$(machine_ticks)"
  # `times` in the subshell gives dnsperf's own CPU (the subshell's children: dnsperf only).
  (
    dnsperf -m doh -s 127.0.0.1 -p "$port" -d "$queries" "${args[@]}" -v \
      -O suppress=timeout,congestion,sendfailed,sockready,unexpected >"$raw" 2>&1 || true
    times >"$raw.times"
  )
  local client_seconds
  client_seconds="$(sed -n 2p "$raw.times" | tr -d 's' | awk -F'[ m]' '{print $1 * 60 + $2 + $3 * 60 + $4}')"
  rm -f "$raw.times"
  local after_components after_machine completed
  after_components="$(component_ticks "$label")" after_machine="$(machine_ticks)"
  completed="$(awk '/Queries completed:/ {print $3}' "$raw")"
  # CPU µs per completed query: server, front, the rest of the machine (dnsperf, other jobs),
  # and how busy the cores were.
  read -r s0 f0 <<<"$before_components"; read -r s1 f1 <<<"$after_components"
  read -r b0 i0 <<<"$before_machine"; read -r b1 i1 <<<"$after_machine"
  cpu[$label.$mode]="$(awk -v s=$((s1 - s0)) -v f=$((f1 - f0)) -v b=$((b1 - b0)) -v i=$((i1 - i0)) \
    -v c="${client_seconds:-0}" -v q="${completed:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN {
      if (q == 0) { print "- - - - -"; exit }
      u = 1e6 / hz / q
      printf "%.0f %.0f %.0f %.0f %.0f", s * u, f * u, c * 1e6 / q, (b - s - f) * u - c * 1e6 / q, 100 * b / (b + i) }')"
  local qps lost
  qps="$(awk '/Queries per second:/ {printf "%.0f", $4}' "$raw")"
  lost="$(awk '/Queries lost:/ {print $3}' "$raw")"
  grep '^> ' "$raw" | awk '{print $NF * 1000}' | sort -g >"$raw.sorted"
  local stats
  stats="$(awk '{ v[NR] = $1; sum += $1 }
    function pct(p,  i) { i = int(p * NR + 0.999999); if (i < 1) i = 1; return v[i] }
    END { if (NR == 0) { print "- - - - -"; exit }
          printf "%.2f %.2f %.2f %.2f %.2f", sum / NR, pct(0.50), pct(0.90), pct(0.99), v[NR] }' "$raw.sorted")"
  rm -f "$raw.sorted"
  results[$label.$mode]="$qps $lost $stats"
}

# A target's answers checked, and a short warm-up.
prepare() { # LABEL PORT
  log "$1: answers checked, warm-up"
  check_answers "$1" "$2"
  dnsperf -m doh -s 127.0.0.1 -p "$2" -d "$queries" -l 2 -c "$clients" -q "$outstanding" >/dev/null 2>&1 || true
}

# One run under load, kept in the target's list of runs ("queries/s ... | server µs ...").
load_run() { # LABEL PORT
  log "$1: $seconds s at -c $clients -q $outstanding"
  run_dnsperf "$1" "$2" throughput
  load_runs[$1]+="${results[$1.throughput]}|${cpu[$1.throughput]}"$'\n'
}

# The run with the median queries/s of the target's runs under load (the machine is shared, and
# one run can be hit by another job), then the light-load run.
finish() { # LABEL PORT
  local run
  run="$(printf '%s' "${load_runs[$1]}" | sort -n -k1,1 | sed -n "$(( (repeat + 1) / 2 ))p")"
  results[$1.throughput]="${run%%|*}" cpu[$1.throughput]="${run#*|}"
  all_qps[$1]="$(printf '%s' "${load_runs[$1]}" | awk '{print $1}' | paste -sd/ -)"
  log "$1: $latency_seconds s at $light_qps q/s"
  run_dnsperf "$1" "$2" latency
  if [[ $profile == 1 && $1 != bind && $1 != wrangler ]]; then
    log "$1: $seconds s more under V8's CPU profiler"
    local raw="$dir/dnsperf-$1-profile.txt"
    node benches/profile-workerd.mjs record "$inspector" "$seconds" "$dir/profile-$1.cpuprofile" &
    local recorder=$!
    sleep 0.5
    dnsperf -m doh -s 127.0.0.1 -p "$2" -d "$queries" -l "$((seconds - 1))" -c "$clients" -q "$outstanding" \
      -O suppress=timeout,congestion,sendfailed,sockready,unexpected >"$raw" 2>&1 || true
    wait "$recorder" || log "warning: the profiler failed for $1"
    node benches/profile-workerd.mjs summary "$dir/profile-$1.cpuprofile" "$(awk '/Queries completed:/ {print $3}' "$raw")" \
      >"$dir/profile-$1.md" || true
  fi
}

measure() { # LABEL PORT: one target alone
  prepare "$1" "$2"
  local run
  for run in $(seq "$repeat"); do load_run "$1" "$2"; done
  finish "$1" "$2"
}

declare -A results cpu all_qps names ports load_runs
names[wrangler]="(a) Worker, wrangler dev 4.86 ← nginx h2"
workerd_version="$("$WORKERD" --version | awk '{print $2}')"
names[noop]="(n) no-op JS Worker, workerd $workerd_version ← nginx h2"
names[workerd]="(b) Worker, workerd $workerd_version directly ← nginx h2"
names[ref]="(r) Worker ($ref_name), workerd $workerd_version ← nginx h2"
names[bind]="(c) BIND $("$NAMED" -v | awk '{print $2}') native DoH"
ports[wrangler]=$wrangler_front ports[workerd]=${wfront[workerd]} ports[noop]=${wfront[noop]} ports[ref]=${wfront[ref]} ports[bind]=$bind_doh

# The workerd targets asked for, in the order given.
side_by_side=()
for target in $targets; do
  case "$target" in
    wrangler|bind) ;;
    workerd|noop|ref) side_by_side+=("$target") ;;
    *) die "unknown target $target (wrangler, noop, workerd, ref, bind)" ;;
  esac
done
interleaved=0
[[ $profile != 1 && ${#side_by_side[@]} -gt 1 ]] && interleaved=1
if [[ $interleaved == 1 ]]; then
  for target in "${side_by_side[@]}"; do start_workerd "$target"; prepare "$target" "${ports[$target]}"; done
  for run in $(seq "$repeat"); do
    for target in "${side_by_side[@]}"; do load_run "$target" "${ports[$target]}"; done
  done
  for target in "${side_by_side[@]}"; do finish "$target" "${ports[$target]}"; done
  for target in "${side_by_side[@]}"; do stop_workerd "$target"; done
fi

# (a), (c), and the workerd targets when not side by side: one at a time, the others stopped.
for target in $targets; do
  case "$target" in
    wrangler) start_wrangler; measure wrangler "${ports[wrangler]}"
              STACK_NAME=bench STACK_HTTP_PORT=$wrangler_port STACK_H2_PORT=$wrangler_front scripts/stack.sh stop ;;
    workerd|ref|noop)
              [[ $interleaved == 1 ]] && continue
              start_workerd "$target"; measure "$target" "${ports[$target]}"; stop_workerd "$target" ;;
    bind)     start_bind; measure bind "${ports[bind]}"
              kill -TERM "$named_pid" 2>/dev/null || true; wait "$named_pid" 2>/dev/null || true; named_pid="" ;;
  esac
done

# Same answers everywhere (the query mix has only plain data, which BIND serves too); the no-op
# baseline answers with no records by design.
first=""
for target in $targets; do
  [[ $target == noop ]] && continue
  if [[ -z "$first" ]]; then first=$target
  elif ! cmp -s "$dir/answers-$first.txt" "$dir/answers-$target.txt"; then
    log "warning: $target answers differ from $first (see $dir/answers-*.txt)"
  fi
done

# ------------------------------------------------------------------ the table
{
  echo "Zone: \`bench.test.\`, $records records; query mix: \`${queries#"$EDGEDNS_ROOT"/}\` (10,000 lines: 70% hosts A/AAAA,"
  echo "15% NXDOMAIN, 10% wildcard, 5% a 4-link CNAME chain). dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ {print $2}'), DoH GET over HTTP/2 + TLS,"
  if [[ $interleaved == 1 ]]; then
    echo "${side_by_side[*]} side by side, taking turns run by run, the others one at a time. Under load: \`-l $seconds -c $clients -q $outstanding\`, $repeat runs, the median one shown"
  else
    echo "one target running at a time. Under load: \`-l $seconds -c $clients -q $outstanding\`, $repeat runs, the median one shown"
  fi
  echo "(all runs' queries/s in the last column); light load: \`-l $latency_seconds -c 1 -q 10 -Q $light_qps\`."
  echo
  echo "| target | load | queries/s | lost | latency avg ms | p50 | p90 | p99 | max | runs (q/s) |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
  for target in $targets; do
    for mode in throughput latency; do
      read -r qps lost avg p50 p90 p99 max <<<"${results[$target.$mode]}"
      load="-c $clients -q $outstanding" runs="${all_qps[$target]:-}"
      [[ $mode == latency ]] && load="-Q $light_qps" runs=""
      echo "| ${names[$target]} | \`$load\` | $qps | $lost | $avg | $p50 | $p90 | $p99 | $max | $runs |"
    done
  done
  echo
  echo "Where the CPU went during that run (from /proc: the server's process group, the nginx front's;"
  echo "dnsperf's own from \`times\`; the rest of the machine's busy time is other jobs), in µs of CPU"
  echo "per completed query; the machine has $(nproc) cores:"
  echo
  echo "| target | server µs/query | nginx front µs/query | dnsperf µs/query | other jobs µs/query | cores busy |"
  echo "|---|---:|---:|---:|---:|---:|"
  for target in $targets; do
    read -r server front client rest busy <<<"${cpu[$target.throughput]:-- - - - -}"
    [[ $target == bind ]] && front="(none)"
    echo "| ${names[$target]} | $server | $front | $client | $rest | $busy% |"
  done
  echo
  echo "Side by side under load (\`-c $clients -q $outstanding\`, the median run): queries/s, the server's CPU per"
  echo "query, latency percentiles, and each as a multiple of the no-op Worker's in the same run:"
  echo
  echo "| target | queries/s | CPU µs/query | p50 ms | p90 ms | p99 ms | q/s ÷ no-op | CPU ÷ no-op | p99 ÷ no-op |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  read -r noop_qps _ _ _ _ noop_p99 _ <<<"${results[noop.throughput]:-- - - - - - -}"
  read -r noop_cpu _ <<<"${cpu[noop.throughput]:-- -}"
  for target in $targets; do
    read -r qps _ _ p50 p90 p99 _ <<<"${results[$target.throughput]:-- - - - - - -}"
    read -r server _ <<<"${cpu[$target.throughput]:-- -}"
    awk -v n="${names[$target]}" -v q="$qps" -v c="$server" -v a="$p50" -v b="$p90" -v p="$p99" \
      -v nq="$noop_qps" -v nc="$noop_cpu" -v np="$noop_p99" 'function ratio(x, y) { return (x + 0 > 0 && y + 0 > 0) ? sprintf("%.2f×", x / y) : "-" }
      BEGIN { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n, q, c, a, b, p, ratio(q, nq), ratio(c, nc), ratio(p, np) }'
  done
  if [[ $interleaved == 1 && -n "${load_runs[noop]:-}" ]]; then
    echo
    echo "Round by round (each run against the no-op Worker's run of the same round; the median of the rounds):"
    echo
    echo "| target | q/s ÷ no-op, each round | median | CPU ÷ no-op, each round | median | p99 ÷ no-op, each round | median |"
    echo "|---|---|---:|---|---:|---|---:|"
    for target in "${side_by_side[@]}"; do
      [[ $target == noop ]] && continue
      paste -d'|' <(printf '%s' "${load_runs[$target]}") <(printf '%s' "${load_runs[noop]}") | awk -v n="${names[$target]}" -F'|' '
        function median(list, count,  sorted, i, j, t) {
          for (i = 1; i <= count; i++) sorted[i] = list[i]
          for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++) if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
          return count % 2 ? sorted[(count + 1) / 2] : (sorted[count / 2] + sorted[count / 2 + 1]) / 2 }
        { split($1, a, " "); split($2, b, " "); split($3, c, " "); split($4, d, " ")
          # results: queries/s lost avg p50 p90 p99 max; cpu: server front ...
          if (c[1] > 0 && d[1] > 0 && c[6] > 0) { q[++k] = a[1] / c[1]; u[k] = b[1] / d[1]; t[k] = a[6] / c[6]
            qs = qs (k > 1 ? ", " : "") sprintf("%.2f", q[k]); us = us (k > 1 ? ", " : "") sprintf("%.2f", u[k])
            ts = ts (k > 1 ? ", " : "") sprintf("%.2f", t[k]) } }
        END { if (k) printf "| %s | %s | %.2f× | %s | %.2f× | %s | %.2f× |\n", n, qs, median(q, k), us, median(u, k), ts, median(t, k) }'
    done
  fi
  if [[ -n "${results[bind.throughput]:-}" ]]; then
    echo
    read -r bind_qps _ _ _ <<<"${results[bind.throughput]}"
    read -r _ _ _ bind_p50 _ <<<"${results[bind.latency]}"
    for target in wrangler noop workerd ref; do
      [[ -n "${results[$target.throughput]:-}" ]] || continue
      read -r qps _ _ _ <<<"${results[$target.throughput]}"
      read -r _ _ _ p50 _ <<<"${results[$target.latency]}"
      awk -v n="${names[$target]}" -v q="$qps" -v bq="$bind_qps" -v l="$p50" -v bl="$bind_p50" 'BEGIN {
        printf "- %s / BIND: %.3f× the queries/s under load, %.1f× the median latency at light load\n", n, q / bq, l / bl }'
    done
  fi
} | tee "$out"
log "table written to $out (raw dnsperf output: $dir/dnsperf-*.txt)"
