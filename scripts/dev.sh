#!/usr/bin/env bash
# Interactive local development: HTTP/2 front (nginx, background) + wrangler dev (foreground).
#   http://127.0.0.1:$DEV_HTTP_PORT/dns-query   (wrangler dev, HTTP/1.1; default 8787)
#   https://127.0.0.1:$DEV_H2_PORT/dns-query    (nginx, TLS + HTTP/2, self-signed; default 8443)
# Local KV is the default .wrangler/state, the same one `wrangler kv ... --local` and
# `make zones-local` use. Extra arguments go to `wrangler dev`. The front stops when wrangler exits.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$EDGEDNS_ROOT"

http_port="${DEV_HTTP_PORT:-8787}"
h2_port="${DEV_H2_PORT:-8443}"
frontdir="$RUN_DIR/front-dev"

[[ -x "$WRANGLER" ]] || die "wrangler not installed (make setup)"

stop_front() { "$EDGEDNS_ROOT/scripts/front.sh" stop "$h2_port" "$http_port" "$frontdir" || true; }
trap stop_front EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The admin API's token (a Worker secret at the edge: `wrangler secret put ADMIN_TOKEN`):
# locally from .dev.vars, made once with a random token if missing.
if ! grep -qs '^ADMIN_TOKEN=' .dev.vars; then
  echo "ADMIN_TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >>.dev.vars
  chmod 600 .dev.vars
  log "made an admin token in .dev.vars"
fi
log "admin API: curl -H \"authorization: Bearer \$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)\" http://127.0.0.1:$http_port/admin/health"

"$EDGEDNS_ROOT/scripts/front.sh" start "$h2_port" "$http_port" "$frontdir"
log "try: kdig @127.0.0.1 -p $h2_port +https example.com   |   curl -k --http2 https://127.0.0.1:$h2_port/dns-query?dns=..."

unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
# Not exec: the EXIT trap must run when wrangler exits.
# Check KV for a new snapshot every DEV_REFRESH_SECONDS (default 1) so `make zones-local`
# shows up at once (the worker's default, without the var, is 30 s).
"$WRANGLER" dev --ip 127.0.0.1 --port "$http_port" \
  --var "SNAPSHOT_REFRESH_SECONDS:${DEV_REFRESH_SECONDS:-1}" "$@"
