#!/usr/bin/env bash
# Interactive local development: HTTP/2 front (nginx, background) + wrangler dev (foreground).
#   http://127.0.0.1:$DEV_HTTP_PORT/dns-query   (wrangler dev, HTTP/1.1; default 8787)
#   https://127.0.0.1:$DEV_H2_PORT/dns-query    (nginx, TLS + HTTP/2, self-signed; default 8443)
# Local KV is the default .wrangler/state, the same one `wrangler kv ... --local` and
# `make zones-local` use. Extra arguments go to `wrangler dev`. The front stops when wrangler exits.
# Cron Triggers do not fire under wrangler dev: a loop runs the scheduled handler (the health
# checks) at the start of every minute, as the edge does, until wrangler exits
# (DEV_SCHEDULED=0: no loop).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$EDGEDNS_ROOT"

http_port="${DEV_HTTP_PORT:-8787}"
h2_port="${DEV_H2_PORT:-8443}"
frontdir="$RUN_DIR/front-dev"

[[ -x "$WRANGLER" ]] || die "wrangler not installed (make setup)"

scheduled_pid=""
stop_all() {
  [[ -z "$scheduled_pid" ]] || kill "$scheduled_pid" 2>/dev/null || true
  "$EDGEDNS_ROOT/scripts/front.sh" stop "$h2_port" "$http_port" "$frontdir" || true
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The admin API's token (a Worker secret at the edge: `wrangler secret put ADMIN_TOKEN`):
# locally from .dev.vars, made once with a random token if missing.
if ! grep -qs '^ADMIN_TOKEN=' .dev.vars; then
  echo "ADMIN_TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >>.dev.vars
  chmod 600 .dev.vars
  log "made an admin token in .dev.vars"
fi
# A development DNSSEC key for each zone that opts in (`dnssec = true`), made once.
"$EDGEDNS_ROOT/scripts/dnssec-keys.sh" .dev.vars "${EDGEDNS_CLI:-$EDGEDNS_ROOT/target/release/edgedns}" zones
log "signed answers: kdig @127.0.0.1 -p $h2_port +https +dnssec example.com; DS for a validator: target/release/edgedns dnssec ds example.com"
log "admin API: curl -H \"authorization: Bearer \$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)\" http://127.0.0.1:$http_port/admin/health"

"$EDGEDNS_ROOT/scripts/front.sh" start "$h2_port" "$http_port" "$frontdir"
log "try: kdig @127.0.0.1 -p $h2_port +https example.com   |   curl -k --http2 https://127.0.0.1:$h2_port/dns-query?dns=..."

# The Cron Trigger's stand-in: at each minute's start, the scheduled handler for that minute
# (each call in the background, so a run that takes its whole minute delays no other).
scheduled_loop() {
  trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM
  while true; do
    sleep $((60 - $(date +%s) % 60)) &
    wait $!
    curl -s -o /dev/null --max-time 90 \
      "http://127.0.0.1:$http_port/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time=$(($(date +%s) / 60 * 60000))" &
  done
}
if [[ "${DEV_SCHEDULED:-1}" != 0 ]]; then
  scheduled_loop &
  scheduled_pid=$!
  log "health checks: the scheduled handler runs at the start of every minute (DEV_SCHEDULED=0 turns it off)"
fi

unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
# Not exec: the EXIT trap must run when wrangler exits.
# Check KV for a new snapshot every DEV_REFRESH_SECONDS (default 1) so `make zones-local`
# shows up at once (the worker's default, without the var, is 30 s).
"$WRANGLER" dev --ip 127.0.0.1 --port "$http_port" \
  --var "SNAPSHOT_REFRESH_SECONDS:${DEV_REFRESH_SECONDS:-1}" "$@"
