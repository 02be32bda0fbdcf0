#!/usr/bin/env bash
# Background local stack for end-to-end tests:
#   wrangler dev (HTTP/1.1) on 127.0.0.1:$STACK_HTTP_PORT, local state in $STACK_STATE
#   nginx TLS + HTTP/2 front on 127.0.0.1:$STACK_H2_PORT
# with the zones of $STACK_ZONES (space-separated dirs/files) published into that fresh state first.
#
#   scripts/stack.sh start     (stops a leftover stack first, wipes the state)
#   scripts/stack.sh stop
#   scripts/stack.sh status
#
# Settings (environment):
#   STACK_NAME=test  STACK_HTTP_PORT=18787  STACK_H2_PORT=18443
#   STACK_STATE=.run/test-state
#   STACK_ZONES="zones tests/zones" (what the e2e tests expect; empty: publish nothing)
#   STACK_TIMEOUT=60 (seconds to wait for wrangler dev)  STACK_CONFIG=wrangler.toml
#   STACK_REFRESH_SECONDS=1 (worker var SNAPSHOT_REFRESH_SECONDS: how fast a publish shows up)
#   STACK_VARS="KEY:VALUE ..." (more worker vars, e.g. the resolver's UPSTREAMS; values without spaces)
#   STACK_INSPECTOR_PORT (wrangler's devtools port; set one per stack when several run)
#   STACK_ADMIN_TOKEN=<token> (worker var ADMIN_TOKEN: opens the admin API; unset: closed)
#   STACK_SECRETS=<dotenv file> (NAME="value" lines passed as variables: the DNSSEC keys)
#   EDGEDNS_CLI=path of a built edgedns binary (default: cargo run --release --bin edgedns)
# Logs: .run/$STACK_NAME-wrangler.log, .run/$STACK_NAME-publish.log, .run/front-$STACK_NAME/*.log
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$EDGEDNS_ROOT"

name="${STACK_NAME:-test}"
http_port="${STACK_HTTP_PORT:-18787}"
h2_port="${STACK_H2_PORT:-18443}"
state="${STACK_STATE:-$RUN_DIR/test-state}"
zones="${STACK_ZONES-zones tests/zones}"
timeout="${STACK_TIMEOUT:-60}"
config="${STACK_CONFIG:-wrangler.toml}"
refresh="${STACK_REFRESH_SECONDS:-1}"

pidfile="$RUN_DIR/$name-wrangler.pid"
wlog="$RUN_DIR/$name-wrangler.log"
plog="$RUN_DIR/$name-publish.log"
frontdir="$RUN_DIR/front-$name"
mkdir -p "$RUN_DIR"

wrangler_running() { [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

stop_wrangler() {
  [[ -s "$pidfile" ]] || return 0
  local pid; pid="$(cat "$pidfile")"
  # wrangler was started as the leader of its own process group (setsid): signal the whole
  # group so the node child processes and workerd go too.
  if kill -0 "$pid" 2>/dev/null || kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

stop_all() {
  stop_wrangler
  "$EDGEDNS_ROOT/scripts/front.sh" stop "$h2_port" "$http_port" "$frontdir"
}

http_status() {
  curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$http_port/dns-query" 2>/dev/null || true
}

start_all() {
  stop_all
  if [[ -n "$(http_status | grep -v '^000$' || true)" ]]; then
    die "something else already answers on 127.0.0.1:$http_port"
  fi
  [[ -x "$WRANGLER" ]] || die "wrangler not installed (make setup)"
  [[ -f build/index.js ]] || die "build/index.js missing (make worker)"

  rm -rf "$state"
  mkdir -p "$state"

  local zone_dirs=()
  read -r -a zone_dirs <<<"$zones"
  if ((${#zone_dirs[@]})); then
    local d
    for d in "${zone_dirs[@]}"; do [[ -e "$d" ]] || die "zone source $d does not exist"; done
    log "publishing ${zone_dirs[*]} into $state"
    local cli=(cargo run --quiet --release --bin edgedns --)
    [[ -n "${EDGEDNS_CLI:-}" ]] && cli=("$EDGEDNS_CLI")
    if ! "${cli[@]}" publish --local --config "$config" --persist-to "$state" "${zone_dirs[@]}" \
         >"$plog" 2>&1; then
      tail -n 40 "$plog" >&2
      stop_all
      die "publishing ${zone_dirs[*]} failed (log: $plog)"
    fi
  fi

  admin_var=()
  [[ -n "${STACK_ADMIN_TOKEN:-}" ]] && admin_var=(--var "ADMIN_TOKEN:$STACK_ADMIN_TOKEN")
  for pair in ${STACK_VARS:-}; do admin_var+=(--var "$pair"); done
  # Secrets from a dotenv file (NAME="value" lines; values may hold spaces): the DNSSEC keys.
  if [[ -n "${STACK_SECRETS:-}" && -f "$STACK_SECRETS" ]]; then
    while IFS='=' read -r key value; do
      [[ "$key" =~ ^[A-Z][A-Z0-9_]*$ ]] || continue
      value="${value%\"}"; value="${value#\"}"
      admin_var+=(--var "$key:$value")
    done <"$STACK_SECRETS"
  fi
  [[ -n "${STACK_INSPECTOR_PORT:-}" ]] && admin_var+=(--inspector-port "$STACK_INSPECTOR_PORT")
  log "starting wrangler dev on 127.0.0.1:$http_port (state $state, log $wlog)"
  # Own process group (setsid) so stop can take down wrangler + workerd together. The nested
  # `make -s worker` that wrangler runs as its build command must not inherit our make's flags.
  (
    unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
    exec setsid "$WRANGLER" dev --config "$config" --ip 127.0.0.1 --port "$http_port" \
      --persist-to "$state" --var "SNAPSHOT_REFRESH_SECONDS:$refresh" "${admin_var[@]}" \
      --show-interactive-dev-session=false --log-level "${STACK_LOG_LEVEL:-info}" \
      </dev/null >"$wlog" 2>&1
  ) &
  echo $! >"$pidfile"

  local t0=$SECONDS code=""
  while :; do
    code="$(http_status)"
    [[ -n "$code" && "$code" != 000 ]] && break
    if ! wrangler_running; then
      tail -n 60 "$wlog" >&2 || true
      stop_all
      die "wrangler dev exited before it became ready (log: $wlog)"
    fi
    if (( SECONDS - t0 >= timeout )); then
      tail -n 60 "$wlog" >&2 || true
      stop_all
      die "wrangler dev not ready after ${timeout}s (log: $wlog)"
    fi
    sleep 0.5
  done
  log "wrangler dev ready after $((SECONDS - t0))s (GET /dns-query -> HTTP $code)"

  "$EDGEDNS_ROOT/scripts/front.sh" start "$h2_port" "$http_port" "$frontdir" \
    || { stop_all; die "HTTP/2 front failed to start"; }
}

case "${1:-}" in
  start) start_all ;;
  stop) stop_all ;;
  status)
    if wrangler_running; then echo "wrangler dev running (pid $(cat "$pidfile")) on 127.0.0.1:$http_port"
    else echo "wrangler dev stopped"; fi
    "$EDGEDNS_ROOT/scripts/front.sh" status "$h2_port" "$http_port" "$frontdir" || true
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
